/* test_tls.c - CUnit suite for the TLS layer (app_tls.c, tls_decrypt.c): RFC 8448 key schedule and
 * records, published JA3/JA4 values, reassembly at every split, gaps, garbage, real captures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <openssl/evp.h>

#include "app_tls.h"
#include "decode.h"
#include "source.h"
#include "suites.h"
#include "tls_decrypt.h"
#include "tls_fingerprint.h"
#include "tls_handshake.h"
#include "tls_hello.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Decodes hex (spaces and newlines ignored) into a new array; *len set. */
static uint8_t *unhex(const char *s, uint32_t *len)
{
    uint8_t *out = g_malloc(strlen(s) / 2 + 1);
    uint32_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = g_ascii_xdigit_value(*s);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *len = n;
    return out;
}

/* Returns hex text without its spaces (new string). */
static char *compact(const char *hex)
{
    char *out = g_malloc(strlen(hex) + 1), *w = out;
    for (; *hex; hex++)
        if (*hex != ' ')
            *w++ = *hex;
    *w = '\0';
    return out;
}

static bool eq_hex(const uint8_t *p, uint32_t len, const char *hex)
{
    uint32_t n;
    uint8_t *want = unhex(hex, &n);
    bool ok = n == len && memcmp(p, want, n) == 0;
    g_free(want);
    return ok;
}

/* A sink that records plaintext per direction, gap events and anomalies. */
typedef struct rec {
    GByteArray *plain[2];
    uint32_t plain_calls[2];
    uint32_t gets;          /* client plaintext records starting with "GET " */
    uint32_t gaps[2];
    uint64_t gap_bytes[2];
} rec;

static void rec_plain(void *ctx, const cs_conn *c, bool fc, const uint8_t *p, uint32_t len,
                      cs_time_t ts)
{
    rec *r = ctx;
    (void)c;
    (void)ts;
    g_byte_array_append(r->plain[!fc], p, len);
    r->plain_calls[!fc]++;
    if (fc && len >= 4 && memcmp(p, "GET ", 4) == 0)
        r->gets++;
}

static void rec_gap(void *ctx, const cs_conn *c, bool fc, uint32_t len, cs_time_t ts)
{
    rec *r = ctx;
    (void)c;
    (void)ts;
    r->gaps[!fc]++;
    r->gap_bytes[!fc] += len;
}

static void rec_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    (void)ctx;
    (void)c;
    (void)a;
}

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    r->plain[0] = g_byte_array_new();
    r->plain[1] = g_byte_array_new();
}

static void rec_free(rec *r)
{
    g_byte_array_free(r->plain[0], TRUE);
    g_byte_array_free(r->plain[1], TRUE);
}

static uint32_t anom(const cs_tls_summary *s, int id)
{
    return cs_tls_anomaly_count(s, (cs_anomaly)id);
}

/* One event of a scripted conversation. */
typedef enum { EV_DATA, EV_GAP, EV_END } ev_kind;
typedef struct ev {
    ev_kind kind;
    bool client;
    const uint8_t *p;
    uint32_t len;
    cs_time_t ts;
} ev;

/* Runs the events. Event `split_ev` (if >= 0) is fed in two pieces cut at `split_at`; with
 * `step` > 0 every data event is fed in pieces of `step` bytes. Fills *sum. */
static void run(const ev *evs, int n, const cs_keylog *kl, int split_ev, uint32_t split_at,
                uint32_t step, rec *r, cs_tls_summary *sum)
{
    cs_tls_cfg cfg = {kl};
    cs_tls_sink sink = {r, rec_plain, rec_gap, rec_anomaly};
    cs_tls_conn *t = cs_tls_new(&cfg);
    for (int i = 0; i < n; i++) {
        const ev *e = &evs[i];
        if (e->kind == EV_GAP) {
            cs_tls_gap(t, &sink, NULL, e->client, e->len, e->ts);
        } else if (e->kind == EV_END) {
            cs_tls_end(t, &sink, NULL, e->client, e->ts);
        } else if (i == split_ev) {
            cs_tls_data(t, &sink, NULL, e->client, e->p, split_at, e->ts);
            cs_tls_data(t, &sink, NULL, e->client, e->p + split_at, e->len - split_at, e->ts);
        } else if (step > 0) {
            for (uint32_t off = 0; off < e->len; off += step)
                cs_tls_data(t, &sink, NULL, e->client, e->p + off, MIN(step, e->len - off),
                            e->ts);
        } else {
            cs_tls_data(t, &sink, NULL, e->client, e->p, e->len, e->ts);
        }
    }
    cs_tls_finish(t, &sink, NULL, sum);
    cs_tls_free(t);
}

/* Wraps a handshake message into a plaintext record. */
static GByteArray *record(uint8_t type, uint16_t version, const uint8_t *p, uint32_t len)
{
    GByteArray *a = g_byte_array_new();
    uint8_t h[5] = {type, (uint8_t)(version >> 8), (uint8_t)version, (uint8_t)(len >> 8),
                    (uint8_t)len};
    g_byte_array_append(a, h, 5);
    g_byte_array_append(a, p, len);
    return a;
}

/* ---- RFC 8448 section 3 "Simple 1-RTT Handshake" ------------------------------------------- */

/* Secrets and derived values (RFC 8448 section 3). */
#define R_HS_SECRET "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac"
#define R_HS_HASH "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8"
#define R_EMPTY_HASH "e3 b0 c4 42 98 fc 1c 14 9a fb f4 c8 99 6f b9 24 27 ae 41 e4 64 9b 93 4c a4 95 99 1b 78 52 b8 55"
#define R_DERIVED_HS "43 de 77 e0 c7 77 13 85 9a 94 4d b9 db 25 90 b5 31 90 a6 5b 3e e2 e4 f1 2d d7 a0 bb 7c e2 54 b4"
#define R_C_HS "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21"
#define R_S_HS "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"
#define R_C_AP "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5"
#define R_S_AP "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"
#define R_CLIENT_RANDOM "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"

/* Wire bytes (RFC 8448 section 3): the ClientHello message and the records as sent. */
static const char r_ch[] =
    "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2"
    "ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65"
    "72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03"
    "01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba"
    "fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04"
    "03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d"
    "00 02 01 01 00 1c 00 02 40 01";
static const char r_sh_rec[] =
    "16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5"
    "cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11"
    "20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02"
    "03 04";
static const char r_flight_rec[] =
    "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3"
    "5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23"
    "ea 78 b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec"
    "f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3"
    "7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f"
    "1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53"
    "ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2"
    "55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb"
    "33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca"
    "63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83"
    "8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6"
    "37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33"
    "0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d"
    "c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b"
    "16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74"
    "11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18"
    "a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88"
    "cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51"
    "56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38 eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f"
    "aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f"
    "dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3 79 4e 44"
    "f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b";
static const char r_cfin_rec[] =
    "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b"
    "fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46";
static const char r_nst_rec[] =
    "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95"
    "d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88"
    "91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0"
    "3f 75 e0 9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5"
    "e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f"
    "69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49"
    "fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b"
    "6c 67 79 b3 7b f1 59 85 68 4f";
static const char r_c_app_rec[] =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab"
    "3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d"
    "ea e6 3a ee bb 21 69 49 15 e4";
static const char r_s_app_rec[] =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b"
    "36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3"
    "32 54 0d d0 32 e1 67 c2 95 5d";
static const char r_c_alert_rec[] =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
static const char r_s_alert_rec[] =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

static void check_label(const char *secret, const char *label, const char *ctx_hex, uint32_t n,
                        const char *want)
{
    uint32_t sl, cl = 0;
    uint8_t *s = unhex(secret, &sl);
    uint8_t *ctx = ctx_hex != NULL ? unhex(ctx_hex, &cl) : NULL;
    uint8_t out[64];
    CU_ASSERT_TRUE(cs_tls13_expand_label(CS_HASH_SHA256, s, sl, label, ctx, cl, out, n));
    CU_ASSERT_TRUE(eq_hex(out, n, want));
    g_free(s);
    g_free(ctx);
}

static void test_rfc8448_key_schedule(void)
{
    /* Derive-Secret(handshake secret, "c hs traffic" / "s hs traffic", CH..SH hash) */
    check_label(R_HS_SECRET, "c hs traffic", R_HS_HASH, 32, R_C_HS);
    check_label(R_HS_SECRET, "s hs traffic", R_HS_HASH, 32, R_S_HS);
    check_label(R_HS_SECRET, "derived", R_EMPTY_HASH, 32, R_DERIVED_HS);
    /* traffic keys and IVs from the four traffic secrets */
    check_label(R_S_HS, "key", NULL, 16, "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc");
    check_label(R_S_HS, "iv", NULL, 12, "5d 31 3e b2 67 12 76 ee 13 00 0b 30");
    check_label(R_C_HS, "key", NULL, 16, "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01");
    check_label(R_C_HS, "iv", NULL, 12, "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f");
    check_label(R_S_AP, "key", NULL, 16, "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56");
    check_label(R_S_AP, "iv", NULL, 12, "cf 78 2b 88 dd 83 54 9a ad f1 e9 84");
    check_label(R_C_AP, "key", NULL, 16, "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51");
    check_label(R_C_AP, "iv", NULL, 12, "5b 78 92 3d ee 08 57 90 33 e5 23 d9");
    /* the server finished key (RFC 8448: "finished" label, empty context) */
    check_label(R_S_HS, "finished", NULL, 32,
                "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 "
                "d8 cd c1 9f c8");
}

/* Opens one RFC 8448 record with the read state of `secret` at `seq`. */
static const uint8_t *open_rfc(cs_tls_rp *rp, const char *secret, const char *rec_hex, uint64_t seq,
                               uint8_t *out, uint32_t *plen, uint8_t *type)
{
    uint32_t sl, rl;
    uint8_t *s = unhex(secret, &sl);
    uint8_t *r = unhex(rec_hex, &rl);
    CU_ASSERT_TRUE_FATAL(cs_tls_rp_init13(rp, cs_tls_suite_find(0x1301), s, sl));
    const uint8_t *pt = cs_tls_rp_open(rp, seq, r, r + 5, rl - 5, out, plen, type);
    g_free(s);
    g_free(r);
    return pt;
}

static void test_rfc8448_records(void)
{
    cs_tls_rp rp;
    memset(&rp, 0, sizeof rp);
    uint8_t *out = g_malloc(CS_TLS_PLAIN_BUF);
    uint32_t plen = 0;
    uint8_t type = 0;
    /* server flight: EncryptedExtensions .. Finished, 657 bytes of handshake */
    const uint8_t *pt = open_rfc(&rp, R_S_HS, r_flight_rec, 0, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(type, 22);
    CU_ASSERT_EQUAL(plen, 657);
    CU_ASSERT_TRUE(eq_hex(pt, 8, "08 00 00 24 00 22 00 0a"));
    CU_ASSERT_TRUE(eq_hex(pt + plen - 36, 36,
                          "14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 "
                          "95 72 cb 7f ff ee 54 54 b7 8f 07 18"));
    /* the wrong sequence number does not authenticate */
    CU_ASSERT_PTR_NULL(open_rfc(&rp, R_S_HS, r_flight_rec, 1, out, &plen, &type));
    /* client Finished */
    pt = open_rfc(&rp, R_C_HS, r_cfin_rec, 0, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(type, 22);
    CU_ASSERT_TRUE(eq_hex(pt, 8, "14 00 00 20 a8 ec 43 6d"));
    /* NewSessionTicket: first server application-key record */
    pt = open_rfc(&rp, R_S_AP, r_nst_rec, 0, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(type, 22);
    CU_ASSERT_EQUAL(pt[0], 4);
    /* application data both ways: 50 bytes 00 01 .. 31 */
    uint8_t want[50];
    for (int i = 0; i < 50; i++)
        want[i] = (uint8_t)i;
    pt = open_rfc(&rp, R_C_AP, r_c_app_rec, 0, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(type, 23);
    CU_ASSERT_EQUAL(plen, 50);
    CU_ASSERT_EQUAL(memcmp(pt, want, 50), 0);
    pt = open_rfc(&rp, R_S_AP, r_s_app_rec, 1, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(plen, 50);
    CU_ASSERT_EQUAL(memcmp(pt, want, 50), 0);
    /* close_notify alerts */
    pt = open_rfc(&rp, R_C_AP, r_c_alert_rec, 1, out, &plen, &type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
    CU_ASSERT_EQUAL(type, 21);
    CU_ASSERT_TRUE(eq_hex(pt, plen, "01 00"));
    /* a flipped ciphertext bit fails */
    uint32_t rl;
    uint8_t *r = unhex(r_c_app_rec, &rl);
    r[20] ^= 1;
    uint32_t sl;
    uint8_t *s = unhex(R_C_AP, &sl);
    cs_tls_rp_init13(&rp, cs_tls_suite_find(0x1301), s, sl);
    CU_ASSERT_PTR_NULL(cs_tls_rp_open(&rp, 0, r, r + 5, rl - 5, out, &plen, &type));
    g_free(r);
    g_free(s);
    cs_tls_rp_clear(&rp);
    g_free(out);
}

/* The whole RFC 8448 conversation as events, and a key log with its four secrets. */
typedef struct convo {
    uint8_t *buf[9];
    GByteArray *ch_rec;
    GByteArray *srv; /* ServerHello record + encrypted flight, sent together */
    ev evs[8];
    cs_keylog *kl;
} convo;

static void convo_make(convo *v)
{
    memset(v, 0, sizeof *v);
    uint32_t n[9];
    v->buf[0] = unhex(r_ch, &n[0]);
    v->ch_rec = record(22, 0x0301, v->buf[0], n[0]);
    v->buf[1] = unhex(r_sh_rec, &n[1]);
    v->buf[2] = unhex(r_flight_rec, &n[2]);
    v->srv = g_byte_array_new();
    g_byte_array_append(v->srv, v->buf[1], n[1]);
    g_byte_array_append(v->srv, v->buf[2], n[2]);
    const char *recs[] = {r_cfin_rec, r_nst_rec, r_c_app_rec, r_s_app_rec, r_c_alert_rec,
                          r_s_alert_rec};
    for (int i = 0; i < 6; i++)
        v->buf[3 + i] = unhex(recs[i], &n[3 + i]);
    ev e[8] = {
        {EV_DATA, true, v->ch_rec->data, v->ch_rec->len, 1000},
        {EV_DATA, false, v->srv->data, v->srv->len, 2000},
        {EV_DATA, true, v->buf[3], n[3], 3000},
        {EV_DATA, false, v->buf[4], n[4], 4000},
        {EV_DATA, true, v->buf[5], n[5], 5000},
        {EV_DATA, false, v->buf[6], n[6], 6000},
        {EV_DATA, true, v->buf[7], n[7], 7000},
        {EV_DATA, false, v->buf[8], n[8], 8000},
    };
    memcpy(v->evs, e, sizeof e);
    char *c_hs = compact(R_C_HS), *s_hs = compact(R_S_HS), *c_ap = compact(R_C_AP),
         *s_ap = compact(R_S_AP);
    char *text = g_strdup_printf("# RFC 8448 section 3\n"
                                 "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n"
                                 "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n"
                                 "CLIENT_TRAFFIC_SECRET_0 %s %s\n"
                                 "SERVER_TRAFFIC_SECRET_0 %s %s\n",
                                 R_CLIENT_RANDOM, c_hs, R_CLIENT_RANDOM, s_hs, R_CLIENT_RANDOM,
                                 c_ap, R_CLIENT_RANDOM, s_ap);
    v->kl = cs_keylog_parse(text, strlen(text));
    g_free(text);
    g_free(c_hs);
    g_free(s_hs);
    g_free(c_ap);
    g_free(s_ap);
}

static void convo_free(convo *v)
{
    for (int i = 0; i < 9; i++)
        g_free(v->buf[i]);
    g_byte_array_free(v->ch_rec, TRUE);
    g_byte_array_free(v->srv, TRUE);
    cs_keylog_free(v->kl);
}

static void check_rfc_run(const rec *r, const cs_tls_summary *s)
{
    CU_ASSERT_STRING_EQUAL(s->server_name, "server");
    CU_ASSERT_STRING_EQUAL(s->version_name, "TLSv13");
    CU_ASSERT_STRING_EQUAL(s->cipher_name, "TLS_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(s->curve, "x25519");
    CU_ASSERT_EQUAL(s->dec_status, CS_TLS_DEC_OK);
    CU_ASSERT_EQUAL(s->dec_records, 7);
    CU_ASSERT_EQUAL(s->dec_failed, 0);
    CU_ASSERT_TRUE(s->established);
    CU_ASSERT_TRUE(s->ticket_issued);
    CU_ASSERT_FALSE(s->resumed);
    CU_ASSERT_STRING_EQUAL(s->history, "Cs");
    CU_ASSERT_STRING_EQUAL(s->last_alert, "close_notify");
    CU_ASSERT_EQUAL(s->alert_level, 1);
    CU_ASSERT_EQUAL(s->alert_desc, 0);
    CU_ASSERT_TRUE(s->alert_from_client);
    CU_ASSERT_EQUAL(s->records[0], 4);
    CU_ASSERT_EQUAL(s->records[1], 5);
    CU_ASSERT_EQUAL(s->app_records[0], 1);
    CU_ASSERT_EQUAL(s->app_records[1], 1);
    CU_ASSERT_EQUAL(s->estimated_exchanges, 1);
    CU_ASSERT_EQUAL(s->turn_min, 1000);
    CU_ASSERT_EQUAL(s->client_hello_ts, 1000);
    CU_ASSERT_EQUAL(s->server_hello_ts, 2000);
    CU_ASSERT_EQUAL(s->handshake_ns, 4000);
    CU_ASSERT_EQUAL(s->anomalies, 0);
    CU_ASSERT_EQUAL(r->plain[0]->len, 50);
    CU_ASSERT_EQUAL(r->plain[1]->len, 50);
    for (uint32_t i = 0; i < r->plain[0]->len && i < r->plain[1]->len; i++) {
        CU_ASSERT_EQUAL(r->plain[0]->data[i], i);
        CU_ASSERT_EQUAL(r->plain[1]->data[i], i);
    }
}

static void test_rfc8448_conversation(void)
{
    convo v;
    convo_make(&v);
    CU_ASSERT_EQUAL(cs_keylog_size(v.kl), 4);
    rec r;
    cs_tls_summary s;
    rec_init(&r);
    run(v.evs, 8, v.kl, -1, 0, 0, &r, &s);
    check_rfc_run(&r, &s);
    CU_ASSERT_STRING_EQUAL(s.ja3, "771,4865-4867-4866,0-65281-10-35-51-43-13-45-28,"
                                  "29-23-24-25-256-257-258-259-260,");
    CU_ASSERT_STRING_EQUAL(s.ja3_md5, "da4dea34fe6d4ce5f0725df3f2682fa0"); /* Python hashlib */
    CU_ASSERT_STRING_EQUAL(s.ja4, "t13d030900_55b375c5d22e_59cd3dafc54d");
    CU_ASSERT_STRING_EQUAL(s.ja3s, "771,4865,51-43");
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* every event split at every byte boundary, and fed in pieces of 1..17 bytes */
    for (int e = 0; e < 8; e++)
        for (uint32_t at = 1; at < v.evs[e].len; at++) {
            rec_init(&r);
            run(v.evs, 8, v.kl, e, at, 0, &r, &s);
            check_rfc_run(&r, &s);
            cs_tls_summary_clear(&s);
            rec_free(&r);
        }
    for (uint32_t step = 1; step <= 17; step++) {
        rec_init(&r);
        run(v.evs, 8, v.kl, -1, 0, step, &r, &s);
        check_rfc_run(&r, &s);
        cs_tls_summary_clear(&s);
        rec_free(&r);
    }
    /* partial key logs: only the application secrets (the first application record is found by
     * trial, the two handshake records fail), or only the handshake secrets */
    static const char *const labels[4] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                          "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};
    const char *secrets[4] = {R_C_HS, R_S_HS, R_C_AP, R_S_AP};
    for (int half = 0; half < 2; half++) {
        GString *text = g_string_new(NULL);
        for (int i = 2 * half; i < 2 * half + 2; i++) {
            char *sec = compact(secrets[i]);
            g_string_append_printf(text, "%s %s %s\n", labels[i], R_CLIENT_RANDOM, sec);
            g_free(sec);
        }
        cs_keylog *kl = cs_keylog_parse(text->str, text->len);
        rec_init(&r);
        run(v.evs, 8, kl, -1, 0, 0, &r, &s);
        CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_PARTIAL);
        if (half == 0) { /* handshake secrets only */
            CU_ASSERT_EQUAL(s.dec_records, 2);
            CU_ASSERT_EQUAL(r.plain[0]->len + r.plain[1]->len, 0);
        } else {
            CU_ASSERT_EQUAL(s.dec_records, 5);
            CU_ASSERT_EQUAL(s.dec_failed, 2);
            CU_ASSERT_EQUAL(r.plain[0]->len, 50);
            CU_ASSERT_EQUAL(r.plain[1]->len, 50);
        }
        cs_tls_summary_clear(&s);
        rec_free(&r);
        cs_keylog_free(kl);
        g_string_free(text, TRUE);
    }
    /* without keys: same facts, no plaintext, the exchange estimated from record directions */
    rec_init(&r);
    run(v.evs, 8, NULL, -1, 0, 0, &r, &s);
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_NONE);
    CU_ASSERT_EQUAL(r.plain[0]->len + r.plain[1]->len, 0);
    CU_ASSERT_EQUAL(s.estimated_exchanges, 1);
    CU_ASSERT_EQUAL(s.app_records[0], 1);  /* Finished, then data; the 19-byte alert is no data */
    CU_ASSERT_EQUAL(s.app_records[1], 2);  /* ticket + data */
    CU_ASSERT_TRUE(s.established);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    convo_free(&v);
}

static void test_rfc8448_gap(void)
{
    convo v;
    convo_make(&v);
    rec r;
    cs_tls_summary s;
    /* the client's data record lost inside: record dropped, framing kept, alert still opens */
    ev e[9];
    memcpy(e, v.evs, 4 * sizeof(ev));
    e[4] = (ev){EV_DATA, true, v.evs[4].p, 20, 5000};
    e[5] = (ev){EV_GAP, true, NULL, 30, 5000};
    e[6] = (ev){EV_DATA, true, v.evs[4].p + 50, v.evs[4].len - 50, 5000};
    memcpy(e + 7, v.evs + 5, 2 * sizeof(ev));
    rec_init(&r);
    run(e, 9, v.kl, -1, 0, 0, &r, &s);
    CU_ASSERT_EQUAL(r.plain[0]->len, 0);
    CU_ASSERT_EQUAL(r.plain[1]->len, 50);
    CU_ASSERT_EQUAL(r.gaps[0], 1);
    CU_ASSERT_EQUAL(r.gap_bytes[0], 72 - 5 - 17);
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_PARTIAL);
    CU_ASSERT_EQUAL(s.resyncs, 0);
    CU_ASSERT_STRING_EQUAL(s.last_alert, "close_notify");
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* the whole record lost at a boundary: resync on the alert (sequence found by trial) */
    memcpy(e, v.evs, 4 * sizeof(ev));
    e[4] = (ev){EV_GAP, true, NULL, v.evs[4].len, 5000};
    memcpy(e + 5, v.evs + 5, 3 * sizeof(ev));
    rec_init(&r);
    run(e, 8, v.kl, -1, 0, 0, &r, &s);
    CU_ASSERT_EQUAL(s.resyncs, 1);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_GAP_RESYNC), 1);
    CU_ASSERT_EQUAL(s.alerts[0], 1);
    CU_ASSERT_EQUAL(s.dec_failed, 0);
    CU_ASSERT_EQUAL(r.plain[1]->len, 50);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* a gap covering the end of the flight and the start of the ticket: the ticket's tail is
     * skipped, the server data record found and opened */
    uint32_t cut = v.srv->len - 100;
    ev f[9];
    memcpy(f, v.evs, 1 * sizeof(ev));
    f[1] = (ev){EV_DATA, false, v.srv->data, cut, 2000};
    f[2] = (ev){EV_GAP, false, NULL, 100 + 30, 2000};
    f[3] = v.evs[2];
    f[4] = (ev){EV_DATA, false, v.evs[3].p + 30, v.evs[3].len - 30, 4000};
    memcpy(f + 5, v.evs + 4, 4 * sizeof(ev));
    rec_init(&r);
    run(f, 9, v.kl, -1, 0, 0, &r, &s);
    CU_ASSERT_EQUAL(s.resyncs, 1);
    CU_ASSERT_EQUAL(r.plain[0]->len, 50);
    CU_ASSERT_EQUAL(r.plain[1]->len, 50);
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_PARTIAL);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    convo_free(&v);
}

/* ---- ClientHello parsing and fingerprints -------------------------------------------------- */

/* The ClientHello record of illustrated-tls13/capture.pcap (syncsynchalt/illustrated-tls13, MIT),
 * as tshark -e tcp.payload prints it. */
static const char ill13_ch[] =
    "16030100f8010000f40303000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20e0"
    "e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000813021303130100ff010000a3"
    "0000001800160000136578616d706c652e756c666865696d2e6e6574000b000403000102000a00160014001d00"
    "17001e0019001801000101010201030104002300000016000000170000000d001e001c04030503060308070808"
    "0809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020358072d6"
    "365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";

static void test_client_hello_real(void)
{
    uint32_t n;
    uint8_t *ch = unhex(ill13_ch, &n);
    CU_ASSERT_EQUAL_FATAL(n, 253);
    CU_ASSERT_EQUAL(cs_tls_detect(ch, n), 1);
    for (uint32_t at = 0; at < n; at++) {
        ev e[1] = {{EV_DATA, true, ch, n, 5}};
        rec r;
        cs_tls_summary s;
        rec_init(&r);
        run(e, 1, NULL, at ? 0 : -1, at, 0, &r, &s);
        CU_ASSERT_TRUE(s.client_hello);
        CU_ASSERT_STRING_EQUAL(s.server_name, "example.ulfheim.net");
        CU_ASSERT_EQUAL(s.client_version, 0x0303);
        CU_ASSERT_EQUAL(s.n_offered_versions, 1);
        CU_ASSERT_EQUAL(s.offered_versions[0], 0x0304);
        CU_ASSERT_STRING_EQUAL(s.ja3, "771,4866-4867-4865-255,0-11-10-35-22-23-13-43-45-51,"
                                      "29-23-30-25-24-256-257-258-259-260,0-1-2");
        CU_ASSERT_STRING_EQUAL(s.ja3_md5, "f146948b4a599d4d7ddf071b74696983");
        CU_ASSERT_STRING_EQUAL(s.history, "C");
        CU_ASSERT_EQUAL(s.client_hello_ts, 5);
        CU_ASSERT_EQUAL(s.anomalies, 0);
        cs_tls_summary_clear(&s);
        rec_free(&r);
    }
    g_free(ch);
}

/* Builds a ClientHello record: version, ciphers, raw extension block. */
static GByteArray *build_ch(uint16_t version, const uint16_t *ciphers, int nc, const uint8_t *ext,
                            uint32_t ext_len, bool with_ext_block)
{
    GByteArray *m = g_byte_array_new();
    uint8_t b[64];
    b[0] = (uint8_t)(version >> 8);
    b[1] = (uint8_t)version;
    g_byte_array_append(m, b, 2);
    memset(b, 0x5a, 32);
    g_byte_array_append(m, b, 32); /* random */
    b[0] = 0;
    g_byte_array_append(m, b, 1); /* session id */
    b[0] = (uint8_t)(nc * 2 >> 8);
    b[1] = (uint8_t)(nc * 2);
    g_byte_array_append(m, b, 2);
    for (int i = 0; i < nc; i++) {
        b[0] = (uint8_t)(ciphers[i] >> 8);
        b[1] = (uint8_t)ciphers[i];
        g_byte_array_append(m, b, 2);
    }
    b[0] = 1;
    b[1] = 0;
    g_byte_array_append(m, b, 2); /* compression: null */
    if (with_ext_block) {
        b[0] = (uint8_t)(ext_len >> 8);
        b[1] = (uint8_t)ext_len;
        g_byte_array_append(m, b, 2);
        g_byte_array_append(m, ext, ext_len);
    }
    uint8_t h[4] = {1, (uint8_t)(m->len >> 16), (uint8_t)(m->len >> 8), (uint8_t)m->len};
    g_byte_array_prepend(m, h, 4);
    GByteArray *r = record(22, 0x0301, m->data, m->len);
    g_byte_array_free(m, TRUE);
    return r;
}

/* Appends extension `type` with a body. */
static void ext_add(GByteArray *e, uint16_t type, const uint8_t *body, uint32_t len)
{
    uint8_t h[4] = {(uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(len >> 8), (uint8_t)len};
    g_byte_array_append(e, h, 4);
    if (len > 0)
        g_byte_array_append(e, body, len);
}

/* Appends extension `type` whose body is a u16 list with a length prefix of `pfx` bytes. */
static void ext_u16s(GByteArray *e, uint16_t type, int pfx, const uint16_t *v, int n)
{
    uint8_t body[256];
    uint32_t k = 0;
    if (pfx == 2)
        body[k++] = (uint8_t)(n * 2 >> 8);
    body[k++] = (uint8_t)(n * 2);
    for (int i = 0; i < n; i++) {
        body[k++] = (uint8_t)(v[i] >> 8);
        body[k++] = (uint8_t)v[i];
    }
    ext_add(e, type, body, k);
}

static void ext_sni(GByteArray *e, const char *name)
{
    uint8_t body[300];
    uint32_t nl = (uint32_t)strlen(name);
    body[0] = (uint8_t)((nl + 3) >> 8);
    body[1] = (uint8_t)(nl + 3);
    body[2] = 0;
    body[3] = (uint8_t)(nl >> 8);
    body[4] = (uint8_t)nl;
    memcpy(body + 5, name, nl);
    ext_add(e, 0, body, nl + 5);
}

static void ext_alpn(GByteArray *e, const uint8_t *const *v, const uint8_t *lens, int n)
{
    uint8_t body[300];
    uint32_t k = 2;
    for (int i = 0; i < n; i++) {
        body[k++] = lens[i];
        memcpy(body + k, v[i], lens[i]);
        k += lens[i];
    }
    body[0] = (uint8_t)((k - 2) >> 8);
    body[1] = (uint8_t)(k - 2);
    ext_add(e, 16, body, k);
}

static void hello_facts(GByteArray *ch, cs_tls_summary *s)
{
    ev e[1] = {{EV_DATA, true, ch->data, ch->len, 1}};
    rec r;
    rec_init(&r);
    run(e, 1, NULL, -1, 0, 0, &r, s);
    rec_free(&r);
}

static void test_ja3_published(void)
{
    /* salesforce/ja3 README: 769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0
     * -> ada70206e40642a3e4461f35503241d5; GREASE values added here must not change it. */
    const uint16_t c1[] = {0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4};
    GByteArray *e = g_byte_array_new();
    ext_add(e, 0x1a1a, NULL, 0); /* GREASE extension */
    ext_sni(e, "example.com");
    const uint16_t groups[] = {0x2a2a, 23, 24, 25};
    ext_u16s(e, 10, 2, groups, 4);
    const uint8_t fmt[] = {1, 0};
    ext_add(e, 11, fmt, 2);
    GByteArray *ch = build_ch(0x0301, c1, 13, e->data, e->len, true);
    cs_tls_summary s;
    hello_facts(ch, &s);
    CU_ASSERT_STRING_EQUAL(s.ja3, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
    CU_ASSERT_STRING_EQUAL(s.ja3_md5, "ada70206e40642a3e4461f35503241d5");
    CU_ASSERT_STRING_EQUAL(s.server_name, "example.com");
    cs_tls_summary_clear(&s);
    g_byte_array_free(ch, TRUE);
    g_byte_array_free(e, TRUE);
    /* no extensions at all: 769,4-5-10-9-100-98-3-6-19-18-99,,, -> de350869b8c85de67a350c8d186f11e6 */
    const uint16_t c2[] = {4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99};
    ch = build_ch(0x0301, c2, 11, NULL, 0, false);
    hello_facts(ch, &s);
    CU_ASSERT_STRING_EQUAL(s.ja3, "769,4-5-10-9-100-98-3-6-19-18-99,,,");
    CU_ASSERT_STRING_EQUAL(s.ja3_md5, "de350869b8c85de67a350c8d186f11e6");
    CU_ASSERT_STRING_EQUAL(s.ja4, "t10i110000_3609b414f052_000000000000");
    CU_ASSERT_EQUAL(s.anomalies, 0);
    cs_tls_summary_clear(&s);
    g_byte_array_free(ch, TRUE);
}

/* JA4 spec example (FoxIO technical_details/JA4.md): 15 ciphers, 16 extensions, ALPN h2,
 * signature algorithms -> t13d1516h2_8daaf6152771_e5627efa2ab1. */
static GByteArray *ja4_example(const uint8_t *const *alpn, const uint8_t *alpn_lens, int n_alpn,
                               bool sigalgs)
{
    const uint16_t ciphers[] = {0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                                0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    const uint16_t sig[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    const uint16_t versions[] = {0x3a3a, 0x0304, 0x0303};
    const uint16_t groups[] = {0x3a3a, 0x001d, 0x0017, 0x0018};
    /* extension order of the spec: 001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,
     * ff01,000b,000a,0015 (plus a GREASE one first) */
    GByteArray *e = g_byte_array_new();
    ext_add(e, 0xdada, NULL, 0);
    const uint8_t cc[] = {2, 0, 2};
    ext_add(e, 0x001b, cc, 3);
    ext_sni(e, "www.example.org");
    const uint8_t ks[] = {0, 0};
    ext_add(e, 0x0033, ks, 2);
    if (n_alpn > 0)
        ext_alpn(e, alpn, alpn_lens, n_alpn);
    else
        ext_add(e, 0x0010, (const uint8_t *)"\0\0", 2);
    const uint8_t alps[] = {0, 3, 2, 'h', '2'};
    ext_add(e, 0x4469, alps, 5);
    ext_add(e, 0x0017, NULL, 0);
    const uint8_t pskm[] = {1, 1};
    ext_add(e, 0x002d, pskm, 2);
    ext_u16s(e, 0x000d, 2, sig, sigalgs ? 8 : 0);
    const uint8_t st[] = {1, 0, 0, 0, 0};
    ext_add(e, 0x0005, st, 5);
    ext_add(e, 0x0023, NULL, 0);
    ext_add(e, 0x0012, NULL, 0);
    ext_u16s(e, 0x002b, 1, versions, 3);
    const uint8_t reneg[] = {0};
    ext_add(e, 0xff01, reneg, 1);
    const uint8_t fmt[] = {1, 0};
    ext_add(e, 0x000b, fmt, 2);
    ext_u16s(e, 0x000a, 2, groups, 4);
    const uint8_t pad[8] = {0};
    ext_add(e, 0x0015, pad, 8);
    GByteArray *ch = build_ch(0x0303, ciphers, 16, e->data, e->len, true);
    g_byte_array_free(e, TRUE);
    return ch;
}

static void test_ja4_spec(void)
{
    static const uint8_t h2[] = "h2", h11[] = "http/1.1";
    const uint8_t *alpn[2] = {h2, h11};
    const uint8_t lens[2] = {2, 8};
    cs_tls_summary s;
    GByteArray *ch = ja4_example(alpn, lens, 2, true);
    hello_facts(ch, &s);
    CU_ASSERT_STRING_EQUAL(s.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    CU_ASSERT_STRING_EQUAL(s.alpn_offered, "h2,http/1.1");
    CU_ASSERT_EQUAL(s.n_offered_versions, 2);
    cs_tls_summary_clear(&s);
    g_byte_array_free(ch, TRUE);
    /* no signature algorithms: the string ends without '_' -> 6d807ffa2a79 (spec) */
    ch = ja4_example(alpn, lens, 2, false);
    hello_facts(ch, &s);
    CU_ASSERT_STRING_EQUAL(s.ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
    cs_tls_summary_clear(&s);
    g_byte_array_free(ch, TRUE);
    /* ALPN first/last characters, hex when not alphanumeric (spec examples) */
    static const struct {
        uint8_t v[4];
        uint8_t n;
        const char *want;
    } cases[] = {{{0xab}, 1, "ab"},           {{0xab, 0xcd}, 2, "ad"},
                 {{0x30, 0xab}, 2, "3b"},     {{0x30, 0x31, 0xab, 0xcd}, 4, "3d"},
                 {{0x30, 0xab, 0xcd, 0x31}, 4, "01"}, {{'h'}, 1, "hh"},
                 {{0}, 0, "00"}};
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        const uint8_t *one[1] = {cases[i].v};
        ch = ja4_example(one, &cases[i].n, 1, true);
        hello_facts(ch, &s);
        CU_ASSERT_EQUAL(strncmp(s.ja4 + 8, cases[i].want, 2), 0);
        cs_tls_summary_clear(&s);
        g_byte_array_free(ch, TRUE);
    }
    ch = ja4_example(NULL, NULL, 0, true); /* ALPN extension with an empty list */
    hello_facts(ch, &s);
    CU_ASSERT_EQUAL(strncmp(s.ja4, "t13d151600_", 11), 0);
    cs_tls_summary_clear(&s);
    g_byte_array_free(ch, TRUE);
}

/* ---- TLS 1.2 records sealed here (EVP) for gap / resync / estimate tests -------------------- */

typedef struct tls12 {
    GByteArray *c, *s;        /* byte streams */
    GArray *c_off, *s_off;    /* record start offsets */
    cs_tls_rp ck, sk;         /* write keys (same derivation as the read side) */
    cs_keylog *kl;
} tls12;

static void put(GByteArray *a, GArray *offs, uint8_t type, const uint8_t *p, uint32_t len)
{
    uint32_t off = a->len;
    g_array_append_val(offs, off);
    GByteArray *r = record(type, 0x0303, p, len);
    g_byte_array_append(a, r->data, r->len);
    g_byte_array_free(r, TRUE);
}

/* AES-128-GCM seal (RFC 5288): explicit nonce = sequence number. */
static void seal(GByteArray *a, GArray *offs, cs_tls_rp *k, uint8_t type, const void *p,
                 uint32_t len)
{
    uint8_t out[2048], nonce[12], aad[13];
    uint64_t seq = k->seq++;
    memcpy(nonce, k->iv, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = out[i] = aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce);
    EVP_EncryptUpdate(ctx, NULL, &n, aad, 13);
    EVP_EncryptUpdate(ctx, out + 8, &n, p, (int)len);
    EVP_EncryptFinal_ex(ctx, out + 8 + n, &n);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 8 + len);
    EVP_CIPHER_CTX_free(ctx);
    put(a, offs, type, out, len + 24);
}

/* A TLS 1.2 ECDHE-RSA-AES128-GCM conversation: hellos, CCS + Finished both ways, then n
 * request/response pairs ("GET /i", "RESP i ..."). */
static void tls12_make(tls12 *x, int n)
{
    memset(x, 0, sizeof *x);
    x->c = g_byte_array_new();
    x->s = g_byte_array_new();
    x->c_off = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    x->s_off = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    const uint16_t ciphers[] = {0xc02f};
    GByteArray *ch = build_ch(0x0303, ciphers, 1, NULL, 0, false);
    g_array_append_val(x->c_off, x->c->len);
    g_byte_array_append(x->c, ch->data, ch->len);
    g_byte_array_free(ch, TRUE);
    uint8_t sh[4 + 38 + 2];
    memset(sh, 0, sizeof sh);
    sh[0] = 2;
    sh[3] = 38;
    sh[4] = 3;
    sh[5] = 3;
    memset(sh + 6, 0x77, 32); /* server random */
    sh[38] = 0;               /* session id */
    sh[39] = 0xc0;
    sh[40] = 0x2f;
    sh[41] = 0;
    put(x->s, x->s_off, 22, sh, 42);
    uint8_t master[48], cr[32], sr[32];
    memset(master, 0x11, 48);
    memset(cr, 0x5a, 32);
    memset(sr, 0x77, 32);
    cs_tls_rp_init12(&x->ck, &x->sk, cs_tls_suite_find(0xc02f), 0x0303, false, master, 48, cr, sr);
    char line[256] = "CLIENT_RANDOM ";
    for (int i = 0; i < 32; i++)
        g_snprintf(line + strlen(line), 3, "%02x", cr[i]);
    g_strlcat(line, " ", sizeof line);
    for (int i = 0; i < 48; i++)
        g_snprintf(line + strlen(line), 3, "%02x", master[i]);
    x->kl = cs_keylog_parse(line, strlen(line));
    const uint8_t ccs = 1;
    uint8_t fin[16] = {20, 0, 0, 12};
    put(x->c, x->c_off, 20, &ccs, 1);
    seal(x->c, x->c_off, &x->ck, 22, fin, 16);
    put(x->s, x->s_off, 20, &ccs, 1);
    seal(x->s, x->s_off, &x->sk, 22, fin, 16);
    for (int i = 0; i < n; i++) {
        char req[32], resp[600];
        g_snprintf(req, sizeof req, "GET /%d", i);
        memset(resp, 'x', sizeof resp);
        g_snprintf(resp, 40, "RESP %d", i);
        seal(x->c, x->c_off, &x->ck, 23, req, (uint32_t)strlen(req));
        seal(x->s, x->s_off, &x->sk, 23, resp, sizeof resp);
    }
}

static void tls12_free(tls12 *x)
{
    g_byte_array_free(x->c, TRUE);
    g_byte_array_free(x->s, TRUE);
    g_array_free(x->c_off, TRUE);
    g_array_free(x->s_off, TRUE);
    cs_tls_rp_clear(&x->ck);
    cs_tls_rp_clear(&x->sk);
    cs_keylog_free(x->kl);
}

static uint32_t off_of(GArray *a, int i)
{
    return g_array_index(a, uint32_t, i);
}

/* Interleaves the streams record by record: client hello, server hello + CCS + Finished, client
 * CCS + Finished, then request i / response i at times 100 + 10 i / 105 + 10 i. The server range
 * [gap_from, gap_to) is replaced by a gap. */
static void tls12_run(tls12 *x, int n, uint32_t gap_from, uint32_t gap_to, const cs_keylog *kl,
                      rec *r, cs_tls_summary *s)
{
    GArray *evs = g_array_new(FALSE, FALSE, sizeof(ev));
    ev e;
    /* server pieces, cutting out the gap */
    uint32_t s_cut[64];
    int ns = 0;
    s_cut[ns++] = 0;
    s_cut[ns++] = off_of(x->s_off, 3); /* SH, CCS, Finished */
    for (int i = 0; i < n; i++)
        s_cut[ns++] = i + 4 < (int)x->s_off->len ? off_of(x->s_off, 4 + i) : x->s->len;
    s_cut[ns - 1] = x->s->len;
    e = (ev){EV_DATA, true, x->c->data, off_of(x->c_off, 1), 10};
    g_array_append_val(evs, e);
    for (int k = 0; k + 1 < ns; k++) {
        if (k == 1) {
            e = (ev){EV_DATA, true, x->c->data + off_of(x->c_off, 1),
                     off_of(x->c_off, 3) - off_of(x->c_off, 1), 30};
            g_array_append_val(evs, e);
        }
        if (k >= 1) {
            uint32_t cs = off_of(x->c_off, 3 + (k - 1));
            uint32_t ce = 3 + k < (int)x->c_off->len ? off_of(x->c_off, 3 + k) : x->c->len;
            e = (ev){EV_DATA, true, x->c->data + cs, ce - cs, 100 + 10 * (k - 1)};
            g_array_append_val(evs, e);
        }
        uint32_t a = s_cut[k], b = s_cut[k + 1];
        cs_time_t ts = k == 0 ? 20 : 105 + 10 * (k - 1);
        /* the part of [a, b) outside the gap */
        if (a < gap_from) {
            e = (ev){EV_DATA, false, x->s->data + a, MIN(b, gap_from) - a, ts};
            g_array_append_val(evs, e);
        }
        if (b > gap_from && a < gap_to) {
            e = (ev){EV_GAP, false, NULL, MIN(b, gap_to) - MAX(a, gap_from), ts};
            g_array_append_val(evs, e);
        }
        if (b > gap_to) {
            uint32_t st = MAX(a, gap_to);
            e = (ev){EV_DATA, false, x->s->data + st, b - st, ts};
            g_array_append_val(evs, e);
        }
    }
    run((ev *)evs->data, (int)evs->len, kl, -1, 0, 0, r, s);
    g_array_free(evs, TRUE);
}

static void test_tls12_decrypt_and_estimate(void)
{
    tls12 x;
    tls12_make(&x, 5);
    rec r;
    cs_tls_summary s;
    rec_init(&r);
    tls12_run(&x, 5, UINT32_MAX, UINT32_MAX, x.kl, &r, &s);
    CU_ASSERT_STRING_EQUAL(s.cipher_name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_OK);
    CU_ASSERT_EQUAL(s.dec_records, 12);
    CU_ASSERT_EQUAL(r.gets, 5);
    CU_ASSERT_EQUAL(r.plain[1]->len, 5 * 600);
    CU_ASSERT_TRUE(s.established);
    CU_ASSERT_STRING_EQUAL(s.history, "CsiI");
    CU_ASSERT_EQUAL(s.estimated_exchanges, 5);
    CU_ASSERT_EQUAL(s.turn_min, 5);
    CU_ASSERT_EQUAL(s.turn_max, 5);
    CU_ASSERT_EQUAL(s.turn_sum, 25);
    CU_ASSERT_EQUAL(s.n_turns, 5);
    CU_ASSERT_EQUAL(s.first_app_ts[0], 100);
    CU_ASSERT_EQUAL(s.first_app_ts[1], 105);
    CU_ASSERT_EQUAL(s.handshake_ns, 90);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* no keys: the same estimate */
    rec_init(&r);
    tls12_run(&x, 5, UINT32_MAX, UINT32_MAX, NULL, &r, &s);
    CU_ASSERT_EQUAL(s.estimated_exchanges, 5);
    CU_ASSERT_EQUAL(s.turn_sum, 25);
    CU_ASSERT_EQUAL(s.app_records[1], 5);
    CU_ASSERT_EQUAL(s.app_bytes[1], 5 * (600 + 24));
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* a key log without this connection: no keys */
    static const char other_line[] =
        "CLIENT_RANDOM 0000000000000000000000000000000000000000000000000000000000000000 "
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    cs_keylog *other = cs_keylog_parse(other_line, strlen(other_line));
    CU_ASSERT_EQUAL(cs_keylog_size(other), 1);
    rec_init(&r);
    tls12_run(&x, 5, UINT32_MAX, UINT32_MAX, other, &r, &s);
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_NO_KEYS);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_NO_KEYS), 1);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    cs_keylog_free(other);
    tls12_free(&x);
}

static void test_tls12_gaps(void)
{
    tls12 x;
    tls12_make(&x, 6);
    rec r;
    cs_tls_summary s;
    /* hole inside response 1 */
    uint32_t r1 = off_of(x.s_off, 4 + 1);
    rec_init(&r);
    tls12_run(&x, 6, r1 + 100, r1 + 300, x.kl, &r, &s);
    CU_ASSERT_EQUAL(r.plain[1]->len, 5 * 600);
    CU_ASSERT_EQUAL(r.gaps[1], 1);
    CU_ASSERT_EQUAL(r.gap_bytes[1], 600);
    CU_ASSERT_EQUAL(s.dec_status, CS_TLS_DEC_PARTIAL);
    CU_ASSERT_EQUAL(s.resyncs, 0);
    CU_ASSERT_EQUAL(s.estimated_exchanges, 6);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* hole from inside response 1 to inside response 3: resync on response 4 (explicit nonce) */
    uint32_t r3 = off_of(x.s_off, 4 + 3);
    rec_init(&r);
    tls12_run(&x, 6, r1 + 100, r3 + 50, x.kl, &r, &s);
    CU_ASSERT_EQUAL(s.resyncs, 1);
    CU_ASSERT_EQUAL(r.plain[1]->len, 3 * 600); /* responses 0, 4, 5 */
    CU_ASSERT_EQUAL(s.dec_failed, 0);
    CU_ASSERT_FALSE(s.stopped[1]);
    CU_ASSERT_EQUAL(r.plain[0]->len, 6 * 6);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    tls12_free(&x);
}

/* ---- robustness ---------------------------------------------------------------------------- */

static void test_garbage(void)
{
    cs_tls_cfg cfg = {NULL};
    rec r;
    rec_init(&r);
    cs_tls_sink sink = {&r, rec_plain, rec_gap, rec_anomaly};
    GRand *rnd = g_rand_new_with_seed(42);
    uint8_t buf[4096];
    convo v;
    convo_make(&v);
    for (int round = 0; round < 400; round++) {
        cfg.keylog = round % 2 ? v.kl : NULL;
        cs_tls_conn *t = cs_tls_new(&cfg);
        int mode = round % 4;
        for (int k = 0; k < 20; k++) {
            uint32_t n = g_rand_int_range(rnd, 0, sizeof buf);
            for (uint32_t i = 0; i < n; i++)
                buf[i] = (uint8_t)g_rand_int(rnd);
            if (mode >= 1 && n >= 5) { /* plausible record headers with random bodies */
                buf[0] = (uint8_t)g_rand_int_range(rnd, 20, 25);
                buf[1] = 3;
                buf[2] = (uint8_t)g_rand_int_range(rnd, 0, 5);
            }
            if (mode >= 2 && n >= 9) { /* and handshake headers */
                buf[0] = 22;
                buf[5] = (uint8_t)g_rand_int_range(rnd, 0, 25);
            }
            if (mode == 3 && k < 8) { /* the RFC conversation with random bit flips */
                const ev *e = &v.evs[k % 8];
                n = MIN(e->len, (uint32_t)sizeof buf);
                memcpy(buf, e->p, n);
                buf[g_rand_int_range(rnd, 0, (gint32)n)] ^= (uint8_t)(1u << g_rand_int_range(rnd, 0, 8));
            }
            bool client = g_rand_boolean(rnd);
            if (g_rand_int_range(rnd, 0, 10) == 0)
                cs_tls_gap(t, &sink, NULL, client, g_rand_int_range(rnd, 1, 70000), k);
            else
                cs_tls_data(t, &sink, NULL, client, buf, n, k);
        }
        cs_tls_end(t, &sink, NULL, true, 99);
        cs_tls_summary s;
        cs_tls_finish(t, &sink, NULL, &s);
        cs_tls_summary_clear(&s);
        cs_tls_free(t);
    }
    convo_free(&v);
    g_rand_free(rnd);
    rec_free(&r);
    CU_PASS("no crash on garbage");
}

static void test_caps_and_bad_headers(void)
{
    /* a record over 16 KiB + 2048 is skipped (counted) and parsing goes on */
    GByteArray *a = g_byte_array_new();
    uint8_t h[5] = {23, 3, 3, 0xff, 0xff};
    g_byte_array_append(a, h, 5);
    uint8_t *big = g_malloc0(0x11000);
    g_byte_array_append(a, big, 0xffff);
    ev e[3] = {{EV_DATA, false, NULL, 0, 1}, {EV_DATA, false, NULL, 0, 2}, {EV_END, false, NULL, 0, 3}};
    GByteArray *alert = record(21, 0x0303, (const uint8_t *)"\x02\x28", 2);
    g_byte_array_append(a, alert->data, alert->len);
    e[0].p = a->data;
    e[0].len = a->len;
    rec r;
    cs_tls_summary s;
    rec_init(&r);
    run(e, 1, NULL, -1, 0, 999, &r, &s);
    CU_ASSERT_EQUAL(s.record_cap_hits, 1);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_RECORD_TOO_LONG), 1);
    CU_ASSERT_EQUAL(s.records[1], 2);
    CU_ASSERT_STRING_EQUAL(s.last_alert, "handshake_failure");
    CU_ASSERT_EQUAL(s.alert_level, 2);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* a handshake message over 64 KiB spread over records: skipped, counted, framing kept */
    GByteArray *b = g_byte_array_new();
    uint8_t hs[4] = {11, 0x01, 0x10, 0x00}; /* Certificate, 69632 bytes */
    GByteArray *stream = g_byte_array_new();
    g_byte_array_append(b, hs, 4);
    g_byte_array_append(b, big, 0x11000);
    for (uint32_t off = 0; off < b->len; off += 16384) {
        GByteArray *rr = record(22, 0x0303, b->data + off, MIN(16384u, b->len - off));
        g_byte_array_append(stream, rr->data, rr->len);
        g_byte_array_free(rr, TRUE);
    }
    g_byte_array_append(stream, alert->data, alert->len);
    e[0] = (ev){EV_DATA, false, stream->data, stream->len, 1};
    rec_init(&r);
    run(e, 1, NULL, -1, 0, 1000, &r, &s);
    CU_ASSERT_EQUAL(s.hs_cap_hits, 1);
    CU_ASSERT_STRING_EQUAL(s.history, "xl");
    CU_ASSERT_FALSE(s.stopped[1]);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* an invalid header mid-stream stops the direction; a record cut by the end is counted */
    uint8_t bad[] = {21, 3, 3, 0, 2, 1, 0, 0x99, 3, 3, 0, 1, 0};
    e[0] = (ev){EV_DATA, false, bad, sizeof bad, 1};
    e[1] = (ev){EV_DATA, false, alert->data, 3, 2};
    rec_init(&r);
    run(e, 2, NULL, -1, 0, 0, &r, &s);
    CU_ASSERT_TRUE(s.stopped[1]);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_BAD_RECORD), 1);
    CU_ASSERT_EQUAL(s.records[1], 1);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    e[0] = (ev){EV_DATA, false, alert->data, 4, 1};
    rec_init(&r);
    run(e, 3, NULL, -1, 0, 0, &r, &s);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_TRUNCATED), 1);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    /* a gap followed by noise without any header: the direction is given up after 64 KiB */
    uint8_t *noise = g_malloc(70000);
    memset(noise, 0x41, 70000);
    ev g[3] = {{EV_DATA, false, alert->data, alert->len, 1}, {EV_GAP, false, NULL, 10, 2},
               {EV_DATA, false, noise, 70000, 3}};
    rec_init(&r);
    run(g, 3, NULL, -1, 0, 1448, &r, &s);
    CU_ASSERT_TRUE(s.stopped[1]);
    CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_GAP_LOST), 1);
    cs_tls_summary_clear(&s);
    rec_free(&r);
    g_free(noise);
    g_free(big);
    g_byte_array_free(a, TRUE);
    g_byte_array_free(b, TRUE);
    g_byte_array_free(stream, TRUE);
    g_byte_array_free(alert, TRUE);
}

static void test_sslv2_hello(void)
{
    /* SSLv2-compatible ClientHello (RFC 5246 E.2): 3 cipher specs, 16-byte challenge */
    uint8_t v2[2 + 9 + 9 + 16] = {0x80, 34, 1, 3, 1, 0, 9, 0, 0, 0, 16,
                                  0, 0, 0x2f, 0, 0, 0x35, 0, 0, 0x0a};
    memset(v2 + 20, 0xcc, 16);
    CU_ASSERT_EQUAL(cs_tls_detect(v2, 3), -1);
    CU_ASSERT_EQUAL(cs_tls_detect(v2, sizeof v2), 1);
    const uint8_t alert[] = {21, 3, 1, 0, 2, 2, 70};
    ev e[2] = {{EV_DATA, true, v2, sizeof v2, 1}, {EV_DATA, false, alert, sizeof alert, 2}};
    for (uint32_t step = 0; step <= 3; step++) {
        rec r;
        cs_tls_summary s;
        rec_init(&r);
        run(e, 2, NULL, -1, 0, step, &r, &s);
        CU_ASSERT_TRUE(s.sslv2_hello);
        CU_ASSERT_TRUE(s.client_hello);
        CU_ASSERT_EQUAL(s.client_version, 0x0301);
        CU_ASSERT_EQUAL(s.records[0], 1);
        CU_ASSERT_EQUAL(anom(&s, CS_ANOM_TLS_SSLV2_HELLO), 1);
        CU_ASSERT_STRING_EQUAL(s.last_alert, "protocol_version");
        CU_ASSERT_STRING_EQUAL(s.history, "Cl");
        cs_tls_summary_clear(&s);
        rec_free(&r);
    }
}

static void test_keylog_and_detect(void)
{
    const char text[] =
        "# comment\n\n"
        "CLIENT_RANDOM 0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20 "
        "AABBCCDDEEFF0011AABBCCDDEEFF0011AABBCCDDEEFF0011AABBCCDDEEFF0011AABBCCDDEEFF0011"
        "AABBCCDDEEFF0011\n"
        "  SERVER_TRAFFIC_SECRET_0 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n"
        "RSA 0011 2233\n"
        "CLIENT_RANDOM 0102 0304\n"
        "CLIENT_TRAFFIC_SECRET_0 zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 00\n";
    cs_keylog *kl = cs_keylog_parse(text, sizeof text - 1);
    CU_ASSERT_EQUAL(cs_keylog_size(kl), 2);
    CU_ASSERT_EQUAL(cs_keylog_skipped(kl), 3);
    uint8_t cr[32];
    for (int i = 0; i < 32; i++)
        cr[i] = (uint8_t)(i + 1);
    const uint8_t *sec = NULL;
    uint32_t len = 0;
    CU_ASSERT_TRUE(cs_keylog_find(kl, CS_KL_CLIENT_RANDOM, cr, &sec, &len));
    CU_ASSERT_EQUAL(len, 48);
    CU_ASSERT_EQUAL(sec[0], 0xaa);
    CU_ASSERT_TRUE(cs_keylog_find(kl, CS_KL_SERVER_AP0, cr, &sec, &len));
    CU_ASSERT_EQUAL(len, 32);
    CU_ASSERT_FALSE(cs_keylog_find(kl, CS_KL_CLIENT_AP0, cr, &sec, &len));
    CU_ASSERT_FALSE(cs_keylog_find(NULL, CS_KL_CLIENT_AP0, cr, &sec, &len));
    cs_keylog_free(kl);
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(cs_keylog_load("/nonexistent/keylog.txt", &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    g_clear_error(&err);
    /* detection */
    CU_ASSERT_EQUAL(cs_tls_detect((const uint8_t *)"\x16\x03\x01\x00\x10\x01", 6), 1);
    CU_ASSERT_EQUAL(cs_tls_detect((const uint8_t *)"\x16\x03\x01\x00\x10\x02", 6), 0);
    CU_ASSERT_EQUAL(cs_tls_detect((const uint8_t *)"\x16\x03", 2), -1);
    CU_ASSERT_EQUAL(cs_tls_detect((const uint8_t *)"GET / HTTP/1.1", 14), 0);
    CU_ASSERT_EQUAL(cs_tls_detect((const uint8_t *)"\x16\x02", 2), 0);
    /* names */
    char buf[24];
    CU_ASSERT_STRING_EQUAL(cs_tls_version_name(0x7f17, buf), "TLSv13-draft23");
    CU_ASSERT_STRING_EQUAL(cs_tls_version_name(0x0301, buf), "TLSv10");
    CU_ASSERT_STRING_EQUAL(cs_tls_alert_name(40, buf), "handshake_failure");
    CU_ASSERT_STRING_EQUAL(cs_tls_alert_name(250, buf), "unknown-250");
    CU_ASSERT_STRING_EQUAL(cs_tls_suite_find(0xcca8)->name,
                           "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    CU_ASSERT_PTR_NULL(cs_tls_suite_find(0x1234));
    CU_ASSERT_STRING_EQUAL(cs_anomaly_name(CS_ANOM_TLS_GAP_LOST), "tls_gap_lost");
}

/* ---- captures through the flow table ------------------------------------------------------- */

typedef struct cap_conn {
    cs_tls_conn *t;
    int state; /* 0 undecided, 1 TLS, 2 other */
    uint32_t gets;
} cap_conn;

typedef struct cap_run {
    cs_tls_cfg cfg;
    cs_tls_sink sink;
    rec r;
    cs_tls_summary sums[8];
    uint32_t gets[8];
    int n;
} cap_run;

/* Plaintext of a replayed connection: kept per direction, GET requests counted per connection. */
static void cap_plain(void *ctx, const cs_conn *c, bool fc, const uint8_t *p, uint32_t len,
                      cs_time_t ts)
{
    cap_conn *k = c->app;
    rec_plain(ctx, c, fc, p, len, ts);
    if (fc && len >= 4 && memcmp(p, "GET ", 4) == 0)
        k->gets++;
}

static void cap_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    cap_run *x = ctx;
    if (c->app == NULL)
        c->app = g_new0(cap_conn, 1);
    cap_conn *k = c->app;
    bool fc = dir == c->client;
    if (k->state == 0 && fc) {
        k->state = cs_tls_detect(p, len) == 1 ? 1 : 2;
        if (k->state == 1)
            k->t = cs_tls_new(&x->cfg);
    }
    if (k->state == 1)
        cs_tls_data(k->t, &x->sink, c, fc, p, len, ts);
}

static void cap_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    cap_run *x = ctx;
    cap_conn *k = c->app;
    if (k != NULL && k->state == 1)
        cs_tls_gap(k->t, &x->sink, c, dir == c->client, len, ts);
}

static void cap_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    cap_run *x = ctx;
    cap_conn *k = c->app;
    if (k != NULL && k->state == 1)
        cs_tls_end(k->t, &x->sink, c, dir == c->client, ts);
}

static void cap_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    cap_run *x = ctx;
    cap_conn *k = c->app;
    (void)why;
    if (k != NULL && k->state == 1) {
        if (x->n < 8) {
            cs_tls_finish(k->t, &x->sink, c, &x->sums[x->n]);
            x->gets[x->n] = k->gets;
            x->n++;
        }
        cs_tls_free(k->t);
    }
    g_free(k);
    c->app = NULL;
}

/* Replays a capture (path relative to $dir_env or "."), with a key log if `keylog` is given.
 * Returns false (and passes) when the capture is not there. */
static bool replay(const char *dir_env, const char *rel, const char *keylog, cap_run *x)
{
    const char *dir = getenv(dir_env);
    char *path = g_build_filename(dir != NULL ? dir : ".", rel, NULL);
    char *kpath = keylog != NULL ? g_build_filename(dir != NULL ? dir : ".", keylog, NULL) : NULL;
    memset(x, 0, sizeof *x);
    rec_init(&x->r);
    x->sink = (cs_tls_sink){&x->r, cap_plain, rec_gap, rec_anomaly};
    bool ok = g_file_test(path, G_FILE_TEST_EXISTS);
    if (!ok) {
        g_free(path);
        g_free(kpath);
        return false;
    }
    GError *err = NULL;
    if (kpath != NULL) {
        x->cfg.keylog = cs_keylog_load(kpath, &err);
        CU_ASSERT_PTR_NOT_NULL(x->cfg.keylog);
        g_clear_error(&err);
    }
    char *paths[1] = {path};
    cs_source *src = cs_source_open_files(paths, 1, NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    cs_flow_cfg fc;
    cs_flow_cfg_default(&fc);
    cs_flow_hooks hooks = {.ctx = x, .stream_data = cap_data, .stream_gap = cap_gap,
                           .stream_end = cap_end, .conn_end = cap_conn_end};
    cs_flow_table *ft = cs_flow_new(&fc, &hooks, &ctr);
    cs_raw raw;
    cs_pkt pkt;
    int rc;
    uint64_t frame = 0;
    while ((rc = cs_source_next(src, &raw)) != 0) {
        if (rc < 0)
            continue;
        frame++;
        if (cs_decode(&raw, &pkt, &ctr) != CS_DEC_TCP)
            continue;
        pkt.frame = frame;
        int pdir;
        cs_flow_packet(ft, &pkt, &pdir);
    }
    cs_flow_flush(ft);
    cs_flow_free(ft);
    cs_source_free(src);
    g_free(path);
    g_free(kpath);
    return true;
}

static void replay_free(cap_run *x)
{
    for (int i = 0; i < x->n; i++)
        cs_tls_summary_clear(&x->sums[i]);
    cs_keylog_free((cs_keylog *)x->cfg.keylog);
    rec_free(&x->r);
}

/* pcaps/tls/ captures (made by pcaps/tls/make-captures.sh; facts cross-checked with tshark). */
static void test_captures(void)
{
    static const struct {
        const char *name;
        int conns;
        const char *cipher;
        const char *version;
        uint32_t gets[2];
        uint8_t resumed_how[2];
        bool hrr;
    } caps[] = {
        {"tls12-aes128gcm", 1, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLSv12", {3, 0}, {0, 0}, false},
        {"tls12-chacha", 1, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLSv12", {2, 0}, {0, 0}, false},
        {"tls13-aes128gcm", 1, "TLS_AES_128_GCM_SHA256", "TLSv13", {3, 0}, {0, 0}, false},
        {"tls13-chacha", 1, "TLS_CHACHA20_POLY1305_SHA256", "TLSv13", {2, 0}, {0, 0}, false},
        {"tls12-resume", 2, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLSv12", {1, 1},
         {CS_TLS_RES_NONE, CS_TLS_RES_SESSION_ID}, false},
        {"tls13-resume", 2, "TLS_AES_256_GCM_SHA384", "TLSv13", {1, 1},
         {CS_TLS_RES_NONE, CS_TLS_RES_PSK}, false},
        {"tls13-hrr-keyupdate", 1, "TLS_AES_256_GCM_SHA384", "TLSv13", {0, 0}, {0, 0}, true},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(caps); i++) {
        char *pcap = g_strdup_printf("pcaps/tls/%s.pcap", caps[i].name);
        char *kl = g_strdup_printf("pcaps/tls/%s.keylog", caps[i].name);
        cap_run *x = g_new0(cap_run, 1);
        if (!replay("SRCDIR", pcap, kl, x)) {
            fprintf(stderr, "\n  (skipped: %s not found; set SRCDIR)\n", pcap);
            g_free(x);
            g_free(pcap);
            g_free(kl);
            continue;
        }
        CU_ASSERT_EQUAL(x->n, caps[i].conns);
        for (int k = 0; k < x->n && k < 2; k++) {
            const cs_tls_summary *s = &x->sums[k];
            CU_ASSERT_STRING_EQUAL(s->server_name, "tls.connscope.test");
            CU_ASSERT_STRING_EQUAL(s->cipher_name, caps[i].cipher);
            CU_ASSERT_STRING_EQUAL(s->version_name, caps[i].version);
            CU_ASSERT_EQUAL(s->dec_status, CS_TLS_DEC_OK);
            CU_ASSERT_EQUAL(s->dec_failed, 0);
            CU_ASSERT_TRUE(s->established);
            CU_ASSERT_EQUAL(x->gets[k], caps[i].gets[k]);
            CU_ASSERT_EQUAL(s->resumed_how, caps[i].resumed_how[k]);
            CU_ASSERT_EQUAL(s->hello_retry, caps[i].hrr);
            if (caps[i].gets[k] > 0)
                CU_ASSERT_EQUAL(s->estimated_exchanges, caps[i].gets[k]);
            CU_ASSERT_STRING_EQUAL(s->last_alert, "close_notify");
            CU_ASSERT_EQUAL(s->anomalies, 0);
        }
        if (caps[i].hrr) {
            CU_ASSERT_EQUAL(x->r.plain[0]->len, 12);
            CU_ASSERT_EQUAL(memcmp(x->r.plain[0]->data, "hello\nworld\n", 12), 0);
            CU_ASSERT_EQUAL(x->r.plain[1]->len, 5);
            CU_ASSERT_STRING_EQUAL(x->sums[0].history, "CjiICs");
            /* OpenSSL logs the secret after the KeyUpdate as CLIENT_TRAFFIC_SECRET_N: it must
             * equal HKDF-Expand-Label(CLIENT_TRAFFIC_SECRET_0, "traffic upd", "", 48) */
            const char *dir = getenv("SRCDIR");
            char *path = g_build_filename(dir != NULL ? dir : ".", kl, NULL);
            gchar *text = NULL;
            CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
            gchar **lines = g_strsplit(text != NULL ? text : "", "\n", -1);
            uint8_t *s0 = NULL, *sn = NULL;
            uint32_t l0 = 0, ln = 0;
            for (gchar **l = lines; *l != NULL; l++) {
                gchar **f = g_strsplit(*l, " ", 3);
                if (g_strv_length(f) == 3 && strcmp(f[0], "CLIENT_TRAFFIC_SECRET_0") == 0)
                    s0 = unhex(f[2], &l0);
                if (g_strv_length(f) == 3 && strcmp(f[0], "CLIENT_TRAFFIC_SECRET_N") == 0)
                    sn = unhex(f[2], &ln);
                g_strfreev(f);
            }
            CU_ASSERT_TRUE_FATAL(s0 != NULL && sn != NULL && l0 == 48 && ln == 48);
            uint8_t next[48];
            CU_ASSERT_TRUE(cs_tls13_expand_label(CS_HASH_SHA384, s0, 48, "traffic upd", NULL, 0,
                                                 next, 48));
            CU_ASSERT_EQUAL(memcmp(next, sn, 48), 0);
            g_free(s0);
            g_free(sn);
            g_strfreev(lines);
            g_free(text);
            g_free(path);
        }
        replay_free(x);
        g_free(x);
        g_free(pcap);
        g_free(kl);
    }
}

/* Corpus captures ($CORPUS, ../shared/corpus): Zeek ssl.log baselines and tshark-decrypted ones. */
static void test_corpus(void)
{
    static const struct {
        const char *file, *keylog;
        int conn;
        const char *sni, *version, *cipher, *curve, *history, *last_alert;
        bool established;
        uint32_t gets;
        uint32_t plain0; /* client plaintext bytes (ping/pong captures) */
    } cases[] = {
        {"zeek/tls__tls-1.2-handshake-failure.pcap", NULL, 0, "", "", "", "", "Cl",
         "handshake_failure", false, 0, 0},
        {"zeek/tls__tls-conn-with-extensions.pcap", NULL, 0, "ssl.gstatic.com", "TLSv10",
         "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "secp256r1", "CsxknGIti", "", true, 0, 0},
        {"zeek/tls__tls-fragmented-handshake.pcap", NULL, 0, "104.236.167.107", "TLSv12",
         "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "secp256r1", "Csxkn", "", false, 0, 0},
        {"zeek/tls__tls1.2.pcap", NULL, 0, "", "TLSv12", "TLS_RSA_WITH_RC4_128_MD5", "", "CsxnGIi",
         "", true, 0, 0},
        {"zeek/tls__tls13-ech.pcap", NULL, 0, "cloudflare-ech.com", "TLSv13",
         "TLS_AES_128_GCM_SHA256", "x25519", "CsiI", "", true, 0, 0},
        {"zeek/tls__tls13-ech.pcap", NULL, 1, "cloudflare-ech.com", "TLSv13",
         "TLS_AES_128_GCM_SHA256", "x25519", "CsiI", "", true, 0, 0},
        {"zeek/tls__tls13draft23-chrome67.0.3368.0-canary.pcap", NULL, 0,
         "tls13.crypto.mozilla.org", "TLSv13-draft23", "TLS_AES_128_GCM_SHA256", "x25519", "CsiI",
         "", true, 0, 0},
        {"zeek/tls__tls12-decryption.pcap", "zeek/tls__tls12-decryption.pcap.DERIVED.nss-keylog.txt",
         0, "heise.de", "TLSv12", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "x25519", "CsxknGIti",
         "close_notify", true, 1, 0}, /* decrypted alert; Zeek (no keys) logs "-" */
        {"zeek/tls__tls-1.2-stream-keylog.pcap",
         "zeek/tls__tls-1.2-stream-keylog.pcap.DERIVED.nss-keylog.txt", 0, "www.heise.de",
         "TLSv12", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "secp256r1", "CsxknGIi",
         "close_notify", true, 16, 0},
        {"scapy/tls_tcp_frag_withnss.pcap", "scapy/tls_tcp_frag_withnss.pcap.keylog.txt", 0,
         "httpbin.org", "TLSv12", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "secp256r1",
         "CsxknGIti", "", true, 1, 0},
        {"illustrated-tls12/capture.pcap", "illustrated-tls12/keylog.txt", 0,
         "example.ulfheim.net", "TLSv12", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "x25519",
         "CsxknGIi", "close_notify", true, 0, 4},
        {"illustrated-tls13/capture.pcap", "illustrated-tls13/keylog.txt", 0,
         "example.ulfheim.net", "TLSv13", "TLS_AES_256_GCM_SHA384", "x25519", "CsiI", "", true, 0,
         4},
        {"arkime/tls13.pcap", NULL, 0, "blog.cloudflare.com", "TLSv13-draft18",
         "TLS_AES_128_GCM_SHA256", "", "Cs", "", false, 0, 0},
        {"suricata-verify/tls-alpn-log-detect-02__input.pcap", NULL, 0, "p130-contacts.icloud.com",
         "TLSv12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519", "CsxuknGIi", "", true, 0,
         0},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        cap_run *x = g_new0(cap_run, 1);
        if (!replay("CORPUS", cases[i].file, cases[i].keylog, x)) {
            fprintf(stderr, "\n  (skipped: %s not found; set CORPUS)\n", cases[i].file);
            g_free(x);
            continue;
        }
        CU_ASSERT_FATAL(x->n > cases[i].conn);
        const cs_tls_summary *s = &x->sums[cases[i].conn];
        CU_ASSERT_STRING_EQUAL(s->server_name, cases[i].sni);
        CU_ASSERT_STRING_EQUAL(s->version_name, cases[i].version);
        CU_ASSERT_STRING_EQUAL(s->cipher_name, cases[i].cipher);
        CU_ASSERT_STRING_EQUAL(s->curve, cases[i].curve);
        CU_ASSERT_STRING_EQUAL(s->history, cases[i].history);
        CU_ASSERT_STRING_EQUAL(s->last_alert, cases[i].last_alert);
        CU_ASSERT_EQUAL(s->established, cases[i].established);
        if (cases[i].keylog != NULL) {
            CU_ASSERT_EQUAL(s->dec_status, CS_TLS_DEC_OK);
            CU_ASSERT_EQUAL(x->gets[cases[i].conn], cases[i].gets);
            if (cases[i].gets > 0)
                CU_ASSERT_EQUAL(s->estimated_exchanges, cases[i].gets);
            if (cases[i].plain0 > 0) {
                CU_ASSERT_EQUAL(s->plain_bytes[0], cases[i].plain0);
                CU_ASSERT_EQUAL(memcmp(x->r.plain[0]->data, "ping", 4), 0);
                CU_ASSERT_EQUAL(memcmp(x->r.plain[1]->data, "pong", 4), 0);
            }
        }
        replay_free(x);
        g_free(x);
    }
    /* JA3/JA3S of two captures against tshark 4.0's tls.handshake.ja3 / ja3s */
    cap_run *x = g_new0(cap_run, 1);
    if (replay("CORPUS", "suricata-verify/tls__tls-client-hello-frag-01__dump_mtu300.pcap", NULL,
               x)) {
        CU_ASSERT_STRING_EQUAL(x->sums[0].ja3_md5, "a64c29923906f2a1be278be1da0714fa");
        CU_ASSERT_STRING_EQUAL(x->sums[0].ja3s_md5, "a27e76e64afe9199440ad714848966f8");
        CU_ASSERT_STRING_EQUAL(x->sums[0].server_name, "www.google.com");
        CU_ASSERT_STRING_EQUAL(x->sums[0].next_protocol, "h2");
        replay_free(x);
    }
    memset(x, 0, sizeof *x);
    if (replay("CORPUS", "arkime/tls13.pcap", NULL, x)) {
        CU_ASSERT_STRING_EQUAL(x->sums[0].ja3s_md5, "b8a8031b301aef7618403061e9f33065");
        replay_free(x);
    }
    g_free(x);
}

/* ---- the hello parser on its own (the entry point QUIC uses) ------------------------------ */

typedef struct msgs_got {
    uint8_t types[8];
    uint32_t lens[8];
    GByteArray *body[8];
    int n;
    uint32_t too_long;
} msgs_got;

static void got_message(void *ctx, uint8_t type, const uint8_t *body, uint32_t len)
{
    msgs_got *g = ctx;
    if (g->n == 8)
        return;
    g->types[g->n] = type;
    g->lens[g->n] = len;
    g->body[g->n] = g_byte_array_new();
    if (body != NULL)
        g_byte_array_append(g->body[g->n], body, len);
    g->n++;
}

static void got_too_long(void *ctx, uint32_t len)
{
    (void)len;
    ((msgs_got *)ctx)->too_long++;
}

static void got_free(msgs_got *g)
{
    for (int i = 0; i < g->n; i++)
        g_byte_array_free(g->body[i], TRUE);
    memset(g, 0, sizeof *g);
}

/* The body of the first handshake record of the capture sent to (to_server) or from port p_srv
 * whose first message has type `hs_type`, or NULL. */
static GByteArray *first_hs_record(const char *rel, bool to_server, uint16_t p_srv, uint8_t hs_type)
{
    const char *dir = getenv("SRCDIR");
    char *path = g_build_filename(dir != NULL ? dir : ".", rel, NULL);
    char *paths[1] = {path};
    GError *err = NULL;
    cs_source *src = cs_source_open_files(paths, 1, NULL, &err);
    g_free(path);
    if (src == NULL) {
        g_clear_error(&err);
        return NULL;
    }
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    GByteArray *found = NULL;
    cs_raw raw;
    cs_pkt pkt;
    int rc;
    while (found == NULL && (rc = cs_source_next(src, &raw)) != 0) {
        if (rc < 0 || cs_decode(&raw, &pkt, &ctr) != CS_DEC_TCP || pkt.payload_len < 9)
            continue;
        const uint8_t *p = pkt.payload;
        uint32_t rl = (uint32_t)p[3] << 8 | p[4];
        if ((to_server ? pkt.dport : pkt.sport) != p_srv || p[0] != 22 || p[5] != hs_type ||
            5 + rl > pkt.payload_len)
            continue;
        found = g_byte_array_new();
        g_byte_array_append(found, p + 5, rl);
    }
    cs_source_free(src);
    return found;
}

/* Splits a record body into messages through cs_tls_msgs, fed `step` bytes at a time. */
static void split_messages(const GByteArray *body, uint32_t step, msgs_got *g)
{
    cs_tls_msgs m;
    memset(&m, 0, sizeof m);
    memset(g, 0, sizeof *g);
    cs_tls_msg_sink sink = {.ctx = g, .message = got_message, .too_long = got_too_long};
    for (uint32_t off = 0; off < body->len; off += step)
        cs_tls_msgs_feed(&m, body->data + off, MIN(step, body->len - off), 64 * 1024, &sink);
    CU_ASSERT_FALSE(cs_tls_msgs_reset(&m)); /* nothing left half-way */
    cs_tls_msgs_free(&m);
}

/* cs_tls_hello_parse and the fingerprints on the ClientHello and ServerHello of two committed
 * captures (pcaps/tls/). Truth: tshark 4.0.17 on the same frames,
 *   tshark -r F -Y tls.handshake.type==1 -T fields -e tls.handshake.length
 *     -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str
 *     -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite
 *     -e tls.handshake.extension.type -e tls.handshake.ja3_full -e tls.handshake.ja3
 * (type==2: -e tls.handshake.length -e tls.handshake.ja3s_full -e tls.handshake.ja3s
 *  -e tls.handshake.extensions_key_share_group). tshark 4.0 has no JA4: the JA4 values are the
 * FoxIO rules applied by a separate Python script to tshark's version, cipher, extension,
 * signature-algorithm and ALPN fields (ja4 = proto + ver + d/i + counts + alpn ends, then
 * sha256[:12] of the sorted ciphers, and of the sorted extensions without 0 and 16 + "_" +
 * the signature algorithms in wire order). */
static void test_hello_parser_capture(void)
{
    static const struct {
        const char *file;
        uint32_t ch_len;
        uint16_t version; /* supported_versions offered (0: none) */
        uint32_t n_ciphers, n_exts;
        const char *ja3, *ja3_md5, *ja4;
        uint32_t sh_len;
        const char *ja3s, *ja3s_md5;
        uint16_t group;
    } caps[] = {
        {"pcaps/tls/tls13-aes128gcm.pcap", 508, 0x0304, 2, 12,
         "771,4865-255,0-11-10-16-22-23-49-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-1-2",
         "0ab4026bf9ce9095232b4d0c5fc11206", "t13d0212h1_ec078ce24869_85302d7e289e", 118,
         "771,4865,43-51", "f4febc55ea12b31ae17cfb7e614afda8", 29},
        {"pcaps/tls/tls12-aes128gcm.pcap", 165, 0, 2, 7,
         "771,49199-255,0-11-10-16-22-23-13,29-23-30-25-24,0-1-2",
         "f1631d7b5c74e0eccf70af0a6086e84b", "t12d0207h1_b06afd972a5c_a44c6288192a", 108,
         "771,49199,65281-0-11-16-23", "5d79edf64e03689ff559a54e9d9487bc", 0},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(caps); i++) {
        GByteArray *hrec = first_hs_record(caps[i].file, true, 19443, 1);
        if (hrec == NULL)
            continue; /* capture not there */
        msgs_got g;
        split_messages(hrec, 7, &g);
        CU_ASSERT_EQUAL_FATAL(g.n, 1);
        CU_ASSERT_EQUAL(g.types[0], CS_TLS_HS_CLIENT_HELLO);
        CU_ASSERT_EQUAL(g.lens[0], caps[i].ch_len);
        cs_tls_hello h;
        CU_ASSERT_TRUE(cs_tls_hello_parse(g.types[0], g.body[0]->data, g.lens[0], &h));
        CU_ASSERT_FALSE(h.truncated);
        CU_ASSERT_STRING_EQUAL(h.server_name, "tls.connscope.test");
        CU_ASSERT_STRING_EQUAL(h.alpn, "http/1.1");
        CU_ASSERT_EQUAL(h.legacy_version, 0x0303);
        CU_ASSERT_EQUAL(h.n_versions, caps[i].version != 0 ? 1u : 0u);
        if (caps[i].version != 0 && h.n_versions == 1)
            CU_ASSERT_EQUAL(h.versions[0], caps[i].version);
        CU_ASSERT_EQUAL(h.n_ciphers, caps[i].n_ciphers);
        CU_ASSERT_EQUAL(h.n_exts, caps[i].n_exts);
        char md5[33], ja4[40], ja4q[40];
        char *ja3 = cs_tls_ja3(&h, md5);
        CU_ASSERT_STRING_EQUAL(ja3, caps[i].ja3);
        CU_ASSERT_STRING_EQUAL(md5, caps[i].ja3_md5);
        cs_tls_ja4(&h, 't', ja4);
        CU_ASSERT_STRING_EQUAL(ja4, caps[i].ja4);
        cs_tls_ja4(&h, 'q', ja4q); /* QUIC: only the first character differs */
        CU_ASSERT_EQUAL(ja4q[0], 'q');
        CU_ASSERT_STRING_EQUAL(ja4q + 1, caps[i].ja4 + 1);
        g_free(ja3);
        cs_tls_hello_clear(&h);
        got_free(&g);
        g_byte_array_free(hrec, TRUE);

        hrec = first_hs_record(caps[i].file, false, 19443, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hrec);
        split_messages(hrec, 1, &g);
        CU_ASSERT_EQUAL_FATAL(g.n, 1);
        CU_ASSERT_EQUAL(g.lens[0], caps[i].sh_len);
        CU_ASSERT_TRUE(cs_tls_hello_parse(g.types[0], g.body[0]->data, g.lens[0], &h));
        CU_ASSERT_FALSE(h.retry);
        CU_ASSERT_EQUAL(h.key_share_group, caps[i].group);
        char *ja3s = cs_tls_ja3s(&h, md5);
        CU_ASSERT_STRING_EQUAL(ja3s, caps[i].ja3s);
        CU_ASSERT_STRING_EQUAL(md5, caps[i].ja3s_md5);
        g_free(ja3s);
        cs_tls_hello_clear(&h);
        got_free(&g);
        g_byte_array_free(hrec, TRUE);
    }
    /* HelloRetryRequest (tls13-hrr-keyupdate, frame 6): tshark shows the magic random, cipher
     * 0x1302, supported_versions 0x0304, key_share selected group x25519 (29) */
    GByteArray *hrec = first_hs_record("pcaps/tls/tls13-hrr-keyupdate.pcap", false, 19447, 2);
    if (hrec != NULL) {
        msgs_got g;
        split_messages(hrec, 3, &g);
        CU_ASSERT_EQUAL_FATAL(g.n, 1);
        CU_ASSERT_EQUAL(g.lens[0], 84);
        CU_ASSERT_TRUE(cs_tls_is_hello_retry(g.body[0]->data, g.lens[0]));
        cs_tls_hello h;
        CU_ASSERT_TRUE(cs_tls_hello_parse(g.types[0], g.body[0]->data, g.lens[0], &h));
        CU_ASSERT_TRUE(h.retry);
        CU_ASSERT_EQUAL(h.cipher, 0x1302);
        CU_ASSERT_EQUAL(h.selected_version, 0x0304);
        CU_ASSERT_EQUAL(h.key_share_group, 29);
        char md5[33];
        char *ja3s = cs_tls_ja3s(&h, md5);
        CU_ASSERT_STRING_EQUAL(ja3s, "771,4866,43-51");
        CU_ASSERT_STRING_EQUAL(md5, "15af977ce25de452b96affa2addb1036");
        g_free(ja3s);
        cs_tls_hello_clear(&h);
        got_free(&g);
        g_byte_array_free(hrec, TRUE);
    }
}

/* The parser alone on hand-built messages: cut at every length it never reads past the end, and
 * says `truncated` (or refuses) instead; other types are refused; the reassembler skips a message
 * over its cap and tells why. */
static void test_hello_parser_edges(void)
{
    static const uint8_t h2[] = "h2", h11[] = "http/1.1";
    const uint8_t *alpn[2] = {h2, h11};
    const uint8_t lens[2] = {2, 8};
    GByteArray *ch = ja4_example(alpn, lens, 2, true); /* a record: 5 + 4 bytes of headers */
    const uint8_t *body = ch->data + 9;
    uint32_t blen = ch->len - 9;
    cs_tls_hello h;
    CU_ASSERT_TRUE(cs_tls_hello_parse(CS_TLS_HS_CLIENT_HELLO, body, blen, &h));
    CU_ASSERT_FALSE(h.truncated);
    char ja4[40];
    cs_tls_ja4(&h, 't', ja4);
    CU_ASSERT_STRING_EQUAL(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1"); /* FoxIO's example */
    cs_tls_hello_clear(&h);
    for (uint32_t cut = 0; cut < blen; cut++) {
        uint8_t *copy = g_memdup2(body, cut); /* exact size: ASan sees any read past it */
        bool ok = cs_tls_hello_parse(CS_TLS_HS_CLIENT_HELLO, copy, cut, &h);
        /* 71: version, random, session id, 16 suites, compression: a whole hello without
         * extensions */
        CU_ASSERT_EQUAL(ok && !h.truncated, cut == 71);
        CU_ASSERT_EQUAL(ok, cut >= 35); /* version, random, session id length */
        cs_tls_hello_clear(&h);
        g_free(copy);
    }
    CU_ASSERT_FALSE(cs_tls_hello_parse(CS_TLS_HS_CERTIFICATE, body, blen, &h));
    cs_tls_hello_clear(&h);
    cs_tls_hello_clear(&h); /* twice is fine */
    /* a 70000-byte message over the 64 KiB cap, fed in pieces: skipped, told, body NULL */
    uint8_t hdr[4] = {CS_TLS_HS_CERTIFICATE, 0x01, 0x11, 0x70};
    uint8_t *big = g_malloc0(70000);
    cs_tls_msgs m;
    memset(&m, 0, sizeof m);
    msgs_got g;
    memset(&g, 0, sizeof g);
    cs_tls_msg_sink sink = {.ctx = &g, .message = got_message, .too_long = got_too_long};
    cs_tls_msgs_feed(&m, hdr, 2, 64 * 1024, &sink);
    cs_tls_msgs_feed(&m, hdr + 2, 2, 64 * 1024, &sink);
    for (uint32_t off = 0; off < 70000; off += 16384)
        cs_tls_msgs_feed(&m, big + off, MIN(16384u, 70000 - off), 64 * 1024, &sink);
    CU_ASSERT_EQUAL(g.too_long, 1);
    CU_ASSERT_EQUAL_FATAL(g.n, 1);
    CU_ASSERT_EQUAL(g.lens[0], 70000);
    CU_ASSERT_EQUAL(g.body[0]->len, 0);
    CU_ASSERT_EQUAL(m.cap, 0); /* never buffered */
    got_free(&g);
    cs_tls_msgs_free(&m);
    g_free(big);
    g_byte_array_free(ch, TRUE);
}

/* anomaly.h: the TLS block is exactly the anomalies named "tls_..." (a TLS summary counts them by
 * their offset in the block). */
static void test_tls_anomaly_block(void)
{
    for (int a = 0; a < CS_ANOM_COUNT; a++) {
        bool in = a >= CS_ANOM_TLS_FIRST && a <= CS_ANOM_TLS_LAST;
        CU_ASSERT_EQUAL(in, g_str_has_prefix(cs_anomaly_name((cs_anomaly)a), "tls_"));
    }
}

void suite_tls(void)
{
    static const cs_test_case cases[] = {
        {"RFC 8448 key schedule: secrets, keys, IVs", test_rfc8448_key_schedule},
        {"RFC 8448 records open (and tampered ones do not)", test_rfc8448_records},
        {"RFC 8448 conversation, split at every byte boundary", test_rfc8448_conversation},
        {"RFC 8448 conversation with gaps (trial sequence numbers)", test_rfc8448_gap},
        {"real ClientHello: SNI, versions, JA3 (tshark)", test_client_hello_real},
        {"JA3 published examples, GREASE ignored", test_ja3_published},
        {"JA4 spec examples and ALPN rules", test_ja4_spec},
        {"TLS 1.2 GCM decryption and exchange estimate", test_tls12_decrypt_and_estimate},
        {"TLS 1.2 gaps: record lost, resync by explicit nonce", test_tls12_gaps},
        {"garbage, flipped bits and random gaps", test_garbage},
        {"caps and bad headers", test_caps_and_bad_headers},
        {"SSLv2-compatible ClientHello", test_sslv2_hello},
        {"key log parsing, detection, names", test_keylog_and_detect},
        {"pcaps/tls captures (curl/openssl, key logs)", test_captures},
        {"corpus captures vs Zeek ssl.log and tshark", test_corpus},
        {"hello parser and fingerprints on capture messages (tshark)", test_hello_parser_capture},
        {"hello parser cut at every length; message cap", test_hello_parser_edges},
        {"anomaly.h: the TLS block is the tls_ names", test_tls_anomaly_block},
        {NULL, NULL}};
    cs_add_suite("tls", cases);
}
