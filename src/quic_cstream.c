/* quic_cstream.c - CRYPTO frame reassembly: an offset-indexed buffer with a short list of received
 * ranges (first copy wins, conflicts counted), cut into TLS handshake messages as they complete. */
#include <glib.h>
#include <string.h>

#include "quic_cstream.h"
#include "wire.h"

/* Length of the handshake message whose 4-byte header is at p (type, uint24 length). */
static uint32_t msg_len(const uint8_t *p)
{
    cs_wire w = cs_wire_make(p, 4);
    return 4u + cs_wire_be24(&w, 1);
}

uint32_t cs_quic_cstream_pending(const cs_quic_cstream *cs)
{
    uint32_t n = 0;
    for (uint8_t i = 0; i < cs->nranges; i++)
        n += cs->ranges[i].end - cs->ranges[i].start;
    return n;
}

void cs_quic_cstream_clear(cs_quic_cstream *cs)
{
    g_free(cs->buf);
    cs->buf = NULL;
    cs->buf_cap = 0;
    cs->nranges = 0;
}

/* Drops the first m bytes of the buffer (delivered): shifts bytes and ranges, moves base. */
static void consume(cs_quic_cstream *cs, uint32_t m)
{
    uint32_t hi = cs->ranges[cs->nranges - 1].end;
    memmove(cs->buf, cs->buf + m, hi - m);
    uint8_t n = 0;
    for (uint8_t i = 0; i < cs->nranges; i++) {
        cs_quic_crange r = cs->ranges[i];
        if (r.end <= m)
            continue;
        r.start = r.start > m ? r.start - m : 0;
        r.end -= m;
        cs->ranges[n++] = r;
    }
    cs->nranges = n;
    cs->base += m;
}

/* Number of ranges once [s, e) is merged in (ranges touching it fold into one). */
static uint32_t ranges_after(const cs_quic_cstream *cs, uint32_t s, uint32_t e)
{
    uint32_t n = 1;
    for (uint8_t i = 0; i < cs->nranges; i++)
        if (cs->ranges[i].end < s || cs->ranges[i].start > e)
            n++;
    return n;
}

/* Copies the bytes of [s, e) that are not buffered yet, compares the ones that are, and merges
 * the range in. Returns CS_QCS_CONFLICT when a buffered byte differed. */
static unsigned insert(cs_quic_cstream *cs, uint32_t s, uint32_t e, const uint8_t *p)
{
    unsigned r = 0;
    uint32_t pos = s;
    for (uint8_t i = 0; i < cs->nranges && pos < e; i++) {
        cs_quic_crange g = cs->ranges[i];
        if (g.end <= pos)
            continue;
        if (g.start >= e)
            break;
        if (pos < g.start) {
            memcpy(cs->buf + pos, p + (pos - s), g.start - pos);
            cs->bytes += g.start - pos;
            pos = g.start;
        }
        uint32_t to = MIN(e, g.end);
        if (memcmp(cs->buf + pos, p + (pos - s), to - pos) != 0)
            r |= CS_QCS_CONFLICT;
        cs->dup_bytes += to - pos;
        pos = to;
    }
    if (pos < e) {
        memcpy(cs->buf + pos, p + (pos - s), e - pos);
        cs->bytes += e - pos;
    }
    /* merge: keep the ranges apart from [s, e), fold the others into it, keep the order */
    cs_quic_crange out[CS_QUIC_CRANGES];
    uint8_t n = 0;
    cs_quic_crange m = {s, e};
    bool placed = false;
    for (uint8_t i = 0; i < cs->nranges; i++) {
        cs_quic_crange g = cs->ranges[i];
        if (g.end < m.start) {
            out[n++] = g;
        } else if (g.start > m.end) {
            if (!placed) {
                out[n++] = m;
                placed = true;
            }
            out[n++] = g;
        } else {
            m.start = MIN(m.start, g.start);
            m.end = MAX(m.end, g.end);
        }
    }
    if (!placed)
        out[n++] = m;
    memcpy(cs->ranges, out, n * sizeof out[0]);
    cs->nranges = n;
    return r;
}

/* Delivers the complete messages at the front of the buffer. */
static unsigned deliver(cs_quic_cstream *cs, uint32_t max_bytes, cs_quic_msg_fn fn, void *ctx)
{
    while (cs->nranges > 0 && cs->ranges[0].start == 0 && cs->ranges[0].end >= 4) {
        uint32_t m = msg_len(cs->buf);
        if (m > max_bytes) {
            cs->dead = true;
            cs_quic_cstream_clear(cs);
            return CS_QCS_TOO_LONG;
        }
        if (cs->ranges[0].end < m)
            break;
        cs->messages++;
        fn(ctx, cs->buf, m);
        consume(cs, m);
    }
    return 0;
}

/* In-order bytes with nothing buffered: delivers whole messages straight from p. Returns the
 * number of bytes used (the rest must be buffered), or UINT32_MAX when the stream died. */
static uint32_t deliver_direct(cs_quic_cstream *cs, uint32_t max_bytes, const uint8_t *p,
                               uint32_t len, cs_quic_msg_fn fn, void *ctx)
{
    uint32_t used = 0;
    while (len - used >= 4) {
        uint32_t m = msg_len(p + used);
        if (m > max_bytes) {
            cs->dead = true;
            return UINT32_MAX;
        }
        if (m > len - used)
            break;
        cs->messages++;
        cs->bytes += m;
        cs->base += m;
        fn(ctx, p + used, m);
        used += m;
    }
    return used;
}

unsigned cs_quic_cstream_add(cs_quic_cstream *cs, uint32_t max_bytes, uint64_t off,
                             const uint8_t *p, uint32_t len, cs_quic_msg_fn fn, void *ctx)
{
    if (cs->dead || len == 0)
        return 0;
    if (off + len <= cs->base) {
        cs->dup_bytes += len;
        return 0;
    }
    if (off < cs->base) {
        uint32_t d = (uint32_t)(cs->base - off);
        cs->dup_bytes += d;
        p += d;
        len -= d;
        off = cs->base;
    }
    if (cs->nranges == 0 && off == cs->base) {
        uint32_t used = deliver_direct(cs, max_bytes, p, len, fn, ctx);
        if (used == UINT32_MAX)
            return CS_QCS_TOO_LONG;
        p += used;
        len -= used;
        off = cs->base;
        if (len == 0)
            return 0;
    }
    unsigned r = 0;
    if (off - cs->base >= max_bytes)
        return CS_QCS_CAP;
    uint32_t s = (uint32_t)(off - cs->base);
    if (len > max_bytes - s) {
        len = max_bytes - s;
        r |= CS_QCS_CAP;
    }
    uint32_t e = s + len;
    if (ranges_after(cs, s, e) > CS_QUIC_CRANGES)
        return r | CS_QCS_CAP;
    if (e > cs->buf_cap) {
        uint32_t cap = cs->buf_cap != 0 ? cs->buf_cap : 2048;
        while (cap < e)
            cap *= 2;
        cap = MIN(cap, max_bytes);
        cs->buf = g_realloc(cs->buf, cap);
        cs->buf_cap = cap;
    }
    r |= insert(cs, s, e, p);
    r |= deliver(cs, max_bytes, fn, ctx);
    if (cs->nranges == 0)
        cs_quic_cstream_clear(cs);
    return r;
}
