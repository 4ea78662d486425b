/* flowtable_bench.c - micro-benchmark of a flow-table index: GLib's GHashTable against connscope's
 * open-addressing index (src/hashidx.h) on the same flow-table workload.
 *
 * Workload (identical operation stream for both tables, generated before timing):
 *   - N flows (default 1,000,000) are inserted first ("build");
 *   - then M operations (default 20,000,000) are replayed ("replay"):
 *       95 %  lookup of a live flow, flows picked with Zipf(1)-like popularity (P(rank r) ~ 1/r,
 *             ranks shuffled over the table), and 50 % of the lookups use the reversed tuple, the
 *             way the two directions of a TCP connection arrive;
 *        2 %  lookup of a tuple that is not in the table (a miss);
 *      1.5 %  new flow: a lookup that misses, then an insert (the first packet of a connection);
 *      1.5 %  delete of a live flow picked uniformly (a connection finalised).
 *   With -u the live-flow lookups are uniform instead of Zipf (no locality: the cache-miss bound).
 *
 * Keys are 40 bytes (two 16-byte addresses, two ports, the family): 90 % IPv4 (10.x.y.z clients,
 * 1000 servers on ports 80/443), 10 % IPv6. The hash is direction-independent (the same idea as
 * cs_hash_tuple in src/hashidx.h: mix each endpoint, add the two, mix again) and equality accepts the
 * tuple in either orientation. Both tables index the same pool of flow records:
 *   - cs_hidx: value = pool id + 1, collisions resolved by a match callback that reads the pool
 *     record (exactly how src/flow.c uses it); deletes find the slot by the stored hash + value;
 *   - GHashTable: key = value = pointer to the pool record (so GLib keeps one pointer array),
 *     hash/equal functions read the record; deletes with g_hash_table_remove.
 *
 * Memory: the heap growth (glibc mallinfo2: in-use arena bytes + mmapped bytes) while building the
 * index, divided by the number of entries. The pool of records (shared by both) is reported apart.
 *
 * Build (from the repository root):
 *   cc -O2 -I src bench/flowtable_bench.c $(pkg-config --cflags --libs glib-2.0) -o bench/out/flowtable_bench
 * Usage: flowtable_bench [-n FLOWS] [-m OPS] [-r REPEATS] [-u] [-s SEED] [-t hidx|ghash]
 *   -t runs only one of the two (for perf stat / perf record on one implementation).
 */
#define _GNU_SOURCE
#include <glib.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/hashidx.h"

/* ---- keys, records and the hash --------------------------------------------------------------- */

typedef struct key40 {
    uint8_t a[16], b[16]; /* endpoint addresses (IPv4 in the first 4 bytes, rest zero) */
    uint16_t pa, pb;      /* endpoint ports */
    uint8_t family;       /* 4 or 6 */
    uint8_t pad[3];
} key40;
_Static_assert(sizeof(key40) == 40, "key must be 40 bytes");

typedef struct flow_rec {
    key40 k;
    uint32_t hash; /* cached tuple hash, as cs_conn keeps it */
    uint32_t live;
} flow_rec;

/* Direction-independent: hash(a,pa,b,pb) == hash(b,pb,a,pa). */
static inline uint32_t tuple_hash(const key40 *k)
{
    return cs_hash_tuple((const cs_addr *)(const void *)k->a, k->pa,
                         (const cs_addr *)(const void *)k->b, k->pb, k->family);
}

/* 0 = same orientation, 1 = reversed, -1 = another tuple (like cs_tuple_dir in src/hashidx.h). */
static inline int tuple_dir(const key40 *stored, const key40 *pkt)
{
    if (stored->family != pkt->family)
        return -1;
    if (pkt->pa == stored->pa && pkt->pb == stored->pb && memcmp(pkt->a, stored->a, 16) == 0 &&
        memcmp(pkt->b, stored->b, 16) == 0)
        return 0;
    if (pkt->pa == stored->pb && pkt->pb == stored->pa && memcmp(pkt->a, stored->b, 16) == 0 &&
        memcmp(pkt->b, stored->a, 16) == 0)
        return 1;
    return -1;
}

static void reverse_key(key40 *dst, const key40 *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->a, src->b, 16);
    memcpy(dst->b, src->a, 16);
    dst->pa = src->pb;
    dst->pb = src->pa;
    dst->family = src->family;
}

/* Unique by construction: the client (address, port) is an injective function of id. */
static void make_key(key40 *k, uint32_t id)
{
    memset(k, 0, sizeof *k);
    uint32_t s = id * 0x9E3779B1u; /* odd multiplier: a bijection on 32 bits */
    uint32_t srv = (uint32_t)(cs_hash_mix64(id) % 1000);
    uint16_t sport = (cs_hash_mix64(id ^ 0x55) & 3) ? 443 : 80;
    if (id % 10 == 0) { /* IPv6: 2001:db8::/32 */
        k->family = 6;
        k->a[0] = 0x20; k->a[1] = 0x01; k->a[2] = 0x0d; k->a[3] = 0xb8;
        memcpy(k->a + 12, &s, 4);
        memcpy(k->b, k->a, 4);
        k->b[14] = (uint8_t)(srv >> 8);
        k->b[15] = (uint8_t)srv;
        k->b[4] = 1;
        k->pa = (uint16_t)(32768 + (id & 0x3fff));
    } else {            /* IPv4: client 10.x.y.z, server 192.0.(2..5).n */
        k->family = 4;
        k->a[0] = 10;
        k->a[1] = (uint8_t)(s >> 24);
        k->a[2] = (uint8_t)(s >> 16);
        k->a[3] = (uint8_t)(s >> 8);
        k->b[0] = 192; k->b[1] = 0;
        k->b[2] = (uint8_t)(2 + srv / 250);
        k->b[3] = (uint8_t)(srv % 250 + 1);
        k->pa = (uint16_t)(32768 + (s & 0xff) * 97);
    }
    k->pb = sport;
}

/* ---- the operation stream -------------------------------------------------------------------- */

enum { OP_HIT, OP_MISS, OP_NEW, OP_DEL };

typedef struct op {
    uint32_t id;      /* pool id */
    uint8_t type;     /* OP_* */
    uint8_t reverse;  /* look up with the reversed tuple */
} op;

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static inline uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static inline double rnd01(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0); }

typedef struct workload {
    uint32_t n, m;
    flow_rec *pool;   /* ids [0, n) initial flows, then new flows, then miss-only keys */
    uint32_t pool_len;
    op *ops;
    uint64_t lookups; /* hits + misses + the lookup before each insert */
    uint64_t expect_hits;
} workload;

static void make_workload(workload *w, uint32_t n, uint32_t m, bool uniform)
{
    w->n = n;
    w->m = m;
    /* upper bound of new flows and miss keys: 1.5 % + 2 % of m, plus slack */
    uint32_t extra = (uint32_t)(m * 0.04) + 1024;
    w->pool_len = n + extra;
    w->pool = calloc(w->pool_len, sizeof *w->pool);
    w->ops = malloc((size_t)m * sizeof *w->ops);
    if (!w->pool || !w->ops) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < w->pool_len; i++) {
        make_key(&w->pool[i].k, i);
        w->pool[i].hash = tuple_hash(&w->pool[i].k);
    }
    /* live[] holds the ids of live flows; a flow's Zipf rank is its position in live[] after a
     * shuffle, so popular flows are spread over the whole table. */
    uint32_t cap = n + extra;
    uint32_t *live = malloc((size_t)cap * sizeof *live);
    for (uint32_t i = 0; i < n; i++)
        live[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rnd() % (i + 1));
        uint32_t t = live[i]; live[i] = live[j]; live[j] = t;
    }
    uint32_t nlive = n;
    uint32_t next_new = n;
    /* miss keys come from the top of the pool downward, new flows from n upward */
    uint32_t next_miss = w->pool_len - 1;
    uint64_t lookups = 0, hits = 0;
    for (uint32_t i = 0; i < m; i++) {
        op *o = &w->ops[i];
        uint32_t p = (uint32_t)(rnd() % 1000);
        o->reverse = (uint8_t)(rnd() & 1);
        if (p < 950 && nlive > 0) {
            uint32_t r;
            if (uniform)
                r = (uint32_t)(rnd() % nlive);
            else { /* P(r) ~ 1/(r+1): log-uniform over [1, nlive+1) */
                r = (uint32_t)(exp(rnd01() * log((double)nlive + 1.0))) - 1;
                if (r >= nlive)
                    r = nlive - 1;
            }
            o->type = OP_HIT;
            o->id = live[r];
            lookups++;
            hits++;
        } else if (p < 970 || nlive == 0) {
            o->type = OP_MISS;
            o->id = next_miss--;
            lookups++;
        } else if (p < 985) {
            o->type = OP_NEW;
            o->id = next_new++;
            live[nlive++] = o->id;
            lookups++;
        } else {
            uint32_t r = (uint32_t)(rnd() % nlive);
            o->type = OP_DEL;
            o->id = live[r];
            live[r] = live[--nlive];
        }
        if (next_new > next_miss) {
            fprintf(stderr, "pool too small\n");
            exit(1);
        }
    }
    free(live);
    w->lookups = lookups;
    w->expect_hits = hits;
}

/* ---- helpers ----------------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

typedef struct result {
    double build_s, replay_s;
    size_t index_bytes;      /* heap growth while building the index over n entries */
    size_t index_bytes_end;  /* heap in use by the index after the replay */
    uint64_t hits, entries_end;
} result;

static void keep_best(result *best, const result *r, int first)
{
    if (first) {
        *best = *r;
        return;
    }
    if (r->build_s < best->build_s)
        best->build_s = r->build_s;
    if (r->replay_s < best->replay_s)
        best->replay_s = r->replay_s;
}

/* ---- connscope's cs_hidx ----------------------------------------------------------------------- */

typedef struct hctx {
    const flow_rec *pool;
    const key40 *pkt;
    int dir;
} hctx;

static bool hidx_match(void *vctx, uint32_t val)
{
    hctx *c = vctx;
    c->dir = tuple_dir(&c->pool[val - 1].k, c->pkt);
    return c->dir >= 0;
}

static void run_hidx(const workload *w, result *r)
{
    flow_rec *pool = w->pool;
    size_t before = heap_in_use();
    double t0 = now();
    cs_hidx ix;
    cs_hidx_init(&ix, 1024); /* same start as src/flow.c: grows as flows arrive */
    for (uint32_t i = 0; i < w->n; i++) {
        /* a new flow: lookup (miss) then insert, as cs_flow_packet does */
        hctx c = {pool, &pool[i].k, -1};
        if (cs_hidx_find(&ix, pool[i].hash, hidx_match, &c) == CS_HIDX_NONE)
            cs_hidx_insert(&ix, pool[i].hash, i + 1);
    }
    double t1 = now();
    r->build_s = t1 - t0;
    r->index_bytes = heap_in_use() - before;

    uint64_t hits = 0;
    key40 rev;
    t0 = now();
    for (uint32_t i = 0; i < w->m; i++) {
        const op *o = &w->ops[i];
        const flow_rec *f = &pool[o->id];
        if (o->type == OP_DEL) {
            uint32_t pos = cs_hidx_find_val(&ix, f->hash, o->id + 1);
            if (pos != CS_HIDX_NONE)
                cs_hidx_remove_at(&ix, pos);
            continue;
        }
        const key40 *pkt = &f->k;
        if (o->reverse) {
            reverse_key(&rev, &f->k);
            pkt = &rev;
        }
        uint32_t h = tuple_hash(pkt); /* the packet's hash is computed from the packet */
        hctx c = {pool, pkt, -1};
        uint32_t pos = cs_hidx_find(&ix, h, hidx_match, &c);
        if (pos != CS_HIDX_NONE)
            hits++;
        else if (o->type == OP_NEW)
            cs_hidx_insert(&ix, h, o->id + 1);
    }
    r->replay_s = now() - t0;
    r->hits = hits;
    r->entries_end = ix.count;
    r->index_bytes_end = (size_t)(ix.mask + 1) * sizeof(cs_hslot);
    cs_hidx_free(&ix);
}

/* ---- GLib's GHashTable ------------------------------------------------------------------------- */

static guint gh_hash(gconstpointer k) { return tuple_hash(k); }
static gboolean gh_equal(gconstpointer a, gconstpointer b) { return tuple_dir(a, b) >= 0; }

static void run_ghash(const workload *w, result *r)
{
    flow_rec *pool = w->pool;
    size_t before = heap_in_use();
    double t0 = now();
    GHashTable *t = g_hash_table_new(gh_hash, gh_equal);
    for (uint32_t i = 0; i < w->n; i++) {
        /* key == value == the record: GLib then keeps a single pointer array */
        if (g_hash_table_lookup(t, &pool[i].k) == NULL)
            g_hash_table_add(t, &pool[i]);
    }
    double t1 = now();
    r->build_s = t1 - t0;
    r->index_bytes = heap_in_use() - before;

    uint64_t hits = 0;
    key40 rev;
    t0 = now();
    for (uint32_t i = 0; i < w->m; i++) {
        const op *o = &w->ops[i];
        flow_rec *f = &pool[o->id];
        if (o->type == OP_DEL) {
            g_hash_table_remove(t, &f->k);
            continue;
        }
        const key40 *pkt = &f->k;
        if (o->reverse) {
            reverse_key(&rev, &f->k);
            pkt = &rev;
        }
        if (g_hash_table_lookup(t, pkt) != NULL)
            hits++;
        else if (o->type == OP_NEW)
            g_hash_table_add(t, f);
    }
    r->replay_s = now() - t0;
    r->hits = hits;
    r->entries_end = g_hash_table_size(t);
    size_t end_use = heap_in_use();
    g_hash_table_destroy(t);
    r->index_bytes_end = end_use - heap_in_use();
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint32_t n = 1000000, m = 20000000;
    int reps = 3;
    bool uniform = false;
    int which = 3; /* bit 0: cs_hidx, bit 1: GHashTable */
    int opt;
    while ((opt = getopt(argc, argv, "n:m:r:us:t:h")) != -1) {
        switch (opt) {
        case 't': which = strcmp(optarg, "hidx") == 0 ? 1 : strcmp(optarg, "ghash") == 0 ? 2 : 3; break;
        case 'n': n = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'm': m = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'r': reps = atoi(optarg); break;
        case 'u': uniform = true; break;
        case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
        default:
            fprintf(stderr, "usage: %s [-n FLOWS] [-m OPS] [-r REPEATS] [-u] [-s SEED] [-t hidx|ghash]\n", argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (n < 1 || m < 1 || reps < 1) {
        fprintf(stderr, "n, m and repeats must be positive\n");
        return 2;
    }
    /* keep big blocks in the arena accounting consistent between runs */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);

    workload w;
    make_workload(&w, n, m, uniform);
    printf("workload: %u flows, %u ops (%" PRIu64 " lookups, %.1f%% hits), %s locality, "
           "40-byte keys, record %zu bytes (pool %.1f MB, shared)\n",
           n, m, w.lookups, 100.0 * w.expect_hits / w.lookups, uniform ? "uniform" : "Zipf(1)",
           sizeof(flow_rec), (double)w.pool_len * sizeof(flow_rec) / 1e6);

    result best_h = {0}, best_g = {0}, r;
    for (int i = 0; i < reps; i++) {
        if (which & 1) {
            run_hidx(&w, &r);
            keep_best(&best_h, &r, i == 0);
        }
        if (which & 2) {
            run_ghash(&w, &r);
            keep_best(&best_g, &r, i == 0);
        }
    }
    if (which != 3) {
        const result *b = which == 1 ? &best_h : &best_g;
        printf("%s: build %.2f Mins/s, replay %.2f Mops/s, lookups %.2f M/s, %.1f B/entry\n",
               which == 1 ? "cs_hidx" : "GHashTable", n / b->build_s / 1e6, m / b->replay_s / 1e6,
               w.lookups / b->replay_s / 1e6, (double)b->index_bytes / n);
        return b->hits == w.expect_hits ? 0 : 1;
    }
    if (best_h.hits != w.expect_hits || best_g.hits != w.expect_hits ||
        best_h.entries_end != best_g.entries_end) {
        fprintf(stderr, "MISMATCH: hits hidx=%" PRIu64 " ghash=%" PRIu64 " expected=%" PRIu64
                        ", entries %" PRIu64 " vs %" PRIu64 "\n",
                best_h.hits, best_g.hits, w.expect_hits, best_h.entries_end, best_g.entries_end);
        return 1;
    }
    printf("best of %d runs\n", reps);
    printf("%-12s %12s %14s %14s %12s %12s\n", "index", "build Mins/s", "replay Mops/s",
           "lookups M/s", "B/entry", "B/entry end");
    const result *rs[2] = {&best_h, &best_g};
    const char *names[2] = {"cs_hidx", "GHashTable"};
    for (int i = 0; i < 2; i++) {
        printf("%-12s %12.2f %14.2f %14.2f %12.1f %12.1f\n", names[i], n / rs[i]->build_s / 1e6,
               m / rs[i]->replay_s / 1e6, w.lookups / rs[i]->replay_s / 1e6,
               (double)rs[i]->index_bytes / n, (double)rs[i]->index_bytes_end / rs[i]->entries_end);
    }
    printf("cs_hidx vs GHashTable: replay %.2fx as fast, build %.2fx as fast, %.2fx the memory\n",
           best_g.replay_s / best_h.replay_s, best_g.build_s / best_h.build_s,
           (double)best_h.index_bytes / best_g.index_bytes);
    free(w.ops);
    free(w.pool);
    return 0;
}
