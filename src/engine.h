/* engine.h - one analysis run: wires decode -> flow -> reassembly -> app -> stats -> report and is fed
 * raw packets by whoever reads them (offline files or a live interface), with optional interval reports. */
#ifndef CS_ENGINE_H
#define CS_ENGINE_H

#include <stdio.h>

#include "analytics.h"
#include "app.h"
#include "app_quic.h"
#include "flow.h"
#include "flow_udp.h"
#include "report.h"
#include "stats_udp.h"
#include "tunnel.h"

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
    bool tunnel_id_set, vni_set;
    uint32_t tunnel_id; /* --tunnel-id: only traffic in tunnels with this VNI/key/session */
    uint32_t vni;       /* --vni: only traffic in VXLAN/GENEVE tunnels with this VNI */
} cs_engine_filter;

/* Parses a time: seconds since the epoch ("1700000000.5") or UTC "YYYY-MM-DD[ T]HH:MM[:SS[.frac]]".
 * Returns false if invalid. */
bool cs_parse_time(const char *s, cs_time_t *out);

/* A connection's endpoints in a fixed order (the lower address, then the lower port, first), so
 * that both directions, and the parts of one connection seen by different runs, compare equal
 * byte for byte (unused bytes are zero). */
typedef struct cs_edge_tuple {
    cs_addr addr[2];
    uint16_t port[2];
    uint8_t family;
} cs_edge_tuple;

/* -j: where a run reports the connections that may continue in another group of files: those
 * still open when its input ended (`open_at_end`) and those joined without a SYN (`joined_mid`);
 * one call per connection record with at least one of the two set, from the thread that feeds
 * the engine. */
typedef struct cs_edge_sink {
    void *ctx;
    void (*conn)(void *ctx, const cs_edge_tuple *t, bool open_at_end, bool joined_mid);
} cs_edge_sink;

typedef struct cs_engine_cfg {
    cs_engine_filter filter;
    cs_flow_cfg flow;
    cs_udp_cfg udp;       /* UDP flow table (all zero: cs_udp_cfg_default) */
    cs_app_quic_cfg quic; /* QUIC table and --quic-port (quic.max_conns 0: cs_quic_cfg_default) */
    cs_app_cfg app;
    FILE *stream_list;   /* non-NULL: print "FRAME<TAB>STREAM" for every TCP frame */
    FILE
        *udp_stream_list; /* non-NULL: print "FRAME<TAB>S1[,S2]" (udp.stream) for every UDP frame */
    cs_time_t interval;  /* > 0: report every interval of capture time, for that interval alone */
    uint32_t max_keys;   /* entries per aggregate table (servers, hosts, SNIs); 0: no cap */
    uint32_t max_frag_datagrams; /* incomplete IP datagrams held for reassembly */
    uint32_t uid_group; /* -j: index of this group of files, mixed into the uids (0 otherwise) */
    cs_edge_sink edges; /* -j: connections at the edges of the input; conn NULL: off */
    cs_analytics *analytics; /* non-NULL: fed every wanted SYN, connection record and exchange;
                                its latency per server is set from the stats by
                                cs_engine_flush/report_now (owned by the caller) */
    bool auto_bucket;        /* --plot without --bucket: widen the analytics buckets as events
                                come (cs_plot_auto_bucket) */
    /* Optional (NULL: none): called with every closed interval after the report's interval
     * callback (Graphite pushed per interval); st is the interval's own statistics. */
    void (*interval_hook)(void *ctx, const cs_stats *st, const cs_interval_info *iv);
    void *interval_ctx;
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

/* The run's UDP per-server table and tunnel table (owned by the engine). */
const cs_udp_stats *cs_engine_udp_stats(const cs_engine *e);
const cs_tunnels *cs_engine_tunnels(const cs_engine *e);
uint64_t cs_engine_udp_streams(const cs_engine *e);
/* UDP flows tracked now (a live gauge). */
uint32_t cs_engine_udp_active(const cs_engine *e);

/* The run's QUIC per-server table (owned by the engine). */
const cs_quic_agg *cs_engine_quic(const cs_engine *e);

/* The run's packet and anomaly counters (owned by the engine). */
cs_counters *cs_engine_counters(cs_engine *e);

void cs_engine_free(cs_engine *e);

#endif
