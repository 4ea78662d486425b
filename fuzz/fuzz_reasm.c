/* fuzz_reasm.c - libFuzzer target: one direction of TCP reassembly (src/reasm.c) driven by an
 * arbitrary sequence of operations decoded from the input, with a sink that checks invariants.
 *
 * Input layout:
 *   [0..3]  initial sequence number (big endian; lets the fuzzer put the stream near the wrap)
 *   [4]     out-of-order limit: index into limits[]
 *   then operations, each an opcode byte `op` followed by its arguments:
 *   op & 7 in 0..3  segment. Flags: 0x08 FIN, 0x10 corrupt (payload differs from the pattern),
 *                   0x20 absolute seq (u32) instead of a signed 16-bit offset from next_seq,
 *                   0x40 long segment (u16 length, up to 16383) instead of u8.
 *                   Then: seq (i16 or u32), length (u8 or u16), cut byte (>= 0xc0: only
 *                   (cut & 0x3f)/64 of the bytes were captured; the rest is cut by the snaplen).
 *   op & 7 == 4     ACK: 0x08 absolute (u32), else i16 offset from next_seq; 0x10: +/- 64 KiB scale
 *   op & 7 == 5     finish (RST, timeout, end of input)
 *   op & 7 == 6     restart at a new sequence number without clearing (as the flow table does for a
 *                   late first SYN): i16 offset from next_seq
 *   op & 7 == 7     clear, then start at an i16 offset from next_seq (connection record reused)
 *
 * Payload bytes are a fixed function of their sequence number, so the sink can check that every
 * delivered byte is the byte sent at that position (until a "corrupt" segment has been sent: then
 * which copy wins is policy, and only conflict counting is checked).
 *
 * Invariants checked after every operation:
 *   - the sink's position (start + data bytes + gap bytes) equals r->next_seq;
 *   - r->delivered / r->gap_bytes equal what the sink received; no empty data or gap event;
 *   - end() at most once per stream (between clears), no data or gap after end();
 *   - buffered bytes never exceed max_ooo_bytes once the call returns, and the heap in use by the
 *     stream (measured by the ASan allocator) stays within max_ooo_bytes plus a small overhead;
 *   - an ACK covering a hole (within the accepted window) moves next_seq up to it;
 *   - finish() ends the stream and leaves nothing buffered (unless it had already ended);
 *   - no conflicts are counted when every copy of every byte is identical;
 *   - a segment classified as a retransmission delivers nothing. */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_reasm: invariant failed: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const uint32_t limits[] = {0, 1, 100, 1000, 4096, 20000, 65536, 1u << 20};

/* Slack over max_ooo_bytes for the heap in use: one segment that is being buffered before the
 * cap forces it out (at most 16383 + header bytes) plus allocator rounding. */
#define HEAP_SLACK (16384 + 4096)

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t rd8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint16_t rd16(reader *r)
{
    uint16_t hi = rd8(r);
    return (uint16_t)((hi << 8) | rd8(r));
}

static uint32_t rd32(reader *r)
{
    uint32_t hi = rd16(r);
    return (hi << 16) | rd16(r);
}

static inline uint8_t pattern(uint32_t seq)
{
    return (uint8_t)((seq * 2654435761u) >> 24);
}

typedef struct sink_state {
    uint32_t pos;          /* next sequence number the sink expects */
    uint64_t data_bytes;   /* totals since the fuzz input started */
    uint64_t gap_bytes;
    int ends;              /* end() calls in the current stream (since the last clear) */
    bool check_content;    /* no corrupt segment sent: bytes must match the pattern */
    cs_time_t now;
} sink_state;

static void on_data(void *ctx, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    sink_state *s = ctx;
    CHECK(len > 0);
    CHECK(p != NULL);
    CHECK(s->ends == 0); /* no delivery after end */
    CHECK(ts >= 0 && ts <= s->now);
    if (s->check_content)
        for (uint32_t i = 0; i < len; i++)
            CHECK(p[i] == pattern(s->pos + i));
    else
        for (volatile uint32_t i = 0; i < len; i++) /* ASan: every byte is readable */
            (void)*(volatile const uint8_t *)(p + i);
    s->pos += len;
    s->data_bytes += len;
}

static void on_gap(void *ctx, uint32_t len, cs_time_t ts)
{
    sink_state *s = ctx;
    CHECK(len > 0);
    CHECK(s->ends == 0);
    CHECK(ts >= 0 && ts <= s->now);
    s->pos += len;
    s->gap_bytes += len;
}

static void on_end(void *ctx, cs_time_t ts)
{
    sink_state *s = ctx;
    CHECK(ts >= 0 && ts <= s->now);
    s->ends++;
    CHECK(s->ends == 1); /* end() at most once */
}

static void check_state(const cs_reasm *r, const sink_state *s, uint32_t max_ooo, size_t heap0)
{
    CHECK(r->started);
    CHECK(s->pos == r->next_seq);
    CHECK(r->delivered == s->data_bytes);
    CHECK(r->gap_bytes == s->gap_bytes);
    CHECK(r->ended == (s->ends == 1));
    CHECK(r->ooo != NULL || r->ooo_bytes == 0);
    CHECK(r->ooo_bytes <= max_ooo);
    size_t heap = __sanitizer_get_current_allocated_bytes();
    CHECK(heap <= heap0 || heap - heap0 <= (size_t)max_ooo + HEAP_SLACK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5 || size > 65536)
        return 0;
    reader in = {data, size};
    uint32_t isn = rd32(&in);
    uint32_t max_ooo = limits[rd8(&in) % (sizeof limits / sizeof limits[0])];
    cs_reasm_limits lim = {.max_ooo_bytes = max_ooo};

    sink_state st = {.pos = isn, .check_content = true, .now = 0};
    cs_reasm_sink sink = {on_data, on_gap, on_end, &st};
    cs_reasm r;
    memset(&r, 0, sizeof r);
    size_t heap0 = __sanitizer_get_current_allocated_bytes();
    cs_reasm_start(&r, isn);
    bool any_corrupt = false;

    static int trace = -1;
    if (trace < 0)
        trace = getenv("FUZZ_TRACE") != NULL;
    int ops = 0;
    while (in.n > 0 && ops++ < 4096) {
        uint8_t op = rd8(&in);
        st.now += 1000;
        if (trace)
            fprintf(stderr, "op %02x: next_seq %u ooo_bytes %u ended %d has_fin %d fin_seq %u\n",
                    op, r.next_seq, r.ooo_bytes, r.ended, r.has_fin, r.fin_seq);
        switch (op & 7) {
        case 0:
        case 1:
        case 2:
        case 3: {
            bool fin = op & 0x08, corrupt = op & 0x10;
            uint32_t seq = (op & 0x20) ? rd32(&in) : r.next_seq + (uint32_t)(int32_t)(int16_t)rd16(&in);
            uint32_t wirelen = (op & 0x40) ? (rd16(&in) & 0x3fffu) : rd8(&in);
            uint8_t cut = rd8(&in);
            uint32_t caplen = cut >= 0xc0 ? (uint32_t)((uint64_t)wirelen * (cut & 0x3f) / 64) : wirelen;
            /* Exactly caplen bytes (NULL when none, as the flow table passes for a cut header). */
            uint8_t *p = caplen > 0 ? malloc(caplen) : NULL;
            for (uint32_t i = 0; i < caplen; i++)
                p[i] = pattern(seq + i) ^ (corrupt && (i & 3) == 0 ? 0x5a : 0);
            if (corrupt && caplen > 0) {
                any_corrupt = true;
                st.check_content = false;
            }
            uint32_t pos0 = st.pos;
            int ends0 = st.ends;
            if (trace)
                fprintf(stderr, "  segment seq %u (next_seq%+d) wirelen %u caplen %u fin %d%s\n", seq,
                        cs_seq_diff(seq, r.next_seq), wirelen, caplen, fin, corrupt ? " corrupt" : "");
            cs_seg_kind k = cs_reasm_segment(&r, &lim, &sink, seq, p, caplen, wirelen, fin, st.now);
            CHECK(k >= CS_SEG_EMPTY && k <= CS_SEG_OVERLAP);
            if (k == CS_SEG_RETRANS)
                CHECK(st.pos == pos0 && st.ends == ends0);
            if (k == CS_SEG_EMPTY)
                CHECK(wirelen == 0 && st.pos == pos0);
            free(p); /* the stream must have copied what it kept */
            break;
        }
        case 4: {
            uint32_t ack;
            if (op & 0x08)
                ack = rd32(&in);
            else
                ack = r.next_seq + (uint32_t)((int32_t)(int16_t)rd16(&in) * ((op & 0x10) ? 64 : 1));
            bool live = r.started && !r.ended;
            uint32_t target = r.has_fin && cs_seq_diff(ack, r.fin_seq) > 0 ? r.fin_seq : ack;
            int32_t d = cs_seq_diff(target, r.next_seq);
            cs_reasm_ack(&r, &sink, ack, st.now);
            if (live && d > 0 && d <= (1 << 30))
                CHECK(cs_seq_diff(r.next_seq, target) >= 0);
            break;
        }
        case 5: {
            bool was_ended = r.ended;
            cs_reasm_finish(&r, &sink, st.now);
            /* (a stream that ended at its FIN may keep segments buffered beyond it: they can never
             * be delivered and are freed by cs_reasm_clear) */
            CHECK(r.ended && st.ends == 1 && (was_ended || r.ooo == NULL));
            if (r.has_fin && !was_ended)
                CHECK(cs_seq_diff(r.next_seq, r.fin_seq) >= 0);
            break;
        }
        case 6: {
            uint32_t seq = r.next_seq + (uint32_t)(int32_t)(int16_t)rd16(&in);
            cs_reasm_start(&r, seq);
            st.pos = seq;
            break;
        }
        case 7: {
            uint32_t seq = r.next_seq + (uint32_t)(int32_t)(int16_t)rd16(&in);
            cs_reasm_clear(&r);
            CHECK(r.ooo == NULL && r.ooo_bytes == 0 && !r.ended && !r.has_fin);
            cs_reasm_start(&r, seq);
            st.pos = seq;
            st.ends = 0;
            break;
        }
        }
        check_state(&r, &st, max_ooo, heap0);
        if (!any_corrupt)
            CHECK(r.conflicts == 0);
    }
    st.now += 1000;
    bool was_ended = r.ended;
    cs_reasm_finish(&r, &sink, st.now);
    check_state(&r, &st, max_ooo, heap0);
    CHECK(r.ended && (was_ended || r.ooo == NULL));
    cs_reasm_clear(&r);
    CHECK(__sanitizer_get_current_allocated_bytes() <= heap0);
    return 0;
}
