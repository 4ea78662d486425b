/* app_tls.h - the TLS layer of one connection: record reassembly, handshake facts (SNI, ALPN,
 * version, cipher, resumption, alerts), JA3/JA3S/JA4, key-log decryption, exchange estimate. */
#ifndef CS_APP_TLS_H
#define CS_APP_TLS_H

#include "anomaly.h"
#include "exsum.h"
#include "flow.h"
#include "tls_decrypt.h"
#include "tls_names.h"

typedef struct cs_tls_cfg {
    const struct cs_keylog *keylog; /* NULL without --tls-keylog */
} cs_tls_cfg;

typedef struct cs_tls_sink {
    void *ctx;
    /* decrypted application data (TLS 1.2/1.3 with keys), in order, with the capture time of the
     * TCP segment that completed the record */
    void (*plaintext)(void *ctx, const cs_conn *c, bool from_client, const uint8_t *p, uint32_t len,
                      cs_time_t ts);
    /* plaintext that cannot be delivered (capture gap, record that failed to decrypt); len is an
     * estimate (ciphertext bytes minus the record overhead) */
    void (*plaintext_gap)(void *ctx, const cs_conn *c, bool from_client, uint32_t len,
                          cs_time_t ts);
    void (*anomaly)(void *ctx, const cs_conn *c, cs_anomaly a);
} cs_tls_sink;

typedef enum cs_tls_dec_status {
    CS_TLS_DEC_NONE,        /* no key log configured */
    CS_TLS_DEC_OK,          /* keys found, every protected record opened */
    CS_TLS_DEC_FAILED,      /* keys found, no record authenticated */
    CS_TLS_DEC_NO_KEYS,     /* key log configured, no secret for this client random (or no hello) */
    CS_TLS_DEC_PARTIAL,     /* some records opened, others failed or were lost in gaps */
    CS_TLS_DEC_UNSUPPORTED  /* keys found, but the cipher suite is not decryptable here */
} cs_tls_dec_status;

typedef enum cs_tls_resumed {
    CS_TLS_RES_NONE,
    CS_TLS_RES_SESSION_ID,  /* TLS <= 1.2: ServerHello echoed the client's session id */
    CS_TLS_RES_TICKET,      /* ... and the client had offered a session ticket (RFC 5077) */
    CS_TLS_RES_PSK          /* TLS 1.3: pre_shared_key in the ServerHello */
} cs_tls_resumed;

#define CS_TLS_MAX_VERSIONS 16
#define CS_TLS_MAX_TURNS 32 /* turn times kept individually (count/sum/min/max cover all) */

/* Facts of one TLS connection. Index [0] is the client, [1] the server. Times are capture times in
 * ns, -1 when not seen. Strings are NUL-terminated; "" when absent. ja3 and ja3s are owned (NULL
 * when absent): release with cs_tls_summary_clear(). */
typedef struct cs_tls_summary {
    bool client_hello;            /* a ClientHello was parsed */
    bool server_hello;            /* a ServerHello (not a HelloRetryRequest) was parsed */
    bool sslv2_hello;             /* the client started with an SSLv2-compatible ClientHello */
    bool hello_retry;             /* TLS 1.3 HelloRetryRequest seen */
    bool established;             /* Zeek ssl.log `established` */
    bool resumed;                 /* Zeek ssl.log `resumed` */
    uint8_t resumed_how;          /* cs_tls_resumed */
    bool ticket_issued;           /* NewSessionTicket seen (plaintext in 1.2, decrypted in 1.3) */
    char server_name[256];        /* SNI host_name (Zeek server_name) */
    char alpn_offered[256];       /* client ALPN list, comma-separated */
    char next_protocol[64];       /* ALPN chosen: ServerHello, or EncryptedExtensions (1.3, keys) */
    uint16_t client_version;      /* ClientHello legacy_version */
    uint16_t offered_versions[CS_TLS_MAX_VERSIONS]; /* supported_versions, GREASE excluded */
    uint8_t n_offered_versions;
    uint16_t version;             /* negotiated: ServerHello supported_versions, else its version */
    char version_name[24];        /* Zeek style: "TLSv12", "TLSv13", "TLSv13-draft23", "SSLv3" */
    uint16_t cipher;              /* chosen suite (valid when server_hello) */
    char cipher_name[64];         /* IANA name, or "0x%04x" when not in the table */
    char curve[24];               /* Zeek `curve`: key_share group (1.3), ECDHE named curve (1.2) */
    uint64_t records[2];          /* TLS records per direction */
    uint64_t app_records[2];      /* application data records (decrypted: real; else estimated) */
    uint64_t app_bytes[2];        /* their payload bytes as on the wire (ciphertext) */
    uint64_t plain_bytes[2];      /* decrypted application bytes delivered to the sink */
    cs_time_t client_hello_ts, server_hello_ts;
    cs_time_t first_app_ts[2];
    cs_time_t handshake_ns;       /* ClientHello to the first application data either way, -1 */
    uint32_t alerts[2];           /* alert records per direction (encrypted ones included) */
    int16_t alert_level, alert_desc; /* first alert readable (plain or decrypted), -1 if none */
    bool alert_from_client;
    char last_alert[40];          /* Zeek `last_alert`: description of the last readable alert */
    char history[101];            /* Zeek `ssl_history` (plaintext messages; capital = client) */
    char *ja3;                    /* JA3 string, owned */
    char ja3_md5[33];
    char *ja3s;                   /* JA3S string, owned */
    char ja3s_md5[33];
    char ja4[40];                 /* e.g. t13d1516h2_8daaf6152771_e5627efa2ab1 */
    uint8_t dec_status;           /* cs_tls_dec_status */
    uint64_t dec_records;         /* protected records opened */
    uint64_t dec_failed;          /* protected records that failed to authenticate */
    /* Exchange estimate (works without keys): client->server application data bursts each
     * followed by a server burst. turn = time from the last record of a client burst to the first
     * server record after it. */
    uint32_t estimated_exchanges;
    cs_time_t turn_min, turn_max, turn_sum;   /* -1 when no exchange */
    uint32_t n_turns;                         /* kept in turns[] (the first CS_TLS_MAX_TURNS) */
    cs_time_t turns[CS_TLS_MAX_TURNS];
    uint64_t turn_p50_us; /* median of all turns (cs_q50), 0 when none */
    /* parsing health */
    uint32_t gaps[2];             /* gap events per direction */
    uint64_t gap_bytes[2];
    uint32_t resyncs;             /* successful resynchronisations after gaps */
    bool stopped[2];              /* a direction was given up (bad header, no resync) */
    uint32_t record_cap_hits, hs_cap_hits;
    uint32_t anomalies;           /* TLS anomalies raised on this connection */
    uint32_t anomaly_count[CS_ANOM_TLS_LAST - CS_ANOM_TLS_FIRST + 1]; /* per kind: use
                                                                   cs_tls_anomaly_count() */
} cs_tls_summary;

typedef struct cs_tls_conn cs_tls_conn;

/* Creates the TLS state of one connection. cfg (and its keylog) must outlive it. Can't fail
 * (aborts on OOM). */
cs_tls_conn *cs_tls_new(const cs_tls_cfg *cfg);

/* Feeds reassembled bytes sent by the client (from_client) or the server, with the capture time of
 * the segment that carried them. Records may span calls; nothing here keeps a pointer to p. */
void cs_tls_data(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                 const uint8_t *p, uint32_t len, cs_time_t ts);

/* `len` bytes are missing from one direction. Inside a record the record is dropped and framing
 * kept; otherwise the direction resynchronises on the next plausible record header (or is given up
 * after 64 KiB without one). Decryption resumes by trial of nearby sequence numbers. */
void cs_tls_gap(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                uint32_t len, cs_time_t ts);

/* One direction ended (FIN reached, RST, or finalised). A record cut short is counted. */
void cs_tls_end(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                cs_time_t ts);

/* The connection is over: fills *sum (the caller releases it with cs_tls_summary_clear). t stays
 * valid until cs_tls_free(); calling it twice gives the same facts. */
void cs_tls_finish(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, cs_tls_summary *sum);

/* Frees the connection state (NULL is fine). */
void cs_tls_free(cs_tls_conn *t);

/* Frees the owned strings of a summary and zeroes it. Can't fail. */
void cs_tls_summary_clear(cs_tls_summary *sum);

/* Content detection on the first bytes a client sent: 1 = a TLS handshake record holding a
 * ClientHello, or an SSLv2-compatible ClientHello; 0 = not; -1 = need more bytes (at most 6). */
int cs_tls_detect(const uint8_t *p, uint32_t len);

/* How often anomaly a (one of the TLS anomalies of anomaly.h) was raised on the connection of s;
 * 0 for any other anomaly. */
uint32_t cs_tls_anomaly_count(const cs_tls_summary *s, cs_anomaly a);

/* Name of a decryption status: "none", "ok", "failed", "no_keys", "partial", "unsupported".
 * (Names of versions, alerts and groups: tls_names.h.) */
const char *cs_tls_dec_status_name(cs_tls_dec_status s);

#endif
