/* fuzz_tls.c - libFuzzer target: the TLS record layer, handshake parser, fingerprints and record
 * decryption (src/app_tls.c, src/tls_decrypt.c) fed with reassembled client and server bytes,
 * gaps and ends taken from the input.
 *
 * Input layout (as fuzz_http.c, so the same seed encoder serves both):
 *   [0]  configuration: 0x01 decrypt with the key log made of pcaps/tls/ *.keylog (loaded once;
 *        seeds from those captures open real records); 0x70 split every data chunk into pieces
 *        of splits[(b >> 4) & 7] bytes (0: whole); 0x80 end both directions before finishing.
 *   then client and server bytes, gaps, ends and time steps separated by FF FE <ctl> control
 *   sequences (stream_input.h). Every data chunk is delivered from a heap buffer of exactly its size, so ASan sees any read
 * beyond it.
 *
 * The sink checks: plaintext comes only with a key log, never empty and at most 16 KiB + 256 per
 * record, from a readable buffer; anomalies are TLS anomalies. After cs_tls_finish(): every
 * string of the summary is terminated inside its array, counts are consistent (decrypted records
 * only with a key log, turns kept <= CS_TLS_MAX_TURNS, n_turns <= estimated exchanges), a second
 * finish gives the same facts, and cs_tls_free() returns every byte: each input runs twice and
 * the heap in use must be back where it was after the second run (the first may leave OpenSSL's
 * one-time algorithm caches behind); LeakSanitizer checks each input too. */
#include <dirent.h>
#include <glib.h>
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_tls.h"
#include "stream_input.h"
#include "tls_decrypt.h"

#ifndef CS_TOP
#define CS_TOP "."
#endif

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tls: invariant failed: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct state {
    bool keys;
    bool finished;
    uint64_t plain_bytes, plain_gaps;
    uint32_t anomalies;
    volatile uint8_t sink_byte;
} state;

static cs_keylog *keylog; /* the committed captures' secrets (LLVMFuzzerInitialize) */

static void on_plaintext(void *ctx, const cs_conn *c, bool from_client, const uint8_t *p,
                         uint32_t len, cs_time_t ts)
{
    state *s = ctx;
    (void)c, (void)from_client, (void)ts;
    CHECK(s->keys);
    CHECK(len > 0 && len <= 16384 + 256);
    uint8_t x = 0;
    for (uint32_t i = 0; i < len; i++) /* every byte must be readable */
        x ^= p[i];
    s->sink_byte = x;
    s->plain_bytes += len;
}

static void on_plaintext_gap(void *ctx, const cs_conn *c, bool from_client, uint32_t len,
                             cs_time_t ts)
{
    state *s = ctx;
    (void)c, (void)from_client, (void)ts, (void)len;
    CHECK(s->keys);
    s->plain_gaps++;
}

static void on_anomaly(void *ctx, const cs_conn *c, cs_anomaly a)
{
    state *s = ctx;
    (void)c;
    CHECK(a >= CS_ANOM_TLS_FIRST && a <= CS_ANOM_TLS_LAST);
    s->anomalies++;
}

static void check_str(const char *s, size_t size)
{
    CHECK(memchr(s, '\0', size) != NULL);
}

static void check_summary(const cs_tls_summary *m, const state *s)
{
    check_str(m->server_name, sizeof m->server_name);
    check_str(m->alpn_offered, sizeof m->alpn_offered);
    check_str(m->next_protocol, sizeof m->next_protocol);
    check_str(m->version_name, sizeof m->version_name);
    check_str(m->cipher_name, sizeof m->cipher_name);
    check_str(m->curve, sizeof m->curve);
    check_str(m->last_alert, sizeof m->last_alert);
    check_str(m->history, sizeof m->history);
    check_str(m->ja3_md5, sizeof m->ja3_md5);
    check_str(m->ja3s_md5, sizeof m->ja3s_md5);
    check_str(m->ja4, sizeof m->ja4);
    CHECK(m->n_offered_versions <= CS_TLS_MAX_VERSIONS);
    CHECK(m->n_turns <= CS_TLS_MAX_TURNS);
    CHECK(m->n_turns <= m->estimated_exchanges);
    CHECK(m->ja3 == NULL || m->client_hello);
    CHECK(m->ja3s == NULL || m->server_hello || m->hello_retry); /* HRR is a ServerHello too */
    CHECK(m->ja3 == NULL || strlen(m->ja3_md5) == 32);
    CHECK(s->keys || (m->dec_records == 0 && m->dec_failed == 0));
    CHECK(s->keys || m->dec_status == CS_TLS_DEC_NONE);
    CHECK(m->anomalies == s->anomalies);
    if (m->estimated_exchanges > 0)
        CHECK(m->turn_min >= 0 && m->turn_min <= m->turn_max);
}


static const uint32_t splits[] = {0, 1, 2, 3, 5, 8, 13, 64};

static void feed(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool client,
                 const uint8_t *p, size_t n, uint32_t split, cs_time_t now)
{
    while (n > 0) {
        size_t k = split > 0 && n > split ? split : n;
        uint8_t *buf = malloc(k);
        memcpy(buf, p, k);
        cs_tls_data(t, sink, c, client, buf, (uint32_t)k, now);
        free(buf);
        p += k;
        n -= k;
    }
}

/* The stream events of the input (stream_input.h) applied to the parser. */
typedef struct tls_ctx {
    cs_tls_conn *t;
    const cs_tls_sink *sink;
    const cs_conn *conn;
    uint32_t split;
    bool first;
} tls_ctx;

static void on_data(void *ctx, bool client, const uint8_t *p, size_t n, cs_time_t now)
{
    tls_ctx *x = ctx;
    if (client && x->first) /* content detection on the client's first bytes */
        (void)cs_tls_detect(p, (uint32_t)n);
    x->first = false;
    feed(x->t, x->sink, x->conn, client, p, n, x->split, now);
}

static void on_gap(void *ctx, bool client, uint32_t len, cs_time_t now)
{
    tls_ctx *x = ctx;
    cs_tls_gap(x->t, x->sink, x->conn, client, len, now);
}

static void on_end(void *ctx, bool client, cs_time_t now)
{
    tls_ctx *x = ctx;
    cs_tls_end(x->t, x->sink, x->conn, client, now);
}

static void run(const uint8_t *data, size_t size)
{
    uint8_t conf = data[0];
    uint32_t split = splits[(conf >> 4) & 7];
    static state s;
    memset(&s, 0, sizeof s);
    s.keys = (conf & 0x01) && keylog != NULL;
    cs_tls_cfg cfg = {.keylog = s.keys ? keylog : NULL};
    cs_tls_sink sink = {.ctx = &s,
                        .plaintext = on_plaintext,
                        .plaintext_gap = on_plaintext_gap,
                        .anomaly = on_anomaly};
    static cs_conn conn; /* the parser only hands it back to the sink */
    cs_time_t now = 1000000;

    cs_tls_conn *t = cs_tls_new(&cfg);
    tls_ctx tc = {.t = t, .sink = &sink, .conn = &conn, .split = split, .first = true};
    fz_stream_ops ops = {.ctx = &tc, .data = on_data, .gap = on_gap, .end = on_end};
    bool ended[2];
    now = fz_stream_run(data + 1, size - 1, &ops, now, ended);
    if (conf & 0x80)
        for (int side = 0; side < 2; side++)
            if (!ended[side])
                cs_tls_end(t, &sink, &conn, side == 0, now);

    cs_tls_summary a, b;
    memset(&a, 0xa5, sizeof a);
    memset(&b, 0x5a, sizeof b);
    cs_tls_finish(t, &sink, &conn, &a);
    s.finished = true;
    check_summary(&a, &s);
    cs_tls_finish(t, &sink, &conn, &b); /* the same facts again */
    CHECK(a.client_hello == b.client_hello && a.server_hello == b.server_hello);
    CHECK(a.established == b.established && a.version == b.version && a.cipher == b.cipher);
    CHECK(a.estimated_exchanges == b.estimated_exchanges && a.dec_records == b.dec_records);
    CHECK(strcmp(a.server_name, b.server_name) == 0 && strcmp(a.ja4, b.ja4) == 0);
    CHECK((a.ja3 == NULL) == (b.ja3 == NULL) && (a.ja3 == NULL || strcmp(a.ja3, b.ja3) == 0));
    cs_tls_summary_clear(&a);
    cs_tls_summary_clear(&b);
    cs_tls_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    run(data, size);
    size_t heap0 = __sanitizer_get_current_allocated_bytes();
    run(data, size);
    size_t heap = __sanitizer_get_current_allocated_bytes();
    if (heap > heap0) {
        fprintf(stderr, "fuzz_tls: %zu bytes still allocated after cs_tls_free()\n", heap - heap0);
        abort();
    }
    return 0;
}

/* Loads the key log (every pcaps/tls/ *.keylog of the source tree, or of $CS_FUZZ_KEYLOG_DIR). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("CS_FUZZ_KEYLOG_DIR");
    gchar *path = g_strdup(dir != NULL ? dir : CS_TOP "/pcaps/tls");
    GString *text = g_string_new(NULL);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (!g_str_has_suffix(e->d_name, ".keylog"))
            continue;
        gchar *f = g_build_filename(path, e->d_name, NULL), *body = NULL;
        gsize n = 0;
        if (g_file_get_contents(f, &body, &n, NULL))
            g_string_append_len(text, body, (gssize)n);
        g_free(body);
        g_free(f);
    }
    if (d != NULL)
        closedir(d);
    keylog = cs_keylog_parse(text->str, text->len);
    fprintf(stderr, "fuzz_tls: %u secrets from %s\n", cs_keylog_size(keylog), path);
    g_string_free(text, TRUE);
    g_free(path);
    return 0;
}
