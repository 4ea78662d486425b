/* metrics_expo.h - the Prometheus text exposition (format 0.0.4) and OpenMetrics 1.0 writer, and the
 * cumulative counters of a live run (--metrics-listen) written with it. */
#ifndef CS_METRICS_EXPO_H
#define CS_METRICS_EXPO_H

#include <glib.h>

#include "anomaly.h"
#include "stats.h"

/* One exposition being written: `om` selects OpenMetrics (counter families named without
 * `_total`, `# EOF` at the end) over the Prometheus text format; `ts` is appended to every
 * sample (" SECONDS" for OpenMetrics backfill files, "" for a scrape). */
typedef struct cs_expo {
    GString *out;
    bool om;
    const char *ts;
} cs_expo;

/* The # HELP and # TYPE lines of a family. `name` is the family's base name: for a counter
 * without `_total` (its samples get it: cs_expo_counter). type is "counter", "gauge" or
 * "histogram". */
void cs_expo_family(cs_expo *x, const char *name, const char *type, const char *help);

/* Appends `,name="value"` (the first label of a sample without the comma when labels->len is 0) to
 * labels, escaping '\\', '"' and newlines and replacing invalid UTF-8 (values from the wire: Host,
 * SNI). */
void cs_expo_label(GString *labels, const char *name, const char *value);

/* The label value of a server row: "ADDR:PORT", "[V6]:PORT", or "other" for the row that holds
 * what --max-keys folded (family 0). buf must hold 64 bytes. */
const char *cs_expo_server(char *buf, uint8_t family, const cs_addr *addr, uint16_t port);

/* One sample: name{labels} value (labels may be empty). cs_expo_counter appends `_total` to
 * name. */
void cs_expo_u64(cs_expo *x, const char *name, const char *labels, uint64_t v);
void cs_expo_counter(cs_expo *x, const char *name, const char *labels, uint64_t v);

/* The samples of a histogram of microseconds in seconds: cumulative `_bucket{le=...}` for the
 * bounds of CS_EXPO_LE_US and +Inf, `_sum`, `_count`. Bucket counts come from cs_hist bins: a
 * value is counted under the bound when its bin's low edge is (exact below 128 us, within 0.8%
 * above). */
void cs_expo_hist(cs_expo *x, const char *name, const char *labels, const cs_hist *h);

/* Ends the exposition ("# EOF" for OpenMetrics). */
void cs_expo_end(cs_expo *x);

/* What a live run exposes at one moment (filled by the thread that runs the capture). */
typedef struct cs_live_view {
    const cs_stats *stats;  /* cumulative: finalised connections, exchanges, SYNs as seen */
    const cs_counters *ctr; /* packets and anomalies */
    bool have_drops;        /* libpcap's counters below are valid */
    uint64_t received, dropped, if_dropped;
    uint32_t tcp_tracked, udp_tracked; /* connections and UDP flows in the tables now */
    double start_s;                    /* wall clock of the start, seconds since the epoch */
} cs_live_view;

/* Writes every family of the live exposition (see doc/connscope.1, METRICS ENDPOINT) to x. Label
 * cardinality is that of the stats tables, which --max-keys bounds. */
void cs_metrics_live_render(cs_expo *x, const cs_live_view *v);

#endif
