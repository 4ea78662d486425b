/* test_stats.c - CUnit suite for src/stats.c: the --max-keys cap of every table when runs are merged
 * (-j), and latency per server counted once (stats.c) and rolled up into the analytics. Registered
 * through suite_stats() (test_main.c). Expected values are worked out by hand in the comments. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "analytics.h"
#include "stats.h"
#include "suites.h"

static cs_addr ip4(uint8_t d)
{
    cs_addr x;
    memset(&x, 0, sizeof x);
    x.b[0] = 192;
    x.b[1] = 0;
    x.b[2] = 2;
    x.b[3] = d;
    return x;
}

/* One paired exchange client 192.0.2.1 -> 192.0.2.srv:80 with Host `host`, ttfb/total in us. */
static void exchange(cs_stats *s, uint8_t srv, const char *host, int64_t ttfb_us, int64_t total_us)
{
    cs_http_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.method = (char *)"GET";
    tx.uri = (char *)"/";
    tx.host = (char *)host;
    tx.has_request = tx.req_done = true;
    tx.req_start = tx.req_end = CS_NS_PER_S;
    tx.req_hdr_end = tx.info_ts = tx.prev_resp_end = -1;
    tx.has_response = tx.resp_done = true;
    tx.status = 200;
    tx.resp_start = tx.req_end + ttfb_us * CS_NS_PER_US;
    tx.resp_end = tx.req_start + total_us * CS_NS_PER_US;
    cs_http_row row;
    memset(&row, 0, sizeof row);
    row.tx = &tx;
    row.family = 4;
    row.addr[0] = ip4(1);
    row.addr[1] = ip4(srv);
    row.port[0] = 40000;
    row.port[1] = 80;
    cs_stats_http(s, &row);
}

/* One TLS connection to 192.0.2.srv:443 with SNI `sni`. */
static void tls_conn(cs_stats *s, uint8_t srv, const char *sni)
{
    cs_conn_row row;
    memset(&row, 0, sizeof row);
    row.family = 4;
    row.addr[0] = ip4(1);
    row.addr[1] = ip4(srv);
    row.port[1] = 443;
    cs_app_summary app;
    memset(&app, 0, sizeof app);
    app.kind = CS_APP_TLS;
    app.has_tls = true;
    app.tls.handshake_ns = -1;
    g_strlcpy(app.tls.server_name, sni, sizeof app.tls.server_name);
    g_strlcpy(app.tls.next_protocol, "", sizeof app.tls.next_protocol);
    cs_stats_app(s, &row, &app);
}

static void syn(cs_stats *s, uint8_t srv)
{
    cs_addr a = ip4(srv);
    cs_stats_syn(s, 4, &a, 80, true);
}

/* Merging two runs into a stats capped at 2 entries per table: the first two keys in sorted order
 * keep their rows, the others are summed into "(other)" and their events counted. Before, the
 * HTTP and TLS tables of the merge took every key whatever the cap. */
static void test_merge_honours_caps(void)
{
    cs_stats a, b, m;
    cs_stats_init(&a);
    cs_stats_init(&b);
    cs_stats_init(&m);
    a.max_keys = b.max_keys = 0; /* the parts themselves: uncapped */
    m.max_keys = 2;
    /* part a: servers .10 .11; part b: servers .11 .12 .13 (3 SYNs to .13) */
    syn(&a, 10);
    syn(&a, 11);
    syn(&b, 11);
    syn(&b, 12);
    for (int i = 0; i < 3; i++)
        syn(&b, 13);
    exchange(&a, 10, "a.example", 100, 200);
    exchange(&a, 11, "b.example", 100, 200);
    exchange(&b, 12, "c.example", 300, 400);
    exchange(&b, 12, "c.example", 500, 600);
    tls_conn(&a, 10, "a.example");
    tls_conn(&b, 11, "b.example");
    tls_conn(&b, 12, "c.example");
    tls_conn(&b, 13, "d.example");
    cs_stats_merge(&m, &a);
    cs_stats_merge(&m, &b);

    /* servers: .10 and .11 fit; .12 (1 SYN) and .13 (3 SYNs) fold: 4 events */
    GPtrArray *sv = cs_stats_servers_sorted(&m);
    CU_ASSERT_EQUAL_FATAL(sv->len, 3);
    const cs_server_stats *other = sv->pdata[0]; /* family 0 sorts first */
    CU_ASSERT_EQUAL(other->family, 0);
    CU_ASSERT_EQUAL(other->syn_pkts, 4);
    CU_ASSERT_EQUAL(((const cs_server_stats *)sv->pdata[2])->syn_pkts, 2); /* .11 from a and b */
    g_ptr_array_free(sv, TRUE);
    /* HTTP: (.10, a.example), (.11, b.example) fit; (.12, c.example) with 2 exchanges folds */
    GPtrArray *hv = cs_stats_http_servers_sorted(&m);
    CU_ASSERT_EQUAL_FATAL(hv->len, 3);
    const cs_http_server *ho = hv->pdata[0];
    CU_ASSERT_EQUAL(ho->family, 0);
    CU_ASSERT_STRING_EQUAL(ho->host, "");
    CU_ASSERT_EQUAL(ho->requests, 2);
    CU_ASSERT_EQUAL(ho->ttfb_us.min, 300);
    CU_ASSERT_EQUAL(ho->ttfb_us.max, 500);
    g_ptr_array_free(hv, TRUE);
    /* TLS: a's (.10) and b's (.11) fit; (.12) and (.13) fold: 2 connections */
    GPtrArray *tv = cs_stats_tls_servers_sorted(&m);
    CU_ASSERT_EQUAL_FATAL(tv->len, 3);
    const cs_tls_server *to = tv->pdata[0];
    CU_ASSERT_EQUAL(to->family, 0);
    CU_ASSERT_EQUAL(to->conns, 2);
    CU_ASSERT_EQUAL(m.tls_conns, 4);
    g_ptr_array_free(tv, TRUE);
    /* folded events: 4 SYN packets + 2 exchanges + 2 TLS connections */
    CU_ASSERT_EQUAL(m.keys_capped, 8);
    CU_ASSERT_EQUAL(m.http_requests, 4);
    cs_stats_free(&a);
    cs_stats_free(&b);
    cs_stats_free(&m);
}

/* Without a cap a merge keeps every key: the sums of the parts. */
static void test_merge_uncapped(void)
{
    cs_stats a, b, m;
    cs_stats_init(&a);
    cs_stats_init(&b);
    cs_stats_init(&m);
    exchange(&a, 10, "a.example", 100, 200);
    exchange(&b, 10, "a.example", 300, 400);
    exchange(&b, 11, "", 300, 400);
    cs_stats_merge(&m, &a);
    cs_stats_merge(&m, &b);
    GPtrArray *hv = cs_stats_http_servers_sorted(&m);
    CU_ASSERT_EQUAL_FATAL(hv->len, 2);
    const cs_http_server *h = hv->pdata[0];
    CU_ASSERT_EQUAL(h->requests, 2);
    CU_ASSERT_EQUAL(h->ttfb_us.min, 100);
    CU_ASSERT_EQUAL(h->total_us.max, 400);
    g_ptr_array_free(hv, TRUE);
    CU_ASSERT_EQUAL(m.keys_capped, 0);
    cs_stats_free(&a);
    cs_stats_free(&b);
    cs_stats_free(&m);
}

/* Latency per server: one server with two Hosts is one analytics row holding both exchanges;
 * a server with only an unanswered request has no row (latency is over paired exchanges). */
static void test_latency_rollup(void)
{
    cs_stats s;
    cs_stats_init(&s);
    exchange(&s, 10, "a.example", 100, 250);
    exchange(&s, 10, "b.example", 700, 900);
    cs_http_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.has_request = true;
    tx.req_start = tx.req_end = 0;
    tx.resp_start = tx.resp_end = -1;
    cs_http_row row;
    memset(&row, 0, sizeof row);
    row.tx = &tx;
    row.family = 4;
    row.addr[1] = ip4(11);
    row.port[1] = 80;
    cs_stats_http(&s, &row);

    cs_analytics_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cs_analytics *an = cs_analytics_new(&cfg);
    cs_analytics_servers_from(an, &s);
    cs_analytics_servers_from(an, &s); /* replaces: calling it again does not double */
    GPtrArray *ss = cs_analytics_servers_sorted(an);
    CU_ASSERT_EQUAL_FATAL(ss->len, 1);
    const cs_an_server *v = ss->pdata[0];
    CU_ASSERT_EQUAL(v->addr.b[3], 10);
    CU_ASSERT_EQUAL(v->port, 80);
    CU_ASSERT_EQUAL(v->ttfb_us.n, 2);
    CU_ASSERT_EQUAL(v->ttfb_us.min, 100);
    CU_ASSERT_EQUAL(v->ttfb_us.max, 700);
    CU_ASSERT_EQUAL(v->total_us.sum, 1150);
    g_ptr_array_free(ss, TRUE);
    cs_analytics_free(an);
    cs_stats_free(&s);
}

void suite_stats(void)
{
    static const cs_test_case cases[] = {
        {"merge honours --max-keys in every table", test_merge_honours_caps},
        {"merge without a cap sums every key", test_merge_uncapped},
        {"latency per server rolled up from the stats", test_latency_rollup},
        {NULL, NULL}};
    cs_add_suite("stats", cases);
}
