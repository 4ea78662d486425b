/* fuzz_quic.c - libFuzzer target: the QUIC connection table (src/quic_conn.c) with headers,
 * Initial protection, frames and CRYPTO reassembly (quic.c, quic_crypto.c, quic_cstream.c) fed a
 * sequence of datagrams decoded from the input. Raw datagrams reach the header and connection-ID
 * code; Initial packets that the harness protects itself (tests/quic_protect.h) carry fuzzed
 * frames past the AEAD, so frame walking and CRYPTO reassembly get fuzzed bytes too.
 *
 * Input layout:
 *   [0]     config: bits 0-1 CRYPTO cap {64, 300, 4096, 65536}, bits 2-3 connection cap
 *           {1, 3, 16, 1000}
 *   then operations, each an opcode byte `op`:
 *   op & 7 == 0, 1  raw datagram: op 0x08 from the server, 0x30 client port (4 flows), 0x40 cut by
 *                   the snaplen (wire length + 100), 0x80 forced (--quic-port); u16 length, bytes
 *   op & 7 == 2, 3  protected Initial from the client (2) or the server (3): op 0x18 version
 *                   {v1, v2, draft-29, v1}, 0x60 client port; then a byte: bits 0-1 DCID, bits
 *                   2-3 SCID, bits 4-5 the DCID whose keys protect it (from a pool of four IDs of
 *                   8, 8, 20 and 0 bytes); a packet number byte; u16 frames length, frames (padded
 *                   to 1162 bytes when from the client and shorter)
 *   op & 7 == 4     time: u8 seconds forward, then expiry
 *   op & 7 == 5     the UDP flow of client port (op >> 3) & 3 ends
 *   op & 7 == 6     Handshake/0-RTT header (op 0x08: 0-RTT) with pool IDs as for 2: byte, u8
 *                   length of filler (unprotected: it is never opened)
 *   op & 7 == 7     short header to pool ID (op >> 3) & 3: u8 length of filler, op 0x40 from server
 *
 * Invariants checked:
 *   - connections tracked <= the cap after every datagram; the heap in use stays within a bound
 *     set by the peak number of connections and the CRYPTO cap;
 *   - each handshake message handed over is whole: 4 + its uint24 length, at most the cap, level
 *     0 or 1, direction 0 or 1;
 *   - each ended connection: history NUL-terminated at hist_len <= 100 and made of Zeek's letters,
 *     the client sent at least one datagram, bytes >= datagrams, numbers below the connections
 *     created, pending CRYPTO bytes within the cap;
 *   - after the flush no connection is left and every one created ended exactly once. */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/quic_protect.h"
#include "quic_conn.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_quic: invariant failed: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const uint32_t crypto_caps[] = {64, 300, 4096, 65536};
static const uint32_t conn_caps[] = {1, 3, 16, 1000};
static const uint32_t versions[] = {CS_QUIC_V1, CS_QUIC_V2, 0xff00001du, CS_QUIC_V1};
static const uint8_t pool[4][20] = {
    {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08},
    {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5},
    {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
     0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05},
    {0},
};
static const uint8_t pool_len[4] = {8, 8, 20, 0};

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t rd8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint16_t rd16(reader *r)
{
    uint16_t hi = rd8(r);
    return (uint16_t)((hi << 8) | rd8(r));
}

/* Takes up to n bytes. */
static const uint8_t *take(reader *r, size_t *n)
{
    if (*n > r->n)
        *n = r->n;
    const uint8_t *p = r->p;
    r->p += *n;
    r->n -= *n;
    return p;
}

typedef struct run {
    cs_quic_table *q;
    cs_counters counters;
    uint32_t crypto_cap;
    uint64_t ended;
    void *slots[4];
    cs_time_t now;
} run;

static void on_handshake(void *ctx, cs_quic_conn *c, int dir, int level, const uint8_t *msg,
                         uint32_t len, cs_time_t ts)
{
    run *r = ctx;
    CHECK(dir == 0 || dir == 1);
    CHECK(level == 0 || level == 1);
    CHECK(len >= 4 && len <= r->crypto_cap);
    CHECK(len == 4 + ((uint32_t)msg[1] << 16 | (uint32_t)msg[2] << 8 | msg[3]));
    volatile uint8_t last = msg[len - 1]; /* every byte readable */
    (void)last;
}

static void on_end(void *ctx, cs_quic_conn *c, cs_quic_end why)
{
    run *r = ctx;
    r->ended++;
    CHECK(c->hist_len <= CS_QUIC_HISTORY_MAX && strlen(c->history) == c->hist_len);
    CHECK(strspn(c->history, "IiHhZzRrCcSsUuXxOo") == c->hist_len);
    CHECK(c->dgrams[0] >= 1);
    CHECK(c->bytes[0] >= c->dgrams[0] && c->bytes[1] >= c->dgrams[1]);
    CHECK(c->number < cs_quic_get_stats(r->q)->conns);
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < 2; l++)
            if (c->crypto[d][l] != NULL)
                CHECK(cs_quic_cstream_pending(c->crypto[d][l]) <= r->crypto_cap);
}

static void send(run *r, int from_server, int port, const uint8_t *p, uint32_t len, uint32_t wire,
                 bool force)
{
    cs_addr ca = {{10, 0, 0, 1}}, sa = {{10, 0, 0, 2}};
    uint16_t cport = (uint16_t)(50000 + port);
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches a read past it */
    memcpy(copy, p, len);
    cs_quic_dgram d = {4,
                       from_server ? &sa : &ca,
                       from_server ? &ca : &sa,
                       from_server ? 443 : cport,
                       from_server ? cport : 443,
                       copy,
                       len,
                       wire > len ? wire : len,
                       r->now,
                       &r->slots[port],
                       force};
    cs_quic_conn *c = NULL;
    int dir = -1;
    bool quic = cs_quic_datagram(r->q, &d, &c, &dir);
    CHECK(c == NULL || quic);
    CHECK(c == NULL || dir == 0 || dir == 1);
    free(copy);
}

static void protected_initial(run *r, reader *in, uint8_t op)
{
    uint8_t ids = rd8(in), pn = rd8(in);
    size_t flen = rd16(in) % 1400;
    const uint8_t *frames = take(in, &flen);
    int from_server = (op & 7) == 3;
    const cs_quic_version *v = cs_quic_version_find(versions[(op >> 3) & 3]);
    int di = ids & 3, si = (ids >> 2) & 3, ki = (ids >> 4) & 3;
    static cs_quic_crypto *qc;
    if (qc == NULL)
        qc = cs_quic_crypto_new();
    cs_quic_keys k[2];
    if (qc == NULL || !cs_quic_initial_keys(qc, v, pool[ki], pool_len[ki], &k[0], &k[1]))
        return;
    uint32_t pad = !from_server && flen < 1162 ? 1162 - (uint32_t)flen : 0;
    static uint8_t out[QP_MAX_LEN(20, 20, 1400, 1162)];
    uint32_t n = qp_protect_long(v, CS_QPT_INITIAL, &k[from_server], pool[di], pool_len[di],
                                 pool[si], pool_len[si], pn, frames, (uint32_t)flen, pad, out);
    if (n > 0)
        send(r, from_server, (op >> 5) & 3, out, n, n, false);
}

/* A Handshake or 0-RTT packet header with filler (never opened: any bytes do). */
static void long_plain(run *r, reader *in, uint8_t op)
{
    uint8_t ids = rd8(in);
    size_t fill = rd8(in);
    const uint8_t *f = take(in, &fill);
    int di = ids & 3, si = (ids >> 2) & 3;
    uint8_t out[64 + 255 + 32];
    uint32_t n = 0;
    out[n++] = (op & 0x08) ? 0xd0 : 0xe0; /* v1 0-RTT or Handshake */
    out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = 1;
    out[n++] = pool_len[di];
    memcpy(out + n, pool[di], pool_len[di]), n += pool_len[di];
    out[n++] = pool_len[si];
    memcpy(out + n, pool[si], pool_len[si]), n += pool_len[si];
    uint32_t length = (uint32_t)fill + 20;
    out[n++] = (uint8_t)(0x40 | length >> 8), out[n++] = (uint8_t)length;
    memset(out + n, 0x5a, 20), n += 20;
    memcpy(out + n, f, fill), n += (uint32_t)fill;
    send(r, (ids >> 6) & 1, (ids >> 7) & 1, out, n, n, false);
}

/* A short header packet to a pool ID with filler. */
static void short_pkt(run *r, reader *in, uint8_t op)
{
    size_t fill = rd8(in);
    const uint8_t *f = take(in, &fill);
    int di = (op >> 3) & 3;
    uint8_t out[1 + 20 + 255];
    uint32_t n = 0;
    out[n++] = 0x41;
    memcpy(out + n, pool[di], pool_len[di]), n += pool_len[di];
    memcpy(out + n, f, fill), n += (uint32_t)fill;
    send(r, (op >> 6) & 1, (op >> 5) & 1, out, n, n, false);
}

static size_t heap_now(void)
{
    return __sanitizer_get_current_allocated_bytes();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    reader in = {data, size};
    uint8_t conf = rd8(&in);
    run r;
    memset(&r, 0, sizeof r);
    r.crypto_cap = crypto_caps[conf & 3];
    cs_quic_cfg cfg;
    cs_quic_cfg_default(&cfg);
    cfg.max_crypto_bytes = r.crypto_cap;
    cfg.max_conns = conn_caps[(conf >> 2) & 3];
    cs_quic_hooks hooks = {&r, NULL, on_handshake, on_end};
    r.now = 1000 * CS_NS_PER_S;
    size_t base = heap_now();
    r.q = cs_quic_new(&cfg, &hooks, &r.counters);
    CHECK(r.q != NULL);
    size_t after_new = heap_now();
    while (in.n > 0) {
        uint8_t op = rd8(&in);
        switch (op & 7) {
        case 0:
        case 1: {
            size_t len = rd16(&in);
            const uint8_t *p = take(&in, &len);
            send(&r, (op >> 3) & 1, (op >> 4) & 3, p, (uint32_t)len,
                 (op & 0x40) ? (uint32_t)len + 100 : 0, (op & 0x80) != 0);
            break;
        }
        case 2:
        case 3:
            protected_initial(&r, &in, op);
            break;
        case 4:
            r.now += (cs_time_t)rd8(&in) * CS_NS_PER_S;
            cs_quic_expire(r.q, r.now);
            break;
        case 5:
            cs_quic_slot_end(r.q, &r.slots[(op >> 3) & 3]);
            break;
        case 6:
            long_plain(&r, &in, op);
            break;
        default:
            short_pkt(&r, &in, op);
            break;
        }
        CHECK(cs_quic_active(r.q) <= cfg.max_conns);
        /* memory: the table, pool chunks of 1024 connections up to the peak, CRYPTO buffers of
         * live connections (4 streams each, a buffer at most the cap) and ID index growth */
        size_t peak = cs_quic_peak(r.q);
        size_t bound = (after_new - base) + 64 * 1024 +
                       ((peak + 1023) / 1024) * 1024 * (sizeof(cs_quic_conn) + 1) +
                       (size_t)cs_quic_active(r.q) * 4 * (r.crypto_cap + 2048 + 256) +
                       (size_t)cs_quic_get_stats(r.q)->conns * 128;
        CHECK(heap_now() - base <= bound);
    }
    cs_quic_flush(r.q);
    CHECK(cs_quic_active(r.q) == 0);
    CHECK(r.ended == cs_quic_get_stats(r.q)->conns);
    cs_quic_free(r.q);
    return 0;
}
