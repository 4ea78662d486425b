/* decode_tunnel.c - tunnels peeled off in the decode layer: VXLAN, GENEVE, Teredo (UDP), GRE with its
 * IPv4/IPv6/PPP/Ethernet payloads and ERSPAN I/II/III, IP-in-IP; each records a cs_tun_layer. */
#include "decode.h"
#include "wire.h"

#define PORT_VXLAN 4789
#define PORT_GENEVE 6081
#define PORT_TEREDO 3544

#define GRE_CSUM 0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY 0x2000
#define GRE_SEQ 0x1000
#define GRE_ACK 0x0080 /* enhanced GRE (version 1, PPTP) */
#define GRE_VERSION 0x0007

#define ETH_TEB 0x6558    /* transparent Ethernet bridging */
#define ETH_ERSPAN 0x88be /* ERSPAN type I (no GRE sequence number) or II */
#define ETH_ERSPAN3 0x22eb
#define ETH_PPP 0x880b

#define MAX_VXLAN_PORTS 8
static uint16_t vxlan_ports[MAX_VXLAN_PORTS];
static int n_vxlan_ports;

void cs_decode_set_vxlan_ports(const uint16_t *ports, int n)
{
    n_vxlan_ports = n < MAX_VXLAN_PORTS ? n : MAX_VXLAN_PORTS;
    for (int i = 0; i < n_vxlan_ports; i++)
        vxlan_ports[i] = ports[i];
}

const char *cs_tun_type_name(cs_tun_type t)
{
    static const char *const names[CS_TUN_COUNT] = {"none",   "vxlan", "geneve", "gre",
                                                    "erspan", "ipip",  "teredo"};
    return (unsigned)t < CS_TUN_COUNT ? names[t] : "unknown";
}

/* Records a tunnel layer from the outer view that pkt holds now (the IP header, and the UDP
 * header for UDP-based tunnels: `port` is then the tunnel port, else 0). Returns NULL (counted) when the packet is already as deep as
 * allowed: the inner packet is then not decoded. */
static cs_tun_layer *push_layer(cs_pkt *pkt, cs_tun_type type, uint16_t port, cs_counters *c)
{
    if (pkt->tun_depth >= CS_TUN_MAX_DEPTH) {
        c->anomalies[CS_ANOM_TUNNEL_DEPTH]++;
        return NULL;
    }
    if (pkt->tun_depth == 0)
        c->tunneled++;
    cs_tun_layer *l = &pkt->tun[pkt->tun_depth++];
    l->type = (uint8_t)type;
    l->family = pkt->family;
    l->version = 0;
    l->has_id = false;
    l->id = 0;
    l->port = port;
    l->sport = port != 0 ? pkt->sport : 0;
    l->dport = port != 0 ? pkt->dport : 0;
    l->ip_len = pkt->ip_len;
    l->udp_wire = port != 0 ? pkt->payload_wire : 0;
    l->src = pkt->src;
    l->dst = pkt->dst;
    return l;
}

/* Counts a tunnel header that ends past the captured bytes. */
static cs_decode_result truncated(cs_counters *c)
{
    c->anomalies[CS_ANOM_TUNNEL_TRUNCATED]++;
    return CS_DEC_BAD;
}

/* ---- UDP-based --------------------------------------------------------------------------------- */

static bool is_vxlan_port(uint16_t port)
{
    if (port == PORT_VXLAN)
        return true;
    for (int i = 0; i < n_vxlan_ports; i++)
        if (vxlan_ports[i] == port)
            return true;
    return false;
}

/* The tunnel a UDP port pair asks for, as Wireshark chooses: the lower port's dissector first,
 * then the higher port's. Which low ports Wireshark knows is not modelled: a well-known low port
 * (< 1024) is taken to have its own dissector, any other is not. */
static cs_tun_type udp_tunnel_type(uint16_t sport, uint16_t dport, uint16_t *port)
{
    uint16_t lo = sport < dport ? sport : dport;
    uint16_t hi = sport < dport ? dport : sport;
    for (int k = 0; k < 2; k++) {
        uint16_t p = k == 0 ? lo : hi;
        if (k == 1 && lo < 1024)
            break;
        *port = p;
        if (is_vxlan_port(p))
            return CS_TUN_VXLAN;
        if (p == PORT_GENEVE)
            return CS_TUN_GENEVE;
        if (p == PORT_TEREDO)
            return CS_TUN_TEREDO;
    }
    return CS_TUN_NONE;
}

/* VXLAN (RFC 7348): flags, 24-bit VNI, then an Ethernet frame. Wireshark decodes the frame
 * whatever the flags say, and so does this. */
static cs_decode_result decode_vxlan(const uint8_t *p, uint32_t len, uint32_t wire, cs_tun_layer *l,
                                     cs_pkt *pkt, cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint8_t flags = cs_wire_u8(&w, 0);
    uint32_t vni = cs_wire_be24(&w, 4);
    if (w.trunc || len < 8)
        return truncated(c);
    l->has_id = (flags & 0x08) != 0; /* the I flag: the VNI is valid */
    l->id = vni;
    return cs_decode_ether(p + 8, len - 8, wire - 8, pkt, c);
}

/* GENEVE (RFC 8926): version, options length, protocol type, VNI; the options are skipped. */
static cs_decode_result decode_geneve(const uint8_t *p, uint32_t len, uint32_t wire,
                                      cs_tun_layer *l, cs_pkt *pkt, cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint8_t vo = cs_wire_u8(&w, 0);
    uint16_t proto = cs_wire_be16(&w, 2);
    uint32_t vni = cs_wire_be24(&w, 4);
    uint32_t hlen = 8 + (uint32_t)(vo & 0x3f) * 4;
    if (w.trunc)
        return truncated(c);
    if ((vo >> 6) != 0)
        c->anomalies[CS_ANOM_TUNNEL_MALFORMED]++; /* Wireshark warns and decodes on */
    l->has_id = true;
    l->id = vni;
    if (hlen > len) {
        if (hlen > wire) {
            c->anomalies[CS_ANOM_TUNNEL_MALFORMED]++;
            return CS_DEC_BAD;
        }
        return truncated(c);
    }
    if (proto == ETH_TEB)
        return cs_decode_ether(p + hlen, len - hlen, wire - hlen, pkt, c);
    return cs_decode_ethertype(proto, p + hlen, len - hlen, wire - hlen, pkt, c);
}

/* Teredo (RFC 4380 section 5.1.1): an optional authentication header, an optional origin
 * indication, then the IPv6 packet. */
static cs_decode_result decode_teredo(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                      cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t off = 0;
    if (cs_wire_be16(&w, 0) ==
        1) { /* authentication: id-len, au-len, id, au, nonce, confirmation */
        off = 4 + (uint32_t)cs_wire_u8(&w, 2) + cs_wire_u8(&w, 3) + 8 + 1;
    }
    if (cs_wire_be16(&w, off) == 0) /* origin indication: port, address */
        off += 8;
    if (w.trunc || off > len)
        return truncated(c);
    return cs_decode_ip(p + off, len - off, wire - off, 6, pkt, c);
}

cs_decode_result cs_decode_udp_tunnel(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                      cs_counters *c)
{
    uint16_t port = 0;
    cs_tun_type type = udp_tunnel_type(pkt->sport, pkt->dport, &port);
    if (CS_LIKELY(type == CS_TUN_NONE))
        return CS_DEC_UDP;
    cs_tun_layer *l = push_layer(pkt, type, port, c);
    if (l == NULL)
        return CS_DEC_SKIP;
    switch (type) {
    case CS_TUN_VXLAN:
        return decode_vxlan(p, len, wire, l, pkt, c);
    case CS_TUN_GENEVE:
        return decode_geneve(p, len, wire, l, pkt, c);
    default:
        return decode_teredo(p, len, wire, pkt, c);
    }
}

/* ---- GRE and ERSPAN ------------------------------------------------------------------------------ */

/* ERSPAN type II (version 1: 8 bytes) and III (version 2: 12 bytes, 8 more with the O flag) headers,
 * then the mirrored Ethernet frame. Type I has no header (GRE without a sequence number). */
static cs_decode_result decode_erspan(const uint8_t *p, uint32_t len, uint32_t wire, bool header,
                                      cs_tun_layer *l, cs_pkt *pkt, cs_counters *c)
{
    l->type = CS_TUN_ERSPAN;
    if (!header) {
        l->version = 1;
        return cs_decode_ether(p, len, wire, pkt, c);
    }
    cs_wire w = cs_wire_make(p, len);
    uint16_t ver_vlan = cs_wire_be16(&w, 0);
    uint16_t session = cs_wire_be16(&w, 2) & 0x03ff;
    uint32_t hlen = 8;
    uint8_t ver = (uint8_t)(ver_vlan >> 12);
    if (ver == 2 && (cs_wire_u8(&w, 11) & 0x01)) /* O flag: platform-specific subheader */
        hlen = 20;
    else if (ver == 2)
        hlen = 12;
    if (w.trunc || hlen > len)
        return truncated(c);
    if (ver != 1 && ver != 2) {
        c->anomalies[CS_ANOM_TUNNEL_MALFORMED]++;
        return CS_DEC_BAD;
    }
    l->version = (uint8_t)(ver + 1);
    l->has_id = true;
    l->id = session;
    return cs_decode_ether(p + hlen, len - hlen, wire - hlen, pkt, c);
}

/* The length of a GRE header (RFC 2784, RFC 2890 key and sequence number, RFC 1701 routing, RFC
 * 2637 acknowledgment) with flags `fv`; 0 when it runs past the captured bytes. Sets the key. */
static uint32_t gre_header_len(cs_wire *w, uint16_t fv, cs_tun_layer *l)
{
    bool pptp = (fv & GRE_VERSION) == 1;
    uint32_t off = 4;
    if (fv & (GRE_CSUM | GRE_ROUTING))
        off += 4; /* checksum and offset */
    if (fv & GRE_KEY) {
        l->has_id = true;
        l->id = pptp ? cs_wire_be16(w, off + 2) : cs_wire_be32(w, off); /* PPTP: the call id */
        off += 4;
    }
    if (fv & GRE_SEQ)
        off += 4;
    if (pptp && (fv & GRE_ACK))
        off += 4;
    if (fv & GRE_ROUTING) { /* source route entries up to a null one */
        for (;;) {
            uint16_t af = cs_wire_be16(w, off);
            uint8_t sre_len = cs_wire_u8(w, off + 3);
            if (w->trunc)
                return 0;
            off += 4;
            if (af == 0 && sre_len == 0)
                break;
            off += sre_len;
        }
    }
    if (w->trunc || off > w->len)
        return 0;
    return off;
}

cs_decode_result cs_decode_gre(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                               cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint16_t fv = cs_wire_be16(&w, 0);
    uint16_t proto = cs_wire_be16(&w, 2);
    if (w.trunc)
        return truncated(c);
    cs_tun_layer *l = push_layer(pkt, CS_TUN_GRE, 0, c);
    if (l == NULL)
        return CS_DEC_SKIP;
    l->version = (uint8_t)(fv & GRE_VERSION);
    if (l->version > 1)
        c->anomalies[CS_ANOM_TUNNEL_MALFORMED]++; /* Wireshark decodes on by the type */
    uint32_t off = gre_header_len(&w, fv, l);
    if (off == 0)
        return truncated(c);
    if (wire < len)
        wire = len;
    p += off;
    len -= off;
    wire -= off;
    switch (proto) {
    case ETH_TEB:
        return cs_decode_ether(p, len, wire, pkt, c);
    case ETH_ERSPAN:
        return decode_erspan(p, len, wire, (fv & GRE_SEQ) != 0, l, pkt, c);
    case ETH_ERSPAN3:
        return decode_erspan(p, len, wire, true, l, pkt, c);
    case ETH_PPP:
        return cs_decode_ppp(p, len, wire, pkt, c);
    default: /* IPv4, IPv6, MPLS, VLAN ... as an ethertype */
        return cs_decode_ethertype(proto, p, len, wire, pkt, c);
    }
}

/* ---- IP in IP -------------------------------------------------------------------------------------- */

cs_decode_result cs_decode_ipip(uint8_t proto, const uint8_t *p, uint32_t len, uint32_t wire,
                                cs_pkt *pkt, cs_counters *c)
{
    if (push_layer(pkt, CS_TUN_IPIP, 0, c) == NULL)
        return CS_DEC_SKIP;
    return cs_decode_ip(p, len, wire > len ? wire : len, proto == 4 ? 4 : 6, pkt, c);
}
