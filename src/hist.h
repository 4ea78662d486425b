/* hist.h - a mergeable log-linear histogram of non-negative integers (microseconds, byte counts).
 * Fixed bin boundaries: exact below 128, then 64 bins per power of two (relative error < 0.8%). */
#ifndef CS_HIST_H
#define CS_HIST_H

#include "common.h"

#define CS_HIST_SUB_BITS 6
#define CS_HIST_EXACT 128 /* values below are their own bin */

/* Sparse: only bins with a count are stored, sorted by bin index. Zero-initialise to start. */
typedef struct cs_hist {
    uint32_t *bins;    /* bin indices, ascending (inside the block that `counts` starts) */
    uint64_t *counts;  /* count per stored bin; the one allocated block */
    uint32_t len, cap;
    uint64_t n;        /* values recorded */
    uint64_t min, max; /* exact extremes (valid when n > 0) */
    double sum;
} cs_hist;

/* Bin index of value v, and the smallest and largest value that bin holds. */
uint32_t cs_hist_bin(uint64_t v);
uint64_t cs_hist_bin_low(uint32_t bin);
uint64_t cs_hist_bin_high(uint32_t bin);

/* Records v (count times). Can't fail (aborts on OOM). */
void cs_hist_add(cs_hist *h, uint64_t v, uint64_t count);

/* Adds every count of `from` into `into`. */
void cs_hist_merge(cs_hist *into, const cs_hist *from);

/* Takes one value v, added before, back out of h (a merge that joins the two halves of a
 * connection). Returns false when v was not in h, or when v was its min or max and the new extreme
 * is only known to its bin (it is then set to the bin's edge: min/max stay within the values'
 * bins, not exact). */
bool cs_hist_remove(cs_hist *h, uint64_t v);

/* Nearest-rank percentile q in [0,100]: the middle of the bin holding the ceil(q/100*n)-th value,
 * clamped to [min, max]. Exact for values below 128 and for q = 0 / 100. Returns 0 when empty. */
uint64_t cs_hist_percentile(const cs_hist *h, double q);

/* Number of recorded values strictly above v (counted by bins: a bin straddling v counts by its
 * low edge, so the answer is exact when v+1 is a bin boundary). */
uint64_t cs_hist_count_above(const cs_hist *h, uint64_t v);

/* Frees the bins; h is empty again afterwards. */
void cs_hist_clear(cs_hist *h);

#endif
