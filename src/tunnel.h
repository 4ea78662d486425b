/* tunnel.h - the table of tunnels seen in a run (Zeek's tunnel.log idea): one row per (type, outer
 * endpoint pair, VNI/key/session), with packets, bytes and the inner connections and flows it carried. */
#ifndef CS_TUNNEL_H
#define CS_TUNNEL_H

#include <glib.h>

#include "decode.h"

/* One tunnel. The outer endpoints are unordered (a < b), so both directions are one row; a
 * UDP-based tunnel is keyed by its tunnel port, not by the (entropy) source port. */
typedef struct cs_tunnel {
    uint32_t id;     /* 1-based id (0 means "no tunnel" elsewhere) */
    uint8_t type;    /* cs_tun_type */
    uint8_t family;  /* of the outer addresses */
    uint8_t version; /* ERSPAN type, GRE version */
    bool has_id;
    bool other;    /* the '(other)' row: tunnels beyond the table's cap */
    uint32_t vid;  /* VNI, GRE key, ERSPAN session (valid with has_id) */
    uint16_t port; /* the UDP tunnel port (4789, 6081, 3544, --vxlan-port), else 0 */
    cs_addr a, b;
    uint64_t pkts, bytes; /* outer frames and their wire bytes */
    uint64_t tcp_conns;   /* TCP connection records whose first packet came through it */
    uint64_t udp_flows;   /* UDP flow records whose first datagram came through it */
    uint8_t max_depth;    /* deepest nesting seen under it (1: no tunnel inside) */
    cs_time_t first_ts, last_ts;
} cs_tunnel;

typedef struct cs_tunnels cs_tunnels;

/* Creates an empty table of at most `max` rows (0: no cap); packets of further tunnels go to
 * one '(other)' row and are counted (`tunnel_table_cap`). Can't fail (aborts on OOM). */
cs_tunnels *cs_tunnels_new(uint32_t max);

/* Accounts a packet with at least one tunnel layer (pkt->tun_depth > 0) to the tunnel of its
 * outermost layer and returns that row's id. No allocation unless the tunnel is new. */
uint32_t cs_tunnels_packet(cs_tunnels *t, const cs_pkt *pkt, cs_counters *c);

/* The row with id `id`, or NULL for 0 or an unknown id. Valid until the table changes. */
const cs_tunnel *cs_tunnels_get(const cs_tunnels *t, uint32_t id);

/* Counts an inner TCP connection record (tcp true) or UDP flow record under row `id` (0: nothing). */
void cs_tunnels_count(cs_tunnels *t, uint32_t id, bool tcp);

/* Rows in the order (type, family, a, b, id); the '(other)' row last. Free with
 * g_ptr_array_free(a, TRUE); the elements stay owned by the table. */
GPtrArray *cs_tunnels_sorted(const cs_tunnels *t);

/* Number of rows. */
uint32_t cs_tunnels_count_rows(const cs_tunnels *t);

/* Adds every row of `from` into `into` (rows with the same key are summed). */
void cs_tunnels_merge(cs_tunnels *into, const cs_tunnels *from);

/* True when row `tn` passes a --tunnel-id / --vni filter: `want_id` >= 0 must equal its id
 * (VNI, key or session), `want_vni` >= 0 must equal the VNI of a VXLAN or GENEVE tunnel. */
bool cs_tunnel_match(const cs_tunnel *tn, int64_t want_id, int64_t want_vni);

/* Formats "vxlan 192.0.2.1 <-> 192.0.2.2 vni 100" (or "(other)") into buf. Returns buf. */
char *cs_tunnel_describe(const cs_tunnel *tn, char *buf, size_t len);

/* Name of the tunnel's id field: "vni", "key", "session", "call" (PPTP) or NULL. Static string. */
const char *cs_tunnel_id_name(const cs_tunnel *tn);

void cs_tunnels_free(cs_tunnels *t);

#endif
