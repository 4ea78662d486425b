/* report.h - the output layer's interface: a writer receives finalised connections and HTTP
 * exchanges as they end, each interval's aggregates (--interval), and the aggregates at the end
 * of the run. Implementations: report_text.c, report_json.c, report_csv.c;
 * the analytics sections: report_analytics_text.c, report_analytics_json.c. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdio.h>

#include "analytics.h"
#include "source.h"
#include "stats.h"

/* The analytics sections to print (-A, --top, --bucket, --latency, --slow, --flow-profile). */
#define CS_AN_MAX_SLOW 8

typedef struct cs_an_report_opts {
    int top_n;     /* > 0: top-talker tables with this many rows */
    bool activity; /* the per-bucket tables */
    bool latency;  /* latency per server */
    bool flows;    /* the flow profile */
    int n_slow;
    uint64_t slow_us[CS_AN_MAX_SLOW]; /* thresholds for the share of slow exchanges, ascending */
} cs_an_report_opts;

/* Facts about the run that every writer may print. */
typedef struct cs_run_info {
    const cs_source *src;
    const cs_counters *ctr;
    uint32_t peak_conns;
    uint64_t streams;
    const char *filter;
    const char *version;
    bool partial;         /* a report during the run (SIGUSR1): open connections not included */
    int parallel;         /* -j N with N > 1: stream indices restart in each group of files */
    bool have_drops;      /* live capture: drops[] holds libpcap's received/dropped/if_dropped */
    uint64_t drops[3];
    const cs_analytics *analytics;            /* non-NULL: print its sections ... */
    const cs_an_report_opts *analytics_opts;  /* ... these (text: after the HTTP/TLS tables) */
} cs_run_info;

/* One interval report: [start, end) of capture time, its own packet counters (a difference of
 * totals), and the kernel's drop counts in that interval for a live capture. */
typedef struct cs_interval_info {
    cs_time_t start, end;
    const cs_counters *ctr;
    bool have_drops;
    uint64_t drops[3]; /* received, dropped, dropped by the interface */
} cs_interval_info;

typedef struct cs_report cs_report;

struct cs_report {
    /* One finalised connection (in finalisation order). */
    void (*conn)(cs_report *r, const cs_conn_row *row);
    /* One HTTP exchange (when it completes, or when its connection ends). */
    void (*http)(cs_report *r, const cs_http_row *row);
    /* One interval's report (--interval): stats of that interval alone. May be NULL. */
    void (*interval)(cs_report *r, const cs_stats *st, const cs_interval_info *iv);
    /* End of the run: summaries. */
    void (*finish)(cs_report *r, const cs_stats *st, const cs_run_info *info);
    /* Frees the writer (does not close `out`). */
    void (*destroy)(cs_report *r);
    FILE *out;
    bool list_conns; /* text: print the per-connection table */
    bool list_http;  /* text: print the per-exchange table */
    bool color;      /* text: ANSI bold section titles */
    GString *buf;    /* scratch line buffer */
    GArray *rows;    /* text: rows kept for the per-connection table */
    GPtrArray *http_rows; /* text: formatted per-exchange rows */
};

cs_report *cs_report_text_new(FILE *out, bool list_conns, bool list_http);
cs_report *cs_report_json_new(FILE *out);
cs_report *cs_report_csv_new(FILE *out);

/* Shared by writers: frees buf/rows and the struct. */
void cs_report_base_destroy(cs_report *r);

/* Writes the sections of a selected by o as aligned text tables, then flushes out. */
void cs_analytics_report_text(const cs_analytics *a, const cs_an_report_opts *o, FILE *out);

/* Writes the sections of a selected by o as JSON lines (types "analytics", "top_talker",
 * "activity", "latency", "flow_profile"), then flushes out. */
void cs_analytics_report_json(const cs_analytics *a, const cs_an_report_opts *o, FILE *out);

/* Total anomalies counted (all kinds). */
uint64_t cs_report_anomaly_total(const cs_counters *c);

#endif
