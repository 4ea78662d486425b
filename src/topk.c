/* topk.c - counts per key: exact up to a key cap, then Space-Saving (Metwally et al. 2005) with a
 * min-heap of the counters; merging follows the mergeable-summaries rule. Contracts in topk.h. */
#include <string.h>

#include "topk.h"

struct cs_topk {
    GHashTable *index; /* cs_topk_entry* -> itself (hash and equality over the key bytes) */
    GPtrArray *heap;   /* approximate mode: min-heap of entries by (count, key) */
    uint32_t max_keys;
    bool approx;
    bool heap_ok; /* heap holds every entry in heap order */
    uint64_t floor, total, evictions;
};

static guint entry_hash(gconstpointer p)
{
    const cs_topk_entry *e = p;
    guint h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < e->len; i++)
        h = (h ^ e->key[i]) * 16777619u;
    return h;
}

static gboolean entry_equal(gconstpointer a, gconstpointer b)
{
    const cs_topk_entry *x = a, *y = b;
    return x->len == y->len && memcmp(x->key, y->key, x->len) == 0;
}

static void entry_free(gpointer p)
{
    cs_topk_entry *e = p;
    g_free(e->key);
    g_free(e);
}

static int key_cmp(const cs_topk_entry *a, const cs_topk_entry *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->key, b->key, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Heap order: smaller count first; among equal counts the larger key first, so that the key
 * evicted among equals is the one that sorts last in reports. */
static bool heap_less(const cs_topk_entry *a, const cs_topk_entry *b)
{
    if (a->count != b->count)
        return a->count < b->count;
    return key_cmp(a, b) > 0;
}

static void heap_set(cs_topk *t, uint32_t i, cs_topk_entry *e)
{
    t->heap->pdata[i] = e;
    e->pos = i;
}

static void sift_down(cs_topk *t, uint32_t i)
{
    uint32_t n = t->heap->len;
    cs_topk_entry *e = t->heap->pdata[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        cs_topk_entry *best = e;
        if (l < n && heap_less(t->heap->pdata[l], best)) {
            m = l;
            best = t->heap->pdata[l];
        }
        if (l + 1 < n && heap_less(t->heap->pdata[l + 1], best)) {
            m = l + 1;
            best = t->heap->pdata[l + 1];
        }
        if (m == i)
            break;
        heap_set(t, i, best);
        i = m;
    }
    heap_set(t, i, e);
}

static void sift_up(cs_topk *t, uint32_t i)
{
    cs_topk_entry *e = t->heap->pdata[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!heap_less(e, t->heap->pdata[p]))
            break;
        heap_set(t, i, t->heap->pdata[p]);
        i = p;
    }
    heap_set(t, i, e);
}

static void heap_build(cs_topk *t)
{
    g_ptr_array_set_size(t->heap, 0);
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, t->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        cs_topk_entry *e = k;
        e->pos = t->heap->len;
        g_ptr_array_add(t->heap, e);
    }
    for (uint32_t i = t->heap->len / 2; i-- > 0;)
        sift_down(t, i);
    t->heap_ok = true;
}

cs_topk *cs_topk_new(uint32_t max_keys)
{
    cs_topk *t = g_new0(cs_topk, 1);
    t->index = g_hash_table_new_full(entry_hash, entry_equal, entry_free, NULL);
    t->heap = g_ptr_array_new();
    t->max_keys = max_keys > 0 ? max_keys : 1;
    return t;
}

void cs_topk_free(cs_topk *t)
{
    if (t == NULL)
        return;
    g_hash_table_destroy(t->index);
    g_ptr_array_free(t->heap, TRUE);
    g_free(t);
}

static cs_topk_entry *lookup(const cs_topk *t, const void *key, uint32_t len)
{
    cs_topk_entry probe = {.key = (uint8_t *)key, .len = len};
    return g_hash_table_lookup(t->index, &probe);
}

static cs_topk_entry *insert(cs_topk *t, const void *key, uint32_t len, uint64_t count,
                             uint64_t error)
{
    cs_topk_entry *e = g_new0(cs_topk_entry, 1);
    e->key = g_memdup2(key, len);
    e->len = len;
    e->count = count;
    e->error = error;
    g_hash_table_add(t->index, e);
    return e;
}

bool cs_topk_sub(cs_topk *t, const void *key, uint32_t len)
{
    cs_topk_entry *e = lookup(t, key, len);
    if (t->approx || e == NULL || e->count == 0 || t->total == 0)
        return false;
    t->total--;
    if (--e->count == 0) {
        g_ptr_array_set_size(t->heap, 0); /* may point at e: rebuilt when needed */
        t->heap_ok = false;
        g_hash_table_remove(t->index, e); /* frees e */
    }
    return true;
}

void cs_topk_add(cs_topk *t, const void *key, uint32_t len, uint64_t n)
{
    if (n == 0)
        return;
    t->total += n;
    cs_topk_entry *e = lookup(t, key, len);
    if (!t->approx) {
        if (e != NULL) {
            e->count += n;
            return;
        }
        if (g_hash_table_size(t->index) < t->max_keys) {
            insert(t, key, len, n, 0);
            return;
        }
        t->approx = true; /* the cap is reached: Space-Saving from here on */
        t->heap_ok = false;
    }
    if (!t->heap_ok)
        heap_build(t);
    if (e != NULL) {
        e->count += n;
        sift_down(t, e->pos);
        return;
    }
    if (g_hash_table_size(t->index) < t->max_keys) {
        /* room left after a merge: an absent key occurred at most `floor` times before */
        e = insert(t, key, len, t->floor + n, t->floor);
        e->pos = t->heap->len;
        g_ptr_array_add(t->heap, e);
        sift_up(t, e->pos);
        return;
    }
    cs_topk_entry *min = t->heap->pdata[0];
    g_hash_table_steal(t->index, min);
    t->evictions++;
    if (min->count > t->floor)
        t->floor = min->count;
    g_free(min->key);
    min->key = g_memdup2(key, len);
    min->len = len;
    min->error = min->count;
    min->count += n;
    g_hash_table_add(t->index, min);
    sift_down(t, 0);
}

void cs_topk_load(cs_topk *t, const void *key, uint32_t len, uint64_t count, uint64_t error)
{
    cs_topk_entry *e = lookup(t, key, len);
    if (e != NULL) {
        e->count += count;
        e->error += error;
    } else {
        insert(t, key, len, count, error);
    }
    t->heap_ok = false;
}

void cs_topk_load_bounds(cs_topk *t, bool approx, uint64_t floor, uint64_t total,
                         uint64_t evictions)
{
    t->approx = approx;
    t->floor = floor;
    t->total = total;
    t->evictions = evictions;
    t->heap_ok = false;
}

static gint cmp_entry_desc(gconstpointer pa, gconstpointer pb)
{
    const cs_topk_entry *a = *(cs_topk_entry *const *)pa, *b = *(cs_topk_entry *const *)pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return key_cmp(a, b);
}

GPtrArray *cs_topk_sorted(const cs_topk *t)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(t->index));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, t->index);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(a, k);
    g_ptr_array_sort(a, cmp_entry_desc);
    return a;
}

void cs_topk_merge(cs_topk *into, const cs_topk *from)
{
    uint64_t fi = into->approx ? into->floor : 0, ff = from->approx ? from->floor : 0;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, into->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        cs_topk_entry *e = k;
        const cs_topk_entry *f = lookup(from, e->key, e->len);
        e->count += f != NULL ? f->count : ff;
        e->error += f != NULL ? f->error : ff;
    }
    g_hash_table_iter_init(&it, from->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        const cs_topk_entry *f = k;
        if (lookup(into, f->key, f->len) == NULL)
            insert(into, f->key, f->len, f->count + fi, f->error + fi);
    }
    into->approx = into->approx || from->approx;
    into->floor = fi + ff;
    into->total += from->total;
    into->evictions += from->evictions;
    into->heap_ok = false;
    if (g_hash_table_size(into->index) > into->max_keys) {
        GPtrArray *all = cs_topk_sorted(into);
        for (guint i = into->max_keys; i < all->len; i++) {
            cs_topk_entry *e = all->pdata[i];
            if (e->count > into->floor)
                into->floor = e->count;
            into->evictions++;
            g_hash_table_remove(into->index, e);
        }
        g_ptr_array_free(all, TRUE);
        into->approx = true;
    }
}

bool cs_topk_approx(const cs_topk *t)
{
    return t->approx;
}

uint64_t cs_topk_floor(const cs_topk *t)
{
    return t->approx ? t->floor : 0;
}

uint64_t cs_topk_total(const cs_topk *t)
{
    return t->total;
}

uint64_t cs_topk_evictions(const cs_topk *t)
{
    return t->evictions;
}

uint32_t cs_topk_size(const cs_topk *t)
{
    return g_hash_table_size(t->index);
}

uint32_t cs_topk_max_keys(const cs_topk *t)
{
    return t->max_keys;
}
