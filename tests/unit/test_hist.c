/* test_hist.c - CUnit suite for src/hist.c: bin layout, percentiles, merge, count_above.
 * Registered by test_main.c through suite_hist(). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "hist.h"
#include "suites.h"

static void test_bins_exact_below_128(void)
{
    for (uint64_t v = 0; v < 128; v++) {
        CU_ASSERT_EQUAL(cs_hist_bin(v), v);
        CU_ASSERT_EQUAL(cs_hist_bin_low((uint32_t)v), v);
        CU_ASSERT_EQUAL(cs_hist_bin_high((uint32_t)v), v);
    }
}

static void test_bins_128_to_511(void)
{
    /* 128..255: 64 bins of width 2 */
    for (uint64_t v = 128; v < 256; v++) {
        uint32_t b = cs_hist_bin(v);
        CU_ASSERT_EQUAL(b, 128 + (v - 128) / 2);
        CU_ASSERT_EQUAL(cs_hist_bin_low(b), v & ~UINT64_C(1));
        CU_ASSERT_EQUAL(cs_hist_bin_high(b), v | 1);
    }
    CU_ASSERT_EQUAL(cs_hist_bin(255), 191);
    /* 256..511: 64 bins of width 4 */
    CU_ASSERT_EQUAL(cs_hist_bin(256), 192);
    CU_ASSERT_EQUAL(cs_hist_bin(259), 192);
    CU_ASSERT_EQUAL(cs_hist_bin(260), 193);
    CU_ASSERT_EQUAL(cs_hist_bin_low(192), 256);
    CU_ASSERT_EQUAL(cs_hist_bin_high(192), 259);
    CU_ASSERT_EQUAL(cs_hist_bin(511), 255);
    CU_ASSERT_EQUAL(cs_hist_bin_low(255), 508);
    CU_ASSERT_EQUAL(cs_hist_bin_high(255), 511);
    /* 1000 = 125 * 8: e = 9, sub = 125 - 64 = 61, bin = 128 + 2*64 + 61 */
    CU_ASSERT_EQUAL(cs_hist_bin(1000), 317);
    CU_ASSERT_EQUAL(cs_hist_bin_low(317), 1000);
    CU_ASSERT_EQUAL(cs_hist_bin_high(317), 1007);
}

static void test_bins_continuous(void)
{
    uint32_t last = cs_hist_bin(UINT64_MAX);
    CU_ASSERT_EQUAL(last, 128 + 56 * 64 + 63);
    CU_ASSERT_EQUAL(cs_hist_bin_low(0), 0);
    CU_ASSERT_EQUAL(cs_hist_bin_high(last), UINT64_MAX);
    CU_ASSERT_EQUAL(cs_hist_bin_low(last), UINT64_C(127) << 57);
    int bad = 0;
    for (uint32_t b = 0; b <= last; b++) {
        uint64_t lo = cs_hist_bin_low(b), hi = cs_hist_bin_high(b);
        if (lo > hi || cs_hist_bin(lo) != b || cs_hist_bin(hi) != b)
            bad++;
        if (b < last && hi + 1 != cs_hist_bin_low(b + 1))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_relative_error(void)
{
    /* the reported value for a bin (its middle) is within 1% of every value in it */
    int bad = 0;
    for (uint64_t v = 128; v < 2000000; v += 97) {
        uint32_t b = cs_hist_bin(v);
        uint64_t lo = cs_hist_bin_low(b), hi = cs_hist_bin_high(b);
        uint64_t mid = lo + (hi - lo) / 2;
        uint64_t err = mid > v ? mid - v : v - mid;
        if ((double)err >= 0.01 * (double)v)
            bad++;
    }
    for (int e = 8; e < 64; e++) {
        uint64_t vs[3] = {UINT64_C(1) << e, (UINT64_C(1) << e) - 1, (UINT64_C(1) << e) + 12345};
        for (int i = 0; i < 3; i++) {
            /* through the percentile: {0, v, max} has its median in v's bin */
            cs_hist h;
            memset(&h, 0, sizeof h);
            cs_hist_add(&h, 0, 1);
            cs_hist_add(&h, vs[i], 1);
            cs_hist_add(&h, UINT64_MAX, 1);
            uint64_t m = cs_hist_percentile(&h, 50);
            uint64_t err = m > vs[i] ? m - vs[i] : vs[i] - m;
            if ((double)err >= 0.01 * (double)vs[i])
                bad++;
            cs_hist_clear(&h);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_percentile_small_exact(void)
{
    cs_hist h;
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50), 0); /* empty */
    for (uint64_t v = 100; v >= 1; v--) /* insertion order must not matter */
        cs_hist_add(&h, v, 1);
    CU_ASSERT_EQUAL(h.n, 100);
    CU_ASSERT_EQUAL(h.min, 1);
    CU_ASSERT_EQUAL(h.max, 100);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50), 50);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 90), 90);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 99), 99);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 100), 100);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 0), 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 0.5), 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 99.9), 100);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50.01), 51);
    /* nearest rank: ceil(q/100 * n)-th value = q for every integer q */
    int bad = 0;
    for (int q = 1; q <= 100; q++)
        if (cs_hist_percentile(&h, q) != (uint64_t)q)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 7), 7);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 14), 14);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 28), 28);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 55), 55);
    cs_hist_clear(&h);

    /* 10, 20, ..., 100: p25 is the 3rd value, p10 the 1st, p11 the 2nd */
    for (uint64_t v = 10; v <= 100; v += 10)
        cs_hist_add(&h, v, 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 25), 30);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 10), 10);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 11), 20);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 95), 100);
    cs_hist_clear(&h);

    /* 1..200 (n = 200): p7 is the 14th value */
    for (uint64_t v = 1; v <= 200; v++)
        cs_hist_add(&h, v, 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 7), 14);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50), 100);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 60), 120);
    cs_hist_clear(&h);

    /* counts: 5 three times, 7 once */
    cs_hist_add(&h, 5, 3);
    cs_hist_add(&h, 7, 1);
    cs_hist_add(&h, 9, 0); /* no-op */
    CU_ASSERT_EQUAL(h.n, 4);
    CU_ASSERT_EQUAL(h.max, 7);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 75), 5);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 76), 7);
    CU_ASSERT(h.sum == 22.0);
    cs_hist_clear(&h);
    CU_ASSERT_EQUAL(h.n, 0);
    CU_ASSERT(h.bins == NULL && h.counts == NULL && h.len == 0);
}

static void test_percentile_clamped(void)
{
    /* one value: every percentile is that value exactly, though its bin is [1000, 1007] */
    cs_hist h;
    memset(&h, 0, sizeof h);
    cs_hist_add(&h, 1000, 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 1), 1000);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50), 1000);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 100), 1000);
    /* 1000 and 1006 share the bin: the middle (1003) is reported for p50 */
    cs_hist_add(&h, 1006, 1);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 50), 1003);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 0), 1000);
    CU_ASSERT_EQUAL(cs_hist_percentile(&h, 100), 1006);
    cs_hist_clear(&h);
}

/* The same values into two histograms merged and into one directly must agree exactly. */
static void test_merge(void)
{
    cs_hist a, b, all, empty;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&all, 0, sizeof all);
    memset(&empty, 0, sizeof empty);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 3000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = (x >> (x % 60)) % 10000000;
        cs_hist_add(i % 3 == 0 ? &a : &b, v, 1 + i % 4);
        cs_hist_add(&all, v, 1 + i % 4);
    }
    cs_hist m;
    memset(&m, 0, sizeof m);
    cs_hist_merge(&m, &empty); /* empty into empty */
    CU_ASSERT_EQUAL(m.n, 0);
    cs_hist_merge(&m, &a); /* into empty: copies min/max */
    cs_hist_merge(&m, &b);
    cs_hist_merge(&m, &empty);
    CU_ASSERT_EQUAL(m.n, all.n);
    CU_ASSERT_EQUAL(m.min, all.min);
    CU_ASSERT_EQUAL(m.max, all.max);
    CU_ASSERT_EQUAL_FATAL(m.len, all.len);
    CU_ASSERT(memcmp(m.bins, all.bins, all.len * sizeof *all.bins) == 0);
    CU_ASSERT(memcmp(m.counts, all.counts, all.len * sizeof *all.counts) == 0);
    CU_ASSERT_DOUBLE_EQUAL(m.sum, all.sum, all.sum * 1e-12);
    for (int q = 0; q <= 100; q += 5)
        CU_ASSERT_EQUAL(cs_hist_percentile(&m, q), cs_hist_percentile(&all, q));
    for (uint32_t i = 1; i < m.len; i++)
        CU_ASSERT(m.bins[i - 1] < m.bins[i]);
    cs_hist_clear(&a);
    cs_hist_clear(&b);
    cs_hist_clear(&all);
    cs_hist_clear(&m);

    /* a smaller minimum and larger maximum come over from `from` */
    cs_hist_add(&a, 50, 1);
    cs_hist_add(&b, 10, 1);
    cs_hist_add(&b, 90, 2);
    cs_hist_merge(&a, &b);
    CU_ASSERT_EQUAL(a.min, 10);
    CU_ASSERT_EQUAL(a.max, 90);
    CU_ASSERT_EQUAL(a.n, 4);
    CU_ASSERT_EQUAL(cs_hist_percentile(&a, 50), 50);
    cs_hist_clear(&a);
    cs_hist_clear(&b);
}

/* Taking values back out (a merge joining the two halves of a connection): counts, n and sum by
 * hand; an extreme that leaves with the value falls back to the next bin's edge, exact only for
 * the single-value bins below 128. */
static void test_remove(void)
{
    cs_hist h;
    memset(&h, 0, sizeof h);
    cs_hist_add(&h, 5, 1);
    cs_hist_add(&h, 7, 2);
    cs_hist_add(&h, 1000, 1); /* bin [992, 1007] (width 16 above 512) */
    cs_hist_add(&h, 5000, 1);
    CU_ASSERT_TRUE(cs_hist_remove(&h, 7)); /* one of two 7s: min/max untouched */
    CU_ASSERT_EQUAL(h.n, 4);
    CU_ASSERT_EQUAL(h.len, 4);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, 5 + 7 + 1000 + 5000, 1e-9);
    CU_ASSERT_TRUE(cs_hist_remove(&h, 5)); /* the min: the next value, 7, is exact */
    CU_ASSERT_EQUAL(h.min, 7);
    CU_ASSERT_EQUAL(h.len, 3);
    CU_ASSERT_FALSE(cs_hist_remove(&h, 5000)); /* the max: known to its bin only */
    CU_ASSERT_EQUAL(h.max, cs_hist_bin_high(cs_hist_bin(1000)));
    CU_ASSERT_EQUAL(h.max, 1007);
    CU_ASSERT_FALSE(cs_hist_remove(&h, 4)); /* not there: nothing changes */
    CU_ASSERT_EQUAL(h.n, 2);
    CU_ASSERT_TRUE(cs_hist_remove(&h, 1000));
    CU_ASSERT_TRUE(cs_hist_remove(&h, 7));
    CU_ASSERT_EQUAL(h.n, 0);
    CU_ASSERT_EQUAL(h.len, 0);
    CU_ASSERT_DOUBLE_EQUAL(h.sum, 0, 1e-9);
    cs_hist_clear(&h);
}

static void test_count_above(void)
{
    cs_hist h;
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 0), 0);
    for (uint64_t v = 1; v <= 200; v++)
        cs_hist_add(&h, v, 1);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 0), 200);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 100), 100);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 127), 73);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 129), 71); /* 130 starts a bin: exact */
    /* 128 and 129 share a bin whose low edge (128) is not above 128: 129 is not counted */
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 128), 71);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 199), 1); /* bin [200,201] lies above 199 */
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 200), 0);
    cs_hist_clear(&h);

    cs_hist_add(&h, 1000, 5);
    cs_hist_add(&h, 2000000, 2);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 999), 7);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 1000), 2);
    /* 2000000 is in bin [1998848, 2015231] (width 2^14): exact at its edge, by the edge inside */
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 1998847), 2);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, 1999999), 0);
    CU_ASSERT_EQUAL(cs_hist_count_above(&h, UINT64_MAX), 0);
    cs_hist_clear(&h);
}

void suite_hist(void)
{
    static const cs_test_case cases[] = {
        {"bins_exact_below_128", test_bins_exact_below_128},
        {"bins_128_to_511", test_bins_128_to_511},
        {"bins_continuous", test_bins_continuous},
        {"relative_error", test_relative_error},
        {"percentile_small_exact", test_percentile_small_exact},
        {"percentile_clamped", test_percentile_clamped},
        {"merge", test_merge},
        {"count_above", test_count_above},
        {"remove", test_remove},
        {NULL, NULL},
    };
    cs_add_suite("hist", cases);
}
