/* summary.c - the summary file: writing every aggregate as raw counts (reading it back is
 * summary_read.c), and the checks that decide whether two summaries can be merged. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "output.h"
#include "summary.h"
#include "util.h"

G_DEFINE_QUARK(cs-summary-error-quark, cs_summary_error)

const char *cs_summary_layout(void)
{
    static char id[256];
    if (id[0] == '\0') {
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "hist=loglin/exact%d/sub%d;pkts=", CS_HIST_EXACT,
                               1 << CS_HIST_SUB_BITS);
        for (int i = 0; i < CS_AN_PKT_CLASSES - 1; i++)
            g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                                   (guint64)cs_an_pkt_upper[i]);
        g_string_append(s, ";bytes=");
        for (int i = 0; i < CS_AN_BYTE_CLASSES - 1; i++)
            g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                                   (guint64)cs_an_byte_upper[i]);
        g_strlcpy(id, s->str, sizeof id);
        g_string_free(s, TRUE);
    }
    return id;
}

/* ---- writing --------------------------------------------------------------------------------- */

static void w_hist(cs_json *j, const char *key, const cs_hist *h)
{
    cs_json_obj_begin(j, key);
    cs_json_uint(j, "n", h->n);
    if (h->n > 0) {
        cs_json_uint(j, "min", h->min);
        cs_json_uint(j, "max", h->max);
        cs_json_double(j, "sum", h->sum, 0);
    }
    cs_json_arr_begin(j, "bins");
    for (uint32_t i = 0; i < h->len; i++) {
        cs_json_arr_begin(j, NULL);
        cs_json_uint(j, NULL, cs_hist_bin_low(h->bins[i]));
        cs_json_uint(j, NULL, h->counts[i]);
        cs_json_arr_end(j);
    }
    cs_json_arr_end(j);
    cs_json_obj_end(j);
}

static void w_bucket_fields(cs_json *j, const cs_an_bucket *b)
{
    cs_json_uint(j, "conns", b->conns);
    cs_json_uint(j, "syn_pkts", b->syn_pkts);
    cs_json_uint(j, "requests", b->requests);
    cs_json_arr_begin(j, "status_class");
    for (int i = 0; i < 6; i++)
        cs_json_uint(j, NULL, b->status_class[i]);
    cs_json_arr_end(j);
    cs_json_uint(j, "unanswered", b->unanswered);
    cs_json_uint(j, "orphans", b->orphans);
    cs_json_uint(j, "bytes_c2s", b->bytes_c2s);
    cs_json_uint(j, "bytes_s2c", b->bytes_s2c);
    w_hist(j, "ttfb_us", &b->ttfb_us);
    w_hist(j, "total_us", &b->total_us);
}

/* The document goes to `out`, and from there to `f` (when not NULL) whenever it holds more than
 * FLUSH_AT bytes: a summary of any size is written with a bounded buffer. */
#define FLUSH_AT (256u << 10)

typedef struct wr {
    GString *out;
    GString *tmp; /* one element */
    FILE *f;
    bool failed;  /* a write to f failed ... */
    int err;      /* ... with this errno */
} wr;

static void wr_flush(wr *w, bool force)
{
    if (w->f == NULL || (!force && w->out->len < FLUSH_AT))
        return;
    if (!w->failed && fwrite(w->out->str, 1, w->out->len, w->f) != w->out->len) {
        w->failed = true;
        w->err = errno;
    }
    g_string_truncate(w->out, 0);
}

/* Starts a fresh one-element writer on w->tmp (the element goes on its own line). */
static cs_json *elem(cs_json *j, wr *w)
{
    g_string_truncate(w->tmp, 0);
    cs_json_init(j, w->tmp);
    return j;
}

/* Appends w->tmp (a complete top-level value, maybe with a trailing newline) as an element. */
static void put_elem(wr *w, bool *first)
{
    GString *tmp = w->tmp;
    if (tmp->len > 0 && tmp->str[tmp->len - 1] == '\n')
        g_string_truncate(tmp, tmp->len - 1);
    g_string_append(w->out, *first ? "\n  " : ",\n  ");
    g_string_append_len(w->out, tmp->str, (gssize)tmp->len);
    *first = false;
    wr_flush(w, false);
}

static void w_addr(cs_json *j, const char *key, uint8_t family, const cs_addr *a)
{
    char buf[64];
    cs_json_str(j, key, cs_addr_str(a, family, buf, sizeof buf));
}

/* "server_conns": connections per server, one per line; null when a merged input had none. */
static void w_conn_servers(wr *w, const cs_analytics *a)
{
    cs_json j;
    if (a->conn_servers_missing) {
        g_string_append(w->out, ",\n\"server_conns\":null");
        return;
    }
    g_string_append(w->out, ",\n\"server_conns\":[");
    GPtrArray *cs = cs_analytics_conn_servers_sorted(a);
    bool first = true;
    for (guint i = 0; i < cs->len; i++) {
        const cs_an_conn_server *s = cs->pdata[i];
        const cs_server_conns *c = &s->c;
        elem(&j, w);
        cs_json_obj_begin(&j, NULL);
        w_addr(&j, "addr", s->family, &s->addr);
        cs_json_uint(&j, "port", s->port);
        cs_json_uint(&j, "conns", c->conns);
        cs_json_uint(&j, "established", c->established);
        cs_json_uint(&j, "refused", c->refused);
        cs_json_uint(&j, "reset", c->reset);
        cs_json_uint(&j, "open_at_end", c->open_at_end);
        cs_json_uint(&j, "midstream", c->midstream);
        cs_json_uint(&j, "bytes_c2s", c->bytes_c2s);
        cs_json_uint(&j, "bytes_s2c", c->bytes_s2c);
        cs_json_uint(&j, "pkts_c2s", c->pkts_c2s);
        cs_json_uint(&j, "pkts_s2c", c->pkts_s2c);
        w_hist(&j, "duration_us", &c->duration_us);
        w_hist(&j, "rtt_us", &c->rtt_us);
        cs_json_obj_end(&j);
        put_elem(w, &first);
    }
    g_string_append(w->out, first ? "]" : "\n  ]");
    g_ptr_array_free(cs, TRUE);
}

/* The edge flags as letters: S the client's SYN, A the server's SYN/ACK, E established, C closed,
 * F ended by the end of the input, R refused (REJ), T an RST, H HTTP parsed. */
static const char edge_letters[] = "SAECFRTH";

static void w_edge(cs_json *j, const cs_an_edge *e)
{
    char flags[9], ip[64];
    bool f[8] = {e->syn, e->synack, e->established, e->closed, e->eof, e->refused, e->rst, e->http};
    int n = 0;
    for (int i = 0; i < 8; i++)
        if (f[i])
            flags[n++] = edge_letters[i];
    flags[n] = '\0';
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "at", (e->kind & CS_EDGE_START) && (e->kind & CS_EDGE_END) ? "both"
                         : (e->kind & CS_EDGE_END)                             ? "end"
                                                                               : "start");
    cs_json_uint(j, "stream", e->stream);
    cs_json_arr_begin(j, "addr");
    for (int i = 0; i < 2; i++)
        cs_json_str(j, NULL, cs_addr_str(&e->addr[i], e->family, ip, sizeof ip));
    cs_json_arr_end(j);
    cs_json_arr_begin(j, "port");
    cs_json_uint(j, NULL, e->port[0]);
    cs_json_uint(j, NULL, e->port[1]);
    cs_json_arr_end(j);
    cs_json_int(j, "start_ns", e->start);
    cs_json_int(j, "end_ns", e->end);
    cs_json_int(j, "last_ns", e->last_ts);
    cs_json_arr_begin(j, "pkts");
    cs_json_uint(j, NULL, e->pkts[0]);
    cs_json_uint(j, NULL, e->pkts[1]);
    cs_json_arr_end(j);
    cs_json_arr_begin(j, "bytes");
    cs_json_uint(j, NULL, e->bytes[0]);
    cs_json_uint(j, NULL, e->bytes[1]);
    cs_json_arr_end(j);
    cs_json_str(j, "flags", flags);
    if (e->rtt_us >= 0)
        cs_json_int(j, "rtt_us", e->rtt_us);
    else
        cs_json_null(j, "rtt_us");
    cs_json_arr_begin(j, "closing_ns");
    cs_json_int(j, NULL, e->closing_ts[0]);
    cs_json_int(j, NULL, e->closing_ts[1]);
    cs_json_arr_end(j);
    cs_json_int(j, "syn_ns", e->syn_ts);
    cs_json_int(j, "synack_ns", e->synack_ts);
    cs_json_arr_begin(j, "http");
    cs_json_uint(j, NULL, e->http_unanswered);
    cs_json_uint(j, NULL, e->http_orphans);
    cs_json_arr_end(j);
    cs_json_arr_begin(j, "seq");
    for (int i = 0; i < 2; i++) {
        if (!e->d[i].seq) {
            cs_json_null(j, NULL);
            continue;
        }
        cs_json_arr_begin(j, NULL);
        cs_json_uint(j, NULL, e->d[i].first);
        cs_json_uint(j, NULL, e->d[i].next_seq);
        cs_json_arr_end(j);
    }
    cs_json_arr_end(j);
    cs_json_obj_end(j);
}

/* "streams", "stitch" and "edges" (null when the edges are not known). */
static void w_edges(wr *w, const cs_analytics *a)
{
    cs_json j;
    g_string_append_printf(w->out,
                           ",\n\"streams\":%" G_GUINT64_FORMAT ",\"stitch\":{\"stitched\":%" G_GUINT64_FORMAT
                           ",\"inexact\":%" G_GUINT64_FORMAT ",\"http_cut\":%" G_GUINT64_FORMAT "}",
                           (guint64)a->streams, (guint64)a->stitch.stitched,
                           (guint64)a->stitch.inexact, (guint64)a->stitch.http_cut);
    if (a->edges == NULL) {
        g_string_append(w->out, ",\n\"edges\":null");
        return;
    }
    g_string_append(w->out, ",\n\"edges\":[");
    bool first = true;
    for (guint i = 0; i < a->edges->len; i++) {
        elem(&j, w);
        w_edge(&j, a->edges->pdata[i]);
        put_elem(w, &first);
    }
    g_string_append(w->out, first ? "]" : "\n  ]");
}

static void w_top(wr *w, const char *name, const cs_topk *t, bool pairs, bool first_member)
{
    cs_json j;
    g_string_append_printf(
        w->out,
        "%s\n\"%s\":{\"approx\":%s,\"floor\":%" G_GUINT64_FORMAT ",\"total\":%" G_GUINT64_FORMAT
        ",\"evictions\":%" G_GUINT64_FORMAT ",\"keys\":[",
        first_member ? "" : ",", name, cs_topk_approx(t) ? "true" : "false",
        (guint64)cs_topk_floor(t), (guint64)cs_topk_total(t), (guint64)cs_topk_evictions(t));
    GPtrArray *all = cs_topk_sorted(t);
    bool first = true;
    for (guint i = 0; i < all->len; i++) {
        const cs_topk_entry *e = all->pdata[i];
        uint8_t family;
        cs_addr addr;
        if (!cs_an_key_decode(e->key, e->len, &family, &addr, NULL, 0))
            continue;
        elem(&j, w);
        cs_json_arr_begin(&j, NULL);
        w_addr(&j, NULL, family, &addr);
        if (pairs) {
            const char *what = (const char *)e->key + 17;
            size_t n = e->len - 17;
            bool plain = g_utf8_validate(what, (gssize)n, NULL);
            if (plain) {
                cs_json_strn(&j, NULL, what, n);
            } else { /* not UTF-8: bytes as hex, so that they read back unchanged */
                char *hex = g_malloc(2 * n + 1);
                cs_json_obj_begin(&j, NULL);
                cs_json_str(&j, "hex", cs_hex((const uint8_t *)what, n, hex));
                cs_json_obj_end(&j);
                g_free(hex);
            }
        }
        cs_json_uint(&j, NULL, e->count);
        cs_json_uint(&j, NULL, e->error);
        cs_json_arr_end(&j);
        put_elem(w, &first);
    }
    g_ptr_array_free(all, TRUE);
    g_string_append(w->out, first ? "]}" : "\n  ]}");
}

/* The scalar members, on the first line. */
static void w_header(wr *w, const cs_analytics *a, const char *generator)
{
    cs_json j;
    char ip[64];
    elem(&j, w);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "format", CS_SUMMARY_FORMAT);
    cs_json_uint(&j, "version", CS_SUMMARY_VERSION);
    cs_json_str(&j, "layout", cs_summary_layout());
    cs_json_str(&j, "generator", generator);
    cs_json_int(&j, "bucket_ns", a->cfg.bucket);
    if (a->cfg.host.on)
        cs_json_str(&j, "host", cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    else
        cs_json_null(&j, "host");
    cs_json_uint(&j, "max_keys", a->cfg.max_keys);
    if (a->first_ts <= a->last_ts) {
        cs_json_int(&j, "first_ts_ns", a->first_ts);
        cs_json_int(&j, "last_ts_ns", a->last_ts);
    } else {
        cs_json_null(&j, "first_ts_ns");
        cs_json_null(&j, "last_ts_ns");
    }
    cs_json_arr_begin(&j, "flow_pkts");
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        cs_json_uint(&j, NULL, a->flow_pkts[i]);
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, "flow_bytes");
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        cs_json_uint(&j, NULL, a->flow_bytes[i]);
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, "inputs");
    for (guint i = 0; i < a->inputs->len; i++)
        cs_json_str(&j, NULL, a->inputs->pdata[i]);
    cs_json_arr_end(&j);
    cs_json_obj_begin(&j, "untimed");
    w_bucket_fields(&j, &a->untimed);
    cs_json_obj_end(&j);
    cs_json_obj_end(&j);
    /* the scalar members on the first line; the long lists below, one element per line */
    g_string_truncate(w->tmp, w->tmp->len - 2); /* "}\n" */
    g_string_append_len(w->out, w->tmp->str, (gssize)w->tmp->len);
}

static void w_document(wr *w, const cs_summary *s, const char *generator)
{
    const cs_analytics *a = s->an;
    cs_json j;
    bool first;
    w_header(w, a, generator);

    g_string_append(w->out, ",\n\"buckets\":[");
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    first = true;
    for (guint i = 0; i < bs->len; i++) {
        const cs_an_bucket *b = bs->pdata[i];
        elem(&j, w);
        cs_json_obj_begin(&j, NULL);
        cs_json_int(&j, "start_ns", b->start);
        w_bucket_fields(&j, b);
        cs_json_obj_end(&j);
        put_elem(w, &first);
    }
    g_ptr_array_free(bs, TRUE);
    g_string_append(w->out, first ? "]" : "\n  ]");

    g_string_append(w->out, ",\n\"servers\":[");
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    first = true;
    for (guint i = 0; i < ss->len; i++) {
        const cs_an_server *sv = ss->pdata[i];
        elem(&j, w);
        cs_json_obj_begin(&j, NULL);
        w_addr(&j, "addr", sv->family, &sv->addr);
        cs_json_uint(&j, "port", sv->port);
        w_hist(&j, "ttfb_us", &sv->ttfb_us);
        w_hist(&j, "total_us", &sv->total_us);
        cs_json_obj_end(&j);
        put_elem(w, &first);
    }
    g_ptr_array_free(ss, TRUE);
    g_string_append(w->out, first ? "]" : "\n  ]");

    w_conn_servers(w, a);

    g_string_append(w->out, ",\n\"top\":{");
    for (int ti = 0; ti < CS_TOP_TABLES; ti++)
        w_top(w, cs_an_top_names[ti], a->top[ti], ti == CS_TOP_CLIENT_REQUEST, ti == 0);
    g_string_append(w->out, "}");
    w_edges(w, a);
    g_string_append(w->out, "\n}\n");
}

void cs_summary_format(const cs_summary *s, const char *generator, GString *out)
{
    wr w = {.out = out, .tmp = g_string_new(NULL)};
    w_document(&w, s, generator);
    g_string_free(w.tmp, TRUE);
}

bool cs_summary_write(const cs_summary *s, const char *path, const char *generator, GError **err)
{
    /* as cs_output_write(), a piece at a time: "-" goes into stdout's buffer, checked by
     * cs_output_finish() */
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    int e = errno;
    bool ok = f != NULL;
    if (ok) {
        wr w = {.out = g_string_new(NULL), .tmp = g_string_new(NULL), .f = f};
        w_document(&w, s, generator);
        wr_flush(&w, true);
        ok = !w.failed;
        e = w.err;
        if (!to_stdout && fclose(f) != 0 && ok) {
            ok = false;
            e = errno;
        }
        g_string_free(w.out, TRUE);
        g_string_free(w.tmp, TRUE);
    }
    if (!ok && !to_stdout)
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_IO, "--summary-out: cannot write %s: %s",
                    path, g_strerror(e));
    return ok || to_stdout;
}

cs_summary *cs_summary_new(const cs_analytics_cfg *cfg)
{
    cs_summary *s = g_new0(cs_summary, 1);
    s->an = cs_analytics_new(cfg);
    return s;
}

void cs_summary_free(cs_summary *s)
{
    if (s == NULL)
        return;
    cs_analytics_free(s->an);
    g_free(s);
}

/* ---- counters that must not wrap ------------------------------------------------------------ */

/* Sums of every counter of an aggregate over its buckets, servers and keys (the totals reports
 * print, and bounds of what a later merge can add up to). */
typedef struct tally {
    const char *over; /* the first counter whose sum passed 2^64-1, NULL if none */
    cs_an_bucket b;   /* bucket counters over every bucket (histograms unused) */
    uint64_t ttfb_n, total_n, srv_ttfb_n, srv_total_n;
    uint64_t flow_pkts[CS_AN_PKT_CLASSES], flow_bytes[CS_AN_BYTE_CLASSES];
    uint64_t top_total[CS_TOP_TABLES], top_floor[CS_TOP_TABLES], top_evict[CS_TOP_TABLES];
    uint64_t top_count[CS_TOP_TABLES]; /* largest count plus floor, per side */
} tally;

static void t_add(tally *t, uint64_t *acc, uint64_t v, const char *name)
{
    if (t->over == NULL && __builtin_add_overflow(*acc, v, acc))
        t->over = name;
}

static void tally_bucket(tally *t, const cs_an_bucket *b)
{
    t_add(t, &t->b.conns, b->conns, "conns");
    t_add(t, &t->b.syn_pkts, b->syn_pkts, "syn_pkts");
    t_add(t, &t->b.requests, b->requests, "requests");
    for (int i = 0; i < 6; i++)
        t_add(t, &t->b.status_class[i], b->status_class[i], "status_class");
    t_add(t, &t->b.unanswered, b->unanswered, "unanswered");
    t_add(t, &t->b.orphans, b->orphans, "orphans");
    t_add(t, &t->b.bytes_c2s, b->bytes_c2s, "bytes_c2s");
    t_add(t, &t->b.bytes_s2c, b->bytes_s2c, "bytes_s2c");
    t_add(t, &t->ttfb_n, b->ttfb_us.n, "ttfb_us");
    t_add(t, &t->total_n, b->total_us.n, "total_us");
}

static void tally_of(tally *t, const cs_analytics *a)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->buckets);
    while (g_hash_table_iter_next(&it, &k, &v))
        tally_bucket(t, v);
    tally_bucket(t, &a->untimed);
    g_hash_table_iter_init(&it, a->servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_an_server *sv = v;
        t_add(t, &t->srv_ttfb_n, sv->ttfb_us.n, "servers.ttfb_us");
        t_add(t, &t->srv_total_n, sv->total_us.n, "servers.total_us");
    }
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        t_add(t, &t->flow_pkts[i], a->flow_pkts[i], "flow_pkts");
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        t_add(t, &t->flow_bytes[i], a->flow_bytes[i], "flow_bytes");
    for (int i = 0; i < CS_TOP_TABLES; i++) {
        const cs_topk *top = a->top[i];
        t_add(t, &t->top_total[i], cs_topk_total(top), "top.total");
        t_add(t, &t->top_floor[i], cs_topk_floor(top), "top.floor");
        /* a merge evicts at most every key it holds */
        t_add(t, &t->top_evict[i], cs_topk_evictions(top), "top.evictions");
        t_add(t, &t->top_evict[i], cs_topk_size(top), "top.evictions");
        /* a merged count is one side's count (or floor) plus the other side's */
        uint64_t max = 0;
        GPtrArray *all = cs_topk_sorted(top);
        if (all->len > 0)
            max = ((const cs_topk_entry *)all->pdata[0])->count;
        g_ptr_array_free(all, TRUE);
        t_add(t, &t->top_count[i], max, "top.keys");
        t_add(t, &t->top_count[i], cs_topk_floor(top), "top.keys");
    }
}

const char *cs_summary_total_overflow(const cs_analytics *a)
{
    tally *t = g_new0(tally, 1);
    tally_of(t, a);
    const char *over = t->over;
    g_free(t);
    return over;
}

bool cs_summary_compatible(const cs_summary *into, const cs_summary_header *part,
                           const char *name, GError **err)
{
    char w0[32], w1[32], h0[64], h1[64];
    const cs_analytics_cfg *cfg = &into->an->cfg;
    if (cfg->bucket % part->bucket != 0) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_MISMATCH,
                    "%s has buckets of %s, which do not divide buckets of %s (give --bucket with a "
                    "common multiple)",
                    name, cs_fmt_duration_exact(part->bucket, w1, sizeof w1),
                    cs_fmt_duration_exact(cfg->bucket, w0, sizeof w0));
        return false;
    }
    const cs_host_filter *a = &cfg->host, *b = &part->host;
    if (a->on != b->on ||
        (a->on && (a->family != b->family || memcmp(&a->addr, &b->addr, 16) != 0))) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_MISMATCH,
                    "%s is narrowed to %s, the merge to %s: summaries of different --host cannot "
                    "be merged",
                    name, b->on ? cs_addr_str(&b->addr, b->family, h1, sizeof h1) : "no host",
                    a->on ? cs_addr_str(&a->addr, a->family, h0, sizeof h0) : "no host");
        return false;
    }
    return true;
}
