/* report_analytics_json.c - the analytics sections as JSON lines (types "analytics", "top_talker",
 * "activity", "latency", "flow_profile"). */
#include <string.h>

#include "json.h"
#include "report.h"
#include "util.h"

static void json_line(GString *buf, FILE *out)
{
    fwrite(buf->str, 1, buf->len, out);
    g_string_truncate(buf, 0);
}

static void json_lat(cs_json *j, const char *key, const cs_hist *h)
{
    cs_json_obj_begin(j, key);
    cs_json_uint(j, "n", h->n);
    if (h->n > 0) {
        cs_json_uint(j, "p50", cs_hist_percentile(h, 50));
        cs_json_uint(j, "p90", cs_hist_percentile(h, 90));
        cs_json_uint(j, "p99", cs_hist_percentile(h, 99));
        cs_json_uint(j, "max", h->max);
    } else {
        cs_json_null(j, "p50");
        cs_json_null(j, "p90");
        cs_json_null(j, "p99");
        cs_json_null(j, "max");
    }
    cs_json_obj_end(j);
}

static void json_slow(cs_json *j, const cs_an_report_opts *o, const cs_hist *tot)
{
    cs_json_arr_begin(j, "slow");
    for (int i = 0; i < o->n_slow; i++) {
        uint64_t lo, hi;
        cs_an_slow_bounds(tot, o->slow_us[i], &lo, &hi);
        cs_json_obj_begin(j, NULL);
        cs_json_uint(j, "over_us", o->slow_us[i]);
        cs_json_uint(j, "min", lo);
        cs_json_uint(j, "max", hi);
        cs_json_obj_end(j);
    }
    cs_json_arr_end(j);
}

typedef struct json_ctx {
    cs_json j;
    GString *buf;
    FILE *out;
    const cs_an_report_opts *o;
    cs_time_t width;
} json_ctx;

static void json_bucket_cb(const cs_an_bucket *b, void *ctx)
{
    json_ctx *c = ctx;
    cs_json *j = &c->j;
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "type", "activity");
    cs_json_time(j, "start", b->start);
    /* the last bucket before INT64_MAX ns (year 2262) ends at the end of time */
    cs_json_time(j, "end", b->start > INT64_MAX - c->width ? INT64_MAX : b->start + c->width);
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
    json_lat(j, "ttfb_us", &b->ttfb_us);
    json_lat(j, "total_us", &b->total_us);
    json_slow(j, c->o, &b->total_us);
    cs_json_obj_end(j);
    json_line(c->buf, c->out);
}

/* The first line: what the analytics cover. */
static void json_head(json_ctx *c, const cs_analytics *a)
{
    cs_json *j = &c->j;
    char ip[64];
    cs_an_bucket tot;
    cs_analytics_totals(a, &tot);
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "type", "analytics");
    cs_json_double(j, "bucket_s", (double)a->cfg.bucket / 1e9, 6);
    if (a->cfg.host.on)
        cs_json_str(j, "host", cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    else
        cs_json_null(j, "host");
    if (a->first_ts <= a->last_ts) {
        cs_json_time(j, "first_ts", a->first_ts);
        cs_json_time(j, "last_ts", a->last_ts);
    } else {
        cs_json_null(j, "first_ts");
        cs_json_null(j, "last_ts");
    }
    cs_json_uint(j, "conns", tot.conns);
    cs_json_uint(j, "syn_pkts", tot.syn_pkts);
    cs_json_uint(j, "requests", tot.requests);
    if (c->o->servers)
        cs_json_bool(j, "server_conns_missing", a->conn_servers_missing);
    cs_json_obj_end(j);
    json_line(c->buf, c->out);
    cs_an_bucket_clear(&tot);
}

/* The first n rows of each top-talker table. */
static void json_top(json_ctx *c, const cs_analytics *a, int n)
{
    cs_json *j = &c->j;
    char ip[64];
    for (int ti = 0; ti < CS_TOP_TABLES; ti++) {
        const cs_topk *t = a->top[ti];
        GPtrArray *all = cs_topk_sorted(t);
        for (guint i = 0; i < all->len && (int)i < n; i++) {
            const cs_topk_entry *e = all->pdata[i];
            uint8_t family;
            cs_addr addr;
            gchar *what = g_malloc(e->len + 1);
            cs_an_key_decode(e->key, e->len, &family, &addr, what, e->len + 1);
            cs_json_obj_begin(j, NULL);
            cs_json_str(j, "type", "top_talker");
            cs_json_str(j, "table", cs_an_top_names[ti]);
            cs_json_uint(j, "rank", i + 1);
            cs_json_str(j, "client", cs_addr_str(&addr, family, ip, sizeof ip));
            if (ti == CS_TOP_CLIENT_REQUEST) {
                char *sp = strchr(what, ' ');
                if (sp != NULL)
                    *sp = '\0';
                cs_json_str(j, "method", what);
                cs_json_str(j, "path", sp != NULL ? sp + 1 : "");
            }
            cs_json_uint(j, "count", e->count);
            cs_json_uint(j, "error", e->error);
            cs_json_uint(j, "total", cs_topk_total(t));
            cs_json_bool(j, "approx", cs_topk_approx(t));
            cs_json_uint(j, "floor", cs_topk_floor(t));
            cs_json_obj_end(j);
            json_line(c->buf, c->out);
            g_free(what);
        }
        g_ptr_array_free(all, TRUE);
    }
}

static void json_latency(json_ctx *c, const cs_analytics *a)
{
    cs_json *j = &c->j;
    char ip[64];
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    for (guint i = 0; i < ss->len; i++) {
        const cs_an_server *s = ss->pdata[i];
        cs_json_obj_begin(j, NULL);
        cs_json_str(j, "type", "latency");
        cs_json_str(j, "server", cs_addr_str(&s->addr, s->family, ip, sizeof ip));
        cs_json_uint(j, "port", s->port);
        json_lat(j, "ttfb_us", &s->ttfb_us);
        json_lat(j, "total_us", &s->total_us);
        json_slow(j, c->o, &s->total_us);
        cs_json_obj_end(j);
        json_line(c->buf, c->out);
    }
    g_ptr_array_free(ss, TRUE);
}

static void json_flows(json_ctx *c, const cs_analytics *a)
{
    cs_json *j = &c->j;
    for (int by = 0; by < 2; by++) {
        int n = by == 0 ? CS_AN_PKT_CLASSES : CS_AN_BYTE_CLASSES;
        for (int i = 0; i < n; i++) {
            cs_json_obj_begin(j, NULL);
            cs_json_str(j, "type", "flow_profile");
            cs_json_str(j, "by", by == 0 ? "packets" : "bytes");
            cs_json_str(j, "class", by == 0 ? cs_an_pkt_label(i) : cs_an_byte_label(i));
            cs_json_uint(j, "conns", by == 0 ? a->flow_pkts[i] : a->flow_bytes[i]);
            cs_json_obj_end(j);
            json_line(c->buf, c->out);
        }
    }
}

/* Connections per server from the summaries (merge): "server" records (not with --by-ip) and
 * "server_ip" records, as a run writes them (without the SYN counts, which summaries lack). */
static void json_conn_servers(json_ctx *c, const cs_analytics *a)
{
    if (a->conn_servers_missing)
        return; /* the analytics record says so: server_conns_missing */
    GPtrArray *cs = cs_analytics_conn_servers_sorted(a);
    char ip[64];
    for (guint i = 0; !c->o->by_ip && i < cs->len; i++) {
        const cs_an_conn_server *s = cs->pdata[i];
        cs_json_obj_begin(&c->j, NULL);
        cs_json_str(&c->j, "type", "server");
        cs_json_str(&c->j, "resp_h", cs_addr_str(&s->addr, s->family, ip, sizeof ip));
        cs_json_uint(&c->j, "resp_p", s->port);
        cs_report_json_server_conns(&c->j, &s->c);
        cs_json_obj_end(&c->j);
        json_line(c->buf, c->out);
    }
    cs_server_layout l = CS_SERVER_LAYOUT(cs_an_conn_server);
    GPtrArray *ips = cs_server_ips(cs, &l);
    cs_report_json_server_ips(c->out, c->buf, ips);
    g_ptr_array_free(ips, TRUE);
    g_ptr_array_free(cs, TRUE);
}

void cs_analytics_report_json(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    json_ctx c = {.buf = g_string_new(NULL), .out = out, .o = o, .width = a->cfg.bucket};
    cs_json_init(&c.j, c.buf);
    json_head(&c, a);
    if (o->top_n > 0)
        json_top(&c, a, o->top_n);
    if (o->activity)
        cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, json_bucket_cb, &c);
    if (o->latency)
        json_latency(&c, a);
    if (o->flows)
        json_flows(&c, a);
    if (o->servers)
        json_conn_servers(&c, a);
    g_string_free(c.buf, TRUE);
    fflush(out);
}
