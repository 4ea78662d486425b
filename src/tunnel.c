/* tunnel.c - the run's tunnel table: rows keyed by (type, version, port, unordered outer addresses,
 * id) in a hash index, a one-row cache for the common case of one busy tunnel, a cap with an '(other)' row. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hashidx.h"
#include "tunnel.h"
#include "util.h"

struct cs_tunnels {
    GPtrArray *rows; /* cs_tunnel*, rows->pdata[id - 1] */
    cs_hidx idx;     /* key hash -> id */
    uint32_t max;
    uint32_t last;  /* id of the row the previous packet went to (0: none) */
    uint32_t other; /* id of the '(other)' row (0: not made yet) */
};

/* The key part of a row, built from a tunnel layer. */
static void key_of(cs_tunnel *k, const cs_tun_layer *l)
{
    memset(k, 0, sizeof *k);
    k->type = l->type;
    k->family = l->family;
    k->version = l->version;
    k->has_id = l->has_id;
    k->vid = l->has_id ? l->id : 0;
    k->port = l->port;
    bool swap = memcmp(&l->src, &l->dst, sizeof l->src) > 0;
    k->a = swap ? l->dst : l->src;
    k->b = swap ? l->src : l->dst;
}

static bool key_eq(const cs_tunnel *x, const cs_tunnel *y)
{
    return x->type == y->type && x->family == y->family && x->version == y->version &&
           x->has_id == y->has_id && x->vid == y->vid && x->port == y->port &&
           memcmp(&x->a, &y->a, sizeof x->a) == 0 && memcmp(&x->b, &y->b, sizeof x->b) == 0;
}

static uint32_t key_hash(const cs_tunnel *k)
{
    uint64_t h = cs_hash_endpoint(&k->a, k->port) + cs_hash_endpoint(&k->b, (uint16_t)k->vid);
    h ^= ((uint64_t)k->type << 56) ^ ((uint64_t)k->version << 48) ^ ((uint64_t)k->vid << 16) ^
         k->family;
    return (uint32_t)(cs_hash_mix64(h) >> 32);
}

typedef struct match_ctx {
    const cs_tunnels *t;
    const cs_tunnel *key;
} match_ctx;

static bool match_row(void *vctx, uint32_t val)
{
    match_ctx *m = vctx;
    return key_eq(g_ptr_array_index(m->t->rows, val - 1), m->key);
}

cs_tunnels *cs_tunnels_new(uint32_t max)
{
    cs_tunnels *t = g_new0(cs_tunnels, 1);
    t->rows = g_ptr_array_new_with_free_func(g_free);
    cs_hidx_init(&t->idx, 16);
    t->max = max;
    return t;
}

/* The '(other)' row, made on first use. */
static cs_tunnel *other_row(cs_tunnels *t)
{
    if (t->other == 0) {
        cs_tunnel *o = g_new0(cs_tunnel, 1);
        o->other = true;
        g_ptr_array_add(t->rows, o);
        o->id = t->other = t->rows->len;
    }
    return g_ptr_array_index(t->rows, t->other - 1);
}

/* Finds the row of `key`, or makes one with zero counts; at the cap, the '(other)' row (and
 * *capped is set). */
static cs_tunnel *find_or_add(cs_tunnels *t, const cs_tunnel *key, bool *capped)
{
    uint32_t h = key_hash(key);
    match_ctx m = {t, key};
    uint32_t pos = cs_hidx_find(&t->idx, h, match_row, &m);
    if (pos != CS_HIDX_NONE)
        return g_ptr_array_index(t->rows, t->idx.slots[pos].val - 1);
    if (t->max > 0 && t->rows->len - (t->other != 0) >= t->max) {
        *capped = true;
        return other_row(t);
    }
    cs_tunnel *r = g_new0(cs_tunnel, 1);
    r->type = key->type;
    r->family = key->family;
    r->version = key->version;
    r->has_id = key->has_id;
    r->vid = key->vid;
    r->port = key->port;
    r->a = key->a;
    r->b = key->b;
    g_ptr_array_add(t->rows, r);
    r->id = t->rows->len;
    cs_hidx_insert(&t->idx, h, r->id);
    return r;
}

uint32_t cs_tunnels_packet(cs_tunnels *t, const cs_pkt *pkt, cs_counters *c)
{
    cs_tunnel key;
    key_of(&key, &pkt->tun[0]);
    cs_tunnel *r = NULL;
    bool capped = false;
    if (t->last != 0) {
        cs_tunnel *prev = g_ptr_array_index(t->rows, t->last - 1);
        if (!prev->other && key_eq(prev, &key))
            r = prev;
    }
    if (r == NULL)
        r = find_or_add(t, &key, &capped);
    if (capped)
        c->anomalies[CS_ANOM_TUNNEL_TABLE_CAP]++;
    t->last = r->id;
    if (r->pkts == 0 || pkt->ts < r->first_ts)
        r->first_ts = pkt->ts;
    if (pkt->ts > r->last_ts || r->pkts == 0)
        r->last_ts = pkt->ts;
    r->pkts++;
    r->bytes += pkt->wirelen;
    if (pkt->tun_depth > r->max_depth)
        r->max_depth = pkt->tun_depth;
    return r->id;
}

const cs_tunnel *cs_tunnels_get(const cs_tunnels *t, uint32_t id)
{
    if (id == 0 || id > t->rows->len)
        return NULL;
    return g_ptr_array_index(t->rows, id - 1);
}

void cs_tunnels_count(cs_tunnels *t, uint32_t id, bool tcp)
{
    if (id == 0 || id > t->rows->len)
        return;
    cs_tunnel *r = g_ptr_array_index(t->rows, id - 1);
    if (tcp)
        r->tcp_conns++;
    else
        r->udp_flows++;
}

uint32_t cs_tunnels_count_rows(const cs_tunnels *t)
{
    return t->rows->len;
}

static gint cmp_rows(gconstpointer pa, gconstpointer pb)
{
    const cs_tunnel *x = *(cs_tunnel *const *)pa, *y = *(cs_tunnel *const *)pb;
    if (x->other != y->other)
        return x->other ? 1 : -1;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    int d = memcmp(&x->a, &y->a, sizeof x->a);
    if (d == 0)
        d = memcmp(&x->b, &y->b, sizeof x->b);
    if (d != 0)
        return d;
    if (x->vid != y->vid)
        return x->vid < y->vid ? -1 : 1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return (x->version > y->version) - (x->version < y->version);
}

GPtrArray *cs_tunnels_sorted(const cs_tunnels *t)
{
    GPtrArray *a = g_ptr_array_sized_new(t->rows->len);
    for (guint i = 0; i < t->rows->len; i++)
        g_ptr_array_add(a, g_ptr_array_index(t->rows, i));
    g_ptr_array_sort(a, cmp_rows);
    return a;
}

void cs_tunnels_merge(cs_tunnels *into, const cs_tunnels *from)
{
    for (guint i = 0; i < from->rows->len; i++) {
        const cs_tunnel *f = g_ptr_array_index(from->rows, i);
        bool capped = false;
        cs_tunnel *r = f->other ? other_row(into) : find_or_add(into, f, &capped);
        if (r->pkts == 0 || f->first_ts < r->first_ts)
            r->first_ts = f->first_ts;
        if (f->last_ts > r->last_ts)
            r->last_ts = f->last_ts;
        r->pkts += f->pkts;
        r->bytes += f->bytes;
        r->tcp_conns += f->tcp_conns;
        r->udp_flows += f->udp_flows;
        if (f->max_depth > r->max_depth)
            r->max_depth = f->max_depth;
    }
}

bool cs_tunnel_match(const cs_tunnel *tn, int64_t want_id, int64_t want_vni)
{
    if (tn == NULL || tn->other)
        return want_id < 0 && want_vni < 0;
    if (want_id >= 0 && (!tn->has_id || tn->vid != (uint64_t)want_id))
        return false;
    if (want_vni >= 0 && (tn->type != CS_TUN_VXLAN && tn->type != CS_TUN_GENEVE))
        return false;
    return want_vni < 0 || (tn->has_id && tn->vid == (uint64_t)want_vni);
}

const char *cs_tunnel_id_name(const cs_tunnel *tn)
{
    if (!tn->has_id)
        return NULL;
    switch (tn->type) {
    case CS_TUN_VXLAN:
    case CS_TUN_GENEVE:
        return "vni";
    case CS_TUN_ERSPAN:
        return "session";
    case CS_TUN_GRE:
        return tn->version == 1 ? "call" : "key";
    default:
        return "id";
    }
}

char *cs_tunnel_describe(const cs_tunnel *tn, char *buf, size_t len)
{
    char a[64], b[64];
    if (tn->other) {
        g_strlcpy(buf, "(other)", len);
        return buf;
    }
    const char *idn = cs_tunnel_id_name(tn);
    char ver[16] = "";
    if (tn->type == CS_TUN_ERSPAN)
        snprintf(ver, sizeof ver, " %s", tn->version == 1 ? "I" : tn->version == 2 ? "II" : "III");
    snprintf(buf, len, "%s%s %s <-> %s", cs_tun_type_name((cs_tun_type)tn->type), ver,
             cs_addr_str(&tn->a, tn->family, a, sizeof a),
             cs_addr_str(&tn->b, tn->family, b, sizeof b));
    if (idn != NULL) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, " %s %" PRIu32, idn, tn->vid);
    }
    return buf;
}

void cs_tunnels_free(cs_tunnels *t)
{
    if (t == NULL)
        return;
    g_ptr_array_free(t->rows, TRUE);
    cs_hidx_free(&t->idx);
    g_free(t);
}
