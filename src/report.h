/* report.h - the output layer's interface: a writer receives finalised connections as they end and
 * the aggregates at the end of the run. Implementations: report_text.c, report_json.c, report_csv.c. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdio.h>

#include "source.h"
#include "stats.h"

/* Facts about the run that every writer may print. */
typedef struct cs_run_info {
    const cs_source *src;
    const cs_counters *ctr;
    uint32_t peak_conns;
    uint64_t streams;
    const char *filter;
    const char *version;
} cs_run_info;

typedef struct cs_report cs_report;

struct cs_report {
    /* One finalised connection (in finalisation order). */
    void (*conn)(cs_report *r, const cs_conn_row *row);
    /* One HTTP exchange (when it completes, or when its connection ends). */
    void (*http)(cs_report *r, const cs_http_row *row);
    /* End of the run: summaries. */
    void (*finish)(cs_report *r, const cs_stats *st, const cs_run_info *info);
    /* Frees the writer (does not close `out`). */
    void (*destroy)(cs_report *r);
    FILE *out;
    bool list_conns; /* text: print the per-connection table */
    bool list_http;  /* text: print the per-exchange table */
    GString *buf;    /* scratch line buffer */
    GArray *rows;    /* text: rows kept for the per-connection table */
    GPtrArray *http_rows; /* text: formatted per-exchange rows */
};

cs_report *cs_report_text_new(FILE *out, bool list_conns, bool list_http);
cs_report *cs_report_json_new(FILE *out);
cs_report *cs_report_csv_new(FILE *out);

/* Shared by writers: frees buf/rows and the struct. */
void cs_report_base_destroy(cs_report *r);

/* Total anomalies counted (all kinds). */
uint64_t cs_report_anomaly_total(const cs_counters *c);

#endif
