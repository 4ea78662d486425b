/* defrag.c - fragment reassembly: per datagram a list of received pieces (copied), completed when the
 * pieces cover [0, total) with the last one's more-flag clear; bounded by bytes held and a timeout. */
#include <string.h>

#include <glib.h>

#include "defrag.h"

#define MAX_DATAGRAM (1u << 20) /* IPv6 jumbograms aside, 64 KiB; be generous, but bounded */

typedef struct piece {
    struct piece *next;
    uint32_t off, len;
    uint8_t data[];
} piece;

typedef struct dg_key {
    cs_addr src, dst;
    uint32_t id;
    uint8_t family, proto;
} dg_key;

typedef struct datagram {
    dg_key key;
    piece *pieces; /* sorted by offset */
    uint32_t total; /* payload length, known once the last fragment arrived (0 before) */
    uint32_t held;
    cs_time_t first_ts;
} datagram;

struct cs_defrag {
    GHashTable *dgs; /* dg_key -> datagram */
    uint32_t max_bytes, held;
    cs_time_t timeout;
    uint8_t *out;
    uint32_t out_cap;
};

static guint key_hash(gconstpointer p)
{
    const dg_key *k = p;
    guint h = k->id * 2654435761u ^ k->proto ^ ((guint)k->family << 8);
    for (int i = 0; i < 16; i++)
        h = h * 31 + k->src.b[i] + k->dst.b[i] * 7u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(dg_key)) == 0;
}

static void dg_free(gpointer p)
{
    datagram *g = p;
    while (g->pieces != NULL) {
        piece *x = g->pieces;
        g->pieces = x->next;
        g_free(x);
    }
    g_free(g);
}

cs_defrag *cs_defrag_new(uint32_t max_bytes, cs_time_t timeout)
{
    cs_defrag *d = g_new0(cs_defrag, 1);
    d->dgs = g_hash_table_new_full(key_hash, key_equal, NULL, dg_free);
    d->max_bytes = max_bytes;
    d->timeout = timeout;
    return d;
}

void cs_defrag_free(cs_defrag *d)
{
    if (d == NULL)
        return;
    g_hash_table_destroy(d->dgs);
    g_free(d->out);
    g_free(d);
}

/* Drops datagrams older than the timeout (only fragments pay for this scan). */
static void expire(cs_defrag *d, cs_time_t now)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, d->dgs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        datagram *g = v;
        if (now - g->first_ts > d->timeout) {
            d->held -= g->held;
            g_hash_table_iter_remove(&it);
        }
    }
}

const uint8_t *cs_defrag_add(cs_defrag *d, uint8_t family, const cs_addr *src, const cs_addr *dst,
                             uint32_t id, uint8_t proto, uint32_t offset, bool more,
                             const uint8_t *data, uint32_t len, cs_time_t ts, uint32_t *out_len,
                             cs_counters *c)
{
    if (g_hash_table_size(d->dgs) > 0)
        expire(d, ts);
    if ((uint64_t)offset + len > MAX_DATAGRAM || d->held + len > d->max_bytes) {
        c->anomalies[CS_ANOM_IP_FRAG_DROPPED]++;
        return NULL;
    }
    dg_key key;
    memset(&key, 0, sizeof key);
    key.src = *src;
    key.dst = *dst;
    key.id = id;
    key.family = family;
    key.proto = proto;
    datagram *g = g_hash_table_lookup(d->dgs, &key);
    if (g == NULL) {
        g = g_new0(datagram, 1);
        g->key = key;
        g->first_ts = ts;
        g_hash_table_insert(d->dgs, &g->key, g);
    }
    if (!more) {
        if (g->total != 0 && g->total != offset + len) {
            c->anomalies[CS_ANOM_IP_FRAG_DROPPED]++;
            return NULL;
        }
        g->total = offset + len;
    }
    /* insert in offset order; an exact duplicate is ignored */
    piece **link = &g->pieces;
    while (*link != NULL && (*link)->off < offset)
        link = &(*link)->next;
    if (*link != NULL && (*link)->off == offset && (*link)->len == len)
        return NULL;
    piece *x = g_malloc(sizeof *x + len);
    x->off = offset;
    x->len = len;
    memcpy(x->data, data, len);
    x->next = *link;
    *link = x;
    g->held += len;
    d->held += len;
    if (g->total == 0)
        return NULL;
    /* complete when the pieces cover [0, total) */
    uint32_t covered = 0;
    for (piece *p = g->pieces; p != NULL; p = p->next) {
        if (p->off > covered)
            return NULL;
        if (p->off + p->len > covered)
            covered = p->off + p->len;
    }
    if (covered < g->total)
        return NULL;
    if (d->out_cap < g->total) {
        d->out_cap = g->total;
        d->out = g_realloc(d->out, d->out_cap);
    }
    for (piece *p = g->pieces; p != NULL; p = p->next) { /* later pieces overwrite overlaps */
        uint32_t n = p->off + p->len > g->total ? g->total - p->off : p->len;
        if (p->off < g->total)
            memcpy(d->out + p->off, p->data, n);
    }
    *out_len = g->total;
    d->held -= g->held;
    g_hash_table_remove(d->dgs, &key);
    return d->out;
}
