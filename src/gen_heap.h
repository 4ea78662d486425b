/* gen_heap.h - the min-heap ordering connscope-gen's output: a 64-bit key (next packet time << 24 |
 * id) per active connection or starting spec row; 8-ary, a node's children in one cache line. */
#ifndef CS_GEN_HEAP_H
#define CS_GEN_HEAP_H

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define GEN_HEAP_ID_BITS 24
#define GEN_HEAP_ID_MAX ((1u << GEN_HEAP_ID_BITS) - 1)
#define GEN_HEAP_T_MAX ((UINT64_C(1) << (64 - GEN_HEAP_ID_BITS)) - 1) /* ~12.7 days in us */

/* Keys order by time, then by id (so equal times come out in a reproducible order). */
static inline uint64_t gen_heap_key(uint64_t t, uint32_t id)
{
    return t << GEN_HEAP_ID_BITS | id;
}

static inline uint64_t gen_heap_key_t(uint64_t key)
{
    return key >> GEN_HEAP_ID_BITS;
}

static inline uint32_t gen_heap_key_id(uint64_t key)
{
    return (uint32_t)(key & GEN_HEAP_ID_MAX);
}

/* Node i lives at a[i + 7], so the children of i (8i+1 .. 8i+8) are a[8i+8 .. 8i+15]: one
 * 64-byte-aligned line. */
typedef struct gen_heap {
    uint64_t *a;
    uint32_t len, cap;
} gen_heap;

#define GEN_HEAP_OFF 7

/* The smallest key. Only when len > 0. */
static inline uint64_t gen_heap_top(const gen_heap *h)
{
    return h->a[GEN_HEAP_OFF];
}

/* The second smallest key (the next top unless the top's new key is smaller), or UINT64_MAX. */
static inline uint64_t gen_heap_second(const gen_heap *h)
{
    const uint64_t *a = h->a + GEN_HEAP_OFF;
    uint64_t m = UINT64_MAX;
    uint32_t end = h->len < 9 ? h->len : 9;
    for (uint32_t j = 1; j < end; j++)
        if (a[j] < m)
            m = a[j];
    return m;
}

static inline void gen_heap_sift_up(gen_heap *h, uint32_t i, uint64_t k)
{
    uint64_t *a = h->a + GEN_HEAP_OFF;
    while (i > 0) {
        uint32_t p = (i - 1) / 8;
        if (k >= a[p])
            break;
        a[i] = a[p];
        i = p;
    }
    a[i] = k;
}

/* Puts k into the hole at i, moving smaller children up. A connection's next packet is often
 * right away (a burst) and then k stays at the top after one look at a hot cache line. */
static inline void gen_heap_sift_down(gen_heap *h, uint32_t i, uint64_t k)
{
    uint64_t *a = h->a + GEN_HEAP_OFF;
    uint32_t n = h->len;
    for (;;) {
        uint32_t c = 8 * i + 1;
        if (c >= n)
            break;
        uint32_t best = c;
        uint32_t end = c + 8 < n ? c + 8 : n;
        for (uint32_t j = c + 1; j < end; j++)
            if (a[j] < a[best])
                best = j;
        if (k <= a[best])
            break;
        a[i] = a[best];
        i = best;
    }
    a[i] = k;
}

/* Adds a key: O(log n). Can't fail (aborts on OOM). */
static inline void gen_heap_push(gen_heap *h, uint64_t k)
{
    if (h->len + GEN_HEAP_OFF + 8 >= h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 4096;
        uint64_t *a = aligned_alloc(64, (size_t)cap * sizeof *a);
        if (a == NULL)
            g_error("connscope-gen: out of memory");
        if (h->a != NULL)
            memcpy(a, h->a, (size_t)(h->len + GEN_HEAP_OFF) * sizeof *a);
        free(h->a);
        h->a = a;
        h->cap = cap;
    }
    gen_heap_sift_up(h, h->len++, k);
}

/* Replaces the smallest key by k (the same entry's next event): O(log n). Only when len > 0. */
static inline void gen_heap_replace_top(gen_heap *h, uint64_t k)
{
    gen_heap_sift_down(h, 0, k);
}

/* Removes the smallest key. Only when len > 0. */
static inline void gen_heap_pop(gen_heap *h)
{
    h->len--;
    if (h->len > 0)
        gen_heap_sift_down(h, 0, h->a[GEN_HEAP_OFF + h->len]);
}

static inline void gen_heap_free(gen_heap *h)
{
    free(h->a);
    h->a = NULL;
    h->len = h->cap = 0;
}

#endif
