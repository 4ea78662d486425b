/* fuzz_summary.c - libFuzzer target: the summary reader of `connscope merge` (src/summary.c) on
 * arbitrary bytes, and what merge does with what it reads (src/analytics.c).
 *
 * Input: the bytes of a summary file. Seeds: summaries written by `connscope --summary-out` on
 * the committed captures (fuzz/make-seeds.py).
 *
 * For an input that parses, the target checks: writing it back (cs_summary_format) and parsing
 * that gives the same text again (a round trip is stable, so nothing read is silently changed);
 * the aggregates merge into an empty run of the same configuration and into themselves (every
 * count doubled: the totals of the merged copy are twice the original's), and into an empty run
 * with buckets 60 (or 2) times wider, as `merge --bucket` does (same totals, no more buckets);
 * the text and JSON reports of the first and the wider merge run to completion with every
 * section (unless they would zero-fill 4096..100,000 buckets: cheap_report()), and the JSON
 * report is valid JSON lines. Errors must come with a message that names the input. Everything
 * is freed (LeakSanitizer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "json_check.h"
#include "summary.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_summary: invariant failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static FILE *devnull;

/* The JSON report of a, every line checked. */
static void check_json_report(const cs_analytics *a, const cs_an_report_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK(m != NULL);
    cs_analytics_report_json(a, o, m);
    fclose(m);
    for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(buf + len - line));
        CHECK(nl != NULL); /* every line ends */
        CHECK(json_check(line, (size_t)(nl - line)));
    }
    free(buf);
}

/* Whether the reports of a are cheap enough to run on every input: a zero-filled bucket list
 * is as long as the time span (up to CS_AN_MAX_ZERO_FILL rows; 70,000 rows took 12 s under ASan
 * and made the run crawl), so spans of 4096..CS_AN_MAX_ZERO_FILL buckets are skipped; longer
 * spans list only the buckets present (fast) and still run. */
static bool cheap_report(const cs_analytics *a)
{
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    bool cheap = true;
    if (bs->len > 0) {
        const cs_an_bucket *first = bs->pdata[0], *last = bs->pdata[bs->len - 1];
        uint64_t span = (uint64_t)((last->start - first->start) / a->cfg.bucket) + 1;
        cheap = span <= 4096 || span > CS_AN_MAX_ZERO_FILL;
    }
    g_ptr_array_free(bs, TRUE);
    return cheap;
}

/* Loads the document again (streaming, as `connscope merge` does) into `into` if compatible;
 * the only failure allowed then is a counter that would pass 2^64-1. */
static bool load_into(const uint8_t *data, size_t size, cs_summary *into)
{
    GError *err = NULL;
    cs_summary_file *f = cs_summary_open_mem((const char *)data, size, "in.json", &err);
    CHECK(f != NULL); /* it parsed whole before */
    bool ok = cs_summary_compatible(into, cs_summary_file_header(f), "in.json", &err);
    if (ok && !cs_summary_load(f, into, &err)) {
        CHECK(strstr(err->message, "2^64-1") != NULL);
        ok = false;
    }
    g_clear_error(&err);
    cs_summary_file_close(f);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    GError *err = NULL;
    cs_summary *sa = cs_summary_parse((const char *)data, size, "in.json", &err);
    if (sa == NULL) {
        CHECK(err != NULL && g_str_has_prefix(err->message, "in.json"));
        g_error_free(err);
        return 0;
    }
    CHECK(err == NULL);
    const cs_analytics *a = sa->an;

    /* round trip: write, read, write again: the same text */
    GString *one = g_string_new(NULL), *two = g_string_new(NULL);
    cs_summary_format(sa, "fuzz", one);
    cs_summary *sb = cs_summary_parse(one->str, one->len, "one.json", &err);
    if (sb == NULL) {
        fprintf(stderr, "fuzz_summary: own output refused: %s\n", err->message);
        abort();
    }
    cs_summary_format(sb, "fuzz", two);
    CHECK(g_string_equal(one, two));

    /* merge into an empty run, and into a copy of itself: totals double */
    cs_summary *acc = cs_summary_new(&a->cfg);
    load_into(data, size, acc);
    /* `merge --bucket` a multiple of the width: buckets realigned (as many totals) */
    cs_summary *coarse = NULL;
    if (a->cfg.bucket <= INT64_MAX / 60) {
        cs_analytics_cfg cc = a->cfg;
        cc.bucket = a->cfg.bucket * (a->cfg.bucket % 2 ? 2 : 60);
        coarse = cs_summary_new(&cc);
        if (!load_into(data, size, coarse)) {
            cs_summary_free(coarse);
            coarse = NULL;
        }
    }
    if (coarse != NULL) {
        cs_an_bucket t1, t2;
        cs_analytics_totals(a, &t1);
        cs_analytics_totals(coarse->an, &t2);
        CHECK(t1.conns == t2.conns && t1.requests == t2.requests && t1.syn_pkts == t2.syn_pkts);
        CHECK(g_hash_table_size(coarse->an->buckets) <= g_hash_table_size(a->buckets));
        cs_an_bucket_clear(&t1);
        cs_an_bucket_clear(&t2);
    }
    {
        cs_an_bucket t1, t2;
        cs_analytics_totals(a, &t1);
        if (load_into(data, size, sb)) {
            cs_analytics_totals(sb->an, &t2);
            if (t1.conns < UINT64_MAX / 2 && t1.requests < UINT64_MAX / 2 &&
                t1.syn_pkts < UINT64_MAX / 2)
                CHECK(t2.conns == 2 * t1.conns && t2.requests == 2 * t1.requests &&
                      t2.syn_pkts == 2 * t1.syn_pkts);
            cs_an_bucket_clear(&t2);
        }
        cs_an_bucket_clear(&t1);
    }

    /* every report section */
    cs_an_report_opts o = {.top_n = 5,
                           .activity = true,
                           .latency = true,
                           .flows = true,
                           .servers = true,
                           .by_ip = size % 2 == 0,
                           .n_slow = 2,
                           .slow_us = {1000, 1000000}};
    if (cheap_report(acc->an)) {
        cs_analytics_report_text(acc->an, &o, devnull);
        check_json_report(acc->an, &o);
    }
    if (coarse != NULL && cheap_report(coarse->an)) {
        cs_analytics_report_text(coarse->an, &o, devnull);
        check_json_report(coarse->an, &o);
    }
    cs_summary_free(coarse);
    cs_summary_free(acc);
    cs_summary_free(sb);
    cs_summary_free(sa);
    g_string_free(one, TRUE);
    g_string_free(two, TRUE);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    return 0;
}
