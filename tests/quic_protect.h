/* quic_protect.h - test-only QUIC packet protection (the sender's side, which connscope never needs):
 * builds protected long header packets with OpenSSL directly, for unit tests and the fuzz target. */
#ifndef CS_TEST_QUIC_PROTECT_H
#define CS_TEST_QUIC_PROTECT_H

#include <string.h>

#include <openssl/evp.h>

#include "quic.h"

/* Bytes qp_protect_long writes at most for these lengths. */
#define QP_MAX_LEN(dl, sl, flen, pad)                                                              \
    (1u + 4 + 1 + (dl) + 1 + (sl) + 1 + 2 + 4 + (flen) + (pad) + 16)

/* Protects a long header packet of `type` (CS_QPT_INITIAL, CS_QPT_0RTT or CS_QPT_HANDSHAKE) of
 * version v under AES-128-GCM keys k (RFC 9001 5.3, 5.4): an empty token for Initial packets, a
 * 2-byte Length (so flen + pad <= 16363), a 4-byte packet number, `frames` followed by `pad` zero
 * bytes. Writes it to out (QP_MAX_LEN bytes) and returns its length; 0 on an OpenSSL failure. */
static inline uint32_t qp_protect_long(const cs_quic_version *v, int type, const cs_quic_keys *k,
                                       const uint8_t *dcid, uint8_t dl, const uint8_t *scid,
                                       uint8_t sl, uint64_t pn, const uint8_t *frames,
                                       uint32_t flen, uint32_t pad, uint8_t *out)
{
    static const uint8_t v1bits[] = {0, 1, 2}, v2bits[] = {1, 2, 3};
    uint8_t bits = (v->kind == CS_QVK_V2 ? v2bits : v1bits)[type];
    uint32_t n = 0, plen = flen + pad, length = 4 + plen + 16;
    out[n++] = (uint8_t)(0xc0 | bits << 4 | 3);
    for (int i = 3; i >= 0; i--)
        out[n++] = (uint8_t)(v->number >> (8 * i));
    out[n++] = dl;
    memcpy(out + n, dcid, dl);
    n += dl;
    out[n++] = sl;
    memcpy(out + n, scid, sl);
    n += sl;
    if (type == CS_QPT_INITIAL)
        out[n++] = 0; /* no token */
    out[n++] = (uint8_t)(0x40 | length >> 8);
    out[n++] = (uint8_t)length;
    uint32_t pn_off = n;
    for (int i = 3; i >= 0; i--)
        out[n++] = (uint8_t)(pn >> (8 * i));
    uint8_t nonce[12], mask[32];
    memcpy(out + n, frames, flen);
    memset(out + n + flen, 0, pad);
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l = 0;
    bool ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce) == 1 &&
              EVP_EncryptUpdate(ctx, NULL, &l, out, (int)n) == 1 &&
              EVP_EncryptUpdate(ctx, out + n, &l, out + n, (int)plen) == 1 &&
              EVP_EncryptFinal_ex(ctx, out + n + plen, &l) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + n + plen) == 1 &&
              EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k->hp, NULL) == 1 &&
              EVP_EncryptUpdate(ctx, mask, &l, out + pn_off + 4, 16) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return 0;
    out[0] ^= mask[0] & 0x0f;
    for (int i = 0; i < 4; i++)
        out[pn_off + i] ^= mask[1 + i];
    return n + plen + 16;
}

#endif
