/* merge_main.c - the analytics command line shared by the analysis run and `connscope merge`
 * (option group, checks, report sections, output files), and `connscope merge SUMMARY.json...`,
 * which adds summaries up into the report one run over all their inputs would have given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "output.h"
#include "plot.h"
#include "summary.h"

#define CLI_ERROR (g_quark_from_static_string("cs-analytics-cli-error"))

void cs_an_cli_init(cs_an_cli *c)
{
    memset(c, 0, sizeof *c);
    c->top = G_MININT;        /* not given */
    c->max_keys = G_MININT64; /* not given */
}

GOptionGroup *cs_an_cli_group(cs_an_cli *c, bool merge)
{
    GOptionEntry entries[] = {
        {"analytics", 'A', 0, G_OPTION_ARG_NONE, &c->all,
         "All analytics sections: top talkers (10), activity and latency per bucket, latency per "
         "server, flow profile",
         NULL},
        {"top", 0, 0, G_OPTION_ARG_INT, &c->top,
         "Top N clients by HTTP requests and by connections, top N (client, method + path); "
         "also the N connections to look at (default 5)",
         "N"},
        {"bucket", 0, 0, G_OPTION_ARG_STRING, &c->bucket,
         "Time bucket of activity and latency: 30s, 5m, 1h, 1d (UTC, epoch-aligned; default 1m)",
         "DUR"},
        {"host", 0, 0, G_OPTION_ARG_STRING, &c->host,
         "Only connections with IP as their client or server (every report and aggregate)", "IP"},
        {"slow", 0, 0, G_OPTION_ARG_STRING, &c->slow,
         "Count exchanges slower than these total times (default 1s,10s; ms allowed)", "LIST"},
        {"latency", 0, 0, G_OPTION_ARG_NONE, &c->latency,
         "Add latency per server: ttfb and total p50/p90/p99/max, slow exchanges", NULL},
        {"flow-profile", 0, 0, G_OPTION_ARG_NONE, &c->flows,
         "Add connections by packets and by payload bytes", NULL},
        {"summary-out", 0, 0, G_OPTION_ARG_FILENAME, &c->summary_out,
         "Write the analytics as raw counts to FILE ('connscope merge' adds such files up)",
         "FILE"},
        {"metrics", 0, 0, G_OPTION_ARG_STRING_ARRAY, &c->metrics,
         "Per-bucket counters: graphite[=FILE|HOST:PORT] or prometheus[=FILE] (default: standard "
         "output; repeatable)",
         "FMT"},
        {"plot", 0, 0, G_OPTION_ARG_FILENAME, &c->plot,
         "Draw HTTP exchanges and latency percentiles per bucket into FILE.svg", "FILE"},
        {"by-ip", 0, 0, G_OPTION_ARG_NONE, &c->by_ip,
         "Connections per server IP (all its ports) instead of per IP and port", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry merge_entries[] = {
        {"max-keys", 0, 0, G_OPTION_ARG_INT64, &c->max_keys,
         "Keys counted exactly per top-talker table, then Space-Saving with an error bound "
         "(default and 0: no cap)",
         "K"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    const char *desc = "Analytics (top talkers, activity over time, latency, flow profile):";
    GOptionGroup *g = g_option_group_new("analytics", desc, desc, NULL, NULL);
    g_option_group_add_entries(g, entries);
    if (merge)
        g_option_group_add_entries(g, merge_entries);
    return g;
}

bool cs_an_cli_active(const cs_an_cli *c)
{
    return c->all || c->top != G_MININT || c->max_keys != G_MININT64 || c->bucket != NULL || c->host != NULL ||
           c->slow != NULL || c->latency || c->flows || c->summary_out != NULL ||
           c->metrics != NULL || c->plot != NULL;
}

/* Can `path` be created or replaced? Checked before the analysis, so that a long run does not end
 * with an output it cannot write. */
static bool writable(const char *opt, const char *path, GError **err)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return true;
    gchar *dir = g_path_get_dirname(path);
    bool ok = access(path, F_OK) == 0 ? access(path, W_OK) == 0 : access(dir, W_OK) == 0;
    if (!ok)
        g_set_error(err, CLI_ERROR, 0, "%s: cannot write %s: %s", opt, path, g_strerror(errno));
    g_free(dir);
    return ok;
}

bool cs_an_cli_check(cs_an_cli *c, bool merge, GError **err)
{
    memset(&c->cfg, 0, sizeof c->cfg);
    memset(&c->rep, 0, sizeof c->rep);
    c->cfg.bucket = CS_AN_BUCKET_DEFAULT;
    c->cfg.max_keys = merge ? UINT32_MAX : CS_AN_MAX_KEYS_DEFAULT; /* merge: exact by default */
    c->bucket_given = c->bucket != NULL;
    c->merge = merge;
    if (c->top != G_MININT && (c->top < 1 || c->top > 1000000)) {
        g_set_error(err, CLI_ERROR, 0, "--top takes a number from 1 to 1000000");
        return false;
    }
    if (c->max_keys != G_MININT64 && (c->max_keys < 0 || c->max_keys > UINT32_MAX)) {
        g_set_error(err, CLI_ERROR, 0, "--max-keys takes a number from 0 (no cap) to %u",
                    UINT32_MAX);
        return false;
    }
    if (c->max_keys >= 0)
        c->cfg.max_keys = c->max_keys > 0 ? (uint32_t)c->max_keys : UINT32_MAX;
    if (c->bucket != NULL && !cs_parse_duration(c->bucket, false, &c->cfg.bucket)) {
        g_set_error(err, CLI_ERROR, 0,
                    "--bucket takes a whole number of seconds, minutes, hours or days (30s, 5m, "
                    "1h, 1d), not '%s'",
                    c->bucket);
        return false;
    }
    if (c->host != NULL && !cs_host_filter_parse(&c->cfg.host, c->host)) {
        g_set_error(err, CLI_ERROR, 0, "--host takes an IPv4 or IPv6 address, not '%s'", c->host);
        return false;
    }
    if (!cs_parse_durations_us(c->slow != NULL ? c->slow : "1s,10s", CS_AN_MAX_SLOW, c->rep.slow_us,
                               &c->rep.n_slow)) {
        g_set_error(err, CLI_ERROR, 0,
                    "--slow takes up to %d comma-separated durations (250ms,1s,10s), not '%s'",
                    CS_AN_MAX_SLOW, c->slow);
        return false;
    }
    for (int i = 0; c->metrics != NULL && c->metrics[i] != NULL; i++) {
        cs_metrics_target t;
        if (!cs_metrics_parse(c->metrics[i], &t, err))
            return false;
        c->targets = g_renew(cs_metrics_target, c->targets, c->n_targets + 1);
        c->targets[c->n_targets++] = t;
    }
    if (!writable("--summary-out", c->summary_out, err) || !writable("--plot", c->plot, err))
        return false;
    for (int i = 0; i < c->n_targets; i++)
        if (!writable("--metrics", c->targets[i].file, err))
            return false;
    int to_stdout = 0;
    for (int i = 0; i < c->n_targets; i++)
        to_stdout += c->targets[i].file == NULL && c->targets[i].host == NULL;
    if (to_stdout > 1 || (to_stdout > 0 && c->summary_out != NULL &&
                          strcmp(c->summary_out, "-") == 0)) {
        g_set_error(err, CLI_ERROR, 0, "only one of --metrics and --summary-out can write to "
                                       "standard output");
        return false;
    }
    /* sections: -A (or merge without a choice) selects all of them */
    bool chosen = c->top > 0 || c->bucket != NULL || c->latency || c->slow != NULL || c->flows ||
                  (merge && c->by_ip);
    bool all = c->all || (merge && !chosen) || (!chosen && c->host != NULL && !merge);
    c->rep.top_n = c->top > 0 ? c->top : all ? 10 : 0;
    c->rep.activity = all || c->bucket != NULL;
    c->rep.latency = all || c->latency || c->slow != NULL;
    c->rep.flows = all || c->flows;
    /* connections per server: the run's main report has them; merge prints them from the
     * summaries (every section, or --by-ip) */
    c->rep.servers = merge && (all || c->by_ip);
    c->rep.by_ip = c->by_ip;
    return true;
}

bool cs_an_cli_stdout_taken(const cs_an_cli *c)
{
    for (int i = 0; i < c->n_targets; i++)
        if (c->targets[i].file == NULL && c->targets[i].host == NULL)
            return true;
    return c->summary_out != NULL && strcmp(c->summary_out, "-") == 0;
}

bool cs_an_cli_files_due(const cs_an_cli *c)
{
    for (int i = 0; i < c->n_targets; i++)
        if (c->targets[i].file != NULL || c->targets[i].host != NULL)
            return true;
    return c->plot != NULL || (c->summary_out != NULL && strcmp(c->summary_out, "-") != 0);
}

const cs_an_report_opts *cs_an_cli_sections(const cs_an_cli *c)
{
    const cs_an_report_opts *o = &c->rep;
    return o->top_n > 0 || o->activity || o->latency || o->flows || o->servers ? o : NULL;
}

void cs_an_cli_report(const cs_an_cli *c, const cs_analytics *a, FILE *out, bool json)
{
    const cs_an_report_opts *o = &c->rep;
    if (o->top_n == 0 && !o->activity && !o->latency && !o->flows && !o->servers)
        return;
    if (json) {
        cs_analytics_report_json(a, o, out);
        return;
    }
    if (!c->merge)
        fputc('\n', out);
    cs_analytics_report_text(a, o, out);
}

bool cs_an_cli_write_files(const cs_an_cli *c, const cs_analytics *a, const cs_summary *sum,
                           const char *generator, GError **err)
{
    bool ok = true;
    GError *e = NULL;
    cs_summary own = {.an = (cs_analytics *)a};
    if (sum == NULL)
        sum = &own;
    if (c->summary_out != NULL && !cs_summary_write(sum, c->summary_out, generator, &e)) {
        ok = false;
        g_propagate_error(err, e);
        e = NULL;
    }
    for (int i = 0; i < c->n_targets; i++)
        if (!c->targets[i].streamed && !cs_metrics_write(a, &c->targets[i], &e)) {
            if (ok)
                g_propagate_error(err, e);
            else {
                fprintf(stderr, "connscope: %s\n", e->message);
                g_error_free(e);
            }
            e = NULL;
            ok = false;
        }
    if (c->plot != NULL) {
        GString *sub = g_string_new(NULL);
        for (guint i = 0; i < a->inputs->len && i < 8; i++)
            g_string_append_printf(sub, "%s%s", i ? ", " : "", (const char *)a->inputs->pdata[i]);
        if (a->inputs->len > 8)
            g_string_append_printf(sub, " and %u more", a->inputs->len - 8);
        if (!cs_plot_write(a, c->plot, sub->str, &e)) {
            if (ok)
                g_propagate_error(err, e);
            else {
                fprintf(stderr, "connscope: %s\n", e->message);
                g_error_free(e);
            }
            ok = false;
        }
        g_string_free(sub, TRUE);
    }
    return ok;
}

void cs_an_cli_free(cs_an_cli *c)
{
    g_free(c->bucket);
    g_free(c->host);
    g_free(c->slow);
    g_free(c->summary_out);
    g_strfreev(c->metrics);
    g_free(c->plot);
    for (int i = 0; i < c->n_targets; i++)
        cs_metrics_target_clear(&c->targets[i]);
    g_free(c->targets);
    memset(c, 0, sizeof *c);
}

bool cs_an_cli_help_all(GOptionContext *octx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
            strcmp(argv[i], "-?") == 0) {
            gchar *help = g_option_context_get_help(octx, FALSE, NULL);
            fputs(help, stdout);
            g_free(help);
            return true;
        }
    }
    return false;
}

/* ---- connscope merge ------------------------------------------------------------------------- */

/* Orders summaries by their first event time, then their last (then the order given; those
 * without events last: g_ptr_array_sort is stable). */
static gint cmp_first_ts(gconstpointer pa, gconstpointer pb)
{
    const cs_summary_file *a = *(cs_summary_file *const *)pa, *b = *(cs_summary_file *const *)pb;
    cs_time_t x = cs_summary_file_header(a)->first_ts, y = cs_summary_file_header(b)->first_ts;
    if (x != y)
        return (x > y) - (x < y); /* summaries without events (INT64_MAX) last */
    /* the same first time (pieces cut between packets of one timestamp): the one that ends first */
    x = cs_summary_file_header(a)->last_ts;
    y = cs_summary_file_header(b)->last_ts;
    return (x > y) - (x < y);
}

/* Warns about an input named by two summaries (its events are counted twice). */
static void warn_shared_inputs(GPtrArray *opened)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal); /* input -> summary name */
    for (guint i = 0; i < opened->len; i++) {
        const cs_summary_file *f = opened->pdata[i];
        const GPtrArray *ins = cs_summary_file_header(f)->inputs;
        for (guint k = 0; k < ins->len; k++) {
            const char *in = ins->pdata[k];
            const char *other = g_hash_table_lookup(seen, in);
            if (other != NULL && other != cs_summary_file_name(f))
                fprintf(stderr,
                        "connscope merge: warning: %s and %s both count input %s: its events are "
                        "added twice\n",
                        other, cs_summary_file_name(f), in);
            else
                g_hash_table_insert(seen, (gpointer)in, (gpointer)cs_summary_file_name(f));
        }
    }
    g_hash_table_destroy(seen);
}

/* Opens every summary (headers only), orders them in time, then streams each into one
 * accumulator: memory is the result's. Without --bucket the widest bucket width is used, so the
 * order of the arguments does not matter. Returns NULL after printing the error. */
static cs_summary *merge_files(char **files, const cs_an_cli *cli)
{
    GPtrArray *opened = g_ptr_array_new_with_free_func((GDestroyNotify)cs_summary_file_close);
    GError *err = NULL;
    cs_time_t widest = 0;
    cs_summary *acc = NULL;
    bool ok = true;
    for (int i = 0; ok && files[i] != NULL; i++) {
        cs_summary_file *f = cs_summary_open(files[i], &err);
        if (f == NULL) {
            ok = false;
            break;
        }
        g_ptr_array_add(opened, f);
        widest = MAX(widest, cs_summary_file_header(f)->bucket);
    }
    if (ok) {
        warn_shared_inputs(opened);
        g_ptr_array_sort(opened, cmp_first_ts);
        cs_analytics_cfg cfg = cli->cfg;
        if (!cli->bucket_given)
            cfg.bucket = widest;
        if (cli->host == NULL)
            cfg.host = cs_summary_file_header(opened->pdata[0])->host;
        acc = cs_summary_new(&cfg);
        for (guint i = 0; ok && i < opened->len; i++) /* every check before any data is read */
            ok = cs_summary_compatible(acc, cs_summary_file_header(opened->pdata[i]),
                                       cs_summary_file_name(opened->pdata[i]), &err);
        for (guint i = 0; ok && i < opened->len; i++)
            ok = cs_summary_load(opened->pdata[i], acc, &err);
    }
    if (!ok) {
        fprintf(stderr, "connscope merge: %s\n", err->message);
        g_error_free(err);
        cs_summary_free(acc);
        acc = NULL;
    }
    g_ptr_array_free(opened, TRUE);
    return acc;
}

int cs_merge_main(int argc, char **argv)
{
    cs_an_cli cli;
    gboolean json = FALSE;
    gchar **files = NULL;
    cs_an_cli_init(&cli);
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Write the report as JSON lines", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SUMMARY.json..."},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    g_set_prgname("connscope merge");
    GOptionContext *octx = g_option_context_new("- add up summaries written by --summary-out");
    g_option_context_set_summary(
        octx,
        "Reads summaries written by 'connscope --summary-out' (for instance one per part of a\n"
        "capture, or per sensor) and prints the analytics report that one run over all their\n"
        "inputs would give: every count and histogram adds up exactly. Top-talker tables stay\n"
        "exact while the union of their keys fits --max-keys; then they carry Space-Saving\n"
        "error bounds. A connection cut between two inputs is stitched back into one.\n"
        "All sections are printed unless some are chosen (--top, --bucket, --latency,\n"
        "--flow-profile). Summaries must have the same format version, histogram layout,\n"
        "bucket width (or --bucket a multiple of it) and --host.");
    g_option_context_set_description(
        octx,
        "Examples:\n"
        "  connscope --summary-out mon.json mon.pcap; connscope --summary-out tue.json tue.pcap\n"
        "  connscope merge mon.json tue.json\n"
        "  connscope merge --bucket 1h --plot week.svg --summary-out week.json day*.json\n"
        "\n"
        "Exit status: 0 ok; 2 usage error, or a summary that cannot be read or merged.\n");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_add_group(octx, cs_an_cli_group(&cli, true));
    GError *err = NULL;
    int rc = 2;
    cs_summary *acc = NULL;
    if (cs_an_cli_help_all(octx, argc, argv)) {
        rc = 0;
        goto out;
    }
    if (!g_option_context_parse(octx, &argc, &argv, &err) || !cs_an_cli_check(&cli, true, &err)) {
        fprintf(stderr, "connscope merge: %s\n", err->message);
        fprintf(stderr, "Try 'connscope merge --help' for more information.\n");
        g_error_free(err);
        goto out;
    }
    if (files == NULL || files[0] == NULL) {
        fprintf(stderr, "connscope merge: no summary given (usage: connscope merge [OPTIONS] "
                        "SUMMARY.json...)\n");
        goto out;
    }
    acc = merge_files(files, &cli);
    if (acc == NULL)
        goto out;
    const cs_an_stitch *st = &acc->an->stitch;
    if (st->stitched > 0) /* the merged summaries carry these counts on: totals of every merge */
        fprintf(stderr,
                "connscope merge: %" G_GUINT64_FORMAT " connections cut between inputs stitched; "
                "%" G_GUINT64_FORMAT " not exactly (%" G_GUINT64_FORMAT
                " with HTTP on both sides of a cut)\n",
                (guint64)st->stitched, (guint64)st->inexact, (guint64)st->http_cut);
    if (acc->an->edges == NULL)
        fprintf(stderr, "connscope merge: a summary without edge connections (older, or -j): "
                        "connections cut between inputs are counted once per input\n");
    if (cs_an_cli_files_due(&cli))
        cs_output_hold_sigpipe(); /* the files are written even when stdout closes early */
    cs_an_cli_report(&cli, acc->an, cs_an_cli_stdout_taken(&cli) ? stderr : stdout, json);
    rc = 0;
    if (!cs_an_cli_write_files(&cli, acc->an, acc, "connscope " PACKAGE_VERSION, &err)) {
        fprintf(stderr, "connscope merge: %s\n", err->message);
        g_error_free(err);
        rc = 2;
    }
    rc = cs_output_finish("connscope merge", rc);
out:
    fflush(stdout);
    cs_summary_free(acc);
    g_option_context_free(octx);
    g_strfreev(files);
    cs_an_cli_free(&cli);
    return rc;
}
