/* flow_udp.c - UDP flow table: open-addressing index over a pool of cs_udp_flow, udp.stream numbering
 * (one number per unordered 4-tuple for the whole capture, as Wireshark), idle expiry, the cap, tombstones. */
#include <string.h>

#include "flow_udp.h"
#include "hashidx.h"
#include "pool.h"

#define NIL CS_POOL_NIL

/* An ended tuple and its udp.stream, so that a later datagram keeps the number. */
typedef struct utomb {
    uint32_t hash;
    uint8_t family;
    bool used;
    uint16_t port[2];
    cs_addr addr[2];
    uint64_t stream;
} utomb;

struct cs_udp_table {
    cs_udp_cfg cfg;
    const cs_udp_hooks *hooks;
    cs_counters *ctr;
    cs_hidx idx;
    cs_pool pool; /* the cs_udp_flow records */
    cs_lru lru;   /* expiry list, least recently active first */
    uint32_t active, peak;
    uint64_t next_stream;
    cs_time_t now, next_check;
    bool flushing;
    utomb *tombs; /* ring */
    uint32_t tomb_next;
    cs_hidx tomb_idx;
};

CS_POOL_DEFINE(udp_pool, cs_udp_flow)

static inline cs_udp_flow *flow_at(const cs_udp_table *t, uint32_t id)
{
    return udp_pool_at(&t->pool, id);
}

/* ---- keys -------------------------------------------------------------------------------------- */

/* Which endpoint of (addr, port) sent d: 0, 1, or -1 for another tuple. */
static inline int tuple_dir(const cs_addr addr[2], const uint16_t port[2], uint8_t family,
                            const cs_udp_dgram *d)
{
    return cs_tuple_dir(addr, port, family, d->family, d->src, d->dst, d->sport, d->dport);
}

typedef struct match_ctx {
    const cs_udp_table *t;
    const cs_udp_dgram *d;
    int dir;
} match_ctx;

static bool match_flow(void *vctx, uint32_t val)
{
    match_ctx *m = vctx;
    const cs_udp_flow *f = flow_at(m->t, val - 1);
    m->dir = tuple_dir(f->addr, f->port, f->family, m->d);
    return m->dir >= 0;
}

static bool match_tomb(void *vctx, uint32_t val)
{
    match_ctx *m = vctx;
    const utomb *tb = &m->t->tombs[val - 1];
    m->dir = tuple_dir(tb->addr, tb->port, tb->family, m->d);
    return m->dir >= 0;
}

/* ---- tombstones -------------------------------------------------------------------------------- */

static void tomb_remove(cs_udp_table *t, uint32_t ti)
{
    utomb *tb = &t->tombs[ti];
    uint32_t pos = cs_hidx_find_val(&t->tomb_idx, tb->hash, ti + 1);
    if (pos != CS_HIDX_NONE)
        cs_hidx_remove_at(&t->tomb_idx, pos);
    tb->used = false;
}

static void tomb_add(cs_udp_table *t, const cs_udp_flow *f)
{
    if (t->cfg.max_tombstones == 0)
        return;
    uint32_t ti = t->tomb_next;
    t->tomb_next = (t->tomb_next + 1) % t->cfg.max_tombstones;
    utomb *tb = &t->tombs[ti];
    if (tb->used) {
        tomb_remove(t, ti);
        t->ctr->anomalies[CS_ANOM_UDP_TOMB_EVICT]++;
    }
    tb->hash = f->hash;
    tb->family = f->family;
    memcpy(tb->addr, f->addr, sizeof tb->addr);
    memcpy(tb->port, f->port, sizeof tb->port);
    tb->stream = f->stream;
    tb->used = true;
    cs_hidx_insert(&t->tomb_idx, tb->hash, ti + 1);
}

/* ---- life cycle -------------------------------------------------------------------------------- */

static void finalise(cs_udp_table *t, cs_udp_flow *f, cs_udp_end why)
{
    if (t->hooks->flow_end != NULL && !f->quote_only)
        t->hooks->flow_end(t->hooks->ctx, f, why);
    if (!t->flushing)
        tomb_add(t, f);
    uint32_t pos = cs_hidx_find_val(&t->idx, f->hash, f->id + 1);
    if (pos != CS_HIDX_NONE)
        cs_hidx_remove_at(&t->idx, pos);
    udp_pool_unlink(&t->pool, &t->lru, f);
    udp_pool_release(&t->pool, f);
    t->active--;
}

void cs_udp_expire(cs_udp_table *t, cs_time_t now)
{
    while (t->lru.head != NIL) {
        cs_udp_flow *f = flow_at(t, t->lru.head);
        if (now - f->last_ts <= t->cfg.idle_timeout)
            break;
        finalise(t, f, CS_UDP_END_IDLE);
    }
}

/* The client of a new flow whose first datagram d endpoint 0 sent. */
static uint8_t pick_client(const cs_udp_dgram *d)
{
    if (d->tunnel_type != CS_TUN_NONE) /* the tunnel port is the receiving VTEP's */
        return d->sport == d->tunnel_port && d->dport != d->tunnel_port ? 1 : 0;
    bool s0 = d->sport < 1024, s1 = d->dport < 1024;
    return s0 && !s1 ? 1 : 0;
}

static cs_udp_flow *flow_create(cs_udp_table *t, const cs_udp_dgram *d, uint32_t h)
{
    while (t->active >= t->cfg.max_flows && t->lru.head != NIL) {
        t->ctr->anomalies[CS_ANOM_UDP_FLOW_CAP_EVICT]++;
        finalise(t, flow_at(t, t->lru.head), CS_UDP_END_EVICTED);
    }
    match_ctx m = {t, d, -1};
    uint32_t pos = cs_hidx_find(&t->tomb_idx, h, match_tomb, &m);
    cs_udp_flow *f = udp_pool_alloc(&t->pool);
    f->hash = h;
    f->family = d->family;
    f->addr[0] = *d->src;
    f->addr[1] = *d->dst;
    f->port[0] = d->sport;
    f->port[1] = d->dport;
    f->first_frame = d->frame;
    f->first_ts = f->last_ts = d->ts;
    f->tunnel_type = d->tunnel_type;
    f->tunnel = d->tunnel_id;
    f->client = pick_client(d);
    f->quote_only = d->quote;
    if (pos != CS_HIDX_NONE) {
        uint32_t ti = t->tomb_idx.slots[pos].val - 1;
        f->stream = t->tombs[ti].stream;
        f->resumed = true;
        tomb_remove(t, ti);
    } else {
        f->stream = t->next_stream++;
    }
    cs_hidx_insert(&t->idx, h, f->id + 1);
    udp_pool_append(&t->pool, &t->lru, f);
    if (++t->active > t->peak)
        t->peak = t->active;
    if (t->hooks->flow_new != NULL && !d->quote)
        t->hooks->flow_new(t->hooks->ctx, f);
    return f;
}

cs_udp_flow *cs_udp_packet(cs_udp_table *t, const cs_udp_dgram *d, int *dir)
{
    if (d->ts > t->now) {
        t->now = d->ts;
        if (t->now >= t->next_check) {
            cs_udp_expire(t, t->now);
            t->next_check = t->now + CS_NS_PER_S;
        }
    }
    uint32_t h = cs_hash_tuple(d->src, d->sport, d->dst, d->dport, d->family);
    match_ctx m = {t, d, -1};
    uint32_t pos = cs_hidx_find(&t->idx, h, match_flow, &m);
    cs_udp_flow *f;
    int k = 0;
    if (pos != CS_HIDX_NONE) {
        f = flow_at(t, t->idx.slots[pos].val - 1);
        k = m.dir;
    } else {
        f = flow_create(t, d, h);
    }
    *dir = k;
    if (d->quote)
        return f;
    if (f->quote_only) { /* first real datagram of a flow known from quotes: it starts now */
        f->quote_only = false;
        f->first_frame = d->frame;
        f->first_ts = d->ts;
        f->tunnel = d->tunnel_id;
        if (t->hooks->flow_new != NULL)
            t->hooks->flow_new(t->hooks->ctx, f);
    }
    if (d->ts > f->last_ts)
        f->last_ts = d->ts;
    if (d->tunnel_id != f->tunnel)
        f->tunnel_changed = true;
    f->pkts[k]++;
    f->ip_bytes[k] += d->ip_len;
    f->payload_bytes[k] += d->payload_wire;
    f->wire_bytes[k] += d->wirelen;
    if (t->lru.tail != f->id) {
        udp_pool_unlink(&t->pool, &t->lru, f);
        udp_pool_append(&t->pool, &t->lru, f);
    }
    if (t->hooks->datagram != NULL && d->payload != NULL && f->tunnel_type == CS_TUN_NONE)
        t->hooks->datagram(t->hooks->ctx, f, k, d->payload, d->payload_len, d->payload_wire, d->ts);
    return f;
}

void cs_udp_dgram_of(cs_udp_dgram *d, const cs_pkt *pkt)
{
    d->family = pkt->family;
    d->src = &pkt->src;
    d->dst = &pkt->dst;
    d->sport = pkt->sport;
    d->dport = pkt->dport;
    d->ip_len = pkt->ip_len;
    d->payload = pkt->payload;
    d->payload_len = pkt->payload_len;
    d->payload_wire = pkt->payload_wire;
    d->wirelen = pkt->wirelen;
    d->ts = pkt->ts;
    d->frame = pkt->frame;
    d->quote = pkt->icmp_quote;
    d->tunnel_type = CS_TUN_NONE;
    d->tunnel_port = 0;
    d->tunnel_id = pkt->tunnel_id;
}

void cs_udp_dgram_of_layer(cs_udp_dgram *d, const cs_pkt *pkt, const cs_tun_layer *l)
{
    d->family = l->family;
    d->src = &l->src;
    d->dst = &l->dst;
    d->sport = l->sport;
    d->dport = l->dport;
    d->ip_len = l->ip_len;
    d->payload = NULL;
    d->payload_len = 0;
    d->payload_wire = l->udp_wire;
    d->wirelen = pkt->wirelen;
    d->ts = pkt->ts;
    d->frame = pkt->frame;
    d->quote = false;
    d->tunnel_type = l->type;
    d->tunnel_port = l->port;
    d->tunnel_id = l == &pkt->tun[0] ? 0 : pkt->tunnel_id;
}

/* ---- table lifetime ---------------------------------------------------------------------------- */

void cs_udp_cfg_default(cs_udp_cfg *cfg)
{
    cfg->idle_timeout = 60 * CS_NS_PER_S;
    cfg->max_flows = 1000000;
    cfg->max_tombstones = 262144;
}

cs_udp_table *cs_udp_new(const cs_udp_cfg *cfg, const cs_udp_hooks *hooks, cs_counters *counters)
{
    cs_udp_table *t = g_new0(cs_udp_table, 1);
    t->cfg = *cfg;
    if (t->cfg.max_flows == 0)
        t->cfg.max_flows = 1;
    t->hooks = hooks;
    t->ctr = counters;
    cs_pool_init(&t->pool);
    cs_lru_init(&t->lru);
    cs_hidx_init(&t->idx, 256);
    cs_hidx_init(&t->tomb_idx, 256);
    t->tombs = g_new0(utomb, t->cfg.max_tombstones > 0 ? t->cfg.max_tombstones : 1);
    t->now = t->next_check = INT64_MIN;
    return t;
}

static gint cmp_stream(gconstpointer a, gconstpointer b)
{
    const cs_udp_flow *x = *(cs_udp_flow *const *)a, *y = *(cs_udp_flow *const *)b;
    return x->stream < y->stream ? -1 : x->stream > y->stream;
}

void cs_udp_flush(cs_udp_table *t)
{
    t->flushing = true;
    GPtrArray *all = g_ptr_array_sized_new(t->active);
    for (uint32_t id = t->lru.head; id != NIL; id = flow_at(t, id)->lru_next)
        g_ptr_array_add(all, flow_at(t, id));
    g_ptr_array_sort(all, cmp_stream);
    for (guint i = 0; i < all->len; i++)
        finalise(t, g_ptr_array_index(all, i), CS_UDP_END_EOF);
    g_ptr_array_free(all, TRUE);
    t->flushing = false;
}

uint32_t cs_udp_active(const cs_udp_table *t)
{
    return t->active;
}

uint32_t cs_udp_peak(const cs_udp_table *t)
{
    return t->peak;
}

uint64_t cs_udp_streams(const cs_udp_table *t)
{
    return t->next_stream;
}

const char *cs_udp_end_name(cs_udp_end why)
{
    static const char *const names[] = {"idle", "evicted", "eof"};
    return (unsigned)why < CS_ARRAY_LEN(names) ? names[why] : "unknown";
}

void cs_udp_free(cs_udp_table *t)
{
    if (t == NULL)
        return;
    cs_pool_free(&t->pool);
    cs_hidx_free(&t->idx);
    cs_hidx_free(&t->tomb_idx);
    g_free(t->tombs);
    g_free(t);
}
