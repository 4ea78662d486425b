/* test_exsum.c - unit tests of the per-connection exchange summary: exact medians for short
 * series, the histogram's error bound against sorted truth, halving, and the counts and idle gaps
 * of hand-written exchange sequences. */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exsum.h"
#include "suites.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank median of v[0..n) (sorts v). */
static uint64_t true_median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_u64);
    return v[(n + 1) / 2 - 1];
}

static void test_q50_exact(void)
{
    cs_q50 q = {0};
    CU_ASSERT_EQUAL(cs_q50_median(&q), 0);
    uint64_t in[CS_Q50_EXACT] = {875, 266, 73, 39, 1000000, 5, 5, 12};
    uint64_t v[CS_ARRAY_LEN(in)];
    for (size_t n = 1; n <= CS_ARRAY_LEN(in); n++) {
        cs_q50_add(&q, in[n - 1]);
        memcpy(v, in, n * sizeof v[0]);
        CU_ASSERT_EQUAL(cs_q50_median(&q), true_median(v, n));
        CU_ASSERT_EQUAL(q.width, 0);
    }
    cs_q50r r;
    cs_q50_result(&q, &r);
    CU_ASSERT_EQUAL(r.n, 8);
    CU_ASSERT_EQUAL(r.max, 1000000);
    CU_ASSERT_EQUAL(r.p50, 39); /* 5 5 12 39 73 266 875 1000000: the 4th */
    cs_q50_clear(&q);
    cs_q50_clear(&q); /* twice is fine */
}

/* Past CS_Q50_EXACT values the median is within 1/16 of the true one, for many distributions. */
static void test_q50_histogram_bound(void)
{
    GRand *rnd = g_rand_new_with_seed(21);
    for (int trial = 0; trial < 300; trial++) {
        size_t n = (size_t)g_rand_int_range(rnd, CS_Q50_EXACT + 1, 5000);
        uint64_t *v = g_new(uint64_t, n);
        cs_q50 q = {0};
        double scale = g_rand_double_range(rnd, 1, 1e7);
        for (size_t i = 0; i < n; i++) {
            double x = trial % 3 == 0   ? g_rand_double(rnd) * scale                   /* uniform */
                       : trial % 3 == 1 ? scale * exp(g_rand_double_range(rnd, -3, 3)) /* wide */
                                        : (double)g_rand_int_range(rnd, 0, 40);        /* small */
            v[i] = (uint64_t)x;
            cs_q50_add(&q, v[i]);
        }
        CU_ASSERT_NOT_EQUAL(q.width, 0);
        CU_ASSERT(q.len <= CS_Q50_BINS);
        uint64_t got = cs_q50_median(&q), want = true_median(v, n);
        double err = (double)(got > want ? got - want : want - got);
        CU_ASSERT(err <= (double)want / 16.0);
        if (err > (double)want / 16.0)
            printf("\ntrial %d n %zu: median %" G_GUINT64_FORMAT " true %" G_GUINT64_FORMAT "\n",
                   trial, n, got, want);
        CU_ASSERT_EQUAL(q.max, v[n - 1]);
        CU_ASSERT_EQUAL(q.min, v[0]);
        cs_q50_clear(&q);
        g_free(v);
    }
    g_rand_free(rnd);
}

/* Values of 2^32 us and more (over 71 minutes) go straight to the histogram; a median there is
 * reported as the exact maximum. */
static void test_q50_huge(void)
{
    cs_q50 q = {0};
    cs_q50_add(&q, UINT64_C(5000000000));
    CU_ASSERT_EQUAL(q.width, 1);
    CU_ASSERT_EQUAL(cs_q50_median(&q), UINT64_C(5000000000));
    cs_q50_add(&q, 10);
    cs_q50_add(&q, 10);
    CU_ASSERT_EQUAL(cs_q50_median(&q), 10);
    cs_q50_clear(&q);
}

/* Every bin used (values from 0 to past 2^32 us): the sparse histogram holds all 241 bins, and
 * the median is still within 1/16. */
static void test_q50_all_bins(void)
{
    cs_q50 q = {0};
    uint64_t *v = g_new(uint64_t, 4000);
    size_t n = 0;
    for (double x = 0.5; x < 9e9 && n < 4000; x *= 1.02)
        for (int k = 0; k < 2 && n < 4000; k++) {
            v[n] = (uint64_t)x;
            cs_q50_add(&q, v[n++]);
        }
    CU_ASSERT_EQUAL(q.len, CS_Q50_BINS);
    CU_ASSERT_EQUAL(q.cap, CS_Q50_BINS);
    uint64_t got = cs_q50_median(&q), want = true_median(v, n);
    CU_ASSERT((double)(got > want ? got - want : want - got) <= (double)want / 16.0);
    cs_q50_clear(&q);
    g_free(v);
}

/* 200,000 values: the counts widen to 16 and then 32 bits, the median stays. */
static void test_q50_halving(void)
{
    cs_q50 q = {0};
    for (int i = 0; i < 120000; i++)
        cs_q50_add(&q, 100);
    for (int i = 0; i < 80000; i++)
        cs_q50_add(&q, 5000);
    CU_ASSERT_EQUAL(q.width, 4);
    CU_ASSERT_EQUAL(q.len, 2);
    CU_ASSERT_EQUAL(q.n, 200000);
    uint64_t m = cs_q50_median(&q);
    CU_ASSERT(m >= 100 - 100 / 16 && m <= 100 + 100 / 16);
    for (int i = 0; i < 60000; i++)
        cs_q50_add(&q, 5000); /* now 140,000 of 260,000 are 5000 */
    m = cs_q50_median(&q);
    CU_ASSERT(m >= 5000 - 5000 / 16 && m <= 5000 + 5000 / 16);
    cs_q50_clear(&q);
}

#define US(x) ((cs_time_t)(x)*CS_NS_PER_US)

static cs_ex ex(cs_time_t rs, cs_time_t re, cs_time_t ps, cs_time_t pe, uint16_t status)
{
    return (cs_ex){.has_request = rs >= 0,
                   .has_response = ps >= 0,
                   .status = status,
                   .req_start = rs >= 0 ? US(rs) : -1,
                   .req_end = re >= 0 ? US(re) : -1,
                   .resp_start = ps >= 0 ? US(ps) : -1,
                   .resp_end = pe >= 0 ? US(pe) : -1};
}

/* Keep-alive: three exchanges, two idle gaps (the sequence of test_http.c's keep-alive case). */
static void test_exacc_keepalive(void)
{
    cs_exacc a;
    cs_exacc_init(&a);
    cs_ex xs[] = {ex(100, 100, 150, 150, 200), ex(200, 200, 260, 260, 404),
                  ex(300, 310, 400, 420, 201)};
    for (size_t i = 0; i < CS_ARRAY_LEN(xs); i++)
        cs_exacc_add(&a, &xs[i]);
    cs_exsum s;
    cs_exacc_finish(&a, &s);
    CU_ASSERT_EQUAL(s.requests, 3);
    CU_ASSERT_EQUAL(s.responses, 3);
    CU_ASSERT_EQUAL(s.paired, 3);
    CU_ASSERT_EQUAL(s.unanswered, 0);
    CU_ASSERT_EQUAL(s.status_class[2], 2);
    CU_ASSERT_EQUAL(s.status_class[4], 1);
    CU_ASSERT_EQUAL(s.idle_total, US((200 - 150) + (300 - 260)));
    CU_ASSERT_EQUAL(s.idle_max, US(50));
    CU_ASSERT_EQUAL(s.ttfb.n, 3); /* 50, 60, 90 */
    CU_ASSERT_EQUAL(s.ttfb.p50, 60);
    CU_ASSERT_EQUAL(s.ttfb.max, 90);
    CU_ASSERT_EQUAL(s.ttlb.max, 110); /* 310 -> 420 */
    CU_ASSERT_EQUAL(s.total.p50, 60);
    CU_ASSERT_EQUAL(s.total.max, 120); /* 300 -> 420 */
    CU_ASSERT_EQUAL(s.first_req, US(100));
    CU_ASSERT_EQUAL(s.last_resp, US(420));
    cs_exacc_clear(&a);
}

/* Pipelining has no idle gap; an early response ends its exchange at the request's end; a request
 * after an unanswered one has no idle gap (the wait is unknown); orphans are counted apart. */
static void test_exacc_edges(void)
{
    cs_exacc a;
    cs_exacc_init(&a);
    cs_ex xs[] = {
        ex(100, 100, 150, 160, 200),
        ex(120, 120, 170, 180, 200), /* pipelined: sent before the first response ended */
        ex(200, 300, 250, 260, 413), /* early response: the request goes on until 300 */
        ex(350, 350, -1, -1, 0),     /* gap 50 before it; no response */
        ex(500, 500, 510, 520, 200), /* after an unanswered one: no idle gap */
        ex(-1, -1, 600, 610, 500),   /* orphan response */
        ex(700, 700, 705, 706, 204), /* idle 90 after the orphan's end */
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(xs); i++)
        cs_exacc_add(&a, &xs[i]);
    cs_exsum s;
    cs_exacc_finish(&a, &s);
    CU_ASSERT_EQUAL(s.requests, 6);
    CU_ASSERT_EQUAL(s.responses, 6);
    CU_ASSERT_EQUAL(s.paired, 5);
    CU_ASSERT_EQUAL(s.unanswered, 1);
    CU_ASSERT_EQUAL(s.orphans, 1);
    CU_ASSERT_EQUAL(s.status_class[2], 4);
    CU_ASSERT_EQUAL(s.status_class[4], 1);
    CU_ASSERT_EQUAL(s.status_class[5], 1);
    CU_ASSERT_EQUAL(s.idle_total, US((200 - 180) + (350 - 300) + (700 - 610)));
    CU_ASSERT_EQUAL(s.idle_max, US(90));
    CU_ASSERT_EQUAL(s.ttfb.n, 5); /* 50 50 0 (early: clamped) 10 5 */
    CU_ASSERT_EQUAL(s.ttfb.p50, 10);
    CU_ASSERT_EQUAL(s.ttfb.max, 50);
    CU_ASSERT_EQUAL(s.last_resp, US(706));
    cs_exacc_clear(&a);

    cs_exacc_init(&a); /* nothing: every timing absent */
    cs_exacc_finish(&a, &s);
    CU_ASSERT_EQUAL(s.requests, 0);
    CU_ASSERT_EQUAL(s.ttfb.n, 0);
    CU_ASSERT_EQUAL(s.first_req, -1);
    CU_ASSERT_EQUAL(s.last_resp, -1);
    cs_exacc_clear(&a);
}

void suite_exsum(void)
{
    static const cs_test_case cases[] = {
        {"q50 exact up to 8 values", test_q50_exact},
        {"q50 histogram within 1/16", test_q50_histogram_bound},
        {"q50 values over 2^32 us", test_q50_huge},
        {"q50 every bin used", test_q50_all_bins},
        {"q50 counts widen past 255 and 65535", test_q50_halving},
        {"exacc keep-alive counts, timings, idle", test_exacc_keepalive},
        {"exacc pipelining, early response, unanswered, orphan", test_exacc_edges},
        {NULL, NULL}};
    cs_add_suite("exsum", cases);
}
