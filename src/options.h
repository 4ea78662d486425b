/* options.h - the analysis run's command line: option tables, checks, and the mapping of the values
 * onto the engine, flow, HTTP, live-capture and analytics configurations. */
#ifndef CS_OPTIONS_H
#define CS_OPTIONS_H

#include "engine.h"
#include "parallel.h"
#include "source.h"
#include "summary.h"

#define CS_EXIT_INPUT_ERRORS 1 /* the analysis finished, but an input had errors (or no stream N) */
#define CS_EXIT_USAGE 2        /* usage error, or an input or output that cannot be used */

typedef enum cs_action {
    CS_ACTION_RUN,        /* analyse the input */
    CS_ACTION_VERSION,    /* -V */
    CS_ACTION_LIST_IFACES /* -D */
} cs_action;

/* One analysis run's options, checked. Every default comes from the layer that owns it
 * (cs_flow_cfg_default, cs_http_cfg_default, cs_live_opts_default, CS_AN_MAX_KEYS_DEFAULT);
 * options.c holds no number of its own. Strings point into storage owned by the struct. */
typedef struct cs_options {
    cs_action action;
    char **files; /* capture files (NULL-terminated), from FILE... or -r; NULL when live */
    int n_files;
    cs_live_opts live;      /* live.iface non-NULL: capture live (-i) */
    const char *bpf;        /* -f, or the words after the options with -r or -i; NULL: none */
    const char *write_file; /* -w (may be "-": standard output), or NULL */
    uint64_t rotate_bytes;  /* --rotate-mb in bytes (0: never) */
    uint32_t rotate_secs;
    const char *user; /* -Z */
    /* --metrics-listen [ADDR:]PORT (live only), or NULL */
    const char *metrics_listen;
    uint64_t count;     /* -c (0: no limit) */
    cs_time_t duration; /* --duration (0: no limit) */
    int jobs;           /* -j (0 or 1: one thread) */
    bool quiet;
    cs_report_kind kind; /* text, --json or --csv */
    bool list_conns, list_http;
    bool stream_list;     /* --stream-list: frame/stream lines on stdout, the report on stderr */
    bool udp_stream_list; /* --udp-stream-list: the same for UDP frames (udp.stream) */
    const uint16_t *vxlan_ports; /* --vxlan-port values (the caller hands them to the decoder) */
    int n_vxlan_ports;
    bool report_to_stderr;  /* standard output carries something else (the pcap of -w -,
                               --stream-list, --metrics or --summary-out to stdout) */
    int color;              /* -1 auto, 0 never, 1 always */
    const char *tls_keylog; /* --tls-keylog path, or NULL (the caller loads it into engine.app) */
    cs_engine_cfg engine;   /* filters, flow, app (keylog left NULL), interval, max_keys; the
                               caller sets stream_list and analytics */
    cs_an_cli an;           /* the analytics options, checked (an.cfg.max_keys mapped) */
    struct cs_options_store *store; /* what GOption filled (private) */
} cs_options;

/* Parses and checks the command line of an analysis run (argv[0] is the program). Returns true
 * when the program should go on with o->action; false when it should exit with *status: 0 after
 * --help was printed, CS_EXIT_USAGE after a usage error was printed to stderr (one line naming the
 * option, and a pointer to --help). In both cases cs_options_free() must be called. */
bool cs_options_parse(cs_options *o, int argc, char **argv, int *status);

/* Frees what cs_options_parse() allocated. Safe on a zeroed struct and twice. */
void cs_options_free(cs_options *o);

#endif
