/* follow.c - `connscope follow STREAM FILE...`: prints the reassembled payload of one TCP stream,
 * both directions in delivery order, with direction/time markers and gap markers (like tshark -z
 * follow); with --http, each HTTP/1.x or HTTP/2 exchange's request and response headers and its
 * timings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_http.h"
#include "app_http2.h"
#include "defrag.h"
#include "flow.h"
#include "follow.h"
#include "output.h"
#include "source.h"
#include "stats.h"
#include "util.h"

typedef enum { FMT_ASCII, FMT_HEX, FMT_RAW } fmt;

typedef struct follow {
    uint64_t stream;
    fmt format;
    int side;          /* -1 both, 0 client, 1 server */
    int last_dir;      /* endpoint whose chunk was printed last, -1 none */
    uint64_t offset[2];
    bool found;      /* the stream carried payload */
    bool exists;     /* the stream exists at all */
    FILE *out;
    /* --http */
    bool http;
    cs_http_cfg http_cfg;
    cs_http_sink sink;
    cs_http_conn *parser; /* of the stream's current connection record */
    cs_h2_conn *h2;       /* HTTP/2 (preface, or after an h2c 101), or NULL */
    GHashTable *h2_heads; /* HTTP/2: stream id * 2 + from_client -> GString* of its blocks */
    GQueue req_heads;     /* GString*: one request's header block each, in order */
    GQueue resp_heads;    /* GString*: one response's header blocks each (1xx ones first) */
    GString *resp_cur;    /* the response being collected (also in resp_heads) */
    bool resp_cur_final;  /* ... and it has its final (not 1xx, or 101) status line */
    uint64_t exchanges;
    /* the pipeline up to the flow table */
    cs_counters ctr;
    cs_defrag *defrag;
    cs_flow_table *flow;
    uint64_t frame;
} follow;

static bool wanted(const follow *f, const cs_conn *c, int dir)
{
    if (c->stream != f->stream)
        return false;
    if (f->side < 0)
        return true;
    return (f->side == 0) == (dir == c->client);
}

static void header(follow *f, const cs_conn *c, int dir, const char *what, uint32_t len,
                   cs_time_t ts)
{
    char t[40], from[64], to[64];
    bool client = dir == c->client;
    fprintf(f->out, "%s %s %s %s -> %s, %u bytes%s\n", client ? ">>>" : "<<<",
            cs_fmt_time(ts, t, sizeof t), client ? "client" : "server",
            cs_endpoint_str(&c->addr[dir], c->family, c->port[dir], from, sizeof from),
            cs_endpoint_str(&c->addr[!dir], c->family, c->port[!dir], to, sizeof to), len, what);
}

static void print_ascii(FILE *out, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f))
            fputc(ch, out);
        else if (ch != '\r')
            fputc('.', out);
    }
    if (len > 0 && p[len - 1] != '\n')
        fputc('\n', out);
}

static void print_hex(FILE *out, const uint8_t *p, uint32_t len, uint64_t base)
{
    for (uint32_t i = 0; i < len; i += 16) {
        fprintf(out, "%08" G_GINT64_MODIFIER "x  ", (guint64)(base + i));
        for (uint32_t k = 0; k < 16; k++) {
            if (i + k < len)
                fprintf(out, "%02x ", p[i + k]);
            else
                fputs("   ", out);
            if (k == 7)
                fputc(' ', out);
        }
        fputs(" |", out);
        for (uint32_t k = 0; k < 16 && i + k < len; k++)
            fputc(p[i + k] >= 0x20 && p[i + k] < 0x7f ? p[i + k] : '.', out);
        fputs("|\n", out);
    }
}

/* ---- --http: header blocks from the parser, printed with each exchange --------------------- */

#define HEAD_MAX 65536 /* bytes of one header block kept for printing */

#define HEAD_CUT "... (header block cut at 64 KiB)\n"

/* Appends n bytes of p to g as printable text: tabs and printable ASCII as they are, every other
 * byte (control characters, DEL, non-ASCII) as '.', so a capture cannot drive the terminal. */
static void append_visible(GString *g, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_string_append_c(g, p[i] == '\t' || (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.');
}

static void append_line(GString *g, const uint8_t *p, uint32_t n)
{
    if (g_str_has_suffix(g->str, HEAD_CUT))
        return;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (g->len + n >= HEAD_MAX) {
        g_string_append(g, HEAD_CUT);
        return;
    }
    append_visible(g, p, n);
    g_string_append_c(g, '\n');
}

static void http_head_line(void *ctx, const cs_conn *c, bool from_client, bool start_line,
                           const uint8_t *p, uint32_t n, cs_time_t ts)
{
    follow *f = ctx;
    GString *g;
    if (from_client) {
        if (start_line)
            g_queue_push_tail(&f->req_heads, g_string_new(NULL));
        g = g_queue_peek_tail(&f->req_heads);
    } else {
        if (start_line && (f->resp_cur == NULL || f->resp_cur_final)) {
            f->resp_cur = g_string_new(NULL);
            g_queue_push_tail(&f->resp_heads, f->resp_cur);
        }
        if (start_line) { /* "HTTP/1.1 100 Continue": 1xx blocks precede the final one */
            int code = n >= 12 ? (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0') : 0;
            f->resp_cur_final = code < 100 || code > 199 || code == 101;
        }
        g = f->resp_cur;
    }
    if (g == NULL)
        return;
    if (start_line) {
        int dir = from_client ? c->client : !c->client;
        char t[40], from[64], to[64];
        g_string_append_printf(
            g, "%s %s %s %s -> %s\n", from_client ? ">>>" : "<<<", cs_fmt_time(ts, t, sizeof t),
            from_client ? "client" : "server",
            cs_endpoint_str(&c->addr[dir], c->family, c->port[dir], from, sizeof from),
            cs_endpoint_str(&c->addr[!dir], c->family, c->port[!dir], to, sizeof to));
    }
    append_line(g, p, n);
}

/* HTTP/2: every block of a stream and side goes to one text, blocks (1xx, final, trailers) in
 * order, each under its own direction/time line. */
static void h2_head_line(void *ctx, const cs_conn *c, bool from_client, uint32_t sid,
                         bool start_line, const uint8_t *p, uint32_t n, cs_time_t ts)
{
    follow *f = ctx;
    gpointer key = GUINT_TO_POINTER(sid * 2u + (from_client ? 1u : 0u));
    GString *g = g_hash_table_lookup(f->h2_heads, key);
    if (g == NULL) {
        g = g_string_new(NULL);
        g_hash_table_insert(f->h2_heads, key, g);
    }
    if (start_line) {
        int dir = from_client ? c->client : !c->client;
        char t[40], from[64], to[64];
        g_string_append_printf(
            g, "%s %s %s %s -> %s (HTTP/2 stream %u)\n", from_client ? ">>>" : "<<<",
            cs_fmt_time(ts, t, sizeof t), from_client ? "client" : "server",
            cs_endpoint_str(&c->addr[dir], c->family, c->port[dir], from, sizeof from),
            cs_endpoint_str(&c->addr[!dir], c->family, c->port[!dir], to, sizeof to), sid);
    }
    append_line(g, p, n);
}

static GString *h2_take(follow *f, uint32_t sid, bool from_client)
{
    gpointer key = GUINT_TO_POINTER(sid * 2u + (from_client ? 1u : 0u));
    GString *g = g_hash_table_lookup(f->h2_heads, key);
    if (g != NULL)
        g_hash_table_steal(f->h2_heads, key);
    return g;
}

static void http_exchange(void *ctx, const cs_conn *c, const cs_http_tx *tx)
{
    follow *f = ctx;
    GString *req = NULL, *resp = NULL;
    if (tx->h2_stream_id > 0) {
        req = h2_take(f, tx->h2_stream_id, true);
        resp = h2_take(f, tx->h2_stream_id, false);
    } else {
        req = tx->has_request ? g_queue_pop_head(&f->req_heads) : NULL;
        if (tx->has_response || tx->info_code != 0) {
            resp = g_queue_pop_head(&f->resp_heads);
            if (resp == f->resp_cur)
                f->resp_cur = NULL;
        }
    }
    char a[32], b[32], d[32], st[16];
    cs_http_times tm;
    cs_http_times_of(tx, &tm);
    f->exchanges++;
    if (tx->status != 0)
        g_snprintf(st, sizeof st, "%u", tx->status);
    char h2[48] = "";
    if (tx->h2_stream_id > 0)
        g_snprintf(h2, sizeof h2, ", HTTP/2 stream %u", tx->h2_stream_id);
    /* method and target come from the capture: escaped like the header block */
    GString *title = g_string_new(NULL);
    const char *method = tx->method != NULL ? tx->method : "-";
    const char *uri = tx->uri != NULL ? tx->uri : "-";
    append_visible(title, (const uint8_t *)method, strlen(method));
    g_string_append_c(title, ' ');
    append_visible(title, (const uint8_t *)uri, strlen(uri));
    fprintf(f->out, "=== exchange %u of stream %" G_GUINT64_FORMAT "%s: %s -> %s (%s) ===\n",
            tx->depth, c->stream, h2, title->str, tx->status != 0 ? st : "no response",
            cs_http_outcome_name((cs_http_outcome)tx->outcome));
    g_string_free(title, TRUE);
    if (req != NULL)
        fputs(req->str, f->out);
    else if (tx->h2_upgrade)
        fputs(">>> (the HTTP/1.1 request upgraded by the 101 above)\n", f->out);
    else if (tx->h2_pushed && tx->has_request)
        fputs(">>> (pushed: the request is the server's PUSH_PROMISE, the first block below)\n",
              f->out);
    else if (tx->headers_undecodable && tx->has_request)
        fputs(">>> (request headers not decodable: HPACK context lost)\n", f->out);
    else
        fputs(">>> (no request seen)\n", f->out);
    fputs("---", f->out);
    if (tm.info_us >= 0)
        fprintf(f->out, " 1xx after %s;", cs_fmt_duration(tm.info_us * 1000, a, sizeof a));
    if (tm.ttfb_us >= 0)
        fprintf(f->out, " ttfb %s (request end to first response byte);",
                cs_fmt_duration(tm.ttfb_us * 1000, a, sizeof a));
    if (tm.wait_us > 0)
        fprintf(f->out, " of which %s waiting for earlier responses (pipelined);",
                cs_fmt_duration(tm.wait_us * 1000, a, sizeof a));
    if (tm.total_us >= 0)
        fprintf(f->out, " total %s (request start to last response byte);",
                cs_fmt_duration(tm.total_us * 1000, b, sizeof b));
    fprintf(f->out, " request body %s, response body %s\n",
            cs_fmt_bytes(tx->req_body_len, d, sizeof d),
            cs_fmt_bytes(tx->resp_body_len, a, sizeof a));
    if (resp != NULL)
        fputs(resp->str, f->out);
    else if (tx->headers_undecodable && tx->has_response)
        fputs("<<< (response headers not decodable: HPACK context lost)\n", f->out);
    else
        fputs("<<< (no response seen)\n", f->out);
    if (req != NULL)
        g_string_free(req, TRUE);
    if (resp != NULL)
        g_string_free(resp, TRUE);
}

static void http_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)ctx;
    (void)c;
    (void)a;
}

static void free_gstring(gpointer g)
{
    g_string_free(g, TRUE);
}

/* The record of the stream ended: reports what is still open and drops unpaired header blocks. */
static void http_record_end(follow *f, cs_conn *c)
{
    cs_http_conn_summary sum;
    if (f->parser != NULL) {
        cs_http_finish(f->parser, &f->sink, c, &sum);
        cs_http_free(f->parser);
        f->parser = NULL;
    }
    if (f->h2 != NULL) {
        cs_h2_finish(f->h2, &f->sink, c, &sum, NULL);
        cs_h2_free(f->h2);
        f->h2 = NULL;
    }
    g_hash_table_remove_all(f->h2_heads);
    g_queue_clear_full(&f->req_heads, free_gstring);
    g_queue_clear_full(&f->resp_heads, free_gstring);
    f->resp_cur = NULL;
}

/* --http: the first bytes tell HTTP/2 (client preface, server SETTINGS) from HTTP/1.x; HTTP/1.x
 * hands over to HTTP/2 after an h2c 101. */
static void http_data(follow *f, cs_conn *c, bool from_client, const uint8_t *p, uint32_t len,
                      cs_time_t ts)
{
    if (f->parser == NULL && f->h2 == NULL) {
        int pre = from_client ? cs_h2_detect_preface(p, len) : cs_h2_detect_server_preface(p, len);
        if (pre == 1 || (from_client && pre == -1 && len >= 3))
            f->h2 = cs_h2_new(&f->http_cfg, true);
        else
            f->parser = cs_http_new(&f->http_cfg);
    }
    if (f->parser == NULL) {
        cs_h2_data(f->h2, &f->sink, c, from_client, p, len, ts);
        return;
    }
    uint32_t rest = cs_http_data(f->parser, &f->sink, c, from_client, p, len, ts);
    const cs_http_tx *up = rest > 0 ? cs_http_h2c_request(f->parser) : NULL;
    if (up == NULL)
        return;
    if (f->h2 == NULL) {
        f->h2 = cs_h2_new(&f->http_cfg, true);
        cs_h2_upgrade(f->h2, up);
    }
    cs_h2_data(f->h2, &f->sink, c, from_client, p + len - rest, rest, ts);
}

static void on_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    follow *f = ctx;
    (void)why;
    if (c->stream == f->stream)
        http_record_end(f, c);
}

static void on_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir))
        return;
    f->found = true;
    if (f->http) {
        http_data(f, c, dir == c->client, p, len, ts);
        return;
    }
    if (f->format == FMT_RAW) {
        fwrite(p, 1, len, f->out);
        return;
    }
    header(f, c, dir, "", len, ts);
    if (f->format == FMT_HEX)
        print_hex(f->out, p, len, f->offset[dir]);
    else
        print_ascii(f->out, p, len);
    f->offset[dir] += len;
    f->last_dir = dir;
}

static void on_new(void *ctx, cs_conn *c)
{
    follow *f = ctx;
    if (c->stream == f->stream)
        f->exists = true;
}

static void on_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir) || f->format == FMT_RAW)
        return;
    if (f->http) {
        if (f->h2 != NULL)
            cs_h2_gap(f->h2, &f->sink, c, dir == c->client, len, ts);
        else if (f->parser != NULL)
            cs_http_gap(f->parser, &f->sink, c, dir == c->client, len, ts);
        return;
    }
    char t[40];
    fprintf(f->out, "=== %s gap: %u bytes missing from the %s at stream offset %" G_GUINT64_FORMAT
                    " ===\n",
            cs_fmt_time(ts, t, sizeof t), len, dir == c->client ? "client" : "server",
            f->offset[dir]);
    f->offset[dir] += len;
}

static void on_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir) || f->format == FMT_RAW)
        return;
    if (f->http) {
        if (f->parser != NULL)
            cs_http_end(f->parser, &f->sink, c, dir == c->client, ts);
        if (f->h2 != NULL)
            cs_h2_end(f->h2, &f->sink, c, dir == c->client, ts);
        return;
    }
    char t[40];
    fprintf(f->out, "=== %s %s finished (%" G_GUINT64_FORMAT " bytes) ===\n",
            cs_fmt_time(ts, t, sizeof t), dir == c->client ? "client" : "server", f->offset[dir]);
}

/* One packet read: decoded (fragments reassembled) and tracked; the hooks above print. */
static void follow_packet(void *ctx, const cs_raw *raw)
{
    follow *f = ctx;
    cs_pkt pkt;
    f->frame++;
    if (cs_decode_ex(raw, &pkt, &f->ctr, f->defrag) != CS_DEC_TCP)
        return;
    pkt.frame = f->frame;
    int dir;
    cs_flow_packet(f->flow, &pkt, &dir);
}

/* Sets the output format and side from --format, --side (NULL: not given) and --http. Returns
 * the usage message of a bad combination, NULL when they are good. */
static const char *set_view(follow *f, const char *format, const char *side, bool http)
{
    if (format == NULL || strcmp(format, "ascii") == 0)
        f->format = FMT_ASCII;
    else if (strcmp(format, "hex") == 0)
        f->format = FMT_HEX;
    else if (strcmp(format, "raw") == 0)
        f->format = FMT_RAW;
    else
        return "--format takes ascii, hex or raw";
    if (side != NULL && strcmp(side, "client") == 0)
        f->side = 0;
    else if (side != NULL && strcmp(side, "server") == 0)
        f->side = 1;
    else if (side != NULL && strcmp(side, "both") != 0)
        return "--side takes client, server or both";
    if (http && (format != NULL || side != NULL))
        return "--http prints headers only: no --format or --side";
    return NULL;
}

int cs_follow_main(int argc, char **argv)
{
    gchar *format = NULL, *side = NULL, *filter = NULL;
    gboolean http = FALSE;
    gchar **rest = NULL;
    GOptionEntry entries[] = {
        {"format", 0, 0, G_OPTION_ARG_STRING, &format,
         "ascii (default), hex, or raw (bytes only, no markers)", "FMT"},
        {"side", 0, 0, G_OPTION_ARG_STRING, &side, "client, server or both (default)", "SIDE"},
        {"http", 0, 0, G_OPTION_ARG_NONE, &http,
         "Each HTTP exchange: request headers, a timing line, response headers", NULL},
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &filter, "BPF filter applied to every input",
         "BPF"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    g_set_prgname("connscope follow");
    GOptionContext *octx = g_option_context_new("STREAM FILE... - print one TCP stream's payload");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_set_summary(
        octx, "Prints the reassembled bytes of the TCP stream with index STREAM (Wireshark's\n"
              "tcp.stream) in delivery order, marking direction, time, gaps and ends.\n"
              "With --http: each HTTP exchange's request and response header blocks, with\n"
              "the timing line between them (time to first and last response byte).");
    GError *err = NULL;
    int rc = 2;
    follow f;
    memset(&f, 0, sizeof f);
    f.side = -1;
    f.last_dir = -1;
    f.out = stdout;
    g_queue_init(&f.req_heads);
    g_queue_init(&f.resp_heads);
    f.h2_heads = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_gstring);
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        fprintf(stderr, "connscope follow: %s\n", err->message);
        g_error_free(err);
        goto out;
    }
    if (rest == NULL || rest[0] == NULL || rest[1] == NULL) {
        fprintf(stderr, "connscope follow: usage: connscope follow STREAM FILE...\n");
        goto out;
    }
    char *end;
    f.stream = g_ascii_strtoull(rest[0], &end, 10);
    if (*rest[0] == '\0' || *end != '\0') {
        fprintf(stderr, "connscope follow: '%s' is not a stream index\n", rest[0]);
        goto out;
    }
    const char *bad = set_view(&f, format, side, http);
    if (bad != NULL) {
        fprintf(stderr, "connscope follow: %s\n", bad);
        goto out;
    }
    f.http = http;
    if (f.http) {
        cs_http_cfg_default(&f.http_cfg);
        f.sink = (cs_http_sink){.ctx = &f,
                                .exchange = http_exchange,
                                .anomaly = http_anomaly,
                                .head_line = http_head_line,
                                .h2_head_line = h2_head_line};
    }
    cs_source *src = cs_source_open_files(rest + 1, (int)g_strv_length(rest + 1), filter, &err);
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        goto out;
    }
    cs_flow_cfg cfg;
    cs_flow_cfg_default(&cfg);
    cs_flow_hooks hooks = {.ctx = &f,
                           .conn_new = on_new,
                           .stream_data = on_data,
                           .stream_gap = on_gap,
                           .stream_end = on_end,
                           .conn_end = on_conn_end};
    f.defrag = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, CS_DEFRAG_TIMEOUT);
    f.flow = cs_flow_new(&cfg, &hooks, &f.ctr);
    cs_read_sink sink = {.ctx = &f, .packet = follow_packet};
    cs_source_read(src, &sink, NULL, 0);
    cs_flow_flush(f.flow);
    rc = cs_source_account(src, NULL) ? 1 : 0;
    if (!f.exists) {
        fprintf(stderr, "connscope follow: no TCP stream %" G_GUINT64_FORMAT " in the input\n",
                f.stream);
        if (rc == 0)
            rc = 1;
    } else if (!f.found && f.format != FMT_RAW) {
        fprintf(stderr, "connscope follow: stream %" G_GUINT64_FORMAT " carries no payload\n",
                f.stream);
    } else if (f.http && f.exchanges == 0) {
        fprintf(stderr, "connscope follow: no HTTP exchange in stream %" G_GUINT64_FORMAT "\n",
                f.stream);
    }
    cs_flow_free(f.flow);
    cs_defrag_free(f.defrag);
    cs_source_free(src);
    rc = cs_output_finish("connscope follow", rc);
out:
    fflush(stdout);
    g_option_context_free(octx);
    g_free(format);
    g_free(side);
    g_free(filter);
    g_strfreev(rest);
    g_hash_table_destroy(f.h2_heads);
    return rc;
}
