/* test_http2.c - CUnit suite for HTTP/2 framing and stream pairing (src/app_http2.c) on hand-built
 * frames; header blocks are RFC 7541 appendix C.3 examples and static-table encodings worked out
 * by hand. Every conversation is also fed split at every size from 1 to 17 bytes. */
#include <string.h>

#include <glib.h>

#include "app_http2.h"
#include "suites.h"

/* ---- a recording sink ---------------------------------------------------------------------- */

typedef struct rec_tx {
    char method[32], uri[64], host[64], scheme[8], version[8], resp_version[8];
    int status, info_code, outcome;
    uint32_t sid, h2_error, depth;
    uint64_t req_body, resp_body;
    cs_time_t req_start, req_hdr_end, req_end, resp_start, resp_end, info_ts;
    bool has_request, has_response, resp_gap, undecodable, reset, reset_by_client, pushed, upgrade,
        req_trailers, resp_trailers;
} rec_tx;

typedef struct rec {
    rec_tx tx[32];
    int n;
    int anomalies[CS_ANOM_COUNT];
    int lines;
    char first_line[64];
} rec;

static void copy_str(char *dst, size_t n, const char *src)
{
    g_strlcpy(dst, src != NULL ? src : "-", n);
}

static void rec_exchange(void *ctx, const cs_conn *c, const cs_http_tx *t)
{
    rec *r = ctx;
    (void)c;
    CU_ASSERT_FATAL(r->n < 32);
    rec_tx *x = &r->tx[r->n++];
    copy_str(x->method, sizeof x->method, t->method);
    copy_str(x->uri, sizeof x->uri, t->uri);
    copy_str(x->host, sizeof x->host, t->host);
    copy_str(x->scheme, sizeof x->scheme, t->scheme);
    copy_str(x->version, sizeof x->version, t->version);
    copy_str(x->resp_version, sizeof x->resp_version, t->resp_version);
    x->status = t->status;
    x->info_code = t->info_code;
    x->outcome = t->outcome;
    x->sid = t->h2_stream_id;
    x->h2_error = t->h2_error;
    x->depth = t->depth;
    x->req_body = t->req_body_len;
    x->resp_body = t->resp_body_len;
    x->req_start = t->req_start;
    x->req_hdr_end = t->req_hdr_end;
    x->req_end = t->req_end;
    x->resp_start = t->resp_start;
    x->resp_end = t->resp_end;
    x->info_ts = t->info_ts;
    x->has_request = t->has_request;
    x->has_response = t->has_response;
    x->resp_gap = t->resp_gap;
    x->undecodable = t->headers_undecodable;
    x->reset = t->h2_reset;
    x->reset_by_client = t->h2_reset_by_client;
    x->pushed = t->h2_pushed;
    x->upgrade = t->h2_upgrade;
    x->req_trailers = t->req_trailers;
    x->resp_trailers = t->resp_trailers;
}

static void rec_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((rec *)ctx)->anomalies[a]++;
}

static void rec_line(void *ctx, const cs_conn *c, bool from_client, uint32_t sid, bool start_line,
                     const uint8_t *p, uint32_t n, cs_time_t ts)
{
    rec *r = ctx;
    (void)c;
    (void)from_client;
    (void)sid;
    (void)ts;
    if (r->lines++ == 0 && start_line)
        g_strlcpy(r->first_line, (const char *)p, MIN(n + 1, (uint32_t)sizeof r->first_line));
}

/* ---- building conversations ---------------------------------------------------------------- */

typedef enum { ST_DATA, ST_GAP, ST_END } st_kind;

typedef struct step {
    st_kind kind;
    bool client;
    GByteArray *b; /* ST_DATA */
    uint32_t gap;  /* ST_GAP */
    cs_time_t ts;
} step;

typedef struct script {
    step s[64];
    int n;
    bool no_preface;           /* start the parser joined mid-connection */
    const cs_http_tx *upgrade; /* h2c: the HTTP/1.1 request that became stream 1 */
    uint32_t max_pending;
} script;

/* Appends a frame to b. */
static void frame(GByteArray *b, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
                  uint32_t n)
{
    uint8_t h[9] = {
        (uint8_t)(n >> 16),   (uint8_t)(n >> 8),    (uint8_t)n,          type,        flags,
        (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    g_byte_array_append(b, h, 9);
    if (n > 0)
        g_byte_array_append(b, pl, n);
}

static GByteArray *add_data(script *sc, bool client, cs_time_t ts)
{
    CU_ASSERT_FATAL(sc->n < 64);
    step *st = &sc->s[sc->n++];
    st->kind = ST_DATA;
    st->client = client;
    st->b = g_byte_array_new();
    st->ts = ts;
    return st->b;
}

static void add_gap(script *sc, bool client, uint32_t len, cs_time_t ts)
{
    step *st = &sc->s[sc->n++];
    st->kind = ST_GAP;
    st->client = client;
    st->gap = len;
    st->ts = ts;
}

static void script_free(script *sc)
{
    for (int i = 0; i < sc->n; i++)
        if (sc->s[i].b != NULL)
            g_byte_array_free(sc->s[i].b, TRUE);
}

/* The client's preface and an empty SETTINGS; the server's SETTINGS and ACK. */
static void prefaces(script *sc, cs_time_t ts)
{
    GByteArray *b = add_data(sc, true, ts);
    g_byte_array_append(b, (const uint8_t *)CS_H2_PREFACE, CS_H2_PREFACE_LEN);
    frame(b, CS_H2_SETTINGS, 0, 0, NULL, 0);
    b = add_data(sc, false, ts);
    static const uint8_t max_streams[6] = {0, 3, 0, 0, 0, 100};
    frame(b, CS_H2_SETTINGS, 0, 0, max_streams, 6);
    frame(b, CS_H2_SETTINGS, 1, 0, NULL, 0);
}

static void run(const script *sc, uint32_t split, rec *r, cs_http_conn_summary *sum,
                cs_h2_conn_summary *h2)
{
    cs_http_cfg cfg;
    cs_http_cfg_default(&cfg);
    if (sc->max_pending)
        cfg.max_pending = sc->max_pending;
    memset(r, 0, sizeof *r);
    cs_http_sink sink = {r, rec_exchange, rec_anomaly, NULL, rec_line};
    cs_h2_conn *h = cs_h2_new(&cfg, !sc->no_preface);
    if (sc->upgrade != NULL)
        cs_h2_upgrade(h, sc->upgrade);
    for (int i = 0; i < sc->n; i++) {
        const step *st = &sc->s[i];
        if (st->kind == ST_DATA) {
            uint32_t len = st->b->len, stepn = split ? split : len;
            for (uint32_t off = 0; off < len; off += stepn)
                cs_h2_data(h, &sink, NULL, st->client, st->b->data + off, MIN(stepn, len - off),
                           st->ts);
        } else if (st->kind == ST_GAP) {
            cs_h2_gap(h, &sink, NULL, st->client, st->gap, st->ts);
        } else {
            cs_h2_end(h, &sink, NULL, st->client, st->ts);
        }
    }
    cs_h2_finish(h, &sink, NULL, sum, h2);
    cs_h2_finish(h, &sink, NULL, NULL, NULL); /* safe twice: reports nothing more */
    cs_h2_free(h);
}

/* Runs whole, then split at every size from 1 to 17 (unless `whole_only`: resynchronisation
 * depends on where chunks start), checking the same exchanges come out; leaves the whole run. */
static void run_all(const script *sc, bool whole_only, rec *r, cs_http_conn_summary *sum,
                    cs_h2_conn_summary *h2)
{
    rec *alt = g_new0(rec, 1);
    cs_http_conn_summary s2;
    cs_h2_conn_summary h2b;
    for (uint32_t split = 1; split <= 17 && !whole_only; split++) {
        run(sc, split, alt, &s2, &h2b);
        run(sc, 0, r, sum, h2);
        CU_ASSERT_EQUAL(alt->n, r->n);
        for (int i = 0; i < r->n && i < alt->n; i++) {
            CU_ASSERT_STRING_EQUAL(alt->tx[i].method, r->tx[i].method);
            CU_ASSERT_STRING_EQUAL(alt->tx[i].uri, r->tx[i].uri);
            CU_ASSERT_EQUAL(alt->tx[i].status, r->tx[i].status);
            CU_ASSERT_EQUAL(alt->tx[i].sid, r->tx[i].sid);
            CU_ASSERT_EQUAL(alt->tx[i].outcome, r->tx[i].outcome);
            CU_ASSERT_EQUAL(alt->tx[i].resp_body, r->tx[i].resp_body);
            CU_ASSERT_EQUAL(alt->tx[i].req_end, r->tx[i].req_end);
            CU_ASSERT_EQUAL(alt->tx[i].resp_start, r->tx[i].resp_start);
            CU_ASSERT_EQUAL(alt->tx[i].resp_end, r->tx[i].resp_end);
        }
        CU_ASSERT_EQUAL(memcmp(alt->anomalies, r->anomalies, sizeof r->anomalies), 0);
        CU_ASSERT_EQUAL(h2b.frames[0], h2->frames[0]);
        CU_ASSERT_EQUAL(h2b.frames[1], h2->frames[1]);
    }
    if (whole_only)
        run(sc, 0, r, sum, h2);
    g_free(alt);
}

/* run_all() into a new record; done() frees it and the script. */
static rec *run_case(const script *sc, bool whole_only, cs_http_conn_summary *sum,
                     cs_h2_conn_summary *h2)
{
    rec *r = g_new0(rec, 1);
    run_all(sc, whole_only, r, sum, h2);
    return r;
}

static void done(rec *r, script *sc)
{
    g_free(r);
    script_free(sc);
}

static int total_anomalies(const rec *r)
{
    int n = 0;
    for (int i = 0; i < CS_ANOM_COUNT; i++)
        n += r->anomalies[i];
    return n;
}

/* RFC 7541 C.3.1 .. C.3.3: three requests sharing one dynamic table (no Huffman coding). */
static const uint8_t C31[] = {0x82, 0x86, 0x84, 0x41, 0x0f, 'w', 'w', 'w', '.', 'e',
                              'x',  'a',  'm',  'p',  'l',  'e', '.', 'c', 'o', 'm'};
static const uint8_t C32[] = {0x82, 0x86, 0x84, 0xbe, 0x58, 0x08, 'n',
                              'o',  '-',  'c',  'a',  'c',  'h',  'e'};
static const uint8_t C33[] = {0x82, 0x87, 0x85, 0xbf, 0x40, 0x0a, 'c',  'u', 's', 't',
                              'o',  'm',  '-',  'k',  'e',  'y',  0x0c, 'c', 'u', 's',
                              't',  'o',  'm',  '-',  'v',  'a',  'l',  'u', 'e'};
static const uint8_t S200[] = {0x88};                      /* :status 200 (static index 8) */
static const uint8_t S404[] = {0x8d};                      /* :status 404 (index 13) */
static const uint8_t S103[] = {0x08, 0x03, '1', '0', '3'}; /* literal, name :status */

#define FH(b, t, f, s, a) frame(b, t, f, s, a, sizeof a)

/* ---- cases --------------------------------------------------------------------------------- */

static void test_single_exchange(void)
{
    script sc = {0};
    prefaces(&sc, 1000);
    GByteArray *b = add_data(&sc, true, 2000);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31); /* END_STREAM | END_HEADERS */
    b = add_data(&sc, false, 3000);
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    b = add_data(&sc, false, 4000);
    /* DATA, PADDED | END_STREAM: pad length 5, 10 data bytes, 5 padding bytes */
    static const uint8_t data[16] = {5, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
    FH(b, CS_H2_DATA, 0x09, 1, data);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    rec_tx *x = &r->tx[0];
    CU_ASSERT_STRING_EQUAL(x->method, "GET");
    CU_ASSERT_STRING_EQUAL(x->uri, "/");
    CU_ASSERT_STRING_EQUAL(x->scheme, "http");
    CU_ASSERT_STRING_EQUAL(x->host, "www.example.com");
    CU_ASSERT_STRING_EQUAL(x->version, "2");
    CU_ASSERT_STRING_EQUAL(x->resp_version, "2");
    CU_ASSERT_EQUAL(x->status, 200);
    CU_ASSERT_EQUAL(x->sid, 1);
    CU_ASSERT_EQUAL(x->outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(x->resp_body, 10); /* padding excluded */
    CU_ASSERT_EQUAL(x->req_start, 2000);
    CU_ASSERT_EQUAL(x->req_hdr_end, 2000);
    CU_ASSERT_EQUAL(x->req_end, 2000);
    CU_ASSERT_EQUAL(x->resp_start, 3000);
    CU_ASSERT_EQUAL(x->resp_end, 4000);
    CU_ASSERT_FALSE(x->undecodable);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);
    CU_ASSERT_EQUAL(sum.requests, 1);
    CU_ASSERT_EQUAL(sum.responses, 1);
    CU_ASSERT_EQUAL(sum.paired, 1);
    CU_ASSERT_EQUAL(sum.status_class[2], 1);
    CU_ASSERT_EQUAL(h2.frames[0], 2);
    CU_ASSERT_EQUAL(h2.frames[1], 4);
    CU_ASSERT_EQUAL(h2.type_frames[CS_H2_SETTINGS], 3);
    CU_ASSERT_EQUAL(h2.data_bytes[1], 10);
    CU_ASSERT_EQUAL(h2.header_bytes[0], sizeof C31);
    CU_ASSERT_EQUAL(h2.max_open, 1);
    CU_ASSERT_EQUAL(h2.busy, 2000);
    CU_ASSERT_DOUBLE_EQUAL(cs_h2_mean_open(&h2), 1.0, 1e-9);
    CU_ASSERT_STRING_EQUAL(r->first_line, ":method: GET");
    done(r, &sc);
}

/* Three concurrent streams with the C.3 blocks (C.3.2 and C.3.3 need C.3.1's dynamic entry),
 * answered out of order. */
static void test_multiplexed(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 100);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    FH(b, CS_H2_HEADERS, 0x05, 3, C32);
    b = add_data(&sc, true, 200);
    FH(b, CS_H2_HEADERS, 0x05, 5, C33);
    b = add_data(&sc, false, 300);
    FH(b, CS_H2_HEADERS, 0x05, 5, S404); /* END_STREAM on the headers: no body */
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    b = add_data(&sc, false, 400);
    static const uint8_t three[3] = {'x', 'y', 'z'};
    FH(b, CS_H2_DATA, 0x00, 1, three);
    FH(b, CS_H2_HEADERS, 0x04, 3, S200);
    FH(b, CS_H2_DATA, 0x01, 3, three);
    b = add_data(&sc, false, 500);
    FH(b, CS_H2_DATA, 0x01, 1, three);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    /* reported as streams close: 5, 3, 1 */
    CU_ASSERT_EQUAL(r->tx[0].sid, 5);
    CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/index.html");
    CU_ASSERT_STRING_EQUAL(r->tx[0].scheme, "https");
    CU_ASSERT_STRING_EQUAL(r->tx[0].host, "www.example.com"); /* dynamic index 63 */
    CU_ASSERT_EQUAL(r->tx[0].status, 404);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 300);
    CU_ASSERT_EQUAL(r->tx[0].depth, 3);
    CU_ASSERT_EQUAL(r->tx[1].sid, 3);
    CU_ASSERT_STRING_EQUAL(r->tx[1].host, "www.example.com"); /* dynamic index 62 */
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 3);
    CU_ASSERT_EQUAL(r->tx[2].sid, 1);
    CU_ASSERT_EQUAL(r->tx[2].resp_body, 6);
    CU_ASSERT_EQUAL(r->tx[2].resp_start, 300);
    CU_ASSERT_EQUAL(r->tx[2].resp_end, 500);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);
    CU_ASSERT_EQUAL(sum.paired, 3);
    CU_ASSERT_EQUAL(sum.status_class[2], 2);
    CU_ASSERT_EQUAL(sum.status_class[4], 1);
    CU_ASSERT_EQUAL(h2.max_open, 3);
    /* open streams: 2 from 100 to 200, 3 to 300, 2 to 400, 1 to 500 */
    CU_ASSERT_EQUAL(h2.open_area, 2 * 100 + 3 * 100 + 2 * 100 + 1 * 100);
    CU_ASSERT_EQUAL(h2.busy, 400);
    done(r, &sc);
}

/* A request block in HEADERS (PADDED | PRIORITY) + two CONTINUATION frames; the response starts
 * with 103 Early Hints, ends with a trailer block. */
static void test_continuation_1xx_trailers(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    uint8_t hp[1 + 5 + 7 + 3] = {3, 0x80, 0, 0, 0, 15}; /* pad 3, exclusive dep on 0, weight */
    memcpy(hp + 6, C31, 7);                             /* 82 86 84 41 0f 'w' 'w' */
    frame(b, CS_H2_HEADERS, 0x08 | 0x20 | 0x01, 1, hp, sizeof hp); /* END_STREAM, no END_HEADERS */
    frame(b, CS_H2_CONTINUATION, 0, 1, C31 + 7, 6);
    b = add_data(&sc, true, 20);
    frame(b, CS_H2_CONTINUATION, 0x04, 1, C31 + 13, sizeof C31 - 13);
    b = add_data(&sc, false, 30);
    FH(b, CS_H2_HEADERS, 0x04, 1, S103);
    b = add_data(&sc, false, 40);
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    static const uint8_t body[4] = {1, 2, 3, 4};
    FH(b, CS_H2_DATA, 0, 1, body);
    static const uint8_t trailer[] = {0x40, 0x0b, 'g', 'r', 'p', 'c',  '-', 's',
                                      't',  'a',  't', 'u', 's', 0x01, '0'};
    b = add_data(&sc, false, 50);
    FH(b, CS_H2_HEADERS, 0x05, 1, trailer);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    rec_tx *x = &r->tx[0];
    CU_ASSERT_STRING_EQUAL(x->host, "www.example.com"); /* the value spans two frames */
    CU_ASSERT_EQUAL(x->req_end, 20);                    /* END_STREAM counts at END_HEADERS */
    CU_ASSERT_EQUAL(x->info_code, 103);
    CU_ASSERT_EQUAL(x->info_ts, 30);
    CU_ASSERT_EQUAL(x->status, 200);
    CU_ASSERT_EQUAL(x->resp_start, 40);
    CU_ASSERT_EQUAL(x->resp_end, 50);
    CU_ASSERT_EQUAL(x->resp_body, 4);
    CU_ASSERT_TRUE(x->resp_trailers);
    CU_ASSERT_FALSE(x->req_trailers);
    CU_ASSERT_EQUAL(x->outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(sum.interim, 1);
    CU_ASSERT_EQUAL(sum.responses, 1);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);
    done(r, &sc);
}

/* RST_STREAM from the client, a GOAWAY refusing stream 5, stream 3 answered after the GOAWAY. */
static void test_reset_and_goaway(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    FH(b, CS_H2_HEADERS, 0x05, 3, C32);
    FH(b, CS_H2_HEADERS, 0x05, 5, C33);
    b = add_data(&sc, false, 20);
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    b = add_data(&sc, true, 30);
    static const uint8_t cancel[4] = {0, 0, 0, 8};
    FH(b, CS_H2_RST_STREAM, 0, 1, cancel);
    b = add_data(&sc, false, 40);
    static const uint8_t ga[8] = {0, 0, 0, 3, 0, 0, 0, 0}; /* last stream 3, NO_ERROR */
    FH(b, CS_H2_GOAWAY, 0, 0, ga);
    static const uint8_t two[2] = {'o', 'k'};
    FH(b, CS_H2_DATA, 0, 1, two); /* in flight after the reset: ignored */
    b = add_data(&sc, false, 50);
    FH(b, CS_H2_HEADERS, 0x04, 3, S200);
    FH(b, CS_H2_DATA, 0x01, 3, two);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_EQUAL(r->tx[0].sid, 1);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_RESET);
    CU_ASSERT_EQUAL(r->tx[0].h2_error, 8);
    CU_ASSERT_TRUE(r->tx[0].reset_by_client);
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 0);
    CU_ASSERT_EQUAL(r->tx[1].sid, 5);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_REFUSED);
    CU_ASSERT_EQUAL(r->tx[2].sid, 3);
    CU_ASSERT_EQUAL(r->tx[2].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[2].resp_body, 2);
    CU_ASSERT_EQUAL(h2.resets, 1);
    CU_ASSERT_EQUAL(h2.refused, 1);
    CU_ASSERT_TRUE(h2.goaway[1]);
    CU_ASSERT_EQUAL(h2.goaway_last_stream[1], 3);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);
    done(r, &sc);
}

/* A server push: PUSH_PROMISE (PADDED) on stream 1 promising stream 2, then both responses. */
static void test_push(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    b = add_data(&sc, false, 20);
    /* pad 2, promised stream 2, :method GET, :scheme https, :path /s.css, :authority literal */
    static const uint8_t pp[] = {2,   0,   0,   0,   2,   0x82, 0x87, 0x04, 0x06, '/',
                                 's', '.', 'c', 's', 's', 0x01, 0x01, 'e',  0,    0};
    FH(b, CS_H2_PUSH_PROMISE, 0x0c, 1, pp);
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    static const uint8_t body[5] = {'h', 'e', 'l', 'l', 'o'};
    FH(b, CS_H2_DATA, 0x01, 1, body);
    b = add_data(&sc, false, 30);
    FH(b, CS_H2_HEADERS, 0x04, 2, S200);
    FH(b, CS_H2_DATA, 0x01, 2, body);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].sid, 1);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[1].sid, 2);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_PUSHED);
    CU_ASSERT_TRUE(r->tx[1].pushed);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/s.css");
    CU_ASSERT_STRING_EQUAL(r->tx[1].host, "e");
    CU_ASSERT_EQUAL(r->tx[1].req_start, 20);
    CU_ASSERT_EQUAL(r->tx[1].resp_start, 30);
    CU_ASSERT_EQUAL(r->tx[1].resp_body, 5);
    CU_ASSERT_EQUAL(h2.pushed, 1);
    CU_ASSERT_EQUAL(h2.max_open, 2);
    CU_ASSERT_EQUAL(sum.requests, 1); /* the promise is not a client request */
    CU_ASSERT_EQUAL(sum.paired, 1);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);
    done(r, &sc);
}

/* A gap inside a DATA payload keeps framing; a gap across frames of the server loses framing and
 * the server's header context: later response blocks are undecodable, requests still decode. */
static void test_gaps(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    b = add_data(&sc, false, 20);
    FH(b, CS_H2_HEADERS, 0x04, 1, S200);
    b = add_data(&sc, false, 30);
    uint8_t hdr[9] = {0, 0, 100, CS_H2_DATA, 0x01, 0, 0, 0, 1}; /* 100 bytes, END_STREAM */
    g_byte_array_append(b, hdr, 9);
    static const uint8_t ten[10] = {0};
    g_byte_array_append(b, ten, 10);
    add_gap(&sc, false, 50, 40);
    b = add_data(&sc, false, 50);
    static const uint8_t forty[40] = {0};
    g_byte_array_append(b, forty, 40);
    b = add_data(&sc, true, 60);
    FH(b, CS_H2_HEADERS, 0x05, 3, C32);
    FH(b, CS_H2_HEADERS, 0x05, 5, C33);
    add_gap(&sc, false, 30, 70); /* e.g. a lost HEADERS of stream 3 */
    b = add_data(&sc, false, 80);
    static const uint8_t idx62[1] = {0xbe}; /* would need the server's lost dynamic table */
    FH(b, CS_H2_HEADERS, 0x05, 5, idx62);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, true, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_EQUAL(r->tx[0].sid, 1);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 100);
    CU_ASSERT_TRUE(r->tx[0].resp_gap);
    CU_ASSERT_EQUAL(r->tx[0].resp_end, 50);
    CU_ASSERT_EQUAL(r->tx[1].sid, 5);
    CU_ASSERT_STRING_EQUAL(r->tx[1].uri, "/index.html"); /* the client's context is intact */
    CU_ASSERT_TRUE(r->tx[1].undecodable);
    CU_ASSERT_TRUE(r->tx[1].has_response);
    CU_ASSERT_EQUAL(r->tx[1].status, 0);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[2].sid, 3); /* its response was in the hole */
    CU_ASSERT_EQUAL(r->tx[2].outcome, CS_HTTP_LOST_IN_GAP);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_GAP_DESYNC], 1);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_UNDECODABLE], 1);
    CU_ASSERT_EQUAL(total_anomalies(r), 2);
    CU_ASSERT_TRUE(h2.hpack_lost[1]);
    CU_ASSERT_FALSE(h2.hpack_lost[0]);
    CU_ASSERT_EQUAL(sum.lost_in_gap, 1);
    CU_ASSERT_EQUAL(sum.gaps, 2);
    done(r, &sc);
}

/* Joined mid-connection: both sides start inside a frame; frames are found again, streams are
 * joined, nothing is decodable. */
static void test_midstream(void)
{
    script sc = {0};
    sc.no_preface = true;
    GByteArray *b = add_data(&sc, false, 10);
    static const uint8_t junk[7] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    g_byte_array_append(b, junk, sizeof junk);
    static const uint8_t body[6] = {'a', 'b', 'c', 'd', 'e', 'f'};
    FH(b, CS_H2_DATA, 0x01, 7, body);
    b = add_data(&sc, true, 20);
    FH(b, CS_H2_HEADERS, 0x05, 9, C31); /* its table entries may be stale: not decoded */
    b = add_data(&sc, false, 30);
    FH(b, CS_H2_HEADERS, 0x05, 9, S200);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, true, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].sid, 7);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_NO_REQUEST);
    CU_ASSERT_EQUAL(r->tx[0].resp_body, 6);
    CU_ASSERT_EQUAL(r->tx[1].sid, 9);
    CU_ASSERT_TRUE(r->tx[1].has_request);
    CU_ASSERT_TRUE(r->tx[1].undecodable);
    CU_ASSERT_STRING_EQUAL(r->tx[1].method, "-");
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_TRUE(h2.midstream);
    CU_ASSERT_EQUAL(h2.undecodable, 2);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_UNDECODABLE], 2);
    done(r, &sc);
}

/* Framing errors are counted by name; none stops the parser. */
static void test_frame_errors(void)
{
    script sc = {0};
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    static const uint8_t eight[8] = {0};
    FH(b, CS_H2_SETTINGS, 0, 1, eight);              /* on a stream, length not 6n */
    frame(b, CS_H2_PING, 0, 0, eight, 7);            /* length 7 */
    frame(b, CS_H2_CONTINUATION, 0x04, 1, eight, 2); /* no block open */
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    static const uint8_t badpad[4] = {9, 1, 2, 3}; /* pad 9 > 3 bytes left */
    FH(b, CS_H2_DATA, 0x08, 1, badpad);
    FH(b, CS_H2_HEADERS, 0x05, 2, C32); /* even id from the client */
    static uint8_t big[20000];
    frame(b, CS_H2_DATA, 0x00, 99, big, sizeof big); /* over 16384, idle stream */
    frame(b, 0x42, 0xff, 0, big, 3);                 /* an extension frame: ignored */
    b = add_data(&sc, false, 20);
    FH(b, CS_H2_HEADERS, 0x05, 1, S200);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_FRAME_SIZE], 3);   /* SETTINGS, PING, big DATA */
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_PROTOCOL], 2);     /* CONTINUATION, padding */
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_STREAM_STATE], 2); /* even id, idle stream 99 */
    CU_ASSERT_EQUAL(h2.type_frames[CS_H2_NTYPES], 1);
    CU_ASSERT_EQUAL(h2.frames[0], 9);
    done(r, &sc);
}

/* SETTINGS_HEADER_TABLE_SIZE 8192 from the client binds the server's encoder once the server
 * acknowledges it: its size update to 8192 is then accepted; the same update unannounced is an
 * HPACK error. */
static void test_table_size(void)
{
    for (int announce = 0; announce < 2; announce++) {
        script sc = {0};
        GByteArray *b = add_data(&sc, true, 0);
        g_byte_array_append(b, (const uint8_t *)CS_H2_PREFACE, CS_H2_PREFACE_LEN);
        static const uint8_t ts[6] = {0, 1, 0, 0, 0x20, 0}; /* HEADER_TABLE_SIZE 8192 */
        if (announce)
            FH(b, CS_H2_SETTINGS, 0, 0, ts);
        FH(b, CS_H2_HEADERS, 0x05, 1, C31);
        b = add_data(&sc, false, 10);
        frame(b, CS_H2_SETTINGS, 0, 0, NULL, 0);
        frame(b, CS_H2_SETTINGS, 1, 0, NULL, 0);
        /* size update to 8192 (5-bit prefix: 3f e1 3f), then :status 200 */
        static const uint8_t upd[4] = {0x3f, 0xe1, 0x3f, 0x88};
        FH(b, CS_H2_HEADERS, 0x05, 1, upd);
        rec *r = g_new0(rec, 1);
        cs_http_conn_summary sum;
        cs_h2_conn_summary h2;
        run_all(&sc, false, r, &sum, &h2);
        CU_ASSERT_EQUAL_FATAL(r->n, 1);
        CU_ASSERT_EQUAL(r->tx[0].status, announce ? 200 : 0);
        CU_ASSERT_EQUAL(r->tx[0].undecodable, !announce);
        CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_HPACK_ERROR], !announce);
        g_free(r);
        script_free(&sc);
    }
}

/* The open stream cap: the oldest open stream is reported dropped_cap. */
static void test_stream_cap(void)
{
    script sc = {0};
    sc.max_pending = 2;
    prefaces(&sc, 0);
    GByteArray *b = add_data(&sc, true, 10);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    FH(b, CS_H2_HEADERS, 0x05, 3, C32);
    FH(b, CS_H2_HEADERS, 0x05, 5, C33);
    b = add_data(&sc, false, 20);
    FH(b, CS_H2_HEADERS, 0x05, 1, S200); /* stream 1 was dropped: ignored */
    FH(b, CS_H2_HEADERS, 0x05, 3, S200);
    FH(b, CS_H2_HEADERS, 0x05, 5, S200);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 3);
    CU_ASSERT_EQUAL(r->tx[0].sid, 1);
    CU_ASSERT_EQUAL(r->tx[0].outcome, CS_HTTP_DROPPED_CAP);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->tx[2].outcome, CS_HTTP_COMPLETE);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_STREAM_CAP], 1);
    CU_ASSERT_EQUAL(sum.dropped_cap, 1);
    CU_ASSERT_EQUAL(h2.max_open, 2);
    done(r, &sc);
}

/* h2c upgrade: stream 1 carries the HTTP/1.1 request; a wrong preface is counted; unanswered
 * streams are reported at the end. */
static void test_upgrade_and_end(void)
{
    cs_http_tx req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.uri = "/robots.txt";
    req.host = "example.org";
    strcpy(req.version, "1.1");
    req.req_start = 5;
    req.req_hdr_end = req.req_end = 6;
    script sc = {0};
    sc.upgrade = &req;
    GByteArray *b = add_data(&sc, false, 10);
    frame(b, CS_H2_SETTINGS, 0, 0, NULL, 0);
    FH(b, CS_H2_HEADERS, 0x05, 1, S200);
    b = add_data(&sc, true, 20);
    g_byte_array_append(b, (const uint8_t *)CS_H2_PREFACE, CS_H2_PREFACE_LEN);
    FH(b, CS_H2_HEADERS, 0x05, 3, C31);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    rec *r = run_case(&sc, false, &sum, &h2);
    CU_ASSERT_EQUAL_FATAL(r->n, 2);
    CU_ASSERT_EQUAL(r->tx[0].sid, 1);
    CU_ASSERT_TRUE(r->tx[0].upgrade);
    CU_ASSERT_STRING_EQUAL(r->tx[0].uri, "/robots.txt");
    CU_ASSERT_STRING_EQUAL(r->tx[0].version, "1.1");
    CU_ASSERT_EQUAL(r->tx[0].status, 200);
    CU_ASSERT_EQUAL(r->tx[0].req_end, 6);
    CU_ASSERT_EQUAL(r->tx[1].sid, 3);
    CU_ASSERT_EQUAL(r->tx[1].outcome, CS_HTTP_NO_RESPONSE);
    CU_ASSERT_EQUAL(sum.unanswered, 1);
    CU_ASSERT_EQUAL(total_anomalies(r), 0);

    script bad = {0};
    b = add_data(&bad, true, 0);
    g_byte_array_append(b, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24);
    FH(b, CS_H2_HEADERS, 0x05, 1, C31);
    run_all(&bad, true, r, &sum, &h2);
    CU_ASSERT_EQUAL(r->anomalies[CS_ANOM_H2_BAD_PREFACE], 1);
    CU_ASSERT_EQUAL(r->n, 1);
    CU_ASSERT_TRUE(r->tx[0].undecodable);
    g_free(r);
    script_free(&sc);
    script_free(&bad);
}

static void test_detect(void)
{
    const uint8_t *pre = (const uint8_t *)CS_H2_PREFACE;
    CU_ASSERT_EQUAL(cs_h2_detect_preface(pre, 24), 1);
    CU_ASSERT_EQUAL(cs_h2_detect_preface(pre, 10), -1);
    CU_ASSERT_EQUAL(cs_h2_detect_preface((const uint8_t *)"PRI * HTTP/1.1", 14), 0);
    static const uint8_t settings[9] = {0, 0, 18, 4, 0, 0, 0, 0, 0};
    static const uint8_t ack[9] = {0, 0, 0, 4, 1, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(cs_h2_detect_server_preface(settings, 9), 1);
    CU_ASSERT_EQUAL(cs_h2_detect_server_preface(settings, 8), -1);
    CU_ASSERT_EQUAL(cs_h2_detect_server_preface(ack, 9), 0);
    char buf[16];
    CU_ASSERT_STRING_EQUAL(cs_h2_error_name(8, buf), "CANCEL");
    CU_ASSERT_STRING_EQUAL(cs_h2_error_name(0x99, buf), "0x99");
    CU_ASSERT_STRING_EQUAL(cs_h2_frame_name(9), "CONTINUATION");
}

void suite_http2(void)
{
    static const cs_test_case cases[] = {
        {"one exchange, padding, timings", test_single_exchange},
        {"multiplexed streams, dynamic table, concurrency", test_multiplexed},
        {"CONTINUATION, PRIORITY, 103, trailers", test_continuation_1xx_trailers},
        {"RST_STREAM and GOAWAY outcomes", test_reset_and_goaway},
        {"server push", test_push},
        {"gaps: in DATA, across frames", test_gaps},
        {"joined mid-connection", test_midstream},
        {"frame errors counted", test_frame_errors},
        {"SETTINGS_HEADER_TABLE_SIZE applied at the ACK", test_table_size},
        {"open stream cap", test_stream_cap},
        {"h2c upgrade, bad preface, unanswered", test_upgrade_and_end},
        {"detection and names", test_detect},
        {NULL, NULL}};
    cs_add_suite("http2", cases);
}
