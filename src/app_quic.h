/* app_quic.h - QUIC as a run sees it: UDP datagrams into the QUIC connection table (detection on any
 * port, --quic-port to force), each connection's TLS hellos parsed into facts (SNI, ALPN, versions,
 * JA3/JA3S/JA4 with QUIC's 'q'), and one flat record per ended connection for the writers. */
#ifndef CS_APP_QUIC_H
#define CS_APP_QUIC_H

#include "flow_udp.h"
#include "quic_conn.h"

#define CS_QUIC_MAX_PORTS 16 /* --quic-port values kept */

/* A flat copy of one ended QUIC connection, oriented client -> server (index 0 the client).
 * Field names follow Zeek's quic.log where it has one. Valid during the call that hands it over. */
typedef struct cs_quic_row {
    uint32_t number;      /* Wireshark's quic.connection.number (0-based, creation order) */
    uint64_t udp_stream;  /* udp.stream of the flow of its first datagram */
    uint64_t first_frame; /* frame that created it (for the uid) */
    uint32_t tunnel_id;   /* tunnel table id of that flow (0: none) */
    char uid[24];         /* the record id (set by the engine: cs_conn_uid of first_frame) */
    const struct cs_tunnel *tunnel; /* the tunnel row (set by the engine), or NULL */
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    cs_time_t start, end;
    cs_time_t handshake; /* client's first Initial -> server's first Handshake packet; -1 none */
    char version[24];    /* Zeek's names: "1", "quicv2", "draft-29", ... */
    char client_initial_dcid[2 * CS_QUIC_MAX_CID + 1];
    char client_scid[2 * CS_QUIC_MAX_CID + 1];
    char server_scid[2 * CS_QUIC_MAX_CID + 1];
    bool server_scid_seen; /* the server sent a long header packet (else server_scid is unset) */
    bool have_client_hello, have_server_hello;
    char server_name[256];    /* ClientHello SNI, "" when absent */
    char client_protocol[64]; /* first ALPN value offered (Zeek's client_protocol) */
    char alpn_offered[256];   /* every ALPN value offered, comma-separated */
    uint16_t tls_version;     /* ServerHello's selected version (0: no ServerHello) */
    uint16_t cipher;          /* ServerHello's cipher */
    char ja3[33], ja3s[33], ja4[40];
    const char *history; /* Zeek quic.log letters (valid during the call) */
    cs_quic_state state;
    const char *end_reason;                   /* "idle", "evicted", "eof" */
    uint64_t dgrams[2], packets[2], bytes[2]; /* UDP payload bytes on the wire */
    uint32_t initials[2], handshakes[2], zero_rtt, retries, vns;
    uint64_t shorts[2]; /* 1-RTT packets */
    bool closed;        /* CONNECTION_CLOSE seen */
    bool close_app;
    uint8_t close_dir; /* 0 client, 1 server */
    uint64_t close_error;
    uint32_t decrypt_failed; /* Initial packets that did not open */
} cs_quic_row;

/* Where ended connections go. */
typedef struct cs_app_quic_sink {
    void *ctx;
    void (*conn)(void *ctx, const cs_quic_row *row);
} cs_app_quic_sink;

typedef struct cs_app_quic_cfg {
    cs_quic_cfg quic;                  /* table caps and timeouts (max_conns 0: defaults) */
    uint16_t ports[CS_QUIC_MAX_PORTS]; /* --quic-port: datagrams to or from these are QUIC */
    uint32_t n_ports;
} cs_app_quic_cfg;

typedef struct cs_app_quic cs_app_quic;

/* Creates the QUIC consumer. `sink` and `counters` must outlive it. Returns NULL only when
 * OpenSSL lacks what QUIC packet protection needs (see cs_quic_new). */
cs_app_quic *cs_app_quic_new(const cs_app_quic_cfg *cfg, const cs_app_quic_sink *sink,
                             cs_counters *counters);

/* One datagram of UDP flow f sent by endpoint `dir` (the UDP datagram hook), in frame `frame`:
 * to the QUIC table when it is QUIC (a long header of a known version on any port, a packet of a
 * known connection, or anything on a --quic-port). No allocation except a new connection. */
void cs_app_quic_datagram(cs_app_quic *a, cs_udp_flow *f, int dir, const uint8_t *p, uint32_t len,
                          uint32_t wire_len, cs_time_t ts, uint64_t frame);

/* UDP flow f ended: its consumer pointer is forgotten (the QUIC connection lives on). */
void cs_app_quic_flow_end(cs_app_quic *a, cs_udp_flow *f);

/* Ends connections idle past the timeout at `now`; ends every connection (end of input). */
void cs_app_quic_expire(cs_app_quic *a, cs_time_t now);
void cs_app_quic_flush(cs_app_quic *a);

/* The table's counters, and the peak of tracked connections. */
const cs_quic_stats *cs_app_quic_stats(const cs_app_quic *a);
uint32_t cs_app_quic_peak(const cs_app_quic *a);

/* Frees a; connections still open are dropped without records (flush first). NULL is fine. */
void cs_app_quic_free(cs_app_quic *a);

#endif
