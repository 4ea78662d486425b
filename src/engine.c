/* engine.c - the analysis run: hook implementations that carry events up from the flow table to the
 * app layer, stats and the report writer, the per-packet loop body, and interval bookkeeping. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "engine.h"
#include "stats.h"
#include "util.h"

struct cs_engine {
    cs_engine_cfg cfg;
    cs_report *report;
    cs_counters ctr;
    cs_counters ctr_mark;     /* counters at the start of the current interval */
    cs_flow_hooks hooks;
    cs_http_sink http_sink;
    cs_flow_table *flow;
    cs_defrag *defrag;
    cs_app *app;
    cs_stats stats;           /* cumulative */
    cs_stats cur;             /* current interval (only with cfg.interval) */
    cs_time_t ivl_start;      /* start of the current interval, INT64_MIN before the first packet */
    cs_time_t last_ts;
    uint64_t frame;
    uint64_t drops[3], drops_mark[3];
    bool have_drops;
};

/* ---- event fan-out: cumulative stats, and the interval's when intervals are on -------------- */

#define EACH_STATS(e, s)                                                                           \
    for (cs_stats *s = &(e)->stats; s != NULL; s = (s == &(e)->stats && (e)->cfg.interval > 0)    \
                                                       ? &(e)->cur                                 \
                                                       : NULL)

/* Does connection c pass the record filters (--server, --client, --stream, --host)? */
static bool conn_wanted(const cs_engine *e, const cs_conn *c)
{
    const cs_engine_filter *f = &e->cfg.filter;
    int cl = c->client, sv = !c->client;
    if (f->stream_set && c->stream != f->stream)
        return false;
    if (f->server_set &&
        (c->family != f->server_family || memcmp(&c->addr[sv], &f->server, sizeof f->server) != 0 ||
         (f->server_port != 0 && c->port[sv] != f->server_port)))
        return false;
    if (f->client_set &&
        (c->family != f->client_family || memcmp(&c->addr[cl], &f->client, sizeof f->client) != 0))
        return false;
    return cs_host_filter_match(&f->host, c->family, &c->addr[0], &c->addr[1]);
}

static void on_conn_new(void *ctx, cs_conn *c)
{
    cs_engine *e = ctx;
    if (!conn_wanted(e, c))
        return;
    EACH_STATS(e, s)
    cs_stats_conn_started(s);
}

static void on_syn(void *ctx, cs_conn *c, int dir, bool first, cs_time_t ts)
{
    cs_engine *e = ctx;
    if (!conn_wanted(e, c))
        return;
    EACH_STATS(e, s)
    cs_stats_syn(s, c->family, &c->addr[!dir], c->port[!dir], first);
    if (e->cfg.analytics != NULL)
        cs_analytics_syn(e->cfg.analytics, ts);
}

static void on_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    cs_engine *e = ctx;
    cs_app_summary app;
    cs_app_conn_end(e->app, c, &app);
    if (!conn_wanted(e, c)) {
        cs_app_summary_clear(&app);
        return;
    }
    cs_conn_row row;
    cs_conn_row_fill(&row, c, why, &app);
    if (e->cfg.edge_tuples != NULL && (why == CS_END_EOF || row.syns == 0)) {
        /* -j: remember connections open at the end or joined mid-stream, by canonical tuple */
        int a = memcmp(&c->addr[0], &c->addr[1], sizeof c->addr[0]) < 0 ||
                        (memcmp(&c->addr[0], &c->addr[1], sizeof c->addr[0]) == 0 &&
                         c->port[0] <= c->port[1])
                    ? 0
                    : 1;
        char ea[64], eb[64];
        cs_endpoint_str(&c->addr[a], c->family, c->port[a], ea, sizeof ea);
        cs_endpoint_str(&c->addr[!a], c->family, c->port[!a], eb, sizeof eb);
        gchar *key = g_strdup_printf("%s %s %s", why == CS_END_EOF ? "eof" : "mid", ea, eb);
        g_hash_table_add(e->cfg.edge_tuples, key);
    }
    EACH_STATS(e, s)
    {
        cs_stats_conn(s, &row);
        cs_stats_app(s, &row, &app);
    }
    if (e->cfg.analytics != NULL)
        cs_analytics_conn(e->cfg.analytics, &row);
    e->report->conn(e->report, &row);
    cs_app_summary_clear(&app);
}

static void on_stream_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len,
                           cs_time_t ts)
{
    cs_app_stream_data(((cs_engine *)ctx)->app, c, dir, p, len, ts);
}

static void on_stream_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    cs_app_stream_gap(((cs_engine *)ctx)->app, c, dir, len, ts);
}

static void on_stream_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    cs_app_stream_end(((cs_engine *)ctx)->app, c, dir, ts);
}

static void on_http(void *ctx, const cs_conn *c, const cs_http_tx *tx)
{
    cs_engine *e = ctx;
    if (!conn_wanted(e, c))
        return;
    cs_http_row row;
    row.tx = tx;
    row.stream = c->stream;
    row.resumed = c->resumed;
    row.family = c->family;
    for (int i = 0; i < 2; i++) {
        int ep = i == 0 ? c->client : !c->client;
        row.addr[i] = c->addr[ep];
        row.port[i] = c->port[ep];
    }
    EACH_STATS(e, s)
    cs_stats_http(s, &row);
    if (e->cfg.analytics != NULL)
        cs_analytics_http(e->cfg.analytics, &row);
    e->report->http(e->report, &row);
}

static void on_http_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((cs_engine *)ctx)->ctr.anomalies[a]++;
}

/* ---- intervals ----------------------------------------------------------------------------- */

/* Reports the interval [ivl_start, end) and starts the next one at `end`. */
static void close_interval(cs_engine *e, cs_time_t end)
{
    cs_counters delta;
    const uint64_t *a = (const uint64_t *)(const void *)&e->ctr;
    const uint64_t *b = (const uint64_t *)(const void *)&e->ctr_mark;
    uint64_t *d = (uint64_t *)(void *)&delta;
    for (size_t i = 0; i < sizeof delta / sizeof(uint64_t); i++)
        d[i] = a[i] - b[i];
    cs_interval_info iv = {.start = e->ivl_start, .end = end, .ctr = &delta};
    if (e->have_drops) {
        iv.have_drops = true;
        for (int i = 0; i < 3; i++)
            iv.drops[i] = e->drops[i] - e->drops_mark[i];
        memcpy(e->drops_mark, e->drops, sizeof e->drops);
    }
    if (e->report->interval != NULL)
        e->report->interval(e->report, &e->cur, &iv);
    e->ctr_mark = e->ctr;
    cs_stats_free(&e->cur);
    cs_stats_init(&e->cur);
    e->cur.max_keys = e->cfg.max_keys;
    e->ivl_start = end;
}

/* Closes every interval that ends at or before `now` (empty ones are reported too: zero counts). */
static void advance_intervals(cs_engine *e, cs_time_t now)
{
    if (e->cfg.interval <= 0)
        return;
    if (e->ivl_start == INT64_MIN) {
        e->ivl_start = now - (now % e->cfg.interval); /* aligned to the interval length */
        return;
    }
    while (now >= e->ivl_start + e->cfg.interval) {
        cs_time_t n = (now - e->ivl_start) / e->cfg.interval;
        if (n > 1000) {
            /* a long silence (or a damaged timestamp): one report covers the empty intervals
             * before the one the packet falls in, so the output stays bounded */
            close_interval(e, e->ivl_start + e->cfg.interval);
            close_interval(e, e->ivl_start + (n - 1) * e->cfg.interval);
            continue;
        }
        close_interval(e, e->ivl_start + e->cfg.interval);
    }
}

/* ---- public -------------------------------------------------------------------------------- */

cs_engine *cs_engine_new(const cs_engine_cfg *cfg, cs_report *report)
{
    cs_engine *e = g_new0(cs_engine, 1);
    e->cfg = *cfg;
    e->report = report;
    e->hooks = (cs_flow_hooks){.ctx = e,
                               .conn_new = on_conn_new,
                               .syn_packet = on_syn,
                               .stream_data = on_stream_data,
                               .stream_gap = on_stream_gap,
                               .stream_end = on_stream_end,
                               .conn_end = on_conn_end};
    e->http_sink = (cs_http_sink){.ctx = e, .exchange = on_http, .anomaly = on_http_anomaly};
    e->flow = cs_flow_new(&e->cfg.flow, &e->hooks, &e->ctr);
    e->defrag = cs_defrag_new(64u << 20, 60 * CS_NS_PER_S);
    e->app = cs_app_new(&e->cfg.app, &e->http_sink, &e->ctr);
    cs_stats_init(&e->stats);
    cs_stats_init(&e->cur);
    e->stats.max_keys = e->cur.max_keys = cfg->max_keys;
    e->ivl_start = INT64_MIN;
    e->last_ts = INT64_MIN;
    return e;
}

void cs_engine_packet(cs_engine *e, const cs_raw *raw)
{
    cs_pkt pkt;
    e->frame++;
    if ((e->cfg.filter.since_set && raw->ts < e->cfg.filter.since) ||
        (e->cfg.filter.until_set && raw->ts >= e->cfg.filter.until))
        return;
    if (raw->ts < e->last_ts)
        e->ctr.anomalies[CS_ANOM_TIME_BACKWARDS]++;
    else
        e->last_ts = raw->ts;
    if (e->cfg.interval > 0)
        advance_intervals(e, raw->ts);
    if (cs_decode_ex(raw, &pkt, &e->ctr, e->defrag) != CS_DEC_TCP)
        return;
    pkt.frame = e->frame;
    int dir;
    cs_conn *c = cs_flow_packet(e->flow, &pkt, &dir);
    if (e->cfg.stream_list != NULL && c != NULL)
        fprintf(e->cfg.stream_list, "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n", e->frame,
                c->stream);
}

void cs_engine_idle(cs_engine *e, cs_time_t now)
{
    cs_flow_expire(e->flow, now);
    advance_intervals(e, now);
}

void cs_engine_set_drops(cs_engine *e, uint64_t received, uint64_t dropped, uint64_t if_dropped)
{
    e->have_drops = true;
    e->drops[0] = received;
    e->drops[1] = dropped;
    e->drops[2] = if_dropped;
}

static void fill_info(cs_engine *e, cs_run_info *info)
{
    if (info->ctr == NULL)
        info->ctr = &e->ctr;
    info->peak_conns = cs_flow_peak(e->flow);
    info->streams = cs_flow_streams(e->flow);
    info->have_drops = e->have_drops;
    memcpy(info->drops, e->drops, sizeof info->drops);
}

/* Latency per server is counted once, in the stats; the analytics get their copy before a report. */
static void sync_analytics(cs_engine *e)
{
    if (e->cfg.analytics != NULL)
        cs_analytics_servers_from(e->cfg.analytics, &e->stats);
}

void cs_engine_report_now(cs_engine *e, const cs_run_info *info)
{
    cs_run_info i = *info;
    sync_analytics(e);
    fill_info(e, &i);
    i.partial = true;
    e->report->finish(e->report, &e->stats, &i);
}

void cs_engine_flush(cs_engine *e)
{
    cs_flow_flush(e->flow);
    if (e->cfg.interval > 0 && e->ivl_start != INT64_MIN) /* the interval in progress, cut at the end */
        close_interval(e, e->last_ts + 1 > e->ivl_start ? e->last_ts + 1
                                                         : e->ivl_start + e->cfg.interval);
    e->ivl_start = INT64_MIN;
    sync_analytics(e);
}

void cs_engine_finish(cs_engine *e, cs_run_info *info)
{
    cs_engine_flush(e);
    fill_info(e, info);
    e->report->finish(e->report, &e->stats, info);
}

const cs_stats *cs_engine_stats(const cs_engine *e)
{
    return &e->stats;
}

uint32_t cs_engine_peak_conns(const cs_engine *e)
{
    return cs_flow_peak(e->flow);
}

uint64_t cs_engine_streams(const cs_engine *e)
{
    return cs_flow_streams(e->flow);
}

uint32_t cs_engine_active_conns(const cs_engine *e)
{
    return cs_flow_active(e->flow);
}

bool cs_parse_endpoint(const char *str, uint8_t *family, cs_addr *addr, uint16_t *port)
{
    int32_t p;
    if (!cs_parse_addr_port(str, family, addr, &p) || p == 0)
        return false;
    *port = p > 0 ? (uint16_t)p : 0;
    return true;
}

bool cs_parse_time(const char *s, cs_time_t *out)
{
    char *end;
    double v = g_ascii_strtod(s, &end);
    if (*s != '\0' && *end == '\0') {
        *out = (cs_time_t)(v * 1e9);
        return true;
    }
    gchar *iso = g_strdup(s);
    if (strlen(iso) > 10 && iso[10] == ' ')
        iso[10] = 'T';
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *dt = g_date_time_new_from_iso8601(iso, utc);
    if (dt == NULL) { /* seconds may be missing: "2024-01-02T03:04" */
        gchar *with_sec = g_strconcat(iso, ":00", NULL);
        dt = g_date_time_new_from_iso8601(with_sec, utc);
        g_free(with_sec);
    }
    g_time_zone_unref(utc);
    g_free(iso);
    if (dt == NULL)
        return false;
    *out = (cs_time_t)g_date_time_to_unix(dt) * CS_NS_PER_S +
           (cs_time_t)g_date_time_get_microsecond(dt) * CS_NS_PER_US;
    g_date_time_unref(dt);
    return true;
}

cs_counters *cs_engine_counters(cs_engine *e)
{
    return &e->ctr;
}

void cs_engine_free(cs_engine *e)
{
    if (e == NULL)
        return;
    cs_flow_free(e->flow);
    cs_defrag_free(e->defrag);
    cs_app_free(e->app);
    cs_stats_free(&e->stats);
    cs_stats_free(&e->cur);
    g_free(e);
}
