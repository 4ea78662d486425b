/* engine.c - the analysis run: hook implementations that carry events up from the flow table to the
 * app layer, stats and the report writer, the per-packet loop body, and interval bookkeeping. */
#include <stdlib.h>
#include <string.h>

#include "app_quic.h"
#include "defrag.h"
#include "engine.h"
#include "plot.h"
#include "stats.h"

struct cs_engine {
    cs_engine_cfg cfg;
    cs_report *report;
    cs_counters ctr;
    cs_counters ctr_mark;     /* counters at the start of the current interval */
    cs_flow_hooks hooks;
    cs_udp_hooks udp_hooks;
    cs_http_sink http_sink;
    cs_flow_table *flow;
    cs_udp_table *udp;
    cs_udp_stats udp_stats; /* cumulative, final report only */
    cs_app_quic *quic;      /* QUIC over the UDP flows (NULL: OpenSSL cannot open Initials) */
    cs_app_quic_sink quic_sink;
    cs_quic_agg quic_agg; /* cumulative, final report only */
    cs_tunnels *tunnels;
    cs_defrag *defrag;
    cs_app *app;
    cs_stats stats;           /* cumulative */
    cs_stats cur;             /* current interval (only with cfg.interval) */
    cs_time_t ivl_start;      /* start of the current interval, INT64_MIN before the first packet */
    cs_time_t last_ts;
    uint64_t frame;
    uint64_t uid_key; /* cs_uid_run_key of the first packet */
    uint64_t drops[3], drops_mark[3];
    bool have_drops;
};

/* ---- event fan-out: cumulative stats, and the interval's when intervals are on -------------- */

#define EACH_STATS(e, s)                                                                           \
    for (cs_stats *s = &(e)->stats; s != NULL; s = (s == &(e)->stats && (e)->cfg.interval > 0)    \
                                                       ? &(e)->cur                                 \
                                                       : NULL)

/* Does traffic that came through tunnel `id` (0: none) pass --tunnel-id and --vni? */
static bool tunnel_wanted(const cs_engine *e, uint32_t id)
{
    const cs_engine_filter *f = &e->cfg.filter;
    if (CS_LIKELY(!f->tunnel_id_set && !f->vni_set))
        return true;
    return cs_tunnel_match(cs_tunnels_get(e->tunnels, id),
                           f->tunnel_id_set ? (int64_t)f->tunnel_id : -1,
                           f->vni_set ? (int64_t)f->vni : -1);
}

/* Does a connection or flow between (addr[i], port[i]), endpoint `client` its client, first seen
 * through tunnel `tunnel`, pass --server, --client, --host, --tunnel-id and --vni? */
static bool record_wanted(const cs_engine *e, uint8_t family, const cs_addr addr[2],
                          const uint16_t port[2], int client, uint32_t tunnel)
{
    const cs_engine_filter *f = &e->cfg.filter;
    int cl = client, sv = !client;
    if (f->server_set &&
        (family != f->server_family || memcmp(&addr[sv], &f->server, sizeof f->server) != 0 ||
         (f->server_port != 0 && port[sv] != f->server_port)))
        return false;
    if (f->client_set &&
        (family != f->client_family || memcmp(&addr[cl], &f->client, sizeof f->client) != 0))
        return false;
    if (!tunnel_wanted(e, tunnel))
        return false;
    return cs_host_filter_match(&f->host, family, &addr[0], &addr[1]);
}

/* Does connection c pass the record filters (--stream and the others of record_wanted)? */
static bool conn_wanted(const cs_engine *e, const cs_conn *c)
{
    if (e->cfg.filter.stream_set && c->stream != e->cfg.filter.stream)
        return false;
    return record_wanted(e, c->family, c->addr, c->port, c->client, c->tunnel);
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
    if (e->cfg.analytics != NULL) {
        cs_analytics_syn(e->cfg.analytics, ts);
        if (e->cfg.auto_bucket)
            cs_plot_auto_bucket(e->cfg.analytics);
    }
}

/* -j: hands a connection at the edge of the input over by its canonical tuple. */
static void report_edge(const cs_engine *e, const cs_conn *c, bool open_at_end, bool joined_mid)
{
    int cmp = memcmp(&c->addr[0], &c->addr[1], sizeof c->addr[0]);
    int lo = cmp < 0 || (cmp == 0 && c->port[0] <= c->port[1]) ? 0 : 1;
    cs_edge_tuple t;
    memset(&t, 0, sizeof t);
    t.family = c->family;
    t.addr[0] = c->addr[lo];
    t.addr[1] = c->addr[!lo];
    t.port[0] = c->port[lo];
    t.port[1] = c->port[!lo];
    e->cfg.edges.conn(e->cfg.edges.ctx, &t, open_at_end, joined_mid);
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
    cs_conn_uid(row.uid, e->uid_key, c->first_frame);
    row.tunnel = cs_tunnels_get(e->tunnels, c->tunnel);
    row.tunnel_changed = c->tunnel_changed;
    cs_tunnels_count(e->tunnels, c->tunnel, true);
    if (e->cfg.edges.conn != NULL && (why == CS_END_EOF || row.syns == 0))
        report_edge(e, c, why == CS_END_EOF, row.syns == 0);
    EACH_STATS(e, s)
    {
        cs_stats_conn(s, &row);
        cs_stats_app(s, &row, &app);
    }
    if (e->cfg.analytics != NULL) {
        cs_analytics_conn(e->cfg.analytics, &row);
        if (e->cfg.auto_bucket)
            cs_plot_auto_bucket(e->cfg.analytics);
        cs_analytics_edge(e->cfg.analytics, &row, c, cs_flow_flushing(e->flow));
    }
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
    cs_conn_uid(row.uid, e->uid_key, c->first_frame);
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
    if (e->cfg.analytics != NULL) {
        cs_analytics_http(e->cfg.analytics, &row);
        if (e->cfg.auto_bucket)
            cs_plot_auto_bucket(e->cfg.analytics);
    }
    e->report->http(e->report, &row);
}

static void on_http_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((cs_engine *)ctx)->ctr.anomalies[a]++;
}

/* ---- UDP flows and tunnels -------------------------------------------------------------------- */

/* Does UDP flow f pass the record filters? --stream names a TCP stream: no UDP flow passes. */
static bool udp_wanted(const cs_engine *e, const cs_udp_flow *f)
{
    return !e->cfg.filter.stream_set &&
           record_wanted(e, f->family, f->addr, f->port, f->client, f->tunnel);
}

static void on_udp_end(void *ctx, cs_udp_flow *f, cs_udp_end why)
{
    cs_engine *e = ctx;
    if (e->quic != NULL)
        cs_app_quic_flow_end(e->quic, f);
    if (!udp_wanted(e, f))
        return;
    cs_udp_row row;
    cs_udp_row_fill(&row, f, why, cs_tunnels_get(e->tunnels, f->tunnel));
    cs_tunnels_count(e->tunnels, f->tunnel, false);
    cs_udp_stats_add(&e->udp_stats, &row);
    if (e->report->udp != NULL)
        e->report->udp(e->report, &row);
}

static void on_udp_datagram(void *ctx, cs_udp_flow *f, int dir, const uint8_t *p, uint32_t len,
                            uint32_t wire_len, cs_time_t ts)
{
    cs_engine *e = ctx;
    cs_app_quic_datagram(e->quic, f, dir, p, len, wire_len, ts, e->frame);
}

/* An ended QUIC connection: through the record filters (its client is endpoint 0) to the QUIC
 * table and the writer. --stream names a TCP stream: no QUIC connection passes. */
static void on_quic_conn(void *ctx, const cs_quic_row *row)
{
    cs_engine *e = ctx;
    if (e->cfg.filter.stream_set ||
        !record_wanted(e, row->family, row->addr, row->port, 0, row->tunnel_id))
        return;
    cs_quic_row r = *row;
    cs_conn_uid(r.uid, e->uid_key, row->first_frame);
    r.tunnel = cs_tunnels_get(e->tunnels, row->tunnel_id);
    cs_quic_agg_add(&e->quic_agg, &r);
    if (e->report->quic != NULL)
        e->report->quic(e->report, &r);
}

/* A packet with tunnel layers: accounts it to its tunnel (pkt->tunnel_id is set for the flow
 * tables) and the outer datagram of each UDP-based layer to its UDP flow, outermost first (the
 * order in which Wireshark numbers them). */
static void tunnel_packet(cs_engine *e, cs_pkt *pkt, uint64_t *ustreams, int *n_ustreams)
{
    pkt->tunnel_id = cs_tunnels_packet(e->tunnels, pkt, &e->ctr);
    for (uint8_t i = 0; i < pkt->tun_depth; i++) {
        if (pkt->tun[i].port == 0)
            continue;
        cs_udp_dgram d;
        int dir;
        cs_udp_dgram_of_layer(&d, pkt, &pkt->tun[i]);
        ustreams[(*n_ustreams)++] = cs_udp_packet(e->udp, &d, &dir)->stream;
    }
}

/* --udp-stream-list: "FRAME<TAB>S1[,S2...]" for a frame with UDP headers, as tshark prints
 * -e frame.number -e udp.stream. */
static void print_udp_streams(const cs_engine *e, const uint64_t *ustreams, int n)
{
    fprintf(e->cfg.udp_stream_list, "%" G_GUINT64_FORMAT "\t", e->frame);
    for (int i = 0; i < n; i++)
        fprintf(e->cfg.udp_stream_list, "%s%" G_GUINT64_FORMAT, i > 0 ? "," : "", ustreams[i]);
    fputc('\n', e->cfg.udp_stream_list);
}

/* ---- intervals ----------------------------------------------------------------------------- */

/* Reports the interval [ivl_start, end) and starts the next one at `end`. */
static void close_interval(cs_engine *e, cs_time_t end)
{
    cs_counters delta = e->ctr;
    cs_counters_sub(&delta, &e->ctr_mark);
    cs_interval_info iv = {.start = e->ivl_start, .end = end, .ctr = &delta};
    if (e->have_drops) {
        iv.have_drops = true;
        for (int i = 0; i < 3; i++)
            iv.drops[i] = e->drops[i] - e->drops_mark[i];
        memcpy(e->drops_mark, e->drops, sizeof e->drops);
    }
    if (e->report->interval != NULL)
        e->report->interval(e->report, &e->cur, &iv);
    if (e->cfg.interval_hook != NULL)
        e->cfg.interval_hook(e->cfg.interval_ctx, &e->cur, &iv);
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
    if (e->cfg.udp.max_flows == 0)
        cs_udp_cfg_default(&e->cfg.udp);
    e->quic_sink = (cs_app_quic_sink){.ctx = e, .conn = on_quic_conn};
    e->quic = cs_app_quic_new(&e->cfg.quic, &e->quic_sink, &e->ctr);
    e->udp_hooks = (cs_udp_hooks){
        .ctx = e, .datagram = e->quic != NULL ? on_udp_datagram : NULL, .flow_end = on_udp_end};
    e->udp = cs_udp_new(&e->cfg.udp, &e->udp_hooks, &e->ctr);
    cs_udp_stats_init(&e->udp_stats, cfg->max_keys);
    cs_quic_agg_init(&e->quic_agg, cfg->max_keys);
    e->tunnels = cs_tunnels_new(cfg->max_keys);
    e->defrag = cs_defrag_new(CS_DEFRAG_MAX_BYTES, cfg->max_frag_datagrams, CS_DEFRAG_TIMEOUT);
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
    if (++e->frame == 1)
        e->uid_key =
            cs_uid_run_key(e->cfg.uid_group, raw->ts, raw->wirelen, raw->data, raw->caplen);
    if ((e->cfg.filter.since_set && raw->ts < e->cfg.filter.since) ||
        (e->cfg.filter.until_set && raw->ts >= e->cfg.filter.until))
        return;
    if (raw->ts < e->last_ts)
        e->ctr.anomalies[CS_ANOM_TIME_BACKWARDS]++;
    else
        e->last_ts = raw->ts;
    if (e->cfg.interval > 0)
        advance_intervals(e, raw->ts);
    cs_decode_result r = cs_decode_ex(raw, &pkt, &e->ctr, e->defrag);
    pkt.frame = e->frame;
    uint64_t ustreams[CS_TUN_MAX_DEPTH + 1];
    int n_ustreams = 0;
    if (CS_UNLIKELY(pkt.tun_depth > 0))
        tunnel_packet(e, &pkt, ustreams, &n_ustreams);
    int dir;
    if (r != CS_DEC_TCP) {
        if (r == CS_DEC_UDP) {
            cs_udp_dgram d;
            cs_udp_dgram_of(&d, &pkt);
            ustreams[n_ustreams++] = cs_udp_packet(e->udp, &d, &dir)->stream;
        }
        if (e->cfg.udp_stream_list != NULL && n_ustreams > 0)
            print_udp_streams(e, ustreams, n_ustreams);
        return;
    }
    if (CS_UNLIKELY(e->cfg.udp_stream_list != NULL && n_ustreams > 0))
        print_udp_streams(e, ustreams, n_ustreams);
    cs_conn *c = cs_flow_packet(e->flow, &pkt, &dir);
    if (e->cfg.stream_list != NULL && c != NULL)
        fprintf(e->cfg.stream_list, "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n", e->frame,
                c->stream);
}

void cs_engine_idle(cs_engine *e, cs_time_t now)
{
    cs_flow_expire(e->flow, now);
    cs_udp_expire(e->udp, now);
    if (e->quic != NULL)
        cs_app_quic_expire(e->quic, now);
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
    info->streams = info->streams_max = cs_flow_streams(e->flow);
    if (info->udp == NULL)
        info->udp = &e->udp_stats;
    if (info->tunnels == NULL)
        info->tunnels = e->tunnels;
    if (info->udp_streams == 0)
        info->udp_streams = cs_udp_streams(e->udp);
    if (info->quic == NULL)
        info->quic = &e->quic_agg;
    info->want_tunnel_id = e->cfg.filter.tunnel_id_set ? (int64_t)e->cfg.filter.tunnel_id : -1;
    info->want_vni = e->cfg.filter.vni_set ? (int64_t)e->cfg.filter.vni : -1;
    info->have_drops = e->have_drops;
    memcpy(info->drops, e->drops, sizeof info->drops);
}

/* Latency per server is counted once, in the stats; the analytics get their copy before a report.
 * The QUIC table's own counts go to the QUIC aggregates the same way. */
static void sync_analytics(cs_engine *e)
{
    if (e->quic != NULL)
        cs_quic_agg_sync(&e->quic_agg, cs_app_quic_stats(e->quic), cs_app_quic_peak(e->quic));
    if (e->cfg.analytics != NULL) {
        cs_analytics_servers_from(e->cfg.analytics, &e->stats);
        e->cfg.analytics->streams = cs_flow_streams(e->flow);
    }
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
    cs_udp_flush(e->udp);
    if (e->quic != NULL)
        cs_app_quic_flush(e->quic);
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

const cs_udp_stats *cs_engine_udp_stats(const cs_engine *e)
{
    return &e->udp_stats;
}

const cs_quic_agg *cs_engine_quic(const cs_engine *e)
{
    return &e->quic_agg;
}

const cs_tunnels *cs_engine_tunnels(const cs_engine *e)
{
    return e->tunnels;
}

uint64_t cs_engine_udp_streams(const cs_engine *e)
{
    return cs_udp_streams(e->udp);
}

uint32_t cs_engine_udp_active(const cs_engine *e)
{
    return cs_udp_active(e->udp);
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
    cs_udp_free(e->udp);
    cs_udp_stats_free(&e->udp_stats);
    cs_app_quic_free(e->quic);
    cs_quic_agg_free(&e->quic_agg);
    cs_tunnels_free(e->tunnels);
    cs_defrag_free(e->defrag);
    cs_app_free(e->app);
    cs_stats_free(&e->stats);
    cs_stats_free(&e->cur);
    g_free(e);
}
