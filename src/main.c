/* main.c - command line (GOptionContext) and wiring: source -> decode -> flow -> reassembly -> app
 * -> stats -> report. Owns the run's objects and turns what happened into the exit status. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "config.h"
#include "app.h"
#include "flow.h"
#include "follow.h"
#include "report.h"
#include "source.h"
#include "stats.h"

#define EXIT_INPUT_ERRORS 1
#define EXIT_USAGE 2

typedef struct options {
    gchar *filter;
    gboolean json;
    gboolean csv;
    gboolean list_conns;
    gboolean list_http;
    gboolean no_http;
    gboolean http_decode;
    gchar **http_ports;
    gint64 http_max_pending;
    gboolean stream_list;
    gboolean verify_checksums;
    gboolean version;
    gdouble idle_timeout;
    gdouble close_linger;
    gint64 max_conns;
    gint64 max_ooo;
    gint64 max_tombstones;
    gchar **files;
} options;

typedef struct run {
    cs_stats stats;
    cs_report *report;
    cs_app *app;
    cs_counters *ctr;
} run;

static void on_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    run *r = ctx;
    cs_app_summary app;
    cs_app_conn_end(r->app, c, &app);
    cs_conn_row row;
    cs_conn_row_fill(&row, c, why, &app);
    cs_stats_conn(&r->stats, &row);
    cs_stats_app(&r->stats, &app);
    r->report->conn(r->report, &row);
}

static void on_stream_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len,
                           cs_time_t ts)
{
    cs_app_stream_data(((run *)ctx)->app, c, dir, p, len, ts);
}

static void on_stream_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    cs_app_stream_gap(((run *)ctx)->app, c, dir, len, ts);
}

static void on_stream_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    cs_app_stream_end(((run *)ctx)->app, c, dir, ts);
}

static void on_http(void *ctx, const cs_conn *c, const cs_http_tx *tx)
{
    run *r = ctx;
    cs_http_row row;
    row.tx = tx;
    row.stream = c->stream;
    row.family = c->family;
    for (int i = 0; i < 2; i++) {
        int ep = i == 0 ? c->client : !c->client;
        row.addr[i] = c->addr[ep];
        row.port[i] = c->port[ep];
    }
    cs_stats_http(&r->stats, &row);
    r->report->http(r->report, &row);
}

static void on_http_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)c;
    ((run *)ctx)->ctr->anomalies[a]++;
}

/* Parses --http-port values ("80", "8080,8081"). Returns false on a bad value. */
static bool parse_ports(gchar **in, GArray *out)
{
    for (int i = 0; in != NULL && in[i] != NULL; i++) {
        gchar **parts = g_strsplit(in[i], ",", -1);
        for (int k = 0; parts[k] != NULL; k++) {
            char *end;
            long v = strtol(parts[k], &end, 10);
            if (*parts[k] == '\0' || *end != '\0' || v < 1 || v > 65535) {
                g_strfreev(parts);
                return false;
            }
            uint16_t port = (uint16_t)v;
            g_array_append_val(out, port);
        }
        g_strfreev(parts);
    }
    return true;
}

static void print_version(void)
{
    printf("connscope %s\n", PACKAGE_VERSION);
    printf("  %s\n", pcap_lib_version());
    printf("  GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
}

static int usage_error(GOptionContext *ctx, const char *msg)
{
    fprintf(stderr, "connscope: %s\n", msg);
    fprintf(stderr, "Try 'connscope --help' for more information.\n");
    g_option_context_free(ctx);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.idle_timeout = 300;
    o.close_linger = 10;
    o.max_conns = 1000000;
    o.max_ooo = 1 << 20;
    o.max_tombstones = 262144;
    o.http_max_pending = 1000;
    setlocale(LC_ALL, "");
    if (argc > 1 && strcmp(argv[1], "follow") == 0)
        return cs_follow_main(argc - 1, argv + 1);

    GOptionEntry entries[] = {
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &o.filter,
         "BPF filter applied to every input (libpcap syntax)", "BPF"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
         "Write JSON lines (conn, syn_dest, server, summary) instead of the text report", NULL},
        {"csv", 0, 0, G_OPTION_ARG_NONE, &o.csv, "Write one CSV row per connection", NULL},
        {"connections", 'C', 0, G_OPTION_ARG_NONE, &o.list_conns,
         "Text report: add the per-connection table", NULL},
        {"exchanges", 'E', 0, G_OPTION_ARG_NONE, &o.list_http,
         "Text report: add the per-exchange HTTP table", NULL},
        {"http-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.http_ports,
         "Parse connections to server port PORT as HTTP whatever their content (repeatable, or "
         "comma-separated)",
         "PORT"},
        {"no-http", 0, 0, G_OPTION_ARG_NONE, &o.no_http,
         "Do not parse HTTP (connection analysis only)", NULL},
        {"http-decode-bodies", 0, 0, G_OPTION_ARG_NONE, &o.http_decode,
         "Inflate gzip/deflate bodies so *_body_len is the decoded size (Zeek's meaning; costs CPU)",
         NULL},
        {"http-max-pending", 0, 0, G_OPTION_ARG_INT64, &o.http_max_pending,
         "Outstanding HTTP requests kept per connection (default 1000)", "N"},
        {"stream-list", 0, 0, G_OPTION_ARG_NONE, &o.stream_list,
         "Print 'FRAME<TAB>STREAM' for every TCP frame (like tshark -e frame.number -e tcp.stream)",
         NULL},
        {"verify-checksums", 0, 0, G_OPTION_ARG_NONE, &o.verify_checksums,
         "Count TCP segments with a bad checksum as anomalies", NULL},
        {"idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.idle_timeout,
         "Finalise a connection after SEC without packets (default 300)", "SEC"},
        {"close-linger", 0, 0, G_OPTION_ARG_DOUBLE, &o.close_linger,
         "Finalise a closed connection after SEC without packets (default 10)", "SEC"},
        {"max-conns", 0, 0, G_OPTION_ARG_INT64, &o.max_conns,
         "Track at most N connections; the idlest are evicted and counted (default 1000000)", "N"},
        {"max-ooo-bytes", 0, 0, G_OPTION_ARG_INT64, &o.max_ooo,
         "Out-of-order bytes buffered per direction before a hole becomes a gap (default 1MiB)",
         "N"},
        {"max-tombstones", 0, 0, G_OPTION_ARG_INT64, &o.max_tombstones,
         "Closed 4-tuples remembered for stream numbering (default 262144)", "N"},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &o.version, "Print versions and exit", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.files, NULL, "FILE..."},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};

    GOptionContext *octx = g_option_context_new("FILE... - TCP connections and their servers");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_set_summary(
        octx, "Reads pcap/pcapng captures ('-' is standard input) as one time-ordered stream and\n"
              "reports connection starts per destination and connections per server.");
    GError *err = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        int rc = usage_error(octx, err->message);
        g_error_free(err);
        return rc;
    }
    if (o.version) {
        print_version();
        g_option_context_free(octx);
        return 0;
    }
    if (o.files == NULL || o.files[0] == NULL)
        return usage_error(octx, "no capture file given");
    if (o.json && o.csv)
        return usage_error(octx, "--json and --csv cannot be combined");
    if (o.idle_timeout <= 0 || o.close_linger < 0 || o.max_conns < 1 || o.max_conns > UINT32_MAX ||
        o.max_ooo < 0 || o.max_ooo > UINT32_MAX || o.max_tombstones < 0 ||
        o.max_tombstones > UINT32_MAX || o.http_max_pending < 1 || o.http_max_pending > 1000000)
        return usage_error(octx, "a limit option is out of range");
    GArray *http_ports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    if (!parse_ports(o.http_ports, http_ports)) {
        g_array_free(http_ports, TRUE);
        return usage_error(octx, "--http-port takes port numbers from 1 to 65535");
    }
    g_option_context_free(octx);

    cs_source *src = cs_source_open_files(o.files, (int)g_strv_length(o.files), o.filter, &err);
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        g_array_free(http_ports, TRUE);
        g_strfreev(o.http_ports);
        g_strfreev(o.files);
        g_free(o.filter);
        return EXIT_USAGE;
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    run r;
    cs_stats_init(&r.stats);
    if (o.json)
        r.report = cs_report_json_new(stdout);
    else if (o.csv)
        r.report = cs_report_csv_new(stdout);
    else
        r.report = cs_report_text_new(o.stream_list ? stderr : stdout, o.list_conns, o.list_http);

    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    r.ctr = &ctr;
    cs_app_cfg acfg;
    memset(&acfg, 0, sizeof acfg);
    cs_http_cfg_default(&acfg.http);
    acfg.http.max_pending = (uint32_t)o.http_max_pending;
    acfg.http.decode_bodies = o.http_decode;
    acfg.http_ports = (const uint16_t *)(void *)http_ports->data;
    acfg.n_http_ports = (int)http_ports->len;
    acfg.no_http = o.no_http;
    cs_http_sink hsink = {.ctx = &r, .exchange = on_http, .anomaly = on_http_anomaly};
    r.app = cs_app_new(&acfg, &hsink, &ctr);
    cs_flow_cfg cfg;
    cs_flow_cfg_default(&cfg);
    cfg.idle_timeout = (cs_time_t)(o.idle_timeout * 1e9);
    cfg.close_linger = (cs_time_t)(o.close_linger * 1e9);
    cfg.max_conns = (uint32_t)o.max_conns;
    cfg.max_ooo_bytes = (uint32_t)o.max_ooo;
    cfg.max_tombstones = (uint32_t)o.max_tombstones;
    cfg.verify_checksums = o.verify_checksums;
    cs_flow_hooks hooks = {.ctx = &r,
                           .conn_end = on_conn_end,
                           .stream_data = on_stream_data,
                           .stream_gap = on_stream_gap,
                           .stream_end = on_stream_end};
    cs_flow_table *ft = cs_flow_new(&cfg, &hooks, &ctr);

    cs_raw raw;
    cs_pkt pkt;
    uint64_t frame = 0;
    cs_time_t last_ts = INT64_MIN;
    int rc;
    while ((rc = cs_source_next(src, &raw)) != 0) {
        if (rc < 0)
            continue;
        frame++;
        if (raw.ts < last_ts)
            ctr.anomalies[CS_ANOM_TIME_BACKWARDS]++;
        last_ts = raw.ts;
        if (cs_decode(&raw, &pkt, &ctr) != CS_DEC_TCP)
            continue;
        pkt.frame = frame;
        int dir;
        cs_conn *c = cs_flow_packet(ft, &pkt, &dir);
        if (o.stream_list && c != NULL)
            printf("%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\n", frame, c->stream);
    }
    cs_flow_flush(ft);

    int status = 0;
    for (int i = 0; i < cs_source_count(src); i++) {
        const cs_input *in = cs_source_input(src, i);
        if (in->state == CS_INPUT_TRUNCATED)
            ctr.anomalies[CS_ANOM_FILE_TRUNCATED]++;
        else if (in->state == CS_INPUT_ERROR)
            ctr.anomalies[CS_ANOM_FILE_READ_ERROR]++;
        if (in->message != NULL) {
            fprintf(stderr, "connscope: %s\n", in->message);
            status = EXIT_INPUT_ERRORS;
        }
    }
    cs_run_info info = {.src = src,
                        .ctr = &ctr,
                        .peak_conns = cs_flow_peak(ft),
                        .streams = cs_flow_streams(ft),
                        .filter = o.filter,
                        .version = PACKAGE_VERSION};
    r.report->finish(r.report, &r.stats, &info);
    fflush(stdout);
    fflush(stderr);

    r.report->destroy(r.report);
    cs_flow_free(ft);
    cs_app_free(r.app);
    cs_stats_free(&r.stats);
    g_array_free(http_ports, TRUE);
    g_strfreev(o.http_ports);
    cs_source_free(src);
    g_strfreev(o.files);
    g_free(o.filter);
    return status;
}
