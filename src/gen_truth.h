/* gen_truth.h - connscope-gen's ground truth: JSON lines (one per exchange and per connection as
 * they finish, then per SYN destination, per server and a summary) from the generator's records. */
#ifndef CS_GEN_TRUTH_H
#define CS_GEN_TRUTH_H

#include <stdio.h>

#include "gen_flow.h"

typedef struct gen_truth gen_truth;

/* Starts writing truth lines to fp (not closed by us). Can't fail. */
gen_truth *gen_truth_new(FILE *fp);

/* The flow observer that writes t's lines: an "exchange" line per exchange, a "drop"/"reorder"
 * line per lost or reordered segment, a "conn" line per connection (also counted into the
 * aggregates). Valid as long as t. */
const gen_flow_observer *gen_truth_observer(gen_truth *t);

/* Writes the syn_dest, server and summary lines and frees t. Returns false if a write failed. */
bool gen_truth_finish(gen_truth *t, const gen_out *out, uint64_t peak_flows);

#endif
