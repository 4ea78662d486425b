/* metrics.h - per-bucket counters for monitoring systems: Graphite plaintext (`path value
 * timestamp`, to a file, standard output or a carbon host:port over TCP; the events of each bucket
 * alone, so summing over buckets gives the run's total) and OpenMetrics for backfilling Prometheus
 * (cumulative counters with a timestamp per bucket boundary). */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <glib.h>

#include "analytics.h"
#include "report.h"

typedef enum cs_metrics_format { CS_METRICS_GRAPHITE, CS_METRICS_PROMETHEUS } cs_metrics_format;

/* Where one --metrics goes: a file, standard output (file and host NULL), or a Graphite carbon
 * receiver over TCP (host and port). */
typedef struct cs_metrics_target {
    cs_metrics_format format;
    char *file;
    char *host;
    char *port;
    bool
        streamed; /* a carbon target pushed every --interval (graphite.c): not written at the end */
} cs_metrics_target;

/* Parses "graphite", "graphite=FILE", "graphite=HOST:PORT" ("[v6addr]:PORT" too), "prometheus",
 * "prometheus=FILE" into t. A graphite value is HOST:PORT when it is NAME:DIGITS without '/' (write
 * ./a:1 for such a file). Returns false with *err set (t unchanged) on anything else. */
bool cs_metrics_parse(const char *spec, cs_metrics_target *t, GError **err);

/* Frees the strings of t. */
void cs_metrics_target_clear(cs_metrics_target *t);

/* Appends the Graphite plaintext lines of every bucket (zero-filled from the first bucket with
 * events to the last) to out. Metric paths start with "connscope." (or "connscope.host.ADDR."
 * with a host filter, dots and colons of ADDR as '_'); the timestamp is the bucket start in
 * seconds. Latency percentiles are written only for buckets with exchanges. Then the totals over
 * the whole span per server address (server_ip.ADDR.conns_total, established_total,
 * refused_total, reset_total), stamped with the last bucket's start. */
void cs_metrics_graphite(const cs_analytics *a, GString *out);

/* Appends OpenMetrics 1.0 text to out, for `promtool tsdb create-blocks-from openmetrics`: each
 * family's series with a point per bucket boundary (0 at the first bucket's start, then the
 * cumulative count at every bucket's end, timestamps in seconds with milliseconds), counters
 * connscope_*_total and the ttfb/total latency as cumulative histograms (le buckets, _sum,
 * _count); then connscope_server_ip_*_total{server_ip,ports}: totals over the whole span per server
 * address, one point at the end of the last bucket; then "# EOF". */
void cs_metrics_prometheus(const cs_analytics *a, GString *out);

/* The Graphite path prefix: "connscope", or "connscope.host.ADDR" with a host filter (dots and
 * colons of ADDR as '_'). */
void cs_metrics_graphite_prefix(const cs_host_filter *host, GString *prefix);

/* Appends the Graphite lines of one closed --interval (st: its own statistics) to out, stamped
 * with the capture time of its end in seconds: packets, bytes, conns (created), conns_ended,
 * established, syn_pkts, syn_attempts, http.requests, http.status.{1xx..5xx,other},
 * http.unanswered, http.orphans, tls.conns, http.{ttfb,total}_us.{p50,p90,p99,max,count} (when
 * the interval had paired exchanges), capture.received and capture.dropped (live). */
void cs_metrics_graphite_interval(const cs_stats *st, const cs_interval_info *iv,
                                  const char *prefix, GString *out);

/* A TCP connection to a carbon receiver: returns the socket, or -1 with *err set ("--metrics
 * graphite=HOST:PORT: REASON"). */
int cs_carbon_connect(const char *host, const char *port, GError **err);

/* Sends all of s on fd (MSG_NOSIGNAL). Returns false with *err set on a failure. */
bool cs_carbon_send(int fd, const GString *s, const char *host, const char *port, GError **err);

/* Writes the metrics of a to t (a file through cs_output_write(); standard output is checked by
 * cs_output_finish()). Returns false with *err set when the file cannot be written or the
 * receiver cannot be reached. */
bool cs_metrics_write(const cs_analytics *a, const cs_metrics_target *t, GError **err);

#endif
