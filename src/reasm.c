/* reasm.c - TCP reassembly for one direction: in-order bytes go straight from the capture buffer to
 * the consumer (no copy); only segments ahead of a hole are copied into a sorted, bounded buffer. */
#include <glib.h>
#include <string.h>

#include "reasm.h"
#include "splay.h"

/* A buffered piece of the stream: [seq, seq+span) of which the first `len` bytes were captured
 * (the rest was cut by the snaplen and is delivered as a gap). Pieces are kept twice: in a
 * sorted list (`next`: delivery walks it in order) and in a splay tree (`left`/`right`: finding
 * where a new segment goes costs O(log n) amortised, not a walk of the list). */
struct cs_reasm_seg {
    cs_reasm_seg *next;
    cs_reasm_seg *left, *right;
    uint32_t seq;
    uint32_t span;
    uint32_t len;
    cs_time_t ts;
    uint8_t data[];
};

#define SEG_OVERHEAD ((uint32_t)sizeof(cs_reasm_seg))

/* The splay tree index: keys are sequence numbers compared in serial arithmetic. Every buffered
 * piece starts in the 2^31 bytes after next_seq (pieces behind it are drained at once, and a
 * restart drops them), so the order is a total order. */
#define SEG_KEY(x) ((x)->seq)
#define SEQ_CMP(a, b) cs_seq_diff((a), (b))
CS_SPLAY_DEFINE(segtree, cs_reasm_seg, uint32_t, SEG_KEY, SEQ_CMP)

/* ---- delivery -------------------------------------------------------------------------------- */

static void free_buffered(cs_reasm *r)
{
    while (r->ooo != NULL) {
        cs_reasm_seg *s = r->ooo;
        r->ooo = s->next;
        g_free(s);
    }
    r->root = NULL;
    r->ooo_bytes = 0;
}

void cs_reasm_start(cs_reasm *r, uint32_t seq)
{
    free_buffered(r); /* bytes buffered for another sequence space can never be delivered */
    r->next_seq = seq;
    r->started = true;
    r->last_ts = INT64_MIN;
}

/* Delivers bytes [off, span) of a piece whose first `len` bytes are in `data`, captured at ts.
 * Their time is ts, or the time of the bytes delivered before them when that is later: bytes that
 * waited behind a hole became available in order when the hole was filled (doc/design.md). */
static void deliver(cs_reasm *r, const cs_reasm_sink *sink, const uint8_t *data, uint32_t len,
                    uint32_t span, uint32_t off, cs_time_t ts)
{
    if (ts < r->last_ts)
        ts = r->last_ts;
    r->last_ts = ts;
    if (off < len) {
        sink->data(sink->ctx, data + off, len - off, ts);
        r->delivered += len - off;
    }
    uint32_t from = off > len ? off : len;
    if (span > from) {
        sink->gap(sink->ctx, span - from, ts);
        r->gap_bytes += span - from;
        r->gaps++;
    }
    r->next_seq += span - off;
}

static void maybe_end(cs_reasm *r, const cs_reasm_sink *sink, cs_time_t ts)
{
    if (r->has_fin && !r->ended && cs_seq_diff(r->next_seq, r->fin_seq) >= 0) {
        r->ended = true;
        sink->end(sink->ctx, ts);
    }
}

/* Delivers buffered segments that are now in order; frees those entirely behind next_seq. */
static void drain(cs_reasm *r, const cs_reasm_sink *sink)
{
    while (r->ooo != NULL && cs_seq_diff(r->ooo->seq, r->next_seq) <= 0) {
        cs_reasm_seg *s = r->ooo;
        r->ooo = s->next;
        segtree_remove(&r->root, s);
        r->ooo_bytes -= s->len + SEG_OVERHEAD;
        int32_t end = cs_seq_diff(s->seq + s->span, r->next_seq);
        if (end > 0)
            deliver(r, sink, s->data, s->len, s->span, s->span - (uint32_t)end, s->ts);
        g_free(s);
    }
}

/* Skips forward to `target`: holes become gaps, buffered segments on the way are delivered. */
static void skip_to(cs_reasm *r, const cs_reasm_sink *sink, uint32_t target, cs_time_t ts)
{
    while (cs_seq_diff(target, r->next_seq) > 0) {
        if (r->ooo != NULL && cs_seq_diff(r->ooo->seq, r->next_seq) <= 0) {
            drain(r, sink);
            continue;
        }
        uint32_t hole_end = target;
        if (r->ooo != NULL && cs_seq_diff(r->ooo->seq, target) < 0)
            hole_end = r->ooo->seq;
        uint32_t n = hole_end - r->next_seq;
        sink->gap(sink->ctx, n, ts);
        r->gap_bytes += n;
        r->gaps++;
        r->next_seq = hole_end;
    }
    drain(r, sink);
}

static cs_reasm_seg *seg_new(uint32_t seq, uint32_t span, const uint8_t *data, uint32_t len,
                             cs_time_t ts)
{
    cs_reasm_seg *s = g_malloc(sizeof *s + len);
    s->next = NULL;
    s->seq = seq;
    s->span = span;
    s->len = len;
    s->ts = ts;
    if (len > 0)
        memcpy(s->data, data, len);
    return s;
}

/* Buffers [a, b) of a segment that starts at seq with caplen captured bytes at p, right after
 * the buffered piece `prev` (NULL: at the front). Returns the new piece. */
static cs_reasm_seg *insert_piece(cs_reasm *r, cs_reasm_seg *prev, uint32_t seq, const uint8_t *p,
                                  uint32_t caplen, uint32_t a, uint32_t b, cs_time_t ts)
{
    uint32_t off = a - seq;
    uint32_t span = b - a;
    uint32_t len = 0;
    if (off < caplen)
        len = caplen - off < span ? caplen - off : span;
    /* p may be NULL (header cut by the snaplen: nothing captured), and off may lie past the
     * captured bytes: form p + off only when there are bytes to copy (else it is undefined). */
    cs_reasm_seg *s = seg_new(a, span, len > 0 ? p + off : NULL, len, ts);
    cs_reasm_seg **link = prev != NULL ? &prev->next : &r->ooo;
    s->next = *link;
    *link = s;
    segtree_insert(&r->root, s);
    r->ooo_bytes += len + SEG_OVERHEAD;
    return s;
}

/* Counts bytes of [a, b) where the new segment and buffered piece x both hold data and differ. */
static void check_conflict(cs_reasm *r, const cs_reasm_seg *x, uint32_t seq, const uint8_t *p,
                           uint32_t caplen, uint32_t a, uint32_t b)
{
    uint32_t n = b - a;
    uint32_t xo = a - x->seq, po = a - seq;
    if (xo >= x->len || po >= caplen)
        return;
    if (n > x->len - xo)
        n = x->len - xo;
    if (n > caplen - po)
        n = caplen - po;
    if (memcmp(x->data + xo, p + po, n) != 0)
        r->conflicts++;
}

/* Buffers the parts of a segment ahead of next_seq that no buffered piece covers yet
 * (among buffered copies, the first to arrive wins). Costs O(log n) amortised to find the place,
 * plus the buffered pieces the segment overlaps. */
static void buffer_ahead(cs_reasm *r, uint32_t seq, const uint8_t *p, uint32_t caplen,
                         uint32_t wirelen, cs_time_t ts)
{
    uint32_t s = seq, e = seq + wirelen;
    cs_reasm_seg *prev = segtree_floor(&r->root, s); /* the last piece that starts at or before s */
    if (prev != NULL && cs_seq_diff(prev->seq + prev->span, s) > 0) {
        uint32_t pe = prev->seq + prev->span;
        uint32_t oe = cs_seq_diff(pe, e) < 0 ? pe : e;
        check_conflict(r, prev, seq, p, caplen, s, oe);
        s = oe;
    }
    /* from here every following piece starts at or after s */
    cs_reasm_seg *x = prev != NULL ? prev->next : r->ooo;
    while (cs_seq_diff(e, s) > 0) {
        if (x == NULL || cs_seq_diff(x->seq, e) >= 0) {
            insert_piece(r, prev, seq, p, caplen, s, e, ts);
            break;
        }
        if (cs_seq_diff(x->seq, s) > 0) {
            prev = insert_piece(r, prev, seq, p, caplen, s, x->seq, ts);
            s = x->seq;
        }
        uint32_t xe = x->seq + x->span;
        uint32_t oe = cs_seq_diff(xe, e) < 0 ? xe : e;
        check_conflict(r, x, seq, p, caplen, s, oe);
        s = oe;
        prev = x;
        x = x->next;
    }
}

cs_seg_kind cs_reasm_segment(cs_reasm *r, const cs_reasm_limits *lim, const cs_reasm_sink *sink,
                             uint32_t seq, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
                             bool fin, cs_time_t ts)
{
    cs_seg_kind kind;
    if (!r->started)
        cs_reasm_start(r, seq);
    if (caplen > wirelen)
        caplen = wirelen;
    if (fin && !r->has_fin) {
        r->has_fin = true;
        r->fin_seq = seq + wirelen;
    }
    if (wirelen == 0) {
        maybe_end(r, sink, ts);
        return CS_SEG_EMPTY;
    }
    int32_t d = cs_seq_diff(seq, r->next_seq);
    if (r->ended || (d <= 0 && cs_seq_diff(seq + wirelen, r->next_seq) <= 0)) {
        r->retrans++;
        return CS_SEG_RETRANS;
    }
    if (d <= 0) {
        uint32_t off = (uint32_t)-d;
        kind = off > 0 ? CS_SEG_OVERLAP : CS_SEG_NEW;
        if (off > 0)
            r->overlaps++;
        /* buffered pieces this segment also covers: count differing copies (the in-order bytes
         * are the ones delivered) */
        for (cs_reasm_seg *x = r->ooo; x != NULL && cs_seq_diff(x->seq, seq + wirelen) < 0;
             x = x->next) {
            uint32_t xe = x->seq + x->span;
            check_conflict(r, x, seq, p, caplen, x->seq,
                           cs_seq_diff(xe, seq + wirelen) < 0 ? xe : seq + wirelen);
        }
        deliver(r, sink, p, caplen, wirelen, off, ts);
        drain(r, sink);
    } else {
        kind = CS_SEG_AHEAD;
        r->ooo_segs++;
        buffer_ahead(r, seq, p, caplen, wirelen, ts);
        while (r->ooo != NULL && r->ooo_bytes > lim->max_ooo_bytes) {
            r->cap_hits++;
            skip_to(r, sink, r->ooo->seq, ts);
            drain(r, sink);
        }
    }
    maybe_end(r, sink, ts);
    return kind;
}

void cs_reasm_ack(cs_reasm *r, const cs_reasm_sink *sink, uint32_t ack, cs_time_t ts)
{
    if (!r->started || r->ended)
        return;
    if (r->has_fin && cs_seq_diff(ack, r->fin_seq) > 0)
        ack = r->fin_seq; /* the FIN itself takes one sequence number */
    int32_t d = cs_seq_diff(ack, r->next_seq);
    if (d <= 0 || d > (1 << 30))
        return;
    skip_to(r, sink, ack, ts);
    maybe_end(r, sink, ts);
}

void cs_reasm_finish(cs_reasm *r, const cs_reasm_sink *sink, cs_time_t ts)
{
    if (r->ended)
        return;
    while (r->ooo != NULL)
        skip_to(r, sink, r->ooo->seq, ts);
    if (r->has_fin && cs_seq_diff(r->fin_seq, r->next_seq) > 0)
        skip_to(r, sink, r->fin_seq, ts);
    r->ended = true;
    sink->end(sink->ctx, ts);
}

void cs_reasm_clear(cs_reasm *r)
{
    free_buffered(r);
    r->started = false; /* a later cs_reasm_start() begins a new stream: forget the old end */
    r->has_fin = false;
    r->ended = false;
}
