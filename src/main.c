/* main.c - command line (GOptionContext) and wiring: source -> decode -> flow -> reassembly -> app
 * -> stats -> report. Owns the run's objects and turns what happened into the exit status. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "config.h"
#include "flow.h"
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
} run;

static void on_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    run *r = ctx;
    cs_conn_row row;
    cs_conn_row_fill(&row, c, why);
    cs_stats_conn(&r->stats, &row);
    r->report->conn(r->report, &row);
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
    setlocale(LC_ALL, "");

    GOptionEntry entries[] = {
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &o.filter,
         "BPF filter applied to every input (libpcap syntax)", "BPF"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
         "Write JSON lines (conn, syn_dest, server, summary) instead of the text report", NULL},
        {"csv", 0, 0, G_OPTION_ARG_NONE, &o.csv, "Write one CSV row per connection", NULL},
        {"connections", 'C', 0, G_OPTION_ARG_NONE, &o.list_conns,
         "Text report: add the per-connection table", NULL},
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
        o.max_tombstones > UINT32_MAX)
        return usage_error(octx, "a limit option is out of range");
    g_option_context_free(octx);

    cs_source *src = cs_source_open_files(o.files, (int)g_strv_length(o.files), o.filter, &err);
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
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
        r.report = cs_report_text_new(o.stream_list ? stderr : stdout, o.list_conns);

    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    cs_flow_cfg cfg;
    cs_flow_cfg_default(&cfg);
    cfg.idle_timeout = (cs_time_t)(o.idle_timeout * 1e9);
    cfg.close_linger = (cs_time_t)(o.close_linger * 1e9);
    cfg.max_conns = (uint32_t)o.max_conns;
    cfg.max_ooo_bytes = (uint32_t)o.max_ooo;
    cfg.max_tombstones = (uint32_t)o.max_tombstones;
    cfg.verify_checksums = o.verify_checksums;
    cs_flow_hooks hooks = {.ctx = &r, .conn_end = on_conn_end};
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
    if (!o.stream_list || o.json || o.csv)
        r.report->finish(r.report, &r.stats, &info);
    else
        r.report->finish(r.report, &r.stats, &info);
    fflush(stdout);
    fflush(stderr);

    r.report->destroy(r.report);
    cs_flow_free(ft);
    cs_stats_free(&r.stats);
    cs_source_free(src);
    g_strfreev(o.files);
    g_free(o.filter);
    return status;
}
