/* fuzz_http.c - libFuzzer target: the HTTP/1.x framer and pairing (src/app_http.c) fed with
 * reassembled client and server bytes, gaps and ends taken from the input.
 *
 * Input layout:
 *   [0]  configuration: 0x01 decode gzip/deflate bodies; 0x02 small limits (max_pending 2,
 *        max_line 64, max_header_bytes 256, max_field 16); 0x04 / 0x08 start the client / server
 *        side in resynchronisation (as app.c does for a direction that did not start with HTTP);
 *        0x70 split every data chunk into pieces of splits[(b >> 4) & 7] bytes (0: whole);
 *        0x80 end both directions (FIN) before finishing the connection.
 *   then client and server bytes, gaps, ends and time steps separated by FF FE <ctl> control
 *   sequences (stream_input.h). Every data chunk is
 * delivered from a heap buffer of exactly its size, so ASan sees any read beyond it.
 *
 * The sink checks: each exchange is reported once (its depth is unique, and after finish the
 * reported ones are exactly 1..requests+orphans); outcomes are valid and agree with the flags;
 * no exchange has neither a request nor a response; strings respect max_field; times are ordered;
 * the connection summary agrees with the exchanges; cs_http_free() returns every byte (the ASan
 * heap in use goes back to where it was, and LeakSanitizer checks each input).
 * On the way it also fuzzes the JSON writer (src/json.c): every exchange's strings are written as
 * a JSON object and every data chunk as a JSON string, and the result must be valid JSON. */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_http.h"
#include "json.h"
#include "json_check.h"
#include "stream_input.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http: invariant failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_TX 65536

typedef struct state {
    const cs_conn *conn;
    const cs_http_cfg *cfg;
    uint8_t seen[MAX_TX / 8]; /* depths reported */
    uint32_t reported;
    uint32_t max_depth;
    uint32_t paired, unanswered, lost_in_gap, dropped_cap;
    cs_time_t now;
    bool finished;
    uint32_t escaped; /* data pieces checked with the JSON escaper (the first 64 of an input) */
} state;

static void check_str(const char *s, uint32_t max)
{
    if (s != NULL)
        CHECK(strlen(s) <= max);
}

/* Writes the exchange's strings as one JSON object (as report_json.c does) and validates it. */
static void check_json(const cs_http_tx *t)
{
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "method", t->method);
    cs_json_str(&j, "uri", t->uri);
    cs_json_str(&j, "host", t->host);
    cs_json_str(&j, "user_agent", t->user_agent);
    cs_json_str(&j, "status_msg", t->status_msg);
    cs_json_str(&j, "version", t->version);
    cs_json_str(&j, "resp_version", t->resp_version);
    cs_json_str(&j, "outcome", cs_http_outcome_name((cs_http_outcome)t->outcome));
    cs_json_uint(&j, "status", t->status);
    cs_json_uint(&j, "resp_body_len", t->resp_body_len);
    cs_json_int(&j, "req_start", t->req_start);
    cs_json_obj_end(&j);
    CHECK(json_check_object(out->str, out->len));
    g_string_free(out, TRUE);
}

static void on_exchange(void *ctx, const cs_conn *c, const cs_http_tx *t)
{
    state *s = ctx;
    check_json(t);
    CHECK(c == s->conn);
    CHECK(t != NULL);
    CHECK(t->depth >= 1 && t->depth < MAX_TX);
    CHECK(!(s->seen[t->depth / 8] & (1u << (t->depth % 8)))); /* reported once */
    s->seen[t->depth / 8] |= (uint8_t)(1u << (t->depth % 8));
    s->reported++;
    if (t->depth > s->max_depth)
        s->max_depth = t->depth;

    CHECK(t->outcome <= CS_HTTP_FRAMING_ERROR);
    /* a framing error is the outcome unless the exchange was dropped or lost unanswered */
    CHECK((t->outcome == CS_HTTP_FRAMING_ERROR) ==
          (t->framing_error && t->outcome != CS_HTTP_LOST_IN_GAP &&
           t->outcome != CS_HTTP_DROPPED_CAP));
    CHECK(t->has_request || t->has_response);
    switch ((cs_http_outcome)t->outcome) {
    case CS_HTTP_COMPLETE:
        CHECK(t->has_request && t->has_response && t->resp_done);
        break;
    case CS_HTTP_NO_RESPONSE:
        CHECK(t->has_request && !t->has_response && t->req_done);
        break;
    case CS_HTTP_NO_REQUEST:
        CHECK(!t->has_request && t->has_response);
        break;
    case CS_HTTP_RESP_PARTIAL:
        CHECK(t->has_request && t->has_response && !t->resp_done);
        break;
    case CS_HTTP_REQ_PARTIAL:
        CHECK(t->has_request && !t->has_response && !t->req_done);
        break;
    case CS_HTTP_LOST_IN_GAP:
    case CS_HTTP_DROPPED_CAP:
        CHECK(t->has_request && !t->has_response);
        break;
    case CS_HTTP_FRAMING_ERROR:
        break;
    }
    if (t->has_request) {
        CHECK(t->method != NULL && t->uri != NULL);
        CHECK(t->req_start >= 0 && t->req_start <= s->now);
        CHECK(memchr(t->version, '\0', sizeof t->version) != NULL);
        s->unanswered += !t->has_response;
    } else {
        CHECK(t->method == NULL && t->uri == NULL && t->host == NULL && t->user_agent == NULL);
        CHECK(t->req_start == -1);
    }
    if (t->has_response) {
        CHECK(t->resp_start >= 0 && t->resp_start <= s->now);
        CHECK(memchr(t->resp_version, '\0', sizeof t->resp_version) != NULL);
        CHECK(t->status < 1000);
        s->paired += t->has_request;
    } else {
        CHECK(t->status == 0 && t->status_msg == NULL);
    }
    if (t->req_done)
        CHECK(t->req_end >= t->req_start && t->req_end <= s->now);
    if (t->resp_done)
        CHECK(t->resp_end >= t->resp_start && t->resp_end <= s->now);
    if (t->info_code != 0)
        CHECK(t->info_code >= 100 && t->info_code < 200 && t->info_ts >= 0);
    CHECK(t->req_body_wire <= UINT64_C(1) << 62 && t->resp_body_wire <= UINT64_C(1) << 62);
    check_str(t->uri, s->cfg->max_field);
    check_str(t->host, s->cfg->max_field);
    check_str(t->user_agent, s->cfg->max_field);
    check_str(t->status_msg, s->cfg->max_field);
    s->lost_in_gap += t->outcome == CS_HTTP_LOST_IN_GAP;
    s->dropped_cap += t->outcome == CS_HTTP_DROPPED_CAP;
}

static void on_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    state *s = ctx;
    CHECK(c == s->conn);
    CHECK((unsigned)a < CS_ANOM_COUNT);
    CHECK(!s->finished);
}

static bool warm; /* the heap check is armed (see LLVMFuzzerInitialize) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t splits[] = {0, 1, 2, 3, 5, 8, 13, 64};

/* Delivers one data chunk of one side from an exact-size heap copy, in pieces of `split`. */
static void feed(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool client,
                 const uint8_t *p, size_t n, uint32_t split, state *s)
{
    while (n > 0) {
        size_t k = split > 0 && n > split ? split : n;
        uint8_t *buf = malloc(k);
        memcpy(buf, p, k);
        if (k <= 512 && s->escaped++ < 64) { /* arbitrary bytes through the JSON escaper */
            GString *js = g_string_new(NULL);
            cs_json_escape(js, (const char *)buf, k);
            CHECK(json_check(js->str, js->len));
            g_string_free(js, TRUE);
        }
        uint32_t rest = cs_http_data(h, sink, c, client, buf, (uint32_t)k, s->now);
        CHECK(rest <= k); /* trailing bytes left to the tunnel/upgraded protocol */
        free(buf);
        p += k;
        n -= k;
    }
}

/* The stream events of the input (stream_input.h) applied to the parser. */
typedef struct http_ctx {
    cs_http_conn *h;
    const cs_http_sink *sink;
    const cs_conn *conn;
    uint32_t split;
    state *s;
} http_ctx;

static void on_data(void *ctx, bool client, const uint8_t *p, size_t n, cs_time_t now)
{
    http_ctx *x = ctx;
    x->s->now = now;
    feed(x->h, x->sink, x->conn, client, p, n, x->split, x->s);
}

static void on_gap(void *ctx, bool client, uint32_t len, cs_time_t now)
{
    http_ctx *x = ctx;
    x->s->now = now;
    cs_http_gap(x->h, x->sink, x->conn, client, len, now);
}

static void on_end(void *ctx, bool client, cs_time_t now)
{
    http_ctx *x = ctx;
    x->s->now = now;
    cs_http_end(x->h, x->sink, x->conn, client, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t conf = data[0];
    cs_http_cfg cfg;
    cs_http_cfg_default(&cfg);
    cfg.decode_bodies = conf & 0x01;
    if (conf & 0x02) {
        cfg.max_pending = 2;
        cfg.max_line = 64;
        cfg.max_header_bytes = 256;
        cfg.max_field = 16;
    }
    uint32_t split = splits[(conf >> 4) & 7];

    static cs_conn conn; /* the framer only hands it back to the sink */
    static state s;
    memset(&s, 0, sizeof s);
    s.conn = &conn;
    s.cfg = &cfg;
    s.now = 1000000;
    cs_http_sink sink = {.ctx = &s, .exchange = on_exchange, .anomaly = on_anomaly};

    size_t heap0 = __sanitizer_get_current_allocated_bytes();
    cs_http_conn *h = cs_http_new(&cfg);
    if (conf & 0x04)
        cs_http_resync(h, true);
    if (conf & 0x08)
        cs_http_resync(h, false);

    http_ctx hc = {.h = h, .sink = &sink, .conn = &conn, .split = split, .s = &s};
    fz_stream_ops ops = {.ctx = &hc, .data = on_data, .gap = on_gap, .end = on_end};
    bool ended[2];
    s.now = fz_stream_run(data + 1, size - 1, &ops, s.now, ended);
    if (conf & 0x80) {
        for (int side = 0; side < 2; side++)
            if (!ended[side])
                cs_http_end(h, &sink, &conn, side == 0, s.now);
    }
    cs_http_conn_summary sum;
    memset(&sum, 0xa5, sizeof sum);
    cs_http_finish(h, &sink, &conn, &sum);
    s.finished = true;

    /* Every exchange created was reported exactly once. */
    uint32_t created = sum.requests + sum.orphans;
    CHECK(s.reported == created);
    CHECK(s.max_depth == created);
    CHECK(sum.paired == s.paired);
    CHECK(sum.unanswered == s.unanswered);
    CHECK(sum.lost_in_gap == s.lost_in_gap);
    CHECK(sum.dropped_cap == s.dropped_cap);
    CHECK(sum.paired + sum.unanswered == sum.requests);
    /* (no bound between responses and interim: one exchange may get several 1xx, as in
     * suricata-verify http-multiple100) */

    cs_http_free(h);
    size_t heap = __sanitizer_get_current_allocated_bytes();
    if (warm && heap > heap0) {
        fprintf(stderr, "fuzz_http: %zu bytes still allocated after cs_http_free()\n", heap - heap0);
        abort();
    }
    return 0;
}

/* GLib allocates a few bytes once, on first use (printf machinery): run a few inputs before the
 * heap check is armed so that those do not count. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const warmup[] = {
        "\x01GET / HTTP/1.1\r\n\x01\r\n\r\n\xff\xfe\x01HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        "\x0c\x00\xc3\xff\xff\xfe\x0b\x00\x00\x00\x09\xff\xfe\x04",
    };
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof warmup / sizeof warmup[0]; i++)
        LLVMFuzzerTestOneInput((const uint8_t *)warmup[i], strlen(warmup[i]));
    warm = true;
    return 0;
}
