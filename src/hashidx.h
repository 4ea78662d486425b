/* hashidx.h - a purpose-built open-addressing hash index (linear probing, backward-shift deletion).
 * Maps a 32-bit hash to a 32-bit value (a pool slot); the caller's match callback resolves collisions. */
#ifndef CS_HASHIDX_H
#define CS_HASHIDX_H

#include <glib.h>

#include "common.h"

/* val == 0 marks an empty slot, so stored values are pool ids + 1. */
typedef struct cs_hslot {
    uint32_t hash;
    uint32_t val;
} cs_hslot;

typedef struct cs_hidx {
    cs_hslot *slots;
    uint32_t mask;  /* capacity - 1 (capacity is a power of two) */
    uint32_t count;
} cs_hidx;

#define CS_HIDX_NONE UINT32_MAX

/* A 64-bit finaliser (murmur3's fmix64). */
static inline uint64_t cs_hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* Hash of one (address, port) endpoint. */
static inline uint64_t cs_hash_endpoint(const cs_addr *a, uint16_t port)
{
    uint64_t lo, hi;
    __builtin_memcpy(&lo, a->b, 8);
    __builtin_memcpy(&hi, a->b + 8, 8);
    return cs_hash_mix64(lo ^ (hi * UINT64_C(0x9e3779b97f4a7c15)) ^ ((uint64_t)port << 48));
}

/* Which endpoint of the stored tuple (addr[i], port[i]) of `family` sent a packet from (src,
 * sport) to (dst, dport) of family `pfamily`: 0, 1, or -1 when it is another tuple. */
static inline int cs_tuple_dir(const cs_addr addr[2], const uint16_t port[2], uint8_t family,
                               uint8_t pfamily, const cs_addr *src, const cs_addr *dst,
                               uint16_t sport, uint16_t dport)
{
    if (family != pfamily)
        return -1;
    if (sport == port[0] && dport == port[1] && __builtin_memcmp(src, &addr[0], 16) == 0 &&
        __builtin_memcmp(dst, &addr[1], 16) == 0)
        return 0;
    if (sport == port[1] && dport == port[0] && __builtin_memcmp(src, &addr[1], 16) == 0 &&
        __builtin_memcmp(dst, &addr[0], 16) == 0)
        return 1;
    return -1;
}

/* Direction-independent hash of a 4-tuple (the flow tables' key). */
static inline uint32_t cs_hash_tuple(const cs_addr *a, uint16_t pa, const cs_addr *b, uint16_t pb,
                                     uint8_t family)
{
    uint64_t h = cs_hash_endpoint(a, pa) + cs_hash_endpoint(b, pb) + family;
    return (uint32_t)(cs_hash_mix64(h) >> 32);
}

/* Creates an index with room for `hint` entries before it first grows. Can't fail (aborts on OOM). */
static inline void cs_hidx_init(cs_hidx *ix, uint32_t hint)
{
    uint32_t cap = 64;
    while (cap < hint * 2)
        cap *= 2;
    ix->slots = g_new0(cs_hslot, cap);
    ix->mask = cap - 1;
    ix->count = 0;
}

static inline void cs_hidx_free(cs_hidx *ix)
{
    g_free(ix->slots);
    ix->slots = NULL;
}

/* Finds the slot holding a value with hash h for which match(ctx, val) is true.
 * Returns its position, or CS_HIDX_NONE. */
static inline uint32_t cs_hidx_find(const cs_hidx *ix, uint32_t h,
                                    bool (*match)(void *ctx, uint32_t val), void *ctx)
{
    uint32_t i = h & ix->mask;
    for (;;) {
        const cs_hslot *s = &ix->slots[i];
        if (s->val == 0)
            return CS_HIDX_NONE;
        if (s->hash == h && match(ctx, s->val))
            return i;
        i = (i + 1) & ix->mask;
    }
}

/* Finds the slot holding exactly `val` (stored with hash h). Returns CS_HIDX_NONE if absent. */
static inline uint32_t cs_hidx_find_val(const cs_hidx *ix, uint32_t h, uint32_t val)
{
    uint32_t i = h & ix->mask;
    for (;;) {
        const cs_hslot *s = &ix->slots[i];
        if (s->val == 0)
            return CS_HIDX_NONE;
        if (s->val == val)
            return i;
        i = (i + 1) & ix->mask;
    }
}

static inline void cs_hidx_put(cs_hslot *slots, uint32_t mask, uint32_t h, uint32_t val)
{
    uint32_t i = h & mask;
    while (slots[i].val != 0)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].val = val;
}

/* Adds (h, val); does not check for duplicates. Grows to keep the load at most 1/2. */
static inline void cs_hidx_insert(cs_hidx *ix, uint32_t h, uint32_t val)
{
    if ((ix->count + 1) * 2 > ix->mask + 1) {
        uint32_t cap = (ix->mask + 1) * 2;
        cs_hslot *ns = g_new0(cs_hslot, cap);
        for (uint32_t i = 0; i <= ix->mask; i++)
            if (ix->slots[i].val != 0)
                cs_hidx_put(ns, cap - 1, ix->slots[i].hash, ix->slots[i].val);
        g_free(ix->slots);
        ix->slots = ns;
        ix->mask = cap - 1;
    }
    cs_hidx_put(ix->slots, ix->mask, h, val);
    ix->count++;
}

/* Removes the entry at position pos, shifting later entries of the probe run back. */
static inline void cs_hidx_remove_at(cs_hidx *ix, uint32_t pos)
{
    uint32_t i = pos;
    uint32_t j = pos;
    for (;;) {
        j = (j + 1) & ix->mask;
        if (ix->slots[j].val == 0)
            break;
        uint32_t home = ix->slots[j].hash & ix->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            ix->slots[i] = ix->slots[j];
            i = j;
        }
    }
    ix->slots[i].val = 0;
    ix->slots[i].hash = 0;
    ix->count--;
}

#endif
