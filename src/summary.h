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
#define CS_SUMMARY_VERSION 1

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

/* Writes the summary of a to path ("-": standard output). `generator` names the program
 * ("connscope 0.1.0"). Returns false with *err set when the file cannot be written (a partial file
 * may be left). */
bool cs_summary_write(const cs_analytics *a, const char *path, const char *generator, GError **err);

/* Appends the summary document to out. Can't fail. */
void cs_summary_format(const cs_analytics *a, const char *generator, GString *out);

/* Reads a summary into new aggregates (bucket width, host filter and max_keys as written; the
 * top-talker tables hold every stored key). Returns NULL with *err set (messages start with the
 * path) on an I/O error, invalid JSON, another format, version or layout, or a bad field. */
cs_analytics *cs_summary_read(const char *path, GError **err);

/* Parses a summary document held in memory (`name` is used in messages). Same results. */
cs_analytics *cs_summary_parse(const char *text, size_t len, const char *name, GError **err);

/* Can `part` (read from `name`) be merged into `into`: into's bucket width is a multiple of part's
 * and both are narrowed to the same host (or neither). Returns false with a
 * CS_SUMMARY_ERROR_MISMATCH message otherwise. */
bool cs_summary_compatible(const cs_analytics *into, const cs_analytics *part, const char *name,
                           GError **err);

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

/* The report sections to print (to give a report writer through cs_run_info), or NULL when none
 * was selected. Valid until cs_an_cli_free(). */
const cs_an_report_opts *cs_an_cli_sections(const cs_an_cli *c);

/* Writes the selected report sections (none selected: nothing), text or JSON lines. The text of
 * an analysis run starts with a blank line (it follows the main report). */
void cs_an_cli_report(const cs_an_cli *c, const cs_analytics *a, FILE *out, bool json);

/* Writes --summary-out, every --metrics target and --plot. Returns false with *err set at the
 * first that fails (the others are still attempted; their messages go to stderr). */
bool cs_an_cli_write_files(const cs_an_cli *c, const cs_analytics *a, const char *generator,
                           GError **err);

/* -h, --help or -? among argv (before "--"): prints the help of every option group (GLib's
 * own --help shows only the main group) and returns true. */
bool cs_an_cli_help_all(GOptionContext *octx, int argc, char **argv);

/* Frees the option values and targets. */
void cs_an_cli_free(cs_an_cli *c);

/* `connscope merge [OPTIONS] SUMMARY.json...`: argv[0] is "merge". Returns the exit status: 0, or
 * 2 for a usage error or a summary that cannot be read or merged. */
int cs_merge_main(int argc, char **argv);

#endif
