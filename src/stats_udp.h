/* stats_udp.h - UDP flow records as the writers see them (cs_udp_row) and the per-server UDP table:
 * flows, packets and bytes each way, durations. Fed once per ended flow record, never per packet. */
#ifndef CS_STATS_UDP_H
#define CS_STATS_UDP_H

#include <glib.h>

#include "flow_udp.h"
#include "hist.h"
#include "tunnel.h"

/* A flat copy of one ended UDP flow record, oriented client -> server (index 0 the client). */
typedef struct cs_udp_row {
    uint64_t stream; /* Wireshark udp.stream */
    bool resumed;    /* continues a record that ended earlier (uid suffix r) */
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    cs_time_t start, end;
    uint64_t pkts[2];
    uint64_t ip_bytes[2];
    uint64_t bytes[2]; /* UDP payload bytes */
    uint64_t wire_bytes[2];
    const char *end_reason;
    const char *service;     /* the tunnel it carries ("vxlan", ...), or NULL */
    uint8_t service_type;    /* the same as a cs_tun_type (0: none) */
    const cs_tunnel *tunnel; /* the tunnel it came through, or NULL; valid while the engine lives */
    bool tunnel_changed;
} cs_udp_row;

/* Fills row from f (tn: the row of f->tunnel, may be NULL). Can't fail. */
void cs_udp_row_fill(cs_udp_row *row, const cs_udp_flow *f, cs_udp_end why, const cs_tunnel *tn);

/* Per (server address, port); family 0 is the '(other)' row past the cap. */
typedef struct cs_udp_server {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    uint8_t service; /* cs_tun_type its flows carry, else 0 */
    uint64_t flows;
    uint64_t pkts_c2s, pkts_s2c;
    uint64_t bytes_c2s, bytes_s2c; /* UDP payload bytes */
    cs_hist duration_us;
} cs_udp_server;

typedef struct cs_udp_stats {
    GHashTable *servers; /* endpoint key -> cs_udp_server* */
    uint64_t flows;      /* ended flow records */
    uint64_t resumed;
    uint64_t pkts, bytes; /* datagrams and payload bytes in them */
    uint32_t max_keys;    /* servers kept; beyond, an '(other)' row (0: no cap) */
    uint64_t keys_capped;
} cs_udp_stats;

void cs_udp_stats_init(cs_udp_stats *s, uint32_t max_keys);
void cs_udp_stats_free(cs_udp_stats *s);

/* Accounts one ended flow record. */
void cs_udp_stats_add(cs_udp_stats *s, const cs_udp_row *row);

/* Adds every count of `from` into `into` (-j). */
void cs_udp_stats_merge(cs_udp_stats *into, const cs_udp_stats *from);

/* The server table sorted by (family, address, port), '(other)' first. Free with
 * g_ptr_array_free(a, TRUE); the elements stay owned by s. */
GPtrArray *cs_udp_stats_sorted(const cs_udp_stats *s);

#endif
