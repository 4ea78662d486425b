/* graphite.h - Graphite plaintext pushed to a carbon receiver at the end of every --interval, from
 * a sender thread of its own: reconnects with backoff, keeps a bounded backlog, never blocks the
 * capture and never ends it. */
#ifndef CS_GRAPHITE_H
#define CS_GRAPHITE_H

#include "metrics.h"

typedef struct cs_graphite cs_graphite;

/* Starts pushing to the carbon target t (host and port set) with path prefix `prefix`. Connects
 * once at once: when that fails, *warn is set (the caller reports it) and the sender retries with
 * every batch. Can't fail otherwise. */
cs_graphite *cs_graphite_start(const cs_metrics_target *t, const char *prefix, GError **warn);

/* An engine interval hook (cs_engine_cfg.interval_hook, ctx the cs_graphite): formats the
 * interval's batch (cs_metrics_graphite_interval) and queues it for the sender. O(lines). */
void cs_graphite_interval(void *ctx, const cs_stats *st, const cs_interval_info *iv);

/* Sends what is queued (one more attempt, whatever the backoff), stops the sender and frees g.
 * Returns false when batches were not delivered (a one-line account goes to stderr: batches
 * sent, lost, connection failures, the last error); NULL is fine (true). */
bool cs_graphite_stop(cs_graphite *g);

#endif
