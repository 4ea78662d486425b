/* test_reasm.c - CUnit suite for src/reasm.c: one direction of a TCP byte stream fed with segments,
 * ACKs and the end, checked through a recording sink. Registered by test_main.c via suite_reasm().
 * The sink appends delivered bytes to a buffer and logs every event as text:
 * "D<len>@<ts> " for data, "G<len>@<ts> " for a gap, "E@<ts> " for the end. */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#include "reasm.h"
#include "suites.h"

typedef struct rec {
    GString *bytes;
    GString *log;
    int ends;
} rec;

static void rec_data(void *ctx, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    rec *r = ctx;
    g_string_append_len(r->bytes, (const char *)p, (gssize)len);
    g_string_append_printf(r->log, "D%u@%" G_GINT64_FORMAT " ", len, (gint64)ts);
}

static void rec_gap(void *ctx, uint32_t len, cs_time_t ts)
{
    rec *r = ctx;
    g_string_append_printf(r->log, "G%u@%" G_GINT64_FORMAT " ", len, (gint64)ts);
}

static void rec_end(void *ctx, cs_time_t ts)
{
    rec *r = ctx;
    r->ends++;
    g_string_append_printf(r->log, "E@%" G_GINT64_FORMAT " ", (gint64)ts);
}

/* A fresh stream, recorder and sink. */
typedef struct fx {
    cs_reasm r;
    rec rec;
    cs_reasm_sink sink;
    cs_reasm_limits lim;
} fx;

static void fx_init(fx *f, uint32_t start)
{
    memset(f, 0, sizeof *f);
    f->rec.bytes = g_string_new(NULL);
    f->rec.log = g_string_new(NULL);
    f->sink.data = rec_data;
    f->sink.gap = rec_gap;
    f->sink.end = rec_end;
    f->sink.ctx = &f->rec;
    f->lim.max_ooo_bytes = 1u << 20;
    cs_reasm_start(&f->r, start);
}

static void fx_free(fx *f)
{
    cs_reasm_clear(&f->r);
    g_string_free(f->rec.bytes, TRUE);
    g_string_free(f->rec.log, TRUE);
}

/* Feeds a fully captured segment holding the string s. */
static cs_seg_kind seg(fx *f, uint32_t seq, const char *s, bool fin, cs_time_t ts)
{
    uint32_t n = (uint32_t)strlen(s);
    return cs_reasm_segment(&f->r, &f->lim, &f->sink, seq, (const uint8_t *)s, n, n, fin, ts);
}

#define LOG_IS(f, s) CU_ASSERT_STRING_EQUAL((f)->rec.log->str, (s))
#define BYTES_ARE(f, s) CU_ASSERT_STRING_EQUAL((f)->rec.bytes->str, (s))

static void test_in_order(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1003, "defg", false, 20), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1007, "", false, 30), CS_SEG_EMPTY);
    LOG_IS(&f, "D3@10 D4@20 ");
    BYTES_ARE(&f, "abcdefg");
    CU_ASSERT_EQUAL(f.r.next_seq, 1007);
    CU_ASSERT_EQUAL(f.r.delivered, 7);
    CU_ASSERT_EQUAL(f.r.gaps, 0);
    CU_ASSERT_EQUAL(f.r.retrans + f.r.overlaps + f.r.ooo_segs, 0);
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT(!f.r.ended);
    fx_free(&f);

    /* a zero-initialised stream starts at the first segment's sequence number */
    fx_init(&f, 0);
    memset(&f.r, 0, sizeof f.r);
    CU_ASSERT_EQUAL(seg(&f, 777, "xy", false, 1), CS_SEG_NEW);
    CU_ASSERT(f.r.started);
    CU_ASSERT_EQUAL(f.r.next_seq, 779);
    BYTES_ARE(&f, "xy");
    fx_free(&f);
}

static void test_out_of_order(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1003, "defg", false, 10), CS_SEG_AHEAD);
    LOG_IS(&f, "");
    CU_ASSERT_EQUAL(f.r.ooo_segs, 1);
    CU_ASSERT(f.r.ooo_bytes >= 4);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 20), CS_SEG_NEW);
    /* the buffered bytes became available in order when the hole was filled, at 20 (they were
     * captured at 10, but nothing could use them before "abc") */
    LOG_IS(&f, "D3@20 D4@20 ");
    BYTES_ARE(&f, "abcdefg");
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
    CU_ASSERT_EQUAL(f.r.next_seq, 1007);
    fx_free(&f);

    /* three segments in reverse order */
    fx_init(&f, 50);
    CU_ASSERT_EQUAL(seg(&f, 56, "ghi", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 53, "def", false, 2), CS_SEG_AHEAD);
    LOG_IS(&f, "");
    CU_ASSERT_EQUAL(seg(&f, 50, "abc", false, 3), CS_SEG_NEW);
    LOG_IS(&f, "D3@3 D3@3 D3@3 ");
    BYTES_ARE(&f, "abcdefghi");
    CU_ASSERT_EQUAL(f.r.ooo_segs, 2);
    CU_ASSERT_EQUAL(f.r.delivered, 9);
    fx_free(&f);
}

static void test_retransmission(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abcdef", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abcdef", false, 20), CS_SEG_RETRANS);
    CU_ASSERT_EQUAL(seg(&f, 1002, "cd", false, 30), CS_SEG_RETRANS);
    CU_ASSERT_EQUAL(seg(&f, 999, "_abcdef", false, 40), CS_SEG_RETRANS);
    LOG_IS(&f, "D6@10 ");
    BYTES_ARE(&f, "abcdef");
    CU_ASSERT_EQUAL(f.r.retrans, 3);
    CU_ASSERT_EQUAL(f.r.delivered, 6);
    fx_free(&f);
}

static void test_partial_overlap(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abcd", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1002, "CDef", false, 20), CS_SEG_OVERLAP);
    LOG_IS(&f, "D4@10 D2@20 ");
    BYTES_ARE(&f, "abcdef");
    CU_ASSERT_EQUAL(f.r.overlaps, 1);
    CU_ASSERT_EQUAL(f.r.retrans, 0);
    CU_ASSERT_EQUAL(f.r.delivered, 6);
    fx_free(&f);
}

static void test_buffered_overlap_first_wins(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1005, "FGHIJ", false, 1), CS_SEG_AHEAD);
    /* [1003,1012): "de" new, [1005,1010) overlaps the buffered copy with other bytes, "mn" new */
    CU_ASSERT_EQUAL(seg(&f, 1003, "dexyzKLmn", false, 2), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(f.r.conflicts, 1);
    /* the same bytes again: no conflict */
    CU_ASSERT_EQUAL(seg(&f, 1005, "FGHIJ", false, 3), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(f.r.conflicts, 1);
    LOG_IS(&f, "");
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 4), CS_SEG_NEW);
    LOG_IS(&f, "D3@4 D2@4 D5@4 D2@4 ");
    BYTES_ARE(&f, "abcdeFGHIJmn");
    CU_ASSERT_EQUAL(f.r.next_seq, 1012);
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
    fx_free(&f);

    /* a segment spanning two buffered pieces and the hole between them: the byte at seq k of the
     * true stream is "0123456789abcdef"[k] */
    fx_init(&f, 0);
    CU_ASSERT_EQUAL(seg(&f, 5, "56", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 10, "ab", false, 2), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 3, "34##789abcde", false, 3), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(f.r.conflicts, 1); /* [5,7) differs, [10,12) is identical */
    CU_ASSERT_EQUAL(seg(&f, 0, "012", false, 4), CS_SEG_NEW);
    LOG_IS(&f, "D3@4 D2@4 D2@4 D3@4 D2@4 D3@4 ");
    BYTES_ARE(&f, "0123456789abcde");
    CU_ASSERT_EQUAL(f.r.delivered, 15);
    fx_free(&f);
}

static void test_in_order_over_buffered_conflict(void)
{
    /* An in-order segment that covers a buffered piece holding other bytes: its bytes are
     * delivered straight through, once, and the difference is counted as a conflict. */
    fx f;
    fx_init(&f, 0);
    CU_ASSERT_EQUAL(seg(&f, 5, "56", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 0, "01234##789", false, 2), CS_SEG_NEW);
    CU_ASSERT_EQUAL(f.r.delivered, 10);
    CU_ASSERT_EQUAL(f.r.next_seq, 10);
    CU_ASSERT_EQUAL(f.rec.bytes->len, 10);
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.conflicts, 1);
    fx_free(&f);

    /* identical bytes: no conflict */
    fx_init(&f, 0);
    CU_ASSERT_EQUAL(seg(&f, 5, "56", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 0, "0123456", false, 2), CS_SEG_NEW);
    BYTES_ARE(&f, "0123456");
    CU_ASSERT_EQUAL(f.r.conflicts, 0);
    fx_free(&f);
}

static void test_sequence_wrap(void)
{
    uint8_t data[512];
    for (int i = 0; i < 512; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    fx f;
    const uint32_t s = 0xFFFFFF00u;
    fx_init(&f, s);
    /* A [s, s+240) ends at 0xFFFFFFF0, B [0xFFFFFFF0, 0x10) crosses zero, C [0x10, 0x100) */
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 0x10u, data + 272, 240, 240, false, 1),
                    CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, s, data, 240, 240, false, 2),
                    CS_SEG_NEW);
    LOG_IS(&f, "D240@2 ");
    CU_ASSERT_EQUAL(f.r.next_seq, 0xFFFFFFF0u);
    CU_ASSERT_EQUAL(
        cs_reasm_segment(&f.r, &f.lim, &f.sink, 0xFFFFFFF0u, data + 240, 32, 32, false, 3),
        CS_SEG_NEW);
    LOG_IS(&f, "D240@2 D32@3 D240@3 ");
    CU_ASSERT_EQUAL(f.r.next_seq, 0x100u);
    CU_ASSERT_EQUAL_FATAL(f.rec.bytes->len, 512);
    CU_ASSERT(memcmp(f.rec.bytes->str, data, 512) == 0);
    /* a retransmission from before the wrap is still recognised */
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, s + 16, data + 16, 8, 8, false, 4),
                    CS_SEG_RETRANS);
    fx_free(&f);

    /* an ACK across the wrap turns the hole into a gap of the right size */
    fx_init(&f, 0xFFFFFFF0u);
    CU_ASSERT_EQUAL(seg(&f, 0x10, "xy", false, 1), CS_SEG_AHEAD);
    cs_reasm_ack(&f.r, &f.sink, 0x12, 2);
    LOG_IS(&f, "G32@2 D2@1 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 32);
    CU_ASSERT_EQUAL(f.r.next_seq, 0x12u);
    fx_free(&f);
}

static void test_fin_in_order(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", true, 10), CS_SEG_NEW);
    LOG_IS(&f, "D3@10 E@10 ");
    CU_ASSERT(f.r.has_fin);
    CU_ASSERT_EQUAL(f.r.fin_seq, 1003);
    CU_ASSERT(f.r.ended);
    /* FIN retransmitted (with and without its data), data after the end, ACK of FIN+1, finish */
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", true, 20), CS_SEG_RETRANS);
    CU_ASSERT_EQUAL(seg(&f, 1003, "", true, 30), CS_SEG_EMPTY);
    CU_ASSERT_EQUAL(seg(&f, 1003, "zz", false, 35), CS_SEG_RETRANS);
    cs_reasm_ack(&f.r, &f.sink, 1004, 40);
    cs_reasm_finish(&f.r, &f.sink, 50);
    LOG_IS(&f, "D3@10 E@10 ");
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    CU_ASSERT_EQUAL(f.r.gaps, 0);
    fx_free(&f);

    /* a bare FIN in order */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1003, "", true, 20), CS_SEG_EMPTY);
    LOG_IS(&f, "D3@10 E@20 ");
    CU_ASSERT_EQUAL(f.r.fin_seq, 1003);
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    fx_free(&f);
}

static void test_fin_before_missing_data(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1003, "def", true, 10), CS_SEG_AHEAD);
    CU_ASSERT(!f.r.ended);
    LOG_IS(&f, "");
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 20), CS_SEG_NEW);
    LOG_IS(&f, "D3@20 D3@20 E@20 ");
    BYTES_ARE(&f, "abcdef");
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    cs_reasm_finish(&f.r, &f.sink, 30);
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    fx_free(&f);

    /* a bare FIN beyond a hole: the end waits for the missing bytes */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1006, "", true, 20), CS_SEG_EMPTY);
    CU_ASSERT(!f.r.ended);
    CU_ASSERT_EQUAL(seg(&f, 1003, "de", false, 30), CS_SEG_NEW);
    CU_ASSERT(!f.r.ended);
    CU_ASSERT_EQUAL(seg(&f, 1005, "f", false, 40), CS_SEG_NEW);
    LOG_IS(&f, "D3@10 D2@30 D1@40 E@40 ");
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    fx_free(&f);
}

static void test_data_after_syn(void)
{
    /* ISN 0xFFFFFFFF: the first data byte is ISN+1 = 0 */
    fx f;
    fx_init(&f, 0xFFFFFFFFu + 1u);
    CU_ASSERT_EQUAL(f.r.next_seq, 0);
    CU_ASSERT_EQUAL(seg(&f, 0, "GET /", false, 1), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 5, " HTTP/1.1", false, 2), CS_SEG_NEW);
    BYTES_ARE(&f, "GET / HTTP/1.1");
    CU_ASSERT_EQUAL(f.r.gaps, 0);
    fx_free(&f);

    /* ISN 5000: data starts at 5001; a segment claiming seq 5000 (the SYN's own number) overlaps
     * by one byte */
    fx_init(&f, 5001);
    CU_ASSERT_EQUAL(seg(&f, 5001, "hello", false, 1), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 5000, "?hello!", false, 2), CS_SEG_OVERLAP);
    BYTES_ARE(&f, "hello!");
    fx_free(&f);
}

static void test_ack_gap(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1010, "klm", false, 20), CS_SEG_AHEAD);
    cs_reasm_ack(&f.r, &f.sink, 1000, 25); /* old ACK: nothing */
    cs_reasm_ack(&f.r, &f.sink, 1013, 30);
    LOG_IS(&f, "D3@10 G7@30 D3@20 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 7);
    CU_ASSERT_EQUAL(f.r.gaps, 1);
    CU_ASSERT_EQUAL(f.r.next_seq, 1013);
    CU_ASSERT(f.r.ooo == NULL);
    /* ACK beyond everything received, nothing buffered */
    cs_reasm_ack(&f.r, &f.sink, 1020, 40);
    LOG_IS(&f, "D3@10 G7@30 D3@20 G7@40 ");
    /* implausible ACKs (behind, or more than 2^30 ahead) are ignored */
    cs_reasm_ack(&f.r, &f.sink, 1015, 50);
    cs_reasm_ack(&f.r, &f.sink, 1020u + (1u << 30) + 1, 60);
    CU_ASSERT_EQUAL(f.r.next_seq, 1020);
    CU_ASSERT_EQUAL(f.r.gap_bytes, 14);
    CU_ASSERT_EQUAL(f.r.gaps, 2);
    fx_free(&f);

    /* a stream that never started ignores ACKs */
    fx_init(&f, 0);
    memset(&f.r, 0, sizeof f.r);
    cs_reasm_ack(&f.r, &f.sink, 1000, 1);
    LOG_IS(&f, "");
    fx_free(&f);
}

static void test_ack_of_fin(void)
{
    /* FIN ahead of a 2-byte hole; the ACK of FIN+1 yields a gap of exactly the hole */
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1005, "fg", true, 20), CS_SEG_AHEAD);
    cs_reasm_ack(&f.r, &f.sink, 1008, 30);
    LOG_IS(&f, "D3@10 G2@30 D2@20 E@30 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 2);
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    fx_free(&f);

    /* FIN in order, then its ACK: no gap */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", false, 10), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 1003, "", true, 20), CS_SEG_EMPTY);
    cs_reasm_ack(&f.r, &f.sink, 1004, 30);
    LOG_IS(&f, "D3@10 E@20 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 0);
    fx_free(&f);

    /* bare FIN seen beyond a hole; ACK of FIN+1 fills only the hole, then the end */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1004, "", true, 10), CS_SEG_EMPTY);
    cs_reasm_ack(&f.r, &f.sink, 1005, 20);
    LOG_IS(&f, "G4@20 E@20 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 4);
    fx_free(&f);
}

static void fill(uint8_t *p, uint32_t n, uint8_t base)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)(base + i);
}

static void test_ooo_cap(void)
{
    uint8_t a[200], b[200];
    fill(a, 200, 0);
    fill(b, 200, 100);
    fx f;
    fx_init(&f, 1000);
    f.lim.max_ooo_bytes = 100;
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1010, a, 200, 200, false, 5),
                    CS_SEG_AHEAD);
    LOG_IS(&f, "G10@5 D200@5 ");
    CU_ASSERT_EQUAL(f.r.cap_hits, 1);
    CU_ASSERT_EQUAL(f.r.next_seq, 1210);
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
    CU_ASSERT(memcmp(f.rec.bytes->str, a, 200) == 0);
    fx_free(&f);

    /* two buffered segments: only the oldest hole is given up (ooo_bytes also counts a small
     * per-piece overhead, 32 bytes on LP64: 100+32 fits in 300, 100+32+200+32 does not) */
    fx_init(&f, 1000);
    f.lim.max_ooo_bytes = 300;
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1010, a, 100, 100, false, 1),
                    CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(f.r.cap_hits, 0);
    LOG_IS(&f, "");
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1200, b, 200, 200, false, 2),
                    CS_SEG_AHEAD);
    LOG_IS(&f, "G10@2 D100@1 ");
    CU_ASSERT_EQUAL(f.r.cap_hits, 1);
    CU_ASSERT_EQUAL(f.r.next_seq, 1110);
    CU_ASSERT(f.r.ooo != NULL);
    CU_ASSERT(f.r.ooo_bytes <= 300);
    cs_reasm_finish(&f.r, &f.sink, 9);
    LOG_IS(&f, "G10@2 D100@1 G90@9 D200@2 E@9 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 100);
    CU_ASSERT_EQUAL(f.r.delivered, 300);
    fx_free(&f);

    /* under the limit nothing is forced */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1010, a, 200, 200, false, 5),
                    CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(f.r.cap_hits, 0);
    LOG_IS(&f, "");
    fx_free(&f);
}

static void test_finish(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1005, "fg", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 1010, "kl", false, 2), CS_SEG_AHEAD);
    cs_reasm_finish(&f.r, &f.sink, 9);
    LOG_IS(&f, "G5@9 D2@1 G3@9 D2@2 E@9 ");
    CU_ASSERT_EQUAL(f.r.gap_bytes, 8);
    CU_ASSERT_EQUAL(f.r.gaps, 2);
    CU_ASSERT_EQUAL(f.r.delivered, 4);
    CU_ASSERT(f.r.ended);
    CU_ASSERT(f.r.ooo == NULL);
    cs_reasm_finish(&f.r, &f.sink, 10); /* no-op */
    LOG_IS(&f, "G5@9 D2@1 G3@9 D2@2 E@9 ");
    CU_ASSERT_EQUAL(f.rec.ends, 1);
    /* nothing after the end */
    CU_ASSERT_EQUAL(seg(&f, 1012, "zz", false, 11), CS_SEG_RETRANS);
    cs_reasm_ack(&f.r, &f.sink, 2000, 12);
    LOG_IS(&f, "G5@9 D2@1 G3@9 D2@2 E@9 ");
    fx_free(&f);

    /* FIN seen beyond a hole: finish reports the hole up to the FIN */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1005, "", true, 1), CS_SEG_EMPTY);
    cs_reasm_finish(&f.r, &f.sink, 9);
    LOG_IS(&f, "G5@9 E@9 ");
    fx_free(&f);

    /* nothing at all */
    fx_init(&f, 1000);
    cs_reasm_finish(&f.r, &f.sink, 9);
    cs_reasm_finish(&f.r, &f.sink, 10);
    LOG_IS(&f, "E@9 ");
    fx_free(&f);
}

static void test_snaplen_cut(void)
{
    const uint8_t *d = (const uint8_t *)"0123456789ABCDEFGHIJ";
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1000, d, 3, 10, false, 1), CS_SEG_NEW);
    LOG_IS(&f, "D3@1 G7@1 ");
    BYTES_ARE(&f, "012");
    CU_ASSERT_EQUAL(f.r.next_seq, 1010);
    CU_ASSERT_EQUAL(f.r.delivered, 3);
    CU_ASSERT_EQUAL(f.r.gap_bytes, 7);
    /* the rest of the stream continues normally */
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1010, d + 10, 2, 2, false, 2),
                    CS_SEG_NEW);
    LOG_IS(&f, "D3@1 G7@1 D2@2 ");
    fx_free(&f);

    /* a cut segment buffered ahead of a hole */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1010, d + 10, 2, 5, false, 1),
                    CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1000, d, 10, 10, false, 2), CS_SEG_NEW);
    LOG_IS(&f, "D10@2 D2@2 G3@2 ");
    BYTES_ARE(&f, "0123456789AB");
    CU_ASSERT_EQUAL(f.r.next_seq, 1015);
    fx_free(&f);

    /* caplen larger than wirelen is clamped */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1000, d, 5, 3, false, 1), CS_SEG_NEW);
    BYTES_ARE(&f, "012");
    CU_ASSERT_EQUAL(f.r.next_seq, 1003);
    fx_free(&f);

    /* a cut segment in order behind which a complete copy arrives later: the lost bytes stay a gap
     * (they were skipped), the bytes after it are new */
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1000, d, 3, 10, false, 1), CS_SEG_NEW);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, 1000, d, 12, 12, false, 2),
                    CS_SEG_OVERLAP);
    LOG_IS(&f, "D3@1 G7@1 D2@2 ");
    BYTES_ARE(&f, "012AB");
    fx_free(&f);
}

/* Feeds the pieces [cut[k], cut[k+1]) of data in the order `order`, starting at base. */
static void feed_pieces(fx *f, uint32_t base, const uint8_t *data, const uint32_t *cut,
                        const int *order, int n)
{
    for (int k = 0; k < n; k++) {
        int i = order[k];
        uint32_t len = cut[i + 1] - cut[i];
        cs_reasm_segment(&f->r, &f->lim, &f->sink, base + cut[i], data + cut[i], len, len,
                         false, k + 1);
    }
}

static void test_every_split(void)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const uint32_t bases[] = {1000, 0xFFFFFFFAu};
    const uint8_t *data = (const uint8_t *)"ABCDEFGHIJKL";
    const uint32_t n = 12;
    int runs = 0;
    for (size_t b = 0; b < CS_ARRAY_LEN(bases); b++)
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = i + 1; j < n; j++)
                for (int p = 0; p < 6; p++) {
                    uint32_t cut[4] = {0, i, j, n};
                    fx f;
                    fx_init(&f, bases[b]);
                    feed_pieces(&f, bases[b], data, cut, perms[p], 3);
                    /* and every piece once more, in order: all retransmissions */
                    static const int again[3] = {0, 1, 2};
                    feed_pieces(&f, bases[b], data, cut, again, 3);
                    CU_ASSERT_STRING_EQUAL(f.rec.bytes->str, "ABCDEFGHIJKL");
                    CU_ASSERT_EQUAL(f.r.gaps, 0);
                    CU_ASSERT_EQUAL(f.r.delivered, n);
                    CU_ASSERT_EQUAL(f.r.next_seq, bases[b] + n);
                    CU_ASSERT_EQUAL(f.r.retrans, 3);
                    CU_ASSERT_EQUAL(f.r.conflicts, 0);
                    CU_ASSERT(f.r.ooo == NULL);
                    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
                    fx_free(&f);
                    runs++;
                }
    CU_ASSERT_EQUAL(runs, 2 * 55 * 6);
}

/* Small deterministic generator (xorshift32) so the randomised test is the same on every run. */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Thousands of one-byte pieces in random order, none touching another, then the bytes between
 * them (some as 3-byte segments overlapping two pieces), then the first byte: the index must put
 * every piece in its place, and everything is delivered once, in order, when the hole at the
 * start is filled (so with that segment's time). */
static void test_sparse_random(void)
{
    enum { N = 6001 };
    static uint8_t data[N];
    static uint32_t order[N];
    uint32_t state = 0xC0FFEEu;
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)rnd(&state);
    fx f;
    const uint32_t base = 0xFFFFF000u; /* the stream wraps in the middle */
    fx_init(&f, base);
    f.lim.max_ooo_bytes = 1u << 30;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n = 0;
        for (uint32_t k = 2 - (uint32_t)pass; k < N; k += 2)
            order[n++] = k; /* pass 0: even offsets 2..6000, pass 1: odd offsets 1..5999 */
        for (uint32_t i = n - 1; i > 0; i--) {
            uint32_t j = rnd(&state) % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = order[i], len = pass == 1 && i % 3 == 0 && k > 1 && k + 1 < N ? 3 : 1;
            if (len == 3)
                k--; /* [k-1, k+2): overlaps the pieces on both sides with the same bytes */
            cs_reasm_segment(&f.r, &f.lim, &f.sink, base + k, data + k, len, len, false, 10 + i);
        }
        CU_ASSERT_EQUAL(f.rec.bytes->len, 0);
    }
    CU_ASSERT_EQUAL(f.r.conflicts, 0);
    CU_ASSERT_EQUAL(cs_reasm_segment(&f.r, &f.lim, &f.sink, base, data, 1, 1, false, 99999),
                    CS_SEG_NEW);
    CU_ASSERT_EQUAL_FATAL(f.rec.bytes->len, N);
    CU_ASSERT(memcmp(f.rec.bytes->str, data, N) == 0);
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
    CU_ASSERT_EQUAL(f.r.next_seq, base + N);
    CU_ASSERT_EQUAL(f.r.gaps, 0);
    /* every delivery carries the time the hole was filled */
    gchar **ev = g_strsplit(g_strstrip(f.rec.log->str), " ", -1);
    int bad = 0;
    for (int i = 0; ev[i] != NULL; i++)
        bad += !g_str_has_suffix(ev[i], "@99999");
    CU_ASSERT_EQUAL(bad, 0);
    g_strfreev(ev);
    fx_free(&f);
}

static void test_random_overlaps(void)
{
    uint32_t state = 0x12345678u;
    enum { N = 64, MAXSEG = 40 };
    uint8_t data[N];
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)rnd(&state);
    for (int trial = 0; trial < 300; trial++) {
        uint32_t a[MAXSEG], b[MAXSEG];
        int ns = 0;
        /* a partition of [0, N) guarantees coverage ... */
        uint32_t pos = 0;
        while (pos < N) {
            uint32_t len = 1 + rnd(&state) % 12;
            if (pos + len > N)
                len = N - pos;
            a[ns] = pos;
            b[ns] = pos + len;
            ns++;
            pos += len;
        }
        /* ... plus random overlapping extras */
        while (ns < MAXSEG && rnd(&state) % 4 != 0) {
            uint32_t x = rnd(&state) % N, y = rnd(&state) % N;
            if (x == y)
                continue;
            a[ns] = x < y ? x : y;
            b[ns] = x < y ? y : x;
            ns++;
        }
        /* shuffle */
        for (int i = ns - 1; i > 0; i--) {
            int j = (int)(rnd(&state) % (uint32_t)(i + 1));
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            t = b[i];
            b[i] = b[j];
            b[j] = t;
        }
        uint32_t base = trial % 2 ? 0xFFFFFFE0u : rnd(&state);
        fx f;
        fx_init(&f, base);
        bool fin_sent = false;
        for (int i = 0; i < ns; i++) {
            bool fin = b[i] == N && !fin_sent;
            fin_sent = fin_sent || fin;
            cs_reasm_segment(&f.r, &f.lim, &f.sink, base + a[i], data + a[i], b[i] - a[i],
                             b[i] - a[i], fin, i + 1);
        }
        CU_ASSERT_EQUAL(f.rec.bytes->len, N);
        CU_ASSERT(f.rec.bytes->len == N && memcmp(f.rec.bytes->str, data, N) == 0);
        CU_ASSERT_EQUAL(f.r.gaps, 0);
        CU_ASSERT_EQUAL(f.r.conflicts, 0);
        CU_ASSERT_EQUAL(f.r.next_seq, base + N);
        CU_ASSERT(f.r.ended);
        CU_ASSERT_EQUAL(f.rec.ends, 1);
        CU_ASSERT(f.r.ooo == NULL);
        cs_reasm_finish(&f.r, &f.sink, 1000);
        CU_ASSERT_EQUAL(f.rec.ends, 1);
        fx_free(&f);
    }
}

static void test_clear_and_reuse(void)
{
    fx f;
    fx_init(&f, 1000);
    CU_ASSERT_EQUAL(seg(&f, 1005, "fg", false, 1), CS_SEG_AHEAD);
    CU_ASSERT_EQUAL(seg(&f, 1000, "abc", true, 2), CS_SEG_NEW); /* FIN at 1003, before the piece */
    CU_ASSERT(f.r.ended);
    CU_ASSERT(f.r.ooo != NULL);
    cs_reasm_clear(&f.r); /* frees the buffered piece without delivering it */
    CU_ASSERT(f.r.ooo == NULL);
    CU_ASSERT_EQUAL(f.r.ooo_bytes, 0);
    LOG_IS(&f, "D3@2 E@2 ");
    /* reusable after cs_reasm_start() */
    cs_reasm_start(&f.r, 5000);
    CU_ASSERT_EQUAL(seg(&f, 5000, "xyz", false, 3), CS_SEG_NEW);
    CU_ASSERT_EQUAL(seg(&f, 5003, "", true, 4), CS_SEG_EMPTY);
    LOG_IS(&f, "D3@2 E@2 D3@3 E@4 ");
    BYTES_ARE(&f, "abcxyz");
    fx_free(&f);
}

void suite_reasm(void)
{
    static const cs_test_case cases[] = {
        {"in_order", test_in_order},
        {"out_of_order", test_out_of_order},
        {"retransmission", test_retransmission},
        {"partial_overlap", test_partial_overlap},
        {"buffered_overlap_first_wins", test_buffered_overlap_first_wins},
        {"in_order_over_buffered_conflict", test_in_order_over_buffered_conflict},
        {"sequence_wrap", test_sequence_wrap},
        {"fin_in_order", test_fin_in_order},
        {"fin_before_missing_data", test_fin_before_missing_data},
        {"data_after_syn", test_data_after_syn},
        {"ack_gap", test_ack_gap},
        {"ack_of_fin", test_ack_of_fin},
        {"ooo_cap", test_ooo_cap},
        {"finish", test_finish},
        {"snaplen_cut", test_snaplen_cut},
        {"every_split", test_every_split},
        {"random_overlaps", test_random_overlaps},
        {"sparse pieces in random order", test_sparse_random},
        {"clear_and_reuse", test_clear_and_reuse},
        {NULL, NULL},
    };
    cs_add_suite("reasm", cases);
}
