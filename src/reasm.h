/* reasm.h - one direction of a TCP byte stream put back in sequence order, with gaps marked.
 * The flow table owns one cs_reasm per direction and feeds it segments, ACKs and the end. */
#ifndef CS_REASM_H
#define CS_REASM_H

#include "common.h"

/* Where reassembled bytes go: the consumer interface the application parsers implement.
 * `data` gets bytes in sequence order with the time they became available in order: the
 * capture time of the segment that carried them, or the time of the bytes before them when that
 * is later (bytes that arrived ahead of a hole are available when the hole is filled);
 * `gap` says that `len` bytes are missing here and will never come; `end` says the direction
 * has ended (FIN reached in sequence, RST, or the connection was finalised). */
typedef struct cs_reasm_sink {
    void (*data)(void *ctx, const uint8_t *p, uint32_t len, cs_time_t ts);
    void (*gap)(void *ctx, uint32_t len, cs_time_t ts);
    void (*end)(void *ctx, cs_time_t ts);
    void *ctx;
} cs_reasm_sink;

typedef struct cs_reasm_seg cs_reasm_seg;

/* Counters and state of one direction. Zero-initialise, then cs_reasm_start(). */
typedef struct cs_reasm {
    uint32_t next_seq;    /* next byte expected */
    uint32_t fin_seq;     /* sequence number of the FIN (valid when has_fin) */
    bool started;
    bool has_fin;
    bool ended;           /* end() was delivered */
    cs_reasm_seg *ooo;    /* buffered out-of-order segments, sorted, non-overlapping */
    cs_reasm_seg *root;   /* the same segments as a splay tree by sequence number (the index
                             that finds where a segment goes in O(log n) amortised) */
    cs_time_t last_ts;    /* time given to the last byte delivered (times never go back) */
    uint32_t ooo_bytes;
    uint64_t delivered;   /* bytes handed to the sink */
    uint64_t gap_bytes;   /* bytes reported missing */
    uint32_t gaps;        /* gap events */
    uint32_t retrans;     /* segments entirely below next_seq (already delivered) */
    uint32_t overlaps;    /* segments partly new, partly old */
    uint32_t ooo_segs;    /* segments that arrived ahead of a hole */
    uint32_t conflicts;   /* overlapping bytes that differed from the buffered copy */
    uint32_t cap_hits;    /* times the out-of-order limit forced a gap */
} cs_reasm;

/* Limits shared by every stream (set once from the options). */
typedef struct cs_reasm_limits {
    uint32_t max_ooo_bytes; /* per direction; beyond it the oldest hole becomes a gap */
} cs_reasm_limits;

/* What a segment turned out to be (for the flow table's counters). */
typedef enum cs_seg_kind {
    CS_SEG_EMPTY,    /* no payload and no FIN */
    CS_SEG_NEW,      /* in order, delivered now */
    CS_SEG_AHEAD,    /* beyond a hole, buffered */
    CS_SEG_RETRANS,  /* every byte seen before */
    CS_SEG_OVERLAP   /* some bytes new, some seen before */
} cs_seg_kind;

/* Starts the stream at `seq` (the first byte expected: ISN+1 after a SYN). Starting again (a new
 * sequence space) frees the segments buffered for the old one. Can't fail. */
void cs_reasm_start(cs_reasm *r, uint32_t seq);

/* Feeds one segment: `caplen` captured bytes at p, of `wirelen` bytes sent (the rest was cut by
 * the snaplen and becomes a gap), starting at `seq`; `fin` when the FIN flag is set.
 * Delivers what is now in order to the sink and buffers what is ahead (copying it). */
cs_seg_kind cs_reasm_segment(cs_reasm *r, const cs_reasm_limits *lim, const cs_reasm_sink *sink,
                             uint32_t seq, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
                             bool fin, cs_time_t ts);

/* The peer acknowledged everything before `ack`: bytes before it that were not captured will never
 * come, so they are reported as a gap and buffered data behind them is delivered. */
void cs_reasm_ack(cs_reasm *r, const cs_reasm_sink *sink, uint32_t ack, cs_time_t ts);

/* The direction is over (RST, timeout, end of input): delivers buffered segments with gaps between
 * them, then end(). Safe to call twice. */
void cs_reasm_finish(cs_reasm *r, const cs_reasm_sink *sink, cs_time_t ts);

/* Frees buffered segments without delivering them. Leaves r reusable after cs_reasm_start(). */
void cs_reasm_clear(cs_reasm *r);

#endif
