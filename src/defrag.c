/* defrag.c - fragment reassembly as Wireshark does it: per datagram, its bytes as sorted pieces
 * that never overlap, complete when they cover [0, total); incomplete datagrams queue, capped. */
#include <string.h>

#include <glib.h>

#include "defrag.h"
#include "splay.h"

#define MAX_DATAGRAM (1u << 20) /* IPv6 jumbograms aside, 64 KiB; be generous, but bounded */

/* Bytes [start, end) of a datagram, from the fragment at offset `origin`; data[0] is the byte at
 * `first` (a piece loses bytes at its front when a fragment with a lower offset covers them). */
typedef struct piece {
    struct piece *next;         /* the datagram's pieces in offset order */
    struct piece *left, *right; /* the same pieces as a splay tree by start */
    uint32_t start, end, first, origin;
    uint32_t size; /* bytes allocated */
    uint8_t data[];
} piece;

#define PIECE_KEY(p) ((p)->start)
#define OFF_CMP(a, b) ((a) < (b) ? -1 : (a) > (b))
CS_SPLAY_DEFINE(pieces, piece, uint32_t, PIECE_KEY, OFF_CMP)

typedef struct dg_key {
    cs_addr src, dst;
    uint32_t id;
    uint8_t family, proto;
} dg_key;

typedef struct datagram {
    dg_key key;
    struct datagram *older, *newer; /* the queue of pending datagrams, by first fragment */
    piece *pieces;                  /* sorted by start, never overlapping */
    piece *root;                    /* the splay index of `pieces` */
    uint32_t total;                 /* payload length, known once the last fragment arrived */
    bool has_total;
    uint32_t covered; /* bytes held (all below total once it is known) */
    uint32_t held;    /* bytes allocated for this datagram */
    cs_time_t first_ts;
} datagram;

struct cs_defrag {
    GHashTable *dgs; /* dg_key -> datagram */
    datagram *oldest, *newest;
    uint32_t count, max_datagrams;
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

cs_defrag *cs_defrag_new(uint32_t max_bytes, uint32_t max_datagrams, cs_time_t timeout)
{
    cs_defrag *d = g_new0(cs_defrag, 1);
    d->dgs = g_hash_table_new_full(key_hash, key_equal, NULL, dg_free);
    d->max_bytes = max_bytes;
    d->max_datagrams = max_datagrams;
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

/* Takes datagram g out of the queue and frees it. */
static void dg_drop(cs_defrag *d, datagram *g)
{
    if (g->older != NULL)
        g->older->newer = g->newer;
    else
        d->oldest = g->newer;
    if (g->newer != NULL)
        g->newer->older = g->older;
    else
        d->newest = g->older;
    d->count--;
    d->held -= g->held;
    g_hash_table_remove(d->dgs, &g->key);
}

/* ---- the pieces of one datagram -------------------------------------------------------------- */

/* True when bytes [a, b) held by x differ from the fragment bytes `p` (which start at a). */
static bool differs(const piece *x, uint32_t a, uint32_t b, const uint8_t *p)
{
    return b > a && memcmp(x->data + (a - x->first), p, b - a) != 0;
}

/* Adds the piece [a, b) of the fragment at `origin` with bytes `frag`, after prev (NULL: first). */
static piece *piece_add(cs_defrag *d, datagram *g, piece *prev, uint32_t a, uint32_t b,
                        uint32_t origin, const uint8_t *frag)
{
    piece *x = g_malloc(sizeof *x + (b - a));
    x->start = x->first = a;
    x->end = b;
    x->origin = origin;
    x->size = (uint32_t)sizeof *x + (b - a);
    memcpy(x->data, frag + (a - origin), b - a);
    piece **link = prev != NULL ? &prev->next : &g->pieces;
    x->next = *link;
    *link = x;
    pieces_insert(&g->root, x);
    g->covered += b - a;
    g->held += x->size;
    d->held += x->size;
    return x;
}

static void piece_remove(cs_defrag *d, datagram *g, piece *prev, piece *x)
{
    if (prev != NULL)
        prev->next = x->next;
    else
        g->pieces = x->next;
    pieces_remove(&g->root, x);
    g->covered -= x->end - x->start;
    g->held -= x->size;
    d->held -= x->size;
    g_free(x);
}

/* Adds the `len` bytes at `origin` of one fragment. A byte comes from the fragment with the lowest
 * offset that carries it, among equal offsets the first to arrive (Wireshark's reassembly copies
 * fragments in offset order and skips bytes already copied). Returns true when bytes this
 * fragment shares with others differ. Costs O(log pieces) amortised plus the bytes compared. */
static bool add_bytes(cs_defrag *d, datagram *g, uint32_t origin, const uint8_t *frag, uint32_t len)
{
    uint32_t s = origin, e = origin + len;
    bool conflict = false;
    piece *prev = pieces_floor(&g->root, s); /* the last piece starting at or before s */
    if (prev != NULL && prev->end > s) {     /* it came from a lower or equal offset: it stays */
        uint32_t oe = prev->end < e ? prev->end : e;
        conflict |= differs(prev, s, oe, frag);
        s = oe;
    }
    piece *x = prev != NULL ? prev->next : g->pieces;
    while (s < e) {
        if (x == NULL || x->start >= e) {
            piece_add(d, g, prev, s, e, origin, frag);
            break;
        }
        uint32_t oe = x->end < e ? x->end : e;
        conflict |= differs(x, x->start, oe, frag + (x->start - origin));
        if (x->origin <= origin) { /* x keeps its bytes; ours before it form a piece */
            if (x->start > s)
                piece_add(d, g, prev, s, x->start, origin, frag);
            s = oe;
            prev = x;
            x = x->next;
        } else if (x->end <= e) { /* a higher offset loses all its bytes to this fragment */
            piece *nx = x->next;
            piece_remove(d, g, prev, x);
            x = nx;
        } else { /* ... or those before e (x's order among the pieces stays the same) */
            g->covered -= e - x->start;
            x->start = e;
            x = x->next;
        }
    }
    return conflict;
}

/* The last fragment says the payload is `total` bytes: drops what lies beyond. */
static void set_total(cs_defrag *d, datagram *g, uint32_t total)
{
    g->total = total;
    g->has_total = true;
    piece *prev = total > 0 ? pieces_floor(&g->root, total - 1) : NULL;
    piece *x = prev != NULL ? prev->next : g->pieces;
    if (prev != NULL && prev->end > total) {
        g->covered -= prev->end - total;
        prev->end = total;
    }
    while (x != NULL) { /* every later piece starts at or after total */
        piece *nx = x->next;
        piece_remove(d, g, prev, x);
        x = nx;
    }
}

/* ---- datagrams --------------------------------------------------------------------------- */

/* Drops datagrams whose first fragment is older than the timeout. The queue is in arrival order,
 * so this stops at the first young one (a datagram stuck behind it by a capture whose time went
 * back is checked when its next fragment comes). */
static void expire(cs_defrag *d, cs_time_t now)
{
    while (d->oldest != NULL && now - d->oldest->first_ts > d->timeout)
        dg_drop(d, d->oldest);
}

/* The pending datagram with key k, or a new one (evicting the oldest at the cap); NULL when none
 * can be held. */
static datagram *dg_find(cs_defrag *d, const dg_key *k, cs_time_t ts, cs_counters *c)
{
    datagram *g = g_hash_table_lookup(d->dgs, k);
    if (g != NULL && ts - g->first_ts > d->timeout) {
        dg_drop(d, g);
        g = NULL;
    }
    if (g != NULL)
        return g;
    if (d->count >= d->max_datagrams) {
        if (d->oldest == NULL)
            return NULL;
        c->anomalies[CS_ANOM_IP_FRAG_EVICT]++;
        dg_drop(d, d->oldest);
    }
    g = g_new0(datagram, 1);
    g->key = *k;
    g->first_ts = ts;
    g->held = (uint32_t)sizeof *g;
    d->held += g->held;
    g->older = d->newest;
    if (d->newest != NULL)
        d->newest->newer = g;
    else
        d->oldest = g;
    d->newest = g;
    d->count++;
    g_hash_table_insert(d->dgs, &g->key, g);
    return g;
}

const uint8_t *cs_defrag_add(cs_defrag *d, uint8_t family, const cs_addr *src, const cs_addr *dst,
                             uint32_t id, uint8_t proto, uint32_t offset, bool more,
                             const uint8_t *data, uint32_t len, cs_time_t ts, uint32_t *out_len,
                             cs_counters *c)
{
    expire(d, ts);
    /* what holding this fragment can cost: its bytes, a piece, maybe a new datagram */
    uint64_t cost = (uint64_t)len + sizeof(piece) + sizeof(datagram);
    if ((uint64_t)offset + len > MAX_DATAGRAM || d->held + cost > d->max_bytes) {
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
    datagram *g = dg_find(d, &key, ts, c);
    if (g == NULL) {
        c->anomalies[CS_ANOM_IP_FRAG_DROPPED]++;
        return NULL;
    }
    if (!more) {
        if (g->has_total && g->total != offset + len) {
            c->anomalies[CS_ANOM_IP_FRAG_DROPPED]++;
            return NULL;
        }
        if (!g->has_total)
            set_total(d, g, offset + len);
    }
    if (g->has_total && offset + len > g->total) /* bytes past the end are never used */
        len = offset < g->total ? g->total - offset : 0;
    if (len > 0 && add_bytes(d, g, offset, data, len))
        c->anomalies[CS_ANOM_IP_FRAG_OVERLAP_DIFF]++;
    if (!g->has_total || g->covered < g->total)
        return NULL;
    /* complete: the pieces cover [0, total) without overlapping */
    if (d->out_cap < g->total) {
        d->out_cap = g->total;
        d->out = g_realloc(d->out, d->out_cap);
    }
    for (const piece *p = g->pieces; p != NULL; p = p->next)
        memcpy(d->out + p->start, p->data + (p->start - p->first), p->end - p->start);
    *out_len = g->total;
    dg_drop(d, g);
    return d->out;
}
