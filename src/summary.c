/* summary.c - the summary file: writing every aggregate as raw counts (reading it back is
 * summary_read.c), and the checks that decide whether two summaries can be merged. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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
    bool failed;  /* a write to f failed */
} wr;

static void wr_flush(wr *w, bool force)
{
    if (w->f == NULL || (!force && w->out->len < FLUSH_AT))
        return;
    if (!w->failed && fwrite(w->out->str, 1, w->out->len, w->f) != w->out->len)
        w->failed = true;
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

    g_string_append(w->out, ",\n\"top\":{");
    for (int ti = 0; ti < CS_TOP_TABLES; ti++)
        w_top(w, cs_an_top_names[ti], a->top[ti], ti == CS_TOP_CLIENT_REQUEST, ti == 0);
    g_string_append(w->out, "}\n}\n");
}

void cs_summary_format(const cs_summary *s, const char *generator, GString *out)
{
    wr w = {.out = out, .tmp = g_string_new(NULL)};
    w_document(&w, s, generator);
    g_string_free(w.tmp, TRUE);
}

bool cs_summary_write(const cs_summary *s, const char *path, const char *generator, GError **err)
{
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    bool ok = f != NULL;
    if (ok) {
        wr w = {.out = g_string_new(NULL), .tmp = g_string_new(NULL), .f = f};
        w_document(&w, s, generator);
        wr_flush(&w, true);
        ok = !w.failed;
        ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
        g_string_free(w.out, TRUE);
        g_string_free(w.tmp, TRUE);
    }
    if (!ok)
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_IO, "%s: cannot write the summary: %s",
                    path, g_strerror(errno));
    return ok;
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
