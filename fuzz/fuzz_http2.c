/* fuzz_http2.c - libFuzzer target: the HTTP/2 parser (src/app_http2.c: framing, libnghttp2's HPACK
 * inflater, stream pairing) fed with reassembled client and server bytes, gaps and ends.
 *
 * Input layout:
 *   [0]  configuration: 0x01 joined mid-connection (no preface: frames found by resynchronisation);
 *        0x02 small limits (max_pending 2, max_header_bytes 64, max_field 16); 0x04 h2c upgrade
 *        (stream 1 is an HTTP/1.1 request answered 101 before the input starts); 0x08 a head_line
 *        sink (as `connscope follow --http`); 0x70 split every data chunk into pieces of
 *        splits[(b >> 4) & 7] bytes (0: whole); 0x80 end both directions before finishing.
 *   then client and server bytes, gaps, ends and time steps separated by FF FE <ctl> control
 *   sequences (stream_input.h). Every data chunk is delivered from a heap buffer of exactly its
 *   size, so ASan sees any read beyond it.
 *
 * The sink checks: each exchange is reported once (unique depth; after finish the reported ones
 * are exactly 1..streams); the outcome agrees with the flags (complete and pushed have a finished
 * response, reset has a RST_STREAM, refused and no_response have no response, ...); stream ids are
 * non-zero, even exactly for pushed streams; strings respect max_field; times are ordered and not
 * in the future; head lines are "name: value" texts; the connection summary agrees with the
 * exchanges (requests = paired + unanswered, resets, refused, pushed, dropped and lost counts) and
 * max_open <= max_pending; a second cs_h2_finish() reports nothing; cs_h2_free() returns every
 * byte (ASan heap in use back where it was; LeakSanitizer checks each input too). Every exchange's
 * strings are written as a JSON object that must be valid. */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_http2.h"
#include "json.h"
#include "json_check.h"
#include "stream_input.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http2: invariant failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_TX 65536

typedef struct state {
    const cs_conn *conn;
    const cs_http_cfg *cfg;
    uint8_t seen[MAX_TX / 8]; /* depths reported */
    uint32_t reported, max_depth;
    uint32_t paired, unanswered, orphans, lost_in_gap, dropped_cap, resets, refused, pushed;
    cs_time_t now;
    bool finished;
} state;

static void check_str(const char *s, uint32_t max)
{
    if (s != NULL)
        CHECK(strlen(s) <= max);
}

static void check_json(const cs_http_tx *t)
{
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "method", t->method);
    cs_json_str(&j, "uri", t->uri);
    cs_json_str(&j, "host", t->host);
    cs_json_str(&j, "scheme", t->scheme);
    cs_json_str(&j, "user_agent", t->user_agent);
    cs_json_str(&j, "version", t->version);
    cs_json_str(&j, "outcome", cs_http_outcome_name((cs_http_outcome)t->outcome));
    cs_json_uint(&j, "h2_stream_id", t->h2_stream_id);
    cs_json_obj_end(&j);
    CHECK(json_check_object(out->str, out->len));
    g_string_free(out, TRUE);
}

static void check_outcome(const cs_http_tx *t)
{
    CHECK(t->outcome <= CS_HTTP_PUSHED);
    switch ((cs_http_outcome)t->outcome) {
    case CS_HTTP_COMPLETE:
        CHECK(t->has_request && t->has_response && t->resp_done && !t->h2_pushed);
        break;
    case CS_HTTP_PUSHED:
        CHECK(t->has_request && t->has_response && t->resp_done && t->h2_pushed);
        break;
    case CS_HTTP_NO_RESPONSE:
        CHECK(t->has_request && !t->has_response && t->req_done);
        break;
    case CS_HTTP_NO_REQUEST:
        CHECK(!t->has_request);
        break;
    case CS_HTTP_RESP_PARTIAL:
        CHECK(t->has_request && t->has_response && !t->resp_done);
        break;
    case CS_HTTP_REQ_PARTIAL:
        CHECK(t->has_request && !t->has_response && !t->req_done);
        break;
    case CS_HTTP_LOST_IN_GAP:
        CHECK(t->has_request && !t->has_response);
        break;
    case CS_HTTP_RESET:
        CHECK(t->h2_reset && !(t->has_response && t->resp_done));
        break;
    case CS_HTTP_REFUSED:
        CHECK(!t->has_response);
        break;
    case CS_HTTP_DROPPED_CAP:
        break;
    }
}

static void on_exchange(void *ctx, const cs_conn *c, const cs_http_tx *t)
{
    state *s = ctx;
    CHECK(c == s->conn);
    CHECK(!s->finished);
    check_json(t);
    CHECK(t->depth >= 1 && t->depth < MAX_TX);
    CHECK(!(s->seen[t->depth / 8] & (1u << (t->depth % 8))));
    s->seen[t->depth / 8] |= (uint8_t)(1u << (t->depth % 8));
    s->reported++;
    if (t->depth > s->max_depth)
        s->max_depth = t->depth;
    check_outcome(t);
    CHECK(t->h2_stream_id > 0 && t->h2_stream_id <= 0x7fffffffu);
    CHECK(t->h2_pushed == (t->h2_stream_id % 2 == 0));
    CHECK(!t->h2_upgrade || t->h2_stream_id == 1);
    if (t->has_request && !t->h2_pushed)
        CHECK(t->req_start >= 0);
    if (t->req_start >= 0)
        CHECK(t->req_start <= s->now);
    if (t->req_done && t->req_start >= 0)
        CHECK(t->req_end >= t->req_start && t->req_end <= s->now);
    if (t->has_response)
        CHECK(t->resp_start >= 0 && t->resp_start <= s->now && t->status < 1000);
    else
        CHECK(t->status == 0);
    if (t->resp_done)
        CHECK(t->resp_end >= t->resp_start && t->resp_end <= s->now);
    if (t->info_code != 0)
        CHECK(t->info_code >= 100 && t->info_code < 200 && t->info_ts >= 0);
    CHECK(t->req_body_len == t->req_body_wire && t->resp_body_len == t->resp_body_wire);
    check_str(t->method, s->cfg->max_field);
    check_str(t->uri, s->cfg->max_field);
    check_str(t->host, s->cfg->max_field);
    check_str(t->scheme, s->cfg->max_field);
    check_str(t->user_agent, s->cfg->max_field);
    CHECK(t->status_msg == NULL);
    if (!t->h2_pushed) {
        if (t->has_request && t->has_response)
            s->paired++;
        else if (t->has_request)
            s->unanswered++;
        else if (t->has_response)
            s->orphans++;
    }
    s->lost_in_gap += t->outcome == CS_HTTP_LOST_IN_GAP;
    s->dropped_cap += t->outcome == CS_HTTP_DROPPED_CAP;
    s->resets += t->outcome == CS_HTTP_RESET;
    s->refused += t->outcome == CS_HTTP_REFUSED;
    s->pushed += t->h2_pushed;
}

static void on_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    state *s = ctx;
    CHECK(c == s->conn);
    CHECK((unsigned)a < CS_ANOM_COUNT);
    CHECK(!s->finished);
}

static void on_line(void *ctx, const cs_conn *c, bool from_client, uint32_t sid, bool start_line,
                    const uint8_t *p, uint32_t n, cs_time_t ts)
{
    CHECK(sid > 0 && sid <= 0x7fffffffu);
    state *s = ctx;
    CHECK(c == s->conn);
    CHECK(n >= 2 && memmem(p, n, ": ", 2) != NULL);
    CHECK(ts >= 0 && ts <= s->now);
    (void)from_client;
    (void)start_line;
}

static bool warm;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t splits[] = {0, 1, 2, 3, 5, 9, 13, 64};

typedef struct h2_ctx {
    cs_h2_conn *h;
    const cs_http_sink *sink;
    const cs_conn *conn;
    uint32_t split;
    state *s;
} h2_ctx;

static void on_data(void *ctx, bool client, const uint8_t *p, size_t n, cs_time_t now)
{
    h2_ctx *x = ctx;
    x->s->now = now;
    while (n > 0) {
        size_t k = x->split > 0 && n > x->split ? x->split : n;
        uint8_t *buf = malloc(k);
        memcpy(buf, p, k);
        cs_h2_data(x->h, x->sink, x->conn, client, buf, (uint32_t)k, now);
        free(buf);
        p += k;
        n -= k;
    }
}

static void on_gap(void *ctx, bool client, uint32_t len, cs_time_t now)
{
    h2_ctx *x = ctx;
    x->s->now = now;
    cs_h2_gap(x->h, x->sink, x->conn, client, len, now);
}

static void on_end(void *ctx, bool client, cs_time_t now)
{
    h2_ctx *x = ctx;
    x->s->now = now;
    cs_h2_end(x->h, x->sink, x->conn, client, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t conf = data[0];
    cs_http_cfg cfg;
    cs_http_cfg_default(&cfg);
    if (conf & 0x02) {
        cfg.max_pending = 2;
        cfg.max_header_bytes = 64;
        cfg.max_field = 16;
    }
    static cs_conn conn;
    static state s;
    memset(&s, 0, sizeof s);
    s.conn = &conn;
    s.cfg = &cfg;
    s.now = 1000000;
    cs_http_sink sink = {.ctx = &s,
                         .exchange = on_exchange,
                         .anomaly = on_anomaly,
                         .h2_head_line = (conf & 0x08) ? on_line : NULL};

    size_t heap0 = __sanitizer_get_current_allocated_bytes();
    cs_h2_conn *h = cs_h2_new(&cfg, !(conf & 0x01));
    if (conf & 0x04) {
        cs_http_tx req;
        memset(&req, 0, sizeof req);
        req.method = "GET";
        req.uri = "/upgrade";
        req.host = "h";
        strcpy(req.version, "1.1");
        req.req_start = 1;
        req.req_hdr_end = req.req_end = 2;
        cs_h2_upgrade(h, &req);
    }
    h2_ctx hc = {.h = h, .sink = &sink, .conn = &conn, .split = splits[(conf >> 4) & 7], .s = &s};
    fz_stream_ops ops = {.ctx = &hc, .data = on_data, .gap = on_gap, .end = on_end};
    bool ended[2];
    s.now = fz_stream_run(data + 1, size - 1, &ops, s.now, ended);
    if (conf & 0x80)
        for (int side = 0; side < 2; side++)
            if (!ended[side])
                cs_h2_end(h, &sink, &conn, side == 0, s.now);
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
    memset(&sum, 0xa5, sizeof sum);
    cs_h2_finish(h, &sink, &conn, &sum, &h2);
    s.finished = true;
    cs_h2_finish(h, &sink, &conn, NULL, NULL); /* reports nothing (on_exchange checks) */

    CHECK(s.reported == h2.streams);
    CHECK(s.max_depth == h2.streams);
    CHECK(sum.paired == s.paired);
    CHECK(sum.unanswered == s.unanswered);
    CHECK(sum.orphans == s.orphans);
    CHECK(sum.paired + sum.unanswered == sum.requests);
    CHECK(sum.lost_in_gap == s.lost_in_gap);
    CHECK(sum.dropped_cap == s.dropped_cap);
    CHECK(h2.resets == s.resets);
    CHECK(h2.refused == s.refused);
    CHECK(h2.pushed <= s.pushed); /* joined even streams are pushed too, not promised here */
    CHECK(h2.max_open <= cfg.max_pending);
    CHECK(h2.open_area >= h2.busy && h2.busy >= 0);
    CHECK(h2.open_area <= h2.busy * (cs_time_t)h2.max_open);
    CHECK(h2.frames[0] + h2.frames[1] >= h2.type_frames[CS_H2_HEADERS]);

    cs_h2_free(h);
    size_t heap = __sanitizer_get_current_allocated_bytes();
    if (warm && heap > heap0) {
        fprintf(stderr, "fuzz_http2: %zu bytes still allocated after cs_h2_free()\n", heap - heap0);
        abort();
    }
    return 0;
}

/* GLib and libnghttp2 allocate a few bytes once, on first use: run a few inputs before the heap
 * check is armed. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t warmup[] = "\x08PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                    "\x00\x00\x14\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x0f"
                                    "www.example.com";
    (void)argc;
    (void)argv;
    LLVMFuzzerTestOneInput(warmup, sizeof warmup - 1);
    warm = true;
    return 0;
}
