/* flow.h - the TCP connection table: Wireshark-compatible stream numbering, per-connection state and
 * counters, idle/closed timeouts, a connection cap, and the hand-off of payload to reassembly. */
#ifndef CS_FLOW_H
#define CS_FLOW_H

#include "decode.h"
#include "reasm.h"

/* How the client (originator) of a connection was decided. */
typedef enum cs_role_how {
    CS_ROLE_NONE,     /* not decided yet */
    CS_ROLE_SYN,      /* it sent the SYN */
    CS_ROLE_SYNACK,   /* the other side sent a SYN/ACK */
    CS_ROLE_PORT,     /* no handshake seen: the server has the well-known/lower port */
    CS_ROLE_FIRST,    /* no handshake, no port hint: the first sender */
    CS_ROLE_CONTENT   /* no handshake: the application layer saw who sends requests */
} cs_role_how;

/* Why a connection record was finalised. */
typedef enum cs_end_reason {
    CS_END_CLOSED,   /* FIN both ways or RST, then quiet for the close linger */
    CS_END_IDLE,     /* no packet for the idle timeout */
    CS_END_REUSED,   /* the 4-tuple started a new stream (new SYN with another ISN) */
    CS_END_EVICTED,  /* removed to stay under --max-conns */
    CS_END_EOF       /* still open when the input ended */
} cs_end_reason;

/* Bits of cs_conn_dir.seen: what one endpoint has sent. */
#define CS_SENT_SYN 0x0001
#define CS_SENT_SYNACK 0x0002
#define CS_SENT_FIN 0x0004
#define CS_SENT_RST 0x0008
#define CS_SENT_DATA 0x0010
#define CS_SENT_ACK 0x0020
#define CS_SENT_ANY 0x0040
#define CS_SENT_ZWIN 0x0080

/* Everything about the packets one endpoint sent. */
typedef struct cs_conn_dir {
    uint64_t pkts;
    uint64_t ip_bytes;      /* IP datagram lengths */
    uint64_t wire_bytes;    /* frame lengths on the wire */
    uint64_t payload_bytes; /* TCP payload including retransmissions */
    uint32_t base_seq;      /* Wireshark's base sequence number for this direction */
    uint32_t isn;           /* sequence number of its first SYN (or SYN/ACK; of a later one with
                               another ISN that came before any data) */
    uint32_t syns;          /* SYN packets without ACK it sent (retransmissions included) */
    uint32_t synacks;       /* SYN/ACK packets it sent */
    uint32_t retrans;       /* segments carrying only bytes seen before */
    uint32_t ooo;           /* segments that arrived ahead of a hole */
    uint32_t zero_windows;  /* segments advertising a zero window (not RST) */
    uint16_t seen;          /* CS_SENT_* */
    cs_time_t closing_ts;   /* its first FIN or RST, 0 if none (summaries' edges: edge.c) */
    uint16_t mss;           /* from its SYN, 0 if none */
    int8_t wscale;          /* from its SYN, -1 if none */
    uint32_t seq_hi;        /* highest sequence number + length sent so far (Zeek's retransmission rule) */
    bool seq_hi_set;
    uint8_t hist_count[3];  /* Zeek repeats T, W, G at 1, 10, 100, ... occurrences: log10 reached */
    uint32_t hist_n[3];
    bool base_set;
    bool sack_perm;
    bool ts_opt;
    cs_reasm reasm;         /* the bytes it sent, in order */
} cs_conn_dir;

/* One TCP connection = one Wireshark tcp.stream. Owned by the flow table: valid from the packet that
 * created it until the conn_end hook returns. Endpoint 0 sent the first packet seen. */
typedef struct cs_conn {
    uint32_t hash;
    uint32_t id;            /* slot in the connection pool */
    uint32_t lru_prev, lru_next;
    uint8_t lru_list;       /* which expiry list it is on */
    uint8_t family;
    uint8_t client;         /* endpoint index (0/1) of the originator */
    uint8_t role_how;       /* cs_role_how */
    uint16_t port[2];
    cs_addr addr[2];
    uint64_t stream;        /* Wireshark tcp.stream */
    uint64_t first_frame;
    cs_time_t first_ts, last_ts;
    cs_time_t end_ts;       /* last packet before both sides had closed (Zeek's end of duration) */
    cs_time_t syn_ts;       /* first SYN */
    cs_time_t syn_last_ts;  /* last SYN before the first SYN/ACK */
    cs_time_t synack_ts;    /* first SYN/ACK */
    cs_time_t ack_ts;       /* ACK that completed the handshake */
    cs_time_t close_ts;     /* when it became closed (FIN both ways, or RST) */
    bool established;       /* three-way handshake seen */
    bool closed;
    bool resumed;           /* continues a stream whose record was finalised earlier */
    bool quote_only;        /* known only from ICMP error quotes: never reported */
    uint8_t rst_by;         /* endpoint that sent the first RST + 1, 0 if none */
    uint8_t hist_len;
    char history[22];       /* Zeek-style history letters */
    uint32_t hist_bits[2];  /* letters already recorded per endpoint */
    cs_conn_dir d[2];       /* d[i]: packets sent by endpoint i */
    void *app;              /* application parser state (owned by the app layer) */
    uint8_t app_kind;       /* set by the app layer */
    bool tunnel_changed;    /* later packets came through another tunnel (or none) than the first */
    uint32_t tunnel;        /* tunnel table id of the first packet's tunnel (cs_pkt.tunnel_id) */
} cs_conn;

/* The app layer's view: the consumer interface the flow table calls (every callback may be NULL).
 * stream_data/gap/end report reassembled bytes sent by endpoint `dir`. conn_end is the last call
 * for a connection; the record is freed when it returns. */
typedef struct cs_flow_hooks {
    void *ctx;
    void (*conn_new)(void *ctx, cs_conn *c);
    /* A SYN without ACK sent by endpoint dir (retransmissions too; `first`: its first in c). */
    void (*syn_packet)(void *ctx, cs_conn *c, int dir, bool first, cs_time_t ts);
    void (*stream_data)(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len,
                        cs_time_t ts);
    void (*stream_gap)(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts);
    void (*stream_end)(void *ctx, cs_conn *c, int dir, cs_time_t ts);
    void (*conn_end)(void *ctx, cs_conn *c, cs_end_reason why);
} cs_flow_hooks;

typedef struct cs_flow_cfg {
    cs_time_t idle_timeout;   /* finalise after this long without a packet */
    cs_time_t close_linger;   /* finalise a closed connection after this long without a packet */
    uint32_t max_conns;       /* cap on tracked connections (oldest idle evicted first) */
    uint32_t max_tombstones;  /* finalised 4-tuples remembered for stream numbering */
    uint32_t max_ooo_bytes;   /* per direction reassembly buffer */
    bool verify_checksums;
} cs_flow_cfg;

typedef struct cs_flow_table cs_flow_table;

/* Sets cfg to the defaults (5 min idle like Zeek, 10 s close linger, 1M connections, 1 MiB). */
void cs_flow_cfg_default(cs_flow_cfg *cfg);

/* Creates an empty table. `hooks` and `counters` must outlive it. Can't fail (aborts on OOM). */
cs_flow_table *cs_flow_new(const cs_flow_cfg *cfg, const cs_flow_hooks *hooks,
                           cs_counters *counters);

/* Accounts one decoded TCP packet: finds or creates its connection (assigning the stream index),
 * updates state and counters and feeds reassembly. Returns the connection (valid until the next
 * call) and sets *dir to the sending endpoint; returns NULL for a packet that cannot be tracked. */
cs_conn *cs_flow_packet(cs_flow_table *t, const cs_pkt *pkt, int *dir);

/* Finalises connections idle (or closed) for longer than their timeout at time `now`. */
void cs_flow_expire(cs_flow_table *t, cs_time_t now);

/* Finalises every connection still tracked, in stream order: CS_END_CLOSED for those already
 * closed (lingering), CS_END_EOF for the others. */
void cs_flow_flush(cs_flow_table *t);

/* True while cs_flow_flush() finalises (the connections still tracked at the end of the input). */
bool cs_flow_flushing(const cs_flow_table *t);

/* Tracked connections now, the peak, and the next stream index to be given out. */
uint32_t cs_flow_active(const cs_flow_table *t);
uint32_t cs_flow_peak(const cs_flow_table *t);
uint64_t cs_flow_streams(const cs_flow_table *t);

/* Frees the table. Connections still tracked are dropped without hooks (flush first). */
void cs_flow_free(cs_flow_table *t);

/* Zeek conn_state of a connection ("S0", "SF", "REJ", ...). Static string. */
const char *cs_conn_state(const cs_conn *c);

/* Makes endpoint `ep` the client when the roles were only guessed (no handshake seen). */
void cs_conn_set_client(cs_conn *c, int ep);

/* Name of an end reason ("closed", "idle", ...). Static string. */
const char *cs_end_reason_name(cs_end_reason why);

#endif
