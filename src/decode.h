/* decode.h - the decoded view of one captured packet, shared by the decode_* files and the flow table.
 * Decoders fill a cs_pkt in place from the capture buffer: they never allocate and never copy payload. */
#ifndef CS_DECODE_H
#define CS_DECODE_H

#include "anomaly.h"
#include "common.h"

/* One raw packet as the capture source hands it over. `data` stays valid until the next packet. */
typedef struct cs_raw {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    cs_time_t ts;
    int dlt;          /* libpcap DLT_* of the file/interface it came from */
    uint32_t src_idx; /* index of the input it came from */
} cs_raw;

#define CS_TH_FIN 0x01
#define CS_TH_SYN 0x02
#define CS_TH_RST 0x04
#define CS_TH_PSH 0x08
#define CS_TH_ACK 0x10
#define CS_TH_URG 0x20
#define CS_TH_ECE 0x40
#define CS_TH_CWR 0x80

/* TCP options worth keeping (the rest are skipped). */
typedef struct cs_tcp_opts {
    uint16_t mss;
    uint8_t wscale;
    uint8_t sack_blocks; /* number of SACK blocks in this segment */
    bool has_mss;
    bool has_wscale;
    bool sack_perm;
    bool has_ts;
    uint32_t tsval;
    uint32_t tsecr;
} cs_tcp_opts;

/* Encapsulations that decode_tunnel.c peels off (Zeek's tunnel types where one exists). MPLS, PPPoE
 * and VLAN tags are link layers, decoded but not recorded as tunnels (as Zeek does). */
typedef enum cs_tun_type {
    CS_TUN_NONE = 0,
    CS_TUN_VXLAN,  /* RFC 7348, UDP 4789 (and --vxlan-port) */
    CS_TUN_GENEVE, /* RFC 8926, UDP 6081 */
    CS_TUN_GRE,    /* RFC 2784/2890 (and PPTP's enhanced GRE) carrying IP, PPP or Ethernet */
    CS_TUN_ERSPAN, /* Cisco ERSPAN type I, II, III over GRE */
    CS_TUN_IPIP,   /* IPv4/IPv6 directly inside IPv4/IPv6 (4in4, 6in4, 4in6, 6in6) */
    CS_TUN_TEREDO, /* RFC 4380, UDP 3544 */
    CS_TUN_COUNT
} cs_tun_type;

/* Tunnel layers decoded per packet at most; one more is the `tunnel_depth` anomaly. */
#define CS_TUN_MAX_DEPTH 4

/* One tunnel layer of a packet: the outer header that carried the rest. */
typedef struct cs_tun_layer {
    uint8_t type;    /* cs_tun_type */
    uint8_t family;  /* of the outer IP header (4 or 6) */
    uint8_t version; /* ERSPAN type (1, 2, 3), GRE version (0, 1); else 0 */
    bool has_id;     /* `id` is set: VNI, GRE key, ERSPAN session */
    uint32_t id;
    uint16_t sport, dport; /* outer UDP ports (VXLAN, GENEVE, Teredo), else 0 */
    uint16_t port;         /* which of them is the tunnel port, else 0 */
    uint32_t ip_len;       /* outer IP datagram length */
    uint32_t udp_wire;     /* outer UDP payload bytes on the wire (UDP-based tunnels) */
    cs_addr src, dst;      /* outer IP addresses */
} cs_tun_layer;

/* What the decoder found in one packet. Fields past `proto` are valid only for TCP, except the
 * ports, the payload fields and `icmp_quote`, which UDP fills too (CS_DEC_UDP). */
typedef struct cs_pkt {
    cs_time_t ts;
    uint64_t frame;   /* 1-based number in the merged, time-ordered input */
    uint32_t caplen;
    uint32_t wirelen;
    uint8_t family;   /* 4 or 6 */
    uint8_t proto;    /* IP protocol number of the transport header */
    uint32_t ip_len;  /* IP datagram length from the IP header (header + payload) */
    cs_addr src;
    cs_addr dst;
    uint16_t sport;
    uint16_t dport;
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    uint8_t flags;
    uint8_t thl;          /* TCP header length in bytes */
    bool hdr_partial;     /* TCP header cut short: only ports/seq/ack/flags/window valid */
    bool base_ok;         /* may set Wireshark's sequence bases (IP length covers the header) */
    bool icmp_quote;      /* TCP header quoted inside an ICMP error: stream lookup only */
    cs_tcp_opts opt;
    const uint8_t *payload;
    uint32_t payload_len;  /* payload bytes captured */
    uint32_t payload_wire; /* payload bytes on the wire (from the IP length) */
    struct cs_defrag *defrag; /* set by cs_decode_ex: the fragment reassembler, or NULL */
    const uint8_t *l3;     /* start of the IP header (for checksums) */
    uint32_t l3_caplen;
    uint32_t tunnel_id; /* 0 from the decoder; the engine's tunnel table id of tun[0] */
    uint8_t tun_depth;  /* tunnel layers peeled off (0: not tunnelled); tun[] below */
    bool in_quote;      /* decoding headers quoted by an ICMP error: no tunnels, no quotes */
    cs_tun_layer tun[CS_TUN_MAX_DEPTH]; /* outermost first; only tun[0..tun_depth) are valid */
} cs_pkt;

typedef enum cs_decode_result {
    CS_DEC_TCP,  /* pkt describes a TCP segment */
    CS_DEC_UDP,  /* pkt describes a UDP datagram (ports, payload; icmp_quote for a quoted header) */
    CS_DEC_SKIP, /* not TCP (counted in cs_counters), nothing to do */
    CS_DEC_BAD   /* malformed or truncated before TCP (an anomaly was counted) */
} cs_decode_result;

/* True when connscope can decode link type `dlt`. */
bool cs_link_supported(int dlt);

/* Decodes raw into pkt (link, IP, tunnels, TCP/UDP), counting packet classes and anomalies into c;
 * IP fragments are counted and skipped. Returns CS_DEC_TCP when pkt holds a usable TCP segment,
 * CS_DEC_UDP for a UDP datagram (the innermost one of a tunnelled packet). Tunnel layers peeled on
 * the way are in pkt->tun[0..tun_depth) whatever the result (a VXLAN packet carrying ARP is
 * CS_DEC_SKIP with one layer). Never reads outside raw; pkt need not be initialised. */
cs_decode_result cs_decode(const cs_raw *raw, cs_pkt *pkt, cs_counters *c);

/* The same, reassembling IP fragments with `defrag` (may be NULL): the packet that completes a
 * datagram decodes as its TCP segment, whose payload then lives in the reassembler's buffer until
 * its next use. */
cs_decode_result cs_decode_ex(const cs_raw *raw, cs_pkt *pkt, cs_counters *c,
                              struct cs_defrag *defrag);

/* Network layer entry (decode_ip.c): decodes an IPv4 or IPv6 packet of `len` captured bytes;
 * `wire_len` is its length on the wire (>= len); `version` is 4, 6, or 0 to take it from the
 * first nibble. */
cs_decode_result cs_decode_ip(const uint8_t *p, uint32_t len, uint32_t wire_len, int version,
                              cs_pkt *pkt, cs_counters *c);

/* Link entries (decode_link.c), also used for the inner frames of tunnels: an Ethernet frame of
 * `len` captured bytes (`wire` on the wire), and the payload of a given ethertype (VLAN tags,
 * PPPoE session, MPLS label stack, IPv4, IPv6; anything else is counted as non-IP and skipped). */
cs_decode_result cs_decode_ether(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                 cs_counters *c);
cs_decode_result cs_decode_ethertype(uint16_t type, const uint8_t *p, uint32_t len, uint32_t wire,
                                     cs_pkt *pkt, cs_counters *c);

/* PPP (decode_link.c): optional address/control bytes, a 1- or 2-byte protocol; IPv4 and IPv6
 * are decoded, anything else (LCP, CCP, compressed data) counted as non-IP. */
cs_decode_result cs_decode_ppp(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                               cs_counters *c);

/* UDP entry (decode_udp.c): decodes a UDP header of `len` captured bytes whose IP payload is
 * `wire_len` bytes long, and the tunnel it carries when a port says so (decode_tunnel.c). */
cs_decode_result cs_decode_udp(const uint8_t *p, uint32_t len, uint32_t wire_len, cs_pkt *pkt,
                               cs_counters *c);

/* Tunnel entries (decode_tunnel.c). Each records a cs_tun_layer from the outer view in pkt
 * (addresses, ports, lengths), then decodes the inner packet into pkt. A packet already
 * CS_TUN_MAX_DEPTH layers deep is skipped and counted (`tunnel_depth`).
 * - cs_decode_udp_tunnel: the payload of a UDP datagram to one of the tunnel ports; returns
 *   CS_DEC_UDP (pkt unchanged: not a tunnel after all) when the payload does not fit the port's
 *   protocol in a way Wireshark also accepts (Teredo without IPv6).
 * - cs_decode_gre: an IP payload of protocol 47.
 * - cs_decode_ipip: an IP payload of protocol 4 (IPv4) or 41 (IPv6). */
cs_decode_result cs_decode_udp_tunnel(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                      cs_counters *c);
cs_decode_result cs_decode_gre(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                               cs_counters *c);
cs_decode_result cs_decode_ipip(uint8_t proto, const uint8_t *p, uint32_t len, uint32_t wire,
                                cs_pkt *pkt, cs_counters *c);

/* The UDP ports decoded as VXLAN besides 4789 (--vxlan-port; up to 8). Call before decoding;
 * not thread-safe with a running decode. */
void cs_decode_set_vxlan_ports(const uint16_t *ports, int n);

/* Name of a tunnel type ("vxlan", "geneve", "gre", "erspan", "ipip", "teredo"). Static string. */
const char *cs_tun_type_name(cs_tun_type t);

/* Transport entry (decode_tcp.c): decodes a TCP header of `len` captured bytes whose IP payload
 * is `wire_len` bytes long. */
cs_decode_result cs_decode_tcp(const uint8_t *p, uint32_t len, uint32_t wire_len, cs_pkt *pkt,
                               cs_counters *c);

/* Verifies the TCP checksum of a fully captured segment. Returns true when it is correct or
 * cannot be checked (payload cut by the snaplen). */
bool cs_tcp_checksum_ok(const cs_pkt *pkt);

#endif
