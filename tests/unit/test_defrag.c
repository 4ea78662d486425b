/* test_defrag.c - CUnit suite for src/defrag.c: IP fragments in every order, overlaps resolved as
 * Wireshark's reassembly does (checked against a byte-by-byte model), caps and the timeout.
 * Registered by test_main.c via suite_defrag(). */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#include "defrag.h"
#include "suites.h"

static cs_addr A, B;

static const uint8_t *add(cs_defrag *d, uint32_t id, uint32_t off, bool more, const uint8_t *p,
                          uint32_t len, cs_time_t ts, uint32_t *out_len, cs_counters *c)
{
    return cs_defrag_add(d, 4, &A, &B, id, 6, off, more, p, len, ts, out_len, c);
}

static void setup_addrs(void)
{
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    A.b[0] = 10;
    B.b[0] = 11;
}

/* Fragments in order, in reverse and shuffled give the datagram back on the fragment that
 * completes it, exactly once. */
static void test_orders(void)
{
    setup_addrs();
    uint8_t dg[400];
    for (int i = 0; i < 400; i++)
        dg[i] = (uint8_t)(i * 7 + 1);
    static const int orders[3][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}};
    for (int o = 0; o < 3; o++) {
        cs_counters c;
        memset(&c, 0, sizeof c);
        cs_defrag *d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, CS_NS_PER_S);
        const uint8_t *out = NULL;
        uint32_t n = 0;
        for (int k = 0; k < 5; k++) {
            int f = orders[o][k];
            const uint8_t *r = add(d, 1, (uint32_t)f * 80, f < 4, dg + f * 80, 80, k, &n, &c);
            CU_ASSERT((r != NULL) == (k == 4));
            if (r != NULL)
                out = r;
        }
        CU_ASSERT_EQUAL_FATAL(n, 400);
        CU_ASSERT(out != NULL && memcmp(out, dg, 400) == 0);
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAG_OVERLAP_DIFF], 0);
        cs_defrag_free(d);
    }
}

/* Byte-by-byte model of Wireshark's rule: each byte from the covering fragment with the lowest
 * offset, among equal offsets the first to arrive. */
typedef struct model {
    int owner_off[256];
    uint8_t byte[256];
} model;

static void model_add(model *m, uint32_t off, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        uint32_t b = off + i;
        if (m->owner_off[b] < 0 || (int)off < m->owner_off[b]) {
            m->owner_off[b] = (int)off;
            m->byte[b] = p[i];
        }
    }
}

/* Random overlapping fragments with differing bytes, compared with the model: the datagram is
 * complete exactly when the model covers [0, total), and holds the model's bytes. */
static void test_random_overlaps(void)
{
    setup_addrs();
    uint32_t state = 99;
    for (int trial = 0; trial < 2000; trial++) {
        cs_counters c;
        memset(&c, 0, sizeof c);
        cs_defrag *d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, CS_NS_PER_S);
        model m;
        for (int i = 0; i < 256; i++)
            m.owner_off[i] = -1;
        uint32_t total = 8 + (state = state * 1103515245u + 12345u) % 200;
        bool done = false, total_sent = false;
        for (int k = 0; k < 40 && !done; k++) {
            state = state * 1103515245u + 12345u;
            uint32_t off = (state >> 8) % total, len = 1 + (state >> 20) % 40;
            bool last = (state >> 4) % 5 == 0;
            if (last) {
                off = off < total ? off : 0;
                len = total - off;
            } else if (off + len > total + 8) {
                len = total + 8 - off; /* a little past the end: never used */
            }
            uint8_t p[256];
            for (uint32_t i = 0; i < len; i++)
                p[i] = (uint8_t)((state >> 3) % 3 == 0 ? (uint32_t)k
                                                       : off + i); /* some copies differ */
            uint32_t n = 0;
            const uint8_t *r = add(d, 5, off, !last, p, len, k, &n, &c);
            model_add(&m, off, p, off >= total ? 0 : MIN(len, total - off));
            total_sent |= last;
            bool covered = total_sent;
            for (uint32_t b = 0; b < total && covered; b++)
                covered = m.owner_off[b] >= 0;
            CU_ASSERT_EQUAL(r != NULL, covered);
            if (r != NULL) {
                done = true;
                CU_ASSERT_EQUAL(n, total);
                CU_ASSERT(memcmp(r, m.byte, total) == 0);
            }
        }
        cs_defrag_free(d);
    }
}

/* Overlapping fragments that disagree: the lower offset wins whatever the order, and the
 * difference is counted. */
static void test_conflict(void)
{
    setup_addrs();
    uint8_t f1[24], f2[20];
    memset(f1, 'A', sizeof f1);
    memset(f2, 'A', sizeof f2);
    memset(f2, 'B', 8); /* bytes [16, 24) differ */
    for (int rev = 0; rev < 2; rev++) {
        cs_counters c;
        memset(&c, 0, sizeof c);
        cs_defrag *d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, CS_NS_PER_S);
        uint32_t n = 0;
        const uint8_t *r;
        if (!rev) {
            CU_ASSERT(add(d, 9, 0, true, f1, 24, 1, &n, &c) == NULL);
            r = add(d, 9, 16, false, f2, 20, 2, &n, &c);
        } else {
            CU_ASSERT(add(d, 9, 16, false, f2, 20, 1, &n, &c) == NULL);
            r = add(d, 9, 0, true, f1, 24, 2, &n, &c);
        }
        CU_ASSERT_EQUAL_FATAL(n, 36);
        CU_ASSERT_FATAL(r != NULL);
        for (int i = 0; i < 36; i++)
            CU_ASSERT_EQUAL(r[i], 'A');
        CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAG_OVERLAP_DIFF], 1);
        cs_defrag_free(d);
    }
}

/* The number of incomplete datagrams is capped (the oldest goes, counted); zero-length fragments
 * count against the byte cap; datagrams time out. */
static void test_caps(void)
{
    setup_addrs();
    uint8_t x[16] = {0};
    cs_counters c;
    memset(&c, 0, sizeof c);
    cs_defrag *d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, 3, CS_NS_PER_S);
    uint32_t n;
    for (uint32_t id = 1; id <= 5; id++)
        CU_ASSERT(add(d, id, 0, true, x, 8, id, &n, &c) == NULL);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAG_EVICT], 2);
    /* 1 and 2 were evicted: their second half starts a new datagram; 5 completes */
    CU_ASSERT(add(d, 1, 8, false, x, 8, 6, &n, &c) == NULL);
    CU_ASSERT(add(d, 5, 8, false, x, 8, 7, &n, &c) != NULL);
    CU_ASSERT_EQUAL(n, 16);
    cs_defrag_free(d);

    /* zero-length fragments of distinct datagrams fill the byte cap */
    memset(&c, 0, sizeof c);
    d = cs_defrag_new(4096, CS_DEFRAG_MAX_DATAGRAMS, CS_NS_PER_S);
    for (uint32_t id = 0; id < 1000; id++)
        add(d, id, 8, true, x, 0, 1, &n, &c);
    CU_ASSERT(c.anomalies[CS_ANOM_IP_FRAG_DROPPED] > 900);
    CU_ASSERT(c.anomalies[CS_ANOM_IP_FRAG_DROPPED] < 1000);
    cs_defrag_free(d);

    /* a datagram older than the timeout is forgotten: its last fragment does not complete it */
    memset(&c, 0, sizeof c);
    d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, CS_NS_PER_S);
    CU_ASSERT(add(d, 1, 0, true, x, 8, 0, &n, &c) == NULL);
    CU_ASSERT(add(d, 1, 8, false, x, 8, 2 * CS_NS_PER_S, &n, &c) == NULL);
    CU_ASSERT(add(d, 1, 0, true, x, 8, 2 * CS_NS_PER_S + 1, &n, &c) != NULL);
    cs_defrag_free(d);
}

/* 40,000 first fragments of distinct datagrams: each costs O(1) (this took seconds when every
 * fragment scanned every pending datagram). Correctness only; the timing is test_hostile.sh's. */
static void test_flood(void)
{
    setup_addrs();
    uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cs_counters c;
    memset(&c, 0, sizeof c);
    cs_defrag *d = cs_defrag_new(CS_DEFRAG_MAX_BYTES, CS_DEFRAG_MAX_DATAGRAMS, 60 * CS_NS_PER_S);
    uint32_t n;
    for (uint32_t id = 0; id < 40000; id++)
        add(d, id, 0, true, x, 1, id, &n, &c);
    /* every one of them can still be completed */
    const uint8_t *r = add(d, 123, 1, false, x + 1, 7, 40001, &n, &c);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT(r != NULL && memcmp(r, x, 8) == 0);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAG_EVICT], 0);
    CU_ASSERT_EQUAL(c.anomalies[CS_ANOM_IP_FRAG_DROPPED], 0);
    cs_defrag_free(d);
}

void suite_defrag(void)
{
    static const cs_test_case cases[] = {
        {"fragments in any order", test_orders},
        {"random overlaps against a model of Wireshark's rule", test_random_overlaps},
        {"conflicting overlap: lowest offset wins, counted", test_conflict},
        {"datagram cap, byte cap, timeout", test_caps},
        {"flood of distinct datagrams", test_flood},
        {NULL, NULL},
    };
    cs_add_suite("defrag", cases);
}
