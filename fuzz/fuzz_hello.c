/* fuzz_hello.c - libFuzzer target: the parts of the TLS layer that QUIC reuses, on their own
 * (src/tls_handshake.c, src/tls_hello.c, src/tls_fingerprint.c): a handshake byte stream split into
 * messages, each message parsed as a hello and fingerprinted.
 *
 * Input layout: [0] piece size selector (pieces of splits[b & 7] bytes, 0: whole), [1] message cap
 * selector (caps[(b >> 4) & 3]); then the handshake bytes as they would come from the bodies of
 * handshake records or from in-order QUIC CRYPTO data. Every piece is fed from a heap buffer of
 * exactly its size, and every message is parsed from an exact-size copy, so ASan sees any read
 * beyond either. The first 8 bytes after the selectors are also parsed directly as the body of a
 * ClientHello, ServerHello and SSLv2 hello, so that short bodies are covered too.
 *
 * Checks: messages come whole and in order (after every feed, the bytes fed are those of the
 * messages handed over plus the header and body bytes of the one in progress), a skipped message is one over the cap and was announced; a parsed hello's
 * lists fit in its body (GREASE removed, so never longer), its strings are terminated inside their
 * arrays, JA3/JA3S MD5s are 32 hex digits and JA4 has the 10 + 1 + 12 + 1 + 12 layout with the
 * transport letter first; cs_tls_hello_clear() and cs_tls_msgs_free() leave nothing (LeakSanitizer). */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_fingerprint.h"
#include "tls_handshake.h"
#include "tls_hello.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_hello: invariant failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct state {
    uint64_t consumed; /* header + body bytes of the messages handed over */
    uint32_t cap;
    uint32_t announced;
    uint32_t skipped;
} state;

static void check_str(const char *s, size_t size)
{
    CHECK(memchr(s, '\0', size) != NULL);
}

/* s[0..n) are lowercase hex digits. */
static void check_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(g_ascii_isxdigit(s[i]) && !g_ascii_isupper(s[i]));
}

static void check_hello(const cs_tls_hello *h, uint32_t len)
{
    CHECK(h->n_ciphers <= len / 2 && h->n_exts <= len / 4 + 1 && h->n_groups <= len / 2);
    CHECK(h->n_sigalgs <= len / 2 && h->n_versions <= len / 2 && h->n_formats <= len);
    CHECK(h->session_id_len <= 32);
    check_str(h->server_name, sizeof h->server_name);
    check_str(h->alpn, sizeof h->alpn);
    char md5[33], ja4[40];
    if (h->type == CS_TLS_HS_CLIENT_HELLO) {
        g_free(cs_tls_ja3(h, md5));
        CHECK(strlen(md5) == 32);
        check_hex(md5, 32);
        for (int i = 0; i < 2; i++) {
            char tr = i == 0 ? 't' : 'q';
            cs_tls_ja4(h, tr, ja4);
            CHECK(strlen(ja4) == 36 && ja4[0] == tr && ja4[10] == '_' && ja4[23] == '_');
            check_hex(ja4 + 11, 12);
            check_hex(ja4 + 24, 12);
        }
    } else if (h->type == CS_TLS_HS_SERVER_HELLO) {
        g_free(cs_tls_ja3s(h, md5));
        CHECK(strlen(md5) == 32);
        check_hex(md5, 32);
    }
}

static void parse_one(uint8_t type, const uint8_t *body, uint32_t len)
{
    uint8_t *copy = g_memdup2(body, len); /* exact size */
    cs_tls_hello h;
    if (cs_tls_hello_parse(type, copy, len, &h))
        check_hello(&h, len);
    cs_tls_hello_clear(&h);
    if (cs_tls_sslv2_hello_parse(copy, len, &h))
        CHECK(h.type == CS_TLS_HS_CLIENT_HELLO);
    cs_tls_hello_clear(&h);
    g_free(copy);
}

static void on_message(void *ctx, uint8_t type, const uint8_t *body, uint32_t len)
{
    state *s = ctx;
    s->consumed += 4 + (uint64_t)len;
    if (body == NULL) {
        CHECK(len > s->cap);
        s->skipped++;
        CHECK(s->skipped <= s->announced);
        return;
    }
    parse_one(type, body, len);
}

static void on_too_long(void *ctx, uint32_t len)
{
    state *s = ctx;
    CHECK(len > s->cap);
    s->announced++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t splits[8] = {0, 1, 2, 3, 5, 16, 100, 1000};
    static const uint32_t caps[4] = {65536, 16, 300, 4096};
    if (size < 2)
        return 0;
    uint32_t piece = splits[data[0] & 7];
    state s = {.cap = caps[(data[1] >> 4) & 3]};
    const uint8_t *p = data + 2;
    uint32_t len = (uint32_t)(size - 2);
    for (uint8_t t = 1; t <= 2; t++)
        parse_one(t, p, MIN(len, 8u));
    cs_tls_msgs m;
    memset(&m, 0, sizeof m);
    cs_tls_msg_sink sink = {.ctx = &s, .message = on_message, .too_long = on_too_long};
    uint64_t fed = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t n = piece == 0 ? len - off : MIN(piece, len - off);
        uint8_t *chunk = g_memdup2(p + off, n);
        cs_tls_msgs_feed(&m, chunk, n, s.cap, &sink);
        g_free(chunk);
        off += n;
        fed += n;
        /* whatever is not yet handed over is the message in progress */
        CHECK(s.consumed <= fed);
        CHECK(fed - s.consumed == (m.hdr_len < 4 ? m.hdr_len : 4 + (uint64_t)m.have));
    }
    cs_tls_msgs_reset(&m);
    cs_tls_msgs_free(&m);
    CHECK(m.buf == NULL);
    return 0;
}
