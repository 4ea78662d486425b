/* hist.c - log-linear histogram: bin layout, sparse storage, merge and percentiles.
 * The layout is fixed (not data-dependent) so histograms from separate runs add up exactly. */
#include <glib.h>
#include <string.h>

#include "hist.h"

#define SUB (1u << CS_HIST_SUB_BITS) /* bins per power of two */

uint32_t cs_hist_bin(uint64_t v)
{
    if (v < CS_HIST_EXACT)
        return (uint32_t)v;
    int e = 63 - __builtin_clzll(v); /* 7 .. 63 */
    uint32_t sub = (uint32_t)(v >> (e - CS_HIST_SUB_BITS)) - SUB;
    return CS_HIST_EXACT + (uint32_t)(e - 7) * SUB + sub;
}

uint64_t cs_hist_bin_low(uint32_t bin)
{
    if (bin < CS_HIST_EXACT)
        return bin;
    uint32_t k = bin - CS_HIST_EXACT;
    int e = 7 + (int)(k / SUB);
    uint64_t sub = k % SUB;
    return (SUB + sub) << (e - CS_HIST_SUB_BITS);
}

uint64_t cs_hist_bin_high(uint32_t bin)
{
    if (bin < CS_HIST_EXACT)
        return bin;
    uint32_t k = bin - CS_HIST_EXACT;
    int e = 7 + (int)(k / SUB);
    return cs_hist_bin_low(bin) + (UINT64_C(1) << (e - CS_HIST_SUB_BITS)) - 1;
}

/* Position of `bin` in h->bins, or where it would be inserted. */
static uint32_t find_pos(const cs_hist *h, uint32_t bin)
{
    uint32_t lo = 0, hi = h->len;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (h->bins[mid] < bin)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void add_bin(cs_hist *h, uint32_t bin, uint64_t count)
{
    uint32_t pos = find_pos(h, bin);
    if (pos < h->len && h->bins[pos] == bin) {
        h->counts[pos] += count;
        return;
    }
    if (h->len == h->cap) {
        /* one block, counts then bins: most histograms (per time bucket) hold a few bins */
        uint32_t cap = h->cap ? h->cap * 2 : 2;
        uint8_t *blk = g_malloc((size_t)cap * (sizeof(uint64_t) + sizeof(uint32_t)));
        uint64_t *counts = (uint64_t *)(void *)blk;
        uint32_t *bins = (uint32_t *)(void *)(blk + (size_t)cap * sizeof(uint64_t));
        if (h->len > 0) {
            memcpy(counts, h->counts, h->len * sizeof *counts);
            memcpy(bins, h->bins, h->len * sizeof *bins);
        }
        g_free(h->counts);
        h->counts = counts;
        h->bins = bins;
        h->cap = cap;
    }
    memmove(h->bins + pos + 1, h->bins + pos, (h->len - pos) * sizeof *h->bins);
    memmove(h->counts + pos + 1, h->counts + pos, (h->len - pos) * sizeof *h->counts);
    h->bins[pos] = bin;
    h->counts[pos] = count;
    h->len++;
}

void cs_hist_add(cs_hist *h, uint64_t v, uint64_t count)
{
    if (count == 0)
        return;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (h->n == 0 || v > h->max)
        h->max = v;
    h->n += count;
    h->sum += (double)v * (double)count;
    add_bin(h, cs_hist_bin(v), count);
}

void cs_hist_merge(cs_hist *into, const cs_hist *from)
{
    if (from->n == 0)
        return;
    if (into->n == 0 || from->min < into->min)
        into->min = from->min;
    if (into->n == 0 || from->max > into->max)
        into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
    for (uint32_t i = 0; i < from->len; i++)
        add_bin(into, from->bins[i], from->counts[i]);
}

bool cs_hist_remove(cs_hist *h, uint64_t v)
{
    uint32_t bin = cs_hist_bin(v), pos = find_pos(h, bin);
    if (h->n == 0 || pos >= h->len || h->bins[pos] != bin)
        return false;
    h->n--;
    h->sum -= (double)v;
    if (--h->counts[pos] == 0) {
        memmove(h->bins + pos, h->bins + pos + 1, (h->len - pos - 1) * sizeof *h->bins);
        memmove(h->counts + pos, h->counts + pos + 1, (h->len - pos - 1) * sizeof *h->counts);
        h->len--;
    }
    if (h->n == 0) {
        h->min = h->max = 0;
        h->sum = 0;
        return true;
    }
    bool exact = true;
    /* an extreme that was v: the values left start (end) in the first (last) bin, which holds one
     * value only below CS_HIST_EXACT */
    if (v == h->min) {
        if (h->bins[0] != bin)
            h->min = cs_hist_bin_low(h->bins[0]);
        exact = h->bins[0] < CS_HIST_EXACT;
    }
    if (v == h->max) {
        if (h->bins[h->len - 1] != bin)
            h->max = cs_hist_bin_high(h->bins[h->len - 1]);
        exact = exact && h->bins[h->len - 1] < CS_HIST_EXACT;
    }
    /* an extreme already known only to its bin (an earlier removal) whose bin emptied */
    if (cs_hist_bin(h->min) != h->bins[0]) {
        h->min = cs_hist_bin_low(h->bins[0]);
        exact = exact && h->bins[0] < CS_HIST_EXACT;
    }
    if (cs_hist_bin(h->max) != h->bins[h->len - 1]) {
        h->max = cs_hist_bin_high(h->bins[h->len - 1]);
        exact = exact && h->bins[h->len - 1] < CS_HIST_EXACT;
    }
    return exact;
}

uint64_t cs_hist_percentile(const cs_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 100)
        return h->max;
    /* q * n first: exact for integer q, so that e.g. q = 7, n = 100 gives rank 7, not 8 as
     * (0.07 * 100 = 7.000000000000001) would */
    double exact = q * (double)h->n / 100.0;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->len; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo = cs_hist_bin_low(h->bins[i]), hi = cs_hist_bin_high(h->bins[i]);
            uint64_t v = lo + (hi - lo) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

uint64_t cs_hist_count_above(const cs_hist *h, uint64_t v)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < h->len; i++)
        if (cs_hist_bin_low(h->bins[i]) > v)
            n += h->counts[i];
    return n;
}

void cs_hist_clear(cs_hist *h)
{
    g_free(h->counts); /* the block holding the bins too */
    memset(h, 0, sizeof *h);
}
