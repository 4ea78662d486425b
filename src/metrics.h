/* metrics.h - per-bucket counters for monitoring systems: Graphite plaintext (`path value
 * timestamp`, to a file, standard output or a carbon host:port over TCP) and Prometheus text
 * exposition (with a `bucket` label per bucket). Counters are the events of their bucket alone,
 * so summing a counter over its buckets gives the run's total: no event lost or counted twice. */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <glib.h>

#include "analytics.h"

typedef enum cs_metrics_format { CS_METRICS_GRAPHITE, CS_METRICS_PROMETHEUS } cs_metrics_format;

/* Where one --metrics goes: a file, standard output (file and host NULL), or a Graphite carbon
 * receiver over TCP (host and port). */
typedef struct cs_metrics_target {
    cs_metrics_format format;
    char *file;
    char *host;
    char *port;
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

/* Appends the Prometheus text exposition (format 0.0.4) of every bucket to out: counters named
 * connscope_*_total with a bucket="YYYY-MM-DDTHH:MM:SSZ" label (the bucket start, UTC) holding the
 * events of that bucket, and latency summaries (quantiles 0.5/0.9/0.99, _sum, _count) per
 * bucket; then connscope_server_ip_*_total{server_ip,ports}: totals over the whole span per server
 * address. */
void cs_metrics_prometheus(const cs_analytics *a, GString *out);

/* Writes the metrics of a to t (a file through cs_output_write(); standard output is checked by
 * cs_output_finish()). Returns false with *err set when the file cannot be written or the
 * receiver cannot be reached. */
bool cs_metrics_write(const cs_analytics *a, const cs_metrics_target *t, GError **err);

#endif
