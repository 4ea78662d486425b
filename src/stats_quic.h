/* stats_quic.h - per-server QUIC aggregates over ended connections: connections by state, Initials
 * that got no answer (attempts per destination), handshake times, the names and ALPN offered.
 * Fed once per ended connection, never per packet; mergeable (-j). */
#ifndef CS_STATS_QUIC_H
#define CS_STATS_QUIC_H

#include <glib.h>

#include "app_quic.h"
#include "hist.h"

#define CS_QUIC_NAMES 4 /* distinct SNI / ALPN values counted per server; more go to `other` */

/* The most frequent values of one field per server: up to CS_QUIC_NAMES names with their counts
 * (the first ones met), and the count of records with another value. */
typedef struct cs_quic_names {
    char *name[CS_QUIC_NAMES]; /* owned; NULL: unused */
    uint64_t n[CS_QUIC_NAMES];
    uint64_t other;
} cs_quic_names;

/* Per (server address, port); family 0 is the '(other)' row past the cap. */
typedef struct cs_quic_server {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    uint64_t conns;
    uint64_t by_state[CS_QS_CLOSED + 1]; /* connections per cs_quic_state */
    uint64_t initials;                   /* client Initial packets sent to it */
    uint64_t initials_unanswered;        /* ... in connections that got no answer */
    uint64_t pkts_c2s, pkts_s2c, bytes_c2s, bytes_s2c;
    cs_hist handshake_us; /* client's first Initial -> server's first Handshake packet */
    cs_quic_names sni, alpn;
} cs_quic_server;

typedef struct cs_quic_agg {
    GHashTable *servers; /* endpoint key -> cs_quic_server* */
    uint64_t conns;
    uint64_t by_state[CS_QS_CLOSED + 1];
    uint64_t with_sni;  /* connections whose ClientHello was read */
    uint64_t datagrams; /* UDP datagrams taken as QUIC (set from the table: cs_quic_agg_sync) */
    uint64_t orphans;   /* QUIC packets that matched no connection (likewise) */
    uint32_t peak;      /* most connections tracked at once (-j: the sum over the groups) */
    uint32_t max_keys;  /* servers kept; beyond, an '(other)' row (0: no cap) */
    uint64_t keys_capped;
} cs_quic_agg;

void cs_quic_agg_init(cs_quic_agg *s, uint32_t max_keys);
void cs_quic_agg_free(cs_quic_agg *s);

/* Accounts one ended connection. */
void cs_quic_agg_add(cs_quic_agg *s, const cs_quic_row *row);

/* Copies the table's own counts (datagrams, orphans, peak) into s. */
void cs_quic_agg_sync(cs_quic_agg *s, const cs_quic_stats *st, uint32_t peak);

/* Adds every count of `from` into `into` (-j). */
void cs_quic_agg_merge(cs_quic_agg *into, const cs_quic_agg *from);

/* The server table sorted by (family, address, port), '(other)' first. Free with
 * g_ptr_array_free(a, TRUE); the elements stay owned by s. */
GPtrArray *cs_quic_agg_sorted(const cs_quic_agg *s);

/* The most frequent name of nm ("" when none) and how many other names it holds (distinct ones
 * kept, plus 1 when `other` is not 0). */
const char *cs_quic_names_top(const cs_quic_names *nm, unsigned *others);

#endif
