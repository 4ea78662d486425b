/* pool.h - storage of the flow tables: fixed-size records in chunks of 4096 with stable ids and a free
 * list, and least-recently-used lists threaded through the records (TCP connections, UDP flows). */
#ifndef CS_POOL_H
#define CS_POOL_H

#include <string.h>

#include <glib.h>

#include "common.h"

#define CS_POOL_CHUNK_BITS 12
#define CS_POOL_CHUNK (1u << CS_POOL_CHUNK_BITS)
#define CS_POOL_NIL UINT32_MAX

/* The records: chunk k holds ids [k * 4096, (k + 1) * 4096). Chunks are allocated when the first
 * id in them is handed out and not touched before, so memory grows with the records in use. */
typedef struct cs_pool {
    void **chunks;
    uint32_t nchunks;
    uint32_t bump;      /* ids below it have been handed out at least once */
    uint32_t free_head; /* released ids, linked through the records' lru_next */
} cs_pool;

/* An LRU list of records, oldest first. */
typedef struct cs_lru {
    uint32_t head, tail;
} cs_lru;

static inline void cs_pool_init(cs_pool *p)
{
    memset(p, 0, sizeof *p);
    p->free_head = CS_POOL_NIL;
}

static inline void cs_lru_init(cs_lru *l)
{
    l->head = l->tail = CS_POOL_NIL;
}

/* Frees every chunk (the records' own resources are the caller's). */
static inline void cs_pool_free(cs_pool *p)
{
    for (uint32_t k = 0; k < p->nchunks; k++)
        g_free(p->chunks[k]);
    g_free(p->chunks);
    p->chunks = NULL;
    p->nchunks = 0;
}

/* Defines the typed operations PFX_at, PFX_alloc, PFX_release, PFX_unlink and PFX_append for a
 * record type T with the fields `uint32_t id, lru_prev, lru_next`:
 *   PFX_at(pool, id)         the record with that id;
 *   PFX_alloc(pool)          a zeroed record with its id set (a released one first). Can't fail;
 *   PFX_release(pool, e)     gives e's id back (e must be on no list);
 *   PFX_unlink(pool, l, e)   takes e off list l;
 *   PFX_append(pool, l, e)   puts e at the young end of list l. */
#define CS_POOL_DEFINE(PFX, T)                                                                     \
    static inline T *PFX##_at(const cs_pool *p, uint32_t id)                                       \
    {                                                                                              \
        return &((T *)p->chunks[id >> CS_POOL_CHUNK_BITS])[id & (CS_POOL_CHUNK - 1)];              \
    }                                                                                              \
    static inline T *PFX##_alloc(cs_pool *p)                                                       \
    {                                                                                              \
        uint32_t id;                                                                               \
        if (p->free_head != CS_POOL_NIL) {                                                         \
            id = p->free_head;                                                                     \
            p->free_head = PFX##_at(p, id)->lru_next;                                              \
        } else {                                                                                   \
            id = p->bump++;                                                                        \
            uint32_t k = id >> CS_POOL_CHUNK_BITS;                                                 \
            if (k == p->nchunks) {                                                                 \
                p->chunks = g_renew(void *, p->chunks, ++p->nchunks);                              \
                p->chunks[k] = g_malloc(sizeof(T) * CS_POOL_CHUNK);                                \
            }                                                                                      \
        }                                                                                          \
        T *e = PFX##_at(p, id);                                                                    \
        memset(e, 0, sizeof *e);                                                                   \
        e->id = id;                                                                                \
        return e;                                                                                  \
    }                                                                                              \
    static inline void PFX##_release(cs_pool *p, T *e)                                             \
    {                                                                                              \
        e->lru_next = p->free_head;                                                                \
        p->free_head = e->id;                                                                      \
    }                                                                                              \
    static inline void PFX##_unlink(cs_pool *p, cs_lru *l, T *e)                                   \
    {                                                                                              \
        if (e->lru_prev != CS_POOL_NIL)                                                            \
            PFX##_at(p, e->lru_prev)->lru_next = e->lru_next;                                      \
        else                                                                                       \
            l->head = e->lru_next;                                                                 \
        if (e->lru_next != CS_POOL_NIL)                                                            \
            PFX##_at(p, e->lru_next)->lru_prev = e->lru_prev;                                      \
        else                                                                                       \
            l->tail = e->lru_prev;                                                                 \
    }                                                                                              \
    static inline void PFX##_append(cs_pool *p, cs_lru *l, T *e)                                   \
    {                                                                                              \
        e->lru_next = CS_POOL_NIL;                                                                 \
        e->lru_prev = l->tail;                                                                     \
        if (l->tail != CS_POOL_NIL)                                                                \
            PFX##_at(p, l->tail)->lru_next = e->id;                                                \
        else                                                                                       \
            l->head = e->id;                                                                       \
        l->tail = e->id;                                                                           \
    }

#endif
