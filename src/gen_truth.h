/* gen_truth.h - connscope-gen's ground truth: JSON lines (one per exchange and per connection as
 * they finish, then per SYN destination, per server and a summary) from the generator's records. */
#ifndef CS_GEN_TRUTH_H
#define CS_GEN_TRUTH_H

#include <stdio.h>

#include "gen_flow.h"

typedef struct gen_truth gen_truth;

/* Starts writing truth lines to fp (not closed by us). Can't fail. */
gen_truth *gen_truth_new(FILE *fp);

/* One exchange of connection f: request i (0-based) and its response, as far as they went. */
void gen_truth_exchange(gen_truth *t, const gen_flow *f, uint32_t i, const gen_xrec *x);

/* A data segment of direction d (0: client's) was not written (lost) or written out of order
 * (reordered: swapped with the next one): bytes [seq, seq+len) relative to ISN+1, the time of
 * the slot it had (lost) or was written in (reordered). */
void gen_truth_segment(gen_truth *t, const gen_flow *f, bool lost, int d, uint32_t seq,
                       uint32_t len, gen_us ts);

/* Connection f is over (f->xt holds its records); also counts it into the aggregates. */
void gen_truth_conn(gen_truth *t, const gen_flow *f);

/* Writes the syn_dest, server and summary lines and frees t. Returns false if a write failed. */
bool gen_truth_finish(gen_truth *t, const gen_out *out, uint64_t peak_flows);

#endif
