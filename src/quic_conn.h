/* quic_conn.h - QUIC connections across UDP datagrams: found by connection IDs as Wireshark's
 * quic.connection.number is (Initial DCID, SCIDs both ways, Retry), with Initial packets opened. */
#ifndef CS_QUIC_CONN_H
#define CS_QUIC_CONN_H

#include "anomaly.h"
#include "common.h"
#include "quic.h"
#include "quic_cstream.h"

/* A connection ID; len 0 is "none" (or a zero-length ID where the context says it is set). */
typedef struct cs_quic_cid {
    uint8_t len;
    uint8_t b[CS_QUIC_MAX_CID];
} cs_quic_cid;

#define CS_QUIC_HISTORY_MAX 100 /* Zeek's QUIC::max_history_length */
#define CS_QUIC_EXTRA_CIDS 4    /* NEW_CONNECTION_ID values remembered per side */

/* How a connection looked when it ended (from the packets visible without keys). */
typedef enum cs_quic_state {
    CS_QS_NO_ANSWER,   /* client packets only (a client's CONNECTION_CLOSE included) */
    CS_QS_VN,          /* the server answered with Version Negotiation only */
    CS_QS_RETRY_ONLY,  /* the server answered with Retry, then nothing more came from it */
    CS_QS_INCOMPLETE,  /* the server answered, the handshake did not finish in the capture */
    CS_QS_ESTABLISHED, /* both sides went past the Initial packets (Handshake or 1-RTT packets) */
    CS_QS_CLOSED       /* a CONNECTION_CLOSE frame was seen (in a packet that could be opened) */
} cs_quic_state;

/* Why a connection record ended. */
typedef enum cs_quic_end {
    CS_QEND_IDLE,    /* no packet for the idle timeout (or the linger after a CONNECTION_CLOSE) */
    CS_QEND_EVICTED, /* removed to stay under the cap */
    CS_QEND_EOF      /* still open when the input ended */
} cs_quic_end;

/* One QUIC connection. Owned by the table: valid from the datagram that created it until the
 * conn_end hook returns. Direction 0 is the client (sender of the first Initial), 1 the server. */
typedef struct cs_quic_conn {
    uint32_t id; /* pool slot */
    uint32_t lru_prev, lru_next;
    uint32_t number;       /* Wireshark's quic.connection.number (0-based, creation order) */
    uint32_t version;      /* of the client's first Initial */
    uint32_t last_version; /* of the latest long header packet (changes after negotiation) */
    uint8_t family;
    uint16_t port[2]; /* client, server */
    cs_addr addr[2];
    cs_quic_cid odcid;    /* the client's first Initial DCID (Zeek client_initial_dcid) */
    cs_quic_cid key_dcid; /* DCID the Initial keys come from (a Retry replaces it) */
    bool key_dcid_set;
    bool retry_taken;        /* a Retry was processed (the client takes one at most) */
    bool retry_ignored;      /* the latest Retry came too late and changed nothing */
    cs_quic_cid cids[2];     /* Wireshark's first CID of client and server (len 0: none) */
    bool scid_set[2];        /* ... non-empty and in the maps */
    cs_quic_cid rep_scid[2]; /* SCID of each side's first long header packet (Zeek's fields) */
    bool rep_scid_seen[2];
    uint8_t nextra[2];
    cs_quic_cid extra[2][CS_QUIC_EXTRA_CIDS]; /* NEW_CONNECTION_ID values (decrypted packets) */
    bool keys_ready;
    uint32_t keys_version;         /* the version the Initial keys were derived for */
    cs_quic_keys initial[2];       /* Initial keys per direction */
    uint64_t largest_pn[2][3];     /* per direction and packet number space (UINT64_MAX: none) */
    cs_quic_cstream *crypto[2][2]; /* CRYPTO streams [dir][Initial, Handshake], while in use */
    bool crypto_done[2][2]; /* a message was delivered; later data in that space is ignored */
    cs_time_t first_ts, last_ts;
    cs_time_t hs_ts;              /* first Handshake packet of the server (0: none) */
    uint64_t dgrams[2], bytes[2]; /* datagrams and their UDP payload bytes (wire) */
    uint64_t packets[2];          /* QUIC packets (coalesced ones counted apart) */
    uint32_t initials[2], handshakes[2], zero_rtt, retries, vns, unknown_version[2];
    uint64_t shorts[2], short_next[2]; /* 1-RTT packets; Zeek's next 'O' threshold */
    uint32_t decrypted;                /* Initial packets opened */
    uint32_t decrypt_failed;
    uint32_t discarded; /* packets with the fixed bit clear (greased, or padding) */
    uint32_t hellos[2]; /* ClientHello / ServerHello messages delivered */
    uint32_t by_flow;   /* datagrams placed by their UDP flow, their IDs being unknown */
    bool closed;        /* CONNECTION_CLOSE seen */
    bool close_app;     /* ... of type 0x1d */
    uint8_t close_dir;
    uint64_t close_error;
    uint8_t hist_len;
    bool hist_mute;                        /* while handling a packet Zeek would not have seen */
    char history[CS_QUIC_HISTORY_MAX + 1]; /* Zeek quic.log letters, NUL-terminated */
    void **slot; /* the UDP flow's consumer pointer that names this conn, or NULL */
    void *app;   /* consumer state (TLS facts), owned by the hooks */
} cs_quic_conn;

/* One UDP datagram handed over by the UDP flow table. Addresses point into the caller's view. */
typedef struct cs_quic_dgram {
    uint8_t family;
    const cs_addr *src, *dst;
    uint16_t sport, dport;
    const uint8_t *p;  /* UDP payload */
    uint32_t len;      /* captured */
    uint32_t wire_len; /* on the wire */
    cs_time_t ts;
    void **slot; /* the flow's consumer pointer (NULL: none) */
    bool force;  /* the port was given with --quic-port: QUIC even if unknown */
} cs_quic_dgram;

/* The consumer interface (each may be NULL). `handshake` gets each complete TLS handshake message
 * of the Initial (level 0) and Handshake (level 1) CRYPTO streams sent by `dir`, header included,
 * valid during the call. conn_end is the last call for a connection. */
typedef struct cs_quic_hooks {
    void *ctx;
    void (*conn_new)(void *ctx, cs_quic_conn *c);
    void (*handshake)(void *ctx, cs_quic_conn *c, int dir, int level, const uint8_t *msg,
                      uint32_t len, cs_time_t ts);
    void (*conn_end)(void *ctx, cs_quic_conn *c, cs_quic_end why);
} cs_quic_hooks;

typedef struct cs_quic_cfg {
    cs_time_t idle_timeout;    /* end a connection after this long without a packet */
    cs_time_t close_linger;    /* ... after a CONNECTION_CLOSE */
    uint32_t max_conns;        /* cap (the idlest is evicted, counted) */
    uint32_t max_crypto_bytes; /* per CRYPTO stream buffer */
} cs_quic_cfg;

/* Counts of what the table saw, beyond the named anomalies. */
typedef struct cs_quic_stats {
    uint64_t datagrams;    /* taken as QUIC */
    uint64_t packets[7];   /* by cs_quic_ptype */
    uint64_t orphans;      /* QUIC packets that matched no connection */
    uint64_t conns;        /* connections created */
    uint64_t initial_keys; /* Initial key derivations */
} cs_quic_stats;

typedef struct cs_quic_table cs_quic_table;

/* Sets cfg to the defaults (60 s idle like Zeek's UDP timeout, 10 s linger, 262144 connections,
 * 64 KiB per CRYPTO stream). */
void cs_quic_cfg_default(cs_quic_cfg *cfg);

/* Creates an empty table. `hooks` and `counters` must outlive it. Returns NULL only when OpenSSL
 * lacks what QUIC packet protection needs (see cs_quic_crypto_new). */
cs_quic_table *cs_quic_new(const cs_quic_cfg *cfg, const cs_quic_hooks *hooks,
                           cs_counters *counters);

/* Accounts one datagram: finds its connection as Wireshark does (creating one for a client
 * Initial), splits coalesced packets, opens Initial packets, reassembles their CRYPTO frames and
 * hands complete handshake messages to the hook. Returns true when the datagram was QUIC (a
 * long header of a known version or Version Negotiation, a packet of a known connection, or any
 * datagram when d->force); *conn (if conn is not NULL) gets its connection, or NULL when it
 * matched none, and *dir (if not NULL) the sender (0 client, 1 server). No allocation except a
 * new connection, a CRYPTO buffer. */
bool cs_quic_datagram(cs_quic_table *q, const cs_quic_dgram *d, cs_quic_conn **conn, int *dir);

/* The UDP flow whose consumer pointer is `slot` ended: forgets it (the connection lives on). */
void cs_quic_slot_end(cs_quic_table *q, void **slot);

/* Ends connections idle past the timeout (or linger) at time `now`. */
void cs_quic_expire(cs_quic_table *q, cs_time_t now);

/* Ends every connection still open (in creation order) with CS_QEND_EOF. */
void cs_quic_flush(cs_quic_table *q);

/* The state of c now (see cs_quic_state). */
cs_quic_state cs_quic_conn_state(const cs_quic_conn *c);

/* Name of a state ("no_answer", "version_negotiation", "retry_only", "incomplete",
 * "established", "closed") and of an end reason ("idle", "evicted", "eof"). Static strings. */
const char *cs_quic_state_name(cs_quic_state s);
const char *cs_quic_end_name(cs_quic_end why);

/* Connections tracked now, the peak, and the statistics. */
uint32_t cs_quic_active(const cs_quic_table *q);
uint32_t cs_quic_peak(const cs_quic_table *q);
const cs_quic_stats *cs_quic_get_stats(const cs_quic_table *q);

/* Writes the hex of a connection ID into buf (at least 41 bytes). Returns buf. */
char *cs_quic_cid_hex(const cs_quic_cid *cid, char *buf);

/* Frees the table; connections still tracked are dropped without hooks (flush first). NULL ok. */
void cs_quic_free(cs_quic_table *q);

#endif
