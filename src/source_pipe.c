/* source_pipe.c - the reader thread of `-j 2` on one input and its ring: records (header + packet
 * bytes) back to back in one buffer, positions published with C11 release/acquire in batches. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "source_pipe.h"

enum {
    REC_PACKET = 1, /* the bytes follow the header */
    REC_WRAP,       /* nothing more up to the end of the ring: go on at its start */
    REC_BIG,        /* the bytes are in a separate allocation (a packet bigger than ring/4) */
};

#define ALIGN 32u            /* every record starts at a multiple: a header always fits */
#define BATCH (256u << 10)   /* positions are published after this many bytes (or on waits) */
#define PROGRESS_EVERY 4096u /* packets between two progress snapshots of the reader */

typedef struct rec_hdr {
    uint32_t kind;
    uint32_t caplen;
    uint32_t wirelen;
    uint32_t src_idx;
    int64_t ts;
    int32_t dlt;
    uint32_t pad;
} rec_hdr; /* 32 bytes: ALIGN */

struct cs_pipe {
    uint8_t *ring;
    size_t size; /* a power of two */
    cs_pipe_src src;
    pthread_t thread;
    /* shared: each written by one side only (quit: by the consumer) */
    _Alignas(64) _Atomic uint64_t head; /* bytes published by the reader */
    _Alignas(64) _Atomic uint64_t tail; /* bytes the consumer is done with */
    _Atomic bool done;                  /* the reader reached the end (head is final) */
    _Atomic bool quit;                  /* the consumer stops the reader */
    _Atomic uint64_t prog_done, prog_total;
    _Atomic bool prog_ok;
    /* reader only */
    _Alignas(64) uint64_t w_head; /* bytes written (published up to head) */
    uint64_t w_tail;              /* the tail as last read */
    /* consumer only */
    _Alignas(64) uint64_t r_tail; /* start of the record handed out last */
    uint64_t r_head;              /* the head as last read */
    uint64_t r_next;              /* end of the record handed out last */
    uint8_t *big;                 /* the REC_BIG bytes handed out last (freed on the next call) */
    uint64_t *handed;
    uint32_t n_inputs;
};

static uint64_t rec_size(uint32_t bytes)
{
    return (sizeof(rec_hdr) + (uint64_t)bytes + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

/* Waiting for the other side: yield first, then sleep briefly (the machine may have fewer free
 * cores than threads: spinning would take the core the other side needs). */
static void pause_a_bit(unsigned *spins)
{
    if (++*spins < 16) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, 50 * 1000};
    nanosleep(&ts, NULL);
}

/* Reader: waits until `need` bytes are free after w_head. False when told to quit. */
static bool wait_room(cs_pipe *p, uint64_t need)
{
    unsigned spins = 0;
    while (p->w_head + need - p->w_tail > p->size) {
        if (atomic_load_explicit(&p->quit, memory_order_relaxed))
            return false;
        atomic_store_explicit(&p->head, p->w_head, memory_order_release); /* let it see all */
        p->w_tail = atomic_load_explicit(&p->tail, memory_order_acquire);
        if (p->w_head + need - p->w_tail > p->size)
            pause_a_bit(&spins);
    }
    return true;
}

/* Reader: appends one packet (a wrap record first when it does not fit before the ring's end). */
static bool put_packet(cs_pipe *p, const cs_raw *raw)
{
    bool big = raw->caplen > p->size / 4;
    uint64_t need = rec_size(big ? (uint32_t)sizeof(uint8_t *) : raw->caplen);
    uint64_t pos = p->w_head & (p->size - 1);
    if (pos + need > p->size) {
        if (!wait_room(p, p->size - pos))
            return false;
        rec_hdr *w = (rec_hdr *)(p->ring + pos);
        w->kind = REC_WRAP;
        p->w_head += p->size - pos;
        pos = 0;
    }
    if (!wait_room(p, need))
        return false;
    rec_hdr *h = (rec_hdr *)(p->ring + pos);
    h->kind = big ? REC_BIG : REC_PACKET;
    h->caplen = raw->caplen;
    h->wirelen = raw->wirelen;
    h->src_idx = raw->src_idx;
    h->ts = raw->ts;
    h->dlt = raw->dlt;
    if (big) {
        uint8_t *copy = g_memdup2(raw->data, raw->caplen);
        memcpy(h + 1, &copy, sizeof copy);
    } else {
        memcpy(h + 1, raw->data, raw->caplen);
    }
    p->w_head += need;
    return true;
}

static void *reader_main(void *arg)
{
    cs_pipe *p = arg;
    uint64_t published = 0, n = 0;
    cs_raw raw;
    while (!atomic_load_explicit(&p->quit, memory_order_relaxed) &&
           p->src.next(p->src.ctx, &raw) > 0) {
        if (!put_packet(p, &raw))
            break;
        if (p->w_head - published >= BATCH) {
            atomic_store_explicit(&p->head, p->w_head, memory_order_release);
            published = p->w_head;
        }
        if (++n % PROGRESS_EVERY == 0 && p->src.progress != NULL) {
            uint64_t done, total;
            bool ok = p->src.progress(p->src.ctx, &done, &total);
            atomic_store_explicit(&p->prog_done, ok ? done : 0, memory_order_relaxed);
            atomic_store_explicit(&p->prog_total, ok ? total : 0, memory_order_relaxed);
            atomic_store_explicit(&p->prog_ok, ok, memory_order_relaxed);
        }
    }
    atomic_store_explicit(&p->head, p->w_head, memory_order_release);
    atomic_store_explicit(&p->done, true, memory_order_release);
    return NULL;
}

cs_pipe *cs_pipe_start(const cs_pipe_src *src, uint32_t n_inputs, size_t ring_bytes)
{
    cs_pipe *p = g_new0(cs_pipe, 1);
    size_t size = 64u << 10;
    if (ring_bytes == 0)
        ring_bytes = 16u << 20;
    while (size < ring_bytes)
        size <<= 1;
    p->size = size;
    p->ring = g_malloc(size);
    p->src = *src;
    p->n_inputs = n_inputs;
    p->handed = g_new0(uint64_t, n_inputs > 0 ? n_inputs : 1);
    atomic_init(&p->head, 0);
    atomic_init(&p->tail, 0);
    atomic_init(&p->done, false);
    atomic_init(&p->quit, false);
    atomic_init(&p->prog_done, 0);
    atomic_init(&p->prog_total, 0);
    atomic_init(&p->prog_ok, false);
    if (src->progress != NULL) {
        uint64_t done, total;
        bool ok = src->progress(src->ctx, &done, &total);
        atomic_store(&p->prog_done, ok ? done : 0);
        atomic_store(&p->prog_total, ok ? total : 0);
        atomic_store(&p->prog_ok, ok);
    }
    if (pthread_create(&p->thread, NULL, reader_main, p) != 0)
        g_error("cannot start the reader thread");
    return p;
}

/* Consumer: the tail moves past the record handed out last; published in batches. */
static void release(cs_pipe *p, bool now)
{
    g_free(p->big);
    p->big = NULL;
    p->r_tail = p->r_next;
    if (now || p->r_tail - atomic_load_explicit(&p->tail, memory_order_relaxed) >= BATCH)
        atomic_store_explicit(&p->tail, p->r_tail, memory_order_release);
}

int cs_pipe_next(cs_pipe *p, cs_raw *raw)
{
    release(p, false);
    unsigned spins = 0;
    for (;;) {
        if (p->r_tail == p->r_head) {
            bool done = atomic_load_explicit(&p->done, memory_order_acquire);
            p->r_head = atomic_load_explicit(&p->head, memory_order_acquire);
            if (p->r_tail == p->r_head) {
                if (done)
                    return 0;
                release(p, true); /* a reader waiting for room sees it */
                pause_a_bit(&spins);
                continue;
            }
        }
        uint64_t pos = p->r_tail & (p->size - 1);
        const rec_hdr *h = (const rec_hdr *)(p->ring + pos);
        if (h->kind == REC_WRAP) {
            p->r_tail += p->size - pos;
            p->r_next = p->r_tail;
            continue;
        }
        raw->caplen = h->caplen;
        raw->wirelen = h->wirelen;
        raw->ts = h->ts;
        raw->dlt = h->dlt;
        raw->src_idx = h->src_idx;
        if (h->kind == REC_BIG) {
            memcpy(&p->big, h + 1, sizeof p->big);
            raw->data = p->big;
            p->r_next = p->r_tail + rec_size((uint32_t)sizeof(uint8_t *));
        } else {
            raw->data = (const uint8_t *)(h + 1);
            p->r_next = p->r_tail + rec_size(h->caplen);
        }
        if (h->src_idx < p->n_inputs)
            p->handed[h->src_idx]++;
        /* the next record was written by the other core: start fetching it (header, headers
         * of the packet) while this one is analysed */
        const uint8_t *nx = p->ring + (p->r_next & (p->size - 1));
        __builtin_prefetch(nx);
        __builtin_prefetch(nx + 64);
        __builtin_prefetch(nx + 128);
        return 1;
    }
}

uint64_t cs_pipe_handed(const cs_pipe *p, uint32_t i)
{
    return i < p->n_inputs ? p->handed[i] : 0;
}

bool cs_pipe_progress(const cs_pipe *p, uint64_t *done, uint64_t *total)
{
    cs_pipe *q = (cs_pipe *)p; /* atomics are read, never written, here */
    *done = atomic_load_explicit(&q->prog_done, memory_order_relaxed);
    *total = atomic_load_explicit(&q->prog_total, memory_order_relaxed);
    return atomic_load_explicit(&q->prog_ok, memory_order_relaxed);
}

void cs_pipe_stop(cs_pipe *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->quit, true);
    pthread_join(p->thread, NULL);
    /* the records never handed out: free the big ones */
    release(p, true);
    uint64_t head = atomic_load(&p->head);
    while (p->r_tail < head) {
        uint64_t pos = p->r_tail & (p->size - 1);
        const rec_hdr *h = (const rec_hdr *)(p->ring + pos);
        if (h->kind == REC_WRAP) {
            p->r_tail += p->size - pos;
            continue;
        }
        if (h->kind == REC_BIG) {
            uint8_t *copy;
            memcpy(&copy, h + 1, sizeof copy);
            g_free(copy);
        }
        p->r_tail += rec_size(h->kind == REC_BIG ? (uint32_t)sizeof(uint8_t *) : h->caplen);
    }
    g_free(p->ring);
    g_free(p->handed);
    g_free(p);
}
