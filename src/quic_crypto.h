/* quic_crypto.h - QUIC packet protection (RFC 9001 section 5, RFC 9369 section 3.3): the versions we
 * know, Initial secrets, HKDF key derivation (OpenSSL EVP_KDF), AEAD opening and header masks (EVP). */
#ifndef CS_QUIC_CRYPTO_H
#define CS_QUIC_CRYPTO_H

#include "common.h"

/* ---- versions ------------------------------------------------------------------------------ */

#define CS_QUIC_V1 0x00000001u
#define CS_QUIC_V2 0x6b3343cfu

/* What a version number means to connscope. */
typedef enum cs_quic_vkind {
    CS_QVK_UNKNOWN, /* not a version we can read beyond the invariant header (RFC 8999) */
    CS_QVK_NEGOTIATION /* 0: Version Negotiation */,
    CS_QVK_V1, /* v1 and the drafts/variants that share its packet types */
    CS_QVK_V2  /* RFC 9369: other long packet type numbers and labels */
} cs_quic_vkind;

/* A known version: its Initial salt, labels and Retry integrity key. */
typedef struct cs_quic_version {
    uint32_t number;
    uint8_t kind;               /* cs_quic_vkind */
    bool retry_tag;             /* Retry packets end in an integrity tag (draft 25 and later) */
    const uint8_t *salt;        /* 20 bytes; NULL for the reserved versions (no keys) */
    const uint8_t *retry_key;   /* 16 bytes (NULL when !retry_tag) */
    const uint8_t *retry_nonce; /* 12 bytes */
    const char *label_prefix;   /* "quic " or "quicv2 " */
} cs_quic_version;

/* Returns the description of version `v`, or NULL when connscope cannot read its long headers
 * (unknown, or 0 = Version Negotiation). Known: v1, v2 (RFC 9369), drafts 23 to 34, Facebook mvfst
 * 0xfaceb002/0xfaceb00e (draft 27 keys), and the reserved 0x?a?a?a?a versions that force Version
 * Negotiation (RFC 9000 15: read with v1's layout; their `salt` is NULL: nothing opens). Can't
 * fail. */
const cs_quic_version *cs_quic_version_find(uint32_t v);

/* Writes the name of version `v` as Zeek's quic.log does ("1", "quicv2", "draft-29", "mvfst
 * (faceb002)", else "unknown-<hex>") into buf (at least 24 bytes). Returns buf. */
char *cs_quic_version_name(uint32_t v, char *buf, size_t len);

/* ---- keys ---------------------------------------------------------------------------------- */

typedef enum cs_quic_aead {
    CS_QAEAD_AES128GCM,
    CS_QAEAD_AES256GCM,
    CS_QAEAD_CHACHA20,
    CS_QAEAD_COUNT
} cs_quic_aead;

/* The packet protection keys of one direction at one encryption level. */
typedef struct cs_quic_keys {
    uint8_t key[32];
    uint8_t iv[12];
    uint8_t hp[32];
    uint8_t aead; /* cs_quic_aead */
    bool ready;
} cs_quic_keys;

/* Reusable OpenSSL state (KDF and cipher contexts with their last keys): one per thread. */
typedef struct cs_quic_crypto cs_quic_crypto;

/* Creates the state. Returns NULL (with nothing allocated) when OpenSSL lacks HKDF, AES-GCM,
 * AES-ECB or ChaCha20 (then no QUIC packet can be opened). */
cs_quic_crypto *cs_quic_crypto_new(void);

/* Frees the state (NULL is fine). */
void cs_quic_crypto_free(cs_quic_crypto *qc);

/* HKDF-Extract(salt, ikm) with SHA-256 (RFC 5869 2.2) into prk (32 bytes). Returns false on an
 * OpenSSL failure. */
bool cs_quic_hkdf_extract(cs_quic_crypto *qc, const uint8_t *salt, uint32_t salt_len,
                          const uint8_t *ikm, uint32_t ikm_len, uint8_t prk[32]);

/* TLS 1.3 HKDF-Expand-Label(secret, label, "", out_len) (RFC 8446 7.1) with SHA-256 (sha384
 * false) or SHA-384. `label` is the full label without the "tls13 " prefix ("client in", "quic
 * key", "quicv2 hp"). Returns false on a bad length or an OpenSSL failure. */
bool cs_quic_expand_label(cs_quic_crypto *qc, bool sha384, const uint8_t *secret,
                          uint32_t secret_len, const char *label, uint8_t *out, uint32_t out_len);

/* Derives both directions' Initial keys (RFC 9001 5.2) for version `ver` from the client's first
 * Destination Connection ID. Returns false (keys not ready) on an OpenSSL failure. */
bool cs_quic_initial_keys(cs_quic_crypto *qc, const cs_quic_version *ver, const uint8_t *dcid,
                          uint32_t dcid_len, cs_quic_keys *client, cs_quic_keys *server);

/* Derives key, IV and header protection key from a TLS traffic secret (RFC 9001 5.1) for `aead`
 * (SHA-384 when AES-256-GCM, else SHA-256) with the labels of `ver`. Returns false (k not ready)
 * when the secret length does not fit the hash or OpenSSL fails. */
bool cs_quic_keys_from_secret(cs_quic_crypto *qc, const cs_quic_version *ver, cs_quic_aead aead,
                              const uint8_t *secret, uint32_t secret_len, cs_quic_keys *k);

/* ---- packet protection --------------------------------------------------------------------- */

/* The 5-byte header protection mask for `sample` (16 bytes) (RFC 9001 5.4.3/5.4.4). Returns false
 * on an OpenSSL failure or keys that are not ready. */
bool cs_quic_hp_mask(cs_quic_crypto *qc, const cs_quic_keys *k, const uint8_t sample[16],
                     uint8_t mask[5]);

/* Opens a protected payload (RFC 9001 5.3): nonce = iv xor packet number, associated data = the
 * unprotected header `ad`/`ad_len`, `ct`/`ct_len` the ciphertext including the 16-byte tag.
 * Writes ct_len - 16 bytes of plaintext to `out` (which may not overlap ct). Returns false when the
 * payload does not authenticate, is shorter than the tag, or the keys are not ready. */
bool cs_quic_aead_open(cs_quic_crypto *qc, const cs_quic_keys *k, uint64_t pn, const uint8_t *ad,
                       uint32_t ad_len, const uint8_t *ct, uint32_t ct_len, uint8_t *out);

/* Checks the Retry Integrity Tag (RFC 9001 5.8) of the Retry packet `pkt`/`len` (tag included) sent
 * in answer to an Initial whose Destination Connection ID was `odcid`. Returns true when the tag
 * is right; false when it is wrong, the packet is shorter than the tag, or the version has none. */
bool cs_quic_retry_valid(cs_quic_crypto *qc, const cs_quic_version *ver, const uint8_t *odcid,
                         uint32_t odcid_len, const uint8_t *pkt, uint32_t len);

#endif
