/* tls_decrypt.h - TLS record decryption: the NSS key log reader, the TLS 1.0-1.2 PRF and TLS 1.3
 * HKDF-Expand-Label key schedules, and AEAD/CBC record opening with OpenSSL EVP. */
#ifndef CS_TLS_DECRYPT_H
#define CS_TLS_DECRYPT_H

#include <glib.h>

#include "common.h"

/* ---- NSS key log (SSLKEYLOGFILE) ----------------------------------------------------------- */

/* The labels of the key log lines connscope uses (others, e.g. RSA, are skipped). */
typedef enum cs_keylog_label {
    CS_KL_CLIENT_RANDOM,     /* TLS <= 1.2: the 48-byte master secret */
    CS_KL_CLIENT_EARLY,      /* CLIENT_EARLY_TRAFFIC_SECRET (0-RTT; kept, not used) */
    CS_KL_CLIENT_HS,         /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
    CS_KL_SERVER_HS,         /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
    CS_KL_CLIENT_AP0,        /* CLIENT_TRAFFIC_SECRET_0 */
    CS_KL_SERVER_AP0,        /* SERVER_TRAFFIC_SECRET_0 */
    CS_KL_EXPORTER,          /* EXPORTER_SECRET (kept, not used) */
    CS_KL_COUNT
} cs_keylog_label;

#define CS_KEYLOG_SECRET_MAX 64

typedef struct cs_keylog cs_keylog;

/* Bytes read at most from a key log that is not a regular file (a pipe, a device): about 60,000
 * TLS 1.3 sessions. A regular file is read whole. */
#define CS_KEYLOG_MAX_STREAM_BYTES (64u << 20)

/* Reads an NSS key log file (lines "LABEL <64 hex client random> <hex secret>"; '#' comments and
 * blank lines skipped; hex in either case; a later line for the same label and random wins).
 * Returns the table, owned by the caller (cs_keylog_free). Fails (NULL, *err set) when the file
 * cannot be read, is not a regular file and gives more than CS_KEYLOG_MAX_STREAM_BYTES (/dev/zero,
 * a pipe that does not end: it is read only that far), or holds no usable line; malformed lines
 * are skipped and counted. */
cs_keylog *cs_keylog_load(const char *path, GError **err);

/* Same on text in memory (tests). Returns a table, possibly empty. Can't fail. */
cs_keylog *cs_keylog_parse(const char *text, size_t len);

/* Number of secrets held, and of lines skipped as malformed or with an unknown label. */
uint32_t cs_keylog_size(const cs_keylog *kl);
uint32_t cs_keylog_skipped(const cs_keylog *kl);

/* Looks up the secret of `label` for the connection whose ClientHello random is `client_random`.
 * Returns true and points *secret (owned by the table, valid until cs_keylog_free) and *len at it;
 * false when absent (outputs untouched). kl may be NULL (nothing found). */
bool cs_keylog_find(const cs_keylog *kl, cs_keylog_label label, const uint8_t client_random[32],
                    const uint8_t **secret, uint32_t *len);

/* Frees the table (NULL is fine). */
void cs_keylog_free(cs_keylog *kl);

/* ---- cipher suites ------------------------------------------------------------------------- */

typedef enum cs_tls_bulk {
    CS_BULK_NONE,     /* not decryptable here (RC4, 3DES, CCM, NULL, unknown) */
    CS_BULK_AES_GCM,
    CS_BULK_CHACHA,   /* ChaCha20-Poly1305 */
    CS_BULK_AES_CBC   /* AES-CBC with HMAC (MAC-then-encrypt, or encrypt-then-MAC, RFC 7366) */
} cs_tls_bulk;

typedef enum cs_tls_hash { CS_HASH_NONE, CS_HASH_SHA1, CS_HASH_SHA256, CS_HASH_SHA384 } cs_tls_hash;

/* One cipher suite: IANA name and what decryption needs. */
typedef struct cs_tls_suite {
    uint16_t id;
    const char *name;  /* IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    uint8_t bulk;      /* cs_tls_bulk */
    uint8_t key_len;   /* bulk key bytes */
    uint8_t mac;       /* cs_tls_hash of the record HMAC (CBC only) */
    uint8_t prf;       /* cs_tls_hash of the TLS 1.2 PRF / TLS 1.3 HKDF */
    bool tls13;        /* a TLS 1.3 suite (0x13xx) */
} cs_tls_suite;

/* Returns the suite with IANA code `id` from a table of common suites, NULL when unknown. */
const cs_tls_suite *cs_tls_suite_find(uint16_t id);

/* ---- key schedule primitives (exposed for the unit tests) ---------------------------------- */

/* Writes TLS 1.3's HkdfLabel (RFC 8446 7.1: length, "tls13 " + label, context) for an output of
 * out_len bytes into info and returns its length. label must be at most 249 bytes and context_len
 * at most 255 (callers check). Can't fail. */
#define CS_HKDF_LABEL_MAX (2 + 1 + 255 + 1 + 255)
uint32_t cs_tls13_hkdf_label(uint8_t info[CS_HKDF_LABEL_MAX], uint32_t out_len, const char *label,
                             const uint8_t *context, uint32_t context_len);

/* TLS 1.3 HKDF-Expand-Label(secret, "tls13 " + label, context, out_len) (RFC 8446 7.1) with hash
 * `h` (SHA-256 or SHA-384). Returns false on a bad argument (out_len > 255, label too long) or an
 * OpenSSL failure; out is then undefined. */
bool cs_tls13_expand_label(cs_tls_hash h, const uint8_t *secret, uint32_t secret_len,
                           const char *label, const uint8_t *context, uint32_t context_len,
                           uint8_t *out, uint32_t out_len);

/* The TLS PRF (RFC 5246 5; with h == CS_HASH_NONE the TLS 1.0/1.1 MD5 xor SHA-1 PRF of RFC 2246 5):
 * out = PRF(secret, label, seed)[0..out_len). Returns false on an OpenSSL failure or a seed over
 * 128 bytes. */
bool cs_tls_prf(cs_tls_hash h, const uint8_t *secret, uint32_t secret_len, const char *label,
                const uint8_t *seed, uint32_t seed_len, uint8_t *out, uint32_t out_len);

/* ---- record protection --------------------------------------------------------------------- */

/* Largest record payload accepted (RFC 5246 6.2.3: 2^14 + 2048) and the plaintext buffer size a
 * caller of cs_tls_rp_open must provide. */
#define CS_TLS_RECORD_MAX (16384 + 2048)
#define CS_TLS_PLAIN_BUF (CS_TLS_RECORD_MAX + 64)

/* The read state of one direction: cipher context, keys, sequence number. Zero-initialise, set up
 * with one of the init functions, free with cs_tls_rp_clear. */
typedef struct cs_tls_rp {
    void *ctx;                  /* EVP_CIPHER_CTX, allocated once and reused */
    const cs_tls_suite *suite;
    uint16_t version;           /* record protection format: 0x0301..0x0303, or 0x0304 */
    uint8_t key_len, iv_len, mac_len;
    bool ready;
    bool etm;                   /* CBC: encrypt-then-MAC negotiated */
    uint8_t key[32];
    uint8_t iv[16];             /* 1.3/ChaCha: 12-byte IV; GCM 1.2: 4-byte salt; CBC 1.0: IV */
    uint8_t mac_key[48];
    uint8_t secret[48];         /* TLS 1.3: the current traffic secret (for KeyUpdate) */
    uint8_t secret_len;
    uint64_t seq;               /* next record's sequence number */
} cs_tls_rp;

/* TLS 1.3: derives key and IV from a traffic secret (RFC 8446 7.3) and resets the sequence
 * number. Returns false (rp not ready) when the suite is not a decryptable TLS 1.3 suite or the
 * secret length does not match its hash. */
bool cs_tls_rp_init13(cs_tls_rp *rp, const cs_tls_suite *s, const uint8_t *secret,
                      uint32_t secret_len);

/* TLS 1.3 KeyUpdate: next secret = HKDF-Expand-Label(secret, "traffic upd", "", Hash.length), new
 * key and IV, sequence number 0. Returns false if rp was not ready (it then stays not ready). */
bool cs_tls_rp_update13(cs_tls_rp *rp);

/* TLS 1.0-1.2: expands the master secret into the key block (RFC 5246 6.3) and sets up both
 * directions (sequence numbers 0). `version` is the negotiated version (0x0301..0x0303), `etm`
 * whether encrypt_then_mac was negotiated. Returns false (neither ready) when the suite cannot be
 * decrypted here. */
bool cs_tls_rp_init12(cs_tls_rp *client, cs_tls_rp *server, const cs_tls_suite *s,
                      uint16_t version, bool etm, const uint8_t *master, uint32_t master_len,
                      const uint8_t client_random[32], const uint8_t server_random[32]);

/* Opens one protected record: `hdr` is its 5-byte header as on the wire, `in`/`len` its payload.
 * Uses sequence number `seq` (normally rp->seq; the caller advances rp->seq on success). `out` must
 * hold CS_TLS_PLAIN_BUF bytes. On success returns the plaintext (a pointer into out; for TLS 1.3
 * the inner content without padding and type), its length in *plen and the real content type in
 * *type. Returns NULL when the record does not authenticate or is malformed (too short, bad
 * padding, TLS 1.3 plaintext of zeros only); rp is not changed. */
const uint8_t *cs_tls_rp_open(cs_tls_rp *rp, uint64_t seq, const uint8_t hdr[5], const uint8_t *in,
                              uint32_t len, uint8_t *out, uint32_t *plen, uint8_t *type);

/* Bytes a protected record adds to its plaintext at least (explicit nonce, tag, MAC, inner type):
 * used to estimate the plaintext length of a record that could not be opened. */
uint32_t cs_tls_rp_overhead(const cs_tls_rp *rp);

/* Frees the cipher context and wipes the keys; rp is zeroed (reusable). NULL-safe fields. */
void cs_tls_rp_clear(cs_tls_rp *rp);

/* Hex helpers shared with app_tls.c: lower-case MD5 / truncated SHA-256 digests. */
void cs_tls_md5_hex(const void *p, size_t len, char out[33]);
void cs_tls_sha256_hex(const void *p, size_t len, char out[65]);

#endif
