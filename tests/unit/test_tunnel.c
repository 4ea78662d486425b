/* test_tunnel.c - CUnit suite for the tunnel decoders (decode_tunnel.c, decode_udp.c), the UDP flow
 * table (flow_udp.c), the tunnel table (tunnel.c), the pcapng reader and the decompressing stream.
 * Packets are built byte by byte here, with the field values written out, not by connscope code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <pcap/pcap.h>
#include <zlib.h>
#include <zstd.h>

#include "decode.h"
#include "flow_udp.h"
#include "source_pcapng.h"
#include "source_stream.h"
#include "suites.h"
#include "tunnel.h"

/* ---- packet building ----------------------------------------------------------------------- */

typedef struct buf {
    uint8_t b[2048];
    uint32_t n;
} buf;

static void put(buf *x, const void *p, uint32_t n)
{
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void put8(buf *x, uint8_t v)
{
    x->b[x->n++] = v;
}

static void put16(buf *x, uint16_t v)
{
    put8(x, (uint8_t)(v >> 8));
    put8(x, (uint8_t)v);
}

static void put32(buf *x, uint32_t v)
{
    put16(x, (uint16_t)(v >> 16));
    put16(x, (uint16_t)v);
}

static void eth(buf *x, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    put(x, macs, 12);
    put16(x, type);
}

/* An IPv4 header for `payload` bytes following; addresses a.b.c.d as 32-bit numbers. */
static void ipv4(buf *x, uint8_t proto, uint32_t payload, uint32_t src, uint32_t dst)
{
    put8(x, 0x45);
    put8(x, 0);
    put16(x, (uint16_t)(20 + payload));
    put32(x, 0x00014000); /* id 1, DF */
    put8(x, 64);
    put8(x, proto);
    put16(x, 0); /* checksum: not checked by connscope */
    put32(x, src);
    put32(x, dst);
}

static void ipv6(buf *x, uint8_t nh, uint32_t payload, uint8_t src_last, uint8_t dst_last)
{
    put32(x, 0x60000000);
    put16(x, (uint16_t)payload);
    put8(x, nh);
    put8(x, 64);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    a[15] = src_last;
    put(x, a, 16);
    a[15] = dst_last;
    put(x, a, 16);
}

static void udp(buf *x, uint16_t sport, uint16_t dport, uint32_t payload)
{
    put16(x, sport);
    put16(x, dport);
    put16(x, (uint16_t)(8 + payload));
    put16(x, 0);
}

/* A 20-byte TCP SYN from sport to dport, sequence number 1000. */
static void tcp_syn(buf *x, uint16_t sport, uint16_t dport)
{
    put16(x, sport);
    put16(x, dport);
    put32(x, 1000);
    put32(x, 0);
    put8(x, 0x50);
    put8(x, 0x02);
    put16(x, 65535);
    put32(x, 0);
}

/* Inner IPv4 10.0.0.1:41000 -> 10.0.0.2:80 SYN (40 bytes). */
static void inner_v4(buf *x)
{
    ipv4(x, 6, 20, 0x0a000001, 0x0a000002);
    tcp_syn(x, 41000, 80);
}

#define OUT_A 0xc0000201u /* 192.0.2.1 */
#define OUT_B 0xc0000202u /* 192.0.2.2 */

static cs_decode_result decode(const buf *x, cs_pkt *p, cs_counters *c)
{
    cs_raw raw = {.data = x->b, .caplen = x->n, .wirelen = x->n, .ts = 1, .dlt = DLT_EN10MB};
    memset(c, 0, sizeof *c);
    memset(p, 0xa5, sizeof *p);
    return cs_decode(&raw, p, c);
}

static void check_inner_syn(const cs_pkt *p)
{
    CU_ASSERT_EQUAL(p->family, 4);
    CU_ASSERT_EQUAL(p->sport, 41000);
    CU_ASSERT_EQUAL(p->dport, 80);
    CU_ASSERT_EQUAL(p->flags, 0x02);
    CU_ASSERT_EQUAL(p->seq, 1000);
    CU_ASSERT_EQUAL(p->src.b[0], 10);
    CU_ASSERT_EQUAL(p->dst.b[3], 2);
}

static void check_outer(const cs_tun_layer *l, uint8_t type)
{
    CU_ASSERT_EQUAL(l->type, type);
    CU_ASSERT_EQUAL(l->family, 4);
    CU_ASSERT_EQUAL(l->src.b[0], 192);
    CU_ASSERT_EQUAL(l->src.b[3], 1);
    CU_ASSERT_EQUAL(l->dst.b[3], 2);
}

/* ---- decoders ------------------------------------------------------------------------------ */

/* Ethernet / IPv4 / UDP port -> 4789 / VXLAN (I flag, VNI) / Ethernet / inner IPv4 SYN. */
static void vxlan_packet(buf *x, uint16_t sport, uint16_t dport, uint32_t vni)
{
    x->n = 0;
    eth(x, 0x0800);
    ipv4(x, 17, 8 + 8 + 14 + 40, OUT_A, OUT_B);
    udp(x, sport, dport, 8 + 14 + 40);
    put32(x, 0x08000000);
    put32(x, vni << 8);
    eth(x, 0x0800);
    inner_v4(x);
}

static void test_vxlan(void)
{
    buf x;
    cs_pkt p;
    cs_counters c;
    vxlan_packet(&x, 50000, 4789, 0x123456);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    CU_ASSERT_EQUAL_FATAL(p.tun_depth, 1);
    check_outer(&p.tun[0], CS_TUN_VXLAN);
    CU_ASSERT(p.tun[0].has_id);
    CU_ASSERT_EQUAL(p.tun[0].id, 0x123456);
    CU_ASSERT_EQUAL(p.tun[0].sport, 50000);
    CU_ASSERT_EQUAL(p.tun[0].dport, 4789);
    CU_ASSERT_EQUAL(p.tun[0].port, 4789);
    CU_ASSERT_EQUAL(p.tun[0].udp_wire, 8 + 14 + 40);
    CU_ASSERT_EQUAL(p.tun[0].ip_len, 20 + 8 + 8 + 14 + 40);
    CU_ASSERT_EQUAL(p.ip_len, 40); /* the inner datagram */
    CU_ASSERT_EQUAL(c.ipv4, 2);
    CU_ASSERT_EQUAL(c.udp, 1);
    CU_ASSERT_EQUAL(c.tcp, 1);
    CU_ASSERT_EQUAL(c.tunneled, 1);
    CU_ASSERT_EQUAL(p.tunnel_id, 0);
}

static void test_udp_ports(void)
{
    buf x;
    cs_pkt p;
    cs_counters c;
    vxlan_packet(&x, 53, 4789, 1); /* the lower port (DNS) wins, as in Wireshark */
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_UDP);
    CU_ASSERT_EQUAL(p.tun_depth, 0);
    CU_ASSERT_EQUAL(p.sport, 53);
    CU_ASSERT_EQUAL(p.payload_wire, 8 + 14 + 40);
    vxlan_packet(&x, 4789, 4789, 1);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    vxlan_packet(&x, 4789, 60000, 1); /* from the tunnel port: a reply direction */
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun[0].port, 4789);
    vxlan_packet(&x, 40000, 8472, 9);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_UDP);
    uint16_t extra = 8472;
    cs_decode_set_vxlan_ports(&extra, 1);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun[0].id, 9);
    cs_decode_set_vxlan_ports(NULL, 0);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_UDP);
}

static void test_geneve(void)
{
    buf x = {.n = 0};
    cs_pkt p;
    cs_counters c;
    eth(&x, 0x0800);
    ipv4(&x, 17, 8 + 16 + 40, OUT_A, OUT_B);
    udp(&x, 50001, 6081, 16 + 40);
    put8(&x, 0x02); /* version 0, 2 words of options */
    put8(&x, 0x00);
    put16(&x, 0x0800); /* IPv4 directly */
    put32(&x, 0x00abcd00);
    put32(&x, 0x01038001); /* option class 0x0103, type 0x80, length 1 word */
    put32(&x, 0xdeadbeef);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    check_outer(&p.tun[0], CS_TUN_GENEVE);
    CU_ASSERT_EQUAL(p.tun[0].id, 0xabcd);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_MALFORMED], 0);
    x.b[14 + 20 + 8] = 0x42; /* version 1: counted, decoded on */
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_MALFORMED], 1);
    x.b[14 + 20 + 8] = 0x3f; /* 63 words of options in a 56-byte payload */
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_MALFORMED], 1);
    CU_ASSERT_EQUAL(p.tun_depth, 1); /* the layer stays: its outer datagram is a UDP flow */
}

/* GRE with flags fv and protocol `proto`, the extra header words given, over IPv4. */
static void gre_packet(buf *x, uint16_t fv, uint16_t proto, const uint32_t *words, int nw,
                       uint32_t payload)
{
    x->n = 0;
    eth(x, 0x0800);
    ipv4(x, 47, 4 + 4 * (uint32_t)nw + payload, OUT_A, OUT_B);
    put16(x, fv);
    put16(x, proto);
    for (int i = 0; i < nw; i++)
        put32(x, words[i]);
}

static void test_gre(void)
{
    buf x;
    cs_pkt p;
    cs_counters c;
    uint32_t w[3] = {0xabcd0000, 77, 5}; /* checksum+reserved, key 77, sequence 5 */
    gre_packet(&x, 0xb000, 0x0800, w, 3, 40);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    check_outer(&p.tun[0], CS_TUN_GRE);
    CU_ASSERT(p.tun[0].has_id);
    CU_ASSERT_EQUAL(p.tun[0].id, 77);
    CU_ASSERT_EQUAL(p.tun[0].port, 0);
    /* RFC 1701 routing: offset word, one 4-byte SRE, the null SRE */
    uint32_t r[4] = {0, 0x08000004, 0xc0000209, 0x00000000};
    gre_packet(&x, 0x4000, 0x0800, r, 4, 40);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT(!p.tun[0].has_id);
    /* PPTP: version 1, key = payload length + call id 0x1234, sequence, acknowledgment; PPP
     * with address/control and the protocol compressed to one byte (0x21: IPv4) */
    uint32_t k[3] = {(43u << 16) | 0x1234, 1, 2};
    gre_packet(&x, 0x3081, 0x880b, k, 3, 43);
    put8(&x, 0xff);
    put8(&x, 0x03);
    put8(&x, 0x21);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    CU_ASSERT_EQUAL(p.tun[0].version, 1);
    CU_ASSERT_EQUAL(p.tun[0].id, 0x1234);
    /* Ethernet bridging */
    gre_packet(&x, 0, 0x6558, NULL, 0, 54);
    eth(&x, 0x0800);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    /* key flag set but the key cut off */
    gre_packet(&x, 0x2000, 0x0800, NULL, 0, 0);
    put16(&x, 0);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_TRUNCATED], 1);
}

static void test_erspan(void)
{
    buf x;
    cs_pkt p;
    cs_counters c;
    gre_packet(&x, 0, 0x88be, NULL, 0, 54); /* type I: no sequence number, no header */
    eth(&x, 0x0800);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_outer(&p.tun[0], CS_TUN_ERSPAN);
    CU_ASSERT_EQUAL(p.tun[0].version, 1);
    CU_ASSERT(!p.tun[0].has_id);
    uint32_t seq = 7;
    gre_packet(&x, 0x1000, 0x88be, &seq, 1, 8 + 54); /* type II, session 0x155 */
    put32(&x, 0x10000155);
    put32(&x, 0);
    eth(&x, 0x0800);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun[0].version, 2);
    CU_ASSERT_EQUAL(p.tun[0].id, 0x155);
    gre_packet(&x, 0x1000, 0x22eb, &seq, 1, 20 + 54); /* type III, O flag: 8 more bytes */
    put32(&x, 0x200000aa);
    put32(&x, 0x12345678);
    put32(&x, 0x00000001);
    put32(&x, 0);
    put32(&x, 0);
    eth(&x, 0x0800);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    CU_ASSERT_EQUAL(p.tun[0].version, 3);
    CU_ASSERT_EQUAL(p.tun[0].id, 0xaa);
    gre_packet(&x, 0x1000, 0x88be, &seq, 1, 8 + 54); /* version 7: unknown */
    put32(&x, 0x70000155);
    put32(&x, 0);
    eth(&x, 0x0800);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_MALFORMED], 1);
}

static void test_ipip_teredo_mpls(void)
{
    buf x = {.n = 0};
    cs_pkt p;
    cs_counters c;
    eth(&x, 0x0800); /* 6in4 */
    ipv4(&x, 41, 40 + 20, OUT_A, OUT_B);
    ipv6(&x, 6, 20, 1, 2);
    tcp_syn(&x, 41000, 80);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.family, 6);
    check_outer(&p.tun[0], CS_TUN_IPIP);
    CU_ASSERT_EQUAL(c.ipv4, 1);
    CU_ASSERT_EQUAL(c.ipv6, 1);
    x.n = 0; /* 4in6 */
    eth(&x, 0x86dd);
    ipv6(&x, 4, 40, 0xf1, 0xf2);
    inner_v4(&x);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    check_inner_syn(&p);
    CU_ASSERT_EQUAL(p.tun[0].family, 6);
    CU_ASSERT_EQUAL(p.tun[0].dst.b[15], 0xf2);
    x.n = 0; /* Teredo: origin indication, then IPv6 */
    eth(&x, 0x0800);
    ipv4(&x, 17, 8 + 8 + 60, OUT_A, OUT_B);
    udp(&x, 40000, 3544, 8 + 60);
    put16(&x, 0);
    put16(&x, 0x1234);
    put32(&x, 0x3f57fefe);
    ipv6(&x, 6, 20, 1, 2);
    tcp_syn(&x, 41000, 80);
    CU_ASSERT_EQUAL_FATAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun[0].type, CS_TUN_TEREDO);
    CU_ASSERT_EQUAL(p.tun[0].port, 3544);
    CU_ASSERT_EQUAL(p.sport, 41000);
    x.n = 0; /* MPLS: two labels, the IPv4 explicit-null label at the bottom */
    eth(&x, 0x8847);
    put32(&x, (100u << 12) | 64);
    put32(&x, (0u << 12) | 0x100 | 64);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun_depth, 0); /* a link layer, not a tunnel */
    check_inner_syn(&p);
}

/* Five IP-in-IP headers: four layers decoded, the fifth counted and its packet skipped. */
static void test_depth_cap(void)
{
    buf x = {.n = 0};
    cs_pkt p;
    cs_counters c;
    eth(&x, 0x0800);
    for (int i = 0; i < 5; i++)
        ipv4(&x, 4, (uint32_t)(20 * (4 - i) + 40), OUT_A, OUT_B);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(p.tun_depth, CS_TUN_MAX_DEPTH);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_DEPTH], 1);
    CU_ASSERT_EQUAL(c.tcp, 0);
    /* four are fine */
    x.n = 0;
    eth(&x, 0x0800);
    for (int i = 0; i < 4; i++)
        ipv4(&x, 4, (uint32_t)(20 * (3 - i) + 40), OUT_A, OUT_B);
    inner_v4(&x);
    CU_ASSERT_EQUAL(decode(&x, &p, &c), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.tun_depth, 4);
}

/* Every cut of a VXLAN packet decodes without reading past it (the harness copies it to an exact
 * heap buffer, so ASan runs would catch it), and gives TCP only when the TCP header is whole. */
static void test_vxlan_every_length(void)
{
    buf x;
    vxlan_packet(&x, 50000, 4789, 5);
    for (uint32_t n = 0; n <= x.n; n++) {
        uint8_t *copy = g_memdup2(x.b, n ? n : 1);
        cs_raw raw = {.data = copy, .caplen = n, .wirelen = x.n, .ts = 1, .dlt = DLT_EN10MB};
        cs_pkt p;
        cs_counters c;
        memset(&c, 0, sizeof c);
        cs_decode_result r = cs_decode(&raw, &p, &c);
        CU_ASSERT(r != CS_DEC_TCP || n >= x.n - 20 + 16);
        CU_ASSERT(p.tun_depth <= 1);
        uint64_t anomalies = 0;
        for (int a = 0; a < CS_ANOM_COUNT; a++)
            anomalies += c.anomalies[a];
        CU_ASSERT(r != CS_DEC_BAD || anomalies > 0);
        g_free(copy);
    }
}

/* ---- UDP flow table ------------------------------------------------------------------------ */

typedef struct udp_log {
    int news, ends, datagrams;
    uint64_t last_end_stream;
    bool last_end_resumed;
    cs_udp_end last_why;
} udp_log;

static void h_new(void *ctx, cs_udp_flow *f)
{
    (void)f;
    ((udp_log *)ctx)->news++;
}

static void h_dgram(void *ctx, cs_udp_flow *f, int dir, const uint8_t *p, uint32_t len,
                    uint32_t wire, cs_time_t ts)
{
    (void)f, (void)dir, (void)p, (void)len, (void)wire, (void)ts;
    ((udp_log *)ctx)->datagrams++;
}

static void h_end(void *ctx, cs_udp_flow *f, cs_udp_end why)
{
    udp_log *l = ctx;
    l->ends++;
    l->last_end_stream = f->stream;
    l->last_end_resumed = f->resumed;
    l->last_why = why;
}

static cs_udp_flow *dgram(cs_udp_table *t, uint8_t a, uint16_t pa, uint8_t b, uint16_t pb,
                          cs_time_t ts, bool quote, uint8_t tunnel_type, int *dir)
{
    static cs_addr src, dst;
    static const uint8_t payload[4] = "abc";
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    src.b[0] = 10, src.b[3] = a;
    dst.b[0] = 10, dst.b[3] = b;
    cs_udp_dgram d = {.family = 4,
                      .src = &src,
                      .dst = &dst,
                      .sport = pa,
                      .dport = pb,
                      .ip_len = 32,
                      .payload = tunnel_type ? NULL : payload,
                      .payload_len = 4,
                      .payload_wire = 4,
                      .wirelen = 46,
                      .ts = ts,
                      .frame = 1,
                      .quote = quote,
                      .tunnel_type = tunnel_type,
                      .tunnel_port = tunnel_type ? 4789 : 0};
    return cs_udp_packet(t, &d, dir);
}

static void test_udp_flows(void)
{
    udp_log log = {0};
    cs_udp_hooks hooks = {.ctx = &log, .flow_new = h_new, .datagram = h_dgram, .flow_end = h_end};
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    cs_udp_cfg cfg;
    cs_udp_cfg_default(&cfg);
    cfg.idle_timeout = 10 * CS_NS_PER_S;
    cfg.max_flows = 3;
    cfg.max_tombstones = 2;
    cs_udp_table *t = cs_udp_new(&cfg, &hooks, &ctr);
    int dir;
    cs_time_t s = CS_NS_PER_S;
    cs_udp_flow *f = dgram(t, 1, 5353, 2, 53, s, false, 0, &dir);
    CU_ASSERT_EQUAL(f->stream, 0);
    CU_ASSERT_EQUAL(dir, 0);
    CU_ASSERT_EQUAL(f->client, 0);                   /* 53 is the server's */
    f = dgram(t, 2, 53, 1, 5353, s, false, 0, &dir); /* the answer: the same flow */
    CU_ASSERT_EQUAL(f->stream, 0);
    CU_ASSERT_EQUAL(dir, 1);
    CU_ASSERT_EQUAL(f->pkts[0], 1);
    CU_ASSERT_EQUAL(f->pkts[1], 1);
    CU_ASSERT_EQUAL(f->payload_bytes[1], 4);
    f = dgram(t, 3, 123, 4, 40000, 2 * s, false, 0, &dir); /* first seen from the server */
    CU_ASSERT_EQUAL(f->stream, 1);
    CU_ASSERT_EQUAL(f->client, 1);
    f = dgram(t, 5, 50000, 6, 4789, 2 * s, false, CS_TUN_VXLAN, &dir); /* a tunnel's outer flow */
    CU_ASSERT_EQUAL(f->stream, 2);
    CU_ASSERT_EQUAL(f->client, 0);
    CU_ASSERT_EQUAL(log.datagrams, 3); /* its payload is the tunnel: not handed over */
    f = dgram(t, 7, 1000, 8, 2000, 3 * s, true, 0, &dir); /* a quote: numbered, not counted */
    CU_ASSERT_EQUAL(f->stream, 3);
    CU_ASSERT_EQUAL(log.news, 3);
    CU_ASSERT_EQUAL(ctr.anomalies[CS_ANOM_UDP_FLOW_CAP_EVICT], 1); /* cap 3: the idlest went */
    CU_ASSERT_EQUAL(log.ends, 1);
    CU_ASSERT_EQUAL(log.last_end_stream, 0);
    CU_ASSERT_EQUAL(log.last_why, CS_UDP_END_EVICTED);
    f = dgram(t, 7, 1000, 8, 2000, 3 * s, false, 0, &dir); /* the quoted tuple's own datagram */
    CU_ASSERT_EQUAL(f->stream, 3);
    CU_ASSERT_EQUAL(f->pkts[0], 1);
    CU_ASSERT_EQUAL(log.news, 4);
    f = dgram(t, 1, 5353, 2, 53, 4 * s, false, 0, &dir); /* the evicted tuple: same number */
    CU_ASSERT_EQUAL(f->stream, 0);
    CU_ASSERT(f->resumed);
    cs_udp_expire(t, 20 * s); /* everything idle for over 10 s */
    CU_ASSERT_EQUAL(cs_udp_active(t), 0);
    CU_ASSERT_EQUAL(log.last_why, CS_UDP_END_IDLE);
    /* the tombstone ring holds 2: the oldest ended tuples were forgotten, counted */
    CU_ASSERT(ctr.anomalies[CS_ANOM_UDP_TOMB_EVICT] >= 1);
    CU_ASSERT_EQUAL(cs_udp_streams(t), 4);
    f = dgram(t, 9, 1, 9, 2, 21 * s, false, 0, &dir);
    CU_ASSERT_EQUAL(f->stream, 4);
    /* a tunnel datagram sent from the tunnel port (to a port below it): that side is the server */
    f = dgram(t, 11, 4789, 12, 2000, 21 * s, false, CS_TUN_VXLAN, &dir);
    CU_ASSERT_EQUAL(f->client, 1);
    cs_udp_flush(t);
    CU_ASSERT_EQUAL(log.last_why, CS_UDP_END_EOF);
    CU_ASSERT_EQUAL(cs_udp_active(t), 0);
    cs_udp_free(t);
}

/* ---- tunnel table -------------------------------------------------------------------------- */

static void layer(cs_pkt *p, uint8_t type, uint8_t a, uint8_t b, uint32_t id, cs_time_t ts)
{
    memset(p, 0, sizeof *p);
    p->ts = ts;
    p->wirelen = 100;
    p->tun_depth = 1;
    cs_tun_layer *l = &p->tun[0];
    l->type = type;
    l->family = 4;
    l->has_id = true;
    l->id = id;
    l->port = type == CS_TUN_VXLAN ? 4789 : 0;
    l->src.b[0] = 192, l->src.b[3] = a;
    l->dst.b[0] = 192, l->dst.b[3] = b;
}

static void test_tunnel_table(void)
{
    cs_counters c;
    memset(&c, 0, sizeof c);
    cs_tunnels *t = cs_tunnels_new(2);
    cs_pkt p;
    layer(&p, CS_TUN_VXLAN, 1, 2, 100, 1);
    uint32_t a = cs_tunnels_packet(t, &p, &c);
    layer(&p, CS_TUN_VXLAN, 2, 1, 100, 2); /* the other direction: the same tunnel */
    CU_ASSERT_EQUAL(cs_tunnels_packet(t, &p, &c), a);
    layer(&p, CS_TUN_VXLAN, 1, 2, 200, 3); /* another VNI */
    uint32_t b = cs_tunnels_packet(t, &p, &c);
    CU_ASSERT(b != a);
    layer(&p, CS_TUN_GRE, 1, 2, 100, 4); /* the cap (2): '(other)', counted */
    uint32_t o = cs_tunnels_packet(t, &p, &c);
    CU_ASSERT(cs_tunnels_get(t, o)->other);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TUNNEL_TABLE_CAP], 1);
    const cs_tunnel *ta = cs_tunnels_get(t, a);
    CU_ASSERT_EQUAL(ta->pkts, 2);
    CU_ASSERT_EQUAL(ta->bytes, 200);
    CU_ASSERT_EQUAL(ta->first_ts, 1);
    CU_ASSERT_EQUAL(ta->last_ts, 2);
    char d[160];
    CU_ASSERT_STRING_EQUAL(cs_tunnel_describe(ta, d, sizeof d),
                           "vxlan 192.0.0.1 <-> 192.0.0.2 vni 100");
    CU_ASSERT(cs_tunnel_match(ta, 100, -1));
    CU_ASSERT(cs_tunnel_match(ta, -1, 100));
    CU_ASSERT(!cs_tunnel_match(ta, 200, -1));
    cs_tunnels_count(t, a, true);
    cs_tunnels *m = cs_tunnels_new(0);
    cs_tunnels_merge(m, t);
    cs_tunnels_merge(m, t);
    GPtrArray *rows = cs_tunnels_sorted(m);
    CU_ASSERT_EQUAL(rows->len, 3);
    const cs_tunnel *r0 = g_ptr_array_index(rows, 0);
    CU_ASSERT_EQUAL(r0->vid, 100);
    CU_ASSERT_EQUAL(r0->pkts, 4);
    CU_ASSERT_EQUAL(r0->tcp_conns, 2);
    CU_ASSERT(((const cs_tunnel *)g_ptr_array_index(rows, 2))->other);
    g_ptr_array_free(rows, TRUE);
    cs_tunnels_free(m);
    cs_tunnels_free(t);
}

/* ---- pcapng reader --------------------------------------------------------------------------- */

static void le32(GByteArray *a, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    g_byte_array_append(a, b, 4);
}

static void le16(GByteArray *a, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    g_byte_array_append(a, b, 2);
}

static void shb(GByteArray *a)
{
    le32(a, 0x0A0D0D0A);
    le32(a, 28);
    le32(a, 0x1A2B3C4D);
    le16(a, 1);
    le16(a, 0);
    le32(a, 0xffffffff);
    le32(a, 0xffffffff);
    le32(a, 28);
}

/* An interface block with link type lt and an if_tsresol option (tsres < 0: none). */
static void idb(GByteArray *a, uint16_t lt, int tsres)
{
    uint32_t len = 20 + (tsres >= 0 ? 12 : 0);
    le32(a, 1);
    le32(a, len);
    le16(a, lt);
    le16(a, 0);
    le32(a, 0);
    if (tsres >= 0) {
        le16(a, 9);
        le16(a, 1);
        le32(a, (uint32_t)tsres);
        le32(a, 0); /* opt_endofopt */
    }
    le32(a, len);
}

static void epb(GByteArray *a, uint32_t ifc, uint64_t ts, uint32_t caplen, uint32_t wirelen)
{
    uint32_t pad = (caplen + 3) & ~3u;
    uint32_t len = 32 + pad;
    le32(a, 6);
    le32(a, len);
    le32(a, ifc);
    le32(a, (uint32_t)(ts >> 32));
    le32(a, (uint32_t)ts);
    le32(a, caplen);
    le32(a, wirelen);
    for (uint32_t i = 0; i < pad; i++) {
        uint8_t z = (uint8_t)i;
        g_byte_array_append(a, &z, 1);
    }
    le32(a, len);
}

static int read_pcapng(const GByteArray *a, cs_pcapng_pkt *out, int max, int *last_rc)
{
    FILE *fp = fmemopen(a->data, a->len, "rb");
    char err[160];
    cs_pcapng *r = cs_pcapng_open(fp, err, sizeof err);
    int n = 0;
    *last_rc = r == NULL ? -9 : 0;
    while (r != NULL && n < max) {
        int rc = cs_pcapng_next(r, &out[n]);
        *last_rc = rc;
        if (rc != 1)
            break;
        n++;
    }
    cs_pcapng_free(r);
    fclose(fp);
    return n;
}

static void test_pcapng(void)
{
    GByteArray *a = g_byte_array_new();
    shb(a);
    idb(a, 1, -1);     /* Ethernet, microseconds (the default) */
    idb(a, 113, 9);    /* Linux cooked, nanoseconds */
    idb(a, 101, 0x8a); /* raw IP, 2^-10 s */
    int first = 0;
    CU_ASSERT(cs_pcapng_is_multilink(a->data, a->len, &first));
    CU_ASSERT_EQUAL(first, 1);
    le32(a, 0x00000BAD); /* an unknown block: skipped */
    le32(a, 16);
    le32(a, 0);
    le32(a, 16);
    epb(a, 0, 1500000, 10, 60);      /* 1.5 s */
    epb(a, 1, 2000000001, 7, 7);     /* 2.000000001 s */
    epb(a, 2, 3 * 1024 + 512, 4, 4); /* 3.5 s */
    cs_pcapng_pkt p[8];
    int rc;
    int n = read_pcapng(a, p, 8, &rc);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(p[0].ts, 1500000000);
    CU_ASSERT_EQUAL(p[0].dlt, 1);
    CU_ASSERT_EQUAL(p[0].caplen, 10);
    CU_ASSERT_EQUAL(p[0].wirelen, 60);
    CU_ASSERT_EQUAL(p[1].ts, 2000000001);
    CU_ASSERT_EQUAL(p[1].dlt, 113);
    CU_ASSERT_EQUAL(p[2].ts, 3500000000);
    CU_ASSERT_EQUAL(p[2].dlt, 12); /* LINKTYPE_RAW as DLT_RAW */
    /* a packet naming an interface that was not described: a format error */
    epb(a, 3, 1, 4, 4);
    n = read_pcapng(a, p, 8, &rc);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(rc, -1);
    /* the file cut inside a block */
    g_byte_array_set_size(a, a->len - 40);
    n = read_pcapng(a, p, 8, &rc);
    CU_ASSERT_EQUAL(rc, -2);
    /* a block length that is not a multiple of 4 */
    GByteArray *b = g_byte_array_new();
    shb(b);
    idb(b, 1, -1);
    le32(b, 6);
    le32(b, 33);
    n = read_pcapng(b, p, 8, &rc);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(rc, -1);
    /* one link type only: libpcap reads it */
    g_byte_array_set_size(b, 0);
    shb(b);
    idb(b, 1, -1);
    idb(b, 1, 9);
    CU_ASSERT(!cs_pcapng_is_multilink(b->data, b->len, &first));
    g_byte_array_free(a, TRUE);
    g_byte_array_free(b, TRUE);
}

/* ---- compressed streams ---------------------------------------------------------------------- */

static char *write_tmp(const void *data, size_t len)
{
    char *path = g_strdup("/tmp/cs-unit-XXXXXX");
    int fd = g_mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, data, len) == (ssize_t)len);
    close(fd);
    return path;
}

static GByteArray *read_stream(const char *path, cs_stream_kind *kind, const char **err_text)
{
    cs_stream st;
    GError *err = NULL;
    GByteArray *out = g_byte_array_new();
    if (!cs_stream_open(&st, path, 100, &err)) {
        g_error_free(err);
        return out;
    }
    *kind = st.kind;
    uint8_t b[777];
    size_t n;
    while ((n = fread(b, 1, sizeof b, st.fp)) > 0)
        g_byte_array_append(out, b, (guint)n);
    static char saved[200];
    saved[0] = '\0';
    if (cs_stream_error(&st) != NULL)
        g_strlcpy(saved, cs_stream_error(&st), sizeof saved);
    *err_text = saved[0] ? saved : NULL;
    cs_stream_close(&st, false);
    return out;
}

static void test_streams(void)
{
    uint8_t plain[20000];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 7 + i / 100);
    /* gzip: two members, as `cat a.gz b.gz` makes */
    uint8_t gz[50000];
    size_t gzlen = 0;
    for (int m = 0; m < 2; m++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        CU_ASSERT_FATAL(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        z.next_in = plain + m * 10000;
        z.avail_in = 10000;
        z.next_out = gz + gzlen;
        z.avail_out = (uInt)(sizeof gz - gzlen);
        CU_ASSERT(deflate(&z, Z_FINISH) == Z_STREAM_END);
        gzlen = sizeof gz - z.avail_out;
        deflateEnd(&z);
    }
    uint8_t zs[30000];
    size_t zslen = ZSTD_compress(zs, sizeof zs, plain, sizeof plain, 3);
    CU_ASSERT_FATAL(!ZSTD_isError(zslen));
    struct {
        const void *data;
        size_t len;
        cs_stream_kind kind;
    } cases[] = {{plain, sizeof plain, CS_STREAM_PLAIN},
                 {gz, gzlen, CS_STREAM_GZIP},
                 {zs, zslen, CS_STREAM_ZSTD}};
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        char *path = write_tmp(cases[i].data, cases[i].len);
        cs_stream_kind k = CS_STREAM_PLAIN;
        const char *e = NULL;
        GByteArray *out = read_stream(path, &k, &e);
        CU_ASSERT_EQUAL(k, cases[i].kind);
        CU_ASSERT_EQUAL(out->len, sizeof plain);
        CU_ASSERT(out->len == sizeof plain && memcmp(out->data, plain, sizeof plain) == 0);
        CU_ASSERT_PTR_NULL(e);
        g_byte_array_free(out, TRUE);
        /* cut at 60 %: some bytes, then an error that says the file ends early */
        if (cases[i].kind != CS_STREAM_PLAIN) {
            FILE *f = fopen(path, "r+");
            CU_ASSERT_FATAL(ftruncate(fileno(f), (off_t)(cases[i].len * 6 / 10)) == 0);
            fclose(f);
            out = read_stream(path, &k, &e);
            CU_ASSERT(out->len < sizeof plain);
            CU_ASSERT(out->len == 0 || memcmp(out->data, plain, out->len) == 0);
            CU_ASSERT(e != NULL && strstr(e, " ends ") != NULL);
            g_byte_array_free(out, TRUE);
        }
        unlink(path);
        g_free(path);
    }
}

void suite_tunnel(void)
{
    static const cs_test_case cases[] = {
        {"VXLAN: layer fields, inner TCP, counters", test_vxlan},
        {"UDP port order, --vxlan-port", test_udp_ports},
        {"GENEVE: options, IPv4 payload, bad version and length", test_geneve},
        {"GRE: checksum/key/sequence, routing, PPTP PPP, bridging, cut key", test_gre},
        {"ERSPAN I, II, III, unknown version", test_erspan},
        {"6in4, 4in6, Teredo, MPLS explicit null", test_ipip_teredo_mpls},
        {"depth cap", test_depth_cap},
        {"VXLAN cut at every length", test_vxlan_every_length},
        {"UDP flows: numbering, roles, quotes, cap, expiry, tombstones", test_udp_flows},
        {"tunnel table: keys, cap, merge, filters", test_tunnel_table},
        {"pcapng reader: link types, tsresol, bad blocks", test_pcapng},
        {"gzip/zstd streams, concatenated members, cut files", test_streams},
        {NULL, NULL}};
    cs_add_suite("tunnel", cases);
}
