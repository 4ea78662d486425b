/* gen_pcap.c - frame assembly (Ethernet, IPv4/IPv6, TCP with options) with RFC 1071 checksums
 * summed 32 bits at a time, and a buffered classic-pcap writer (no libpcap needed to write). */
#include <glib.h>
#include <string.h>

#include "gen_pcap.h"

#define OUT_BUF (8u << 20)

static inline void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Ones' complement sum of n bytes at p (network order pairs), not folded. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        sum += (uint64_t)a + b;
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t a;
        memcpy(&a, p, 4);
        sum += a;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t a;
        memcpy(&a, p, 2);
        sum += a;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        uint16_t a = 0;
        memcpy(&a, p, 1);
        sum += a;
    }
    return sum;
}

/* Folds a sum made of native-order 16/32-bit loads into the 16-bit checksum, in network order
 * bytes ready to store with memcpy. */
static uint16_t csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t gen_seg_hdrlen(const gen_seg *s)
{
    uint32_t opt = s->opt == GEN_OPT_SYN ? 20 : s->opt == GEN_OPT_TS ? 12 : 0;
    return 14 + (s->family == 4 ? 20 : 40) + 20 + opt;
}

uint32_t gen_seg_build(uint8_t *frame, const gen_seg *s, uint32_t paylen)
{
    uint32_t optlen = s->opt == GEN_OPT_SYN ? 20 : s->opt == GEN_OPT_TS ? 12 : 0;
    uint32_t iplen = s->family == 4 ? 20 : 40;
    uint32_t tcplen = 20 + optlen + paylen;
    uint8_t *eth = frame, *ip = frame + 14, *tcp = ip + iplen;

    memcpy(eth, s->dst_mac, 6);
    memcpy(eth + 6, s->src_mac, 6);
    be16(eth + 12, s->family == 4 ? 0x0800 : 0x86dd);

    uint64_t pseudo;
    if (s->family == 4) {
        ip[0] = 0x45;
        ip[1] = 0;
        be16(ip + 2, iplen + tcplen);
        be16(ip + 4, s->ip_id);
        be16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = 6;
        ip[10] = ip[11] = 0;
        memcpy(ip + 12, s->src->b, 4);
        memcpy(ip + 16, s->dst->b, 4);
        uint16_t c = csum_fold(csum_add(0, ip, 20));
        memcpy(ip + 10, &c, 2);
        pseudo = csum_add(0, ip + 12, 8);
    } else {
        be32(ip, 0x60000000u);
        be16(ip + 4, tcplen);
        ip[6] = 6;
        ip[7] = 64;
        memcpy(ip + 8, s->src->b, 16);
        memcpy(ip + 24, s->dst->b, 16);
        pseudo = csum_add(0, ip + 8, 32);
    }
    uint8_t ph[4] = {0, 6, (uint8_t)(tcplen >> 8), (uint8_t)tcplen};
    pseudo = csum_add(pseudo, ph, 4);

    be16(tcp, s->sport);
    be16(tcp + 2, s->dport);
    be32(tcp + 4, s->seq);
    be32(tcp + 8, s->ack);
    tcp[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    tcp[13] = s->flags;
    be16(tcp + 14, s->win);
    tcp[16] = tcp[17] = 0;
    tcp[18] = tcp[19] = 0;
    uint8_t *o = tcp + 20;
    if (s->opt == GEN_OPT_SYN) { /* Linux's order: MSS, SACK-permitted, timestamps, NOP, wscale */
        o[0] = 2, o[1] = 4;
        be16(o + 2, s->mss);
        o[4] = 4, o[5] = 2;
        o[6] = 8, o[7] = 10;
        be32(o + 8, s->tsval);
        be32(o + 12, s->tsecr);
        o[16] = 1;
        o[17] = 3, o[18] = 3, o[19] = s->wscale;
    } else if (s->opt == GEN_OPT_TS) {
        o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
        be32(o + 4, s->tsval);
        be32(o + 8, s->tsecr);
    }
    uint16_t c = csum_fold(csum_add(pseudo, tcp, tcplen));
    memcpy(tcp + 16, &c, 2);
    return 14 + iplen + tcplen;
}

void gen_out_open(gen_out *o, FILE *fp)
{
    memset(o, 0, sizeof *o);
    o->fp = fp;
    o->cap = OUT_BUF;
    o->buf = g_malloc(o->cap);
    uint32_t hdr[6] = {0xa1b2c3d4u, 2 | (4u << 16), 0, 0, 262144, 1};
    memcpy(o->buf, hdr, sizeof hdr); /* native byte order, as libpcap writes it */
    o->len = sizeof hdr;
}

void gen_out_commit(gen_out *o, int64_t ts_us, uint32_t framelen)
{
    uint32_t rec[4] = {(uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000), framelen,
                       framelen};
    memcpy(o->buf + o->len, rec, sizeof rec);
    o->len += 16 + framelen;
    o->packets++;
    o->bytes += framelen;
}

void gen_out_flush(gen_out *o)
{
    if (o->len > 0 && fwrite(o->buf, 1, o->len, o->fp) != o->len)
        o->error = true;
    o->len = 0;
}

bool gen_out_close(gen_out *o)
{
    gen_out_flush(o);
    if (fflush(o->fp) != 0)
        o->error = true;
    g_free(o->buf);
    o->buf = NULL;
    return !o->error;
}
