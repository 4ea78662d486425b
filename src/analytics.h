/* analytics.h - what operators ask of a capture: top talkers (exact, Space-Saving past a key cap),
 * activity per time bucket, latency per server and per bucket, and the flow profile. Fed once per
 * finalised connection and HTTP exchange, and once per SYN packet (an O(1) bucket update). Every
 * aggregate is a raw count or a fixed-bin histogram, so that aggregates of separate runs add up
 * exactly (summary.h writes, reads and merges them; doc/summary-format.md). */
#ifndef CS_ANALYTICS_H
#define CS_ANALYTICS_H

#include <stdio.h>

#include <glib.h>

#include "edge.h"
#include "hist.h"
#include "stats.h"
#include "topk.h"
#include "util.h"

/* ---- the aggregates -------------------------------------------------------------------------- */

/* Top-talker tables. Keys: family (1 byte) + address (16 bytes) [+ "METHOD path"]. */
typedef enum cs_top_table {
    CS_TOP_CLIENT_REQUESTS, /* client IP, by HTTP requests */
    CS_TOP_CLIENT_CONNS,    /* client IP, by connection records */
    CS_TOP_CLIENT_REQUEST,  /* (client IP, method + path without query), by requests */
    CS_TOP_TABLES
} cs_top_table;

/* Their names in JSON and in summaries: "client_requests", "client_conns", "client_request". */
extern const char *const cs_an_top_names[CS_TOP_TABLES];

/* Flow-profile classes: connections by packets (both directions) and by payload bytes (both
 * directions, unique by sequence space as Zeek's orig_bytes + resp_bytes). Upper bounds,
 * inclusive; the last class is open. Part of the summary layout id. */
#define CS_AN_PKT_CLASSES 6  /* 1, 2-3, 4-10, 11-100, 101-1000, >1000 */
#define CS_AN_BYTE_CLASSES 8 /* 0, 1-100, 101-1k, 1k-10k, 10k-100k, 100k-1M, 1M-10M, >10M */
extern const uint64_t cs_an_pkt_upper[CS_AN_PKT_CLASSES - 1];
extern const uint64_t cs_an_byte_upper[CS_AN_BYTE_CLASSES - 1];

/* Everything counted in one time bucket [start, start + width). A connection counts (with its
 * bytes) in the bucket of its first packet, a SYN in the bucket of its packet, an exchange in the
 * bucket of its request's first byte (of its response's first byte when no request was seen). */
typedef struct cs_an_bucket {
    cs_time_t start;          /* index * width: buckets are aligned to the epoch, in UTC */
    uint64_t conns;           /* connection records */
    uint64_t syn_pkts;        /* SYN-without-ACK packets */
    uint64_t requests;        /* exchanges with a request */
    uint64_t status_class[6]; /* final responses: [1]..[5] = 1xx..5xx, [0] other */
    uint64_t unanswered;      /* requests reported without a response */
    uint64_t orphans;         /* responses without a request */
    uint64_t bytes_c2s, bytes_s2c;
    cs_hist ttfb_us;          /* paired exchanges: request end -> first response byte */
    cs_hist total_us;         /* paired exchanges: request start -> last response byte */
} cs_an_bucket;

/* Latency per server (address, port) over its paired exchanges (cs_analytics_servers_from). */
typedef struct cs_an_server {
    uint8_t family;
    cs_addr addr;
    uint16_t port;
    cs_hist ttfb_us, total_us;
} cs_an_server;

typedef struct cs_analytics_cfg {
    cs_time_t bucket;   /* bucket width, ns, > 0 */
    uint32_t max_keys;  /* per top-talker table (0: CS_AN_MAX_KEYS_DEFAULT; UINT32_MAX: no cap) */
    cs_host_filter host; /* --host: applied by the engine's record filter; here it labels the
                            reports and the summary (merge refuses summaries of other hosts) */
} cs_analytics_cfg;

#define CS_AN_BUCKET_DEFAULT (60 * CS_NS_PER_S)
#define CS_AN_MAX_KEYS_DEFAULT 100000u /* as the run's --max-keys */

/* Connections per server (address, port), copied from the run's stats (cs_analytics_servers_from)
 * so that summaries carry them and `merge` can print the connections-per-server tables. */
typedef struct cs_an_conn_server {
    uint8_t family;
    cs_addr addr;
    uint16_t port;
    cs_server_conns c;
} cs_an_conn_server;

typedef struct cs_analytics {
    cs_analytics_cfg cfg;
    GHashTable *buckets;      /* &bucket->start -> cs_an_bucket* (only buckets with events) */
    cs_an_bucket *last;       /* the bucket used last (SYN fast path) */
    cs_an_bucket untimed;     /* exchanges with no known time (none expected) */
    GHashTable *servers; /* (family, addr, port) -> cs_an_server*: see cs_analytics_servers_from */
    GHashTable *conn_servers;  /* (family, addr, port) -> cs_an_conn_server*: the same */
    bool conn_servers_missing; /* merged from a summary without them (format version 1) */
    cs_topk *top[CS_TOP_TABLES];
    uint64_t flow_pkts[CS_AN_PKT_CLASSES];
    uint64_t flow_bytes[CS_AN_BYTE_CLASSES];
    cs_time_t first_ts, last_ts; /* earliest and latest event time counted (INT64_MAX/MIN: none) */
    GPtrArray *inputs;        /* names of the inputs analysed (gchar*), for the summary */
    /* connections at the edges of the inputs (cs_an_edge*, edge.h), kept for the summary so that
     * merges can stitch them; NULL when not known (-j groups added up, a summary without them) */
    GPtrArray *edges;
    uint64_t streams;         /* tcp.stream indices given out over the inputs (with the edges) */
    cs_an_stitch stitch;      /* what merges stitched */
} cs_analytics;

/* Creates empty aggregates. Can't fail (aborts on OOM). */
cs_analytics *cs_analytics_new(const cs_analytics_cfg *cfg);
void cs_analytics_free(cs_analytics *a);

/* Records the name of an input (capture file, "-", or "live:IFACE"). */
void cs_analytics_add_input(cs_analytics *a, const char *name);

/* The feed: one SYN-without-ACK packet at ts (per packet: O(1)); one finalised connection record;
 * one HTTP exchange. The caller applies the record filters (--host among them) first: these count
 * everything they are given. Can't fail. */
void cs_analytics_syn(cs_analytics *a, cs_time_t ts);
void cs_analytics_conn(cs_analytics *a, const cs_conn_row *row);
void cs_analytics_http(cs_analytics *a, const cs_http_row *row);

/* Keeps the record of connection c (just given to cs_analytics_conn) as an edge of the input when
 * at_end (the input ended with it tracked) or when it began without the client's SYN (edge.h).
 * Memory: one record per such connection. */
struct cs_conn;
void cs_analytics_edge(cs_analytics *a, const cs_conn_row *row, const struct cs_conn *c,
                       bool at_end);

/* Replaces the latency-per-server table by the roll-up of st's HTTP server table over Host: per
 * (address, port), the ttfb and total histograms of its paired exchanges. Latency per server is
 * counted in one place, stats.c, and copied here when a run ends (and before a report during it),
 * so that summaries and merges carry it; st's --max-keys cap therefore bounds this table too (its
 * '(other)' row becomes a server of family 0). Replaces the connections-per-server table the same
 * way, by st's server table (the servers with connections). Can't fail. */
void cs_analytics_servers_from(cs_analytics *a, const cs_stats *st);

/* floor(x / w) * w, also for negative x: the start of the bucket of width w holding time x. */
cs_time_t cs_an_align(cs_time_t x, cs_time_t w);

/* Adds every count and histogram of `from` into `into` (their starts are not looked at). */
void cs_an_bucket_add(cs_an_bucket *into, const cs_an_bucket *from);

/* The bucket starting at `start` (a multiple of the width), created empty if missing. */
cs_an_bucket *cs_analytics_bucket(cs_analytics *a, cs_time_t start);

/* The server entry, created empty if missing. */
cs_an_server *cs_analytics_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                  uint16_t port);

/* The connections-per-server entry, created empty if missing. */
cs_an_conn_server *cs_analytics_conn_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                            uint16_t port);

/* Adds every aggregate of `from` into `into`, whose bucket width must be a multiple of from's
 * (buckets are re-bucketed exactly: both are aligned to the epoch). Host filters are not checked
 * here (summary.c refuses a mismatch). */
void cs_analytics_merge(cs_analytics *into, const cs_analytics *from);

/* Buckets with events, by start time. Elements owned by a; free with g_ptr_array_free(x, TRUE). */
GPtrArray *cs_analytics_buckets_sorted(const cs_analytics *a);
/* Servers by (family, address, port). Same ownership. */
GPtrArray *cs_analytics_servers_sorted(const cs_analytics *a);
/* Connections per server by (family, address, port). Same ownership. */
GPtrArray *cs_analytics_conn_servers_sorted(const cs_analytics *a);

/* Calls fn for every bucket from the first to the last with events, empty ones included (passed
 * as a zero bucket), unless that is more than max_rows buckets: then only for the buckets with
 * events, and returns false. */
typedef void (*cs_an_bucket_fn)(const cs_an_bucket *b, void *ctx);
bool cs_analytics_each_bucket(const cs_analytics *a, uint64_t max_rows, cs_an_bucket_fn fn,
                              void *ctx);
#define CS_AN_MAX_ZERO_FILL 100000 /* zero-filled rows at most (reports, metrics, plot) */

/* Sums every bucket (and the untimed one) into *out (zeroed first; free with
 * cs_an_bucket_clear). */
void cs_analytics_totals(const cs_analytics *a, cs_an_bucket *out);
void cs_an_bucket_clear(cs_an_bucket *b);

/* Flow-profile class of a connection with `pkts` packets / `bytes` payload bytes. */
int cs_an_pkt_class(uint64_t pkts);
int cs_an_byte_class(uint64_t bytes);
/* Labels of the classes ("1", "2-3", ..., ">1000"; "0", "1-100", ..., ">10MB"). */
const char *cs_an_pkt_label(int cls);
const char *cs_an_byte_label(int cls);

/* Decodes a top-talker key: its address, and its "METHOD path" part (NULL-terminated copy in what,
 * "" when the key has none). Returns false for a malformed key. */
bool cs_an_key_decode(const uint8_t *key, uint32_t len, uint8_t *family, cs_addr *addr, char *what,
                      size_t what_len);
/* Encodes a key into buf (at least 17 + strlen(what) bytes); what may be NULL. Returns its
 * length. */
uint32_t cs_an_key_encode(uint8_t *buf, uint8_t family, const cs_addr *addr, const char *what);

/* Exchanges of h strictly slower than us: at least *lo, at most *hi. They differ only by the
 * exchanges in the one histogram bin that holds values on both sides of `us` (values within 1/64
 * of it); equal below 128 us and whenever us + 1 starts a bin. */
void cs_an_slow_bounds(const cs_hist *h, uint64_t us, uint64_t *lo, uint64_t *hi);

#endif
