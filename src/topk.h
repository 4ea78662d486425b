/* topk.h - counts per key (opaque bytes) that stay exact up to a key cap and then switch to
 * Space-Saving, so that memory is bounded and every reported count carries its error bound. */
#ifndef CS_TOPK_H
#define CS_TOPK_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

/* A table of counts per key. Exact while it holds fewer than max_keys keys; when a new key
 * arrives at the cap it switches to Space-Saving (Metwally et al. 2005) with max_keys counters:
 * the new key replaces the smallest counter c and starts at c + n with error c. From then on
 * every stored count overestimates its key's true count by at most its error, and any key not
 * stored occurred at most `floor` times. */
typedef struct cs_topk cs_topk;

/* One stored key. Every field is owned by the table and valid until the next call that changes
 * the table. */
typedef struct cs_topk_entry {
    uint8_t *key;
    uint32_t len;
    uint32_t pos;   /* heap position (approximate mode) */
    uint64_t count; /* upper bound of the true count; exact when error is 0 */
    uint64_t error; /* count - error <= true count <= count */
} cs_topk_entry;

/* Creates an empty, exact table that keeps at most max_keys keys (0 is taken as 1). Free it with
 * cs_topk_free(). Can't fail (aborts on OOM). */
cs_topk *cs_topk_new(uint32_t max_keys);

/* Frees t, its entries and their keys. NULL is a no-op. */
void cs_topk_free(cs_topk *t);

/* Adds n occurrences of key[0..len) (copied when stored; n == 0 is a no-op). O(1) while exact,
 * O(log max_keys) once approximate. Can't fail. */
void cs_topk_add(cs_topk *t, const void *key, uint32_t len, uint64_t n);

/* Takes one occurrence of key, counted before, back out of an exact table (a merge that joins the
 * two halves of a connection); a key whose count drops to 0 is removed. Returns false, changing
 * nothing, when the table is approximate or the key is not there. */
bool cs_topk_sub(cs_topk *t, const void *key, uint32_t len);

/* Rebuilds a table as read from a summary: cs_topk_load_bounds() sets the table's mode, floor,
 * total and evictions; each cs_topk_load() then stores one counter (count with its error), summed
 * onto an existing entry of the same key. The table may then hold more than max_keys keys:
 * cs_topk_merge() into a table trims to its cap. Neither checks the values (summary.c does). */
void cs_topk_load(cs_topk *t, const void *key, uint32_t len, uint64_t count, uint64_t error);
void cs_topk_load_bounds(cs_topk *t, bool approx, uint64_t floor, uint64_t total,
                         uint64_t evictions);

/* Adds every count of `from` into `into` (from is unchanged) by the mergeable-summaries rule: a
 * key missing from an approximate side counts that side's floor, as count and as error; then
 * only the max_keys largest counts of `into` are kept (ties: the smaller key bytes) and the floor
 * becomes the largest count dropped, or the sum of the floors if larger. The result is exact when
 * both sides are exact and the union of their keys fits under into's cap. */
void cs_topk_merge(cs_topk *into, const cs_topk *from);

/* Returns the entries sorted by count (descending), then key bytes (ascending). The elements are
 * owned by t and valid until t changes; free the array with g_ptr_array_free(a, TRUE). */
GPtrArray *cs_topk_sorted(const cs_topk *t);

/* True once the cap was reached (here, or in an input merged into t). */
bool cs_topk_approx(const cs_topk *t);
/* A key not stored occurred at most this often (0 while exact). */
uint64_t cs_topk_floor(const cs_topk *t);
/* All occurrences ever added (exact in both modes). */
uint64_t cs_topk_total(const cs_topk *t);
/* Counters replaced or dropped at the cap. */
uint64_t cs_topk_evictions(const cs_topk *t);
/* Keys stored now; and the cap. */
uint32_t cs_topk_size(const cs_topk *t);
uint32_t cs_topk_max_keys(const cs_topk *t);

#endif
