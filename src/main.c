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
#include "engine.h"
#include "follow.h"
#include "summary.h"
#include "parallel.h"
#include "source.h"
#include "util.h"

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
    gchar *tls_keylog;
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
    gint64 max_keys;
    gint jobs;
    /* live capture */
    gchar *iface;
    gint snaplen;
    gboolean no_promisc;
    gint buffer_kib;
    gint64 count;
    gdouble duration;
    gboolean list_ifaces;
    gdouble interval;
    gchar *write_file;
    gint64 rotate_mb;
    gint rotate_secs;
    gchar *user;
    gchar *server;
    gchar *client;
    gint64 stream;
    gchar *since;
    gchar *until;
    gboolean quiet;
    gchar *color;
    gchar **files;
} options;

/* Frees what option parsing allocated. */
static void options_free(options *o)
{
    g_strfreev(o->http_ports);
    g_strfreev(o->files);
    g_free(o->filter);
    g_free(o->iface);
    g_free(o->write_file);
    g_free(o->user);
    g_free(o->server);
    g_free(o->client);
    g_free(o->since);
    g_free(o->until);
    g_free(o->color);
    g_free(o->tls_keylog);
}

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;
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

static void install_signals(void)
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
}

static void print_version(void)
{
    printf("connscope %s\n", PACKAGE_VERSION);
    printf("  %s\n", pcap_lib_version());
    printf("  GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
    printf("  %s\n", OPENSSL_VERSION_TEXT);
}

static int usage_error(GOptionContext *ctx, const char *msg)
{
    fprintf(stderr, "connscope: %s\n", msg);
    fprintf(stderr, "Try 'connscope --help' for more information.\n");
    if (ctx != NULL)
        g_option_context_free(ctx);
    return EXIT_USAGE;
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

/* Reads every packet of src into e until the input ends, a signal stops it, or -c/--duration. */
static void read_loop(cs_source *src, cs_engine *e, const options *o, const cs_run_info *info)
{
    uint64_t n = 0;
    cs_time_t start = wall_now(), last_stats = 0;
    progress pg = {.start = start};
    uint64_t done, total;
    pg.on = !o->quiet && isatty(STDERR_FILENO) && !o->stream_list &&
            (o->iface != NULL ||
             (cs_source_progress(src, &done, &total) && total > 4u * 1024 * 1024));
    cs_time_t duration = (cs_time_t)(o->duration * 1e9);
    bool live = o->iface != NULL;
    cs_raw raw;
    for (;;) {
        if (stop_requested)
            break;
        int rc = cs_source_next(src, &raw);
        if (rc == 0)
            break;
        if (rc > 0) {
            cs_engine_packet(e, &raw);
            pg.packets++;
            if (o->count > 0 && (int64_t)++n >= o->count)
                break;
        }
        if (pg.on && (pg.packets % 4096 == 0 || rc < 0)) {
            cs_time_t now = wall_now();
            if (now - pg.last >= CS_NS_PER_S / 4)
                progress_update(&pg, src, e, live, now);
        }
        if (live) {
            cs_time_t now = wall_now();
            if (now - last_stats >= CS_NS_PER_S / 2) {
                uint64_t rx, drop, ifdrop;
                if (cs_source_stats(src, &rx, &drop, &ifdrop))
                    cs_engine_set_drops(e, rx, drop, ifdrop);
                last_stats = now;
                fflush(stdout); /* records reach a pipe within a second, without a write per line */
            }
            if (rc < 0)
                cs_engine_idle(e, now);
            if (duration > 0 && now - start >= duration)
                break;
        }
        if (report_requested) {
            report_requested = 0;
            progress_clear(&pg);
            cs_engine_report_now(e, info);
            fflush(stdout);
        }
    }
    if (live) {
        uint64_t rx, drop, ifdrop;
        if (cs_source_stats(src, &rx, &drop, &ifdrop))
            cs_engine_set_drops(e, rx, drop, ifdrop);
    }
    progress_clear(&pg);
}

/* The first option whose value is out of its range, as a usage message; NULL when all are in. */
static const char *out_of_range(const options *o)
{
    static char msg[128];
    struct {
        const char *name, *range;
        bool bad;
    } r[] = {
        {"--idle-timeout", "takes seconds > 0", o->idle_timeout <= 0},
        {"--close-linger", "takes seconds >= 0", o->close_linger < 0},
        {"--max-conns", "takes 1 to 4294967295", o->max_conns < 1 || o->max_conns > UINT32_MAX},
        {"--max-ooo-bytes", "takes 0 to 4294967295", o->max_ooo < 0 || o->max_ooo > UINT32_MAX},
        {"--max-tombstones", "takes 0 to 4294967295",
         o->max_tombstones < 0 || o->max_tombstones > UINT32_MAX},
        {"--max-keys", "takes 0 (no cap) to 4294967295",
         (o->max_keys != G_MININT64 && o->max_keys < 0) || o->max_keys > UINT32_MAX},
        {"--http-max-pending", "takes 1 to 1000000",
         o->http_max_pending < 1 || o->http_max_pending > 1000000},
        {"--interval", "takes seconds >= 0", o->interval < 0},
        {"--duration", "takes seconds >= 0", o->duration < 0},
        {"-c", "takes a count >= 0", o->count < 0},
        {"-s", "takes at least 64 bytes", o->snaplen < 64},
        {"--rotate-mb", "takes a size >= 0", o->rotate_mb < 0},
        {"--rotate-seconds", "takes seconds >= 0", o->rotate_secs < 0},
        {"-B", "takes 0 to 4194304 KiB", o->buffer_kib < 0 || o->buffer_kib > 4 * 1024 * 1024},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(r); i++)
        if (r[i].bad) {
            g_snprintf(msg, sizeof msg, "%s %s", r[i].name, r[i].range);
            return msg;
        }
    return NULL;
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
        return EXIT_USAGE;
    }
    return status;
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
    o.max_keys = G_MININT64; /* not given: 100000 (top-talker tables: no cap for files) */
    o.http_max_pending = 1000;
    o.snaplen = 262144;
    o.stream = -1;
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C"); /* numbers in JSON/CSV/text always use '.' */
    if (argc > 1 && strcmp(argv[1], "follow") == 0)
        return cs_follow_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "merge") == 0)
        return cs_merge_main(argc - 1, argv + 1);
    cs_an_cli acli;
    cs_an_cli_init(&acli);
    cs_analytics *an = NULL;

    GOptionEntry input[] = {
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &o.filter,
         "BPF filter applied to every input (libpcap syntax)", "BPF"},
        {"interface", 'i', 0, G_OPTION_ARG_STRING, &o.iface,
         "Capture live on interface IFACE ('any' for all) instead of reading files", "IFACE"},
        {"list-interfaces", 'D', 0, G_OPTION_ARG_NONE, &o.list_ifaces,
         "List the interfaces that can be captured on, and exit", NULL},
        {"snaplen", 's', 0, G_OPTION_ARG_INT, &o.snaplen,
         "Live: bytes captured per packet (default 262144)", "N"},
        {"no-promiscuous", 'p', 0, G_OPTION_ARG_NONE, &o.no_promisc,
         "Live: do not put the interface into promiscuous mode", NULL},
        {"buffer-size", 'B', 0, G_OPTION_ARG_INT, &o.buffer_kib,
         "Live: kernel capture buffer in KiB (default 65536: immediate mode uses fixed-size slots)",
         "KIB"},
        {"count", 'c', 0, G_OPTION_ARG_INT64, &o.count, "Stop after N packets", "N"},
        {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &o.duration, "Live: stop after SEC seconds", "SEC"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &o.jobs,
         "Analyse the files on N threads (contiguous groups of files; stream indices restart in each "
         "group; connections spanning groups are detected and reported)",
         "N"},
        {"write", 'w', 0, G_OPTION_ARG_FILENAME, &o.write_file,
         "Also write the packets read to a pcap file", "FILE"},
        {"rotate-mb", 0, 0, G_OPTION_ARG_INT64, &o.rotate_mb,
         "With -w: start FILE.1, FILE.2, ... every N MB", "N"},
        {"rotate-seconds", 0, 0, G_OPTION_ARG_INT, &o.rotate_secs,
         "With -w: start a new file every SEC seconds", "SEC"},
        {"user", 'Z', 0, G_OPTION_ARG_STRING, &o.user,
         "Live: switch to USER after opening the interface (and the -w file)", "USER"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry filters[] = {
        {"server", 0, 0, G_OPTION_ARG_STRING, &o.server,
         "Only connections whose server is IP (and PORT)", "IP[:PORT]"},
        {"client", 0, 0, G_OPTION_ARG_STRING, &o.client, "Only connections whose client is IP",
         "IP"},
        {"stream", 0, 0, G_OPTION_ARG_INT64, &o.stream, "Only the connection with tcp.stream N",
         "N"},
        {"since", 0, 0, G_OPTION_ARG_STRING, &o.since,
         "Skip packets before TIME (epoch seconds or UTC 'YYYY-MM-DD HH:MM:SS')", "TIME"},
        {"until", 0, 0, G_OPTION_ARG_STRING, &o.until, "Skip packets from TIME on", "TIME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry reports[] = {
        {"connections", 'C', 0, G_OPTION_ARG_NONE, &o.list_conns,
         "Text report: add the per-connection table", NULL},
        {"exchanges", 'E', 0, G_OPTION_ARG_NONE, &o.list_http,
         "Text report: add the per-exchange HTTP table", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
         "Write JSON lines (conn, http, tls, syn_dest, server, http_server, tls_server, interval, "
         "the analytics types, summary)",
         NULL},
        {"csv", 0, 0, G_OPTION_ARG_NONE, &o.csv, "Write one CSV row per connection", NULL},
        {"interval", 0, 0, G_OPTION_ARG_DOUBLE, &o.interval,
         "Also report every SEC seconds of capture time, for that interval alone", "SEC"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
         "No progress line on the terminal", NULL},
        {"color", 0, 0, G_OPTION_ARG_STRING, &o.color,
         "Bold section titles: auto (on a terminal, default), always, never", "WHEN"},
        {"stream-list", 0, 0, G_OPTION_ARG_NONE, &o.stream_list,
         "Print 'FRAME<TAB>STREAM' for every TCP frame (like tshark -e frame.number -e tcp.stream); "
         "the report goes to stderr",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry analysis[] = {
        {"http-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.http_ports,
         "Parse connections to server port PORT as HTTP whatever their content (repeatable, or "
         "comma-separated)",
         "PORT"},
        {"no-http", 0, 0, G_OPTION_ARG_NONE, &o.no_http,
         "Do not parse HTTP (connection analysis only)", NULL},
        {"http-decode-bodies", 0, 0, G_OPTION_ARG_NONE, &o.http_decode,
         "Inflate gzip/deflate bodies so *_body_len is the decoded size (Zeek's meaning; costs CPU)",
         NULL},
        {"tls-keylog", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_keylog,
         "Decrypt TLS with an NSS key log (SSLKEYLOGFILE) and pair the HTTP/1.1 inside", "FILE"},
        {"verify-checksums", 0, 0, G_OPTION_ARG_NONE, &o.verify_checksums,
         "Count TCP segments with a bad checksum as anomalies", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry limits[] = {
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
        {"max-keys", 0, 0, G_OPTION_ARG_INT64, &o.max_keys,
         "Entries per aggregate table (servers, hosts, SNIs; more fold into an '(other)' row) and "
         "per top-talker table (then Space-Saving with error bounds); default 100000, top talkers "
         "of files uncapped; 0: no cap",
         "N"},
        {"http-max-pending", 0, 0, G_OPTION_ARG_INT64, &o.http_max_pending,
         "Outstanding HTTP requests kept per connection (default 1000)", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionEntry main_entries[] = {
        {"version", 'V', 0, G_OPTION_ARG_NONE, &o.version,
         "Print the versions of connscope and its libraries, and exit", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.files, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};

    GOptionContext *octx = g_option_context_new("FILE... | -i IFACE");
    g_option_context_set_summary(
        octx, "Who connects to which server, how often, and how fast it answers: TCP connections\n"
              "(numbered like Wireshark's tcp.stream), connection starts per destination,\n"
              "connections per server, and HTTP/1.x exchanges with their timings.\n"
              "Reads pcap/pcapng files as one time-ordered stream ('-' is standard input), or a\n"
              "live interface. 'connscope follow STREAM FILE...' prints one stream's payload;\n"
              "'connscope merge SUMMARY.json...' adds up summaries written by --summary-out.");
    g_option_context_set_description(
        octx,
        "Examples:\n"
        "  Who floods server 192.0.2.80, then what that client did hour by hour:\n"
        "    connscope --server 192.0.2.80 --top 10 capture.pcap\n"
        "    connscope --host 198.51.100.7 --bucket 1h capture.pcap\n"
        "  Share of slow exchanges (total time over 500ms and 2s) per server:\n"
        "    connscope --latency --slow 500ms,2s capture.pcap\n"
        "  Connections per server IP on a live interface, a report every 10 seconds:\n"
        "    connscope -i eth0 -f 'tcp dst port 80 or tcp dst port 443' --interval 10\n"
        "  HTTPS connections by SNI:\n"
        "    connscope --json capture.pcap | jq -r 'select(.type==\"tls\") | .server_name' | sort | uniq -c\n"
        "  Server errors as JSON lines:\n"
        "    connscope --json capture.pcap | jq -c 'select(.type==\"http\" and .status_code>=500)'\n"
        "  More: connscope -C -E FILE (every connection and exchange); connscope follow 3 FILE\n"
        "  (payload of tcp.stream 3; --http: its exchanges' headers and timings);\n"
        "  connscope merge A.json B.json (add up --summary-out files).\n"
        "\n"
        "Exit status: 0 ok; 1 the analysis finished but an input had errors (the report says which);\n"
        "2 usage error or unreadable input.\n");
    g_option_context_add_main_entries(octx, main_entries, NULL);
    struct {
        const char *name, *desc;
        GOptionEntry *entries;
    } groups[] = {{"input", "Input and live capture:", input},
                  {"filters",
                   "Filters (after decoding: --server/--client/--stream keep Wireshark's stream "
                   "numbers; --since/--until skip packets before stream numbering):",
                   filters},
                  {"reports", "Reports and output:", reports},
                  {"analysis", "Analysis:", analysis},
                  {"limits", "Limits (memory stays bounded; each cap hit is counted):", limits}};
    for (size_t i = 0; i < CS_ARRAY_LEN(groups); i++) {
        GOptionGroup *g = g_option_group_new(groups[i].name, groups[i].desc, groups[i].desc, NULL,
                                             NULL);
        g_option_group_add_entries(g, groups[i].entries);
        g_option_context_add_group(octx, g);
        if (strcmp(groups[i].name, "reports") == 0)
            g_option_context_add_group(octx, cs_an_cli_group(&acli, false));
    }
    g_set_prgname("connscope");
    if (cs_an_cli_help_all(octx, argc, argv)) {
        g_option_context_free(octx);
        cs_an_cli_free(&acli);
        return 0;
    }
    GError *err = NULL;
    int status = 0;
    GArray *http_ports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    const char *bad = NULL;
    cs_engine_filter filter;
    uint16_t client_port = 0;
    struct cs_keylog *keylog = NULL;
    memset(&filter, 0, sizeof filter);
    if (!g_option_context_parse(octx, &argc, &argv, &err) || !cs_an_cli_check(&acli, false, &err)) {
        status = usage_error(octx, err->message);
        g_error_free(err);
        goto out;
    }
    if (o.version) {
        print_version();
        g_option_context_free(octx);
        goto out;
    }
    if (o.list_ifaces) {
        g_option_context_free(octx);
        if (!cs_source_list_interfaces(stdout, &err)) {
            fprintf(stderr, "connscope: %s\n", err->message);
            g_error_free(err);
            status = EXIT_USAGE;
        }
        goto out;
    }
    bool have_files = o.files != NULL && o.files[0] != NULL;
    if (o.iface == NULL && !have_files)
        bad = "no capture file given (or -i IFACE for a live capture)";
    else if (o.iface != NULL && have_files)
        bad = "give either capture files or -i IFACE, not both";
    else if (o.json && o.csv)
        bad = "--json and --csv cannot be combined";
    else if ((bad = out_of_range(&o)) != NULL)
        ;
    else if (o.jobs > 1 && (o.iface != NULL || o.stream_list || o.interval > 0 ||
                             o.write_file != NULL || o.count > 0))
        bad = "-j goes with capture files, not with -i, -c, --stream-list, --interval or -w";
    else if (o.stream_list && (o.json || o.csv))
        bad = "--stream-list prints to stdout: use it without --json/--csv";
    else if (o.stream_list && cs_an_cli_stdout_taken(&acli))
        bad = "--stream-list and --metrics/--summary-out to standard output cannot be combined";
    else if (o.csv && (acli.all || acli.top != G_MININT || acli.latency || acli.slow != NULL ||
                       acli.flows))
        bad = "the analytics sections (-A, --top, --latency, --slow, --flow-profile) are text or "
              "JSON: use --summary-out or --metrics with --csv";
    else if (o.user != NULL && o.iface == NULL)
        bad = "-Z USER goes with a live capture (-i)";
    else if (o.jobs < 0 || o.jobs > 256)
        bad = "-j takes 1 to 256 threads";
    else if ((o.rotate_mb > 0 || o.rotate_secs > 0) && o.write_file == NULL)
        bad = "--rotate-mb and --rotate-seconds go with -w FILE";
    else if (!parse_ports(o.http_ports, http_ports))
        bad = "--http-port takes port numbers from 1 to 65535";
    else if (o.server != NULL &&
             !cs_parse_endpoint(o.server, &filter.server_family, &filter.server, &filter.server_port))
        bad = "--server takes IP or IP:PORT ([IPv6]:PORT)";
    else if (o.client != NULL && (!cs_parse_endpoint(o.client, &filter.client_family,
                                                     &filter.client, &client_port) ||
                                  client_port != 0))
        bad = "--client takes an IP address";
    else if (o.since != NULL && !cs_parse_time(o.since, &filter.since))
        bad = "--since takes epoch seconds or a UTC time like '2024-01-02 03:04:05'";
    else if (o.until != NULL && !cs_parse_time(o.until, &filter.until))
        bad = "--until takes epoch seconds or a UTC time like '2024-01-02 03:04:05'";
    else if (o.color != NULL && strcmp(o.color, "auto") != 0 && strcmp(o.color, "always") != 0 &&
             strcmp(o.color, "never") != 0)
        bad = "--color takes auto, always or never";
    if (bad != NULL) {
        status = usage_error(octx, bad);
        goto out;
    }
    g_option_context_free(octx);

    if (o.tls_keylog != NULL) {
        keylog = cs_keylog_load(o.tls_keylog, &err);
        if (keylog == NULL) {
            fprintf(stderr, "connscope: %s\n", err->message);
            g_error_free(err);
            status = EXIT_USAGE;
            goto out;
        }
    }
    cs_source *src;
    if (o.iface != NULL) {
        cs_live_opts lo = {.iface = o.iface,
                           .bpf = o.filter,
                           .snaplen = o.snaplen,
                           .promisc = !o.no_promisc,
                           .buffer_size = (o.buffer_kib > 0 ? o.buffer_kib : 65536) * 1024,
                           .timeout_ms = 200};
        src = cs_source_open_live(&lo, &err);
    } else {
        src = cs_source_open_files(o.files, (int)g_strv_length(o.files), o.filter, &err);
    }
    if (src != NULL && o.write_file != NULL &&
        !cs_source_write_to(src, o.write_file, (uint64_t)o.rotate_mb * 1000000,
                            (uint32_t)o.rotate_secs, &err)) {
        cs_source_free(src);
        src = NULL;
    }
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        status = EXIT_USAGE;
        goto out;
    }
    if (o.user != NULL && !drop_privileges(o.user)) {
        cs_source_free(src);
        status = EXIT_USAGE;
        goto out;
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf); /* live: flushed every second by read_loop */
    cs_report *report;
    if (o.json)
        report = cs_report_json_new(stdout);
    else if (o.csv)
        report = cs_report_csv_new(stdout);
    else
        report = cs_report_text_new(o.stream_list ? stderr : stdout, o.list_conns, o.list_http);
    if (cs_an_cli_stdout_taken(&acli))
        report->out = stderr; /* standard output carries the metrics or the summary */
    report->color = o.color != NULL && strcmp(o.color, "always") == 0;
    if ((o.color == NULL || strcmp(o.color, "auto") == 0) && !o.json && !o.csv)
        report->color = isatty(fileno(report->out)) && getenv("NO_COLOR") == NULL;

    cs_engine_cfg ecfg;
    memset(&ecfg, 0, sizeof ecfg);
    filter.server_set = o.server != NULL;
    filter.client_set = o.client != NULL;
    filter.stream_set = o.stream >= 0;
    filter.stream = (uint64_t)o.stream;
    filter.since_set = o.since != NULL;
    filter.until_set = o.until != NULL;
    ecfg.filter = filter;
    cs_flow_cfg_default(&ecfg.flow);
    ecfg.flow.idle_timeout = (cs_time_t)(o.idle_timeout * 1e9);
    ecfg.flow.close_linger = (cs_time_t)(o.close_linger * 1e9);
    ecfg.flow.max_conns = (uint32_t)o.max_conns;
    ecfg.flow.max_ooo_bytes = (uint32_t)o.max_ooo;
    ecfg.flow.max_tombstones = (uint32_t)o.max_tombstones;
    ecfg.flow.verify_checksums = o.verify_checksums;
    cs_http_cfg_default(&ecfg.app.http);
    ecfg.app.http.max_pending = (uint32_t)o.http_max_pending;
    ecfg.app.http.decode_bodies = o.http_decode;
    ecfg.app.http_ports = (const uint16_t *)(void *)http_ports->data;
    ecfg.app.n_http_ports = (int)http_ports->len;
    ecfg.app.no_http = o.no_http;
    ecfg.app.keylog = keylog;
    ecfg.stream_list = o.stream_list ? stdout : NULL;
    ecfg.interval = (cs_time_t)(o.interval * 1e9);
    ecfg.max_keys = o.max_keys != G_MININT64 ? (uint32_t)o.max_keys : 100000;
    ecfg.filter.host = acli.cfg.host;
    cs_run_info info = {.src = src, .filter = o.filter, .version = PACKAGE_VERSION};
    if (cs_an_cli_active(&acli)) {
        /* top talkers: exact for files unless capped; live runs are capped by default */
        acli.cfg.max_keys = o.max_keys > 0                         ? (uint32_t)o.max_keys
                            : o.max_keys == G_MININT64 && o.iface != NULL ? 100000
                                                                    : UINT32_MAX;
        an = cs_analytics_new(&acli.cfg);
        if (o.iface != NULL) {
            gchar *name = g_strconcat("live:", o.iface, NULL);
            cs_analytics_add_input(an, name);
            g_free(name);
        } else {
            for (int i = 0; o.files[i] != NULL; i++)
                cs_analytics_add_input(an, o.files[i]);
        }
        ecfg.analytics = an;
        info.analytics = an;
        info.analytics_opts = o.csv ? NULL : cs_an_cli_sections(&acli); /* CSV: rows only */
    }
    int nfiles = have_files ? (int)g_strv_length(o.files) : 0;
    if (o.jobs > 1 && nfiles > 1) {
        install_signals();
        status = cs_run_parallel(o.files, nfiles, o.jobs, o.filter, &ecfg, report,
                                 o.json ? CS_REPORT_JSON : o.csv ? CS_REPORT_CSV : CS_REPORT_TEXT,
                                 src, &info, &stop_requested);
        status = write_analytics_files(&acli, an, status);
        fflush(stdout);
        report->destroy(report);
        cs_source_free(src);
        goto out;
    }
    cs_engine *e = cs_engine_new(&ecfg, report);
    if (o.iface != NULL)
        live_source = src;
    install_signals();
    read_loop(src, e, &o, &info);
    live_source = NULL;

    cs_counters *ctr = cs_engine_counters(e);
    for (int i = 0; i < cs_source_count(src); i++) {
        const cs_input *in = cs_source_input(src, i);
        if (in->state == CS_INPUT_TRUNCATED)
            ctr->anomalies[CS_ANOM_FILE_TRUNCATED]++;
        else if (in->state == CS_INPUT_ERROR)
            ctr->anomalies[CS_ANOM_FILE_READ_ERROR]++;
        if (in->message != NULL) {
            fprintf(stderr, "connscope: %s\n", in->message);
            status = EXIT_INPUT_ERRORS;
        }
    }
    cs_engine_finish(e, &info);
    status = write_analytics_files(&acli, an, status);
    fflush(stdout);
    fflush(stderr);
    report->destroy(report);
    cs_engine_free(e);
    cs_source_free(src);
out:
    cs_analytics_free(an);
    cs_an_cli_free(&acli);
    cs_keylog_free(keylog);
    g_array_free(http_ports, TRUE);
    options_free(&o);
    return status;
}
