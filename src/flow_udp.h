/* flow_udp.h - the UDP flow table: one record per unordered 4-tuple, numbered like Wireshark's
 * udp.stream, with packets/bytes per direction, idle expiry, a cap, and a datagram hook for consumers. */
#ifndef CS_FLOW_UDP_H
#define CS_FLOW_UDP_H

#include "decode.h"

/* Why a UDP flow record ended. */
typedef enum cs_udp_end {
    CS_UDP_END_IDLE,    /* no datagram for the idle timeout */
    CS_UDP_END_EVICTED, /* removed to stay under the cap */
    CS_UDP_END_EOF      /* still active when the input ended */
} cs_udp_end;

/* One UDP flow = one Wireshark udp.stream (a record may end and resume: `resumed`). Owned by the
 * table: valid from the datagram that created it until the flow_end hook returns. Endpoint 0 sent
 * the first datagram seen. */
typedef struct cs_udp_flow {
    uint32_t hash;
    uint32_t id; /* slot in the pool */
    uint32_t lru_prev, lru_next;
    uint8_t family;
    uint8_t client;      /* endpoint index (0/1) of the client (see cs_udp_packet) */
    uint8_t tunnel_type; /* cs_tun_type its datagrams carry (a tunnel's outer flow), else 0 */
    bool resumed;        /* continues a udp.stream whose record ended earlier */
    bool quote_only;     /* known only from ICMP error quotes: never reported */
    bool tunnel_changed; /* later datagrams came through another tunnel than the first */
    uint16_t port[2];
    cs_addr addr[2];
    uint64_t stream; /* Wireshark udp.stream */
    uint64_t first_frame;
    cs_time_t first_ts, last_ts;
    uint64_t pkts[2];          /* datagrams sent by endpoint i */
    uint64_t ip_bytes[2];      /* their IP lengths */
    uint64_t payload_bytes[2]; /* their UDP payload lengths (on the wire) */
    uint64_t wire_bytes[2];    /* frame lengths */
    uint32_t tunnel;           /* tunnel table id of the first datagram's tunnel (0: none) */
    void *app;                 /* consumer state (e.g. QUIC), owned by whoever set it */
    uint8_t app_kind;          /* set by the consumer */
} cs_udp_flow;

/* One datagram as the table sees it: a decoded UDP header (cs_udp_dgram_of) or the outer UDP
 * header of a tunnel layer (cs_udp_dgram_of_layer). Addresses point into the packet view. */
typedef struct cs_udp_dgram {
    uint8_t family;
    const cs_addr *src, *dst;
    uint16_t sport, dport;
    uint32_t ip_len;
    const uint8_t *payload; /* NULL for a tunnel's outer datagram (not handed to consumers) */
    uint32_t payload_len;   /* captured */
    uint32_t payload_wire;  /* on the wire */
    uint32_t wirelen;       /* frame length */
    cs_time_t ts;
    uint64_t frame;
    bool quote;           /* a header quoted by an ICMP error: stream lookup only */
    uint8_t tunnel_type;  /* the tunnel it carries (cs_tun_type), else 0 */
    uint16_t tunnel_port; /* ... and which of its ports is the tunnel's (the server's) */
    uint32_t tunnel_id;   /* the tunnel it came through (0: none) */
} cs_udp_dgram;

/* The consumer interface (each may be NULL). `datagram` gets the payload of every datagram of a
 * flow that does not carry a tunnel, sent by endpoint `dir`: `len` captured bytes of `wire_len`;
 * the bytes are valid during the call only. flow_end is the last call for a record. */
typedef struct cs_udp_hooks {
    void *ctx;
    void (*flow_new)(void *ctx, cs_udp_flow *f);
    void (*datagram)(void *ctx, cs_udp_flow *f, int dir, const uint8_t *p, uint32_t len,
                     uint32_t wire_len, cs_time_t ts);
    void (*flow_end)(void *ctx, cs_udp_flow *f, cs_udp_end why);
} cs_udp_hooks;

typedef struct cs_udp_cfg {
    cs_time_t idle_timeout;  /* end a record after this long without a datagram */
    uint32_t max_flows;      /* cap on tracked flows (the idlest is evicted, counted) */
    uint32_t max_tombstones; /* ended tuples remembered so a late datagram keeps its udp.stream */
} cs_udp_cfg;

typedef struct cs_udp_table cs_udp_table;

/* Sets cfg to the defaults (60 s idle like Zeek's UDP inactivity timeout, 1M flows, 262144). */
void cs_udp_cfg_default(cs_udp_cfg *cfg);

/* Creates an empty table. `hooks` and `counters` must outlive it. Can't fail (aborts on OOM). */
cs_udp_table *cs_udp_new(const cs_udp_cfg *cfg, const cs_udp_hooks *hooks, cs_counters *counters);

/* The datagram view of a decoded UDP packet (CS_DEC_UDP), and of the outer UDP header of tunnel
 * layer `l` of pkt. */
void cs_udp_dgram_of(cs_udp_dgram *d, const cs_pkt *pkt);
void cs_udp_dgram_of_layer(cs_udp_dgram *d, const cs_pkt *pkt, const cs_tun_layer *l);

/* Accounts one datagram: finds or creates its flow (giving a new tuple the next udp.stream, a
 * remembered one its old number), updates the counters of the sending endpoint (*dir) and hands
 * the payload to the datagram hook. A quoted header only finds or creates the flow. Roles: the
 * endpoint on a tunnel port, else the only one on a port below 1024, is the server; else the
 * first sender is the client. Returns the flow (valid until the next call). Can't fail. */
cs_udp_flow *cs_udp_packet(cs_udp_table *t, const cs_udp_dgram *d, int *dir);

/* Ends records idle for longer than the timeout at time `now`. */
void cs_udp_expire(cs_udp_table *t, cs_time_t now);

/* Ends every record still open (in udp.stream order) with CS_UDP_END_EOF. */
void cs_udp_flush(cs_udp_table *t);

/* Flows tracked now, the peak, and the next udp.stream to be given out. */
uint32_t cs_udp_active(const cs_udp_table *t);
uint32_t cs_udp_peak(const cs_udp_table *t);
uint64_t cs_udp_streams(const cs_udp_table *t);

/* Name of an end reason ("idle", "evicted", "eof"). Static string. */
const char *cs_udp_end_name(cs_udp_end why);

/* Frees the table; records still tracked are dropped without hooks (flush first). NULL is fine. */
void cs_udp_free(cs_udp_table *t);

#endif
