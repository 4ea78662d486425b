/* quic_conn.c - the QUIC connection table: Wireshark's connection-ID maps and numbering rules
 * (packet-quic.c), a pool with LRU expiry and a cap, Initial packets opened, CRYPTO reassembled. */
#include <glib.h>
#include <string.h>

#include "hashidx.h"
#include "quic_conn.h"
#include "wire.h"

#define POOL_CHUNK_BITS 10
#define POOL_CHUNK (1u << POOL_CHUNK_BITS)
#define NIL UINT32_MAX
#define MAX_DISCARDED 100 /* Zeek's QUIC::max_discarded_packet_events */

/* The three connection-ID maps of Wireshark's packet-quic.c: the client's first Initial DCID,
 * the client's CIDs (its SCIDs: a packet with such a DCID comes from the server) and the server's. */
enum { MAP_INITIAL, MAP_CLIENT, MAP_SERVER, MAP_COUNT };
enum { LIST_OPEN, LIST_CLOSED, LIST_COUNT };

typedef struct lru {
    uint32_t head, tail;
} lru;

struct cs_quic_table {
    cs_quic_cfg cfg;
    const cs_quic_hooks *hooks;
    cs_counters *counters;
    cs_quic_crypto *qc;
    cs_quic_conn **chunks;
    uint32_t nchunks;
    uint32_t free_head;
    uint32_t next_unused;
    uint8_t *in_list; /* per slot: LIST_OPEN, LIST_CLOSED, or LIST_COUNT when free */
    uint32_t in_list_cap;
    lru lists[LIST_COUNT];
    cs_hidx idx[MAP_COUNT];
    uint32_t cid_lengths; /* bit n: a CID of length n was ever put in a map */
    uint32_t active, peak;
    uint32_t next_number;
    cs_time_t last_expire;
    cs_quic_stats st;
    uint8_t scratch[65536]; /* opened payloads (a UDP payload is at most 65527 bytes) */
};

/* ---- pool and LRU -------------------------------------------------------------------------- */

static inline cs_quic_conn *conn_at(const cs_quic_table *q, uint32_t id)
{
    return &q->chunks[id >> POOL_CHUNK_BITS][id & (POOL_CHUNK - 1)];
}

static uint32_t pool_take(cs_quic_table *q)
{
    uint32_t id = q->free_head;
    if (id != NIL) {
        q->free_head = conn_at(q, id)->lru_next;
        return id;
    }
    id = q->next_unused++;
    uint32_t k = id >> POOL_CHUNK_BITS;
    if (k == q->nchunks) {
        q->nchunks++;
        q->chunks = g_renew(cs_quic_conn *, q->chunks, q->nchunks);
        q->chunks[k] = g_malloc(sizeof(cs_quic_conn) * POOL_CHUNK);
        q->in_list = g_realloc(q->in_list, (size_t)q->nchunks * POOL_CHUNK);
        q->in_list_cap = q->nchunks * POOL_CHUNK;
    }
    return id;
}

static void lru_unlink(cs_quic_table *q, cs_quic_conn *c)
{
    lru *l = &q->lists[q->in_list[c->id]];
    if (c->lru_prev != NIL)
        conn_at(q, c->lru_prev)->lru_next = c->lru_next;
    else
        l->head = c->lru_next;
    if (c->lru_next != NIL)
        conn_at(q, c->lru_next)->lru_prev = c->lru_prev;
    else
        l->tail = c->lru_prev;
    q->in_list[c->id] = LIST_COUNT;
}

static void lru_append(cs_quic_table *q, cs_quic_conn *c, uint8_t list)
{
    lru *l = &q->lists[list];
    q->in_list[c->id] = list;
    c->lru_next = NIL;
    c->lru_prev = l->tail;
    if (l->tail != NIL)
        conn_at(q, l->tail)->lru_next = c->id;
    else
        l->head = c->id;
    l->tail = c->id;
}

static void lru_touch(cs_quic_table *q, cs_quic_conn *c)
{
    uint8_t list = c->closed ? LIST_CLOSED : LIST_OPEN;
    if (q->in_list[c->id] == list && q->lists[list].tail == c->id)
        return;
    lru_unlink(q, c);
    lru_append(q, c, list);
}

/* ---- connection-ID maps -------------------------------------------------------------------- */

static uint32_t cid_hash(const cs_quic_cid *cid)
{
    /* FNV-1a over length and bytes; CIDs are mostly random, so this spreads well enough */
    uint32_t h = 2166136261u ^ cid->len;
    for (uint8_t i = 0; i < cid->len; i++)
        h = (h ^ cid->b[i]) * 16777619u;
    return h ^ (h >> 15);
}

static bool cid_eq(const cs_quic_cid *a, const cs_quic_cid *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* True when conn c holds `cid` in the set that map `m` indexes. */
static bool conn_has(const cs_quic_conn *c, int m, const cs_quic_cid *cid)
{
    if (m == MAP_INITIAL)
        return c->key_dcid_set && cid_eq(&c->key_dcid, cid);
    int side = m == MAP_CLIENT ? 0 : 1;
    if (c->scid_set[side] && cid_eq(&c->cids[side], cid))
        return true;
    for (uint8_t i = 0; i < c->nextra[side]; i++)
        if (cid_eq(&c->extra[side][i], cid))
            return true;
    return false;
}

typedef struct cid_probe {
    const cs_quic_table *q;
    const cs_quic_cid *cid;
    int map;
    uint32_t only; /* pool id + 1 of the one connection wanted, or 0 for any */
} cid_probe;

static bool probe_match(void *ctx, uint32_t val)
{
    const cid_probe *p = ctx;
    if (p->only != 0 && val != p->only)
        return false;
    return conn_has(conn_at(p->q, val - 1), p->map, p->cid);
}

static cs_quic_conn *map_find(const cs_quic_table *q, int m, const cs_quic_cid *cid)
{
    cid_probe p = {q, cid, m, 0};
    uint32_t pos = cs_hidx_find(&q->idx[m], cid_hash(cid), probe_match, &p);
    return pos == CS_HIDX_NONE ? NULL : conn_at(q, q->idx[m].slots[pos].val - 1);
}

/* Removes the entry of `cid` in map m if it names connection c (any connection if c is NULL). */
static void map_remove(cs_quic_table *q, int m, const cs_quic_cid *cid, const cs_quic_conn *c)
{
    cid_probe p = {q, cid, m, c != NULL ? c->id + 1 : 0};
    uint32_t pos = cs_hidx_find(&q->idx[m], cid_hash(cid), probe_match, &p);
    if (pos != CS_HIDX_NONE)
        cs_hidx_remove_at(&q->idx[m], pos);
}

/* Maps `cid` (already stored in c) to c, replacing a previous owner (Wireshark's maps are
 * authoritative: the latest connection to claim an ID gets it). */
static void map_insert(cs_quic_table *q, int m, const cs_quic_cid *cid, cs_quic_conn *c)
{
    map_remove(q, m, cid, NULL);
    cs_hidx_insert(&q->idx[m], cid_hash(cid), c->id + 1);
    q->cid_lengths |= 1u << cid->len;
}

static void map_remove_all(cs_quic_table *q, cs_quic_conn *c)
{
    if (c->key_dcid_set)
        map_remove(q, MAP_INITIAL, &c->key_dcid, c);
    for (int side = 0; side < 2; side++) {
        int m = side == 0 ? MAP_CLIENT : MAP_SERVER;
        if (c->scid_set[side])
            map_remove(q, m, &c->cids[side], c);
        for (uint8_t i = 0; i < c->nextra[side]; i++)
            map_remove(q, m, &c->extra[side][i], c);
    }
}

static void cid_set(cs_quic_cid *cid, const uint8_t *p, uint8_t len)
{
    cid->len = len;
    if (len > 0)
        memcpy(cid->b, p, len);
}

char *cs_quic_cid_hex(const cs_quic_cid *cid, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    for (uint8_t i = 0; i < cid->len; i++) {
        buf[2 * i] = hex[cid->b[i] >> 4];
        buf[2 * i + 1] = hex[cid->b[i] & 15];
    }
    buf[2 * cid->len] = '\0';
    return buf;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void cs_quic_cfg_default(cs_quic_cfg *cfg)
{
    cfg->idle_timeout = 60 * CS_NS_PER_S;
    cfg->close_linger = 10 * CS_NS_PER_S;
    cfg->max_conns = 262144;
    cfg->max_crypto_bytes = 65536;
}

cs_quic_table *cs_quic_new(const cs_quic_cfg *cfg, const cs_quic_hooks *hooks,
                           cs_counters *counters)
{
    cs_quic_crypto *qc = cs_quic_crypto_new();
    if (qc == NULL)
        return NULL;
    cs_quic_table *q = g_new0(cs_quic_table, 1);
    q->cfg = *cfg;
    if (q->cfg.max_conns == 0)
        q->cfg.max_conns = 1;
    if (q->cfg.max_crypto_bytes < 64)
        q->cfg.max_crypto_bytes = 64;
    q->hooks = hooks;
    q->counters = counters;
    q->qc = qc;
    q->free_head = NIL;
    for (int l = 0; l < LIST_COUNT; l++)
        q->lists[l].head = q->lists[l].tail = NIL;
    for (int m = 0; m < MAP_COUNT; m++)
        cs_hidx_init(&q->idx[m], 1024);
    return q;
}

static void anomaly(cs_quic_table *q, cs_anomaly a)
{
    q->counters->anomalies[a]++;
}

/* Frees the CRYPTO streams of c. */
static void crypto_free(cs_quic_conn *c)
{
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < 2; l++)
            if (c->crypto[d][l] != NULL) {
                cs_quic_cstream_clear(c->crypto[d][l]);
                g_free(c->crypto[d][l]);
                c->crypto[d][l] = NULL;
            }
}

/* Finalises c: the hook, then its maps, buffers, slot and pool entry. */
static void conn_end(cs_quic_table *q, cs_quic_conn *c, cs_quic_end why)
{
    if (q->hooks != NULL && q->hooks->conn_end != NULL)
        q->hooks->conn_end(q->hooks->ctx, c, why);
    map_remove_all(q, c);
    crypto_free(c);
    if (c->slot != NULL && *c->slot == c)
        *c->slot = NULL;
    lru_unlink(q, c);
    memset(c->initial, 0, sizeof c->initial);
    c->lru_next = q->free_head;
    q->free_head = c->id;
    q->active--;
}

/* A new connection for a client Initial from d (Wireshark's quic_connection_create). */
static cs_quic_conn *conn_create(cs_quic_table *q, const cs_quic_dgram *d, uint32_t version)
{
    if (q->active >= q->cfg.max_conns) {
        uint32_t victim = q->lists[LIST_CLOSED].head;
        if (victim == NIL)
            victim = q->lists[LIST_OPEN].head;
        anomaly(q, CS_ANOM_QUIC_CONN_EVICT);
        conn_end(q, conn_at(q, victim), CS_QEND_EVICTED);
    }
    uint32_t id = pool_take(q);
    cs_quic_conn *c = conn_at(q, id);
    memset(c, 0, sizeof *c);
    c->id = id;
    c->number = q->next_number++;
    c->version = c->last_version = version;
    c->family = d->family;
    c->addr[0] = *d->src;
    c->addr[1] = *d->dst;
    c->port[0] = d->sport;
    c->port[1] = d->dport;
    c->first_ts = c->last_ts = d->ts;
    c->short_next[0] = c->short_next[1] = 1;
    memset(c->largest_pn, 0xff, sizeof c->largest_pn);
    q->in_list[id] = LIST_COUNT;
    lru_append(q, c, LIST_OPEN);
    q->active++;
    if (q->active > q->peak)
        q->peak = q->active;
    q->st.conns++;
    if (d->slot != NULL) {
        /* Wireshark's conversation data: the 5-tuple names its newest connection */
        cs_quic_conn *prev = *d->slot;
        if (prev != NULL && prev->slot == d->slot)
            prev->slot = NULL;
        *d->slot = c;
        c->slot = d->slot;
    }
    if (q->hooks != NULL && q->hooks->conn_new != NULL)
        q->hooks->conn_new(q->hooks->ctx, c);
    return c;
}

/* ---- finding a connection (Wireshark's quic_connection_find) ------------------------------- */

static bool is_server_endpoint(const cs_quic_conn *c, const cs_quic_dgram *d)
{
    return c->port[1] == d->sport && memcmp(&c->addr[1], d->src, sizeof(cs_addr)) == 0;
}

/* The flow's newest connection, with the direction its endpoints give. */
static cs_quic_conn *flow_conn(const cs_quic_dgram *d, bool *from_server)
{
    cs_quic_conn *c = d->slot != NULL ? *d->slot : NULL;
    if (c != NULL)
        *from_server = is_server_endpoint(c, d);
    return c;
}

/* By DCID in the client and server maps; a zero-length DCID names the flow's connection. */
static cs_quic_conn *find_dcid(cs_quic_table *q, const cs_quic_dgram *d, const cs_quic_cid *dcid,
                               bool *from_server)
{
    cs_quic_conn *c = NULL;
    bool check_ports = false;
    if (dcid->len > 0) {
        if ((q->cid_lengths & (1u << dcid->len)) == 0)
            return NULL;
        c = map_find(q, MAP_CLIENT, dcid);
        if (c != NULL) {
            *from_server = true;
            /* both sides chose the same ID: the ports tell */
            check_ports = map_find(q, MAP_SERVER, dcid) != NULL;
        } else {
            c = map_find(q, MAP_SERVER, dcid);
            if (c != NULL)
                *from_server = false;
        }
    } else if (d->slot != NULL && *d->slot != NULL) {
        c = *d->slot;
        check_ports = true;
    }
    if (check_ports)
        *from_server = is_server_endpoint(c, d);
    return c;
}

/* True when `raw` starts with one of the CIDs of side `side` (Wireshark's quic_cids_has_match:
 * the first CID of a side is always there, and a zero-length one matches anything). */
static bool cids_prefix(const cs_quic_conn *c, int side, const uint8_t *raw, uint32_t raw_len)
{
    const cs_quic_cid *k = &c->cids[side];
    if (raw_len >= k->len && memcmp(raw, k->b, k->len) == 0)
        return true;
    for (uint8_t i = 0; i < c->nextra[side]; i++) {
        k = &c->extra[side][i];
        if (raw_len >= k->len && memcmp(raw, k->b, k->len) == 0)
            return true;
    }
    return false;
}

/* A short header packet: the flow's connection if the DCID fits, else the longest known CID that
 * the DCID bytes start with (connection migration), else the flow's connection all the same (an
 * ID the server gave in an encrypted NEW_CONNECTION_ID frame; Wireshark loses these packets,
 * Zeek keeps them with the UDP connection). */
static cs_quic_conn *find_short(cs_quic_table *q, const cs_quic_dgram *d, bool *from_server)
{
    cs_wire w = cs_wire_make(d->p, d->len);
    uint32_t raw_len = w.len > 1 ? MIN(w.len - 1, CS_QUIC_MAX_CID) : 0;
    cs_quic_cid dcid;
    cid_set(&dcid, d->p + 1, (uint8_t)raw_len);
    if (d->slot != NULL && *d->slot != NULL) {
        cs_quic_conn *c = *d->slot;
        bool fs = is_server_endpoint(c, d);
        /* the server sends to the client's CIDs, the client to the server's */
        if (cids_prefix(c, fs ? 0 : 1, dcid.b, dcid.len)) {
            *from_server = fs;
            return c;
        }
    }
    for (int len = (int)raw_len; len >= 1; len--) {
        dcid.len = (uint8_t)len;
        if ((q->cid_lengths & (1u << len)) == 0)
            continue;
        cs_quic_conn *c = find_dcid(q, d, &dcid, from_server);
        if (c != NULL)
            return c;
    }
    cs_quic_conn *c = flow_conn(d, from_server);
    if (c != NULL)
        c->by_flow++;
    return c;
}

static cs_quic_conn *find_long(cs_quic_table *q, const cs_quic_dgram *d, const cs_quic_hdr *h,
                               bool *from_server)
{
    cs_quic_cid dcid;
    cid_set(&dcid, h->dcid, h->dcid_len);
    cs_quic_conn *c;
    if (h->type == CS_QPT_0RTT && dcid.len > 0) {
        /* 0-RTT packets carry the DCID of the client's Initial */
        *from_server = false;
        return map_find(q, MAP_INITIAL, &dcid);
    }
    c = find_dcid(q, d, &dcid, from_server);
    if (h->type == CS_QPT_INITIAL && c == NULL && dcid.len > 0) {
        /* a second client Initial before the server answered */
        c = map_find(q, MAP_INITIAL, &dcid);
        if (c != NULL)
            *from_server = false;
    }
    if (h->type == CS_QPT_INITIAL && c != NULL && !*from_server && dcid.len > 0 &&
        !(c->key_dcid_set && cid_eq(&dcid, &c->key_dcid)) && !cids_prefix(c, 1, dcid.b, dcid.len)) {
        /* a client Initial with neither the first DCID nor the server's: a fresh connection
         * (e.g. after Version Negotiation) */
        c = NULL;
    }
    return c;
}

/* The first Initial of the client, or its Initial after a Retry: the keys and IDs it sets
 * (Wireshark's quic_connection_update_initial). */
static void update_initial(cs_quic_table *q, cs_quic_conn *c, const cs_quic_hdr *h)
{
    if (h->scid_len > 0) {
        if (c->scid_set[0])
            map_remove(q, MAP_CLIENT, &c->cids[0], c);
        cid_set(&c->cids[0], h->scid, h->scid_len);
        c->scid_set[0] = true;
        map_insert(q, MAP_CLIENT, &c->cids[0], c);
    }
    if (h->dcid_len > 0) {
        cid_set(&c->key_dcid, h->dcid, h->dcid_len);
        c->key_dcid_set = true;
        c->keys_ready = false;
        map_insert(q, MAP_INITIAL, &c->key_dcid, c);
        if (c->odcid.len == 0)
            c->odcid = c->key_dcid;
    }
}

/* Wireshark's quic_connection_create_or_update for the first packet of a datagram. */
static cs_quic_conn *create_or_update(cs_quic_table *q, cs_quic_conn *c, const cs_quic_dgram *d,
                                      const cs_quic_hdr *h, bool from_server)
{
    if (h->type == CS_QPT_INITIAL && !from_server) {
        if (c == NULL) {
            c = conn_create(q, d, h->version);
            update_initial(q, c, h);
        } else if (!c->key_dcid_set && h->dcid_len > 0) {
            /* the client's Initial after a Retry: new keys, and the server's next Initial
             * names the server anew */
            update_initial(q, c, h);
            if (c->scid_set[1])
                map_remove(q, MAP_SERVER, &c->cids[1], c);
            c->scid_set[1] = false;
            c->cids[1].len = 0;
        }
        return c;
    }
    bool server_kind = h->type == CS_QPT_INITIAL || h->type == CS_QPT_RETRY ||
                       h->type == CS_QPT_HANDSHAKE;
    if (!server_kind || !from_server || c == NULL)
        return c;
    if (h->type == CS_QPT_RETRY) {
        /* a client processes at most one Retry, and none after a server Initial (RFC 9000
         * 17.2.5.2): a later one changes nothing (Wireshark would start over again) */
        c->retry_ignored = c->retry_taken || c->initials[1] > 0;
        if (c->retry_ignored)
            return c;
        c->retry_taken = true;
        if (c->key_dcid_set) {
            map_remove(q, MAP_INITIAL, &c->key_dcid, c);
            c->key_dcid_set = false;
            c->keys_ready = false;
        }
    }
    if (!c->scid_set[1] && h->scid_len > 0) {
        cid_set(&c->cids[1], h->scid, h->scid_len);
        c->scid_set[1] = true;
        map_insert(q, MAP_SERVER, &c->cids[1], c);
    }
    return c;
}

/* ---- packets ------------------------------------------------------------------------------- */

/* Adds a Zeek quic.log history letter: upper case when the client sent it. */
static void hist_add(cs_quic_conn *c, int dir, char letter)
{
    if (c->hist_len >= CS_QUIC_HISTORY_MAX || c->hist_mute)
        return;
    c->history[c->hist_len++] = dir == 0 ? letter : (char)(letter - 'A' + 'a');
    c->history[c->hist_len] = '\0';
}

/* What the frame callbacks of one opened packet need. */
typedef struct pctx {
    cs_quic_table *q;
    cs_quic_conn *c;
    int dir;
    int level; /* 0 Initial, 1 Handshake */
    cs_time_t ts;
} pctx;

static void on_message(void *ctx, const uint8_t *msg, uint32_t len)
{
    pctx *x = ctx;
    const cs_quic_hooks *hk = x->q->hooks;
    /* a ClientHello from the client or a ServerHello from the server: Zeek's 'S' */
    if (x->level == 0 && msg[0] == (x->dir == 0 ? 1 : 2)) {
        x->c->hellos[x->dir]++;
        hist_add(x->c, x->dir, 'S');
    }
    if (hk != NULL && hk->handshake != NULL)
        hk->handshake(hk->ctx, x->c, x->dir, x->level, msg, len, x->ts);
}

static void on_crypto(void *ctx, uint64_t off, const uint8_t *p, uint32_t len)
{
    pctx *x = ctx;
    cs_quic_cstream **cs = &x->c->crypto[x->dir][x->level];
    if (*cs == NULL)
        *cs = g_new0(cs_quic_cstream, 1);
    unsigned r = cs_quic_cstream_add(*cs, x->q->cfg.max_crypto_bytes, off, p, len, on_message, x);
    if (r & CS_QCS_CAP)
        anomaly(x->q, CS_ANOM_QUIC_CRYPTO_CAP);
    if (r & CS_QCS_CONFLICT)
        anomaly(x->q, CS_ANOM_QUIC_CRYPTO_CONFLICT);
    if (r & CS_QCS_TOO_LONG)
        anomaly(x->q, CS_ANOM_QUIC_CRYPTO_TOO_LONG);
}

static void on_close(void *ctx, bool app, uint64_t error, uint64_t frame_type,
                     const uint8_t *reason, uint32_t reason_len)
{
    pctx *x = ctx;
    cs_quic_conn *c = x->c;
    if (!c->closed) {
        c->closed = true;
        c->close_app = app;
        c->close_dir = (uint8_t)x->dir;
        c->close_error = error;
    }
    hist_add(c, x->dir, 'C');
}

static void frames_result(cs_quic_table *q, cs_quic_fresult r)
{
    if (r == CS_QF_NOT_ALLOWED)
        anomaly(q, CS_ANOM_QUIC_FRAME_NOT_ALLOWED);
    else if (r == CS_QF_UNKNOWN)
        anomaly(q, CS_ANOM_QUIC_UNKNOWN_FRAME);
    else if (r == CS_QF_BAD)
        anomaly(q, CS_ANOM_QUIC_BAD_FRAME);
}

/* Derives c's Initial keys for the packet's version unless they are there. Returns false when
 * there are none to derive (after a Retry, before the client's next Initial) or OpenSSL failed. */
static bool ensure_keys(cs_quic_table *q, cs_quic_conn *c, const cs_quic_hdr *h)
{
    if (!c->key_dcid_set || h->ver->salt == NULL)
        return false;
    if (c->keys_ready && c->keys_version == h->version)
        return true;
    q->st.initial_keys++;
    if (!cs_quic_initial_keys(q->qc, h->ver, c->key_dcid.b, c->key_dcid.len, &c->initial[0],
                              &c->initial[1]))
        return false;
    c->keys_ready = true;
    c->keys_version = h->version;
    return true;
}

/* Opens an Initial packet with the keys of the client's current Initial DCID and walks its
 * frames. Not possible after a Retry until the client's next Initial names the new DCID. */
static void open_initial(cs_quic_table *q, cs_quic_conn *c, int dir, const uint8_t *pkt,
                         const cs_quic_hdr *h, cs_time_t ts)
{
    if (!ensure_keys(q, c, h))
        return;
    cs_quic_plain pl;
    uint64_t *largest = &c->largest_pn[dir][0];
    if (!cs_quic_unprotect(q->qc, &c->initial[dir], pkt, h, *largest, q->scratch, &pl)) {
        c->decrypt_failed++;
        anomaly(q, CS_ANOM_QUIC_DECRYPT_FAILED);
        return;
    }
    if (*largest == UINT64_MAX || pl.pn > *largest)
        *largest = pl.pn;
    c->decrypted++;
    pctx x = {q, c, dir, 0, ts};
    cs_quic_frame_sink sink = {&x, on_crypto, on_close, NULL, NULL};
    frames_result(q, cs_quic_frames(pl.payload, pl.len, CS_QL_INITIAL, &sink));
}

static void note_scid(cs_quic_conn *c, int dir, const cs_quic_hdr *h)
{
    if (c->rep_scid_seen[dir] || h->scid_len > CS_QUIC_MAX_CID)
        return;
    cid_set(&c->rep_scid[dir], h->scid, h->scid_len);
    c->rep_scid_seen[dir] = true;
}

/* One packet of a datagram of connection c, sent by `dir`. */
static void handle_packet(cs_quic_table *q, cs_quic_conn *c, int dir, const uint8_t *pkt,
                          const cs_quic_hdr *h, bool whole, const cs_quic_cid *retry_odcid,
                          cs_time_t ts)
{
    c->packets[dir]++;
    q->st.packets[h->type]++;
    if (h->type != CS_QPT_SHORT && h->type != CS_QPT_VN)
        c->last_version = h->version;
    switch (h->type) {
    case CS_QPT_INITIAL:
        c->initials[dir]++;
        note_scid(c, dir, h);
        hist_add(c, dir, 'I');
        if (whole)
            open_initial(q, c, dir, pkt, h, ts);
        break;
    case CS_QPT_0RTT:
        c->zero_rtt++;
        note_scid(c, dir, h);
        hist_add(c, dir, 'Z');
        break;
    case CS_QPT_HANDSHAKE:
        c->handshakes[dir]++;
        note_scid(c, dir, h);
        hist_add(c, dir, 'H');
        if (dir == 1 && c->hs_ts == 0)
            c->hs_ts = ts;
        break;
    case CS_QPT_RETRY:
        c->retries++;
        hist_add(c, dir, 'R');
        /* the tag covers the DCID of the Initial it answers: the current one or the first */
        if (whole && h->ver->retry_tag &&
            !(retry_odcid != NULL &&
              cs_quic_retry_valid(q->qc, h->ver, retry_odcid->b, retry_odcid->len, pkt, h->len)) &&
            !cs_quic_retry_valid(q->qc, h->ver, c->odcid.b, c->odcid.len, pkt, h->len))
            anomaly(q, CS_ANOM_QUIC_RETRY_BAD_TAG);
        /* the client starts its handshake over under new keys (Zeek resets its TLS state too) */
        if (dir == 1 && !c->retry_ignored)
            crypto_free(c);
        break;
    case CS_QPT_VN:
        c->vns++;
        hist_add(c, dir, 'U');
        break;
    case CS_QPT_UNKNOWN:
        c->unknown_version[dir]++;
        hist_add(c, dir, 'U');
        break;
    default: /* short header: Zeek's 'O' at 1, 2, 4, 8, ... packets per direction */
        if (++c->shorts[dir] == c->short_next[dir]) {
            hist_add(c, dir, 'O');
            c->short_next[dir] *= 2;
        }
        break;
    }
}

/* Splits a datagram into its packets (RFC 9000 12.2) and handles each. A coalesced
 * packet with another DCID than the first (padding; Wireshark's check). A packet with the fixed
 * bit clear is handled (a peer may grease it) but adds no history letter of its own: Zeek's 'X'
 * instead. Version Negotiation need not set the bit (RFC 9000 17.2.1). */
static void walk_packets(cs_quic_table *q, cs_quic_conn *c, const cs_quic_dgram *d, int dir,
                         const cs_quic_cid *retry_odcid)
{
    cs_quic_cid first_dcid = {0};
    uint32_t off = 0;
    while (off < d->len) {
        const uint8_t *p = d->p + off;
        cs_quic_hdr h;
        uint8_t short_len = c->cids[dir == 0 ? 1 : 0].len; /* a short header names the peer */
        cs_quic_hresult r = cs_quic_parse_header(p, d->len - off, short_len, &h);
        bool fixed = (h.first & 0x40) != 0 || (r == CS_QH_OK && h.type == CS_QPT_VN);
        if (!fixed) {
            /* Zeek discards it ('X' once it opened Initials); it may be padding, or a packet
             * whose sender greases the bit (RFC 9287), which Wireshark reads and so do we */
            if (c->decrypted > 0 && c->discarded < MAX_DISCARDED)
                hist_add(c, dir, 'X');
            c->discarded++;
        }
        cs_quic_cid dcid = {0};
        if (h.dcid != NULL)
            cid_set(&dcid, h.dcid, (uint8_t)MIN(h.dcid_len, CS_QUIC_MAX_CID));
        if (off > 0 && !cid_eq(&dcid, &first_dcid))
            return;
        if (off == 0)
            first_dcid = dcid;
        c->hist_mute = !fixed; /* Zeek saw no packet there */
        if (r != CS_QH_OK) {
            /* a long header whose IDs were read still counts (Wireshark shows it too) */
            if (h.ver != NULL && h.scid != NULL)
                handle_packet(q, c, dir, p, &h, false, retry_odcid, d->ts);
            c->hist_mute = false;
            if (fixed || h.type != CS_QPT_SHORT)
                anomaly(q, d->len < d->wire_len ? CS_ANOM_QUIC_TRUNCATED : CS_ANOM_QUIC_BAD_HEADER);
            return;
        }
        handle_packet(q, c, dir, p, &h, true, retry_odcid, d->ts);
        c->hist_mute = false;
        off += h.len;
    }
}

/* A client Initial with a DCID the maps do not know, on a flow whose connection is still in its
 * handshake: the same connection if it opens under that connection's Initial keys (the client
 * moved to another server ID; the keys stay those of its first DCID, RFC 9001 5.2). */
static bool opens_as(cs_quic_table *q, cs_quic_conn *c, const uint8_t *pkt, const cs_quic_hdr *h)
{
    cs_quic_plain pl;
    return ensure_keys(q, c, h) &&
           cs_quic_unprotect(q->qc, &c->initial[0], pkt, h, c->largest_pn[0][0], q->scratch, &pl);
}

/* The connection of a datagram whose first packet has a long header (`whole`: it parsed),
 * created or updated as Wireshark does. A packet the maps do not place but that comes on the
 * flow of a connection belongs to it, except a client Initial that does not open under its keys
 * (a new connection on the same 4-tuple). *odcid gets the Initial DCID a Retry answers (before
 * the Retry erases it). */
static cs_quic_conn *long_conn(cs_quic_table *q, const cs_quic_dgram *d, const cs_quic_hdr *h,
                               bool whole, bool *from_server, cs_quic_cid *odcid, bool *have_odcid)
{
    cs_quic_conn *c = NULL;
    if (h->dcid_len <= CS_QUIC_MAX_CID)
        c = find_long(q, d, h, from_server);
    if (c == NULL) {
        bool fs = false;
        cs_quic_conn *f = flow_conn(d, &fs);
        if (f != NULL && (h->type != CS_QPT_INITIAL || fs ||
                          (whole && h->ver != NULL && opens_as(q, f, d->p, h)))) {
            c = f;
            *from_server = fs;
            c->by_flow++;
        }
    }
    if (c != NULL && h->type == CS_QPT_RETRY && c->key_dcid_set) {
        *odcid = c->key_dcid;
        *have_odcid = true;
    }
    if (h->dcid_len > CS_QUIC_MAX_CID)
        return c;
    return create_or_update(q, c, d, h, *from_server);
}

bool cs_quic_datagram(cs_quic_table *q, const cs_quic_dgram *d, cs_quic_conn **conn, int *dir_out)
{
    cs_quic_conn *none = NULL;
    cs_quic_conn **out = conn != NULL ? conn : &none;
    *out = NULL;
    cs_wire w = cs_wire_make(d->p, d->len);
    uint8_t first = cs_wire_u8(&w, 0);
    if (w.trunc)
        return false;
    bool known_flow = d->slot != NULL && *d->slot != NULL;
    bool from_server = false;
    cs_quic_cid odcid = {0};
    bool have_odcid = false;
    cs_quic_conn *c;
    if (first & 0x80) {
        cs_quic_hdr h;
        cs_quic_hresult r = cs_quic_parse_header(d->p, d->len, 0, &h);
        bool known = r == CS_QH_OK ? h.type != CS_QPT_UNKNOWN
                                   : cs_quic_looks_like_long(d->p, d->len);
        if (!known && !d->force && !known_flow)
            return false;
        if (r != CS_QH_OK && (h.ver == NULL || h.scid == NULL)) {
            /* not even the connection IDs: nothing to file it under */
            q->st.datagrams++;
            anomaly(q, d->len < d->wire_len ? CS_ANOM_QUIC_TRUNCATED : CS_ANOM_QUIC_BAD_HEADER);
            return true;
        }
        c = long_conn(q, d, &h, r == CS_QH_OK, &from_server, &odcid, &have_odcid);
    } else {
        c = find_short(q, d, &from_server);
        if (c == NULL && !d->force)
            return false;
    }
    q->st.datagrams++;
    if (c == NULL) {
        q->st.orphans++;
        return true;
    }
    int dir = from_server ? 1 : 0;
    *out = c;
    if (dir_out != NULL)
        *dir_out = dir;
    c->dgrams[dir]++;
    c->bytes[dir] += d->wire_len;
    c->last_ts = d->ts;
    walk_packets(q, c, d, dir, have_odcid ? &odcid : NULL);
    lru_touch(q, c);
    return true;
}

/* ---- expiry, state, names ------------------------------------------------------------------ */

void cs_quic_slot_end(cs_quic_table *q, void **slot)
{
    cs_quic_conn *c = *slot;
    if (c != NULL && c->slot == slot)
        c->slot = NULL;
    *slot = NULL;
}

void cs_quic_expire(cs_quic_table *q, cs_time_t now)
{
    if (now - q->last_expire < CS_NS_PER_S)
        return;
    q->last_expire = now;
    for (int l = 0; l < LIST_COUNT; l++) {
        cs_time_t limit = l == LIST_CLOSED ? q->cfg.close_linger : q->cfg.idle_timeout;
        while (q->lists[l].head != NIL) {
            cs_quic_conn *c = conn_at(q, q->lists[l].head);
            if (now - c->last_ts <= limit)
                break;
            conn_end(q, c, CS_QEND_IDLE);
        }
    }
}

static gint by_number(gconstpointer a, gconstpointer b, gpointer q)
{
    uint32_t na = conn_at(q, *(const uint32_t *)a)->number;
    uint32_t nb = conn_at(q, *(const uint32_t *)b)->number;
    return na < nb ? -1 : na > nb;
}

void cs_quic_flush(cs_quic_table *q)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (int l = 0; l < LIST_COUNT; l++)
        for (uint32_t id = q->lists[l].head; id != NIL; id = conn_at(q, id)->lru_next)
            g_array_append_val(ids, id);
    g_array_sort_with_data(ids, by_number, q);
    for (guint i = 0; i < ids->len; i++)
        conn_end(q, conn_at(q, g_array_index(ids, uint32_t, i)), CS_QEND_EOF);
    g_array_free(ids, TRUE);
}

cs_quic_state cs_quic_conn_state(const cs_quic_conn *c)
{
    if (c->dgrams[1] == 0)
        return CS_QS_NO_ANSWER; /* even when the client closed it after giving up */
    if (c->closed)
        return CS_QS_CLOSED;
    bool server_on = c->handshakes[1] > 0 || c->shorts[1] > 0;
    bool client_on = c->handshakes[0] > 0 || c->shorts[0] > 0;
    if (server_on && client_on)
        return CS_QS_ESTABLISHED;
    if (c->initials[1] == 0 && !server_on) {
        if (c->retries > 0)
            return CS_QS_RETRY_ONLY;
        if (c->vns > 0)
            return CS_QS_VN;
    }
    return CS_QS_INCOMPLETE;
}

const char *cs_quic_state_name(cs_quic_state s)
{
    static const char *const names[] = {"no_answer",  "version_negotiation", "retry_only",
                                        "incomplete", "established",         "closed"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
}

const char *cs_quic_end_name(cs_quic_end why)
{
    static const char *const names[] = {"idle", "evicted", "eof"};
    return (unsigned)why < CS_ARRAY_LEN(names) ? names[why] : "unknown";
}

uint32_t cs_quic_active(const cs_quic_table *q)
{
    return q->active;
}

uint32_t cs_quic_peak(const cs_quic_table *q)
{
    return q->peak;
}

const cs_quic_stats *cs_quic_get_stats(const cs_quic_table *q)
{
    return &q->st;
}

void cs_quic_free(cs_quic_table *q)
{
    if (q == NULL)
        return;
    for (int l = 0; l < LIST_COUNT; l++)
        for (uint32_t id = q->lists[l].head; id != NIL; id = conn_at(q, id)->lru_next)
            crypto_free(conn_at(q, id));
    for (uint32_t k = 0; k < q->nchunks; k++)
        g_free(q->chunks[k]);
    g_free(q->chunks);
    g_free(q->in_list);
    for (int m = 0; m < MAP_COUNT; m++)
        cs_hidx_free(&q->idx[m]);
    cs_quic_crypto_free(q->qc);
    g_free(q);
}
