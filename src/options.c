/* options.c - the analysis run's command line: GOption tables, checks (one usage message each),
 * and the mapping onto the layers' configurations, whose defaults come from the layers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "options.h"
#include "util.h"

/* What GOption fills: raw values, before checking. Numbers that have a default start with it (from
 * the layer's *_default()), so that --help shows it and an option not given keeps it. */
typedef struct cs_options_store {
    gchar *filter, *iface, *write_file, *user, *server, *client, *since, *until, *color;
    gchar *metrics_listen;
    gchar *tls_keylog;
    gchar **http_ports, **http2_ports, **vxlan_ports, **quic_ports;
    gchar **rest;       /* the words after the options: files, or with -r/-i the BPF filter */
    gchar **read_files; /* -r FILE (repeatable) */
    gchar **files;      /* the capture files: rest or read_files (not owned) */
    gboolean json, csv, list_conns, list_http, no_http, http_decode, stream_list, verify_checksums;
    gboolean udp_stream_list;
    gboolean version, list_ifaces, no_promisc, quiet, numeric;
    gdouble idle_timeout, close_linger, duration, interval, udp_idle_timeout;
    gint64 max_conns, max_ooo, max_tombstones, max_frag, max_keys, http_max_pending, count,
        rotate_mb, stream;
    gint64 tunnel_id, vni, max_udp_flows, quic_max_conns;
    gint jobs, snaplen, buffer_kib, rotate_secs;
    GArray *ports;      /* --http-port values, parsed */
    GArray *vxlan;      /* --vxlan-port values, parsed */
    GArray *ports2;     /* --http2-port values, parsed */
    GArray *qports;     /* --quic-port values, parsed */
    GPtrArray *strings; /* help texts built with the defaults in them */
} store;

#define MAX_KEYS_NOT_GIVEN G_MININT64

/* ---- option tables ----------------------------------------------------------------------------- */

/* A formatted text (a help text with a default in it, a usage message), kept until the options
 * are freed. */
static const char *text(store *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static const char *text(store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *t = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(s->strings, t);
    return t;
}

/* "1MiB", "64KiB" or "1000" for a byte count. */
static const char *bytes_text(store *s, uint64_t n)
{
    if (n > 0 && n % (1u << 20) == 0)
        return text(s, "%" G_GUINT64_FORMAT "MiB", n >> 20);
    if (n > 0 && n % 1024 == 0)
        return text(s, "%" G_GUINT64_FORMAT "KiB", n >> 10);
    return text(s, "%" G_GUINT64_FORMAT, n);
}

static void add_group(GOptionContext *ctx, const char *name, const char *desc,
                      const GOptionEntry *entries)
{
    GOptionGroup *g = g_option_group_new(name, desc, desc, NULL, NULL);
    g_option_group_add_entries(g, entries); /* copies the entries */
    g_option_context_add_group(ctx, g);
}

static void add_input_group(GOptionContext *ctx, store *s, const cs_live_opts *live)
{
    GOptionEntry e[] = {
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &s->filter,
         "BPF filter applied to every input (libpcap syntax)", "BPF"},
        {"read-file", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &s->read_files,
         "Read FILE (repeatable; as with tcpdump and tshark, the words after the options are then "
         "the BPF filter)",
         "FILE"},
        {"interface", 'i', 0, G_OPTION_ARG_STRING, &s->iface,
         "Capture live on interface IFACE ('any' for all) instead of reading files (the words "
         "after the options are the BPF filter)",
         "IFACE"},
        {"list-interfaces", 'D', 0, G_OPTION_ARG_NONE, &s->list_ifaces,
         "List the interfaces that can be captured on, and exit", NULL},
        {"snaplen", 's', 0, G_OPTION_ARG_INT, &s->snaplen,
         text(s, "Live: bytes captured per packet (default and 0: %d)", live->snaplen), "N"},
        {"no-promiscuous", 'p', 0, G_OPTION_ARG_NONE, &s->no_promisc,
         "Live: do not put the interface into promiscuous mode", NULL},
        {"buffer-size", 'B', 0, G_OPTION_ARG_INT, &s->buffer_kib,
         text(s,
              "Live: kernel capture buffer in KiB (default %d: immediate mode uses fixed-size "
              "slots)",
              live->buffer_size / 1024),
         "KIB"},
        {"count", 'c', 0, G_OPTION_ARG_INT64, &s->count, "Stop after N packets", "N"},
        {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &s->duration, "Live: stop after SEC seconds",
         "SEC"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &s->jobs,
         "Analyse the files on N threads (contiguous groups of files; stream indices restart in each "
         "group; connections spanning groups are detected and reported); one file: read it on a "
         "second thread",
         "N"},
        {"write", 'w', 0, G_OPTION_ARG_FILENAME, &s->write_file,
         "Also write the packets read to a pcap file ('-': standard output; the report then goes "
         "to standard error)",
         "FILE"},
        {"rotate-mb", 0, 0, G_OPTION_ARG_INT64, &s->rotate_mb,
         "With -w: start FILE.1, FILE.2, ... every N MB", "N"},
        {"rotate-seconds", 0, 0, G_OPTION_ARG_INT, &s->rotate_secs,
         "With -w: start a new file every SEC seconds", "SEC"},
        {"user", 'Z', 0, G_OPTION_ARG_STRING, &s->user,
         "Live: switch to USER after opening the interface, before any output file", "USER"},
        {"metrics-listen", 0, 0, G_OPTION_ARG_STRING, &s->metrics_listen,
         "Live: serve cumulative counters at http://[ADDR:]PORT/metrics (Prometheus text; "
         "OpenMetrics when asked; ADDR defaults to all)",
         "[ADDR:]PORT"},
        {"numeric", 'n', 0, G_OPTION_ARG_NONE, &s->numeric,
         "Accepted for tcpdump's -n/-nn: connscope never resolves addresses or ports to names",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    add_group(ctx, "input", "Input and live capture:", e);
}

static void add_filters_group(GOptionContext *ctx, store *s)
{
    GOptionEntry e[] = {
        {"server", 0, 0, G_OPTION_ARG_STRING, &s->server,
         "Only connections whose server is IP (and PORT)", "IP[:PORT]"},
        {"client", 0, 0, G_OPTION_ARG_STRING, &s->client, "Only connections whose client is IP",
         "IP"},
        {"stream", 0, 0, G_OPTION_ARG_INT64, &s->stream, "Only the connection with tcp.stream N",
         "N"},
        {"since", 0, 0, G_OPTION_ARG_STRING, &s->since,
         "Skip packets before TIME (epoch seconds or UTC 'YYYY-MM-DD HH:MM:SS')", "TIME"},
        {"until", 0, 0, G_OPTION_ARG_STRING, &s->until, "Skip packets from TIME on", "TIME"},
        {"tunnel-id", 0, 0, G_OPTION_ARG_INT64, &s->tunnel_id,
         "Only traffic inside tunnels with this VNI, GRE key or ERSPAN session", "N"},
        {"vni", 0, 0, G_OPTION_ARG_INT64, &s->vni,
         "Only traffic inside VXLAN or GENEVE tunnels with this VNI", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    add_group(ctx, "filters",
              "Filters (after decoding: --server/--client/--stream keep Wireshark's stream "
              "numbers; --since/--until skip packets before stream numbering):",
              e);
}

static void add_reports_group(GOptionContext *ctx, store *s)
{
    GOptionEntry e[] = {
        {"connections", 'C', 0, G_OPTION_ARG_NONE, &s->list_conns,
         "Text report: add the per-connection table", NULL},
        {"exchanges", 'E', 0, G_OPTION_ARG_NONE, &s->list_http,
         "Text report: add the per-exchange HTTP table", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &s->json,
         "Write JSON lines (conn, http, tls, syn_dest, server, http_server, tls_server, interval, "
         "the analytics types, summary)",
         NULL},
        {"csv", 0, 0, G_OPTION_ARG_NONE, &s->csv, "Write one CSV row per connection", NULL},
        {"interval", 0, 0, G_OPTION_ARG_DOUBLE, &s->interval,
         "Also report every SEC seconds of capture time, for that interval alone", "SEC"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &s->quiet, "No progress line on the terminal", NULL},
        {"color", 0, 0, G_OPTION_ARG_STRING, &s->color,
         "Bold section titles: auto (on a terminal, default), always, never", "WHEN"},
        {"stream-list", 0, 0, G_OPTION_ARG_NONE, &s->stream_list,
         "Print 'FRAME<TAB>STREAM' for every TCP frame (like tshark -e frame.number -e tcp.stream); "
         "the report goes to stderr",
         NULL},
        {"udp-stream-list", 0, 0, G_OPTION_ARG_NONE, &s->udp_stream_list,
         "Print 'FRAME<TAB>STREAM[,STREAM]' for every UDP frame (like tshark -e frame.number -e "
         "udp.stream; tunnels carry two); the report goes to stderr",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    add_group(ctx, "reports", "Reports and output:", e);
}

static void add_analysis_group(GOptionContext *ctx, store *s)
{
    GOptionEntry e[] = {
        {"http-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s->http_ports,
         "Parse connections to server port PORT as HTTP whatever their content (repeatable, or "
         "comma-separated)",
         "PORT"},
        {"http2-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s->http2_ports,
         "Parse connections to server port PORT as HTTP/2 whatever their content, also when joined "
         "mid-connection (repeatable, or comma-separated; the preface is found on any port)",
         "PORT"},
        {"no-http", 0, 0, G_OPTION_ARG_NONE, &s->no_http,
         "Do not parse HTTP (connection analysis only)", NULL},
        {"http-decode-bodies", 0, 0, G_OPTION_ARG_NONE, &s->http_decode,
         "Inflate gzip/deflate bodies so *_body_len is the decoded size (Zeek's meaning; costs CPU)",
         NULL},
        {"tls-keylog", 0, 0, G_OPTION_ARG_FILENAME, &s->tls_keylog,
         "Decrypt TLS with an NSS key log (SSLKEYLOGFILE) and pair the HTTP/1.1 and HTTP/2 inside",
         "FILE"},
        {"verify-checksums", 0, 0, G_OPTION_ARG_NONE, &s->verify_checksums,
         "Count TCP segments with a bad checksum as anomalies", NULL},
        {"vxlan-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s->vxlan_ports,
         "Decode UDP port PORT as VXLAN too (besides 4789; repeatable or comma-separated, up to 8)",
         "PORT"},
        {"quic-port", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s->quic_ports,
         text(s,
              "Take every UDP datagram to or from port PORT as QUIC (repeatable or "
              "comma-separated, up to %d; long headers of known versions are found on any port)",
              CS_QUIC_MAX_PORTS),
         "PORT"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    add_group(ctx, "analysis", "Analysis:", e);
}

static void add_limits_group(GOptionContext *ctx, store *s, const cs_flow_cfg *flow,
                             const cs_http_cfg *http, const cs_udp_cfg *udp,
                             const cs_quic_cfg *quic)
{
    GOptionEntry e[] = {
        {"idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &s->idle_timeout,
         text(s, "Finalise a connection after SEC without packets (default %g)",
              (double)flow->idle_timeout / 1e9),
         "SEC"},
        {"close-linger", 0, 0, G_OPTION_ARG_DOUBLE, &s->close_linger,
         text(s, "Finalise a closed connection after SEC without packets (default %g)",
              (double)flow->close_linger / 1e9),
         "SEC"},
        {"max-conns", 0, 0, G_OPTION_ARG_INT64, &s->max_conns,
         text(s, "Track at most N connections; the idlest are evicted and counted (default %u)",
              flow->max_conns),
         "N"},
        {"max-ooo-bytes", 0, 0, G_OPTION_ARG_INT64, &s->max_ooo,
         text(s,
              "Out-of-order bytes buffered per direction before a hole becomes a gap (default %s)",
              bytes_text(s, flow->max_ooo_bytes)),
         "N"},
        {"max-tombstones", 0, 0, G_OPTION_ARG_INT64, &s->max_tombstones,
         text(s, "Closed 4-tuples remembered for stream numbering, TCP and UDP each (default %u)",
              flow->max_tombstones),
         "N"},
        {"udp-idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &s->udp_idle_timeout,
         text(s, "End a UDP flow record after SEC without datagrams (default %g)",
              (double)udp->idle_timeout / 1e9),
         "SEC"},
        {"max-udp-flows", 0, 0, G_OPTION_ARG_INT64, &s->max_udp_flows,
         text(s, "Track at most N UDP flows; the idlest are ended and counted (default %u)",
              udp->max_flows),
         "N"},
        {"quic-max-conns", 0, 0, G_OPTION_ARG_INT64, &s->quic_max_conns,
         text(s,
              "Track at most N QUIC connections; the idlest are ended and counted "
              "(default %u)",
              quic->max_conns),
         "N"},
        {"max-frag-datagrams", 0, 0, G_OPTION_ARG_INT64, &s->max_frag,
         text(s,
              "Incomplete fragmented IP datagrams held; the oldest are evicted and counted "
              "(default %u)",
              CS_DEFRAG_MAX_DATAGRAMS),
         "N"},
        {"max-keys", 0, 0, G_OPTION_ARG_INT64, &s->max_keys,
         text(s,
              "Entries per aggregate table (servers, hosts, SNIs; more fold into an '(other)' row) "
              "and per top-talker table (then Space-Saving with error bounds); default %u, top "
              "talkers of files uncapped; 0: no cap",
              CS_AN_MAX_KEYS_DEFAULT),
         "N"},
        {"http-max-pending", 0, 0, G_OPTION_ARG_INT64, &s->http_max_pending,
         text(s,
              "Outstanding HTTP requests (HTTP/2: open streams) kept per connection (default %u)",
              http->max_pending),
         "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    add_group(ctx, "limits", "Limits (memory stays bounded; each cap hit is counted):", e);
}

/* The whole command line: main entries, then the groups in --help order. */
static GOptionContext *new_context(store *s, cs_options *o)
{
    GOptionEntry main_entries[] = {
        {"version", 'V', 0, G_OPTION_ARG_NONE, &s->version,
         "Print the versions of connscope and its libraries, and exit", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &s->rest, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionContext *ctx = g_option_context_new("FILE... | -r FILE... [BPF] | -i IFACE [BPF]");
    g_option_context_set_summary(
        ctx, "Who connects to which server, how often, and how fast it answers: TCP connections\n"
             "(numbered like Wireshark's tcp.stream), connection starts per destination,\n"
             "connections per server, and HTTP/1.x exchanges with their timings; inside VXLAN,\n"
             "GENEVE, GRE, ERSPAN, IP-in-IP and Teredo tunnels too; UDP flows per server.\n"
             "Reads pcap/pcapng files (gzip or zstd too) as one time-ordered stream ('-' is\n"
             "standard input), or a live interface. 'connscope follow STREAM FILE...' prints\n"
             "one stream's payload; 'connscope merge SUMMARY.json...' adds up summaries written\n"
             "by --summary-out.");
    g_option_context_set_description(
        ctx,
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
        "Exit status: 0 ok; 1 the analysis finished but an input had errors (the report says which)\n"
        "or --stream N names no stream; 2 usage error, unreadable input, or an output that could\n"
        "not be written.\n");
    g_option_context_add_main_entries(ctx, main_entries, NULL);
    add_input_group(ctx, s, &o->live);
    add_filters_group(ctx, s);
    add_reports_group(ctx, s);
    g_option_context_add_group(ctx, cs_an_cli_group(&o->an, false));
    add_analysis_group(ctx, s);
    add_limits_group(ctx, s, &o->engine.flow, &o->engine.app.http, &o->engine.udp,
                     &o->engine.quic.quic);
    return ctx;
}

/* ---- checks ------------------------------------------------------------------------------------ */

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

/* Does path start like a pcap or pcapng file? */
static bool is_capture_file(const char *path)
{
    static const uint32_t magic[] = {0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a};
    uint32_t m = 0;
    FILE *fp = g_file_test(path, G_FILE_TEST_IS_REGULAR) ? fopen(path, "rb") : NULL;
    if (fp == NULL)
        return false;
    bool ok = fread(&m, sizeof m, 1, fp) == 1;
    fclose(fp);
    for (size_t i = 0; ok && i < CS_ARRAY_LEN(magic); i++)
        if (m == magic[i] || m == GUINT32_SWAP_LE_BE(magic[i]))
            return true;
    return false;
}

/* Words that start a BPF expression (tcpdump's primitives): a trailing argument that does not
 * exist as a file and starts with one is taken for a misplaced filter. */
static bool bpf_start(const char *w)
{
    static const char *const kw[] = {
        "tcp",  "udp",  "icmp",      "icmp6", "ip",   "ip6",  "arp",       "ether",    "host",
        "net",  "port", "portrange", "src",   "dst",  "not",  "!",         "(",        "vlan",
        "mpls", "less", "greater",   "proto", "sctp", "igmp", "broadcast", "multicast"};
    for (size_t i = 0; i < CS_ARRAY_LEN(kw); i++)
        if (strcmp(w, kw[i]) == 0 || (w[0] == '(' && kw[i][0] == '(') ||
            (g_str_has_prefix(w, kw[i]) && w[strlen(kw[i])] == '['))
            return true;
    return false;
}

/* The words after the options: with -r or -i they are the BPF filter (tcpdump's and tshark's
 * habit), otherwise the capture files, where a tail that is not a file but a filter gets a hint.
 * Sets s->files and s->filter. Returns a usage message, or NULL. */
static const char *take_rest(store *s)
{
    bool have_rest = s->rest != NULL && s->rest[0] != NULL;
    if (s->read_files == NULL && s->iface == NULL) {
        s->files = s->rest;
        int k = have_rest ? (int)g_strv_length(s->rest) : 0;
        while (k > 0 && strcmp(s->rest[k - 1], "-") != 0 &&
               !g_file_test(s->rest[k - 1], G_FILE_TEST_EXISTS))
            k--;
        if (!have_rest || s->rest[k] == NULL || !bpf_start(s->rest[k]))
            return NULL;
        gchar *expr = g_strjoinv(" ", s->rest + k);
        g_ptr_array_add(s->strings, expr);
        if (!cs_bpf_compiles(expr))
            return NULL;
        return text(s,
                    "'%s' is not a file but a BPF filter: give it with -f '%s', or read the files "
                    "with -r (connscope -r FILE %s)",
                    expr, expr, expr);
    }
    s->files = s->read_files;
    if (!have_rest)
        return NULL;
    for (int i = 0; s->rest[i] != NULL; i++)
        if (is_capture_file(s->rest[i]))
            return s->read_files == NULL
                       ? "give either capture files or -i IFACE, not both"
                       : text(s,
                              "with -r, the words after the options are the BPF filter, and "
                              "'%s' is a capture file: give every file with -r",
                              s->rest[i]);
    if (s->filter != NULL)
        return "give the BPF filter with -f or after the options, not both";
    s->filter = g_strjoinv(" ", s->rest);
    return NULL;
}

/* The first value out of its range or combination of options that cannot go together, as a usage
 * message; NULL when there is none. The order is the order of the messages users see first. */
static const char *first_conflict(const store *s, const cs_an_cli *an)
{
    bool have_files = s->files != NULL && s->files[0] != NULL;
    bool live = s->iface != NULL;
    bool to_stdout = s->write_file != NULL && strcmp(s->write_file, "-") == 0;
    struct {
        bool bad;
        const char *msg;
    } r[] = {
        {!live && !have_files, "no capture file given (or -i IFACE for a live capture)"},
        {live && have_files, "give either capture files or -i IFACE, not both"},
        {s->json && s->csv, "--json and --csv cannot be combined"},
        {s->idle_timeout <= 0, "--idle-timeout takes seconds > 0"},
        {s->close_linger < 0, "--close-linger takes seconds >= 0"},
        {s->max_conns < 1 || s->max_conns > UINT32_MAX, "--max-conns takes 1 to 4294967295"},
        {s->max_ooo < 0 || s->max_ooo > UINT32_MAX, "--max-ooo-bytes takes 0 to 4294967295"},
        {s->max_tombstones < 0 || s->max_tombstones > UINT32_MAX,
         "--max-tombstones takes 0 to 4294967295"},
        {s->max_frag < 0 || s->max_frag > UINT32_MAX, "--max-frag-datagrams takes 0 to 4294967295"},
        {s->udp_idle_timeout <= 0, "--udp-idle-timeout takes seconds > 0"},
        {s->max_udp_flows < 1 || s->max_udp_flows > UINT32_MAX,
         "--max-udp-flows takes 1 to 4294967295"},
        {s->quic_max_conns < 1 || s->quic_max_conns > UINT32_MAX,
         "--quic-max-conns takes 1 to 4294967295"},
        {s->tunnel_id < -1 || s->tunnel_id > UINT32_MAX, "--tunnel-id takes 0 to 4294967295"},
        {s->vni < -1 || s->vni > 0xffffff, "--vni takes 0 to 16777215"},
        {(s->max_keys != MAX_KEYS_NOT_GIVEN && s->max_keys < 0) || s->max_keys > UINT32_MAX,
         "--max-keys takes 0 (no cap) to 4294967295"},
        {s->http_max_pending < 1 || s->http_max_pending > 1000000,
         "--http-max-pending takes 1 to 1000000"},
        {s->interval < 0, "--interval takes seconds >= 0"},
        {s->duration < 0, "--duration takes seconds >= 0"},
        {s->count < 0, "-c takes a count >= 0"},
        {s->snaplen != 0 && s->snaplen < 64, "-s takes 0 (the default) or at least 64 bytes"},
        {s->rotate_mb < 0, "--rotate-mb takes a size >= 0"},
        {s->rotate_secs < 0, "--rotate-seconds takes seconds >= 0"},
        {s->buffer_kib < 0 || s->buffer_kib > 4 * 1024 * 1024, "-B takes 0 to 4194304 KiB"},
        {s->jobs > 1 && (live || s->stream_list || s->udp_stream_list || s->interval > 0 ||
                         s->write_file != NULL || s->count > 0),
         "-j goes with capture files, not with -i, -c, --stream-list, --udp-stream-list, "
         "--interval or -w"},
        {s->stream_list && s->udp_stream_list,
         "--stream-list and --udp-stream-list both print to stdout: use one"},
        {(s->stream_list || s->udp_stream_list) && (s->json || s->csv),
         "--stream-list prints to stdout: use it without --json/--csv"},
        {(s->stream_list || s->udp_stream_list) && cs_an_cli_stdout_taken(an),
         "--stream-list and --metrics/--summary-out to standard output cannot be combined"},
        {s->csv && (an->all || an->top != G_MININT || an->latency || an->slow != NULL || an->flows),
         "the analytics sections (-A, --top, --latency, --slow, --flow-profile) are text or JSON: "
         "use --summary-out or --metrics with --csv"},
        {s->user != NULL && !live, "-Z USER goes with a live capture (-i)"},
        {s->metrics_listen != NULL && !live, "--metrics-listen goes with a live capture (-i)"},
        {s->jobs < 0 || s->jobs > 256, "-j takes 1 to 256 threads"},
        {(s->rotate_mb > 0 || s->rotate_secs > 0) && s->write_file == NULL,
         "--rotate-mb and --rotate-seconds go with -w FILE"},
        {(s->rotate_mb > 0 || s->rotate_secs > 0) && to_stdout,
         "-w - writes to standard output, which cannot be rotated"},
        {to_stdout && (s->stream_list || s->udp_stream_list),
         "-w - and --stream-list both write to standard output"},
        {to_stdout && cs_an_cli_stdout_taken(an),
         "-w - and --metrics/--summary-out to standard output cannot be combined"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(r); i++)
        if (r[i].bad)
            return r[i].msg;
    return NULL;
}

/* Parses the values with a syntax of their own into the engine filter and the app config.
 * Returns a usage message for the first bad one, NULL when all are good. */
static const char *parse_values(store *s, cs_options *o)
{
    cs_engine_filter *f = &o->engine.filter;
    int32_t port;
    if (!parse_ports(s->http_ports, s->ports))
        return "--http-port takes port numbers from 1 to 65535";
    if (!parse_ports(s->http2_ports, s->ports2))
        return "--http2-port takes port numbers from 1 to 65535";
    if (!parse_ports(s->quic_ports, s->qports) || s->qports->len > CS_QUIC_MAX_PORTS)
        return "--quic-port takes up to 16 port numbers from 1 to 65535";
    if (!parse_ports(s->vxlan_ports, s->vxlan) || s->vxlan->len > 8)
        return "--vxlan-port takes up to 8 port numbers from 1 to 65535";
    if (s->server != NULL) {
        if (!cs_parse_addr_port(s->server, &f->server_family, &f->server, &port) || port == 0)
            return "--server takes IP or IP:PORT ([IPv6]:PORT)";
        f->server_port = port > 0 ? (uint16_t)port : 0; /* 0: any port */
    }
    if (s->client != NULL &&
        (!cs_parse_addr_port(s->client, &f->client_family, &f->client, &port) || port >= 0))
        return "--client takes an IP address";
    if (s->since != NULL && !cs_parse_time(s->since, &f->since))
        return "--since takes epoch seconds or a UTC time like '2024-01-02 03:04:05'";
    if (s->until != NULL && !cs_parse_time(s->until, &f->until))
        return "--until takes epoch seconds or a UTC time like '2024-01-02 03:04:05'";
    if (s->color != NULL && strcmp(s->color, "auto") != 0 && strcmp(s->color, "always") != 0 &&
        strcmp(s->color, "never") != 0)
        return "--color takes auto, always or never";
    return NULL;
}

/* ---- mapping ----------------------------------------------------------------------------------- */

/* Copies the checked values into o: the engine's flow, app and filter configs, the live capture,
 * the outputs. */
static void map_values(const store *s, cs_options *o)
{
    o->files = s->files;
    o->n_files = s->files != NULL ? (int)g_strv_length(s->files) : 0;
    o->bpf = s->filter;
    o->live.iface = s->iface;
    o->live.bpf = s->filter;
    if (s->snaplen != 0) /* -s 0: the default, as tcpdump's -s 0 */
        o->live.snaplen = s->snaplen;
    o->live.promisc = !s->no_promisc;
    if (s->buffer_kib > 0)
        o->live.buffer_size = s->buffer_kib * 1024;
    o->write_file = s->write_file;
    o->rotate_bytes = (uint64_t)s->rotate_mb * 1000000;
    o->rotate_secs = (uint32_t)s->rotate_secs;
    o->user = s->user;
    o->metrics_listen = s->metrics_listen;
    o->count = (uint64_t)s->count;
    o->duration = (cs_time_t)(s->duration * 1e9);
    o->jobs = s->jobs;
    o->quiet = s->quiet;
    o->kind = s->json ? CS_REPORT_JSON : s->csv ? CS_REPORT_CSV : CS_REPORT_TEXT;
    o->list_conns = s->list_conns;
    o->list_http = s->list_http;
    o->stream_list = s->stream_list;
    o->udp_stream_list = s->udp_stream_list;
    o->vxlan_ports = (const uint16_t *)(void *)s->vxlan->data;
    o->n_vxlan_ports = (int)s->vxlan->len;
    o->report_to_stderr = s->stream_list || s->udp_stream_list || cs_an_cli_stdout_taken(&o->an) ||
                          (s->write_file != NULL && strcmp(s->write_file, "-") == 0);
    o->color = s->color == NULL || strcmp(s->color, "auto") == 0 ? -1
               : strcmp(s->color, "always") == 0                 ? 1
                                                                 : 0;
    o->tls_keylog = s->tls_keylog;

    cs_engine_cfg *e = &o->engine;
    e->filter.server_set = s->server != NULL;
    e->filter.client_set = s->client != NULL;
    e->filter.stream_set = s->stream >= 0;
    e->filter.stream = (uint64_t)s->stream;
    e->filter.since_set = s->since != NULL;
    e->filter.until_set = s->until != NULL;
    e->filter.tunnel_id_set = s->tunnel_id >= 0;
    e->filter.tunnel_id = (uint32_t)s->tunnel_id;
    e->filter.vni_set = s->vni >= 0;
    e->filter.vni = (uint32_t)s->vni;
    e->filter.host = o->an.cfg.host;
    e->flow.idle_timeout = (cs_time_t)(s->idle_timeout * 1e9);
    e->flow.close_linger = (cs_time_t)(s->close_linger * 1e9);
    e->flow.max_conns = (uint32_t)s->max_conns;
    e->flow.max_ooo_bytes = (uint32_t)s->max_ooo;
    e->flow.max_tombstones = (uint32_t)s->max_tombstones;
    e->max_frag_datagrams = (uint32_t)s->max_frag;
    e->udp.idle_timeout = (cs_time_t)(s->udp_idle_timeout * 1e9);
    e->udp.max_flows = (uint32_t)s->max_udp_flows;
    e->udp.max_tombstones = (uint32_t)s->max_tombstones;
    e->quic.quic.max_conns = (uint32_t)s->quic_max_conns;
    e->quic.n_ports = s->qports->len;
    for (guint i = 0; i < s->qports->len; i++)
        e->quic.ports[i] = g_array_index(s->qports, uint16_t, i);
    e->flow.verify_checksums = s->verify_checksums;
    e->app.http.max_pending = (uint32_t)s->http_max_pending;
    e->app.http.decode_bodies = s->http_decode;
    e->app.http_ports = (const uint16_t *)(void *)s->ports->data;
    e->app.n_http_ports = (int)s->ports->len;
    e->app.http2_ports = (const uint16_t *)(void *)s->ports2->data;
    e->app.n_http2_ports = (int)s->ports2->len;
    e->app.no_http = s->no_http;
    e->interval = (cs_time_t)(s->interval * 1e9);
    bool keys_given = s->max_keys != MAX_KEYS_NOT_GIVEN;
    e->max_keys = keys_given ? (uint32_t)s->max_keys : CS_AN_MAX_KEYS_DEFAULT; /* 0: no cap */
    /* top talkers: exact for files unless capped; live runs are capped by default */
    o->an.cfg.max_keys = s->max_keys > 0                   ? (uint32_t)s->max_keys
                         : !keys_given && s->iface != NULL ? CS_AN_MAX_KEYS_DEFAULT
                                                           : UINT32_MAX;
}

/* ---- public ------------------------------------------------------------------------------------ */

static int usage_error(const char *msg)
{
    fprintf(stderr, "connscope: %s\n", msg);
    fprintf(stderr, "Try 'connscope --help' for more information.\n");
    return CS_EXIT_USAGE;
}

bool cs_options_parse(cs_options *o, int argc, char **argv, int *status)
{
    memset(o, 0, sizeof *o);
    store *s = o->store = g_new0(store, 1);
    s->strings = g_ptr_array_new_with_free_func(g_free);
    s->ports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    s->vxlan = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    s->ports2 = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    s->qports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    cs_an_cli_init(&o->an);
    cs_live_opts_default(&o->live);
    cs_flow_cfg_default(&o->engine.flow);
    cs_http_cfg_default(&o->engine.app.http);
    s->idle_timeout = (double)o->engine.flow.idle_timeout / 1e9;
    s->close_linger = (double)o->engine.flow.close_linger / 1e9;
    s->max_conns = o->engine.flow.max_conns;
    s->max_ooo = o->engine.flow.max_ooo_bytes;
    s->max_tombstones = o->engine.flow.max_tombstones;
    cs_udp_cfg_default(&o->engine.udp);
    s->udp_idle_timeout = (double)o->engine.udp.idle_timeout / 1e9;
    s->max_udp_flows = o->engine.udp.max_flows;
    cs_quic_cfg_default(&o->engine.quic.quic);
    s->quic_max_conns = o->engine.quic.quic.max_conns;
    s->tunnel_id = -1;
    s->vni = -1;
    o->engine.max_frag_datagrams = CS_DEFRAG_MAX_DATAGRAMS;
    s->max_frag = o->engine.max_frag_datagrams;
    s->max_keys = MAX_KEYS_NOT_GIVEN; /* the default depends on the input: see map_values */
    s->http_max_pending = o->engine.app.http.max_pending;
    s->snaplen = o->live.snaplen;
    s->stream = -1;

    GOptionContext *ctx = new_context(s, o);
    g_set_prgname("connscope");
    GError *err = NULL;
    const char *bad = NULL;
    *status = 0;
    if (cs_an_cli_help_all(ctx, argc, argv)) {
        g_option_context_free(ctx);
        return false;
    }
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || !cs_an_cli_check(&o->an, false, &err)) {
        *status = usage_error(err->message);
        g_error_free(err);
        g_option_context_free(ctx);
        return false;
    }
    g_option_context_free(ctx);
    o->action = s->version       ? CS_ACTION_VERSION
                : s->list_ifaces ? CS_ACTION_LIST_IFACES
                                 : CS_ACTION_RUN;
    if (o->action != CS_ACTION_RUN)
        return true;
    bad = take_rest(s);
    if (bad == NULL)
        bad = first_conflict(s, &o->an);
    if (bad == NULL)
        bad = parse_values(s, o);
    if (bad != NULL) {
        *status = usage_error(bad);
        return false;
    }
    map_values(s, o);
    return true;
}

void cs_options_free(cs_options *o)
{
    store *s = o->store;
    cs_an_cli_free(&o->an);
    if (s == NULL)
        return;
    g_strfreev(s->http_ports);
    g_strfreev(s->vxlan_ports);
    g_strfreev(s->http2_ports);
    g_strfreev(s->quic_ports);
    g_strfreev(s->rest);
    g_strfreev(s->read_files);
    g_free(s->filter);
    g_free(s->iface);
    g_free(s->write_file);
    g_free(s->user);
    g_free(s->metrics_listen);
    g_free(s->server);
    g_free(s->client);
    g_free(s->since);
    g_free(s->until);
    g_free(s->color);
    g_free(s->tls_keylog);
    g_array_free(s->ports, TRUE);
    g_array_free(s->vxlan, TRUE);
    g_array_free(s->ports2, TRUE);
    g_array_free(s->qports, TRUE);
    g_ptr_array_free(s->strings, TRUE);
    g_free(s);
    o->store = NULL;
}
