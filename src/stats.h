/* stats.h - the run's aggregates: per-destination SYN tallies, per-server connection counts, bytes
 * and durations, per (server, Host) HTTP counts and latency, per (server, SNI) TLS facts, Zeek
 * conn_state tallies; every table capped by --max-keys. Fed once per finalised connection and per
 * exchange, and per SYN packet (one table update, no allocation once the key exists). */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <glib.h>

#include "app.h"
#include "flow.h"
#include "hist.h"

/* A flat, writer-friendly copy of one finalised connection, oriented originator -> responder.
 * Index 0 of the pair arrays is the originator (client), 1 the responder (server). */
#define CS_UID_LEN 24 /* "C", 6 characters of the run, up to 11 of the frame, NUL */

typedef struct cs_conn_row {
    char uid[CS_UID_LEN]; /* unique id of this record (cs_conn_uid), "" when not set */
    uint64_t stream;
    bool resumed;
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    cs_time_t start, end;
    uint64_t pkts[2];
    uint64_t bytes[2];      /* unique payload bytes by sequence space (like Zeek's orig_bytes) */
    uint64_t ip_bytes[2];
    uint64_t wire_bytes[2];
    uint64_t gap_bytes[2];  /* payload bytes never captured */
    uint32_t retrans[2], ooo[2], zero_win[2];
    uint32_t syns, synacks; /* SYNs sent by the originator, SYN/ACKs by the responder */
    uint32_t syns_resp;     /* SYNs without ACK sent by the responder (simultaneous open, odd peers) */
    cs_time_t rtt_syn;      /* last SYN -> first SYN/ACK, -1 if not seen */
    cs_time_t rtt_ack;      /* SYN/ACK -> handshake ACK, -1 if not seen */
    bool established;
    bool closed;
    const char *state;      /* Zeek conn_state */
    const char *role_how;   /* "syn", "synack", "port", "first" */
    const char *end_reason;
    const char *rst_by;     /* "orig", "resp" or NULL */
    char history[22];
    uint16_t mss[2];
    int8_t wscale[2];
    const char *service;    /* "http", "https" (TLS, decrypted HTTP inside), "tls", or NULL */
    bool has_http;
    cs_http_conn_summary http;
    bool has_ex;               /* exchanges were reported on the connection */
    cs_exsum ex;               /* their counts and timings (empty but valid when !has_ex) */
    const cs_tls_summary *tls; /* TLS facts, NULL if not TLS; valid during the conn callback only */
    bool http2; /* speaks HTTP/2 (parsed when has_h2; else TLS with ALPN h2, no keys) */
    bool has_h2;
    cs_h2_conn_summary h2;
    bool tunnel_changed;            /* packets came through more than one tunnel (or none) */
    const struct cs_tunnel *tunnel; /* the tunnel of its first packet, or NULL (set by the engine;
                                       valid while the engine lives) */
} cs_conn_row;

/* Fills row from c and its application summary (may be NULL); row->uid is left empty. Can't
 * fail. */
void cs_conn_row_fill(cs_conn_row *row, const cs_conn *c, cs_end_reason why,
                      const cs_app_summary *app);

/* A key for the uids of one run: a hash of its first packet (time, length, first bytes) and of
 * `group` (with -j, the index of the group of files; else 0), so that the same input gives the
 * same uids, other inputs and other groups others. */
uint64_t cs_uid_run_key(uint32_t group, cs_time_t ts, uint32_t wirelen, const uint8_t *data,
                        uint32_t caplen);

/* Writes the uid of the connection record that begins at frame `first_frame` of the run keyed
 * `run_key` into buf (CS_UID_LEN bytes): "C", the key in 6 base62 characters, the frame number in
 * base62. A frame begins at most one record, so uids are unique within a run; like Zeek's they
 * never look like a conn_state. Can't fail. */
void cs_conn_uid(char buf[CS_UID_LEN], uint64_t run_key, uint64_t first_frame);

/* The connections of one server (address and port, or an address over all its ports): raw counts
 * and fixed-bin histograms, so they add up exactly (runs, -j groups, summaries, ports of an IP). */
typedef struct cs_server_conns {
    uint64_t conns; /* connections whose server it is */
    uint64_t established, refused, reset, open_at_end, midstream;
    uint64_t bytes_c2s, bytes_s2c;
    uint64_t pkts_c2s, pkts_s2c;
    cs_hist duration_us;
    cs_hist rtt_us;
} cs_server_conns;

/* Adds every count and histogram of `from` into `into`. */
void cs_server_conns_add(cs_server_conns *into, const cs_server_conns *from);
/* Frees the histograms; c is empty again. */
void cs_server_conns_clear(cs_server_conns *c);

/* Per (server address, port). The SYN tallies count SYN-without-ACK packets by destination. */
typedef struct cs_server_stats {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    uint64_t syn_pkts;      /* SYN-without-ACK packets sent to it (tshark's count) */
    uint64_t syn_attempts;  /* distinct SYNs (connection attempts) */
    uint64_t syn_answered;  /* attempts that got a SYN/ACK */
    uint64_t syn_rst;       /* attempts answered by RST only */
    uint64_t syn_unanswered;
    cs_server_conns c;
} cs_server_stats;

/* Connections per server address, all ports together. */
typedef struct cs_server_ip {
    cs_addr addr;
    uint8_t family; /* 0: the "(other)" row of servers beyond --max-keys */
    uint32_t ports; /* ports of the address with connections */
    cs_server_conns c;
} cs_server_ip;

/* Where a per-(address, port) row type keeps its fields: cs_server_stats and cs_an_conn_server
 * (analytics.h) both have family, addr, port and c (CS_SERVER_LAYOUT(type)). */
typedef struct cs_server_layout {
    size_t family, addr, port, conns;
} cs_server_layout;
#define CS_SERVER_LAYOUT(T)                                                                        \
    ((cs_server_layout){offsetof(T, family), offsetof(T, addr), offsetof(T, port), offsetof(T, c)})

/* The fields of row `row` (an element of such a type). */
uint8_t cs_server_row_family(const void *row, const cs_server_layout *l);
const cs_addr *cs_server_row_addr(const void *row, const cs_server_layout *l);
uint16_t cs_server_row_port(const void *row, const cs_server_layout *l);
const cs_server_conns *cs_server_row_conns(const void *row, const cs_server_layout *l);

/* Rolls per-(address, port) rows (pointers to elements laid out as `l` says) up by address; rows
 * without connections are left out. Returns the addresses sorted as cs_addr_cmp orders them; free
 * with g_ptr_array_free(a, TRUE) (the elements are owned by the array). */
GPtrArray *cs_server_ips(const GPtrArray *rows, const cs_server_layout *l);

/* HTTP per (server address, port, Host, HTTP version). */
typedef struct cs_http_server {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    char *host;      /* "" when requests carried no Host (HTTP/2: :authority) */
    uint8_t version; /* 1: HTTP/1.x, 2: HTTP/2 */
    uint64_t requests, responses, paired, unanswered, orphans;
    uint64_t status_class[6]; /* [1]..[5]: 1xx..5xx final statuses; [0] other */
    cs_hist ttfb_us;         /* request end -> first response byte */
    cs_hist ttlb_us;         /* request end -> last response byte (tshark's http.time) */
    cs_hist total_us;        /* request start -> last response byte */
} cs_http_server;

/* TLS per (server address, port, SNI). */
typedef struct cs_tls_server {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    char *sni;                 /* "" when the ClientHello had no server_name */
    uint64_t conns, established, resumed, http2, decrypted;
    uint64_t http2_opaque;     /* HTTP/2 (ALPN h2) without keys: no exchange estimate made */
    GHashTable *versions;      /* version name (owned) -> count */
    GHashTable *alpn;          /* chosen ALPN (owned; "" none) -> count */
    uint64_t app_bytes[2];     /* application data bytes client->server, server->client */
    uint64_t est_exchanges;    /* estimated request/response turns (no keys needed; not made for
                                  HTTP/2, whose streams are multiplexed) */
    uint64_t http_exchanges;   /* decrypted HTTP exchanges (with --tls-keylog) */
    cs_hist handshake_us;      /* ClientHello -> first application data */
    cs_hist turn_us;           /* estimated: client burst end -> first server record */
} cs_tls_server;

/* One exchange as the writers see it: the exchange and its connection's endpoints. */
typedef struct cs_http_row {
    const cs_http_tx *tx;
    char uid[CS_UID_LEN]; /* the uid of its connection record */
    uint64_t stream;
    bool resumed; /* the connection record continues a finalised one */
    uint8_t family;
    cs_addr addr[2]; /* client, server */
    uint16_t port[2];
} cs_http_row;

/* Timings of an exchange in microseconds, -1 when unknown. */
typedef struct cs_http_times {
    int64_t ttfb_us, ttlb_us, total_us, info_us, wait_us, req_us;
} cs_http_times;

void cs_http_times_of(const cs_http_tx *tx, cs_http_times *t);

/* The one rule for latency histograms: a paired exchange (request and response seen) adds its
 * ttfb, ttlb and total times (cs_http_times_of) to those of ttfb, ttlb and total that are not NULL,
 * each only when known; any other exchange adds nothing. Used for every latency histogram (per
 * server and Host here, per time bucket in analytics.c). */
void cs_http_latency_add(const cs_http_tx *tx, cs_hist *ttfb, cs_hist *ttlb, cs_hist *total);

typedef struct cs_stats {
    GHashTable *servers;     /* endpoint key -> cs_server_stats* */
    uint64_t conns;          /* finalised connection records */
    uint64_t conns_started;  /* connection records created */
    uint64_t established;
    uint64_t syn_pkts;
    uint64_t syn_attempts;
    uint64_t resumed;
    uint64_t by_reason[5];   /* cs_end_reason */
    GHashTable *states;      /* conn_state string (static) -> count (GUINT_TO_POINTER) */
    cs_hist duration_us;
    cs_hist rtt_us;
    cs_time_t first_ts, last_ts;
    /* HTTP */
    GHashTable *http_servers; /* (addr, port, host) -> cs_http_server* */
    uint64_t http_requests, http_responses, http_paired, http_unanswered, http_orphans;
    uint64_t http_conns, http_lost_in_gap, http_upgraded;
    uint64_t http2_exchanges; /* of the exchanges above, those carried by HTTP/2 streams */
    uint64_t http2_conns;     /* connections whose HTTP/2 was parsed */
    uint64_t http2_pushed;    /* server pushes: listed, but not counted as requests/responses */
    uint64_t http_status_class[6];
    cs_hist http_ttfb_us, http_total_us;
    /* TLS */
    GHashTable *tls_servers;   /* (addr, port, sni) -> cs_tls_server* */
    uint32_t max_keys;         /* entries per table; beyond, new keys fold into "(other)" (0: no cap) */
    uint64_t keys_capped;      /* events folded into "(other)" because a table was full */
    uint64_t tls_conns, tls_established, tls_decrypted, tls_http2;
    uint64_t tls_http2_opaque; /* TLS connections with ALPN h2 not decrypted (no estimate) */
} cs_stats;

void cs_stats_init(cs_stats *s);
void cs_stats_free(cs_stats *s);

/* Accounts one finalised connection. */
void cs_stats_conn(cs_stats *s, const cs_conn_row *row);

/* Accounts one SYN-without-ACK packet to dst:dport as it is seen; `first` when it is the sender's
 * first SYN on that connection (an attempt), else a retransmission. */
void cs_stats_syn(cs_stats *s, uint8_t family, const cs_addr *dst, uint16_t dport, bool first);

/* Accounts a connection record as it is created. */
void cs_stats_conn_started(cs_stats *s);

/* Accounts one HTTP exchange (an HTTP/2 server push only in http2_pushed). */
void cs_stats_http(cs_stats *s, const cs_http_row *row);

/* Accounts the application summary of a finalised connection (row: the same connection). */
void cs_stats_app(cs_stats *s, const cs_conn_row *row, const cs_app_summary *app);

/* Adds every count and histogram of `from` into `into` (from is unchanged): entries keyed alike
 * are summed; an entry new to a table of `into` that is full (into->max_keys) is summed into its
 * "(other)" entry, and its events (server: SYN packets + connections; HTTP: exchanges; TLS:
 * connections) are counted in into->keys_capped. Tables are taken in sorted order, so which keys
 * fold does not depend on hash order. Used to combine parallel runs. Can't fail. */
void cs_stats_merge(cs_stats *into, const cs_stats *from);

/* The TLS server table sorted by (family, address, port, SNI). Elements owned by s. */
GPtrArray *cs_stats_tls_servers_sorted(const cs_stats *s);

/* The HTTP server table sorted by (family, address, port, host). Elements owned by s. */
GPtrArray *cs_stats_http_servers_sorted(const cs_stats *s);

/* The server table sorted by (family, address, port). Free with g_ptr_array_free(a, TRUE);
 * the elements stay owned by s. */
GPtrArray *cs_stats_servers_sorted(const cs_stats *s);

/* The key of the per-endpoint tables (TCP and UDP servers): zero it, then fill it. GLib hash
 * and equality functions for it. */
typedef struct cs_ep_key {
    cs_addr addr;
    uint16_t port;
    uint8_t family;
} cs_ep_key;
guint cs_ep_key_hash(gconstpointer k);
gboolean cs_ep_key_equal(gconstpointer a, gconstpointer b);

/* The first members of the rows of a per-endpoint table (cs_udp_server, cs_quic_server begin
 * with these, in this order: CS_EP_ROW_CHECK checks it at compile time). */
typedef struct cs_ep_row {
    cs_addr addr;
    uint8_t family; /* 0: the '(other)' row */
    uint16_t port;
} cs_ep_row;
#define CS_EP_ROW_CHECK(T)                                                                         \
    G_STATIC_ASSERT(offsetof(T, addr) == offsetof(cs_ep_row, addr) &&                              \
                    offsetof(T, family) == offsetof(cs_ep_row, family) &&                          \
                    offsetof(T, port) == offsetof(cs_ep_row, port))

/* The row of endpoint (family, a, port) in t, whose keys are cs_ep_key and whose values are rows
 * of `size` bytes beginning like cs_ep_row (freed by t's value destroy function); a new row is
 * zeroed. With max_keys rows already (0: no cap) a new endpoint goes to the '(other)' row
 * (family 0, created when needed) and *capped is incremented. Can't fail. */
void *cs_ep_row_get(GHashTable *t, uint32_t max_keys, uint64_t *capped, uint8_t family,
                    const cs_addr *a, uint16_t port, size_t size);

/* Orders two such rows (pointers to row pointers, as cs_table_sorted passes them) by family,
 * address and port ('(other)' first). */
gint cs_ep_row_cmp(gconstpointer pa, gconstpointer pb);

/* The values of hash table t sorted by cmp (which gets pointers to the value pointers). Free
 * with g_ptr_array_free(a, TRUE); the values stay owned by t. */
GPtrArray *cs_table_sorted(GHashTable *t, GCompareFunc cmp);

/* Compares two addresses of the given families (IPv4 before IPv6, then bytes). */
int cs_addr_cmp(uint8_t fa, const cs_addr *a, uint8_t fb, const cs_addr *b);

#endif
