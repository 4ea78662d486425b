/* source_pipe.h - `-j 2` on one input: a reader thread pulls packets from a source and copies them
 * into a lock-free single-producer/single-consumer ring; the analysis thread takes them in order. */
#ifndef CS_SOURCE_PIPE_H
#define CS_SOURCE_PIPE_H

#include "decode.h"

typedef struct cs_pipe cs_pipe;

/* Where the reader thread gets packets: next() as cs_source_next() (1: *raw filled, valid until
 * the next call; 0: the end; never -2, the pipe is for offline input), and progress() as
 * cs_source_progress() (called on the reader thread every few thousand packets). */
typedef struct cs_pipe_src {
    void *ctx;
    int (*next)(void *ctx, cs_raw *raw);
    bool (*progress)(void *ctx, uint64_t *done, uint64_t *total);
} cs_pipe_src;

/* Starts the reader thread on src (ring of ring_bytes, rounded up to a power of two of at least
 * 64 KiB; 0: 16 MiB; packets longer than a quarter of it are handed over in an allocation of
 * their own). n_inputs: the number of inputs whose packets are counted by src_idx.
 * Can't fail (aborts when no thread can be made, as GLib does on OOM). */
cs_pipe *cs_pipe_start(const cs_pipe_src *src, uint32_t n_inputs, size_t ring_bytes);

/* The next packet, in the order the reader got them: 1 with *raw filled (its bytes stay valid
 * until the next call), 0 when the reader reached the end (then nothing more comes). Called from
 * one thread only (the consumer). */
int cs_pipe_next(cs_pipe *p, cs_raw *raw);

/* Packets of input i handed out by cs_pipe_next so far (consumer thread). */
uint64_t cs_pipe_handed(const cs_pipe *p, uint32_t i);

/* Offline progress as the reader last saw it (any thread). False when it could not tell. */
bool cs_pipe_progress(const cs_pipe *p, uint64_t *done, uint64_t *total);

/* Stops the reader thread (it may have read ahead of what was handed out: those packets are
 * dropped), waits for it and frees the pipe. NULL is fine. After it, src is the caller's again. */
void cs_pipe_stop(cs_pipe *p);

#endif
