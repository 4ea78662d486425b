/* test_http.c - CUnit suite for the HTTP/1.x framer and pairing (src/app_http.c) on hand-written
 * byte streams, each also fed split at every byte boundary; expected values are counted by hand. */
#include <string.h>

#include <glib.h>
#include <zlib.h>

#include "app_http.h"
#include "suites.h"

/* ---- a recording sink ---------------------------------------------------------------------- */

typedef struct rec_tx {
    char method[32], uri[128], host[64], version[8];
    int status, info_code, outcome;
    uint64_t req_body, resp_body, resp_wire;
    cs_time_t req_start, req_end, resp_start, resp_end, info_ts;
    bool has_request, has_response, resp_gap, req_gap, pipelined;
    uint32_t depth;
} rec_tx;

typedef struct rec {
    rec_tx tx[64];
    int n;
    int anomalies[CS_ANOM_COUNT];
} rec;

static void copy_str(char *dst, size_t n, const char *src)
{
    g_strlcpy(dst, src != NULL ? src : "-", n);
}

static void rec_exchange(void *ctx, const cs_conn *c, const cs_http_tx *t)
{
    rec *r = ctx;
    (void)c;
    CU_ASSERT_FATAL(r->n < 64);
    rec_tx *x = &r->tx[r->n++];
    copy_str(x->method, sizeof x->method, t->method);
    copy_str(x->uri, sizeof x->uri, t->uri);
    copy_str(x->host, sizeof x->host, t->host);
    copy_str(x->version, sizeof x->version, t->version);
    x->status = t->status;
    x->info_code = t->info_code;
    x->outcome = t->outcome;
    x->req_body = t->req_body_len;
    x->resp_body = t->resp_body_len;
    x->resp_wire = t->resp_body_wire;
    x->req_start = t->req_start;
    x->req_end = t->req_end;
    x->resp_start = t->resp_start;
    x->resp_end = t->resp_end;
    x->info_ts = t->info_ts;
    x->has_request = t->has_request;
    x->has_response = t->has_response;
    x->resp_gap = t->resp_gap;
    x->req_gap = t->req_gap;
    x->pipelined = t->pipelined;
    x->depth = t->depth;
}

static void rec_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((rec *)ctx)->anomalies[a]++;
}

/* One event of a scripted conversation: bytes from one side at a time, a gap, or an end. */
typedef enum { EV_DATA, EV_GAP, EV_END } ev_kind;
typedef struct ev {
    ev_kind kind;
    bool client;
    const char *data; /* EV_DATA */
    uint32_t len;     /* EV_DATA (0: strlen) or EV_GAP */
    cs_time_t ts;
} ev;

/* Runs the script; with `split` > 0 every EV_DATA is fed in pieces of at most `split` bytes (all
 * with the event's time). Fills r and the connection summary. */
static void run_script(const ev *evs, int n, uint32_t split, rec *r, cs_http_conn_summary *sum)
{
    cs_http_cfg cfg;
    cs_http_cfg_default(&cfg);
    cfg.max_pending = 8;
    cfg.decode_bodies = true;
    memset(r, 0, sizeof *r);
    cs_http_sink sink = {.ctx = r, .exchange = rec_exchange, .anomaly = rec_anomaly};
    cs_http_conn *h = cs_http_new(&cfg);
    for (int i = 0; i < n; i++) {
        const ev *e = &evs[i];
        if (e->kind == EV_DATA) {
            uint32_t len = e->len ? e->len : (uint32_t)strlen(e->data);
            uint32_t step = split ? split : len;
            for (uint32_t off = 0; off < len; off += step)
                cs_http_data(h, &sink, NULL, e->client, (const uint8_t *)e->data + off,
                             MIN(step, len - off), e->ts);
        } else if (e->kind == EV_GAP) {
            cs_http_gap(h, &sink, NULL, e->client, e->len, e->ts);
        } else {
            cs_http_end(h, &sink, NULL, e->client, e->ts);
        }
    }
    cs_http_finish(h, &sink, NULL, sum);
    cs_http_free(h);
}

/* Runs the script whole and split at every size from 1 to 17 and checks every run gives the same
 * exchanges (field by field) as the whole run; leaves the whole run in r. */
static void run_all_splits(const ev *evs, int n, rec *r, cs_http_conn_summary *sum)
{
    rec *alt = g_new0(rec, 1);
    cs_http_conn_summary s2;
    for (uint32_t split = 1; split <= 17; split++) {
        run_script(evs, n, split, alt, &s2);
        run_script(evs, n, 0, r, sum);
        CU_ASSERT_EQUAL(alt->n, r->n);
        for (int i = 0; i < r->n && i < alt->n; i++) {
            CU_ASSERT_STRING_EQUAL(alt->tx[i].method, r->tx[i].method);
            CU_ASSERT_STRING_EQUAL(alt->tx[i].uri, r->tx[i].uri);
            CU_ASSERT_EQUAL(alt->tx[i].status, r->tx[i].status);
            CU_ASSERT_EQUAL(alt->tx[i].resp_body, r->tx[i].resp_body);
            CU_ASSERT_EQUAL(alt->tx[i].req_body, r->tx[i].req_body);
            CU_ASSERT_EQUAL(alt->tx[i].outcome, r->tx[i].outcome);
            CU_ASSERT_EQUAL(alt->tx[i].resp_end, r->tx[i].resp_end);
        }
    }
    g_free(alt);
}

#define DATA(c, s, t) {EV_DATA, c, s, 0, t}
#define GAP(c, n, t) {EV_GAP, c, NULL, n, t}
#define END(c, t) {EV_END, c, NULL, 0, t}

/* ---- cases --------------------------------------------------------------------------------- */

static void test_keepalive(void)
{
    const ev evs[] = {
        DATA(true, "GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n\r\n", 100),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 150),
        DATA(true, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", 200),
        DATA(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 260),
        DATA(true, "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n", 300),
        DATA(true, "abc", 310),
        DATA(false, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n", 400),
        DATA(false, "ok", 420),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/a");
    CU_ASSERT_STRING_EQUAL(r->tx[0].host, "h");
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 5);
    CU_ASSERT_EQUAL(r->tx[0].req_start, 100);
    CU_ASSERT_EQUAL(r->tx[0].req_end, 100);
    CU_ASSERT_EQUAL(r->tx[0].resp_start, 150);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 150);
    CU_ASSERT_EQUAL(r->tx[1].status, 404);
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 0);
    CU_ASSERT_EQUAL(r->tx[2].req_body, 3);
    CU_ASSERT_EQUAL(r->tx[2].req_end, 310); /* last body byte's packet */
    CU_ASSERT_EQUAL(r->tx[2].resp_end, 420);
    CU_ASSERT_EQUAL(r->tx[2].depth, 3);
    CU_ASSERT_EQUAL(sum.requests, 3);
    CU_ASSERT_EQUAL(sum.paired, 3);
    CU_ASSERT_EQUAL(sum.unanswered, 0);
    g_free(r);
}

static void test_pipelined(void)
{
    const ev evs[] = {
        DATA(true,
             "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
             "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
             10),
        /* HEAD's response carries Content-Length but no body */
        DATA(false,
             "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdHTTP/1.1 200 OK\r\nContent-Length: "
             "1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nContent-Type: x\r\n\r\n",
             20),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/1");
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 4);
    CU_ASSERT_STRING_EQUAL(r->tx[1].method, "HEAD");
    CU_ASSERT_EQUAL(r->tx[1].status, 200);
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 0);
    CU_ASSERT_STRING_EQUAL(r->tx[2].uri, "/3");
    CU_ASSERT_EQUAL(r->tx[2].status, 304);
    CU_ASSERT_EQUAL(r->tx[2].resp_body, 0);
    CU_ASSERT_FALSE(r->tx[0].pipelined);
    CU_ASSERT_TRUE(r->tx[1].pipelined);
    CU_ASSERT_TRUE(r->tx[2].pipelined);
    CU_ASSERT_EQUAL(sum.paired, 3);
    g_free(r);
}

static void test_chunked_and_continue(void)
{
    const ev evs[] = {
        DATA(true, "PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n",
             10),
        DATA(false, "HTTP/1.1 100 Continue\r\n\r\n", 20),
        DATA(true, "123456", 30),
        DATA(false,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
             "5;ext=1\r\nhello\r\n0B\r\n world!!!!!\r\n0\r\nX-Trailer: 1\r\n\r\n",
             40),
        DATA(true, "GET /n HTTP/1.1\r\n\r\n", 50),
        DATA(false, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 60),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].info_code, 100);
    CU_ASSERT_EQUAL(r->tx[0].info_ts, 20);
    CU_ASSERT_EQUAL(r->tx[0].req_body, 6);
    CU_ASSERT_EQUAL(r->tx[0].req_end, 30);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 5 + 11);
    CU_ASSERT_EQUAL(r->tx[1].status, 204);
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 0);
    CU_ASSERT_EQUAL(sum.interim, 1);
    CU_ASSERT_EQUAL(sum.responses, 2); /* final responses; the 100 is in `interim` */
    g_free(r);
}

static void test_close_delimited_and_unanswered(void)
{
    const ev evs[] = {
        DATA(true, "GET / HTTP/1.0\r\n\r\n", 10),
        DATA(false, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nabc", 20),
        DATA(false, "defg", 30),
        END(false, 40),
        DATA(true, "GET /late HTTP/1.1\r\n\r\n", 50),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 7);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 30); /* the last byte, not the FIN */
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/late");
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_NO_RESPONSE);
    CU_ASSERT_EQUAL(sum.unanswered, 1);
    g_free(r);
}

static void test_connect_and_upgrade(void)
{
    const ev evs[] = {
        DATA(true, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 Connection established\r\n\r\n", 20),
        DATA(true, "\x16\x03\x01 not http at all GET / HTTP/1.1\r\n\r\n", 30),
        DATA(false, "\x16\x03\x03 HTTP/1.1 200 OK\r\n\r\n", 40),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_STRING_EQUAL(r->tx[0].method, "CONNECT");
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 0);
    CU_ASSERT_TRUE(sum.upgraded);
    CU_ASSERT_EQUAL(sum.requests, 1);
    g_free(r);

    const ev ws[] = {
        DATA(true, "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", 20),
        DATA(true, "GET /x HTTP/1.1\r\n\r\n", 30),
    };
    r = g_new0(rec, 1);
    run_all_splits(ws, CS_ARRAY_LEN(ws), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_EQUAL(r->tx[0].status, 101);
    CU_ASSERT_TRUE(sum.upgraded);
    g_free(r);
}

static void test_te_and_cl(void)
{
    /* Transfer-Encoding wins over Content-Length (RFC 9112 6.3): the body is the empty chunk. */
    const ev evs[] = {
        DATA(true,
             "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n"
             "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
             10),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_STRING_EQUAL(r->tx[0].method, "POST");
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/smuggled");
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_CL_AND_TE], 1);
    CU_ASSERT_EQUAL(sum.unanswered, 2);
    g_free(r);
}

static void test_orphan_and_garbage(void)
{
    const ev evs[] = {
        DATA(true, "\x01\x02garbage\r\n", 10),
        DATA(false, "HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad", 20),
        DATA(true, "GET /ok HTTP/1.1\r\n\r\n", 30),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 40),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_FALSE(r->tx[0].has_request);
    CU_ASSERT_EQUAL(r->tx[0].status, 400);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_NO_REQUEST);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/ok");
    CU_ASSERT_EQUAL(r->tx[1].status, 200);
    CU_ASSERT_EQUAL(sum.orphans, 1);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_BAD_REQUEST_LINE], 1);
    g_free(r);
}

static void test_gaps(void)
{
    /* A gap inside a Content-Length body keeps framing. */
    const ev a[] = {
        DATA(true, "GET /1 HTTP/1.1\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", 20),
        GAP(false, 5, 25),
        DATA(false, "xyz", 30),
        DATA(true, "GET /2 HTTP/1.1\r\n\r\n", 40),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nq", 50),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_script(a, CS_ARRAY_LEN(a), 0, r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 10);
    CU_ASSERT_TRUE(r->tx[0].resp_gap);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[1].status, 200);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/2");

    /* A gap in a chunked body loses framing: the response in progress is partial, the other
     * waiting request is not paired across the hole, later exchanges pair again. */
    const ev b[] = {
        DATA(true, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 20),
        GAP(false, 100, 25),
        DATA(true, "GET /3 HTTP/1.1\r\n\r\n", 30),
        DATA(false, "junk\r\nHTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n", 40),
    };
    run_script(b, CS_ARRAY_LEN(b), 0, r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/1");
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_RESP_PARTIAL);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/2");
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_LOST_IN_GAP);
    CU_ASSERT_STRING_EQUAL(r->tx[2].uri, "/3");
    CU_ASSERT_EQUAL(r->tx[2].status, 202);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_GAP_DESYNC], 1);

    /* A client-side gap between requests: a response that began before the next visible request
     * answers a request lost in the hole; the next one pairs. */
    const ev c[] = {
        DATA(true, "GET /1 HTTP/1.1\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 20),
        GAP(true, 30, 25),
        DATA(false, "HTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n", 35),
        DATA(true, "GET /3 HTTP/1.1\r\n\r\n", 40),
        DATA(false, "HTTP/1.1 203 OK\r\nContent-Length: 0\r\n\r\n", 50),
    };
    run_script(c, CS_ARRAY_LEN(c), 0, r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[1].status, 201);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_NO_REQUEST);
    CU_ASSERT_STRING_EQUAL(r->tx[2].uri, "/3");
    CU_ASSERT_EQUAL(r->tx[2].status, 203);
    g_free(r);
}

static void test_http09_and_cap(void)
{
    const ev a[] = {
        DATA(true, "GET /old\r\n", 10),
        DATA(false, "<html>hi</html>\n", 20),
        END(false, 30),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(a, CS_ARRAY_LEN(a), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_STRING_EQUAL(r->tx[0].version, "0.9");
    CU_ASSERT_EQUAL(r->tx[0].status, 0);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 16);

    /* 10 pipelined requests with max_pending 8: the two oldest are dropped; the responses that
     * belong to them are known and do not shift the pairing. */
    GString *reqs = g_string_new(NULL), *resps = g_string_new(NULL);
    for (int i = 0; i < 10; i++) {
        g_string_append_printf(reqs, "GET /%d HTTP/1.1\r\n\r\n", i);
        g_string_append_printf(resps, "HTTP/1.1 %d OK\r\nContent-Length: 0\r\n\r\n", 200 + i);
    }
    const ev b[] = {{EV_DATA, true, reqs->str, 0, 10}, {EV_DATA, false, resps->str, 0, 20}};
    run_script(b, 2, 0, r, &sum);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_PENDING_CAP], 2);
    int paired = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->tx[i].has_request && r->tx[i].has_response) {
            int n = atoi(r->tx[i].uri + 1);
            CU_ASSERT_EQUAL(r->tx[i].status, 200 + n);
            paired++;
        }
    }
    CU_ASSERT_EQUAL(paired, 8);
    g_string_free(reqs, TRUE);
    g_string_free(resps, TRUE);
    g_free(r);
}

/* RFC 9110 8.6: "Content-Length: 4, 4" is one length; differing values cannot frame the
 * message, which is a framing error, and the next exchange still pairs. */
static void test_content_length_list(void)
{
    const ev a[] = {
        DATA(true, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\nbody", 20),
        DATA(true, "POST /two HTTP/1.1\r\nContent-Length: 2,,2 \r\n\r\nhi", 30),
        DATA(false, "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\ntwo", 40),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(a, CS_ARRAY_LEN(a), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 4);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 20);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/two");
    CU_ASSERT_EQUAL(r->tx[1].req_body, 2);
    CU_ASSERT_EQUAL(r->tx[1].status, 201);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_BAD_CL], 0);

    const ev b[] = {
        DATA(true, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 4, 5\r\n\r\nbody", 20),
        DATA(true, "GET /two HTTP/1.1\r\nHost: h\r\n\r\n", 30),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", 40),
    };
    run_all_splits(b, CS_ARRAY_LEN(b), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_FRAMING_ERROR);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/two");
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 3);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_BAD_CL], 1);

    /* empty list elements are ignored in Transfer-Encoding too: ",\tchunked," ends in chunked
     * (suricata-verify http-chunked) */
    const ev c[] = {
        DATA(true,
             "POST /te HTTP/1.1\r\nTransfer-Encoding: ,\tchunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
             10),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 20),
    };
    run_all_splits(c, CS_ARRAY_LEN(c), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_EQUAL(r->tx[0].req_body, 3);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_HTTP_BAD_TE], 0);
    g_free(r);
}

/* A request that cannot be framed (chunk size past 2^64, invalid Content-Length, another
 * Transfer-Encoding) is a framing error, not a complete exchange; its body is skipped and the
 * next request is found at the next segment (no "helloGET" method). */
static void test_framing_errors(void)
{
    static const char *const first[] = {
        "POST /one HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhello",
        "POST /one HTTP/1.1\r\nContent-Length: abc\r\n\r\nhello",
        "POST /one HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "POST /one HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nhello",
    };
    static const cs_anomaly why[] = {CS_ANOM_HTTP_BAD_CHUNK, CS_ANOM_HTTP_BAD_CL,
                                     CS_ANOM_HTTP_BAD_CL, CS_ANOM_HTTP_BAD_TE};
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    for (unsigned i = 0; i < CS_ARRAY_LEN(first); i++) {
        const ev a[] = {
            DATA(true, first[i], 10),
            DATA(false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 20),
            DATA(true, "GET /two HTTP/1.1\r\n\r\n", 30),
            DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", 40),
        };
        run_script(a, CS_ARRAY_LEN(a), 0, r, &sum);
        CU_ASSERT_EQUAL_FATAL(r->n, 2);
        CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/one");
        CU_ASSERT_EQUAL(r->tx[0].status, 400);
        CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_FRAMING_ERROR);
        CU_ASSERT_STRING_EQUAL(r->tx[1].method, "GET");
        CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/two");
        CU_ASSERT_EQUAL(r->tx[1].status, 200);
        CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
        CU_ASSERT_EQUAL(r->anomalies[why[i]], 1);
        CU_ASSERT_EQUAL(sum.paired, 2);
    }
    CU_ASSERT_STRING_EQUAL(cs_http_outcome_name(CS_HTTP_FRAMING_ERROR), "framing_error");

    /* a response chunk size that overflows: the response is a framing error */
    const ev b[] = {
        DATA(true, "GET /one HTTP/1.1\r\n\r\n", 10),
        DATA(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
             20),
        DATA(true, "GET /two HTTP/1.1\r\n\r\n", 30),
        DATA(false, "HTTP/1.1 204 No Content\r\n\r\n", 40),
    };
    run_all_splits(b, CS_ARRAY_LEN(b), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_FRAMING_ERROR);
    CU_ASSERT_EQUAL(r->tx[1].status, 204);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    g_free(r);
}

/* An HTTP/0.9 request answered by a real status line keeps that response's status and framing;
 * a raw answer that merely starts like one ("HTTP is...") stays a raw HTTP/0.9 response. */
static void test_http09_status_line(void)
{
    const ev a[] = {
        DATA(true, "GET /x\r\n", 10),
        DATA(false, "HTTP/1.0 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", 20),
        DATA(true, "GET /y HTTP/1.1\r\n\r\n", 30),
        DATA(false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nq", 40),
    };
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(a, CS_ARRAY_LEN(a), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_STRING_EQUAL(r->tx[0].version, "0.9");
    CU_ASSERT_EQUAL(r->tx[0].status, 403);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 5);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 20);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/y");
    CU_ASSERT_EQUAL(r->tx[1].status, 200);

    const ev b[] = {
        DATA(true, "GET /x\r\n", 10),
        DATA(false, "HTTP is fun\n", 20),
        DATA(false, "HTTP/1.1 200 OK\r\n", 25),
        END(false, 30),
    };
    run_all_splits(b, CS_ARRAY_LEN(b), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_EQUAL(r->tx[0].status, 0);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 29);
    CU_ASSERT_EQUAL(r->tx[0].resp_start, 20);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 25);
    g_free(r);
}

static void count_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((int *)ctx)[a]++;
}

/* A header line over max_line is skipped, but all its bytes count towards the header block limit
 * (the part held before the overflow was counted as zero). */
static void test_header_bytes_long_line(void)
{
    cs_http_cfg cfg;
    cs_http_cfg_default(&cfg);
    cfg.max_line = 16;
    cfg.max_header_bytes = 64;
    int anom[CS_ANOM_COUNT] = {0};
    cs_http_sink sink = {.ctx = anom, .anomaly = count_anomaly};
    cs_http_conn *h = cs_http_new(&cfg);
    static const char *const parts[] = {
        "GET / HTTP/1.1\r\n",                         /* 16 bytes */
        "X-Long: ",                                   /* 8 bytes held as a partial line */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", /* 40 bytes: over max_line */
        "\r\n",                                       /* 16 + 8 + 40 + 2 = 66 > 64 */
    };
    for (unsigned i = 0; i < CS_ARRAY_LEN(parts); i++)
        cs_http_data(h, &sink, NULL, true, (const uint8_t *)parts[i], (uint32_t)strlen(parts[i]),
                     10);
    CU_ASSERT_EQUAL(anom[CS_ANOM_HTTP_LINE_TOO_LONG], 1);
    CU_ASSERT_EQUAL(anom[CS_ANOM_HTTP_HEADERS_TOO_LONG], 1);
    cs_http_finish(h, &sink, NULL, NULL);
    cs_http_free(h);
}

static void test_gzip_body(void)
{
    char plain[3000];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (char)('a' + i % 7);
    uint8_t comp[4096];
    z_stream z;
    memset(&z, 0, sizeof z);
    CU_ASSERT_FATAL(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)plain;
    z.avail_in = sizeof plain;
    z.next_out = comp;
    z.avail_out = sizeof comp;
    CU_ASSERT_FATAL(deflate(&z, Z_FINISH) == Z_STREAM_END);
    uint32_t clen = (uint32_t)z.total_out;
    deflateEnd(&z);
    GString *resp = g_string_new(NULL);
    g_string_append_printf(resp,
                           "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %u\r\n\r\n",
                           clen);
    g_string_append_len(resp, (const char *)comp, clen);
    const ev evs[] = {DATA(true, "GET /z HTTP/1.1\r\n\r\n", 10),
                      {EV_DATA, false, resp->str, (uint32_t)resp->len, 20}};
    rec *r = g_new0(rec, 1);
    cs_http_conn_summary sum;
    run_all_splits(evs, CS_ARRAY_LEN(evs), r, &sum);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, sizeof plain);
    CU_ASSERT_EQUAL(r->tx[0].resp_wire, clen);
    g_string_free(resp, TRUE);
    g_free(r);
}

static void test_detect(void)
{
    CU_ASSERT_EQUAL(cs_http_detect_request((const uint8_t *)"GET / HTTP/1.1", 14), 1);
    CU_ASSERT_EQUAL(cs_http_detect_request((const uint8_t *)"GE", 2), -1);
    CU_ASSERT_EQUAL(cs_http_detect_request((const uint8_t *)"CCM_POST /", 10), 1);
    CU_ASSERT_EQUAL(cs_http_detect_request((const uint8_t *)"get / ", 6), 0);
    CU_ASSERT_EQUAL(cs_http_detect_request((const uint8_t *)"\x16\x03\x01", 3), 0);
    CU_ASSERT_EQUAL(cs_http_detect_response((const uint8_t *)"HTTP/1.1 200", 12), 1);
    CU_ASSERT_EQUAL(cs_http_detect_response((const uint8_t *)"HTT", 3), -1);
    CU_ASSERT_EQUAL(cs_http_detect_response((const uint8_t *)"SSH-2.0", 7), 0);
}

void suite_http(void)
{
    static const cs_test_case cases[] = {
        {"keep-alive exchanges and timings", test_keepalive},
        {"pipelined with HEAD and 304", test_pipelined},
        {"chunked, 100-continue, 204", test_chunked_and_continue},
        {"close-delimited body, unanswered request", test_close_delimited_and_unanswered},
        {"CONNECT and 101 end HTTP parsing", test_connect_and_upgrade},
        {"Transfer-Encoding wins over Content-Length", test_te_and_cl},
        {"orphan response after garbage request", test_orphan_and_garbage},
        {"gaps: in body, in chunked body, between requests", test_gaps},
        {"HTTP/0.9 and the pending cap", test_http09_and_cap},
        {"gzip body decoded length", test_gzip_body},
        {"Content-Length lists (RFC 9110 8.6)", test_content_length_list},
        {"framing errors resynchronise", test_framing_errors},
        {"HTTP/0.9 request answered by a status line", test_http09_status_line},
        {"header bytes of an over-long line", test_header_bytes_long_line},
        {"content detection", test_detect},
        {NULL, NULL}};
    cs_add_suite("http", cases);
}
