/* tls_hello.h - the facts of one ClientHello, ServerHello (HelloRetryRequest included) or
 * EncryptedExtensions read from one complete handshake message. Knows nothing of TCP, records or connections: TLS over TCP feeds
 * it messages reassembled from records, QUIC messages reassembled from CRYPTO frames. */
#ifndef CS_TLS_HELLO_H
#define CS_TLS_HELLO_H

#include <stdbool.h>
#include <stdint.h>

/* Handshake message types (RFC 8446 4) that connscope reads. */
enum {
    CS_TLS_HS_HELLO_REQUEST = 0,
    CS_TLS_HS_CLIENT_HELLO = 1,
    CS_TLS_HS_SERVER_HELLO = 2,
    CS_TLS_HS_NEW_SESSION_TICKET = 4,
    CS_TLS_HS_ENCRYPTED_EXTENSIONS = 8,
    CS_TLS_HS_CERTIFICATE = 11,
    CS_TLS_HS_SERVER_KEY_EXCHANGE = 12,
    CS_TLS_HS_FINISHED = 20,
    CS_TLS_HS_KEY_UPDATE = 24
};

/* Extension types read here and by the fingerprints. */
enum {
    CS_TLS_EXT_SNI = 0,
    CS_TLS_EXT_GROUPS = 10,
    CS_TLS_EXT_POINT_FORMATS = 11,
    CS_TLS_EXT_SIGALGS = 13,
    CS_TLS_EXT_ALPN = 16,
    CS_TLS_EXT_ETM = 22,
    CS_TLS_EXT_SESSION_TICKET = 35,
    CS_TLS_EXT_PSK = 41,
    CS_TLS_EXT_EARLY_DATA = 42,
    CS_TLS_EXT_VERSIONS = 43,
    CS_TLS_EXT_KEY_SHARE = 51
};

/* What a hello says. Lists are in wire order with GREASE values removed; when an extension comes
 * twice the last one counts. Strings are NUL-terminated (NUL bytes on the wire become '?'), cut to
 * the buffer, "" when absent. The arrays are owned: release with cs_tls_hello_clear(). */
typedef struct cs_tls_hello {
    uint8_t type;   /* CS_TLS_HS_CLIENT_HELLO, _SERVER_HELLO or _ENCRYPTED_EXTENSIONS */
    bool retry;     /* ServerHello: a HelloRetryRequest (by its random) */
    bool truncated; /* a list or extension was cut short: facts are those read before */
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t session_id[32];
    uint8_t session_id_len;
    uint16_t *exts; /* extension types (both hellos) */
    uint32_t n_exts;
    /* ClientHello */
    uint16_t *ciphers, *groups, *sigalgs, *versions;
    uint8_t *formats; /* ec_point_formats */
    uint32_t n_ciphers, n_groups, n_sigalgs, n_versions, n_formats;
    bool has_sni;          /* server_name present (even empty) */
    bool has_alpn;         /* ClientHello: ALPN present (even empty); else: one protocol chosen */
    char server_name[256]; /* first host_name of server_name */
    char alpn[256];        /* ClientHello: ALPN offered, comma-separated; else: the chosen one,
                                 cut to 63 bytes */
    uint32_t alpn1_len;    /* ClientHello: length of the first ALPN value of the last ALPN ext */
    uint8_t alpn1_first, alpn1_last; /* ... its first and last byte (JA4) */
    bool ticket;                     /* non-empty session_ticket */
    bool early_data;                 /* early_data offered */
    bool etm;                        /* encrypt_then_mac (both hellos) */
    /* ServerHello */
    uint16_t cipher;
    uint16_t selected_version; /* supported_versions, 0 when absent */
    uint16_t key_share_group;  /* key_share group, 0 when absent */
    bool psk;                  /* pre_shared_key accepted (TLS 1.3 resumption) */
} cs_tls_hello;

/* Parses one complete handshake message of `type` (its 4-byte header removed: body[0..len)) into
 * *h, which it zeroes first. Returns true when h holds facts: a ClientHello or ServerHello whose
 * fixed fields (version, random, session id; ServerHello: cipher) are all there, or an
 * EncryptedExtensions (its extension types and chosen ALPN); h->truncated then says whether a
 * later list or extension was cut short. Returns false for another type or a hello cut short
 * before its lists (h holds nothing useful). Either way release h with cs_tls_hello_clear().
 * Reads only body[0..len); allocates the lists. */
bool cs_tls_hello_parse(uint8_t type, const uint8_t *body, uint32_t len, cs_tls_hello *h);

/* Parses an SSLv2-compatible ClientHello (RFC 5246 E.2: the body of its 2-byte-header record)
 * into h (zeroed first): legacy_version, and the challenge (16 to 32 bytes) right-aligned in
 * random as TLS does. Returns false when it is not one or is cut short. Release with
 * cs_tls_hello_clear(). */
bool cs_tls_sslv2_hello_parse(const uint8_t *p, uint32_t len, cs_tls_hello *h);

/* Frees the lists of h and zeroes it. Safe to call twice. */
void cs_tls_hello_clear(cs_tls_hello *h);

/* True when a ServerHello body (len >= 34) carries the HelloRetryRequest random (RFC 8446
 * 4.1.3), without parsing the rest. */
bool cs_tls_is_hello_retry(const uint8_t *body, uint32_t len);

#endif
