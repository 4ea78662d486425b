/* report_analytics_text.c - the analytics sections as aligned text tables: top talkers, activity
 * and latency per time bucket, latency per server, the flow profile (-A, --top, --latency, ...). */
#include <string.h>

#include "report.h"
#include "util.h"

/* Printable copy of s: valid UTF-8, control characters and tabs as '?', at most max characters. */
static gchar *printable(const char *s, glong max)
{
    gchar *v = g_utf8_make_valid(s, -1);
    if (g_utf8_strlen(v, -1) > max) {
        gchar *cut = g_utf8_substring(v, 0, max - 3);
        g_free(v);
        v = g_strconcat(cut, "...", NULL);
        g_free(cut);
    }
    for (gchar *q = v; *q; q++)
        if ((guchar)*q < 0x20 || *q == 0x7f)
            *q = '?';
    return v;
}

static char *fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len)
{
    if (whole == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)whole);
    return buf;
}

static char *fmt_us(const cs_hist *h, double q, char *buf, size_t len)
{
    if (h->n == 0)
        return strcpy(buf, "-");
    uint64_t v = q >= 100 ? h->max : cs_hist_percentile(h, q);
    return cs_fmt_duration((cs_time_t)v * CS_NS_PER_US, buf, len);
}

/* "12 (3.4%)", or "12-15 (3.4-4.3%)" when the threshold splits a bin. */
static char *fmt_slow(const cs_hist *h, uint64_t us, char *buf, size_t len)
{
    uint64_t lo, hi;
    char p0[16], p1[16];
    if (h->n == 0)
        return strcpy(buf, "-");
    cs_an_slow_bounds(h, us, &lo, &hi);
    if (lo == hi)
        snprintf(buf, len, "%" G_GUINT64_FORMAT " (%s)", (guint64)lo,
                 fmt_pct(lo, h->n, p0, sizeof p0));
    else
        snprintf(buf, len, "%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " (%s-%s)", (guint64)lo,
                 (guint64)hi, fmt_pct(lo, h->n, p0, sizeof p0), fmt_pct(hi, h->n, p1, sizeof p1));
    return buf;
}

static const char *const top_titles[CS_TOP_TABLES] = {
    "clients by HTTP requests", "clients by connections", "(client, request) pairs by requests"};
static const char *const top_units[CS_TOP_TABLES] = {"requests", "connections", "requests"};

static void text_top(const cs_analytics *a, int n, FILE *out)
{
    for (int ti = 0; ti < CS_TOP_TABLES; ti++) {
        const cs_topk *t = a->top[ti];
        bool pairs = ti == CS_TOP_CLIENT_REQUEST, approx = cs_topk_approx(t);
        GPtrArray *all = cs_topk_sorted(t);
        fprintf(out, "\nTop %d %s (", n, top_titles[ti]);
        if (approx)
            fprintf(out,
                    "approximate: Space-Saving with %u counters after %" G_GUINT64_FORMAT
                    " evictions; %" G_GUINT64_FORMAT " %s)\n",
                    cs_topk_max_keys(t), (guint64)cs_topk_evictions(t), (guint64)cs_topk_total(t),
                    top_units[ti]);
        else
            fprintf(out, "exact: %" G_GUINT64_FORMAT " %.*s, %u %s)\n", (guint64)cs_topk_total(t),
                    (int)strlen(top_units[ti]) - (cs_topk_total(t) == 1), top_units[ti], all->len,
                    pairs ? (all->len == 1 ? "pair" : "pairs")
                          : (all->len == 1 ? "client" : "clients"));
        if (all->len == 0) {
            fprintf(out, "  (none)\n");
            g_ptr_array_free(all, TRUE);
            continue;
        }
        cs_table tb;
        cs_table_init(&tb, pairs ? (approx ? "rlllrrr" : "rlllrr") : (approx ? "rlrrr" : "rlrr"));
        cs_table_row(&tb, "rank\tclient%s\t%s%s\tshare", pairs ? "\tmethod\tpath" : "",
                     top_units[ti], approx ? "\terror" : "");
        for (guint i = 0; i < all->len && (int)i < n; i++) {
            const cs_topk_entry *e = all->pdata[i];
            uint8_t family;
            cs_addr addr;
            char ip[64], pct[16];
            gchar *what = g_malloc(e->len + 1);
            cs_an_key_decode(e->key, e->len, &family, &addr, what, e->len + 1);
            cs_addr_str(&addr, family, ip, sizeof ip);
            gchar *sp = strchr(what, ' ');
            if (sp != NULL)
                *sp = '\0';
            gchar *method = printable(what, 20);
            gchar *path = printable(sp != NULL ? sp + 1 : "", 60);
            GString *row = g_string_new(NULL);
            g_string_append_printf(row, "%u\t%s", i + 1, ip);
            if (pairs)
                g_string_append_printf(row, "\t%s\t%s", method, path);
            g_string_append_printf(row, "\t%" G_GUINT64_FORMAT, (guint64)e->count);
            if (approx)
                g_string_append_printf(row, "\t%" G_GUINT64_FORMAT, (guint64)e->error);
            g_string_append_printf(row, "\t%s",
                                   fmt_pct(e->count, cs_topk_total(t), pct, sizeof pct));
            cs_table_row(&tb, "%s", row->str);
            g_string_free(row, TRUE);
            g_free(method);
            g_free(path);
            g_free(what);
        }
        cs_table_print(&tb, out);
        if (approx)
            fprintf(out,
                    "  (each count is at most `error` above the true count; a %s not listed "
                    "had at most %" G_GUINT64_FORMAT " %s)\n",
                    pairs ? "pair" : "client", (guint64)cs_topk_floor(t), top_units[ti]);
        g_ptr_array_free(all, TRUE);
    }
}

static void activity_row(cs_table *t, const char *label, const cs_an_bucket *b)
{
    char c2s[32], s2c[32];
    cs_table_row(t,
                 "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                 "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                 "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                 "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s",
                 label, (guint64)b->conns, (guint64)b->syn_pkts, (guint64)b->requests,
                 (guint64)b->status_class[1], (guint64)b->status_class[2],
                 (guint64)b->status_class[3], (guint64)b->status_class[4],
                 (guint64)b->status_class[5], (guint64)b->status_class[0], (guint64)b->unanswered,
                 (guint64)b->orphans, cs_fmt_bytes(b->bytes_c2s, c2s, sizeof c2s),
                 cs_fmt_bytes(b->bytes_s2c, s2c, sizeof s2c));
}

static void activity_cb(const cs_an_bucket *b, void *ctx)
{
    char ts[40];
    activity_row(ctx, cs_fmt_time_short(b->start, ts, sizeof ts), b);
}

typedef struct lat_ctx {
    cs_table *t;
    const cs_an_report_opts *o;
} lat_ctx;

static void latency_row(cs_table *t, const cs_an_report_opts *o, const char *label,
                        const cs_hist *f, const cs_hist *tot)
{
    char v[8][32], n[64];
    GString *row = g_string_new(label);
    /* the total time (and the slow shares) need the response's end: when some exchanges lack it
     * (cut by the end of the capture), say over how many they are computed */
    if (tot->n != f->n)
        g_snprintf(n, sizeof n, "%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " complete)",
                   (guint64)f->n, (guint64)tot->n);
    else
        g_snprintf(n, sizeof n, "%" G_GUINT64_FORMAT, (guint64)f->n);
    g_string_append_printf(row, "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", n, fmt_us(f, 50, v[0], 32),
                           fmt_us(f, 90, v[1], 32), fmt_us(f, 99, v[2], 32),
                           fmt_us(f, 100, v[3], 32), fmt_us(tot, 50, v[4], 32),
                           fmt_us(tot, 90, v[5], 32), fmt_us(tot, 99, v[6], 32),
                           fmt_us(tot, 100, v[7], 32));
    for (int i = 0; i < o->n_slow; i++) {
        char s[64];
        g_string_append_printf(row, "\t%s", fmt_slow(tot, o->slow_us[i], s, sizeof s));
    }
    cs_table_row(t, "%s", row->str);
    g_string_free(row, TRUE);
}

static void latency_cb(const cs_an_bucket *b, void *ctx)
{
    lat_ctx *l = ctx;
    char ts[40];
    latency_row(l->t, l->o, cs_fmt_time_short(b->start, ts, sizeof ts), &b->ttfb_us, &b->total_us);
}

static void latency_header(cs_table *t, const cs_an_report_opts *o, const char *first)
{
    static char align[32];
    int n = 0;
    align[n++] = 'l';
    for (int i = 0; i < 9 + o->n_slow && n < (int)sizeof align - 1; i++)
        align[n++] = 'r';
    align[n] = '\0';
    cs_table_init(t, align);
    GString *h = g_string_new(first);
    g_string_append(h, "\texchanges\tttfb p50\tp90\tp99\tmax\ttotal p50\tp90\tp99\tmax");
    for (int i = 0; i < o->n_slow; i++) {
        char d[32];
        g_string_append_printf(
            h, "\ttotal > %s",
            cs_fmt_duration_exact((cs_time_t)o->slow_us[i] * CS_NS_PER_US, d, sizeof d));
    }
    cs_table_row(t, "%s", h->str);
    g_string_free(h, TRUE);
}

static const char latency_note[] =
    "  (paired exchanges; ttfb: request end to first response byte; total: request start to last "
    "response byte,\n   over the complete exchanges, as the slow shares are. Percentiles are "
    "nearest-rank values rounded\n   to the middle of a fixed histogram bin: within 0.8% of the "
    "true value, exact below 128us; max is\n   exact. A slow count is a range when exchanges lie "
    "within 1/64 of the threshold (one histogram bin).)\n";

static void text_activity(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    char w[32];
    cs_table t;
    cs_an_bucket tot;
    cs_fmt_duration_exact(a->cfg.bucket, w, sizeof w);
    cs_table_init(&t, "lrrrrrrrrrrrrr");
    cs_table_row(&t, "bucket start (UTC)\tconns\tSYNs\trequests\t1xx\t2xx\t3xx\t4xx\t5xx\tother"
                     "\tno resp\torphan\tbytes c>s\tbytes s>c");
    bool all = cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, activity_cb, &t);
    cs_analytics_totals(a, &tot);
    activity_row(&t, "total", &tot);
    fprintf(out, "\nActivity per %s bucket (%s)\n", w,
            all ? "buckets without events show zeros"
                : "too many buckets: only those with events are listed");
    cs_table_print(&t, out);
    if (a->untimed.requests + a->untimed.orphans > 0)
        fprintf(out,
                "  (%" G_GUINT64_FORMAT " exchanges without a capture time are counted in "
                "the total only)\n",
                (guint64)(a->untimed.requests + a->untimed.orphans));

    lat_ctx l = {.t = &t, .o = o};
    latency_header(&t, o, "bucket start (UTC)");
    cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, latency_cb, &l);
    latency_row(&t, o, "total", &tot.ttfb_us, &tot.total_us);
    fprintf(out, "\nLatency per %s bucket\n", w);
    cs_table_print(&t, out);
    if (!o->latency) /* else printed once, under the table per server */
        fputs(latency_note, out);
    cs_an_bucket_clear(&tot);
}

static void text_latency(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    cs_table t;
    cs_hist f, tot;
    memset(&f, 0, sizeof f);
    memset(&tot, 0, sizeof tot);
    latency_header(&t, o, "server");
    for (guint i = 0; i < ss->len; i++) {
        const cs_an_server *s = ss->pdata[i];
        char ep[64];
        cs_endpoint_str(&s->addr, s->family, s->port, ep, sizeof ep);
        latency_row(&t, o, ep, &s->ttfb_us, &s->total_us);
        cs_hist_merge(&f, &s->ttfb_us);
        cs_hist_merge(&tot, &s->total_us);
    }
    fprintf(out, "\nLatency per server\n");
    if (ss->len == 0) {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(out, "  (no paired HTTP exchanges)\n");
    } else {
        latency_row(&t, o, "all", &f, &tot);
        cs_table_print(&t, out);
        fputs(latency_note, out);
    }
    cs_hist_clear(&f);
    cs_hist_clear(&tot);
    g_ptr_array_free(ss, TRUE);
}

static void text_flows(const cs_analytics *a, FILE *out)
{
    uint64_t n = 0;
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        n += a->flow_pkts[i];
    fprintf(out,
            "\nFlow profile: %" G_GUINT64_FORMAT " connection record%s by packets and by "
            "payload bytes (both directions)\n",
            (guint64)n, n == 1 ? "" : "s");
    cs_table t;
    char pct[16];
    cs_table_init(&t, "lrr");
    cs_table_row(&t, "packets\tconns\tshare");
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%s", cs_an_pkt_label(i),
                     (guint64)a->flow_pkts[i], fmt_pct(a->flow_pkts[i], n, pct, sizeof pct));
    cs_table_print(&t, out);
    cs_table_init(&t, "lrr");
    cs_table_row(&t, "payload bytes\tconns\tshare");
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%s", cs_an_byte_label(i),
                     (guint64)a->flow_bytes[i], fmt_pct(a->flow_bytes[i], n, pct, sizeof pct));
    cs_table_print(&t, out);
}

/* Connections per server (and per IP) from the summaries (merge). */
static void text_conn_servers(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    if (a->conn_servers_missing) {
        fprintf(out,
                "\nConnections per server%s\n  (not in every summary: summaries of format "
                "version 1 have none)\n",
                o->by_ip ? " IP" : "");
        return;
    }
    GPtrArray *cs = cs_analytics_conn_servers_sorted(a);
    cs_server_layout l = CS_SERVER_LAYOUT(cs_an_conn_server);
    cs_report_server_table(out, cs, &l, o->by_ip, false);
    g_ptr_array_free(cs, TRUE);
}

void cs_analytics_report_text(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    cs_an_bucket tot;
    char w[32], t0[40], t1[40], host[64];
    cs_analytics_totals(a, &tot);
    cs_fmt_duration_exact(a->cfg.bucket, w, sizeof w);
    fprintf(out,
            "Analytics: %" G_GUINT64_FORMAT " connection%s, %" G_GUINT64_FORMAT
            " SYN packet%s, %" G_GUINT64_FORMAT " HTTP request%s",
            (guint64)tot.conns, tot.conns == 1 ? "" : "s", (guint64)tot.syn_pkts,
            tot.syn_pkts == 1 ? "" : "s", (guint64)tot.requests, tot.requests == 1 ? "" : "s");
    if (a->first_ts <= a->last_ts)
        fprintf(out, ", %s to %s UTC", cs_fmt_time(a->first_ts, t0, sizeof t0),
                cs_fmt_time(a->last_ts, t1, sizeof t1));
    fprintf(out, "; buckets of %s", w);
    if (a->cfg.host.on)
        fprintf(out, "; host %s (as client or server)",
                cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, host, sizeof host));
    fputc('\n', out);
    cs_an_bucket_clear(&tot);
    if (o->top_n > 0)
        text_top(a, o->top_n, out);
    if (o->activity)
        text_activity(a, o, out);
    if (o->latency)
        text_latency(a, o, out);
    if (o->flows)
        text_flows(a, out);
    if (o->servers)
        text_conn_servers(a, o, out);
    fflush(out);
}
