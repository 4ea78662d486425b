/* analytics.h - what operators ask of a capture: top talkers (exact, Space-Saving past a key cap),
 * activity per time bucket, latency per server and per bucket, and the flow profile. Fed once per
 * finalised connection and HTTP exchange, and once per SYN packet (an O(1) bucket update). Every
 * aggregate is a raw count or a fixed-bin histogram, so that aggregates of separate runs add up
 * exactly (summary.h writes, reads and merges them; doc/summary-format.md). */
#ifndef CS_ANALYTICS_H
#define CS_ANALYTICS_H

#include <stdio.h>

#include <glib.h>

#include "hist.h"
#include "stats.h"

/* ---- host filter (--host IP) ----------------------------------------------------------------- */

/* One client or server address; `on` false matches everything. */
typedef struct cs_host_filter {
    bool on;
    uint8_t family; /* 4 or 6 */
    cs_addr addr;
} cs_host_filter;

/* Parses "192.0.2.1" or "2001:db8::1" into f (on). Returns false, f unchanged, when text is not an
 * address. */
bool cs_host_filter_parse(cs_host_filter *f, const char *text);

/* True when f is off, or a or b (of the given family) is its address. */
bool cs_host_filter_match(const cs_host_filter *f, uint8_t family, const cs_addr *a,
                          const cs_addr *b);

/* ---- top talkers: exact counts, Space-Saving past the key cap -------------------------------- */

/* Counts per key (opaque bytes). Exact while it holds fewer than max_keys keys; when a new key
 * arrives at the cap it switches to Space-Saving (Metwally et al. 2005) with max_keys counters:
 * the new key replaces the smallest counter c, starts at c+1 with error c. Then every stored count
 * overestimates its key's true count by at most its error, and any key not stored occurred at most
 * `floor` times. Increments are O(1) exact, O(log max_keys) approximate. */
typedef struct cs_topk cs_topk;

/* One stored key. `key` is owned by the table. */
typedef struct cs_topk_entry {
    uint8_t *key;
    uint32_t len;
    uint32_t pos;     /* heap position (approximate mode) */
    uint64_t count;   /* upper bound of the true count; exact when error is 0 */
    uint64_t error;   /* count - error <= true count <= count */
} cs_topk_entry;

/* Creates an empty exact table capped at max_keys (>= 1). Can't fail (aborts on OOM). */
cs_topk *cs_topk_new(uint32_t max_keys);
void cs_topk_free(cs_topk *t);

/* Adds n occurrences of key[0..len). */
void cs_topk_add(cs_topk *t, const void *key, uint32_t len, uint64_t n);

/* Loads a stored counter as read from a summary (count with its error), summing onto an existing
 * entry of the same key. Used to rebuild a table: cs_topk_load_bounds() first, then the entries.
 * May exceed the cap; cs_topk_merge() trims. */
void cs_topk_load(cs_topk *t, const void *key, uint32_t len, uint64_t count, uint64_t error);
void cs_topk_load_bounds(cs_topk *t, bool approx, uint64_t floor, uint64_t total,
                         uint64_t evictions);

/* Adds every count of `from` into `into` (the mergeable-summaries rule): a key missing from an
 * approximate side counts that side's floor, as count and as error; then only the max_keys largest
 * counts of `into` are kept and the floor becomes the largest count dropped (or the sum of floors).
 * Exact when both are exact and the union fits under the cap. */
void cs_topk_merge(cs_topk *into, const cs_topk *from);

/* The entries sorted by count (descending), then key bytes (ascending): elements owned by t,
 * free the array with g_ptr_array_free(a, TRUE). */
GPtrArray *cs_topk_sorted(const cs_topk *t);

bool cs_topk_approx(const cs_topk *t);     /* the cap was reached (here or in a merged input) */
uint64_t cs_topk_floor(const cs_topk *t);  /* a key not stored occurred at most this often */
uint64_t cs_topk_total(const cs_topk *t);  /* all occurrences added (exact) */
uint64_t cs_topk_evictions(const cs_topk *t); /* counters replaced or dropped at the cap */
uint32_t cs_topk_size(const cs_topk *t);
uint32_t cs_topk_max_keys(const cs_topk *t);

/* ---- the aggregates -------------------------------------------------------------------------- */

/* Top-talker tables. Keys: family (1 byte) + address (16 bytes) [+ "METHOD path"]. */
typedef enum cs_top_table {
    CS_TOP_CLIENT_REQUESTS, /* client IP, by HTTP requests */
    CS_TOP_CLIENT_CONNS,    /* client IP, by connection records */
    CS_TOP_CLIENT_REQUEST,  /* (client IP, method + path without query), by requests */
    CS_TOP_TABLES
} cs_top_table;

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

/* Latency per server (address, port) over its paired exchanges. */
typedef struct cs_an_server {
    uint8_t family;
    cs_addr addr;
    uint16_t port;
    cs_hist ttfb_us, total_us;
} cs_an_server;

typedef struct cs_analytics_cfg {
    cs_time_t bucket;   /* bucket width, ns, > 0 */
    uint32_t max_keys;  /* per top-talker table (0: CS_AN_MAX_KEYS_DEFAULT; UINT32_MAX: no cap) */
    cs_host_filter host;
} cs_analytics_cfg;

#define CS_AN_BUCKET_DEFAULT (60 * CS_NS_PER_S)
#define CS_AN_MAX_KEYS_DEFAULT 100000u /* as the run's --max-keys */

typedef struct cs_analytics {
    cs_analytics_cfg cfg;
    GHashTable *buckets;      /* &bucket->start -> cs_an_bucket* (only buckets with events) */
    cs_an_bucket *last;       /* the bucket used last (SYN fast path) */
    cs_an_bucket untimed;     /* exchanges with no known time (none expected) */
    GHashTable *servers;      /* (family, addr, port) -> cs_an_server* */
    cs_topk *top[CS_TOP_TABLES];
    uint64_t flow_pkts[CS_AN_PKT_CLASSES];
    uint64_t flow_bytes[CS_AN_BYTE_CLASSES];
    cs_time_t first_ts, last_ts; /* earliest and latest event time counted (INT64_MAX/MIN: none) */
    GPtrArray *inputs;        /* names of the inputs analysed (gchar*), for the summary */
} cs_analytics;

/* Creates empty aggregates. Can't fail (aborts on OOM). */
cs_analytics *cs_analytics_new(const cs_analytics_cfg *cfg);
void cs_analytics_free(cs_analytics *a);

/* Records the name of an input (capture file, "-", or "live:IFACE"). */
void cs_analytics_add_input(cs_analytics *a, const char *name);

/* One SYN-without-ACK packet from src to dst at ts (per packet: O(1)). */
void cs_analytics_syn(cs_analytics *a, uint8_t family, const cs_addr *src, const cs_addr *dst,
                      cs_time_t ts);

/* One finalised connection record. */
void cs_analytics_conn(cs_analytics *a, const cs_conn_row *row);

/* One HTTP exchange. */
void cs_analytics_http(cs_analytics *a, const cs_http_row *row);

/* The bucket starting at `start` (a multiple of the width), created empty if missing. */
cs_an_bucket *cs_analytics_bucket(cs_analytics *a, cs_time_t start);

/* The server entry, created empty if missing. */
cs_an_server *cs_analytics_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                  uint16_t port);

/* Adds every aggregate of `from` into `into`, whose bucket width must be a multiple of from's
 * (buckets are re-bucketed exactly: both are aligned to the epoch). Host filters are not checked
 * here (summary.c refuses a mismatch). */
void cs_analytics_merge(cs_analytics *into, const cs_analytics *from);

/* Buckets with events, by start time. Elements owned by a; free with g_ptr_array_free(x, TRUE). */
GPtrArray *cs_analytics_buckets_sorted(const cs_analytics *a);
/* Servers by (family, address, port). Same ownership. */
GPtrArray *cs_analytics_servers_sorted(const cs_analytics *a);

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

/* ---- reports --------------------------------------------------------------------------------- */

#define CS_AN_MAX_SLOW 8

typedef struct cs_an_report_opts {
    int top_n;          /* > 0: top-talker tables with this many rows */
    bool activity;      /* the per-bucket tables */
    bool latency;       /* latency per server */
    bool flows;         /* the flow profile */
    int n_slow;
    uint64_t slow_us[CS_AN_MAX_SLOW]; /* thresholds for the share of slow exchanges, ascending */
} cs_an_report_opts;

/* Writes the selected sections as aligned text tables. */
void cs_analytics_report_text(const cs_analytics *a, const cs_an_report_opts *o, FILE *out);

/* Writes the selected sections as JSON lines (types "analytics", "top_talker", "activity",
 * "latency", "flow_profile"). */
void cs_analytics_report_json(const cs_analytics *a, const cs_an_report_opts *o, FILE *out);

/* Exchanges of h strictly slower than us: at least *lo, at most *hi. They differ only by the
 * exchanges in the one histogram bin that holds values on both sides of `us` (values within 1/64
 * of it); equal below 128 us and whenever us + 1 starts a bin. */
void cs_an_slow_bounds(const cs_hist *h, uint64_t us, uint64_t *lo, uint64_t *hi);

/* ---- option values --------------------------------------------------------------------------- */

/* Parses a duration "90", "90s", "15m", "1h", "1d" (a positive whole number, unit s when none;
 * "ms" and "us" too when allow_sub_second). Returns false, *ns unchanged, on a bad value. */
bool cs_an_parse_duration(const char *s, bool allow_sub_second, cs_time_t *ns);

/* Parses a comma-separated list of durations ("1s,10s", "250ms,2s") into ascending thresholds in
 * microseconds (at most CS_AN_MAX_SLOW, duplicates removed). Returns false on a bad list. */
bool cs_an_parse_slow(const char *s, uint64_t *us, int *n);

/* Formats a bucket width: "1h", "15m", "90s". */
char *cs_an_fmt_width(cs_time_t ns, char *buf, size_t len);

#endif
