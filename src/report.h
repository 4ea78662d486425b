/* report.h - the output layer's interface: a writer receives finalised connections and HTTP
 * exchanges as they end, each interval's aggregates (--interval), and the aggregates at the end
 * of the run. Implementations: report_text.c, report_json.c, report_csv.c;
 * the analytics sections: report_analytics_text.c, report_analytics_json.c. */
#ifndef CS_REPORT_H
#define CS_REPORT_H

#include <stdio.h>

#include "analytics.h"
#include "json.h"
#include "source.h"
#include "stats.h"
#include "stats_quic.h"
#include "stats_udp.h"
#include "tunnel.h"

/* The analytics sections to print (-A, --top, --bucket, --latency, --slow, --flow-profile). */
#define CS_AN_MAX_SLOW 8

typedef struct cs_an_report_opts {
    int top_n;     /* > 0: top-talker tables with this many rows */
    bool activity; /* the per-bucket tables */
    bool latency;  /* latency per server */
    bool flows;    /* the flow profile */
    bool servers;  /* connections per server, with per-IP rows (merge: the summaries') */
    bool by_ip;    /* ... per server IP only */
    int n_slow;
    uint64_t slow_us[CS_AN_MAX_SLOW]; /* thresholds for the share of slow exchanges, ascending */
} cs_an_report_opts;

/* Facts about the run that every writer may print. */
typedef struct cs_run_info {
    const cs_source *src;
    const cs_counters *ctr;
    uint32_t peak_conns;
    uint64_t streams;
    uint64_t streams_max; /* the most streams one engine numbered (-j: streams is their sum) */
    const char *filter;
    const char *version;
    bool partial;         /* a report during the run (SIGUSR1): open connections not included */
    int parallel;         /* -j N with N > 1: stream indices restart in each group of files */
    bool have_drops;      /* live capture: drops[] holds libpcap's received/dropped/if_dropped */
    uint64_t drops[3];
    const cs_analytics *analytics;            /* non-NULL: print its sections ... */
    const cs_an_report_opts *analytics_opts;  /* ... these (text: after the HTTP/TLS tables) */
    const cs_udp_stats *udp;   /* UDP flows per server (NULL: not tracked); set by the engine */
    const cs_tunnels *tunnels; /* tunnels seen (NULL: none); set by the engine */
    uint64_t udp_streams;      /* udp.stream numbers given out */
    int64_t want_tunnel_id;    /* --tunnel-id (-1: not given): tunnel rows listed ... */
    int64_t want_vni;          /* ... and --vni (-1: not given) */
    const cs_quic_agg *quic;   /* QUIC per server (NULL: not tracked); set by the engine */
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
    /* One ended UDP flow record. May be NULL. */
    void (*udp)(cs_report *r, const cs_udp_row *row);
    /* One ended QUIC connection. May be NULL. */
    void (*quic)(cs_report *r, const cs_quic_row *row);
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
    uint32_t top_n;  /* text: connections in each "connections to look at" list (default 5) */
    bool by_ip;      /* --by-ip: connections per server address only (text table, JSON records) */
    GString *buf;    /* scratch line buffer */
    GArray *rows;    /* text: rows kept for the per-connection table */
    GPtrArray *http_rows; /* text: formatted per-exchange rows */
};

cs_report *cs_report_text_new(FILE *out, bool list_conns, bool list_http);
cs_report *cs_report_json_new(FILE *out);
/* CSV: conn rows, and http rows too when with_http (-E). */
cs_report *cs_report_csv_new(FILE *out, bool with_http);

/* Prints the "Connections per server" table: a row per (address, port) of `servers` (sorted by
 * address and port; laid out as `l` says) with connections, and after the ports of an address that
 * serves on several a row for the address over all of them (cs_server_ips); with by_ip only the
 * addresses, titled "Connections per server IP". */
void cs_report_server_table(FILE *out, const GPtrArray *servers, const cs_server_layout *l,
                            bool by_ip, bool color);

/* The connection fields of a "server" or "server_ip" JSON record (conns ... rtt_max_us). */
void cs_report_json_server_conns(cs_json *j, const cs_server_conns *c);

/* One "server_ip" JSON line per element of ips (cs_server_ip), formatted in buf. */
void cs_report_json_server_ips(FILE *out, GString *buf, const GPtrArray *ips);

/* Text writer: starts a section (a blank line, then the title, bold with --color). */
void cs_report_title(cs_report *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* report_udp.c: the UDP and tunnel parts of the writers. Text: the "UDP flows per server" and
 * "Tunnels" tables. JSON: one "udp" object per flow record; at the end "udp_server" and "tunnel"
 * objects; the "tunnel" member of conn and udp records. */
void cs_report_udp_text(cs_report *r, const cs_run_info *info);
void cs_report_udp_json(cs_report *r, const cs_udp_row *row);
void cs_report_udp_json_finish(cs_report *r, const cs_run_info *info);
struct cs_json;
void cs_report_json_tunnel(struct cs_json *j, const cs_tunnel *tn, bool changed);
/* The tunnel object alone, as a top-level value (for the CSV cell of the same field). */
void cs_report_json_tunnel_value(struct cs_json *j, const cs_tunnel *tn);

/* report_quic.c: the QUIC parts of the writers. Text: the "QUIC connection attempts per
 * destination" and "QUIC per server" tables (nothing without QUIC). JSON: one "quic" object per
 * connection; at the end "quic_server" objects; the quic_* members of the summary (only when QUIC
 * was seen, so other captures keep their summary). */
void cs_report_quic_text(cs_report *r, const cs_run_info *info);
void cs_report_quic_json(cs_report *r, const cs_quic_row *row);
void cs_report_quic_json_finish(cs_report *r, const cs_run_info *info);
void cs_report_quic_json_summary(struct cs_json *j, const cs_run_info *info);

/* JSON writer (report_json.c): starts a record of `type` in r's buffer; writes it as one line;
 * an address member in its text form. */
void cs_report_json_begin(cs_report *r, struct cs_json *j, const char *type);
void cs_report_json_end(cs_report *r, struct cs_json *j);
void cs_report_json_addr(struct cs_json *j, const char *key, const cs_addr *a, uint8_t family);

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
