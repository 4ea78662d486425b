/* test_hashidx.c - CUnit suite for src/hashidx.h: linear probing with forced collisions,
 * backward-shift deletion (checked against a reference array with a fixed random seed), growth.
 * Registered by test_main.c through suite_hashidx(). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "hashidx.h"
#include "suites.h"

static bool match_val(void *ctx, uint32_t val)
{
    return val == *(const uint32_t *)ctx;
}

/* Position of (h, val) found through the match callback, or CS_HIDX_NONE. */
static uint32_t find(const cs_hidx *ix, uint32_t h, uint32_t val)
{
    return cs_hidx_find(ix, h, match_val, &val);
}

/* The linear-probing invariant: every entry is reachable from its home slot without crossing an
 * empty slot. Also counts the entries. Returns the number of violations. */
static int check_invariant(const cs_hidx *ix)
{
    int bad = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i <= ix->mask; i++) {
        if (ix->slots[i].val == 0) {
            if (ix->slots[i].hash != 0)
                bad++; /* removed slots are cleared */
            continue;
        }
        n++;
        for (uint32_t k = ix->slots[i].hash & ix->mask; k != i; k = (k + 1) & ix->mask)
            if (ix->slots[k].val == 0) {
                bad++;
                break;
            }
    }
    if (n != ix->count)
        bad++;
    return bad;
}

static void test_init_sizes(void)
{
    cs_hidx ix;
    cs_hidx_init(&ix, 0);
    CU_ASSERT_EQUAL(ix.mask, 63);
    CU_ASSERT_EQUAL(ix.count, 0);
    CU_ASSERT_EQUAL(find(&ix, 7, 1), CS_HIDX_NONE);
    CU_ASSERT_EQUAL(cs_hidx_find_val(&ix, 7, 1), CS_HIDX_NONE);
    cs_hidx_free(&ix);
    CU_ASSERT(ix.slots == NULL);
    cs_hidx_init(&ix, 32); /* 64 >= 2*32 */
    CU_ASSERT_EQUAL(ix.mask, 63);
    cs_hidx_free(&ix);
    cs_hidx_init(&ix, 33);
    CU_ASSERT_EQUAL(ix.mask, 127);
    cs_hidx_free(&ix);
    cs_hidx_init(&ix, 100);
    CU_ASSERT_EQUAL(ix.mask, 255);
    cs_hidx_free(&ix);
}

static void test_distinct_hashes(void)
{
    cs_hidx ix;
    cs_hidx_init(&ix, 0);
    for (uint32_t v = 1; v <= 20; v++)
        cs_hidx_insert(&ix, v * 0x9e3779b9u, v);
    CU_ASSERT_EQUAL(ix.count, 20);
    for (uint32_t v = 1; v <= 20; v++) {
        uint32_t pos = find(&ix, v * 0x9e3779b9u, v);
        CU_ASSERT_FATAL(pos != CS_HIDX_NONE);
        CU_ASSERT_EQUAL(ix.slots[pos].val, v);
        CU_ASSERT_EQUAL(ix.slots[pos].hash, v * 0x9e3779b9u);
        CU_ASSERT_EQUAL(cs_hidx_find_val(&ix, v * 0x9e3779b9u, v), pos);
        /* right value, wrong hash: the callback is not even asked */
        CU_ASSERT_EQUAL(find(&ix, v * 0x9e3779b9u + 64 * 1024, v), CS_HIDX_NONE);
    }
    CU_ASSERT_EQUAL(find(&ix, 21 * 0x9e3779b9u, 21), CS_HIDX_NONE);
    CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    cs_hidx_free(&ix);
}

static void test_same_hash_collisions(void)
{
    cs_hidx ix;
    cs_hidx_init(&ix, 0);
    const uint32_t h = 0xabcdef05u;
    for (uint32_t v = 1; v <= 40; v++) /* grows once on the way (33rd insert) */
        cs_hidx_insert(&ix, h, v);
    CU_ASSERT_EQUAL(ix.count, 40);
    CU_ASSERT_EQUAL(ix.mask, 127);
    for (uint32_t v = 1; v <= 40; v++) {
        uint32_t pos = find(&ix, h, v);
        CU_ASSERT_FATAL(pos != CS_HIDX_NONE);
        CU_ASSERT_EQUAL(ix.slots[pos].val, v);
    }
    CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    /* remove from the middle, the front and the back of the run */
    static const uint32_t order[] = {20, 1, 40, 2, 39, 21, 19, 10, 30};
    for (size_t i = 0; i < CS_ARRAY_LEN(order); i++) {
        uint32_t pos = find(&ix, h, order[i]);
        CU_ASSERT_FATAL(pos != CS_HIDX_NONE);
        cs_hidx_remove_at(&ix, pos);
        CU_ASSERT_EQUAL(find(&ix, h, order[i]), CS_HIDX_NONE);
        CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    }
    CU_ASSERT_EQUAL(ix.count, 40 - CS_ARRAY_LEN(order));
    for (uint32_t v = 1; v <= 40; v++) {
        bool removed = false;
        for (size_t i = 0; i < CS_ARRAY_LEN(order); i++)
            removed = removed || order[i] == v;
        CU_ASSERT_EQUAL(find(&ix, h, v) == CS_HIDX_NONE, removed);
        CU_ASSERT_EQUAL(cs_hidx_find_val(&ix, h, v) == CS_HIDX_NONE, removed);
    }
    /* the run is packed from its home slot: 31 entries in slots 5..35 */
    for (uint32_t i = 5; i < 5 + 31; i++)
        CU_ASSERT(ix.slots[i].val != 0);
    CU_ASSERT_EQUAL(ix.slots[36].val, 0);
    cs_hidx_free(&ix);
}

static void test_wraparound_runs(void)
{
    /* capacity 64: homes 62, 63 and 0, 1 make one run that wraps past the end of the table */
    cs_hidx ix;
    cs_hidx_init(&ix, 0);
    const uint32_t hs[] = {62, 62 + 64, 63, 62 + 128, 0, 1, 63 + 64, 0 + 64, 2};
    for (uint32_t i = 0; i < CS_ARRAY_LEN(hs); i++)
        cs_hidx_insert(&ix, hs[i], i + 1);
    CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    /* placed: 62:v1 63:v2 0:v3 1:v4 2:v5 3:v6 4:v7 5:v8 6:v9 */
    CU_ASSERT_EQUAL(ix.slots[62].val, 1);
    CU_ASSERT_EQUAL(ix.slots[63].val, 2);
    CU_ASSERT_EQUAL(ix.slots[0].val, 3);
    CU_ASSERT_EQUAL(ix.slots[6].val, 9);
    /* removing the head of the run must pull the wrapped entries back across the end */
    cs_hidx_remove_at(&ix, 62);
    CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    for (uint32_t i = 1; i < CS_ARRAY_LEN(hs); i++)
        CU_ASSERT(find(&ix, hs[i], i + 1) != CS_HIDX_NONE);
    CU_ASSERT_EQUAL(find(&ix, hs[0], 1), CS_HIDX_NONE);
    /* slot 62 now holds v2 (home 62); v3 (home 63) moved to 63 */
    CU_ASSERT_EQUAL(ix.slots[62].val, 2);
    CU_ASSERT_EQUAL(ix.slots[63].val, 3);
    /* remove an entry sitting at slot 0 and everything after it */
    for (uint32_t v = 4; v <= 9; v++) {
        uint32_t pos = cs_hidx_find_val(&ix, hs[v - 1], v);
        CU_ASSERT_FATAL(pos != CS_HIDX_NONE);
        cs_hidx_remove_at(&ix, pos);
        CU_ASSERT_EQUAL(check_invariant(&ix), 0);
        for (uint32_t w = v + 1; w <= 9; w++)
            CU_ASSERT(find(&ix, hs[w - 1], w) != CS_HIDX_NONE);
    }
    CU_ASSERT_EQUAL(ix.count, 2);
    cs_hidx_free(&ix);
}

/* Small deterministic generator (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_random_against_reference(void)
{
    enum { MAXV = 3000 };
    static uint32_t ref_hash[MAXV + 1];
    static bool present[MAXV + 1];
    memset(present, 0, sizeof present);
    uint32_t state = 2463534242u;
    uint32_t npresent = 0, next_val = 1;
    cs_hidx ix;
    cs_hidx_init(&ix, 8);
    int bad = 0, checks = 0;
    for (int op = 0; op < 30000; op++) {
        uint32_t r = rnd(&state) % 100;
        if (r < 55 && next_val <= MAXV) {
            /* few distinct low bits: long runs and many equal hashes */
            uint32_t h = (rnd(&state) % 40) * 0x01000001u;
            if (rnd(&state) % 3 == 0)
                h = rnd(&state);
            cs_hidx_insert(&ix, h, next_val);
            ref_hash[next_val] = h;
            present[next_val] = true;
            next_val++;
            npresent++;
        } else if (r < 95 && npresent > 0) {
            uint32_t v;
            do
                v = 1 + rnd(&state) % (next_val - 1);
            while (!present[v]);
            uint32_t pos = rnd(&state) % 2 ? find(&ix, ref_hash[v], v)
                                           : cs_hidx_find_val(&ix, ref_hash[v], v);
            if (pos == CS_HIDX_NONE || ix.slots[pos].val != v) {
                bad++;
                continue;
            }
            cs_hidx_remove_at(&ix, pos);
            present[v] = false;
            npresent--;
        } else {
            uint32_t v = 1 + rnd(&state) % MAXV;
            bool got = v < next_val && find(&ix, ref_hash[v], v) != CS_HIDX_NONE;
            if (got != (v < next_val && present[v]))
                bad++;
        }
        if (ix.count != npresent)
            bad++;
        if (ix.count * 2 > ix.mask + 1) /* load stays at most 1/2 */
            bad++;
        if (op % 500 == 0 || op == 29999) {
            checks++;
            bad += check_invariant(&ix);
            for (uint32_t v = 1; v < next_val; v++) {
                uint32_t pos = find(&ix, ref_hash[v], v);
                if ((pos != CS_HIDX_NONE) != present[v])
                    bad++;
                if (pos != CS_HIDX_NONE && (ix.slots[pos].val != v || ix.slots[pos].hash != ref_hash[v]))
                    bad++;
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(checks, 61);
    CU_ASSERT(next_val > 1000); /* the run did exercise a large table */
    cs_hidx_free(&ix);
}

static void test_growth(void)
{
    cs_hidx ix;
    cs_hidx_init(&ix, 100); /* 256 slots */
    CU_ASSERT_EQUAL(ix.mask, 255);
    for (uint32_t v = 1; v <= 128; v++)
        cs_hidx_insert(&ix, v * 2654435761u, v);
    CU_ASSERT_EQUAL(ix.mask, 255); /* exactly half full */
    cs_hidx_insert(&ix, 129 * 2654435761u, 129);
    CU_ASSERT_EQUAL(ix.mask, 511);
    for (uint32_t v = 130; v <= 5000; v++)
        cs_hidx_insert(&ix, (v % 7) * 1024 + v * 2654435761u, v);
    CU_ASSERT_EQUAL(ix.count, 5000);
    CU_ASSERT_EQUAL(ix.mask, 16383);
    CU_ASSERT_EQUAL(check_invariant(&ix), 0);
    int missing = 0;
    for (uint32_t v = 1; v <= 5000; v++) {
        uint32_t h = v <= 129 ? v * 2654435761u : (v % 7) * 1024 + v * 2654435761u;
        if (find(&ix, h, v) == CS_HIDX_NONE)
            missing++;
    }
    CU_ASSERT_EQUAL(missing, 0);
    cs_hidx_free(&ix);
}

void suite_hashidx(void)
{
    static const cs_test_case cases[] = {
        {"init_sizes", test_init_sizes},
        {"distinct_hashes", test_distinct_hashes},
        {"same_hash_collisions", test_same_hash_collisions},
        {"wraparound_runs", test_wraparound_runs},
        {"random_against_reference", test_random_against_reference},
        {"growth", test_growth},
        {NULL, NULL},
    };
    cs_add_suite("hashidx", cases);
}
