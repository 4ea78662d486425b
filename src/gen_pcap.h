/* gen_pcap.h - connscope-gen's output: Ethernet/IPv4/IPv6/TCP frames with valid checksums, written
 * in place into a large buffer as classic microsecond pcap records and flushed with one fwrite. */
#ifndef CS_GEN_PCAP_H
#define CS_GEN_PCAP_H

#include <stdio.h>

#include "common.h"

enum {
    GEN_TH_FIN = 0x01,
    GEN_TH_SYN = 0x02,
    GEN_TH_RST = 0x04,
    GEN_TH_PSH = 0x08,
    GEN_TH_ACK = 0x10
};

/* TCP options carried by a segment. */
enum { GEN_OPT_NONE, GEN_OPT_SYN, GEN_OPT_TS };

#define GEN_MAX_HDR (14 + 40 + 60)

/* Everything about one segment except its payload. */
typedef struct gen_seg {
    uint8_t family;       /* 4 or 6 */
    uint8_t flags;        /* GEN_TH_* */
    uint8_t opt;          /* GEN_OPT_* */
    uint8_t wscale;       /* with GEN_OPT_SYN */
    const cs_addr *src, *dst;
    uint16_t sport, dport;
    uint16_t win;
    uint16_t mss;         /* with GEN_OPT_SYN */
    uint16_t ip_id;
    uint32_t seq, ack;
    uint32_t tsval, tsecr;
    uint8_t src_mac[6], dst_mac[6];
} gen_seg;

/* Bytes of Ethernet + IP + TCP header (with options) the segment takes. */
uint32_t gen_seg_hdrlen(const gen_seg *s);

/* Writes the headers of s in front of the `paylen` payload bytes already at frame +
 * gen_seg_hdrlen(s), and fills in the IP and TCP checksums. Returns the frame length. */
uint32_t gen_seg_build(uint8_t *frame, const gen_seg *s, uint32_t paylen);

/* The pcap file being written. */
typedef struct gen_out {
    FILE *fp;
    uint8_t *buf;
    size_t len, cap;
    uint64_t packets, bytes;
    bool error;          /* a write failed (reported by gen_out_close) */
} gen_out;

/* Starts a pcap (LINKTYPE_ETHERNET, microseconds, snaplen 262144) on fp (not closed by us).
 * Can't fail (write errors are found by gen_out_close). */
void gen_out_open(gen_out *o, FILE *fp);

/* Room for one frame of at most `max` bytes; valid until gen_out_commit. */
static inline uint8_t *gen_out_reserve(gen_out *o, size_t max);

/* Adds the record header (time in microseconds) for the frame written at the reserved place. */
void gen_out_commit(gen_out *o, int64_t ts_us, uint32_t framelen);

/* Writes what is buffered; returns false if any write failed (o->error). */
bool gen_out_close(gen_out *o);

/* Writes what is buffered (a failure sets o->error). */
void gen_out_flush(gen_out *o);

static inline uint8_t *gen_out_reserve(gen_out *o, size_t max)
{
    if (o->len + 16 + max > o->cap)
        gen_out_flush(o);
    return o->buf + o->len + 16;
}

#endif
