/* test_analytics.c - CUnit suite for src/analytics.c, src/summary.c, src/metrics.c, src/plot.c:
 * top-k (exact, Space-Saving bounds, merge), buckets, flow classes, slow bounds, option values,
 * the summary format (round trip, refusals), metrics text and the SVG. Registered through
 * suite_analytics() (test_main.c). Expectations are computed by hand or by brute force here. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "metrics.h"
#include "plot.h"
#include "summary.h"
#include "suites.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A connection row from client 10.0.0.c to server 10.0.0.100:80. */
static cs_conn_row conn_row(uint8_t c, cs_time_t start, uint64_t pkts, uint64_t bytes_c2s,
                            uint64_t bytes_s2c)
{
    cs_conn_row r;
    memset(&r, 0, sizeof r);
    r.family = 4;
    r.addr[0] = cs_test_ip4(10, 0, 0, c);
    r.addr[1] = cs_test_ip4(10, 0, 0, 100);
    r.port[0] = 40000;
    r.port[1] = 80;
    r.start = start;
    r.end = start + CS_NS_PER_MS;
    r.pkts[0] = pkts / 2 + pkts % 2;
    r.pkts[1] = pkts / 2;
    r.bytes[0] = bytes_c2s;
    r.bytes[1] = bytes_s2c;
    return r;
}

/* Feeds one exchange from 10.0.0.c to 10.0.0.100:80 starting at t0 with the given ttfb/total
 * (us; total < 0: no response). */
static void exchange(cs_analytics *a, uint8_t c, cs_time_t t0, const char *method, const char *uri,
                     uint16_t status, int64_t ttfb_us, int64_t total_us)
{
    cs_http_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.method = (char *)method;
    tx.uri = (char *)uri;
    tx.has_request = method != NULL;
    tx.req_start = method != NULL ? t0 : -1;
    tx.req_end = method != NULL ? t0 : -1;
    tx.req_done = true;
    tx.resp_start = tx.resp_end = -1;
    tx.req_hdr_end = tx.info_ts = tx.prev_resp_end = -1;
    if (total_us >= 0) {
        tx.has_response = true;
        tx.status = status;
        tx.resp_start = t0 + ttfb_us * CS_NS_PER_US;
        tx.resp_end = t0 + total_us * CS_NS_PER_US;
        tx.resp_done = true;
    }
    cs_http_row row;
    memset(&row, 0, sizeof row);
    row.tx = &tx;
    row.family = 4;
    row.addr[0] = cs_test_ip4(10, 0, 0, c);
    row.addr[1] = cs_test_ip4(10, 0, 0, 100);
    row.port[0] = 40000;
    row.port[1] = 80;
    cs_analytics_http(a, &row);
    /* latency per server is counted by the stats and copied into the analytics (as the engine
     * does at the end of a run): added here through a merge, one exchange at a time */
    cs_stats st;
    cs_stats_init(&st);
    cs_stats_http(&st, &row);
    cs_analytics *part = cs_analytics_new(&a->cfg);
    cs_analytics_servers_from(part, &st);
    cs_analytics_merge(a, part);
    cs_analytics_free(part);
    cs_stats_free(&st);
}

static cs_analytics *new_an(cs_time_t bucket, uint32_t max_keys)
{
    cs_analytics_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.bucket = bucket;
    cfg.max_keys = max_keys;
    return cs_analytics_new(&cfg);
}

static uint64_t count_of(const cs_topk *t, const char *key)
{
    GPtrArray *all = cs_topk_sorted(t);
    uint64_t n = 0;
    for (guint i = 0; i < all->len; i++) {
        const cs_topk_entry *e = all->pdata[i];
        if (e->len == strlen(key) && memcmp(e->key, key, e->len) == 0)
            n = e->count;
    }
    g_ptr_array_free(all, TRUE);
    return n;
}

/* Checks the Space-Saving guarantees of t against the true counts truth[0..n) of keys "k<i>". */
static int check_bounds(const cs_topk *t, const uint64_t *truth, int n)
{
    int bad = 0;
    GPtrArray *all = cs_topk_sorted(t);
    bool *listed = g_new0(bool, n);
    for (guint i = 0; i < all->len; i++) {
        const cs_topk_entry *e = all->pdata[i];
        char buf[32];
        int k = -1;
        for (int j = 0; j < n && k < 0; j++) {
            snprintf(buf, sizeof buf, "k%d", j);
            if (e->len == strlen(buf) && memcmp(e->key, buf, e->len) == 0)
                k = j;
        }
        if (k < 0 || e->count < truth[k] || e->count - e->error > truth[k])
            bad++;
        if (k >= 0)
            listed[k] = true;
    }
    for (int j = 0; j < n; j++)
        if (!listed[j] && truth[j] > cs_topk_floor(t))
            bad++;
    g_free(listed);
    g_ptr_array_free(all, TRUE);
    return bad;
}

static void add_key(cs_topk *t, int k, uint64_t *truth)
{
    char buf[32];
    snprintf(buf, sizeof buf, "k%d", k);
    cs_topk_add(t, buf, (uint32_t)strlen(buf), 1);
    truth[k]++;
}

/* ---- top-k ----------------------------------------------------------------------------------- */

static void test_topk_exact(void)
{
    cs_topk *t = cs_topk_new(10);
    const char *keys[] = {"b", "a", "c", "a", "b", "a"};
    for (size_t i = 0; i < CS_ARRAY_LEN(keys); i++)
        cs_topk_add(t, keys[i], 1, 1);
    CU_ASSERT_FALSE(cs_topk_approx(t));
    CU_ASSERT_EQUAL(cs_topk_total(t), 6);
    CU_ASSERT_EQUAL(cs_topk_size(t), 3);
    CU_ASSERT_EQUAL(cs_topk_floor(t), 0);
    GPtrArray *s = cs_topk_sorted(t);
    CU_ASSERT_EQUAL(s->len, 3);
    /* count descending, then key ascending: a=3, b=2, c=1 */
    const cs_topk_entry *e0 = s->pdata[0], *e1 = s->pdata[1], *e2 = s->pdata[2];
    CU_ASSERT(e0->key[0] == 'a' && e0->count == 3 && e0->error == 0);
    CU_ASSERT(e1->key[0] == 'b' && e1->count == 2);
    CU_ASSERT(e2->key[0] == 'c' && e2->count == 1);
    g_ptr_array_free(s, TRUE);
    cs_topk_free(t);
}

static void test_topk_ties_sorted_by_key(void)
{
    cs_topk *t = cs_topk_new(10);
    cs_topk_add(t, "zz", 2, 5);
    cs_topk_add(t, "z", 1, 5);
    cs_topk_add(t, "a", 1, 5);
    GPtrArray *s = cs_topk_sorted(t);
    const cs_topk_entry *e0 = s->pdata[0], *e1 = s->pdata[1], *e2 = s->pdata[2];
    CU_ASSERT(e0->len == 1 && e0->key[0] == 'a');
    CU_ASSERT(e1->len == 1 && e1->key[0] == 'z');
    CU_ASSERT(e2->len == 2);
    g_ptr_array_free(s, TRUE);
    cs_topk_free(t);
}

static void test_topk_space_saving_switch(void)
{
    /* cap 2: a a b -> exact; c arrives: replaces the smallest (b=1): c = 2 with error 1 */
    cs_topk *t = cs_topk_new(2);
    cs_topk_add(t, "a", 1, 1);
    cs_topk_add(t, "a", 1, 1);
    cs_topk_add(t, "b", 1, 1);
    CU_ASSERT_FALSE(cs_topk_approx(t));
    cs_topk_add(t, "c", 1, 1);
    CU_ASSERT_TRUE(cs_topk_approx(t));
    CU_ASSERT_EQUAL(cs_topk_evictions(t), 1);
    CU_ASSERT_EQUAL(cs_topk_floor(t), 1);
    CU_ASSERT_EQUAL(cs_topk_size(t), 2);
    CU_ASSERT_EQUAL(count_of(t, "a"), 2);
    CU_ASSERT_EQUAL(count_of(t, "c"), 2);
    CU_ASSERT_EQUAL(count_of(t, "b"), 0);
    GPtrArray *s = cs_topk_sorted(t);
    for (guint i = 0; i < s->len; i++) {
        const cs_topk_entry *e = s->pdata[i];
        CU_ASSERT_EQUAL(e->error, e->key[0] == 'c' ? 1 : 0);
    }
    g_ptr_array_free(s, TRUE);
    CU_ASSERT_EQUAL(cs_topk_total(t), 4);
    cs_topk_free(t);
}

/* Skewed stream: the guarantees hold, and every key above N/K is kept */
static void test_topk_space_saving_bounds(void)
{
    enum { KEYS = 200, CAP = 16 };
    uint64_t truth[KEYS] = {0};
    cs_topk *t = cs_topk_new(CAP);
    srand(7);
    uint64_t n = 0;
    for (int i = 0; i < 20000; i++) {
        int k = (int)((double)KEYS * ((double)rand() / RAND_MAX) * ((double)rand() / RAND_MAX));
        if (k >= KEYS)
            k = KEYS - 1;
        add_key(t, k, truth);
        n++;
    }
    CU_ASSERT_TRUE(cs_topk_approx(t));
    CU_ASSERT_EQUAL(cs_topk_total(t), n);
    CU_ASSERT_EQUAL(check_bounds(t, truth, KEYS), 0);
    CU_ASSERT(cs_topk_floor(t) <= n / CAP);
    /* the sum of the counters is the number of occurrences (Space-Saving invariant) */
    GPtrArray *s = cs_topk_sorted(t);
    uint64_t sum = 0;
    for (guint i = 0; i < s->len; i++)
        sum += ((const cs_topk_entry *)s->pdata[i])->count;
    CU_ASSERT_EQUAL(sum, n);
    g_ptr_array_free(s, TRUE);
    for (int k = 0; k < KEYS; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "k%d", k);
        if (truth[k] > n / CAP)
            CU_ASSERT(count_of(t, buf) >= truth[k]);
    }
    cs_topk_free(t);
}

static void test_topk_merge_exact(void)
{
    cs_topk *a = cs_topk_new(10), *b = cs_topk_new(10);
    cs_topk_add(a, "x", 1, 3);
    cs_topk_add(a, "y", 1, 1);
    cs_topk_add(b, "y", 1, 2);
    cs_topk_add(b, "z", 1, 4);
    cs_topk_merge(a, b);
    CU_ASSERT_FALSE(cs_topk_approx(a));
    CU_ASSERT_EQUAL(count_of(a, "x"), 3);
    CU_ASSERT_EQUAL(count_of(a, "y"), 3);
    CU_ASSERT_EQUAL(count_of(a, "z"), 4);
    CU_ASSERT_EQUAL(cs_topk_total(a), 10);
    cs_topk_free(a);
    cs_topk_free(b);
}

static void test_topk_merge_trims_at_cap(void)
{
    /* union of 4 exact keys into a cap of 2: the two largest stay exact, floor = largest dropped */
    cs_topk *a = cs_topk_new(2), *b = cs_topk_new(2);
    cs_topk_add(a, "p", 1, 9);
    cs_topk_add(a, "q", 1, 2);
    cs_topk_add(b, "r", 1, 5);
    cs_topk_add(b, "s", 1, 3);
    cs_topk_merge(a, b);
    CU_ASSERT_TRUE(cs_topk_approx(a));
    CU_ASSERT_EQUAL(cs_topk_size(a), 2);
    CU_ASSERT_EQUAL(count_of(a, "p"), 9);
    CU_ASSERT_EQUAL(count_of(a, "r"), 5);
    CU_ASSERT_EQUAL(cs_topk_floor(a), 3);
    CU_ASSERT_EQUAL(cs_topk_evictions(a), 2);
    cs_topk_free(a);
    cs_topk_free(b);
}

/* Random parts, each approximate, merged in sequence: the guarantees hold for the union. */
static void test_topk_merge_approx_bounds(void)
{
    enum { KEYS = 120, CAP = 10, PARTS = 5 };
    uint64_t truth[KEYS] = {0}, part_truth[KEYS];
    cs_topk *all = cs_topk_new(CAP);
    srand(11);
    for (int p = 0; p < PARTS; p++) {
        cs_topk *t = cs_topk_new(CAP);
        memset(part_truth, 0, sizeof part_truth);
        for (int i = 0; i < 3000; i++) {
            int k = (int)((double)KEYS * ((double)rand() / RAND_MAX) * ((double)rand() / RAND_MAX));
            if (k >= KEYS)
                k = KEYS - 1;
            /* each part has its own favourite */
            if (i % 7 == 0)
                k = p * 20;
            add_key(t, k, part_truth);
            truth[k]++;
        }
        CU_ASSERT_EQUAL(check_bounds(t, part_truth, KEYS), 0);
        cs_topk_merge(all, t);
        cs_topk_free(t);
        /* adding after a merge keeps the guarantees too */
        add_key(all, KEYS - 1, truth);
    }
    CU_ASSERT_TRUE(cs_topk_approx(all));
    CU_ASSERT(cs_topk_size(all) <= CAP);
    CU_ASSERT_EQUAL(check_bounds(all, truth, KEYS), 0);
    CU_ASSERT_EQUAL(cs_topk_total(all), PARTS * 3000 + PARTS);
    cs_topk_free(all);
}

static void test_topk_load_roundtrip(void)
{
    cs_topk *t = cs_topk_new(100);
    cs_topk_load(t, "k", 1, 7, 2);
    cs_topk_load(t, "k", 1, 1, 0); /* sums onto the same key */
    cs_topk_load_bounds(t, true, 3, 8, 4);
    CU_ASSERT_TRUE(cs_topk_approx(t));
    CU_ASSERT_EQUAL(cs_topk_floor(t), 3);
    CU_ASSERT_EQUAL(cs_topk_evictions(t), 4);
    CU_ASSERT_EQUAL(count_of(t, "k"), 8);
    /* a new key after loading an approximate table starts at floor + 1 with error floor */
    cs_topk_add(t, "n", 1, 1);
    CU_ASSERT_EQUAL(count_of(t, "n"), 4);
    cs_topk_free(t);
}

/* ---- aggregates ------------------------------------------------------------------------------ */

static void test_key_encoding(void)
{
    uint8_t buf[64], fam;
    cs_addr a = cs_test_ip4(192, 0, 2, 7), b;
    char what[32];
    uint32_t n = cs_an_key_encode(buf, 4, &a, "GET /x");
    CU_ASSERT_EQUAL(n, 17 + 6);
    CU_ASSERT_TRUE(cs_an_key_decode(buf, n, &fam, &b, what, sizeof what));
    CU_ASSERT_EQUAL(fam, 4);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);
    CU_ASSERT_STRING_EQUAL(what, "GET /x");
    n = cs_an_key_encode(buf, 4, &a, NULL);
    CU_ASSERT_EQUAL(n, 17);
    CU_ASSERT_TRUE(cs_an_key_decode(buf, n, &fam, &b, what, sizeof what));
    CU_ASSERT_STRING_EQUAL(what, "");
    CU_ASSERT_FALSE(cs_an_key_decode(buf, 16, &fam, &b, what, sizeof what));
    buf[0] = 5;
    CU_ASSERT_FALSE(cs_an_key_decode(buf, 17, &fam, &b, what, sizeof what));
}

static void test_flow_classes(void)
{
    static const struct {
        uint64_t v;
        int cls;
    } pk[] = {{0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 2}, {10, 2}, {11, 3}, {100, 3}, {101, 4},
              {1000, 4}, {1001, 5}, {UINT64_MAX, 5}};
    for (size_t i = 0; i < CS_ARRAY_LEN(pk); i++)
        CU_ASSERT_EQUAL(cs_an_pkt_class(pk[i].v), pk[i].cls);
    static const struct {
        uint64_t v;
        int cls;
    } by[] = {{0, 0},       {1, 1},       {100, 1},      {101, 2},      {1000, 2},
              {1001, 3},    {10000, 3},   {10001, 4},    {100000, 4},   {100001, 5},
              {1000000, 5}, {1000001, 6}, {10000000, 6}, {10000001, 7}, {UINT64_MAX, 7}};
    for (size_t i = 0; i < CS_ARRAY_LEN(by); i++)
        CU_ASSERT_EQUAL(cs_an_byte_class(by[i].v), by[i].cls);
    CU_ASSERT_STRING_EQUAL(cs_an_pkt_label(1), "2-3");
    CU_ASSERT_STRING_EQUAL(cs_an_byte_label(7), ">10000000");
}

static void test_buckets_and_conns(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_time_t t0 = 1700000000 * CS_NS_PER_S; /* 1700000000 = 28333333 min + 20 s */
    cs_conn_row r1 = conn_row(1, t0, 1, 0, 0);                          /* bucket 1699999980 */
    cs_conn_row r2 = conn_row(1, t0 + 39 * CS_NS_PER_S, 3, 100, 101);  /* same bucket (59 s) */
    cs_conn_row r3 = conn_row(2, t0 + 40 * CS_NS_PER_S, 1001, 5000000, 6000000); /* next */
    cs_analytics_conn(a, &r1);
    cs_analytics_conn(a, &r2);
    cs_analytics_conn(a, &r3);
    cs_analytics_syn(a, t0 + 40 * CS_NS_PER_S);
    cs_analytics_syn(a, t0 + 100 * CS_NS_PER_S - 1);
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    CU_ASSERT_EQUAL_FATAL(bs->len, 2);
    const cs_an_bucket *b0 = bs->pdata[0], *b1 = bs->pdata[1];
    CU_ASSERT_EQUAL(b0->start, INT64_C(1699999980) * CS_NS_PER_S);
    CU_ASSERT_EQUAL(b0->conns, 2);
    CU_ASSERT_EQUAL(b0->bytes_c2s, 100);
    CU_ASSERT_EQUAL(b0->bytes_s2c, 101);
    CU_ASSERT_EQUAL(b0->syn_pkts, 0);
    CU_ASSERT_EQUAL(b1->start, INT64_C(1700000040) * CS_NS_PER_S);
    CU_ASSERT_EQUAL(b1->conns, 1);
    CU_ASSERT_EQUAL(b1->syn_pkts, 2);
    g_ptr_array_free(bs, TRUE);
    CU_ASSERT_EQUAL(a->flow_pkts[0], 1);
    CU_ASSERT_EQUAL(a->flow_pkts[1], 1);
    CU_ASSERT_EQUAL(a->flow_pkts[5], 1);
    CU_ASSERT_EQUAL(a->flow_bytes[0], 1);
    CU_ASSERT_EQUAL(a->flow_bytes[2], 1); /* 201 bytes */
    CU_ASSERT_EQUAL(a->flow_bytes[7], 1); /* 11 MB */
    CU_ASSERT_EQUAL(cs_topk_total(a->top[CS_TOP_CLIENT_CONNS]), 3);
    CU_ASSERT_EQUAL(a->first_ts, t0);
    CU_ASSERT_EQUAL(a->last_ts, t0 + 100 * CS_NS_PER_S - 1);
    cs_an_bucket tot;
    cs_analytics_totals(a, &tot);
    CU_ASSERT_EQUAL(tot.conns, 3);
    CU_ASSERT_EQUAL(tot.syn_pkts, 2);
    cs_an_bucket_clear(&tot);
    cs_analytics_free(a);
}

static void count_cb(const cs_an_bucket *b, void *ctx)
{
    GArray *starts = ctx;
    g_array_append_val(starts, b->start);
}

static void test_zero_buckets_listed(void)
{
    cs_analytics *a = new_an(CS_NS_PER_S, 100);
    cs_analytics_syn(a, 10 * CS_NS_PER_S);
    cs_analytics_syn(a, 13 * CS_NS_PER_S + 5);
    GArray *starts = g_array_new(FALSE, FALSE, sizeof(cs_time_t));
    CU_ASSERT_TRUE(cs_analytics_each_bucket(a, 100, count_cb, starts));
    CU_ASSERT_EQUAL(starts->len, 4); /* 10, 11 (empty), 12 (empty), 13 */
    g_array_set_size(starts, 0);
    CU_ASSERT_FALSE(cs_analytics_each_bucket(a, 3, count_cb, starts));
    CU_ASSERT_EQUAL(starts->len, 2); /* too many: only those with events */
    g_array_free(starts, TRUE);
    cs_analytics_free(a);
}

static void test_negative_times_align_down(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_analytics_syn(a, -1);
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    CU_ASSERT_EQUAL(((const cs_an_bucket *)bs->pdata[0])->start, -60 * CS_NS_PER_S);
    g_ptr_array_free(bs, TRUE);
    cs_analytics_free(a);
}

static void test_http_aggregates(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_time_t t0 = 1700000040 * CS_NS_PER_S;
    exchange(a, 1, t0, "GET", "/a?x=1", 200, 100, 300);
    exchange(a, 1, t0 + CS_NS_PER_S, "GET", "/a#frag", 404, 2000, 2500);
    exchange(a, 2, t0 + 2 * CS_NS_PER_S, "POST", "/b", 0, 0, -1); /* unanswered */
    exchange(a, 3, t0 + 61 * CS_NS_PER_S, NULL, NULL, 503, 0, 0);  /* response only */
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    CU_ASSERT_EQUAL_FATAL(bs->len, 2);
    const cs_an_bucket *b0 = bs->pdata[0], *b1 = bs->pdata[1];
    CU_ASSERT_EQUAL(b0->requests, 3);
    CU_ASSERT_EQUAL(b0->status_class[2], 1);
    CU_ASSERT_EQUAL(b0->status_class[4], 1);
    CU_ASSERT_EQUAL(b0->unanswered, 1);
    CU_ASSERT_EQUAL(b0->ttfb_us.n, 2);
    CU_ASSERT_EQUAL(b0->total_us.max, 2500);
    CU_ASSERT_EQUAL(b1->requests, 0);
    CU_ASSERT_EQUAL(b1->orphans, 1);
    CU_ASSERT_EQUAL(b1->status_class[5], 1);
    g_ptr_array_free(bs, TRUE);
    /* per (client, method + path): the query and fragment are not part of the path */
    uint8_t key[64];
    cs_addr c1 = cs_test_ip4(10, 0, 0, 1);
    uint32_t n = cs_an_key_encode(key, 4, &c1, "GET /a");
    GPtrArray *s = cs_topk_sorted(a->top[CS_TOP_CLIENT_REQUEST]);
    const cs_topk_entry *e = s->pdata[0];
    CU_ASSERT(e->len == n && memcmp(e->key, key, n) == 0 && e->count == 2);
    g_ptr_array_free(s, TRUE);
    CU_ASSERT_EQUAL(cs_topk_total(a->top[CS_TOP_CLIENT_REQUESTS]), 3);
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    CU_ASSERT_EQUAL_FATAL(ss->len, 1);
    const cs_an_server *sv = ss->pdata[0];
    CU_ASSERT_EQUAL(sv->port, 80);
    CU_ASSERT_EQUAL(sv->ttfb_us.n, 2);
    CU_ASSERT_EQUAL(sv->ttfb_us.min, 100);
    CU_ASSERT_EQUAL(sv->ttfb_us.max, 2000);
    g_ptr_array_free(ss, TRUE);
    cs_analytics_free(a);
}

static void test_merge_rebuckets(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100), *b = new_an(300 * CS_NS_PER_S, 100);
    for (int m = 0; m < 10; m++)
        cs_analytics_syn(a, (cs_time_t)m * 60 * CS_NS_PER_S);
    exchange(a, 1, 0, "GET", "/", 200, 10, 20);
    exchange(a, 1, 400 * CS_NS_PER_S, "GET", "/", 200, 30, 40);
    cs_analytics_merge(b, a);
    GPtrArray *bs = cs_analytics_buckets_sorted(b);
    CU_ASSERT_EQUAL_FATAL(bs->len, 2);
    const cs_an_bucket *b0 = bs->pdata[0], *b1 = bs->pdata[1];
    CU_ASSERT_EQUAL(b0->syn_pkts, 5);
    CU_ASSERT_EQUAL(b1->syn_pkts, 5);
    CU_ASSERT_EQUAL(b0->ttfb_us.n, 1);
    CU_ASSERT_EQUAL(b1->ttfb_us.max, 30);
    g_ptr_array_free(bs, TRUE);
    CU_ASSERT_EQUAL(cs_topk_total(b->top[CS_TOP_CLIENT_REQUESTS]), 2);
    cs_analytics_free(a);
    cs_analytics_free(b);
}

static void test_slow_bounds(void)
{
    cs_hist h;
    memset(&h, 0, sizeof h);
    uint64_t lo, hi;
    /* exact region */
    cs_hist_add(&h, 100, 1);
    cs_hist_add(&h, 101, 1);
    cs_an_slow_bounds(&h, 100, &lo, &hi);
    CU_ASSERT(lo == 1 && hi == 1);
    cs_hist_clear(&h);
    /* 1 s = 1000000 us lies in the bin [999424, 1007615] (width 8192): values on both sides */
    uint32_t bin = cs_hist_bin(1000000);
    CU_ASSERT_EQUAL(cs_hist_bin_low(bin), 999424);
    CU_ASSERT_EQUAL(cs_hist_bin_high(bin), 1007615);
    cs_hist_add(&h, 999500, 1);  /* below: same bin */
    cs_hist_add(&h, 1000500, 1); /* above: same bin */
    cs_hist_add(&h, 2000000, 1); /* above */
    cs_hist_add(&h, 10, 1);      /* below */
    cs_an_slow_bounds(&h, 1000000, &lo, &hi);
    CU_ASSERT_EQUAL(lo, 1);
    CU_ASSERT_EQUAL(hi, 3);
    /* the exact max narrows: nothing above the max */
    cs_an_slow_bounds(&h, 2000000, &lo, &hi);
    CU_ASSERT(lo == 0 && hi == 0);
    cs_hist_clear(&h);
    /* exact min: everything above */
    cs_hist_add(&h, 1000500, 2);
    cs_an_slow_bounds(&h, 1000000, &lo, &hi);
    CU_ASSERT(lo == 2 && hi == 2);
    cs_hist_clear(&h);
}

/* ---- option values --------------------------------------------------------------------------- */

/* ---- summary file ---------------------------------------------------------------------------- */

static cs_analytics *sample(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_time_t t0 = 1700000040 * CS_NS_PER_S;
    cs_conn_row r = conn_row(1, t0, 12, 300, 4000);
    cs_analytics_conn(a, &r);
    exchange(a, 1, t0, "GET", "/caf\xc3\xa9?q", 200, 150, 900);
    exchange(a, 1, t0, "GET", "/bad\xff\x01", 500, 70000, 1500000);
    exchange(a, 2, t0 + 5 * CS_NS_PER_S, "PUT", "/\"quote\"\\", 201, 3, 5);
    cs_analytics_syn(a, t0);
    cs_analytics_add_input(a, "a.pcap");
    return a;
}

static void test_summary_roundtrip(void)
{
    cs_analytics *a = sample();
    cs_summary sa = {.an = a};
    GString *s1 = g_string_new(NULL), *s2 = g_string_new(NULL);
    cs_summary_format(&sa, "test", s1);
    GError *err = NULL;
    cs_summary *sb = cs_summary_parse(s1->str, s1->len, "s1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
    cs_analytics *b = sb->an;
    cs_summary_format(sb, "test", s2);
    CU_ASSERT_STRING_EQUAL(s1->str, s2->str);
    /* invalid UTF-8 in a path is kept byte for byte (written as hex) */
    CU_ASSERT_PTR_NOT_NULL(strstr(s1->str, "{\"hex\":"));
    CU_ASSERT_EQUAL(count_of(b->top[CS_TOP_CLIENT_REQUEST], ""), 0);
    GPtrArray *x = cs_topk_sorted(a->top[CS_TOP_CLIENT_REQUEST]),
              *y = cs_topk_sorted(b->top[CS_TOP_CLIENT_REQUEST]);
    CU_ASSERT_EQUAL_FATAL(x->len, y->len);
    for (guint i = 0; i < x->len; i++) {
        const cs_topk_entry *p = x->pdata[i], *q = y->pdata[i];
        CU_ASSERT(p->len == q->len && memcmp(p->key, q->key, p->len) == 0 && p->count == q->count);
    }
    g_ptr_array_free(x, TRUE);
    g_ptr_array_free(y, TRUE);
    CU_ASSERT_EQUAL(b->cfg.bucket, 60 * CS_NS_PER_S);
    CU_ASSERT_EQUAL(b->cfg.max_keys, 100);
    CU_ASSERT_EQUAL(b->first_ts, a->first_ts);
    CU_ASSERT_STRING_EQUAL(b->inputs->pdata[0], "a.pcap");
    cs_summary_free(sb);
    g_string_free(s1, TRUE);
    g_string_free(s2, TRUE);
    cs_analytics_free(a);
}

static void test_summary_empty(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_summary sa = {.an = a};
    GString *s = g_string_new(NULL);
    cs_summary_format(&sa, "test", s);
    GError *err = NULL;
    cs_summary *b = cs_summary_parse(s->str, s->len, "empty", &err);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (b != NULL)
        CU_ASSERT_TRUE(b->an->first_ts > b->an->last_ts);
    cs_summary_free(b);
    g_string_free(s, TRUE);
    cs_analytics_free(a);
}

/* Parses text; expects a failure with `code` and `needle` in the message. */
static void expect_error(const char *text, int code, const char *needle)
{
    GError *err = NULL;
    cs_summary *a = cs_summary_parse(text, strlen(text), "x.json", &err);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_EQUAL(err->code, code);
    if (strstr(err->message, needle) == NULL)
        fprintf(stderr, "\nmessage '%s' lacks '%s'\n", err->message, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, needle));
    CU_ASSERT(g_str_has_prefix(err->message, "x.json: "));
    g_error_free(err);
    cs_summary_free(a);
}

static void test_summary_refusals(void)
{
    cs_analytics *a = sample();
    cs_summary sa = {.an = a};
    GString *s = g_string_new(NULL);
    cs_summary_format(&sa, "test", s);
    cs_analytics_free(a);

    expect_error("", CS_SUMMARY_ERROR_SYNTAX, "not valid JSON");
    expect_error("{\"a\":1,}", CS_SUMMARY_ERROR_SYNTAX, "not valid JSON");
    expect_error("[1] 2", CS_SUMMARY_ERROR_SYNTAX, "text after");
    expect_error("{\"s\":\"\\ud800x\"}", CS_SUMMARY_ERROR_SYNTAX, "lone surrogate");
    expect_error("{\"s\":\"\\udc00\"}", CS_SUMMARY_ERROR_SYNTAX, "lone surrogate");
    expect_error("{}", CS_SUMMARY_ERROR_FORMAT, "not a connscope summary");
    expect_error("{\"format\":\"connscope-summary\"}", CS_SUMMARY_ERROR_VERSION,
                 "version (missing)");

    gchar *t = g_strdup(s->str);
    char *v = strstr(t, "\"version\":2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    v[10] = '7';
    expect_error(t, CS_SUMMARY_ERROR_VERSION, "version 7; this connscope reads versions 1 to 2");
    g_free(t);

    t = g_strdup(s->str);
    v = strstr(t, "sub64");
    v[3] = '3';
    v[4] = '2';
    expect_error(t, CS_SUMMARY_ERROR_LAYOUT, "layout");
    g_free(t);

    /* a bin edge that is not one of this layout's, a count that does not add up */
    gchar **parts = g_strsplit(s->str, "[150,1]", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parts[1]);
    t = g_strconcat(parts[0], "[151,1]", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "not a bin");
    g_free(t);
    t = g_strconcat(parts[0], "[150,2]", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "sum of the bin counts");
    g_free(t);
    g_strfreev(parts);

    parts = g_strsplit(s->str, "\"conns\":1,", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parts[1]);
    t = g_strconcat(parts[0], "\"conns\":-1,", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "conns: expected a non-negative integer");
    g_free(t);
    t = g_strconcat(parts[0], "\"conns\":1.5,", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "conns");
    g_free(t);
    t = g_strconcat(parts[0], "\"conns\":18446744073709551616,", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "conns");
    g_free(t);
    g_strfreev(parts);

    parts = g_strsplit(s->str, "\"bucket_ns\":60000000000", 2);
    t = g_strconcat(parts[0], "\"bucket_ns\":0", parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "bucket_ns");
    g_free(t);
    g_strfreev(parts);

    /* a 2^63 us bin edge is a valid bin, but no capture spans it (and printing it as
     * nanoseconds overflowed): refused */
    parts = g_strsplit(s->str, "\"max\":70000,\"sum\":70153,\"bins\":[[3,1],[150,1],[69632,1]]", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parts[1]);
    t = g_strconcat(parts[0],
                    "\"max\":9223372036854775808,\"sum\":70153,"
                    "\"bins\":[[3,1],[150,1],[9223372036854775808,1]]",
                    parts[1], NULL);
    expect_error(t, CS_SUMMARY_ERROR_FORMAT, "longer than any time span");
    g_free(t);
    g_strfreev(parts);

    /* counters whose sums pass 2^64-1: in one bucket named twice, and over the buckets */
    parts = g_strsplit(s->str, "\"conns\":1,", 2);
    t = g_strconcat(parts[0], "\"conns\":18446744073709551615,", parts[1], NULL);
    cs_summary *big = cs_summary_parse(t, strlen(t), "big", NULL);
    CU_ASSERT_PTR_NOT_NULL(big); /* 2^64-1 itself is fine */
    cs_summary_free(big);
    gchar **b = g_strsplit(t, "\"buckets\":[\n", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b[1]);
    const char *end = strstr(b[1], "}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    gchar *first = g_strndup(b[1], (gsize)(end + 1 - b[1]));
    gchar *twice = g_strconcat(b[0], "\"buckets\":[\n", first, ",\n", b[1], NULL);
    expect_error(twice, CS_SUMMARY_ERROR_FORMAT, "counts add up past 2^64-1");
    g_free(twice);
    gchar **sp = g_strsplit(first, "\"start_ns\":1700000040", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp[1]);
    gchar *shifted = g_strconcat(sp[0], "\"start_ns\":1700000100", sp[1], NULL); /* next one */
    g_strfreev(sp);
    twice = g_strconcat(b[0], "\"buckets\":[\n", shifted, ",\n", b[1], NULL);
    expect_error(twice, CS_SUMMARY_ERROR_FORMAT, "conns: counts add up past 2^64-1");
    g_free(twice);
    g_free(shifted);
    g_free(first);
    g_strfreev(b);
    g_free(t);
    g_strfreev(parts);
    g_string_free(s, TRUE);
}

/* Version 2's server_conns: a round trip keeps them; a version 1 file (without them) is read and
 * marks them missing, which a merge keeps and a written summary says with null; a version 2 file
 * without the member is refused. */
static void test_summary_server_conns(void)
{
    cs_analytics *a = sample();
    cs_addr lo = {{127, 0, 0, 1}};
    cs_server_conns *c80 = &cs_analytics_conn_server(a, 4, &lo, 80)->c;
    cs_server_conns *c443 = &cs_analytics_conn_server(a, 4, &lo, 443)->c;
    c80->conns = 3;
    c80->established = 2;
    c80->refused = 1;
    cs_hist_add(&c80->duration_us, 1500, 3);
    c443->conns = 1;
    c443->established = 1;
    cs_hist_add(&c443->rtt_us, 20, 1);
    GString *s1 = g_string_new(NULL), *s2 = g_string_new(NULL);
    cs_summary sa = {.an = a};
    cs_summary_format(&sa, "test", s1);
    CU_ASSERT_PTR_NOT_NULL(strstr(s1->str,
                                  "\"server_conns\":[\n  {\"addr\":\"127.0.0.1\",\"port\":80,"
                                  "\"conns\":3,\"established\":2,\"refused\":1,"));
    GError *err = NULL;
    cs_summary *sb = cs_summary_parse(s1->str, s1->len, "s1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
    cs_analytics *b = sb->an;
    CU_ASSERT_FALSE(b->conn_servers_missing);
    cs_summary_format(sb, "test", s2);
    CU_ASSERT_STRING_EQUAL(s1->str, s2->str);
    GPtrArray *cs = cs_analytics_conn_servers_sorted(b);
    cs_server_layout l = CS_SERVER_LAYOUT(cs_an_conn_server);
    GPtrArray *ips = cs_server_ips(cs, &l);
    CU_ASSERT_EQUAL_FATAL(ips->len, 1);
    const cs_server_ip *ip = ips->pdata[0];
    CU_ASSERT_EQUAL(ip->ports, 2);
    CU_ASSERT_EQUAL(ip->c.conns, 4);
    CU_ASSERT_EQUAL(ip->c.established, 3);
    CU_ASSERT_EQUAL(ip->c.duration_us.n, 3);
    CU_ASSERT_EQUAL(ip->c.rtt_us.max, 20);
    g_ptr_array_free(ips, TRUE);
    g_ptr_array_free(cs, TRUE);

    /* version 1: the same text without server_conns */
    gchar *v1 = g_strdup(s1->str);
    char *at = strstr(v1, "\"version\":2");
    at[10] = '1';
    char *from = strstr(v1, ",\n\"server_conns\":"), *to = strstr(v1, ",\n\"top\":");
    CU_ASSERT_FATAL(from != NULL && to != NULL && from < to);
    memmove(from, to, strlen(to) + 1);
    cs_summary *old = cs_summary_parse(v1, strlen(v1), "v1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    CU_ASSERT_TRUE(old->an->conn_servers_missing);
    /* a streamed merge of the version 1 file into the version 2 one */
    cs_summary_file *f1 = cs_summary_open_mem(v1, strlen(v1), "v1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_TRUE(cs_summary_load(f1, sb, &err));
    cs_summary_file_close(f1);
    CU_ASSERT_TRUE(b->conn_servers_missing);
    g_string_truncate(s2, 0);
    cs_summary_format(sb, "test", s2);
    CU_ASSERT_PTR_NOT_NULL(strstr(s2->str, "\"server_conns\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s2->str, "\"version\":2"));
    /* ... and version 2 without the member is refused */
    at = strstr(v1, "\"version\":1");
    at[10] = '2';
    expect_error(v1, CS_SUMMARY_ERROR_FORMAT, "server_conns");
    g_free(v1);
    cs_summary_free(old);
    cs_summary_free(sb);
    cs_analytics_free(a);
    g_string_free(s1, TRUE);
    g_string_free(s2, TRUE);
}

/* Loads the summary text of `part` into a summary holding `into` (as connscope merge does). */
static bool merge_text(cs_analytics *into, const cs_analytics *part, GError **err)
{
    GString *t = g_string_new(NULL);
    cs_summary sp = {.an = (cs_analytics *)part}, si = {.an = into, .loads = 1};
    cs_summary_format(&sp, "test", t);
    cs_summary_file *f = cs_summary_open_mem(t->str, t->len, "part", err);
    bool ok = f != NULL && cs_summary_compatible(&si, cs_summary_file_header(f), "part", err) &&
              cs_summary_load(f, &si, err);
    cs_summary_file_close(f);
    g_string_free(t, TRUE);
    return ok;
}

static void test_summary_compatible(void)
{
    cs_summary *m = cs_summary_new(&(cs_analytics_cfg){.bucket = 300 * CS_NS_PER_S, .max_keys = 100});
    cs_summary_header p1 = {.bucket = 60 * CS_NS_PER_S}, p7 = {.bucket = 7 * 60 * CS_NS_PER_S};
    GError *err = NULL;
    CU_ASSERT_TRUE(cs_summary_compatible(m, &p1, "p1", &err));
    CU_ASSERT_FALSE(cs_summary_compatible(m, &p7, "p7", &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    CU_ASSERT_EQUAL(err->code, CS_SUMMARY_ERROR_MISMATCH);
    g_clear_error(&err);
    cs_host_filter_parse(&p1.host, "10.0.0.1");
    CU_ASSERT_FALSE(cs_summary_compatible(m, &p1, "p1", &err));
    CU_ASSERT_PTR_NOT_NULL(err != NULL ? strstr(err->message, "different --host") : NULL);
    g_clear_error(&err);
    cs_summary_free(m);

    /* a merge whose counters would pass 2^64-1 is refused */
    cs_analytics *x = sample(), *y = sample();
    cs_analytics_bucket(x, 1700000040 * CS_NS_PER_S)->bytes_s2c = UINT64_MAX - 10;
    cs_analytics_bucket(y, 1700000040 * CS_NS_PER_S)->bytes_s2c = 10; /* 2^64-1: fits */
    CU_ASSERT_TRUE(merge_text(x, y, &err));
    CU_ASSERT_PTR_NULL(err);
    cs_analytics_bucket(y, 1700000040 * CS_NS_PER_S)->bytes_s2c = 11;
    CU_ASSERT_FALSE(merge_text(x, y, &err));
    CU_ASSERT_PTR_NOT_NULL(err != NULL ? strstr(err->message, "bytes_s2c") : NULL);
    g_clear_error(&err);
    cs_analytics_free(x);
    cs_analytics_free(y);
}

/* ---- metrics and plot ------------------------------------------------------------------------ */

static void test_metrics_graphite(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_analytics_syn(a, 60 * CS_NS_PER_S);
    cs_analytics_syn(a, 180 * CS_NS_PER_S);
    exchange(a, 1, 180 * CS_NS_PER_S, "GET", "/", 200, 40, 50);
    GString *g = g_string_new(NULL);
    cs_metrics_graphite(a, g);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->str, "connscope.syn_pkts 1 60\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g->str, "connscope.syn_pkts 0 120\n")); /* empty bucket: zeros */
    CU_ASSERT_PTR_NOT_NULL(strstr(g->str, "connscope.syn_pkts 1 180\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g->str, "connscope.http.status.2xx 1 180\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g->str, "connscope.http.ttfb_us.p50 40 180\n"));
    CU_ASSERT_PTR_NULL(strstr(g->str, "ttfb_us.p50 0 120")); /* no percentile without exchanges */
    /* every line is "path value timestamp" */
    gchar **lines = g_strsplit(g->str, "\n", -1);
    int bad = 0;
    for (int i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        gchar **f = g_strsplit(lines[i], " ", -1);
        if (g_strv_length(f) != 3)
            bad++;
        g_strfreev(f);
    }
    CU_ASSERT_EQUAL(bad, 0);
    g_strfreev(lines);
    g_string_free(g, TRUE);
    cs_analytics_free(a);
}

static void test_metrics_prometheus(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    cs_host_filter_parse(&a->cfg.host, "10.0.0.100");
    exchange(a, 1, 1700000040 * CS_NS_PER_S, "GET", "/", 404, 1500, 2500);
    GString *p = g_string_new(NULL);
    cs_metrics_prometheus(a, p);
    /* OpenMetrics: cumulative, 0 at the bucket's start (22:14:00Z), the count at its end */
    CU_ASSERT_PTR_NOT_NULL(strstr(p->str, "# TYPE connscope_http_requests counter\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(p->str, "connscope_http_requests_total{host=\"10.0.0.100\"} 0 1700000040.000\n"
                       "connscope_http_requests_total{host=\"10.0.0.100\"} 1 1700000100.000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        p->str,
        "connscope_http_responses_total{host=\"10.0.0.100\",code=\"4xx\"} 1 1700000100.000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(p->str, "# TYPE connscope_http_ttfb_seconds histogram\n"));
    /* ttfb 1.5 ms: above the 1 ms bound, under 2.5 ms */
    CU_ASSERT_PTR_NOT_NULL(strstr(
        p->str,
        "connscope_http_ttfb_seconds_bucket{host=\"10.0.0.100\",le=\"0.001\"} 0 1700000100.000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        p->str,
        "connscope_http_ttfb_seconds_bucket{host=\"10.0.0.100\",le=\"0.0025\"} 1 1700000100.000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        p->str, "connscope_http_ttfb_seconds_count{host=\"10.0.0.100\"} 1 1700000100.000\n"));
    CU_ASSERT_TRUE(g_str_has_suffix(p->str, "\n# EOF\n"));
    g_string_free(p, TRUE);
    cs_analytics_free(a);
}

static void test_metrics_targets(void)
{
    cs_metrics_target t;
    GError *err = NULL;
    CU_ASSERT_TRUE(cs_metrics_parse("graphite", &t, &err));
    CU_ASSERT(t.format == CS_METRICS_GRAPHITE && t.file == NULL && t.host == NULL);
    cs_metrics_target_clear(&t);
    CU_ASSERT_TRUE(cs_metrics_parse("graphite=carbon.example:2003", &t, &err));
    CU_ASSERT_STRING_EQUAL(t.host, "carbon.example");
    CU_ASSERT_STRING_EQUAL(t.port, "2003");
    cs_metrics_target_clear(&t);
    CU_ASSERT_TRUE(cs_metrics_parse("graphite=[::1]:2003", &t, &err));
    CU_ASSERT_STRING_EQUAL(t.host, "::1");
    cs_metrics_target_clear(&t);
    CU_ASSERT_TRUE(cs_metrics_parse("graphite=./a:1", &t, &err));
    CU_ASSERT_STRING_EQUAL(t.file, "./a:1");
    cs_metrics_target_clear(&t);
    CU_ASSERT_TRUE(cs_metrics_parse("graphite=out.txt", &t, &err));
    CU_ASSERT_STRING_EQUAL(t.file, "out.txt");
    cs_metrics_target_clear(&t);
    CU_ASSERT_TRUE(cs_metrics_parse("prometheus=host:9090", &t, &err)); /* a file for Prometheus */
    CU_ASSERT_STRING_EQUAL(t.file, "host:9090");
    cs_metrics_target_clear(&t);
    CU_ASSERT_FALSE(cs_metrics_parse("influx", &t, &err));
    g_clear_error(&err);
    CU_ASSERT_FALSE(cs_metrics_parse("graphite=", &t, &err));
    g_clear_error(&err);
    CU_ASSERT_FALSE(cs_metrics_parse("graphite=h:70000", &t, &err));
    g_clear_error(&err);
}

static void test_plot_svg(void)
{
    cs_analytics *a = new_an(60 * CS_NS_PER_S, 100);
    GString *s = g_string_new(NULL);
    cs_plot_svg(a, "nothing <here>", s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "no events"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "nothing &lt;here&gt;"));
    g_string_truncate(s, 0);
    exchange(a, 1, 1700000040 * CS_NS_PER_S, "GET", "/", 200, 1500, 2500);
    exchange(a, 1, 1700000160 * CS_NS_PER_S, "GET", "/", 503, 150, 250);
    cs_plot_svg(a, NULL, s);
    CU_ASSERT(g_str_has_prefix(s->str, "<?xml"));
    CU_ASSERT(g_str_has_suffix(s->str, "</svg>\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "ttfb p99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "<title>1 5xx</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, ">22:14:00<")); /* a time tick */
    g_string_free(s, TRUE);
    cs_analytics_free(a);
}

/* --plot without --bucket: a 3 ms capture keeps 100 us buckets (not one bucket of 1m) and its
 * ticks carry fractions of a second; 10 s of events widen to 100 ms; counts survive the widening;
 * an axis longer than a day labels dates. */
static void test_plot_auto_bucket(void)
{
    const cs_time_t t0 = 1700000040 * CS_NS_PER_S;
    cs_analytics *a = new_an(CS_PLOT_AUTO_FIRST, 100);
    for (int k = 0; k < 6; k++) {
        exchange(a, 1, t0 + k * 500 * CS_NS_PER_US, "GET", "/", 200, 120, 150);
        cs_plot_auto_bucket(a);
    }
    CU_ASSERT_EQUAL(a->cfg.bucket, 100 * CS_NS_PER_US);
    GString *s = g_string_new(NULL);
    cs_plot_svg(a, NULL, s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "per 100us bucket (6 in all)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, ">22:14:00.000500<")); /* a tick every 0.5 ms */
    g_string_truncate(s, 0);

    for (int k = 0; k < 10; k++) {
        exchange(a, 2, t0 + (k + 1) * CS_NS_PER_S, "GET", "/", 404, 100, 200);
        cs_plot_auto_bucket(a);
    }
    CU_ASSERT_EQUAL(a->cfg.bucket, 100 * CS_NS_PER_MS); /* 10 s / 300 = 33 ms: 100 ms */
    cs_an_bucket tot;
    cs_analytics_totals(a, &tot);
    CU_ASSERT_EQUAL(tot.requests, 16);
    CU_ASSERT_EQUAL(tot.status_class[2], 6);
    CU_ASSERT_EQUAL(tot.status_class[4], 10);
    CU_ASSERT_EQUAL(tot.ttfb_us.n, 16);
    cs_an_bucket_clear(&tot);
    cs_analytics_free(a);

    /* three days in 1m buckets: ticks every 12 h, the date on the first and at each midnight */
    a = new_an(60 * CS_NS_PER_S, 100);
    for (int k = 0; k < 30; k++)
        exchange(a, 1, t0 + k * 2 * 3600 * CS_NS_PER_S, "GET", "/", 200, 100, 200);
    cs_plot_svg(a, NULL, s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, ">11-15 00:00<"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, ">11-16 00:00<"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, ">12:00<"));
    g_string_free(s, TRUE);
    cs_analytics_free(a);
}

void suite_analytics(void)
{
    static const cs_test_case cases[] = {
        {"top-k exact counts and order", test_topk_exact},
        {"top-k ties sorted by key", test_topk_ties_sorted_by_key},
        {"top-k switches to Space-Saving at the cap", test_topk_space_saving_switch},
        {"Space-Saving bounds on a skewed stream", test_topk_space_saving_bounds},
        {"top-k merge of exact tables", test_topk_merge_exact},
        {"top-k merge trims to the cap", test_topk_merge_trims_at_cap},
        {"top-k merge of approximate tables keeps the bounds", test_topk_merge_approx_bounds},
        {"top-k load from a summary", test_topk_load_roundtrip},
        {"key encoding", test_key_encoding},
        {"flow-profile class edges", test_flow_classes},
        {"buckets of connections and SYNs", test_buckets_and_conns},
        {"empty buckets are listed", test_zero_buckets_listed},
        {"times before 1970 align down", test_negative_times_align_down},
        {"HTTP aggregates", test_http_aggregates},
        {"merge re-buckets", test_merge_rebuckets},
        {"slow-exchange bounds", test_slow_bounds},
        {"summary round trip", test_summary_roundtrip},
        {"summary of nothing", test_summary_empty},
        {"summary refusals", test_summary_refusals},
        {"summary server_conns, version 1", test_summary_server_conns},
        {"summary compatibility", test_summary_compatible},
        {"graphite lines", test_metrics_graphite},
        {"prometheus exposition", test_metrics_prometheus},
        {"metrics targets", test_metrics_targets},
        {"plot SVG", test_plot_svg},
        {"plot: automatic buckets, sub-second and dated ticks", test_plot_auto_bucket},
        {NULL, NULL}};
    cs_add_suite("analytics", cases);
}
