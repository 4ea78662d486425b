/* summary.h - versioned summary files (--summary-out): every analytics aggregate as raw counts and
 * fixed-bin histograms, readable back and mergeable (`connscope merge`); and the command-line glue
 * shared by the analysis run and `connscope merge` (options, reports, output files; merge_main.c).
 * The file format is documented in doc/summary-format.md. */
#ifndef CS_SUMMARY_H
#define CS_SUMMARY_H

#include <stdio.h>

#include <glib.h>

#include "analytics.h"
#include "metrics.h"
#include "report.h"

#define CS_SUMMARY_FORMAT "connscope-summary"
#define CS_SUMMARY_VERSION 2 /* 2: server_conns (version 1 files are read too) */
/* Largest microsecond value a histogram of a summary can hold: a time span that fits in int64
 * nanoseconds (larger ones cannot come from a capture, and would overflow when printed). */
#define CS_SUMMARY_MAX_US (INT64_MAX / CS_NS_PER_US)

/* GError domain and codes of the summary reader. */
#define CS_SUMMARY_ERROR (cs_summary_error_quark())
GQuark cs_summary_error_quark(void);
typedef enum cs_summary_error {
    CS_SUMMARY_ERROR_IO,       /* cannot read or write the file */
    CS_SUMMARY_ERROR_SYNTAX,   /* not JSON */
    CS_SUMMARY_ERROR_FORMAT,   /* JSON, but not a connscope summary, or a field is missing/bad */
    CS_SUMMARY_ERROR_VERSION,  /* a summary of another format version */
    CS_SUMMARY_ERROR_LAYOUT,   /* histogram bins or flow classes laid out differently */
    CS_SUMMARY_ERROR_MISMATCH  /* cannot be merged with the others (bucket width, host filter) */
} cs_summary_error;

/* The layout id written in every summary: the histogram bin layout (hist.h) and the flow-profile
 * class bounds, e.g. "hist=loglin/exact128/sub64;pkts=1,3,10,100,1000;bytes=0,100,...". Static. */
const char *cs_summary_layout(void);

/* What a summary file holds, in memory: the analytics aggregates (with their configuration:
 * bucket width, --host, max_keys). */
typedef struct cs_summary {
    cs_analytics *an; /* owned */
    uint32_t loads;   /* files cs_summary_load() added */
} cs_summary;

/* Empty aggregates with the given configuration. Can't fail (aborts on OOM). */
cs_summary *cs_summary_new(const cs_analytics_cfg *cfg);
void cs_summary_free(cs_summary *s);

/* Writes the summary s to path, a piece at a time, as cs_output_write() does ("-": standard
 * output, checked by cs_output_finish()). `generator` names the program ("connscope 0.1.0").
 * Returns false with *err set ("--summary-out: cannot write PATH: REASON") when the file cannot be
 * written (a partial file may be left). */
bool cs_summary_write(const cs_summary *s, const char *path, const char *generator, GError **err);

/* Appends the summary document to out. Can't fail. */
void cs_summary_format(const cs_summary *s, const char *generator, GString *out);

/* ---- reading --------------------------------------------------------------------------------- */

/* The members of a summary known before its data is read. */
typedef struct cs_summary_header {
    uint32_t version;           /* format version (1 has no server_conns) */
    cs_time_t bucket;           /* bucket_ns */
    cs_host_filter host;        /* host (.on false: null) */
    uint32_t max_keys;          /* UINT32_MAX for 0 (no cap) */
    cs_time_t first_ts, last_ts; /* first_ts_ns/last_ts_ns, INT64_MAX/INT64_MIN when null */
    GPtrArray *inputs;          /* gchar* */
    bool have_bucket, have_host, have_max_keys;
} cs_summary_header;

/* A summary file opened for merging. */
typedef struct cs_summary_file cs_summary_file;

/* Opens a summary and reads its header (normally its first line): checks that it is JSON of
 * this format, version and layout and that the header members are valid. Returns NULL with *err
 * set (messages start with the path) otherwise. The file stays open until
 * cs_summary_file_close(). */
cs_summary_file *cs_summary_open(const char *path, GError **err);

/* The same over len bytes at text (not copied: they must outlive the handle). */
cs_summary_file *cs_summary_open_mem(const char *text, size_t len, const char *name,
                                     GError **err);

const cs_summary_header *cs_summary_file_header(const cs_summary_file *f);
const char *cs_summary_file_name(const cs_summary_file *f);

/* Reads the data of f and adds it into `into`, member by member and element by element (memory:
 * one element at a time besides `into`). into's bucket width must be a multiple of the file's
 * (cs_summary_compatible): buckets are re-bucketed exactly. Returns false with *err set on an I/O
 * error, invalid JSON or a bad field; `into` is then partly updated (discard it). */
bool cs_summary_load(cs_summary_file *f, cs_summary *into, GError **err);

/* Closes f. NULL is a no-op. */
void cs_summary_file_close(cs_summary_file *f);

/* Reads a whole summary into new aggregates (bucket width, host filter and max_keys as written;
 * the top-talker tables hold every stored key). Returns NULL with *err set (messages start with
 * the path) on an I/O error, invalid JSON, another format, version or layout, or a bad field. */
cs_summary *cs_summary_read(const char *path, GError **err);

/* The same for a document held in memory (`name` is used in messages). */
cs_summary *cs_summary_parse(const char *text, size_t len, const char *name, GError **err);

/* Can a summary with header `part` (read from `name`) be merged into `into`: into's bucket width
 * is a multiple of part's and both are narrowed to the same host (or neither). Returns false with
 * a CS_SUMMARY_ERROR_MISMATCH message otherwise. */
bool cs_summary_compatible(const cs_summary *into, const cs_summary_header *part,
                           const char *name, GError **err);

/* The first counter of a whose sum over its buckets, servers or keys passes 2^64-1 (the totals a
 * report prints), or NULL. cs_summary_load() checks it after every file. */
const char *cs_summary_total_overflow(const cs_analytics *a);

/* ---- command line (merge_main.c) ------------------------------------------------------------- */

/* Option values of the "analytics" group, raw and checked. */
typedef struct cs_an_cli {
    /* raw values, filled by GOption */
    gboolean all;
    gint top;
    gint64 max_keys;
    gchar *bucket;
    gchar *host;
    gchar *slow;
    gboolean latency;
    gboolean flows;
    gchar *summary_out;
    gchar **metrics;
    gchar *plot;
    gboolean by_ip; /* --by-ip: connections per server address only */
    /* filled by cs_an_cli_check */
    cs_analytics_cfg cfg;
    cs_an_report_opts rep;
    bool bucket_given;
    bool merge;        /* checked for `connscope merge` */
    cs_metrics_target *targets;
    int n_targets;
} cs_an_cli;

/* Zeroes c and marks --top and --max-keys as not given. */
void cs_an_cli_init(cs_an_cli *c);

/* The "analytics" option group (-A/--analytics, --top, --bucket, --host, --slow, --latency,
 * --flow-profile, --summary-out, --metrics, --plot, and with `merge` --max-keys: the analysis run
 * has its own --max-keys, which the caller copies into c->cfg.max_keys) writing into c. Give it to
 * g_option_context_add_group(), which then owns it. */
GOptionGroup *cs_an_cli_group(cs_an_cli *c, bool merge);

/* Checks the parsed values and fills c->cfg, c->rep and the metrics targets. With `merge` the
 * report sections default to all of them. Returns false with a usage message in *err. */
bool cs_an_cli_check(cs_an_cli *c, bool merge, GError **err);

/* True when any analytics option was given: the run must feed a cs_analytics. */
bool cs_an_cli_active(const cs_an_cli *c);

/* True when a --metrics target or --summary-out writes to standard output (the text report should
 * then go to standard error). */
bool cs_an_cli_stdout_taken(const cs_an_cli *c);

/* True when --summary-out, --metrics or --plot write a file (or send to a receiver) after the
 * report: those must still be written when standard output closes early (cs_output_hold_sigpipe). */
bool cs_an_cli_files_due(const cs_an_cli *c);

/* The report sections to print (to give a report writer through cs_run_info), or NULL when none
 * was selected. Valid until cs_an_cli_free(). */
const cs_an_report_opts *cs_an_cli_sections(const cs_an_cli *c);

/* Writes the selected report sections (none selected: nothing), text or JSON lines. The text of
 * an analysis run starts with a blank line (it follows the main report). */
void cs_an_cli_report(const cs_an_cli *c, const cs_analytics *a, FILE *out, bool json);

/* Writes --summary-out (the summary sum; NULL: one made of a alone), every --metrics target and
 * --plot (from a). Returns false with *err set at the first that fails (the others are still
 * attempted; their messages go to stderr). */
bool cs_an_cli_write_files(const cs_an_cli *c, const cs_analytics *a, const cs_summary *sum,
                           const char *generator, GError **err);

/* -h, --help or -? among argv (before "--"): prints the help of every option group (GLib's
 * own --help shows only the main group) and returns true. */
bool cs_an_cli_help_all(GOptionContext *octx, int argc, char **argv);

/* Frees the option values and targets. */
void cs_an_cli_free(cs_an_cli *c);

/* `connscope merge [OPTIONS] SUMMARY.json...`: argv[0] is "merge". Returns the exit status: 0, or
 * 2 for a usage error or a summary that cannot be read or merged. */
int cs_merge_main(int argc, char **argv);

#endif
