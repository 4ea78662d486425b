/* tls_conn.h - private to the TLS-over-TCP files (app_tls.c, tls_record.c, tls_keys.c): the state of
 * one connection and the calls between its layers. Other layers use app_tls.h; QUIC uses the
 * independent parts (tls_hello.h, tls_fingerprint.h, tls_handshake.h, tls_names.h). */
#ifndef CS_TLS_CONN_H
#define CS_TLS_CONN_H

#include "app_tls.h"
#include "tls_handshake.h"

#define TLS_HS_MAX (64 * 1024)     /* largest handshake message kept (longer: skipped, counted) */
#define TLS_RESYNC_MAX (64 * 1024) /* bytes searched for a record header after a gap */
#define TLS_SEQ_TRIALS 1024        /* sequence numbers tried to reopen records after a gap */

/* Record content types (RFC 8446 5.1). */
enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23, CT_HEARTBEAT = 24 };

/* Framing state of a direction. */
enum dstate { D_START, D_SSL2, D_RECORDS, D_RESYNC, D_STOPPED };
/* TLS 1.3 read keys of a direction. */
enum epoch { EP_CLEAR, EP_HANDSHAKE, EP_APP };

/* One direction: record framing (tls_record.c), handshake messages, read protection (tls_keys.c). */
typedef struct tdir {
    /* record framing */
    uint8_t state;  /* enum dstate */
    uint8_t hdr[5]; /* record header being assembled / of the current record */
    uint8_t hdr_len;
    bool skipping;        /* current record body not buffered (over the cap) */
    bool lost;            /* current record lost bytes in a gap */
    bool at_gap_edge;     /* D_RESYNC: the next byte is the first after a gap */
    uint16_t rec_version; /* record-layer version of the latest record (resync plausibility) */
    uint32_t body_len, body_have;
    uint8_t *buf; /* record body (records spanning segments); grows up to the cap */
    uint32_t buf_cap;
    uint32_t resync_scanned;
    /* handshake messages */
    cs_tls_msgs hs;
    bool hs_decrypted; /* the handshake bytes being assembled came from decrypted records */
    /* protection */
    bool ccs;            /* TLS <= 1.2: ChangeCipherSpec sent, later records protected */
    bool seen_protected; /* a protected record was sent (TLS 1.3 estimate without keys) */
    bool dec_lost;       /* decryption gave up on this direction (renegotiation) */
    bool seq_unknown;    /* after a gap: next sequence number found by trial */
    bool fail_reported;  /* decrypt failure anomaly raised once per direction */
    uint8_t alt_tries;   /* TLS 1.3: records tried with application keys in the handshake */
    uint8_t fail_streak; /* records that failed every trial while the sequence was unknown */
    uint8_t epoch;       /* TLS 1.3: enum epoch of the read keys */
    uint64_t lost_bytes; /* bytes lost since the last record opened (bounds seq trials) */
    cs_tls_rp rp;        /* read protection (keys of the current epoch) */
} tdir;

struct cs_tls_conn {
    const cs_tls_cfg *cfg;
    tdir d[2]; /* [0] client, [1] server */
    uint8_t client_random[32], server_random[32];
    uint8_t ch_sid[32];
    uint8_t ch_sid_len;
    bool have_client_random;
    bool ch_ticket;     /* ClientHello carried a non-empty session ticket */
    bool ch_etm;        /* ClientHello offered encrypt_then_mac */
    bool ch_early_data; /* ClientHello offered early data (0-RTT) */
    bool tls13;         /* TLS 1.3 (or a draft) negotiated */
    bool zccs[2];       /* Zeek: CCS seen per side (TLS <= 1.2) */
    bool z_client_app;  /* Zeek TLS 1.3 established heuristic */
    uint8_t z_server_app;
    uint8_t n_client_hellos;
    int8_t last_app_dir; /* exchange estimate: side of the last application record, -1 */
    cs_time_t last_client_app_ts;
    cs_q50 turn_q; /* estimated turn times (us), for their median */
    const cs_tls_suite *suite;
    uint8_t *plain; /* decryption output, CS_TLS_PLAIN_BUF bytes, allocated with keys */
    cs_tls_rp alt;  /* scratch read state for trial decryption with the next keys */
    bool keys_found;
    bool unsupported;
    bool early_reported;
    uint64_t dec_missing; /* protected records not tried: no key for them (partial key log) */
    cs_tls_summary sum;   /* ja3/ja3s owned here; copied out by cs_tls_finish */
};

/* ---- app_tls.c: the connection ------------------------------------------------------------- */

/* Counts anomaly a on the connection and hands it to the sink. */
void tls_anomaly(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, cs_anomaly a);

/* One whole record of direction dir: hdr[0..5), body[0..len) (NULL when its bytes were not kept:
 * a gap, or over the cap). */
void tls_process_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                        const uint8_t *hdr, const uint8_t *body, uint32_t len, cs_time_t ts);

/* An SSLv2-compatible ClientHello record body (RFC 5246 E.2). */
void tls_sslv2_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, const uint8_t *p,
                     uint32_t len, cs_time_t ts);

/* The stream of direction dir broke (gap): a handshake message in progress is lost. */
void tls_hs_reset(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir);

/* Plaintext that cannot be delivered: tells the sink (len 0: nothing). */
void tls_plaintext_gap(const cs_tls_sink *sink, const cs_conn *c, int dir, uint32_t len,
                       cs_time_t ts);

/* ---- tls_keys.c: key log lookups and trial decryption ---------------------------------------- */

/* After the ServerHello: looks the client random up in the key log and prepares read states
 * (anomalies for missing keys or an unsupported suite). */
void tls_setup_keys(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c);

/* TLS 1.3: the read keys of direction dir move to the application traffic secret. */
void tls_enter_app_epoch(cs_tls_conn *t, int dir);

/* Opens a protected record of direction dir (by trial of nearby sequence numbers after a gap;
 * TLS 1.3 in the handshake epoch also tries the application keys). Returns the plaintext (in
 * t->plain) with its length and inner type, or NULL. */
const uint8_t *tls_open_record(cs_tls_conn *t, int dir, const uint8_t *hdr, const uint8_t *body,
                               uint32_t len, uint32_t *plen, uint8_t *type);

#endif
