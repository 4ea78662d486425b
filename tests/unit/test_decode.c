/* test_decode.c - CUnit suite for src/decode_link.c, decode_ip.c, decode_tcp.c (cs_decode on
 * hand-built frames). Registered by test_main.c through suite_decode().
 * Every frame is copied into a heap buffer of exactly its captured length before decoding, so a read
 * past the captured bytes is caught by ASan/valgrind. */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <pcap/pcap.h>
#include <string.h>

#include "decode.h"
#include "suites.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static const uint8_t IP_A[4] = {192, 168, 1, 10};
static const uint8_t IP_B[4] = {10, 20, 30, 40};
static const uint8_t IP_R[4] = {10, 0, 0, 254};
static const uint8_t IP6_A[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
static const uint8_t IP6_B[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0x02};
static const uint8_t IP6_R[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe};

/* ---- frame building ------------------------------------------------------------------------ */

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RFC 1071 sum of bytes p[0..n) taken as big-endian 16-bit words (written independently of the
 * checksum code under test). */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i < n; i++)
        s += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
    return s;
}

static uint16_t ref_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* TCP checksum over the pseudo header (addresses of alen bytes) and the segment. */
static uint16_t ref_tcp_cksum(const uint8_t *src, const uint8_t *dst, size_t alen,
                              const uint8_t *seg, size_t seglen)
{
    uint32_t s = 0;
    s = ref_sum(src, alen, s);
    s = ref_sum(dst, alen, s);
    s += 6;
    s += (uint32_t)(seglen >> 16) + (uint32_t)(seglen & 0xffff);
    s = ref_sum(seg, seglen, s);
    return ref_fold(s);
}

typedef struct tcp_spec {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    const uint8_t *opt; /* optlen bytes, a multiple of 4 */
    uint32_t optlen;
    const uint8_t *pl;
    uint32_t plen;
} tcp_spec;

/* TCP header (data offset from optlen) + payload at p, checksum 0. Returns its length. */
static uint32_t put_tcp(uint8_t *p, const tcp_spec *t)
{
    uint32_t thl = 20 + t->optlen;
    be16(p, t->sport);
    be16(p + 2, t->dport);
    be32(p + 4, t->seq);
    be32(p + 8, t->ack);
    p[12] = (uint8_t)((thl / 4) << 4);
    p[13] = t->flags;
    be16(p + 14, t->win);
    be16(p + 16, 0);
    be16(p + 18, 0);
    if (t->optlen > 0)
        memcpy(p + 20, t->opt, t->optlen);
    if (t->plen > 0)
        memcpy(p + thl, t->pl, t->plen);
    return thl + t->plen;
}

/* 20-byte IPv4 header with a correct header checksum. */
static uint32_t put_ipv4(uint8_t *p, uint8_t proto, uint16_t totlen, uint16_t frag,
                         const uint8_t *src, const uint8_t *dst)
{
    p[0] = 0x45;
    p[1] = 0;
    be16(p + 2, totlen);
    be16(p + 4, 0x1234);
    be16(p + 6, frag);
    p[8] = 64;
    p[9] = proto;
    be16(p + 10, 0);
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    be16(p + 10, ref_fold(ref_sum(p, 20, 0)));
    return 20;
}

/* IPv4 (A -> B) + TCP with correct lengths and checksum. Returns the datagram length. */
static uint32_t ipv4_tcp(uint8_t *p, const tcp_spec *t)
{
    uint32_t seg = put_tcp(p + 20, t);
    put_ipv4(p, 6, (uint16_t)(20 + seg), 0x4000, IP_A, IP_B);
    be16(p + 20 + 16, ref_tcp_cksum(IP_A, IP_B, 4, p + 20, seg));
    return 20 + seg;
}

/* IPv6 header (plen = extlen + TCP) + extension headers `ext` (whose chain starts with next header
 * `nh0` and ends with next header 6) + TCP with a correct checksum. Returns the packet length. */
static uint32_t ipv6_tcp(uint8_t *p, const tcp_spec *t, uint8_t nh0, const uint8_t *ext,
                         uint32_t extlen)
{
    uint32_t seg = put_tcp(p + 40 + extlen, t);
    p[0] = 0x60;
    p[1] = 0;
    p[2] = 0;
    p[3] = 0;
    be16(p + 4, (uint16_t)(extlen + seg));
    p[6] = extlen > 0 ? nh0 : 6;
    p[7] = 64;
    memcpy(p + 8, IP6_A, 16);
    memcpy(p + 24, IP6_B, 16);
    if (extlen > 0)
        memcpy(p + 40, ext, extlen);
    be16(p + 40 + extlen + 16, ref_tcp_cksum(IP6_A, IP6_B, 16, p + 40 + extlen, seg));
    return 40 + extlen + seg;
}

static uint32_t put_eth(uint8_t *p, uint16_t type)
{
    static const uint8_t macs[12] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
    memcpy(p, macs, 12);
    be16(p + 12, type);
    return 14;
}

/* The standard test segment: 40000 -> 80, SYN|ACK, MSS 1460, SACK-permitted, timestamps,
 * NOP, window scale 7 (20 option bytes), payload "hello". */
static const uint8_t STD_OPT[20] = {2,    4,    0x05, 0xb4, 4,    2,    8,    10,   0x01, 0x02,
                                    0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0, 1,    3,    3,    7};
static const uint8_t HELLO[5] = {'h', 'e', 'l', 'l', 'o'};

static tcp_spec std_spec(void)
{
    tcp_spec t = {40000, 80, 0x11223344, 0x55667788, CS_TH_SYN | CS_TH_ACK, 0xfaf0,
                  STD_OPT, sizeof STD_OPT, HELLO, sizeof HELLO};
    return t;
}

/* ---- decoding ------------------------------------------------------------------------------ */

/* Decodes frame[0..caplen) (wirelen on the wire) as link type dlt from an exact-size heap copy,
 * returned in *copy (free it with g_free after the checks). */
static cs_decode_result run(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
                            cs_pkt *pkt, cs_counters *c, uint8_t **copy)
{
    *copy = g_malloc(caplen > 0 ? caplen : 1);
    if (caplen > 0)
        memcpy(*copy, frame, caplen);
    memset(pkt, 0, sizeof *pkt);
    memset(c, 0, sizeof *c);
    cs_raw raw = {*copy, caplen, wirelen, 1234567890123456789, dlt, 0};
    return cs_decode(&raw, pkt, c);
}

static uint64_t anom_total(const cs_counters *c)
{
    uint64_t n = 0;
    for (int i = 0; i < CS_ANOM_COUNT; i++)
        n += c->anomalies[i];
    return n;
}

/* Checks the fixed fields of a decoded standard segment (std_spec) sent A -> B over IPv4. */
static void check_std_v4(const cs_pkt *p)
{
    cs_addr a = {{0}}, b = {{0}};
    memcpy(a.b, IP_A, 4);
    memcpy(b.b, IP_B, 4);
    CU_ASSERT_EQUAL(p->family, 4);
    CU_ASSERT_EQUAL(p->proto, 6);
    CU_ASSERT(memcmp(&p->src, &a, sizeof a) == 0);
    CU_ASSERT(memcmp(&p->dst, &b, sizeof b) == 0);
    CU_ASSERT_EQUAL(p->sport, 40000);
    CU_ASSERT_EQUAL(p->dport, 80);
    CU_ASSERT_EQUAL(p->seq, 0x11223344u);
    CU_ASSERT_EQUAL(p->ack, 0x55667788u);
    CU_ASSERT_EQUAL(p->flags, CS_TH_SYN | CS_TH_ACK);
    CU_ASSERT_EQUAL(p->win, 0xfaf0);
}

static void check_std_opts(const cs_pkt *p)
{
    CU_ASSERT_EQUAL(p->thl, 40);
    CU_ASSERT(p->opt.has_mss);
    CU_ASSERT_EQUAL(p->opt.mss, 1460);
    CU_ASSERT(p->opt.has_wscale);
    CU_ASSERT_EQUAL(p->opt.wscale, 7);
    CU_ASSERT(p->opt.sack_perm);
    CU_ASSERT(p->opt.has_ts);
    CU_ASSERT_EQUAL(p->opt.tsval, 0x01020304u);
    CU_ASSERT_EQUAL(p->opt.tsecr, 0xa0b0c0d0u);
    CU_ASSERT_EQUAL(p->opt.sack_blocks, 0);
}

/* Decodes a complete standard frame whose IPv4 header starts at l3off and checks everything. */
static void check_full_std_frame(int dlt, const uint8_t *f, uint32_t n, uint32_t l3off)
{
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(dlt, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    check_std_v4(&p);
    check_std_opts(&p);
    CU_ASSERT_EQUAL(p.ip_len, 65);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(p.payload_wire, 5);
    CU_ASSERT(p.payload == copy + l3off + 60);
    CU_ASSERT(p.l3 == copy + l3off);
    CU_ASSERT_EQUAL(p.l3_caplen, n - l3off);
    CU_ASSERT(!p.hdr_partial);
    CU_ASSERT(p.base_ok);
    CU_ASSERT(!p.icmp_quote);
    CU_ASSERT_EQUAL(c.packets, 1);
    CU_ASSERT_EQUAL(c.ipv4, 1);
    CU_ASSERT_EQUAL(c.tcp, 1);
    CU_ASSERT_EQUAL(c.non_ip, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);
}

/* ---- tests: link layers -------------------------------------------------------------------- */

static void test_eth_ipv4_tcp_options(void)
{
    uint8_t f[128];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    CU_ASSERT_EQUAL_FATAL(n, 79);

    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    check_std_v4(&p);
    check_std_opts(&p);
    CU_ASSERT_EQUAL(p.ts, 1234567890123456789);
    CU_ASSERT_EQUAL(p.caplen, 79);
    CU_ASSERT_EQUAL(p.wirelen, 79);
    CU_ASSERT_EQUAL(p.ip_len, 65);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(p.payload_wire, 5);
    CU_ASSERT(p.payload == copy + 74);
    CU_ASSERT(memcmp(p.payload, "hello", 5) == 0);
    CU_ASSERT(p.l3 == copy + 14);
    CU_ASSERT_EQUAL(p.l3_caplen, 65);
    CU_ASSERT(!p.hdr_partial);
    CU_ASSERT(p.base_ok);
    CU_ASSERT(!p.icmp_quote);
    CU_ASSERT_EQUAL(c.packets, 1);
    CU_ASSERT_EQUAL(c.bytes, 79);
    CU_ASSERT_EQUAL(c.cap_bytes, 79);
    CU_ASSERT_EQUAL(c.ipv4, 1);
    CU_ASSERT_EQUAL(c.ipv6, 0);
    CU_ASSERT_EQUAL(c.tcp, 1);
    CU_ASSERT_EQUAL(c.udp + c.icmp + c.other_l4 + c.non_ip, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_tcp_sack_and_eol(void)
{
    /* NOP NOP SACK with two blocks (kind 5, len 18) */
    uint8_t sack[20] = {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    tcp_spec t = {1025, 443, 1, 2, CS_TH_ACK, 100, sack, sizeof sack, NULL, 0};
    uint8_t f[128];
    uint32_t n = ipv4_tcp(f, &t);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.opt.sack_blocks, 2);
    CU_ASSERT(!p.opt.has_mss && !p.opt.has_ts && !p.opt.has_wscale && !p.opt.sack_perm);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);

    /* End-of-options list: what follows is not parsed, and that is no anomaly. */
    uint8_t eol[8] = {0, 2, 4, 5, 0xb4, 0, 0, 0};
    t.opt = eol;
    t.optlen = sizeof eol;
    n = ipv4_tcp(f, &t);
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(!p.opt.has_mss);
    CU_ASSERT_EQUAL(p.thl, 28);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_tcp_bad_options(void)
{
    static const uint8_t zero_len[4] = {2, 0, 0, 0};      /* MSS with length 0 */
    static const uint8_t last_byte[4] = {1, 1, 1, 2};     /* kind at the last byte, no length */
    static const uint8_t too_long[8] = {1, 1, 8, 10, 0, 0, 0, 0}; /* timestamps past the header */
    static const uint8_t mss_bad[8] = {2, 3, 5, 1, 1, 3, 3, 9};  /* MSS length 3: skipped */
    const uint8_t *opts[] = {zero_len, last_byte, too_long};
    uint32_t lens[] = {4, 4, 8};
    uint8_t f[128];
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    for (int i = 0; i < 3; i++) {
        tcp_spec t = {1025, 443, 1, 2, CS_TH_SYN, 100, opts[i], lens[i], HELLO, 5};
        uint32_t n = ipv4_tcp(f, &t);
        CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_BAD_OPTION], 1);
        CU_ASSERT_EQUAL(anom_total(&c), 1);
        CU_ASSERT(!p.opt.has_mss && !p.opt.has_ts);
        CU_ASSERT_EQUAL(p.payload_len, 5); /* the payload is still found */
        CU_ASSERT(memcmp(p.payload, "hello", 5) == 0);
        g_free(copy);
    }
    /* An option of a known kind with the wrong (but in-bounds) length is skipped silently. */
    tcp_spec t = {1025, 443, 1, 2, CS_TH_SYN, 100, mss_bad, 8, NULL, 0};
    uint32_t n = ipv4_tcp(f, &t);
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(!p.opt.has_mss);
    CU_ASSERT(p.opt.has_wscale);
    CU_ASSERT_EQUAL(p.opt.wscale, 9);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_vlan_tags(void)
{
    uint8_t f[128];
    tcp_spec t = std_spec();
    static const uint16_t outer[] = {0x8100, 0x88a8, 0x9100};
    /* single 802.1Q tag */
    uint32_t n = put_eth(f, 0x8100);
    be16(f + n, 0x0064);
    be16(f + n + 2, 0x0800);
    n += 4;
    n += ipv4_tcp(f + n, &t);
    check_full_std_frame(DLT_EN10MB, f, n, 18);
    /* double tags: 802.1ad (and the old 0x9100) outer, 802.1Q inner */
    for (size_t i = 0; i < CS_ARRAY_LEN(outer); i++) {
        n = put_eth(f, outer[i]);
        be16(f + n, 0x0010);
        be16(f + n + 2, 0x8100);
        be16(f + n + 4, 0x0020);
        be16(f + n + 6, 0x0800);
        n += 8;
        n += ipv4_tcp(f + n, &t);
        check_full_std_frame(DLT_EN10MB, f, n, 22);
    }
}

static void test_pppoe_session(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x8864);
    f[n] = 0x11; /* version 1, type 1 */
    f[n + 1] = 0x00;
    be16(f + n + 2, 0x1234);
    be16(f + n + 4, 2 + 65);
    be16(f + n + 6, 0x0021); /* PPP: IPv4 */
    n += 8;
    n += ipv4_tcp(f + n, &t);
    check_full_std_frame(DLT_EN10MB, f, n, 22);

    /* PPP protocol 0x0057: IPv6 */
    n = put_eth(f, 0x8864);
    memcpy(f + n, "\x11\x00\x12\x34\x00\x00\x00\x57", 8);
    n += 8;
    uint32_t l6 = ipv6_tcp(f + n, &t, 0, NULL, 0);
    be16(f + 18, (uint16_t)(2 + l6));
    n += l6;
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.family, 6);
    CU_ASSERT(memcmp(p.src.b, IP6_A, 16) == 0);
    CU_ASSERT(memcmp(p.dst.b, IP6_B, 16) == 0);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(c.ipv6, 1);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);

    /* PPP LCP (0xc021) is not IP */
    be16(f + 20, 0xc021);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.non_ip, 1);
    CU_ASSERT_EQUAL(c.ipv4 + c.ipv6 + c.tcp, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_mpls(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x8847);
    be32(f + n, (100u << 12) | (0 << 8) | 64);     /* label 100, not bottom */
    be32(f + n + 4, (200u << 12) | (1 << 8) | 64); /* label 200, bottom of stack */
    n += 8;
    n += ipv4_tcp(f + n, &t);
    check_full_std_frame(DLT_EN10MB, f, n, 22);
}

static void test_linux_sll(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    /* SLL: packet type, ARPHRD, address length, 8 address bytes, protocol */
    memcpy(f, "\x00\x00\x00\x01\x00\x06\x00\x11\x22\x33\x44\x55\x00\x00\x08\x00", 16);
    uint32_t n = 16 + ipv4_tcp(f + 16, &t);
    check_full_std_frame(DLT_LINUX_SLL, f, n, 16);

    /* SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes */
    memcpy(f, "\x08\x00\x00\x00\x00\x00\x00\x02\x00\x01\x04\x06\x00\x11\x22\x33\x44\x55\x00\x00",
           20);
    n = 20 + ipv4_tcp(f + 20, &t);
    check_full_std_frame(DLT_LINUX_SLL2, f, n, 20);

    /* SLL2 carrying IPv6 */
    memcpy(f, "\x86\xdd\x00\x00\x00\x00\x00\x02\x00\x01\x04\x06\x00\x11\x22\x33\x44\x55\x00\x00",
           20);
    n = 20 + ipv6_tcp(f + 20, &t, 0, NULL, 0);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL(run(DLT_LINUX_SLL2, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.family, 6);
    CU_ASSERT(p.l3 == copy + 20);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    g_free(copy);

    /* SLL with ARP (0x0806): not IP */
    memcpy(f, "\x00\x00\x00\x01\x00\x06\x00\x11\x22\x33\x44\x55\x00\x00\x08\x06", 16);
    CU_ASSERT_EQUAL(run(DLT_LINUX_SLL, f, 44, 44, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.non_ip, 1);
    g_free(copy);
    /* SLL cut inside its header */
    CU_ASSERT_EQUAL(run(DLT_LINUX_SLL, f, 15, 60, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_LINK_TRUNCATED], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
}

/* A 4-byte NULL/LOOP header followed by the standard segment over IPv4 or IPv6. */
static void check_null_header(int dlt, const uint8_t hdr[4], int want_version)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    memcpy(f, hdr, 4);
    uint32_t n = 4 + (want_version == 6 ? ipv6_tcp(f + 4, &t, 0, NULL, 0) : ipv4_tcp(f + 4, &t));
    if (want_version == 4) {
        check_full_std_frame(dlt, f, n, 4);
        return;
    }
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(dlt, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.family, 6);
    CU_ASSERT(memcmp(p.src.b, IP6_A, 16) == 0);
    CU_ASSERT_EQUAL(p.sport, 40000);
    CU_ASSERT_EQUAL(p.ip_len, 40 + 45);
    CU_ASSERT(p.l3 == copy + 4);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(c.ipv6, 1);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_dlt_null_and_loop(void)
{
    /* DLT_NULL: AF_INET (2) in either byte order */
    check_null_header(DLT_NULL, (const uint8_t *)"\x02\x00\x00\x00", 4);
    check_null_header(DLT_NULL, (const uint8_t *)"\x00\x00\x00\x02", 4);
    /* the AF_INET6 values of Linux (10), NetBSD/OpenBSD (24), FreeBSD (28), macOS (30) */
    static const uint8_t fams[] = {10, 24, 28, 30};
    for (size_t i = 0; i < sizeof fams; i++) {
        uint8_t le[4] = {fams[i], 0, 0, 0}, be[4] = {0, 0, 0, fams[i]};
        check_null_header(DLT_NULL, le, 6);
        check_null_header(DLT_NULL, be, 6);
    }
    /* DLT_LOOP: network byte order */
    check_null_header(DLT_LOOP, (const uint8_t *)"\x00\x00\x00\x02", 4);
    check_null_header(DLT_LOOP, (const uint8_t *)"\x00\x00\x00\x18", 6);
    check_null_header(DLT_LOOP, (const uint8_t *)"\x00\x00\x00\x1e", 6);

    /* unknown family: not IP; header cut: link truncated */
    uint8_t f[64] = {7, 0, 0, 0, 0x45};
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL(run(DLT_NULL, f, 44, 44, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.non_ip, 1);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
    for (uint32_t len = 0; len < 4; len++) {
        CU_ASSERT_EQUAL(run(DLT_LOOP, f, len, 44, &p, &c, &copy), CS_DEC_BAD);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_LINK_TRUNCATED], 1);
        g_free(copy);
    }
    /* AF_INET header carrying an IPv6 packet: the IP version does not match the link */
    uint8_t g[128] = {2, 0, 0, 0};
    tcp_spec t = std_spec();
    uint32_t n = 4 + ipv6_tcp(g + 4, &t, 0, NULL, 0);
    CU_ASSERT_EQUAL(run(DLT_NULL, g, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_VERSION], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
}

static void test_dlt_raw(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = ipv4_tcp(f, &t);
    check_full_std_frame(DLT_RAW, f, n, 0);
    check_full_std_frame(14, f, n, 0);  /* DLT_RAW of OpenBSD */
    check_full_std_frame(101, f, n, 0); /* LINKTYPE_RAW */
    check_full_std_frame(228, f, n, 0); /* DLT_IPV4 */

    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    /* DLT_IPV6 with an IPv4 packet: bad version */
    CU_ASSERT_EQUAL(run(229, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_VERSION], 1);
    g_free(copy);

    n = ipv6_tcp(f, &t, 0, NULL, 0);
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(run(k == 0 ? DLT_RAW : 229, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        CU_ASSERT_EQUAL(p.family, 6);
        CU_ASSERT(memcmp(p.src.b, IP6_A, 16) == 0);
        CU_ASSERT(memcmp(p.dst.b, IP6_B, 16) == 0);
        CU_ASSERT_EQUAL(p.sport, 40000);
        CU_ASSERT_EQUAL(p.dport, 80);
        CU_ASSERT_EQUAL(p.seq, 0x11223344u);
        CU_ASSERT_EQUAL(p.ip_len, 85);
        check_std_opts(&p);
        CU_ASSERT(p.payload == copy + 80);
        CU_ASSERT_EQUAL(p.payload_len, 5);
        CU_ASSERT_EQUAL(p.payload_wire, 5);
        CU_ASSERT_EQUAL(c.ipv6, 1);
        CU_ASSERT_EQUAL(c.tcp, 1);
        CU_ASSERT_EQUAL(anom_total(&c), 0);
        CU_ASSERT(cs_tcp_checksum_ok(&p));
        g_free(copy);
    }
    /* raw packet with IP version 5 */
    f[0] = 0x50;
    CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_VERSION], 1);
    g_free(copy);
    /* empty raw packet */
    CU_ASSERT_EQUAL(run(DLT_RAW, f, 0, 0, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_TRUNCATED], 1);
    g_free(copy);
}

static void test_link_supported(void)
{
    CU_ASSERT(cs_link_supported(DLT_EN10MB));
    CU_ASSERT(cs_link_supported(DLT_LINUX_SLL));
    CU_ASSERT(cs_link_supported(276));
    CU_ASSERT(cs_link_supported(DLT_NULL));
    CU_ASSERT(cs_link_supported(DLT_LOOP));
    CU_ASSERT(cs_link_supported(DLT_RAW));
    CU_ASSERT(cs_link_supported(101));
    CU_ASSERT(cs_link_supported(228));
    CU_ASSERT(cs_link_supported(229));
    CU_ASSERT(!cs_link_supported(105)); /* 802.11 */
    CU_ASSERT(!cs_link_supported(127)); /* radiotap */
    CU_ASSERT(cs_link_supported(9));    /* PPP */
    CU_ASSERT(cs_link_supported(50));   /* PPP in HDLC-like framing */
    CU_ASSERT(!cs_link_supported(147)); /* LINKTYPE_USER0 */
}

/* ---- tests: network layer ------------------------------------------------------------------ */

/* Hop-by-hop (8 bytes, Router Alert) then destination options (16 bytes, PadN). */
static const uint8_t EXT6[24] = {60, 0, 5, 2, 0, 0, 1, 0, /* HBH: next = DST, len 0 (8 bytes) */
                                 6,  1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* DST: 16 */

static void test_ipv6_ext_headers(void)
{
    uint8_t f[200];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x86dd);
    n += ipv6_tcp(f + n, &t, 0, EXT6, sizeof EXT6);
    CU_ASSERT_EQUAL_FATAL(n, 14 + 40 + 24 + 40 + 5);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.family, 6);
    CU_ASSERT_EQUAL(p.proto, 6);
    CU_ASSERT_EQUAL(p.ip_len, 40 + 24 + 45);
    CU_ASSERT_EQUAL(p.sport, 40000);
    CU_ASSERT_EQUAL(p.ack, 0x55667788u);
    check_std_opts(&p);
    CU_ASSERT(p.payload == copy + 14 + 40 + 24 + 40);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(p.payload_wire, 5);
    CU_ASSERT(p.l3 == copy + 14);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);

    /* The chain claims more than the payload length holds (plen ends inside the DST header,
     * bytes captured anyway): malformed chain. */
    be16(f + 14 + 4, 20);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IPV6_BAD_EXT], 1);
    g_free(copy);
}

static void test_ipv6_fragment_header(void)
{
    uint8_t f[200];
    tcp_spec t = std_spec();
    uint8_t frag[8] = {6, 0, 0, 0, 0, 0, 0x12, 0x34}; /* offset 0, M = 0: atomic fragment */
    uint32_t n = ipv6_tcp(f, &t, 44, frag, sizeof frag);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
    /* first fragment (M = 1), then a later one (offset 8 units) */
    static const uint16_t fo[] = {0x0001, 0x0040};
    for (int i = 0; i < 2; i++) {
        be16(f + 40 + 2, fo[i]);
        CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAGMENT], 1);
        CU_ASSERT_EQUAL(anom_total(&c), 1);
        CU_ASSERT_EQUAL(c.tcp, 0);
        g_free(copy);
    }
}

static void test_ipv4_fragments(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    static const uint16_t frags[] = {0x2000 /* MF */, 0x0010 /* offset 128 */, 0x2003, 0x1fff};
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    for (size_t i = 0; i < CS_ARRAY_LEN(frags); i++) {
        be16(f + 14 + 6, frags[i]);
        CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAGMENT], 1);
        CU_ASSERT_EQUAL(anom_total(&c), 1);
        CU_ASSERT_EQUAL(c.ipv4, 1);
        CU_ASSERT_EQUAL(c.tcp, 0);
        g_free(copy);
    }
    /* DF alone (and the reserved bit) is not a fragment */
    be16(f + 14 + 6, 0x4000);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
    be16(f + 14 + 6, 0x8000);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    g_free(copy);
}

static void test_ipv4_options_header(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t seg = put_tcp(f + 24, &t);
    put_ipv4(f, 6, 0, 0, IP_A, IP_B);
    f[0] = 0x46; /* IHL 6 */
    be16(f + 2, (uint16_t)(24 + seg));
    memcpy(f + 20, "\x01\x01\x01\x00", 4); /* NOP NOP NOP EOL */
    be16(f + 24 + 16, ref_tcp_cksum(IP_A, IP_B, 4, f + 24, seg));
    uint32_t n = 24 + seg;
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    check_std_v4(&p);
    check_std_opts(&p);
    CU_ASSERT(p.payload == copy + 24 + 40);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(p.ip_len, 69);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);
}

static void test_eth_padding(void)
{
    uint8_t f[64];
    /* pure ACK: IP total 40, frame padded to 60 bytes with non-zero junk */
    tcp_spec t = {40000, 80, 1000, 2000, CS_TH_ACK, 512, NULL, 0, NULL, 0};
    memset(f, 0xee, sizeof f);
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    CU_ASSERT_EQUAL(n, 54);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, 60, 60, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.ip_len, 40);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(p.payload_wire, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);

    /* one payload byte, 5 bytes of padding */
    t.pl = (const uint8_t *)"x";
    t.plen = 1;
    memset(f, 0xee, sizeof f);
    n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    CU_ASSERT_EQUAL(n, 55);
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, 60, 60, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.payload_len, 1);
    CU_ASSERT_EQUAL(p.payload_wire, 1);
    CU_ASSERT_EQUAL(p.payload[0], 'x');
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);

    /* IPv6 pure ACK padded: the payload length field bounds the segment */
    uint8_t g[100];
    memset(g, 0xee, sizeof g);
    t.plen = 0;
    n = put_eth(g, 0x86dd);
    n += ipv6_tcp(g + n, &t, 0, NULL, 0);
    CU_ASSERT_EQUAL(n, 74);
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, g, 80, 80, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.ip_len, 60);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(p.payload_wire, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);
}

static void test_ipv4_bad_lengths(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = ipv4_tcp(f, &t);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;

    /* total length larger than the frame: believe the frame */
    be16(f + 2, 200);
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_TOTLEN], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    CU_ASSERT_EQUAL(p.ip_len, 65);
    CU_ASSERT_EQUAL(p.payload_len, 5);
    CU_ASSERT_EQUAL(p.payload_wire, 5);
    g_free(copy);

    /* total length below the header length */
    be16(f + 2, 19);
    CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_TOTLEN], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
    be16(f + 2, 65);

    /* IHL 4 (16 bytes) */
    f[0] = 0x44;
    CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_HLEN], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
    f[0] = 0x45;

    /* IP total length shorter than the TCP header ("short segment", IP ends inside the options) */
    be16(f + 2, 40);
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(p.hdr_partial);
    CU_ASSERT(!p.base_ok);
    CU_ASSERT_EQUAL(p.sport, 40000);
    CU_ASSERT_EQUAL(p.seq, 0x11223344u);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_BAD_DOFF], 1);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
}

static void test_ipv4_tso_zero_length(void)
{
    uint8_t pl[100];
    for (int i = 0; i < 100; i++)
        pl[i] = (uint8_t)i;
    uint8_t f[200];
    tcp_spec t = {40000, 80, 1, 2, CS_TH_ACK, 1, NULL, 0, pl, sizeof pl};
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    CU_ASSERT_EQUAL(n, 154);
    be16(f + 14 + 2, 0); /* length field left 0 by TSO */
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.ip_len, 140);
    CU_ASSERT_EQUAL(p.payload_len, 100);
    CU_ASSERT_EQUAL(p.payload_wire, 100);
    CU_ASSERT(memcmp(p.payload, pl, 100) == 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    g_free(copy);

    /* the same, cut by a snaplen of 84: the wire length still gives the payload size */
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, 84, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT_EQUAL(p.ip_len, 140);
    CU_ASSERT_EQUAL(p.payload_len, 30);
    CU_ASSERT_EQUAL(p.payload_wire, 100);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_PAYLOAD_CUT], 1);
    CU_ASSERT_EQUAL(c.payload_cut_bytes, 70);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    g_free(copy);
}

static void test_snaplen_payload_cut(void)
{
    uint8_t pl[300];
    for (int i = 0; i < 300; i++)
        pl[i] = (uint8_t)(i * 7);
    uint8_t f[400];
    tcp_spec t = {40000, 80, 1, 2, CS_TH_ACK | CS_TH_PSH, 1, NULL, 0, pl, sizeof pl};
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_EN10MB, f, 96, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(!p.hdr_partial);
    CU_ASSERT_EQUAL(p.ip_len, 340);
    CU_ASSERT_EQUAL(p.payload_len, 42);
    CU_ASSERT_EQUAL(p.payload_wire, 300);
    CU_ASSERT(p.payload_len < p.payload_wire);
    CU_ASSERT(memcmp(p.payload, pl, 42) == 0);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_PAYLOAD_CUT], 1);
    CU_ASSERT_EQUAL(c.payload_cut_bytes, 258);
    CU_ASSERT_EQUAL(anom_total(&c), 1);
    CU_ASSERT_EQUAL(c.bytes, n);
    CU_ASSERT_EQUAL(c.cap_bytes, 96);
    CU_ASSERT(cs_tcp_checksum_ok(&p)); /* cannot be checked: reported fine */
    g_free(copy);
}

static void test_tcp_bad_data_offset(void)
{
    uint8_t f[160];
    tcp_spec t = std_spec();
    uint32_t n = ipv4_tcp(f, &t);
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    static const uint8_t doffs[] = {0, 1, 4};
    for (size_t i = 0; i < sizeof doffs; i++) {
        f[20 + 12] = (uint8_t)(doffs[i] << 4);
        CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        check_std_v4(&p);
        CU_ASSERT(p.hdr_partial);
        CU_ASSERT(p.base_ok); /* Wireshark still records bases for a bogus header length */
        CU_ASSERT_EQUAL(p.payload_len, 0);
        CU_ASSERT(p.payload == NULL);
        CU_ASSERT_EQUAL(c.tcp, 1);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_BAD_DOFF], 1);
        CU_ASSERT_EQUAL(anom_total(&c), 1);
        CU_ASSERT(cs_tcp_checksum_ok(&p)); /* not checkable */
        g_free(copy);
    }
}

static void test_non_tcp(void)
{
    uint8_t f[100];
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    memset(f, 0, sizeof f);
    /* ARP */
    uint32_t n = put_eth(f, 0x0806);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, 42, 60, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.non_ip, 1);
    CU_ASSERT_EQUAL(c.packets, 1);
    CU_ASSERT_EQUAL(c.bytes, 60);
    CU_ASSERT_EQUAL(c.cap_bytes, 42);
    g_free(copy);
    /* UDP (ports 1000 -> 2000, length 8): a datagram, no tunnel */
    n = put_eth(f, 0x0800);
    n += put_ipv4(f + n, 17, 28, 0, IP_A, IP_B);
    f[n] = 0x03, f[n + 1] = 0xe8, f[n + 2] = 0x07, f[n + 3] = 0xd0, f[n + 5] = 8;
    n += 8;
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_UDP);
    CU_ASSERT_EQUAL(c.udp, 1);
    CU_ASSERT_EQUAL(c.ipv4, 1);
    CU_ASSERT_EQUAL(c.tcp, 0);
    CU_ASSERT_EQUAL(anom_total(&c), 0);
    CU_ASSERT_EQUAL(p.sport, 1000);
    CU_ASSERT_EQUAL(p.dport, 2000);
    CU_ASSERT_EQUAL(p.payload_wire, 0);
    CU_ASSERT_EQUAL(p.tun_depth, 0);
    g_free(copy);
    /* UDP length below 8: no datagram (Wireshark gives it no udp.stream) */
    f[n - 3] = 7;
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_UDP_BAD_LEN], 1);
    g_free(copy);
    /* GRE with protocol type 0: one tunnel layer, a payload that is not IP */
    put_ipv4(f + 14, 47, 28, 0, IP_A, IP_B);
    memset(f + 34, 0, 8);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.non_ip, 1);
    CU_ASSERT_EQUAL(p.tun_depth, 1);
    CU_ASSERT_EQUAL(p.tun[0].type, CS_TUN_GRE);
    g_free(copy);
    /* IP protocol 50 (ESP): another transport */
    put_ipv4(f + 14, 50, 28, 0, IP_A, IP_B);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.other_l4, 1);
    g_free(copy);
    /* Ethernet type IPv4 carrying version 6 */
    f[14] = 0x65;
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_BAD);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_BAD_VERSION], 1);
    g_free(copy);
}

/* ---- truncation at every length ------------------------------------------------------------ */

/* Below `below` captured bytes the decoder must return CS_DEC_BAD with anomaly `anom` (or `alt`,
 * when >= 0, for a cut that two descriptions fit). */
typedef struct stage {
    uint32_t below;
    int anom;
    int alt;
} stage;

typedef struct trunc_case {
    int dlt;
    const uint8_t *frame;
    uint32_t len;     /* full frame; the wire length of every cut */
    uint32_t tcp_off; /* where the TCP header starts */
    uint32_t thl;
    uint32_t plen;
    const tcp_spec *t;
    const stage *st;
    size_t nst;
} trunc_case;

static void trunc_loop(const trunc_case *k)
{
    CU_ASSERT_EQUAL_FATAL(k->st[k->nst - 1].below, k->tcp_off + 16);
    CU_ASSERT_EQUAL_FATAL(k->len, k->tcp_off + k->thl + k->plen);
    for (uint32_t cap = 0; cap <= k->len; cap++) {
        cs_pkt p;
        cs_counters c;
        uint8_t *copy;
        cs_decode_result r = run(k->dlt, k->frame, cap, k->len, &p, &c, &copy);
        size_t s = 0;
        while (s < k->nst && cap >= k->st[s].below)
            s++;
        if (s < k->nst) {
            CU_ASSERT_EQUAL(r, CS_DEC_BAD);
            uint64_t hits = c.anomalies[k->st[s].anom];
            if (k->st[s].alt >= 0)
                hits += c.anomalies[k->st[s].alt];
            CU_ASSERT_EQUAL(hits, 1);
            CU_ASSERT_EQUAL(anom_total(&c), 1);
            CU_ASSERT_EQUAL(c.tcp, 0);
            if (r != CS_DEC_BAD || hits != 1 || anom_total(&c) != 1)
                fprintf(stderr, "\n  dlt %d caplen %u: result %d, stage %zu\n", k->dlt, cap, r, s);
            g_free(copy);
            continue;
        }
        CU_ASSERT_EQUAL(r, CS_DEC_TCP);
        CU_ASSERT_EQUAL(c.tcp, 1);
        CU_ASSERT_EQUAL(p.sport, k->t->sport);
        CU_ASSERT_EQUAL(p.dport, k->t->dport);
        CU_ASSERT_EQUAL(p.seq, k->t->seq);
        CU_ASSERT_EQUAL(p.ack, k->t->ack);
        CU_ASSERT_EQUAL(p.flags, k->t->flags);
        CU_ASSERT_EQUAL(p.win, k->t->win);
        CU_ASSERT(p.base_ok);
        CU_ASSERT_EQUAL(p.payload_wire, k->plen);
        if (cap < k->tcp_off + k->thl) {
            CU_ASSERT(p.hdr_partial);
            CU_ASSERT_EQUAL(p.payload_len, 0);
            CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_TRUNCATED], 1);
            CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_PAYLOAD_CUT], k->plen > 0 ? 1 : 0);
            CU_ASSERT_EQUAL(c.payload_cut_bytes, k->plen);
            CU_ASSERT_EQUAL(anom_total(&c), k->plen > 0 ? 2 : 1);
        } else {
            uint32_t got = cap - k->tcp_off - k->thl;
            CU_ASSERT(!p.hdr_partial);
            CU_ASSERT_EQUAL(p.thl, k->thl);
            CU_ASSERT_EQUAL(p.payload_len, got);
            CU_ASSERT(p.payload == copy + k->tcp_off + k->thl);
            CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_TCP_PAYLOAD_CUT], got < k->plen ? 1 : 0);
            CU_ASSERT_EQUAL(c.payload_cut_bytes, k->plen - got);
            CU_ASSERT_EQUAL(anom_total(&c), got < k->plen ? 1 : 0);
            if (k->t->optlen == sizeof STD_OPT)
                check_std_opts(&p);
        }
        g_free(copy);
    }
}

static void test_trunc_eth_ipv4(void)
{
    uint8_t f[128];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x0800);
    n += ipv4_tcp(f + n, &t);
    static const stage st[] = {{14, CS_ANOM_LINK_TRUNCATED, -1},
                               {34, CS_ANOM_IP_TRUNCATED, -1},
                               {50, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k = {DLT_EN10MB, f, n, 34, 40, 5, &t, st, CS_ARRAY_LEN(st)};
    trunc_loop(&k);
}

static void test_trunc_qinq(void)
{
    uint8_t f[128];
    const uint8_t *pl = (const uint8_t *)"123456789";
    tcp_spec t = {1234, 5678, 0xfffffff0, 7, CS_TH_ACK | CS_TH_FIN, 0, NULL, 0, pl, 9};
    uint32_t n = put_eth(f, 0x88a8);
    memcpy(f + n, "\x00\x10\x81\x00\x00\x20\x08\x00", 8);
    n += 8;
    n += ipv4_tcp(f + n, &t);
    static const stage st[] = {{14, CS_ANOM_LINK_TRUNCATED, -1},
                               {22, CS_ANOM_VLAN_TRUNCATED, -1},
                               {42, CS_ANOM_IP_TRUNCATED, -1},
                               {58, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k = {DLT_EN10MB, f, n, 42, 20, 9, &t, st, CS_ARRAY_LEN(st)};
    trunc_loop(&k);
}

static void test_trunc_pppoe(void)
{
    uint8_t f[128];
    tcp_spec t = std_spec();
    uint32_t n = put_eth(f, 0x8864);
    memcpy(f + n, "\x11\x00\x00\x01\x00\x43\x00\x21", 8);
    n += 8;
    n += ipv4_tcp(f + n, &t);
    static const stage st[] = {{22, CS_ANOM_LINK_TRUNCATED, -1},
                               {42, CS_ANOM_IP_TRUNCATED, -1},
                               {58, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k = {DLT_EN10MB, f, n, 42, 40, 5, &t, st, CS_ARRAY_LEN(st)};
    trunc_loop(&k);
}

static void test_trunc_sll2_null(void)
{
    uint8_t f[128];
    tcp_spec t = std_spec();
    memcpy(f, "\x08\x00\x00\x00\x00\x00\x00\x02\x00\x01\x04\x06\x00\x11\x22\x33\x44\x55\x00\x00",
           20);
    uint32_t n = 20 + ipv4_tcp(f + 20, &t);
    static const stage st[] = {{20, CS_ANOM_LINK_TRUNCATED, -1},
                               {40, CS_ANOM_IP_TRUNCATED, -1},
                               {56, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k = {DLT_LINUX_SLL2, f, n, 40, 40, 5, &t, st, CS_ARRAY_LEN(st)};
    trunc_loop(&k);

    memcpy(f, "\x1e\x00\x00\x00", 4);
    n = 4 + ipv6_tcp(f + 4, &t, 0, NULL, 0);
    static const stage st6[] = {{4, CS_ANOM_LINK_TRUNCATED, -1},
                                {44, CS_ANOM_IP_TRUNCATED, -1},
                                {60, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k6 = {DLT_NULL, f, n, 44, 40, 5, &t, st6, CS_ARRAY_LEN(st6)};
    trunc_loop(&k6);
}

static void test_trunc_raw_ipv6_ext(void)
{
    uint8_t f[200];
    const uint8_t *pl = (const uint8_t *)"abcdefg";
    tcp_spec t = {443, 50000, 100, 200, CS_TH_ACK, 300, NULL, 0, pl, 7};
    uint32_t n = ipv6_tcp(f, &t, 0, EXT6, sizeof EXT6);
    /* Inside the extension header chain both "IP header cut short" and "extension header chain
     * cut short" describe the cut; exactly one of them must be counted. */
    static const stage st[] = {{40, CS_ANOM_IP_TRUNCATED, -1},
                               {64, CS_ANOM_IPV6_BAD_EXT, CS_ANOM_IP_TRUNCATED},
                               {80, CS_ANOM_TCP_TRUNCATED, -1}};
    trunc_case k = {DLT_RAW, f, n, 64, 20, 7, &t, st, CS_ARRAY_LEN(st)};
    trunc_loop(&k);
}

/* ---- ICMP error quotes --------------------------------------------------------------------- */

/* Ethernet + IPv4 (router -> A) + ICMP type/code + the quoted IPv4 header (A -> B, claiming 60
 * bytes) + the first q bytes of a TCP header. */
static uint32_t icmp4_frame(uint8_t *f, uint8_t type, uint32_t q)
{
    uint8_t tcp[20];
    tcp_spec t = {40001, 80, 0xdeadbeef, 0x01020304, CS_TH_ACK, 29200, NULL, 0, NULL, 0};
    put_tcp(tcp, &t);
    uint32_t n = put_eth(f, 0x0800);
    uint32_t icmp_len = 8 + 20 + q;
    n += put_ipv4(f + n, 1, (uint16_t)(20 + icmp_len), 0, IP_R, IP_A);
    f[n] = type;
    f[n + 1] = 3;
    memset(f + n + 2, 0, 6);
    n += 8;
    n += put_ipv4(f + n, 6, 60, 0x4000, IP_A, IP_B);
    memcpy(f + n, tcp, q);
    return n + q;
}

static void test_icmp4_quote(void)
{
    uint8_t f[128];
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    for (uint32_t q = 0; q <= 20; q++) {
        uint32_t n = icmp4_frame(f, 3, q);
        cs_decode_result r = run(DLT_EN10MB, f, n, n, &p, &c, &copy);
        CU_ASSERT_EQUAL(c.icmp, 1);
        CU_ASSERT_EQUAL(c.ipv4, 1);
        CU_ASSERT_EQUAL(c.tcp, 0); /* a quote is not a TCP packet */
        CU_ASSERT_EQUAL(anom_total(&c), 0);
        if (q < 16) {
            CU_ASSERT_EQUAL(r, CS_DEC_SKIP);
        } else {
            CU_ASSERT_EQUAL(r, CS_DEC_TCP);
            CU_ASSERT(p.icmp_quote);
            CU_ASSERT(!p.base_ok);
            CU_ASSERT_EQUAL(p.family, 4);
            CU_ASSERT(memcmp(p.src.b, IP_A, 4) == 0); /* the quoted (original) sender */
            CU_ASSERT(memcmp(p.dst.b, IP_B, 4) == 0);
            CU_ASSERT_EQUAL(p.sport, 40001);
            CU_ASSERT_EQUAL(p.dport, 80);
            CU_ASSERT_EQUAL(p.seq, 0xdeadbeefu);
            CU_ASSERT_EQUAL(p.ack, 0x01020304u);
            CU_ASSERT_EQUAL(p.flags, CS_TH_ACK);
            CU_ASSERT_EQUAL(p.payload_len, 0);
            CU_ASSERT_EQUAL(p.payload_wire, 0);
            CU_ASSERT_EQUAL(p.ts, 1234567890123456789);
        }
        g_free(copy);
    }
    /* time exceeded (11) quotes too; echo reply (0) and redirect-like non-errors do not */
    uint32_t n = icmp4_frame(f, 11, 20);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(p.icmp_quote);
    g_free(copy);
    n = icmp4_frame(f, 0, 20);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.icmp, 1);
    g_free(copy);
    n = icmp4_frame(f, 8, 20);
    CU_ASSERT_EQUAL(run(DLT_EN10MB, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    g_free(copy);
}

static void test_icmp6_quote(void)
{
    uint8_t f[200];
    uint8_t inner[128];
    tcp_spec t = std_spec();
    uint32_t in = ipv6_tcp(inner, &t, 0, NULL, 0);
    uint32_t n = 0;
    f[0] = 0x60;
    memset(f + 1, 0, 3);
    be16(f + 4, (uint16_t)(8 + in));
    f[6] = 58;
    f[7] = 64;
    memcpy(f + 8, IP6_R, 16);
    memcpy(f + 24, IP6_A, 16);
    n = 40;
    f[n] = 1; /* destination unreachable */
    memset(f + n + 1, 0, 7);
    n += 8;
    memcpy(f + n, inner, in);
    n += in;
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(p.icmp_quote);
    CU_ASSERT_EQUAL(p.family, 6);
    CU_ASSERT(memcmp(p.src.b, IP6_A, 16) == 0);
    CU_ASSERT(memcmp(p.dst.b, IP6_B, 16) == 0);
    CU_ASSERT_EQUAL(p.sport, 40000);
    CU_ASSERT_EQUAL(p.seq, 0x11223344u);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(c.icmp, 1);
    CU_ASSERT_EQUAL(c.tcp, 0);
    g_free(copy);
    /* only 8 bytes of TCP quoted */
    CU_ASSERT_EQUAL(run(DLT_RAW, f, 48 + 40 + 8, 48 + 40 + 8, &p, &c, &copy), CS_DEC_SKIP);
    g_free(copy);
    /* echo request (128) is not an error */
    f[40] = 128;
    CU_ASSERT_EQUAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_SKIP);
    CU_ASSERT_EQUAL(c.icmp, 1);
    g_free(copy);
}

/* ---- checksum ------------------------------------------------------------------------------ */

static void test_checksum_by_hand(void)
{
    /* 10.0.0.1:1 -> 10.0.0.2:2, SYN, seq 0, ack 0, window 0, no options/payload.
     * pseudo header: 0x0a00+0x0001+0x0a00+0x0002+0x0006+0x0014 = 0x141d
     * header: 0x0001+0x0002+0x5002 = 0x5005; total 0x6422 -> checksum ~0x6422 = 0x9bdd */
    static const uint8_t f[40] = {0x45, 0,    0,    40,   0,    0,    0x40, 0,    64, 6,
                                  0,    0,    10,   0,    0,    1,    10,   0,    0,  2,
                                  0,    1,    0,    2,    0,    0,    0,    0,    0,  0,
                                  0,    0,    0x50, 0x02, 0,    0,    0,    0,    0,  0};
    uint8_t g[40];
    memcpy(g, f, 40);
    g[36] = 0x9b;
    g[37] = 0xdd;
    g[38] = g[39] = 0;
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, g, 40, 40, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(cs_tcp_checksum_ok(&p));
    g_free(copy);
    g[37] = 0xdc;
    CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, g, 40, 40, &p, &c, &copy), CS_DEC_TCP);
    CU_ASSERT(!cs_tcp_checksum_ok(&p));
    g_free(copy);
    /* the reference function agrees with the hand computation */
    CU_ASSERT_EQUAL(ref_tcp_cksum(f + 12, f + 16, 4, f + 20, 20), 0x9bdd);
}

static void test_checksum_odd_and_v6(void)
{
    uint8_t pl[33];
    for (int i = 0; i < 33; i++)
        pl[i] = (uint8_t)(0xf0 + i * 13);
    tcp_spec t = {65535, 443, 0xffffffff, 0x80000000, CS_TH_ACK | CS_TH_PSH, 0xffff,
                  STD_OPT, sizeof STD_OPT, pl, sizeof pl};
    uint8_t f[200];
    cs_pkt p;
    cs_counters c;
    uint8_t *copy;
    for (int v = 4; v <= 6; v += 2) {
        uint32_t n = v == 4 ? ipv4_tcp(f, &t) : ipv6_tcp(f, &t, 0, EXT6, sizeof EXT6);
        CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        CU_ASSERT(cs_tcp_checksum_ok(&p));
        g_free(copy);
        f[n - 1] ^= 0x01; /* last (odd) payload byte */
        CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        CU_ASSERT(!cs_tcp_checksum_ok(&p));
        g_free(copy);
        f[n - 1] ^= 0x01;
        f[v == 4 ? 12 : 8] ^= 0x80; /* source address (pseudo header) */
        CU_ASSERT_EQUAL_FATAL(run(DLT_RAW, f, n, n, &p, &c, &copy), CS_DEC_TCP);
        CU_ASSERT(!cs_tcp_checksum_ok(&p));
        g_free(copy);
    }
}

void suite_decode(void)
{
    static const cs_test_case cases[] = {
        {"eth_ipv4_tcp_options", test_eth_ipv4_tcp_options},
        {"tcp_sack_and_eol", test_tcp_sack_and_eol},
        {"tcp_bad_options", test_tcp_bad_options},
        {"vlan_tags", test_vlan_tags},
        {"pppoe_session", test_pppoe_session},
        {"mpls", test_mpls},
        {"linux_sll_sll2", test_linux_sll},
        {"dlt_null_and_loop", test_dlt_null_and_loop},
        {"dlt_raw", test_dlt_raw},
        {"link_supported", test_link_supported},
        {"ipv6_ext_headers", test_ipv6_ext_headers},
        {"ipv6_fragment_header", test_ipv6_fragment_header},
        {"ipv4_fragments", test_ipv4_fragments},
        {"ipv4_options_header", test_ipv4_options_header},
        {"eth_padding", test_eth_padding},
        {"ipv4_bad_lengths", test_ipv4_bad_lengths},
        {"ipv4_tso_zero_length", test_ipv4_tso_zero_length},
        {"snaplen_payload_cut", test_snaplen_payload_cut},
        {"tcp_bad_data_offset", test_tcp_bad_data_offset},
        {"non_tcp", test_non_tcp},
        {"trunc_eth_ipv4", test_trunc_eth_ipv4},
        {"trunc_qinq", test_trunc_qinq},
        {"trunc_pppoe", test_trunc_pppoe},
        {"trunc_sll2_null", test_trunc_sll2_null},
        {"trunc_raw_ipv6_ext", test_trunc_raw_ipv6_ext},
        {"icmp4_quote", test_icmp4_quote},
        {"icmp6_quote", test_icmp6_quote},
        {"checksum_by_hand", test_checksum_by_hand},
        {"checksum_odd_and_v6", test_checksum_odd_and_v6},
        {NULL, NULL},
    };
    cs_add_suite("decode", cases);
}
