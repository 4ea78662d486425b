/* quic_crypto.c - QUIC versions, Initial secrets and packet protection with OpenSSL: HKDF through
 * EVP_KDF, AES-GCM/ChaCha20-Poly1305 through EVP AEAD, header masks through AES-ECB/ChaCha20. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "quic_crypto.h"
#include "tls_decrypt.h"

/* ---- versions ------------------------------------------------------------------------------ */

/* Initial salts and Retry integrity keys: RFC 9001 5.2/5.8, RFC 9369 3.3, and the drafts
 * (draft-ietf-quic-tls-23..34). */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
static const uint8_t salt_d29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                     0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
static const uint8_t salt_d23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                     0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
static const uint8_t rkey_v1[16] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                    0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
static const uint8_t rnonce_v1[12] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63,
                                      0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
static const uint8_t rkey_v2[16] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                    0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
static const uint8_t rnonce_v2[12] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c,
                                      0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};
static const uint8_t rkey_d29[16] = {0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0,
                                     0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b, 0xe1};
static const uint8_t rnonce_d29[12] = {0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21,
                                       0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c};
static const uint8_t rkey_d25[16] = {0x4d, 0x32, 0xec, 0xdb, 0x2a, 0x21, 0x33, 0xc8,
                                     0x41, 0xe4, 0x04, 0x3d, 0xf2, 0x7d, 0x44, 0x30};
static const uint8_t rnonce_d25[12] = {0x4d, 0x16, 0x11, 0xd0, 0x55, 0x13,
                                       0xa5, 0x52, 0xc5, 0x87, 0xd5, 0x75};

#define V1LIKE(num, salt, tag, key, nonce)                                                         \
    {                                                                                              \
        num, CS_QVK_V1, tag, salt, key, nonce, "quic "                                             \
    }
static const cs_quic_version versions[] = {
    V1LIKE(CS_QUIC_V1, salt_v1, true, rkey_v1, rnonce_v1),
    {CS_QUIC_V2, CS_QVK_V2, true, salt_v2, rkey_v2, rnonce_v2, "quicv2 "},
    V1LIKE(0xff000022u, salt_v1, true, rkey_v1, rnonce_v1),    /* draft-34 */
    V1LIKE(0xff000021u, salt_v1, true, rkey_v1, rnonce_v1),    /* draft-33 */
    V1LIKE(0xff000020u, salt_d29, true, rkey_d29, rnonce_d29), /* draft-32 */
    V1LIKE(0xff00001fu, salt_d29, true, rkey_d29, rnonce_d29), /* draft-31 */
    V1LIKE(0xff00001eu, salt_d29, true, rkey_d29, rnonce_d29), /* draft-30 */
    V1LIKE(0xff00001du, salt_d29, true, rkey_d29, rnonce_d29), /* draft-29 */
    V1LIKE(0xff00001cu, salt_d23, true, rkey_d25, rnonce_d25), /* draft-28 */
    V1LIKE(0xff00001bu, salt_d23, true, rkey_d25, rnonce_d25), /* draft-27 */
    V1LIKE(0xff00001au, salt_d23, true, rkey_d25, rnonce_d25), /* draft-26 */
    V1LIKE(0xff000019u, salt_d23, true, rkey_d25, rnonce_d25), /* draft-25 */
    V1LIKE(0xff000018u, salt_d23, false, NULL, NULL),          /* draft-24 */
    V1LIKE(0xff000017u, salt_d23, false, NULL, NULL),          /* draft-23 */
    V1LIKE(0xfaceb002u, salt_d23, true, rkey_d25, rnonce_d25), /* mvfst (draft-27) */
    V1LIKE(0xfaceb00eu, salt_d23, true, rkey_d25, rnonce_d25), /* mvfst (experimental) */
};

/* Versions 0x?a?a?a?a are reserved to exercise Version Negotiation (RFC 9000 15): packets take
 * v1's long header layout as far as anyone can tell (Wireshark reads them so), none can be opened. */
static const cs_quic_version grease = {0, CS_QVK_V1, false, NULL, NULL, NULL, "quic "};

const cs_quic_version *cs_quic_version_find(uint32_t v)
{
    if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au)
        return &grease;
    for (size_t i = 0; i < CS_ARRAY_LEN(versions); i++)
        if (versions[i].number == v)
            return &versions[i];
    return NULL;
}

char *cs_quic_version_name(uint32_t v, char *buf, size_t len)
{
    if (v == CS_QUIC_V1)
        snprintf(buf, len, "1");
    else if (v == CS_QUIC_V2)
        snprintf(buf, len, "quicv2");
    else if ((v >> 8) == 0xff0000u)
        snprintf(buf, len, "draft-%02u", v & 0xffu);
    else if ((v >> 8) == 0xfaceb0u)
        snprintf(buf, len, "mvfst (%08x)", v);
    else
        snprintf(buf, len, "unknown-%x", v);
    return buf;
}

/* ---- OpenSSL state ------------------------------------------------------------------------- */

/* A cipher context with the key it was last given, so that packets under the same keys skip the
 * key schedule. */
typedef struct qc_cipher {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
    uint8_t key[32];
    bool keyed;
} qc_cipher;

/* HKDF contexts set up once with their digest and mode (fetching the digest by name on every
 * derivation was a fifth of the QUIC layer's time): extract with SHA-256, expand with SHA-256 and
 * with SHA-384. */
enum { KDF_EXTRACT, KDF_EXPAND256, KDF_EXPAND384, KDF_COUNT };

struct cs_quic_crypto {
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx[KDF_COUNT];
    qc_cipher aead[CS_QAEAD_COUNT]; /* AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 */
    qc_cipher hp[CS_QAEAD_COUNT];   /* AES-128-ECB, AES-256-ECB, ChaCha20 */
};

static const char *const aead_names[CS_QAEAD_COUNT] = {"AES-128-GCM", "AES-256-GCM",
                                                       "ChaCha20-Poly1305"};
static const char *const hp_names[CS_QAEAD_COUNT] = {"AES-128-ECB", "AES-256-ECB", "ChaCha20"};
static const uint8_t key_lens[CS_QAEAD_COUNT] = {16, 32, 32};

static bool cipher_init(qc_cipher *c, const char *name)
{
    c->cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    c->ctx = EVP_CIPHER_CTX_new();
    return c->cipher != NULL && c->ctx != NULL;
}

static void cipher_free(qc_cipher *c)
{
    EVP_CIPHER_CTX_free(c->ctx);
    EVP_CIPHER_free(c->cipher);
}

cs_quic_crypto *cs_quic_crypto_new(void)
{
    cs_quic_crypto *qc = calloc(1, sizeof *qc);
    if (qc == NULL)
        return NULL;
    qc->kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    bool ok = qc->kdf != NULL;
    for (int i = 0; ok && i < KDF_COUNT; i++) {
        char digest[8];
        int mode = i == KDF_EXTRACT ? EVP_KDF_HKDF_MODE_EXTRACT_ONLY
                                    : EVP_KDF_HKDF_MODE_EXPAND_ONLY;
        memcpy(digest, i == KDF_EXPAND384 ? "SHA384" : "SHA256", 7);
        OSSL_PARAM params[3] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                                OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
                                OSSL_PARAM_construct_end()};
        qc->kctx[i] = EVP_KDF_CTX_new(qc->kdf);
        ok = qc->kctx[i] != NULL && EVP_KDF_CTX_set_params(qc->kctx[i], params) == 1;
    }
    for (int i = 0; i < CS_QAEAD_COUNT; i++) {
        ok = cipher_init(&qc->aead[i], aead_names[i]) && ok;
        ok = cipher_init(&qc->hp[i], hp_names[i]) && ok;
    }
    if (!ok) {
        cs_quic_crypto_free(qc);
        return NULL;
    }
    return qc;
}

void cs_quic_crypto_free(cs_quic_crypto *qc)
{
    if (qc == NULL)
        return;
    for (int i = 0; i < CS_QAEAD_COUNT; i++) {
        cipher_free(&qc->aead[i]);
        cipher_free(&qc->hp[i]);
    }
    for (int i = 0; i < KDF_COUNT; i++)
        EVP_KDF_CTX_free(qc->kctx[i]);
    EVP_KDF_free(qc->kdf);
    OPENSSL_cleanse(qc, sizeof *qc);
    free(qc);
}

/* ---- HKDF ---------------------------------------------------------------------------------- */

/* One HKDF call on context `which` (its digest and mode set at creation): `key` is the input
 * keying material (extract) or the PRK (expand); salt for extract, info for expand. */
static bool hkdf(cs_quic_crypto *qc, int which, const uint8_t *key, uint32_t key_len,
                 const uint8_t *salt, uint32_t salt_len, const uint8_t *info, uint32_t info_len,
                 uint8_t *out, uint32_t out_len)
{
    OSSL_PARAM params[4];
    OSSL_PARAM *p = params;
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt != NULL)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info != NULL)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    return EVP_KDF_derive(qc->kctx[which], out, out_len, params) == 1;
}

bool cs_quic_hkdf_extract(cs_quic_crypto *qc, const uint8_t *salt, uint32_t salt_len,
                          const uint8_t *ikm, uint32_t ikm_len, uint8_t prk[32])
{
    return hkdf(qc, KDF_EXTRACT, ikm, ikm_len, salt, salt_len, NULL, 0, prk, 32);
}

bool cs_quic_expand_label(cs_quic_crypto *qc, bool sha384, const uint8_t *secret,
                          uint32_t secret_len, const char *label, uint8_t *out, uint32_t out_len)
{
    size_t label_len = strlen(label);
    if (label_len + 6 > 255 || out_len > 255 || out_len == 0)
        return false;
    uint8_t info[CS_HKDF_LABEL_MAX];
    uint32_t n = cs_tls13_hkdf_label(info, out_len, label, NULL, 0);
    return hkdf(qc, sha384 ? KDF_EXPAND384 : KDF_EXPAND256, secret, secret_len, NULL, 0, info, n,
                out, out_len);
}

/* key, iv and hp from one traffic secret with the labels of `ver` (RFC 9001 5.1, RFC 9369 3.3.2). */
static bool derive_keys(cs_quic_crypto *qc, const cs_quic_version *ver, cs_quic_aead aead,
                        const uint8_t *secret, uint32_t secret_len, cs_quic_keys *k)
{
    bool sha384 = aead == CS_QAEAD_AES256GCM;
    const char *pre = ver != NULL ? ver->label_prefix : "quic ";
    char label[32];
    k->ready = false;
    k->aead = (uint8_t)aead;
    snprintf(label, sizeof label, "%skey", pre);
    if (!cs_quic_expand_label(qc, sha384, secret, secret_len, label, k->key, key_lens[aead]))
        return false;
    snprintf(label, sizeof label, "%siv", pre);
    if (!cs_quic_expand_label(qc, sha384, secret, secret_len, label, k->iv, 12))
        return false;
    snprintf(label, sizeof label, "%shp", pre);
    if (!cs_quic_expand_label(qc, sha384, secret, secret_len, label, k->hp, key_lens[aead]))
        return false;
    k->ready = true;
    return true;
}

bool cs_quic_initial_keys(cs_quic_crypto *qc, const cs_quic_version *ver, const uint8_t *dcid,
                          uint32_t dcid_len, cs_quic_keys *client, cs_quic_keys *server)
{
    uint8_t initial[32], secret[32];
    client->ready = server->ready = false;
    bool ok = cs_quic_hkdf_extract(qc, ver->salt, 20, dcid, dcid_len, initial) &&
              cs_quic_expand_label(qc, false, initial, 32, "client in", secret, 32) &&
              derive_keys(qc, ver, CS_QAEAD_AES128GCM, secret, 32, client) &&
              cs_quic_expand_label(qc, false, initial, 32, "server in", secret, 32) &&
              derive_keys(qc, ver, CS_QAEAD_AES128GCM, secret, 32, server);
    OPENSSL_cleanse(initial, sizeof initial);
    OPENSSL_cleanse(secret, sizeof secret);
    return ok;
}

bool cs_quic_keys_from_secret(cs_quic_crypto *qc, const cs_quic_version *ver, cs_quic_aead aead,
                              const uint8_t *secret, uint32_t secret_len, cs_quic_keys *k)
{
    k->ready = false;
    if ((unsigned)aead >= CS_QAEAD_COUNT || secret_len != (aead == CS_QAEAD_AES256GCM ? 48u : 32u))
        return false;
    return derive_keys(qc, ver, aead, secret, secret_len, k);
}

/* ---- packet protection --------------------------------------------------------------------- */

/* Loads `key` into c unless it is the key c already holds. */
static bool cipher_key(qc_cipher *c, const uint8_t *key, uint32_t key_len, bool encrypt)
{
    if (c->keyed && memcmp(c->key, key, key_len) == 0)
        return true;
    c->keyed = false;
    int ok = encrypt ? EVP_EncryptInit_ex2(c->ctx, c->cipher, key, NULL, NULL)
                     : EVP_DecryptInit_ex2(c->ctx, c->cipher, key, NULL, NULL);
    if (ok != 1)
        return false;
    if (!encrypt)
        c->keyed = true;
    else
        c->keyed = EVP_CIPHER_CTX_set_padding(c->ctx, 0) == 1;
    memcpy(c->key, key, key_len);
    return c->keyed;
}

bool cs_quic_hp_mask(cs_quic_crypto *qc, const cs_quic_keys *k, const uint8_t sample[16],
                     uint8_t mask[5])
{
    if (!k->ready || k->aead >= CS_QAEAD_COUNT)
        return false;
    qc_cipher *c = &qc->hp[k->aead];
    int n = 0;
    if (k->aead == CS_QAEAD_CHACHA20) {
        /* RFC 9001 5.4.4: counter = sample[0..3] (little endian), nonce = sample[4..15]; OpenSSL's
         * ChaCha20 IV is exactly that 16-byte block. The mask is the keystream over 5 zeros. */
        static const uint8_t zeros[5];
        c->keyed = false;
        return EVP_EncryptInit_ex2(c->ctx, c->cipher, k->hp, sample, NULL) == 1 &&
               EVP_EncryptUpdate(c->ctx, mask, &n, zeros, 5) == 1 && n == 5;
    }
    uint8_t block[16 + 16];
    if (!cipher_key(c, k->hp, key_lens[k->aead], true) ||
        EVP_EncryptUpdate(c->ctx, block, &n, sample, 16) != 1 || n != 16)
        return false;
    memcpy(mask, block, 5);
    return true;
}

/* Runs one AEAD decryption: nonce, AAD pieces, ciphertext, tag. */
static bool aead_run(qc_cipher *c, const uint8_t *key, uint32_t key_len, const uint8_t nonce[12],
                     const uint8_t *const ad[], const uint32_t ad_len[], int n_ad,
                     const uint8_t *ct, uint32_t ct_len, const uint8_t tag[16], uint8_t *out)
{
    int n = 0;
    if (!cipher_key(c, key, key_len, false) ||
        EVP_DecryptInit_ex2(c->ctx, NULL, NULL, nonce, NULL) != 1)
        return false;
    for (int i = 0; i < n_ad; i++)
        if (ad_len[i] > 0 && EVP_DecryptUpdate(c->ctx, NULL, &n, ad[i], (int)ad_len[i]) != 1)
            return false;
    if (ct_len > 0 && EVP_DecryptUpdate(c->ctx, out, &n, ct, (int)ct_len) != 1)
        return false;
    if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) != 1)
        return false;
    uint8_t fin[16];
    return EVP_DecryptFinal_ex(c->ctx, fin, &n) == 1;
}

bool cs_quic_aead_open(cs_quic_crypto *qc, const cs_quic_keys *k, uint64_t pn, const uint8_t *ad,
                       uint32_t ad_len, const uint8_t *ct, uint32_t ct_len, uint8_t *out)
{
    if (!k->ready || k->aead >= CS_QAEAD_COUNT || ct_len < 16 || ct_len > INT32_MAX)
        return false;
    uint8_t nonce[12];
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    const uint8_t *ads[1] = {ad};
    uint32_t ad_lens[1] = {ad_len};
    return aead_run(&qc->aead[k->aead], k->key, key_lens[k->aead], nonce, ads, ad_lens, 1, ct,
                    ct_len - 16, ct + ct_len - 16, out);
}

bool cs_quic_retry_valid(cs_quic_crypto *qc, const cs_quic_version *ver, const uint8_t *odcid,
                         uint32_t odcid_len, const uint8_t *pkt, uint32_t len)
{
    if (ver == NULL || !ver->retry_tag || len < 16 || len - 16 > INT32_MAX || odcid_len > 255)
        return false;
    /* Retry Pseudo-Packet = ODCID length, ODCID, the Retry packet without its tag (RFC 9001 5.8) */
    uint8_t odcil = (uint8_t)odcid_len;
    const uint8_t *ads[3] = {&odcil, odcid, pkt};
    uint32_t ad_lens[3] = {1, odcid_len, len - 16};
    return aead_run(&qc->aead[CS_QAEAD_AES128GCM], ver->retry_key, 16, ver->retry_nonce, ads,
                    ad_lens, 3, NULL, 0, pkt + len - 16, NULL);
}
