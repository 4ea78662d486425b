/* report_record.c - the "conn" and "http" records, written once for both JSON and CSV: the field
 * list lives here only, and a CSV cell holds exactly the value a JSON reader would decode. */
#include <math.h>
#include <string.h>

#include "app_http2.h"
#include "json_impl.h"
#include "report.h"
#include "report_record.h"
#include "util.h"

/* ---- CSV rows ------------------------------------------------------------------------------ */

struct cs_csv_row {
    GPtrArray *names;  /* column names (owned) */
    GHashTable *index; /* name -> column index + 1 (keys are the strings in names) */
    GString *vals;     /* the values of the current record, back to back */
    GArray *start;     /* per column: offset of its value in vals, or -1 (empty) */
    GArray *len;       /* per column: value length */
};

cs_csv_row *cs_csv_row_new(const GPtrArray *columns)
{
    cs_csv_row *c = g_new0(cs_csv_row, 1);
    c->names = g_ptr_array_new_with_free_func(g_free);
    c->index = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < columns->len; i++) {
        char *name = g_strdup(g_ptr_array_index(columns, i));
        g_ptr_array_add(c->names, name);
        g_hash_table_insert(c->index, name, GUINT_TO_POINTER(i + 1));
    }
    c->vals = g_string_sized_new(512);
    c->start = g_array_sized_new(FALSE, FALSE, sizeof(gssize), columns->len);
    c->len = g_array_sized_new(FALSE, FALSE, sizeof(gsize), columns->len);
    g_array_set_size(c->start, columns->len);
    g_array_set_size(c->len, columns->len);
    cs_csv_row_reset(c);
    return c;
}

void cs_csv_row_free(cs_csv_row *c)
{
    if (c == NULL)
        return;
    g_hash_table_destroy(c->index);
    g_ptr_array_free(c->names, TRUE);
    g_string_free(c->vals, TRUE);
    g_array_free(c->start, TRUE);
    g_array_free(c->len, TRUE);
    g_free(c);
}

void cs_csv_row_reset(cs_csv_row *c)
{
    g_string_truncate(c->vals, 0);
    for (guint i = 0; i < c->start->len; i++)
        g_array_index(c->start, gssize, i) = -1;
}

/* Appends one CSV field (RFC 4180: quoted when it holds a comma, quote, CR or LF). */
static void csv_field(GString *out, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        g_string_append_len(out, s, (gssize)n);
        return;
    }
    g_string_append_c(out, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, s[i]);
    }
    g_string_append_c(out, '"');
}

void cs_csv_row_header(const cs_csv_row *c, GString *out)
{
    for (guint i = 0; i < c->names->len; i++) {
        const char *name = g_ptr_array_index(c->names, i);
        if (i > 0)
            g_string_append_c(out, ',');
        csv_field(out, name, strlen(name));
    }
    g_string_append_c(out, '\n');
}

void cs_csv_row_line(const cs_csv_row *c, GString *out)
{
    for (guint i = 0; i < c->start->len; i++) {
        if (i > 0)
            g_string_append_c(out, ',');
        gssize at = g_array_index(c->start, gssize, i);
        if (at >= 0)
            csv_field(out, c->vals->str + at, g_array_index(c->len, gsize, i));
    }
    g_string_append_c(out, '\n');
}

/* One field; key is a string literal (the header mode keeps the pointer) that needs no escaping
 * in JSON (test_json.c checks every field name). The macros of the same names pass its length
 * (see json.h). */

#define CS_REC_KLEN(key) (cs_json_klen(key) | CS_JSON_KEY_PLAIN)
#define cs_rec_str(r, key, v) cs_rec_str_k((r), (key), CS_REC_KLEN(key), (v))
#define cs_rec_uint(r, key, v) cs_rec_uint_k((r), (key), CS_REC_KLEN(key), (v))
#define cs_rec_int(r, key, v) cs_rec_int_k((r), (key), CS_REC_KLEN(key), (v))
#define cs_rec_double(r, key, v, decimals)                                                         \
    cs_rec_double_k((r), (key), CS_REC_KLEN(key), (v), (decimals))
#define cs_rec_bool(r, key, v) cs_rec_bool_k((r), (key), CS_REC_KLEN(key), (v))
#define cs_rec_null(r, key) cs_rec_null_k((r), (key), CS_REC_KLEN(key))
#define cs_rec_time(r, key, ns) cs_rec_time_k((r), (key), CS_REC_KLEN(key), (ns))

/* ---- one field, three ways ----------------------------------------------------------------- */

enum { V_STR, V_UINT, V_INT, V_DOUBLE, V_BOOL, V_NULL, V_TIME };

typedef struct val {
    int kind;
    const char *s;
    uint64_t u;
    int64_t i;
    double d;
    int decimals;
} val;

G_ALWAYS_INLINE static inline void put_json(cs_json *j, const char *key, size_t klen, const val *v)
{
    switch (v->kind) {
    case V_STR:
        json_str_k_i(j, key, klen, v->s);
        break;
    case V_UINT:
        json_uint_k_i(j, key, klen, v->u);
        break;
    case V_INT:
        json_int_k_i(j, key, klen, v->i);
        break;
    case V_DOUBLE:
        cs_json_double_k(j, key, klen, v->d, v->decimals);
        break;
    case V_BOOL:
        json_bool_k_i(j, key, klen, v->u != 0);
        break;
    case V_TIME:
        json_time_k_i(j, key, klen, v->i);
        break;
    default:
        json_null_k_i(j, key, klen);
    }
}

/* The CSV cell of put(). */
static void put_csv(cs_csv_row *c, const char *key, const val *v)
{
    guint col = GPOINTER_TO_UINT(g_hash_table_lookup(c->index, key));
    if (col == 0) /* a field the header does not have: a programming error, caught by tests */
        g_error("CSV record field '%s' is not a column", key);
    col--;
    if (v->kind == V_NULL || (v->kind == V_STR && v->s == NULL) ||
        (v->kind == V_DOUBLE && !isfinite(v->d)))
        return;
    gsize at = c->vals->len;
    if (v->kind == V_STR) {
        cs_json_text(c->vals, v->s, strlen(v->s));
    } else {
        cs_json cell; /* the value alone, as JSON writes it */
        cs_json_init(&cell, c->vals);
        put_json(&cell, NULL, 0, v);
    }
    g_array_index(c->start, gssize, col) = (gssize)at;
    g_array_index(c->len, gsize, col) = c->vals->len - at;
}

/* Writes v as a JSON member (key: value), or as the text of a CSV cell (a string as a JSON reader
 * decodes it, any other value as JSON writes it; null: the cell stays empty), or records the key.
 * Inlined into each cs_rec_*_k, where v->kind is a constant. */
G_ALWAYS_INLINE static inline void put(cs_rec *r, const char *key, size_t klen, const val *v)
{
    if (r->json != NULL)
        put_json(r->json, key, klen, v);
    else if (r->names != NULL)
        g_ptr_array_add(r->names, (gpointer)key);
    else if (r->csv != NULL)
        put_csv(r->csv, key, v);
}

G_ALWAYS_INLINE static inline void cs_rec_str_k(cs_rec *r, const char *key, size_t klen,
                                                const char *v)
{
    put(r, key, klen, &(val){.kind = V_STR, .s = v});
}

G_ALWAYS_INLINE static inline void cs_rec_uint_k(cs_rec *r, const char *key, size_t klen,
                                                 uint64_t v)
{
    put(r, key, klen, &(val){.kind = V_UINT, .u = v});
}

G_ALWAYS_INLINE static inline void cs_rec_int_k(cs_rec *r, const char *key, size_t klen, int64_t v)
{
    put(r, key, klen, &(val){.kind = V_INT, .i = v});
}

G_ALWAYS_INLINE static inline void cs_rec_double_k(cs_rec *r, const char *key, size_t klen,
                                                   double v, int decimals)
{
    put(r, key, klen, &(val){.kind = V_DOUBLE, .d = v, .decimals = decimals});
}

G_ALWAYS_INLINE static inline void cs_rec_bool_k(cs_rec *r, const char *key, size_t klen, bool v)
{
    put(r, key, klen, &(val){.kind = V_BOOL, .u = v});
}

G_ALWAYS_INLINE static inline void cs_rec_null_k(cs_rec *r, const char *key, size_t klen)
{
    put(r, key, klen, &(val){.kind = V_NULL});
}

G_ALWAYS_INLINE static inline void cs_rec_time_k(cs_rec *r, const char *key, size_t klen,
                                                 cs_time_t ns)
{
    put(r, key, klen, &(val){.kind = V_TIME, .i = ns});
}

/* ---- the records --------------------------------------------------------------------------- */

static void rec_addr(cs_rec *r, const char *key, const cs_addr *a, uint8_t family)
{
    char buf[64];
    cs_rec_str(r, key, cs_addr_str(a, family, buf, sizeof buf));
}

static void rec_us_or_null(cs_rec *r, const char *key, cs_time_t ns)
{
    if (ns < 0)
        cs_rec_null(r, key);
    else
        cs_rec_double(r, key, (double)ns / 1e3, 3);
}

static void rec_time_or_null(cs_rec *r, const char *key, cs_time_t ns)
{
    if (ns < 0)
        cs_rec_null(r, key);
    else
        cs_rec_time(r, key, ns);
}

static void rec_int_or_null(cs_rec *r, const char *key, int64_t v)
{
    if (v < 0)
        cs_rec_null(r, key);
    else
        cs_rec_int(r, key, v);
}

/* The p50 and max of a timing as <prefix>_p50_us and <prefix>_max_us, null when it has no value. */
static void rec_q50(cs_rec *r, const char *p50_key, const char *max_key, const cs_q50r *q)
{
    if (q->n == 0) {
        cs_rec_null(r, p50_key);
        cs_rec_null(r, max_key);
        return;
    }
    cs_rec_uint(r, p50_key, q->p50);
    cs_rec_uint(r, max_key, q->max);
}

/* The endpoints: uid (cs_conn_uid; "" is null), stream, id.orig_h/p, id.resp_h/p. */
static void rec_endpoints(cs_rec *r, const char *uid, uint64_t stream, uint8_t family,
                          const cs_addr addr[2], const uint16_t port[2])
{
    cs_rec_str(r, "uid", uid[0] ? uid : NULL);
    cs_rec_uint(r, "stream", stream);
    rec_addr(r, "id.orig_h", &addr[0], family);
    cs_rec_uint(r, "id.orig_p", port[0]);
    rec_addr(r, "id.resp_h", &addr[1], family);
    cs_rec_uint(r, "id.resp_p", port[1]);
}

/* The connection's exchanges (HTTP, cleartext or decrypted): counts, timings, idle gaps. */
static void rec_conn_http(cs_rec *r, const cs_conn_row *row)
{
    const cs_http_conn_summary *h = &row->http; /* parser facts (zero without an HTTP parser) */
    const cs_exsum *x = &row->ex;
    cs_rec_uint(r, "http_requests", x->requests);
    cs_rec_uint(r, "http_responses", x->responses);
    cs_rec_uint(r, "http_paired", x->paired);
    cs_rec_uint(r, "http_unanswered", x->unanswered);
    cs_rec_uint(r, "http_orphan_responses", x->orphans);
    cs_rec_uint(r, "http_interim", h->interim);
    cs_rec_uint(r, "http_lost_in_gap", h->lost_in_gap);
    cs_rec_uint(r, "http_gaps", h->gaps);
    cs_rec_uint(r, "http_anomalies", h->anomalies);
    cs_rec_double(r, "http_idle_total_us", (double)x->idle_total / 1e3, 3);
    cs_rec_double(r, "http_idle_max_us", (double)x->idle_max / 1e3, 3);
    cs_rec_bool(r, "http_upgraded", h->upgraded);
    /* 1xx..5xx, then other (status_class[0]) */
    static const char *const cls[] = {"http_status_1xx", "http_status_2xx", "http_status_3xx",
                                      "http_status_4xx", "http_status_5xx", "http_status_other"};
    for (int i = 0; i < 6; i++)
        cs_rec_uint(r, cls[i], x->status_class[(i + 1) % 6]);
    rec_q50(r, "http_ttfb_p50_us", "http_ttfb_max_us", &x->ttfb);
    rec_q50(r, "http_ttlb_p50_us", "http_ttlb_max_us", &x->ttlb);
    rec_q50(r, "http_total_p50_us", "http_total_max_us", &x->total);
    rec_time_or_null(r, "http_first_request_ts", x->first_req);
    rec_time_or_null(r, "http_last_response_ts", x->last_resp);
}

/* TLS facts every TLS connection has on its conn record (the tls record has the rest). */
static void rec_conn_tls(cs_rec *r, const cs_tls_summary *t)
{
    cs_rec_str(r, "tls_server_name", t->server_name[0] ? t->server_name : NULL);
    cs_rec_uint(r, "tls_estimated_exchanges", t->estimated_exchanges);
    cs_q50r q = {.n = t->estimated_exchanges,
                 .p50 = t->turn_p50_us,
                 .max = t->turn_max > 0 ? (uint64_t)(t->turn_max / CS_NS_PER_US) : 0};
    rec_q50(r, "tls_estimated_turn_p50_us", "tls_estimated_turn_max_us", &q);
}

/* The HTTP/2 fields of a conn record (only on connections that carried HTTP/2). */
static void rec_conn_h2(cs_rec *r, const cs_h2_conn_summary *h)
{
    char buf[16];
    cs_rec_bool(r, "http2", true);
    cs_rec_uint(r, "h2_streams", h->streams);
    cs_rec_uint(r, "h2_pushed", h->pushed);
    cs_rec_uint(r, "h2_resets", h->resets);
    cs_rec_uint(r, "h2_refused", h->refused);
    cs_rec_uint(r, "h2_max_open_streams", h->max_open);
    cs_rec_double(r, "h2_mean_open_streams", cs_h2_mean_open(h), 3);
    cs_rec_uint(r, "orig_h2_frames", h->frames[0]);
    cs_rec_uint(r, "resp_h2_frames", h->frames[1]);
    cs_rec_uint(r, "orig_h2_data_bytes", h->data_bytes[0]);
    cs_rec_uint(r, "resp_h2_data_bytes", h->data_bytes[1]);
    cs_rec_uint(r, "h2_headers_undecodable", h->undecodable);
    cs_rec_bool(r, "h2_hpack_lost", h->hpack_lost[0] || h->hpack_lost[1]);
    cs_rec_bool(r, "h2_midstream", h->midstream);
    cs_rec_str(r, "orig_h2_goaway",
               h->goaway[0] ? cs_h2_error_name(h->goaway_error[0], buf) : NULL);
    cs_rec_str(r, "resp_h2_goaway",
               h->goaway[1] ? cs_h2_error_name(h->goaway_error[1], buf) : NULL);
    cs_rec_uint(r, "h2_anomalies", h->anomalies);
}

/* The tunnel of a connection's first packet: a JSON object member ("tunnel": {...}, null when a
 * later packet came through one), in CSV the object's JSON text in one cell; tunnel_changed only
 * when true. */
static void rec_tunnel(cs_rec *r, const cs_tunnel *tn, bool changed)
{
    if (r->names != NULL) {
        g_ptr_array_add(r->names, (gpointer) "tunnel");
        g_ptr_array_add(r->names, (gpointer) "tunnel_changed");
        return;
    }
    if (r->json != NULL) {
        cs_report_json_tunnel(r->json, tn, changed);
        return;
    }
    if (tn != NULL) {
        GString *text = g_string_new(NULL);
        cs_json j;
        cs_json_init(&j, text);
        cs_report_json_tunnel_value(&j, tn);
        g_strchomp(text->str); /* a top-level object ends with a newline */
        cs_rec_str(r, "tunnel", text->str);
        g_string_free(text, TRUE);
    }
    if (changed)
        cs_rec_bool(r, "tunnel_changed", true);
}

void cs_rec_conn(cs_rec *r, const cs_conn_row *row)
{
    cs_rec_str(r, "type", "conn");
    cs_rec_time(r, "ts", row->start);
    rec_endpoints(r, row->uid, row->stream, row->family, row->addr, row->port);
    cs_rec_str(r, "proto", "tcp");
    cs_rec_double(r, "duration", (double)(row->end - row->start) / 1e9, 6);
    cs_rec_uint(r, "orig_bytes", row->bytes[0]);
    cs_rec_uint(r, "resp_bytes", row->bytes[1]);
    cs_rec_str(r, "conn_state", row->state);
    cs_rec_uint(r, "missed_bytes", row->gap_bytes[0] + row->gap_bytes[1]);
    cs_rec_str(r, "history", row->history);
    cs_rec_uint(r, "orig_pkts", row->pkts[0]);
    cs_rec_uint(r, "orig_ip_bytes", row->ip_bytes[0]);
    cs_rec_uint(r, "resp_pkts", row->pkts[1]);
    cs_rec_uint(r, "resp_ip_bytes", row->ip_bytes[1]);
    cs_rec_uint(r, "orig_wire_bytes", row->wire_bytes[0]);
    cs_rec_uint(r, "resp_wire_bytes", row->wire_bytes[1]);
    cs_rec_time(r, "ts_end", row->end);
    cs_rec_uint(r, "syn_pkts", row->syns);
    cs_rec_uint(r, "synack_pkts", row->synacks);
    rec_us_or_null(r, "rtt_syn_synack_us", row->rtt_syn);
    rec_us_or_null(r, "rtt_synack_ack_us", row->rtt_ack);
    cs_rec_bool(r, "established", row->established);
    cs_rec_bool(r, "closed", row->closed);
    cs_rec_str(r, "rst_by", row->rst_by);
    cs_rec_uint(r, "orig_retrans", row->retrans[0]);
    cs_rec_uint(r, "resp_retrans", row->retrans[1]);
    cs_rec_uint(r, "orig_ooo", row->ooo[0]);
    cs_rec_uint(r, "resp_ooo", row->ooo[1]);
    cs_rec_uint(r, "orig_zero_win", row->zero_win[0]);
    cs_rec_uint(r, "resp_zero_win", row->zero_win[1]);
    cs_rec_uint(r, "orig_missed_bytes", row->gap_bytes[0]);
    cs_rec_uint(r, "resp_missed_bytes", row->gap_bytes[1]);
    cs_rec_str(r, "roles_by", row->role_how);
    cs_rec_str(r, "end_reason", row->end_reason);
    cs_rec_bool(r, "resumed", row->resumed);
    cs_rec_str(r, "service", row->service);
    if (row->has_http || row->has_ex)
        rec_conn_http(r, row);
    if (row->has_h2)
        rec_conn_h2(r, &row->h2);
    if (row->tls != NULL)
        rec_conn_tls(r, row->tls);
    if (row->tunnel != NULL || row->tunnel_changed || r->names != NULL)
        rec_tunnel(r, row->tunnel, row->tunnel_changed);
}

/* The HTTP/2 fields of an http record (exchanges on an HTTP/2 stream only). */
static void rec_http_h2(cs_rec *r, const cs_http_tx *tx)
{
    char buf[16];
    cs_rec_uint(r, "h2_stream_id", tx->h2_stream_id);
    cs_rec_str(r, "scheme", tx->scheme);
    if (tx->h2_reset || r->names != NULL) {
        cs_rec_str(r, "h2_error", cs_h2_error_name(tx->h2_error, buf));
        cs_rec_str(r, "h2_reset_by", tx->h2_reset_by_client ? "orig" : "resp");
    } else {
        cs_rec_null(r, "h2_error");
    }
    cs_rec_bool(r, "h2_pushed", tx->h2_pushed);
    cs_rec_bool(r, "h2_upgrade", tx->h2_upgrade);
    cs_rec_bool(r, "headers_undecodable", tx->headers_undecodable);
    cs_rec_bool(r, "request_trailers", tx->req_trailers);
    cs_rec_bool(r, "response_trailers", tx->resp_trailers);
}

void cs_rec_http(cs_rec *r, const cs_http_row *row)
{
    const cs_http_tx *tx = row->tx;
    cs_http_times t;
    cs_http_times_of(tx, &t);
    cs_rec_str(r, "type", "http");
    cs_rec_time(r, "ts", tx->has_request ? tx->req_start : tx->resp_start);
    rec_endpoints(r, row->uid, row->stream, row->family, row->addr, row->port);
    cs_rec_uint(r, "trans_depth", tx->depth);
    cs_rec_str(r, "method", tx->method);
    cs_rec_str(r, "host", tx->host);
    cs_rec_str(r, "uri", tx->uri);
    cs_rec_str(r, "version", tx->version[0] ? tx->version : NULL);
    cs_rec_str(r, "user_agent", tx->user_agent);
    cs_rec_uint(r, "request_body_len", tx->req_body_len);
    cs_rec_uint(r, "response_body_len", tx->resp_body_len);
    cs_rec_uint(r, "request_body_wire", tx->req_body_wire);
    cs_rec_uint(r, "response_body_wire", tx->resp_body_wire);
    if (tx->has_response)
        cs_rec_uint(r, "status_code", tx->status);
    else
        cs_rec_null(r, "status_code");
    cs_rec_str(r, "status_msg", tx->status_msg);
    if (tx->info_code != 0)
        cs_rec_uint(r, "info_code", tx->info_code);
    else
        cs_rec_null(r, "info_code");
    cs_rec_str(r, "resp_version", tx->resp_version[0] ? tx->resp_version : NULL);
    cs_rec_str(r, "outcome", cs_http_outcome_name((cs_http_outcome)tx->outcome));
    rec_time_or_null(r, "request_start", tx->req_start);
    rec_time_or_null(r, "request_end", tx->req_end);
    rec_time_or_null(r, "response_start", tx->resp_start);
    rec_time_or_null(r, "response_end", tx->resp_done ? tx->resp_end : -1);
    rec_int_or_null(r, "request_us", t.req_us);
    rec_int_or_null(r, "ttfb_us", t.ttfb_us);
    rec_int_or_null(r, "ttlb_us", t.ttlb_us);
    rec_int_or_null(r, "total_us", t.total_us);
    rec_int_or_null(r, "info_us", t.info_us);
    rec_int_or_null(r, "wait_us", t.wait_us);
    cs_rec_bool(r, "pipelined", tx->pipelined);
    cs_rec_bool(r, "request_gap", tx->req_gap);
    cs_rec_bool(r, "response_gap", tx->resp_gap);
    if (tx->h2_stream_id > 0 || r->names != NULL)
        rec_http_h2(r, tx);
}

GPtrArray *cs_rec_conn_fields(void)
{
    static const cs_tls_summary tls; /* any: only the names are collected */
    cs_conn_row row;
    memset(&row, 0, sizeof row);
    row.has_http = row.has_ex = row.has_h2 = true;
    row.tls = &tls;
    cs_rec r = {.names = g_ptr_array_new()};
    cs_rec_conn(&r, &row);
    return r.names;
}

GPtrArray *cs_rec_http_fields(void)
{
    cs_http_tx tx;
    memset(&tx, 0, sizeof tx);
    cs_http_row row;
    memset(&row, 0, sizeof row);
    row.tx = &tx;
    cs_rec r = {.names = g_ptr_array_new()};
    cs_rec_http(&r, &row);
    return r.names;
}
