/* decode_ip.c - IPv4 (options, fragments counted) and IPv6 (extension header chain) decoding.
 * Finds the transport header and its true length; TCP goes on to decode_tcp.c, UDP to decode_udp.c,
 * GRE and IP-in-IP to decode_tunnel.c, the rest is counted. */
#include <stddef.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"
#include "wire.h"

#define PROTO_ICMP 1
#define PROTO_IPIP 4
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_IPV6 41
#define PROTO_GRE 47
#define PROTO_ICMP6 58

static cs_decode_result transport(uint8_t proto, const uint8_t *p, uint32_t len, uint32_t wire,
                                  cs_pkt *pkt, cs_counters *c);

/* ICMP/ICMPv6 errors quote the start of the packet that caused them. Wireshark gives a quoted TCP
 * header (16 bytes or more) the stream index of its connection, and a quoted UDP header its
 * udp.stream, so the quoted tuple is decoded here (with throw-away counters: a quote is not a
 * packet) and marked as a quote. Tunnels are not decoded inside a quote. */
static cs_decode_result icmp_quote(uint8_t proto, const uint8_t *p, uint32_t len, cs_pkt *pkt)
{
    if (len < 8)
        return CS_DEC_SKIP;
    uint8_t type = p[0];
    bool error = proto == PROTO_ICMP ? (type == 3 || type == 4 || type == 11 || type == 12)
                                     : (type >= 1 && type <= 4);
    if (!error)
        return CS_DEC_SKIP;
    cs_counters scratch;
    cs_pkt inner;
    memset(&scratch, 0, sizeof scratch);
    inner.defrag = NULL; /* quoted headers are never reassembled */
    inner.ts = pkt->ts;
    inner.caplen = pkt->caplen;
    inner.wirelen = pkt->wirelen;
    inner.in_quote = true;
    inner.tun_depth = 0;
    cs_decode_result r =
        cs_decode_ip(p + 8, len - 8, len - 8, proto == PROTO_ICMP ? 4 : 6, &inner, &scratch);
    if (r != CS_DEC_TCP && r != CS_DEC_UDP)
        return CS_DEC_SKIP;
    /* everything but the carrying packet's tunnel layers (the fields from tunnel_id on) */
    memcpy(pkt, &inner, offsetof(cs_pkt, tunnel_id));
    pkt->icmp_quote = true;
    pkt->base_ok = false;
    pkt->payload_len = pkt->payload_wire = 0;
    return r;
}

/* Counts and dispatches a transport header found at p (len captured, wire bytes on the wire). */
static cs_decode_result transport(uint8_t proto, const uint8_t *p, uint32_t len, uint32_t wire,
                                  cs_pkt *pkt, cs_counters *c)
{
    pkt->proto = proto;
    switch (proto) {
    case PROTO_TCP:
        return cs_decode_tcp(p, len, wire, pkt, c);
    case PROTO_UDP:
        return cs_decode_udp(p, len, wire, pkt, c);
    case PROTO_IPIP:
    case PROTO_IPV6:
        if (pkt->in_quote)
            break;
        return cs_decode_ipip(proto, p, len, wire, pkt, c);
    case PROTO_GRE:
        if (pkt->in_quote)
            break;
        return cs_decode_gre(p, len, wire, pkt, c);
    case PROTO_ICMP:
    case PROTO_ICMP6:
        c->icmp++;
        return icmp_quote(proto, p, len, pkt);
    default:
        break;
    }
    c->other_l4++;
    return CS_DEC_SKIP;
}

static cs_decode_result decode_ipv4(const uint8_t *p, uint32_t len, uint32_t wire_len,
                                    cs_pkt *pkt, cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint8_t vihl = cs_wire_u8(&w, 0);
    uint32_t tot = cs_wire_be16(&w, 2);
    uint16_t frag = cs_wire_be16(&w, 6);
    uint8_t proto = cs_wire_u8(&w, 9);
    uint32_t hlen = (uint32_t)(vihl & 0x0f) * 4;

    if (w.trunc) {
        c->anomalies[CS_ANOM_IP_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if ((vihl >> 4) != 4) {
        c->anomalies[CS_ANOM_IP_BAD_VERSION]++;
        return CS_DEC_BAD;
    }
    c->ipv4++;
    if (hlen < 20) {
        c->anomalies[CS_ANOM_IP_BAD_HLEN]++;
        return CS_DEC_BAD;
    }
    if (tot == 0) {
        tot = wire_len; /* TSO / BIG TCP capture: length field left 0 (as Wireshark presumes) */
        if (tot < hlen) {
            c->anomalies[CS_ANOM_IP_BAD_TOTLEN]++;
            return CS_DEC_BAD;
        }
    } else if (tot < hlen) {
        c->anomalies[CS_ANOM_IP_BAD_TOTLEN]++;
        return CS_DEC_BAD;
    } else if (tot > wire_len) {
        c->anomalies[CS_ANOM_IP_BAD_TOTLEN]++;
        tot = wire_len; /* claims more than the frame holds: believe the frame */
        if (tot < hlen)
            return CS_DEC_BAD;
    }
    if (len < hlen) {
        c->anomalies[CS_ANOM_IP_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    cs_wire_copy(&w, 12, pkt->src.b, 4);
    cs_wire_copy(&w, 16, pkt->dst.b, 4);
    __builtin_memset(pkt->src.b + 4, 0, 12);
    __builtin_memset(pkt->dst.b + 4, 0, 12);
    pkt->family = 4;
    pkt->ip_len = tot;
    pkt->l3 = p;
    pkt->l3_caplen = len;
    if ((frag & 0x3fff) != 0) { /* MF set or offset non-zero */
        c->anomalies[CS_ANOM_IP_FRAGMENT]++;
        uint32_t foff = (uint32_t)(frag & 0x1fff) * 8;
        if (pkt->defrag == NULL)
            return CS_DEC_SKIP;
        if (len >= tot && tot > hlen) { /* the whole fragment was captured: reassemble */
            uint32_t dlen;
            const uint8_t *dg = cs_defrag_add(pkt->defrag, 4, &pkt->src, &pkt->dst,
                                              cs_wire_be16(&w, 4), proto, foff,
                                              (frag & 0x2000) != 0, p + hlen, tot - hlen,
                                              pkt->ts, &dlen, c);
            if (dg == NULL)
                return CS_DEC_SKIP;
            pkt->ip_len = hlen + dlen;
            return transport(proto, dg, dlen, dlen, pkt, c);
        }
        if (foff != 0) /* cut by the snaplen: only a first fragment is decoded as it is */
            return CS_DEC_SKIP;
    }
    /* Ethernet padding lies beyond tot: never let it pass for payload. */
    uint32_t cap = len < tot ? len : tot;
    return transport(proto, p + hlen, cap - hlen, tot - hlen, pkt, c);
}

static cs_decode_result decode_ipv6(const uint8_t *p, uint32_t len, uint32_t wire_len,
                                    cs_pkt *pkt, cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint8_t ver = cs_wire_u8(&w, 0) >> 4;
    uint32_t plen = cs_wire_be16(&w, 4);
    uint8_t nh = cs_wire_u8(&w, 6);

    cs_wire_copy(&w, 8, pkt->src.b, 16);
    cs_wire_copy(&w, 24, pkt->dst.b, 16);
    if (w.trunc) {
        c->anomalies[CS_ANOM_IP_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if (ver != 6) {
        c->anomalies[CS_ANOM_IP_BAD_VERSION]++;
        return CS_DEC_BAD;
    }
    c->ipv6++;
    uint32_t tot = 40 + plen;
    if (plen == 0 && wire_len > 40) {
        tot = wire_len; /* jumbogram or TSO capture */
    } else if (tot > wire_len) {
        c->anomalies[CS_ANOM_IP_BAD_TOTLEN]++;
        tot = wire_len;
    }
    pkt->family = 6;
    pkt->ip_len = tot;
    pkt->l3 = p;
    pkt->l3_caplen = len;

    uint32_t off = 40;
    for (;;) {
        uint32_t ext_len;
        switch (nh) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */
            ext_len = ((uint32_t)cs_wire_u8(&w, off + 1) + 1) * 8;
            break;
        case 51: /* AH: length in 4-byte units, minus 2 */
            ext_len = ((uint32_t)cs_wire_u8(&w, off + 1) + 2) * 4;
            break;
        case 44: { /* fragment */
            uint16_t fo = cs_wire_be16(&w, off + 2);
            ext_len = 8;
            if (!w.trunc && (fo & 0xfff9) != 0) { /* offset or M flag: a real fragment */
                c->anomalies[CS_ANOM_IP_FRAGMENT]++;
                uint8_t fnh = cs_wire_u8(&w, off);
                uint32_t id = cs_wire_be32(&w, off + 4);
                uint32_t foff = fo & 0xfff8;
                uint32_t start = off + 8;
                if (pkt->defrag == NULL || w.trunc || start > tot)
                    return CS_DEC_SKIP;
                if (len >= tot) {
                    uint32_t dlen;
                    const uint8_t *dg =
                        cs_defrag_add(pkt->defrag, 6, &pkt->src, &pkt->dst, id, fnh, foff,
                                      (fo & 1) != 0, p + start, tot - start, pkt->ts, &dlen, c);
                    if (dg == NULL)
                        return CS_DEC_SKIP;
                    pkt->ip_len = start + dlen;
                    return transport(fnh, dg, dlen, dlen, pkt, c);
                }
                if (foff != 0 || start > len)
                    return CS_DEC_SKIP;
                return transport(fnh, p + start, len - start, tot - start, pkt, c);
            }
            break;
        }
        default: {
            uint32_t cap = len < tot ? len : tot;
            if (off > tot) {
                c->anomalies[CS_ANOM_IPV6_BAD_EXT]++;
                return CS_DEC_BAD;
            }
            if (off > cap) {
                c->anomalies[CS_ANOM_IP_TRUNCATED]++;
                return CS_DEC_BAD;
            }
            return transport(nh, p + off, cap - off, tot - off, pkt, c);
        }
        }
        nh = cs_wire_u8(&w, off);
        if (w.trunc) {
            c->anomalies[CS_ANOM_IPV6_BAD_EXT]++;
            return CS_DEC_BAD;
        }
        off += ext_len;
    }
}

cs_decode_result cs_decode_ip(const uint8_t *p, uint32_t len, uint32_t wire_len, int version,
                              cs_pkt *pkt, cs_counters *c)
{
    if (version == 0) {
        if (len < 1) {
            c->anomalies[CS_ANOM_IP_TRUNCATED]++;
            return CS_DEC_BAD;
        }
        version = p[0] >> 4;
        if (version != 4 && version != 6) {
            c->anomalies[CS_ANOM_IP_BAD_VERSION]++;
            return CS_DEC_BAD;
        }
    }
    if (version == 4)
        return decode_ipv4(p, len, wire_len, pkt, c);
    return decode_ipv6(p, len, wire_len, pkt, c);
}
