/* main.c - command line (GOptionContext), opening the input (files or a live interface), signals,
 * and the read loop that feeds the engine; turns what happened into the exit status. */
#include <errno.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/opensslv.h>
#include <pcap/pcap.h>

#include "config.h"
#include "follow.h"
#include "graphite.h"
#include "metrics_http.h"
#include "options.h"
#include "output.h"
#include "plot.h"
#include "util.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;
static volatile sig_atomic_t rotate_requested;
static cs_source *live_source;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (live_source != NULL)
        cs_source_break(live_source);
}

static void on_report_signal(int sig)
{
    (void)sig;
    report_requested = 1;
}

static void on_rotate_signal(int sig)
{
    (void)sig;
    rotate_requested = 1;
}

/* SIGINT/SIGTERM stop, SIGUSR1 reports; SIGHUP rotates a -w file (only when there is one: else
 * it keeps its default meaning). */
static void install_signals(bool rotate_on_hup)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_report_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    if (rotate_on_hup) {
        sa.sa_handler = on_rotate_signal;
        sigaction(SIGHUP, &sa, NULL);
    }
}

static void print_version(void)
{
    printf("connscope %s\n", PACKAGE_VERSION);
    printf("  %s\n", pcap_lib_version());
    printf("  GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
    printf("  %s\n", OPENSSL_VERSION_TEXT);
}

/* Switches to an unprivileged user after the capture is open (-Z). Returns false with a message. */
static bool drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        fprintf(stderr, "connscope: -Z %s: no such user\n", user);
        return false;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "connscope: -Z %s: cannot switch user: %s\n", user, g_strerror(errno));
        return false;
    }
    fprintf(stderr, "connscope: dropped privileges to user %s (uid %u)\n", user,
            (unsigned)pw->pw_uid);
    return true;
}

static cs_time_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cs_time_t)ts.tv_sec * CS_NS_PER_S + ts.tv_nsec;
}

/* The one-line progress indicator on a terminal's stderr (files over 4 MB, or live capture). */
typedef struct progress {
    bool on;
    bool shown;
    cs_time_t start, last;
    uint64_t packets;
} progress;

static void progress_update(progress *pg, cs_source *src, cs_engine *e, bool live, cs_time_t now)
{
    char a[32], b[32], line[160];
    double secs = (double)(now - pg->start) / 1e9;
    double pps = secs > 0 ? (double)pg->packets / secs : 0;
    uint64_t done, total;
    if (live) {
        uint64_t rx = 0, drop = 0, ifdrop = 0;
        cs_source_stats(src, &rx, &drop, &ifdrop);
        snprintf(line, sizeof line, "%" G_GUINT64_FORMAT " packets, %u connections open, %" G_GUINT64_FORMAT
                 " dropped (%.0f pkt/s)", pg->packets, cs_engine_active_conns(e), drop + ifdrop, pps);
    } else if (cs_source_progress(src, &done, &total)) {
        double frac = (double)done / (double)total;
        double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
        snprintf(line, sizeof line, "%s / %s (%.0f%%), %.0fk pkt/s, ETA %.0fs",
                 cs_fmt_bytes(done, a, sizeof a), cs_fmt_bytes(total, b, sizeof b), 100 * frac,
                 pps / 1000, eta);
    } else {
        return;
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    pg->shown = true;
    pg->last = now;
}

static void progress_clear(progress *pg)
{
    if (pg->shown)
        fputs("\r\033[K", stderr);
    pg->shown = false;
}

/* What happens between two reads of the analysis run: the progress line, the live capture's
 * kernel counters, idle ticks and --duration, and the SIGUSR1 report. */
typedef struct reader {
    cs_source *src;
    cs_engine *engine;
    const cs_run_info *info;
    bool live;
    bool out_gone; /* live: the reader of standard output went away (EPIPE): capture stopped */
    cs_time_t start, last_stats, duration;
    progress pg;
    cs_metrics_http *mh; /* --metrics-listen, or NULL */
} reader;

/* --metrics-listen: a scrape waits; renders the cumulative counters for it (this thread owns
 * them, so nothing is copied or locked but the finished text). */
static void publish_metrics(reader *r)
{
    cs_live_view v = {.stats = cs_engine_stats(r->engine),
                      .ctr = cs_engine_counters(r->engine),
                      .tcp_tracked = cs_engine_active_conns(r->engine),
                      .udp_tracked = cs_engine_udp_active(r->engine),
                      .start_s = (double)r->start / 1e9};
    v.have_drops = cs_source_stats(r->src, &v.received, &v.dropped, &v.if_dropped);
    cs_metrics_http_publish(r->mh, &v);
}

/* Live capture: has the reader of standard output (the report, or -w -) gone away? Then the
 * capture stops: nobody reads what it writes. SIGPIPE is held for live runs (run()). */
static bool output_gone(reader *r)
{
    GError *err = NULL;
    if (!cs_output_check(stdout, "standard output", &err)) { /* flushes; stdio's error flag */
        r->out_gone = err->code == EPIPE;
        g_error_free(err);
    }
    if (cs_source_write_errno(r->src) == EPIPE)
        r->out_gone = true;
    if (r->out_gone)
        fprintf(stderr, "connscope: standard output closed: capture stopped\n");
    return r->out_gone;
}

static void read_packet(void *ctx, const cs_raw *raw)
{
    reader *r = ctx;
    cs_engine_packet(r->engine, raw);
    r->pg.packets++;
}

static bool between_reads(void *ctx, bool timed_out)
{
    reader *r = ctx;
    if (r->pg.on && (r->pg.packets % 4096 == 0 || timed_out)) {
        cs_time_t now = wall_now();
        if (now - r->pg.last >= CS_NS_PER_S / 4)
            progress_update(&r->pg, r->src, r->engine, r->live, now);
    }
    if (r->live) {
        cs_time_t now = wall_now();
        if (now - r->last_stats >= CS_NS_PER_S / 2) {
            uint64_t rx, drop, ifdrop;
            if (cs_source_stats(r->src, &rx, &drop, &ifdrop))
                cs_engine_set_drops(r->engine, rx, drop, ifdrop);
            r->last_stats = now;
            /* records reach a pipe within a second, without a write per line */
            if (output_gone(r))
                return false;
        }
        if (timed_out)
            cs_engine_idle(r->engine, now);
        if (r->duration > 0 && now - r->start >= r->duration)
            return false;
    }
    if (r->mh != NULL && cs_metrics_http_wanted(r->mh))
        publish_metrics(r);
    if (rotate_requested) {
        rotate_requested = 0;
        cs_source_write_rotate(r->src); /* a failure stops -w: reported by check_outputs */
    }
    if (report_requested) {
        report_requested = 0;
        progress_clear(&r->pg);
        cs_engine_report_now(r->engine, r->info);
        fflush(stdout);
    }
    return true;
}

/* Reads every packet of src into e until the input ends, a signal stops it, or -c/--duration.
 * Returns false when a live capture stopped because standard output's reader went away. */
static bool read_input(cs_source *src, cs_engine *e, const cs_options *o, const cs_run_info *info,
                       cs_metrics_http *mh)
{
    uint64_t done, total;
    reader r = {.src = src,
                .engine = e,
                .info = info,
                .live = o->live.iface != NULL,
                .start = wall_now(),
                .duration = o->duration,
                .mh = mh};
    r.pg.start = r.start;
    r.pg.on = !o->quiet && isatty(STDERR_FILENO) && !o->stream_list && !o->udp_stream_list &&
              (r.live || (cs_source_progress(src, &done, &total) && total > 4u * 1024 * 1024));
    cs_read_sink sink = {.ctx = &r, .packet = read_packet, .after = between_reads};
    cs_source_read(src, &sink, &stop_requested, o->count);
    if (r.live) {
        uint64_t rx, drop, ifdrop;
        if (cs_source_stats(src, &rx, &drop, &ifdrop))
            cs_engine_set_drops(e, rx, drop, ifdrop);
    }
    progress_clear(&r.pg);
    return !r.out_gone;
}

/* Writes --summary-out, --metrics and --plot after the report; a failure is exit status 2. */
static int write_analytics_files(const cs_an_cli *acli, const cs_analytics *an, int status)
{
    GError *err = NULL;
    if (an == NULL)
        return status;
    fflush(stdout);
    if (!cs_an_cli_write_files(acli, an, NULL, "connscope " PACKAGE_VERSION, &err)) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        return CS_EXIT_OUTPUT;
    }
    return status;
}

/* -w and standard output: every packet and report line written, or one message naming the output
 * that failed and exit status CS_EXIT_OUTPUT (standard output's reader gone away: SIGPIPE). */
static int check_outputs(const cs_options *o, cs_source *src, int status)
{
    GError *err = NULL;
    int errnum;
    bool pcap_on_stdout = o->write_file != NULL && strcmp(o->write_file, "-") == 0;
    if (!cs_source_write_check(src, &errnum, &err)) {
        bool reader_gone = pcap_on_stdout && errnum == EPIPE; /* cs_output_finish's case */
        if (!reader_gone) {
            fprintf(stderr, "connscope: %s\n", err->message);
            status = CS_EXIT_OUTPUT;
        }
        g_error_free(err);
        if (pcap_on_stdout && !reader_gone)
            return status; /* that was standard output's failure: told once */
    }
    return cs_output_finish("connscope", status);
}

/* Opens the files or the interface and the --metrics-listen socket (*mh), then -Z, then -w (as
 * tcpdump does: every output file, the rotated ones too, is created by the user -Z names).
 * Returns NULL after printing why. */
static cs_source *open_input(const cs_options *o, cs_metrics_http **mh)
{
    GError *err = NULL;
    cs_source *src = o->live.iface != NULL
                         ? cs_source_open_live(&o->live, &err)
                         : cs_source_open_files(o->files, o->n_files, o->bpf, &err);
    if (src != NULL && o->metrics_listen != NULL &&
        (*mh = cs_metrics_http_start(o->metrics_listen, &err)) == NULL) {
        cs_source_free(src);
        src = NULL;
    }
    if (src != NULL && o->user != NULL && !drop_privileges(o->user)) {
        cs_metrics_http_stop(*mh);
        *mh = NULL;
        cs_source_free(src);
        return NULL;
    }
    if (src != NULL && o->write_file != NULL &&
        !cs_source_write_to(src, o->write_file, o->rotate_bytes, o->rotate_secs, &err)) {
        cs_metrics_http_stop(*mh);
        *mh = NULL;
        cs_source_free(src);
        src = NULL;
    }
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        return NULL;
    }
    return src;
}

/* The report writer the options ask for, on stdout (stderr when stdout carries something else). */
static cs_report *new_report(const cs_options *o)
{
    FILE *out = o->report_to_stderr ? stderr : stdout;
    cs_report *report = o->kind == CS_REPORT_JSON ? cs_report_json_new(out)
                        : o->kind == CS_REPORT_CSV
                            ? cs_report_csv_new(out, o->list_http)
                            : cs_report_text_new(out, o->list_conns, o->list_http);
    if (o->an.top != G_MININT)
        report->top_n = (uint32_t)o->an.top; /* "connections to look at" */
    report->by_ip = o->an.by_ip;
    report->color = o->color == 1;
    if (o->color < 0 && o->kind == CS_REPORT_TEXT)
        report->color = isatty(fileno(report->out)) && getenv("NO_COLOR") == NULL;
    return report;
}

/* The analytics aggregates when an analytics option was given (else NULL), named after the
 * inputs. */
static cs_analytics *new_analytics(cs_options *o)
{
    if (!cs_an_cli_active(&o->an))
        return NULL;
    /* --plot without --bucket: buckets that fit the capture (plot.h) */
    o->engine.auto_bucket = o->an.plot != NULL && !o->an.bucket_given;
    if (o->engine.auto_bucket)
        o->an.cfg.bucket = CS_PLOT_AUTO_FIRST;
    cs_analytics *an = cs_analytics_new(&o->an.cfg);
    if (o->live.iface != NULL) {
        gchar *name = g_strconcat("live:", o->live.iface, NULL);
        cs_analytics_add_input(an, name);
        g_free(name);
    } else {
        for (int i = 0; i < o->n_files; i++)
            cs_analytics_add_input(an, o->files[i]);
    }
    return an;
}

/* --metrics graphite=HOST:PORT with --interval: the carbon receivers pushed to at the end of
 * every interval (their end-of-run write is skipped). */
typedef struct pushers {
    cs_graphite **g;
    int n;
} pushers;

static void push_interval(void *ctx, const cs_stats *st, const cs_interval_info *iv)
{
    pushers *p = ctx;
    for (int i = 0; i < p->n; i++)
        cs_graphite_interval(p->g[i], st, iv);
}

/* Starts a sender per carbon target when intervals are on, and hooks them into ecfg. An
 * unreachable receiver is reported now and retried later (never fatal). */
static void start_pushers(cs_options *o, cs_engine_cfg *ecfg, pushers *p)
{
    memset(p, 0, sizeof *p);
    if (o->engine.interval <= 0)
        return;
    GString *prefix = g_string_new(NULL);
    cs_metrics_graphite_prefix(&o->an.cfg.host, prefix);
    for (int i = 0; i < o->an.n_targets; i++) {
        cs_metrics_target *t = &o->an.targets[i];
        if (t->format != CS_METRICS_GRAPHITE || t->host == NULL)
            continue;
        GError *warn = NULL;
        t->streamed = true;
        p->g = g_renew(cs_graphite *, p->g, p->n + 1);
        p->g[p->n++] = cs_graphite_start(t, prefix->str, &warn);
        if (warn != NULL) {
            fprintf(stderr, "connscope: %s (retrying with every interval)\n", warn->message);
            g_error_free(warn);
        }
    }
    g_string_free(prefix, TRUE);
    if (p->n > 0) {
        ecfg->interval_hook = push_interval;
        ecfg->interval_ctx = p;
    }
}

static void stop_pushers(pushers *p)
{
    for (int i = 0; i < p->n; i++)
        cs_graphite_stop(p->g[i]); /* undelivered batches are told on stderr, never fatal */
    g_free(p->g);
}

/* One analysis run with the checked options o. Returns the exit status. */
static int run(cs_options *o)
{
    GError *err = NULL;
    struct cs_keylog *keylog = NULL;
    if (o->tls_keylog != NULL) {
        keylog = cs_keylog_load(o->tls_keylog, &err);
        if (keylog == NULL) {
            fprintf(stderr, "connscope: %s\n", err->message);
            g_error_free(err);
            return CS_EXIT_USAGE;
        }
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf); /* live: flushed every second by between_reads;
                                                      before -w - writes its header there */
    cs_metrics_http *mh = NULL;
    cs_source *src = open_input(o, &mh);
    if (src == NULL) {
        cs_keylog_free(keylog);
        return CS_EXIT_USAGE;
    }
    cs_report *report = new_report(o);
    cs_analytics *an = new_analytics(o);
    cs_engine_cfg ecfg = o->engine;
    ecfg.app.keylog = keylog;
    ecfg.stream_list = o->stream_list ? stdout : NULL;
    ecfg.udp_stream_list = o->udp_stream_list ? stdout : NULL;
    cs_decode_set_vxlan_ports(o->vxlan_ports, o->n_vxlan_ports);
    ecfg.analytics = an;
    pushers push;
    start_pushers(o, &ecfg, &push);
    cs_run_info info = {.src = src, .filter = o->bpf, .version = PACKAGE_VERSION};
    if (an != NULL) {
        info.analytics = an;
        info.analytics_opts = o->kind == CS_REPORT_CSV ? NULL : cs_an_cli_sections(&o->an);
    }
    int status;
    install_signals(o->write_file != NULL && strcmp(o->write_file, "-") != 0);
    if (cs_an_cli_files_due(&o->an) || o->live.iface != NULL)
        cs_output_hold_sigpipe(); /* the files are written even when stdout closes early; a live
                                     capture stops cleanly (read_input) */
    if (o->jobs > 1 && o->n_files > 1) {
        status = cs_run_parallel(o->files, o->n_files, o->jobs, o->bpf, &ecfg, report, o->kind, src,
                                 &info, &stop_requested);
    } else {
        cs_engine *e = cs_engine_new(&ecfg, report);
        if (o->jobs > 1) /* one file: the second thread reads it (source.h) */
            cs_source_start_reader(src);
        if (o->live.iface != NULL)
            live_source = src;
        if (!read_input(src, e, o, &info, mh) && report->out == stdout)
            report->out = stderr; /* the final report still reaches someone */
        live_source = NULL;
        cs_metrics_http_stop(mh); /* the capture ended: nothing new to serve */
        status = cs_source_account(src, cs_engine_counters(e)) ? CS_EXIT_INPUT_ERRORS : 0;
        cs_engine_finish(e, &info);
        cs_engine_free(e);
    }
    stop_pushers(&push);
    if (status != CS_EXIT_USAGE && o->engine.filter.stream_set &&
        o->engine.filter.stream >= info.streams_max) {
        fprintf(stderr, "connscope: no TCP stream %" G_GUINT64_FORMAT " in the input\n",
                o->engine.filter.stream);
        if (status == 0)
            status = CS_EXIT_INPUT_ERRORS; /* as `connscope follow` */
    }
    status = write_analytics_files(&o->an, an, status);
    status = check_outputs(o, src, status);
    fflush(stderr);
    report->destroy(report);
    cs_source_free(src);
    cs_analytics_free(an);
    cs_keylog_free(keylog);
    return status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C"); /* numbers in JSON/CSV/text always use '.' */
    if (argc > 1 && strcmp(argv[1], "follow") == 0)
        return cs_follow_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "merge") == 0)
        return cs_merge_main(argc - 1, argv + 1);
    cs_options o;
    int status = 0;
    if (cs_options_parse(&o, argc, argv, &status)) {
        if (o.action == CS_ACTION_VERSION) {
            print_version();
        } else if (o.action == CS_ACTION_LIST_IFACES) {
            GError *err = NULL;
            if (!cs_source_list_interfaces(stdout, &err)) {
                fprintf(stderr, "connscope: %s\n", err->message);
                g_error_free(err);
                status = CS_EXIT_USAGE;
            }
        } else {
            status = run(&o);
        }
    }
    cs_options_free(&o);
    return status;
}
