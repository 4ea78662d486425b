/* engine.h - one analysis run: wires decode -> flow -> reassembly -> app -> stats -> report and is fed
 * raw packets by whoever reads them (offline files or a live interface), with optional interval reports. */
#ifndef CS_ENGINE_H
#define CS_ENGINE_H

#include <stdio.h>

#include "analytics.h"
#include "app.h"
#include "flow.h"
#include "report.h"

/* Record filters applied after decoding: only matching connections (and their exchanges and SYNs)
 * reach the statistics and reports; stream numbering still sees every packet. */
typedef struct cs_engine_filter {
    bool server_set, client_set;
    uint8_t server_family, client_family;
    cs_addr server, client;
    uint16_t server_port;      /* 0: any port */
    bool stream_set;
    uint64_t stream;
    bool since_set, until_set;
    cs_time_t since, until;    /* packets outside [since, until) are skipped */
    cs_host_filter host;       /* --host: connections with this client or server address */
} cs_engine_filter;

/* Parses "IP" or "IP:PORT" / "[IPv6]:PORT" into (family, addr, port). Returns false if invalid. */
bool cs_parse_endpoint(const char *s, uint8_t *family, cs_addr *addr, uint16_t *port);

/* Parses a time: seconds since the epoch ("1700000000.5") or UTC "YYYY-MM-DD[ T]HH:MM[:SS[.frac]]".
 * Returns false if invalid. */
bool cs_parse_time(const char *s, cs_time_t *out);

typedef struct cs_engine_cfg {
    cs_engine_filter filter;
    cs_flow_cfg flow;
    cs_app_cfg app;
    FILE *stream_list;   /* non-NULL: print "FRAME<TAB>STREAM" for every TCP frame */
    cs_time_t interval;  /* > 0: report every interval of capture time, for that interval alone */
    uint32_t max_keys;   /* entries per aggregate table (servers, hosts, SNIs); 0: no cap */
    GHashTable *edge_tuples; /* -j: gets "eof:TUPLE" / "mid:TUPLE" strings (owned by the table) for
                                connections open at the end / joined without a SYN; NULL: off */
    cs_analytics *analytics; /* non-NULL: fed every wanted SYN, connection record and exchange;
                                its latency per server is set from the stats by
                                cs_engine_flush/report_now (owned by the caller) */
} cs_engine_cfg;

typedef struct cs_engine cs_engine;

/* Creates a run writing to `report` (which must outlive it). Can't fail (aborts on OOM). */
cs_engine *cs_engine_new(const cs_engine_cfg *cfg, cs_report *report);

/* Analyses one packet. */
void cs_engine_packet(cs_engine *e, const cs_raw *raw);

/* Time passes without packets (live capture read timeout): expires idle connections and closes
 * intervals that ended before `now`. */
void cs_engine_idle(cs_engine *e, cs_time_t now);

/* Live capture: kernel counters to print with the next interval report (totals since start). */
void cs_engine_set_drops(cs_engine *e, uint64_t received, uint64_t dropped, uint64_t if_dropped);

/* Writes the cumulative report now, without finalising open connections (SIGUSR1). */
void cs_engine_report_now(cs_engine *e, const cs_run_info *info);

/* End of input: finalises every open connection, closes the last interval, and writes the final
 * report. `info->ctr` may be NULL (the engine's counters are used). */
void cs_engine_finish(cs_engine *e, cs_run_info *info);

/* Connections tracked now (for a live progress line). */
uint32_t cs_engine_active_conns(const cs_engine *e);

/* Finalises every open connection and closes the last interval, without writing the final report
 * (for runs whose results are merged: -j). */
void cs_engine_flush(cs_engine *e);

/* The cumulative statistics, the peak of tracked connections and the streams numbered so far. */
const cs_stats *cs_engine_stats(const cs_engine *e);
uint32_t cs_engine_peak_conns(const cs_engine *e);
uint64_t cs_engine_streams(const cs_engine *e);

/* The run's packet and anomaly counters (owned by the engine). */
cs_counters *cs_engine_counters(cs_engine *e);

void cs_engine_free(cs_engine *e);

#endif
