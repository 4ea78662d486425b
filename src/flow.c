/* flow.c - connection table: open-addressing index over a pool of cs_conn, Wireshark tcp.stream rules,
 * per-connection state/counters, expiry lists (idle, closed), the cap, and remembered closed 4-tuples. */
#include <string.h>

#include "flow.h"
#include "hashidx.h"
#include "pool.h"

#define NIL CS_POOL_NIL

enum { LIST_NONE, LIST_OPEN, LIST_CLOSED, LIST_COUNT };

/* A finalised 4-tuple, remembered so that a late packet gets the stream index Wireshark gives it. */
typedef struct tomb {
    uint32_t hash;
    uint8_t family;
    uint8_t base_set; /* bit i: base_seq[i] valid */
    uint16_t port[2];
    cs_addr addr[2];
    uint32_t base_seq[2];
    uint64_t stream;
    bool used;
} tomb;

struct cs_flow_table {
    cs_flow_cfg cfg;
    cs_reasm_limits lim;
    const cs_flow_hooks *hooks;
    cs_counters *ctr;
    cs_hidx idx;
    cs_pool pool;           /* the cs_conn records */
    bool flushing;          /* end of input: no tombstones needed */
    uint32_t active, peak;
    cs_lru lists[LIST_COUNT];
    uint64_t next_stream;
    cs_time_t now;          /* latest packet time seen */
    cs_time_t next_check;   /* next expiry scan */
    tomb *tombs;            /* ring of finalised tuples */
    uint32_t tomb_next;
    cs_hidx tomb_idx;
};

/* ---- pool and expiry lists ---------------------------------------------------------------- */

CS_POOL_DEFINE(conn_pool, cs_conn)

static inline cs_conn *conn_at(const cs_flow_table *t, uint32_t id)
{
    return conn_pool_at(&t->pool, id);
}

static void lru_unlink(cs_flow_table *t, cs_conn *c)
{
    conn_pool_unlink(&t->pool, &t->lists[c->lru_list], c);
    c->lru_list = LIST_NONE;
}

static void lru_append(cs_flow_table *t, cs_conn *c, uint8_t list)
{
    c->lru_list = list;
    conn_pool_append(&t->pool, &t->lists[list], c);
}

/* Moves c to the young end of `list`. */
static inline void lru_touch(cs_flow_table *t, cs_conn *c, uint8_t list)
{
    if (c->lru_list == list && t->lists[list].tail == c->id)
        return;
    lru_unlink(t, c);
    lru_append(t, c, list);
}

/* ---- keys and hashing ---------------------------------------------------------------------- */

/* Which endpoint of (addr, port) sent pkt: 0, 1, or -1 when it is another tuple. */
static inline int tuple_dir(const cs_addr addr[2], const uint16_t port[2], uint8_t family,
                            const cs_pkt *p)
{
    return cs_tuple_dir(addr, port, family, p->family, &p->src, &p->dst, p->sport, p->dport);
}

typedef struct match_ctx {
    const cs_flow_table *t;
    const cs_pkt *pkt;
    int dir;
} match_ctx;

static bool match_conn(void *vctx, uint32_t val)
{
    match_ctx *m = vctx;
    const cs_conn *c = conn_at(m->t, val - 1);
    m->dir = tuple_dir(c->addr, c->port, c->family, m->pkt);
    return m->dir >= 0;
}

static bool match_tomb(void *vctx, uint32_t val)
{
    match_ctx *m = vctx;
    const tomb *tb = &m->t->tombs[val - 1];
    m->dir = tuple_dir(tb->addr, tb->port, tb->family, m->pkt);
    return m->dir >= 0;
}

/* ---- tombstones ---------------------------------------------------------------------------- */

static void tomb_remove(cs_flow_table *t, uint32_t ti)
{
    tomb *tb = &t->tombs[ti];
    uint32_t pos = cs_hidx_find_val(&t->tomb_idx, tb->hash, ti + 1);
    if (pos != CS_HIDX_NONE)
        cs_hidx_remove_at(&t->tomb_idx, pos);
    tb->used = false;
}

static void tomb_add(cs_flow_table *t, const cs_conn *c)
{
    if (t->cfg.max_tombstones == 0)
        return;
    uint32_t ti = t->tomb_next;
    t->tomb_next = (t->tomb_next + 1) % t->cfg.max_tombstones;
    tomb *tb = &t->tombs[ti];
    if (tb->used) {
        tomb_remove(t, ti);
        t->ctr->anomalies[CS_ANOM_FLOW_TOMB_EVICT]++;
    }
    tb->hash = c->hash;
    tb->family = c->family;
    tb->base_set = 0;
    for (int i = 0; i < 2; i++) {
        tb->addr[i] = c->addr[i];
        tb->port[i] = c->port[i];
        tb->base_seq[i] = c->d[i].base_seq;
        if (c->d[i].base_set)
            tb->base_set |= (uint8_t)(1u << i);
    }
    tb->stream = c->stream;
    tb->used = true;
    cs_hidx_insert(&t->tomb_idx, tb->hash, ti + 1);
}

/* ---- reassembly sink adapter --------------------------------------------------------------- */

typedef struct sink_ctx {
    cs_flow_table *t;
    cs_conn *c;
    int dir;
} sink_ctx;

static void sink_data(void *vctx, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    sink_ctx *s = vctx;
    if (s->t->hooks->stream_data != NULL)
        s->t->hooks->stream_data(s->t->hooks->ctx, s->c, s->dir, p, len, ts);
}

static void hist_add(cs_conn *c, int dir, char letter);
static void hist_count(cs_conn *c, int dir, char letter);

static void sink_gap(void *vctx, uint32_t len, cs_time_t ts)
{
    sink_ctx *s = vctx;
    s->t->ctr->anomalies[CS_ANOM_REASM_GAP]++;
    s->t->ctr->gap_bytes += len;
    hist_count(s->c, s->dir, 'G');
    if (s->t->hooks->stream_gap != NULL)
        s->t->hooks->stream_gap(s->t->hooks->ctx, s->c, s->dir, len, ts);
}

static void sink_end(void *vctx, cs_time_t ts)
{
    sink_ctx *s = vctx;
    if (s->t->hooks->stream_end != NULL)
        s->t->hooks->stream_end(s->t->hooks->ctx, s->c, s->dir, ts);
}

static inline cs_reasm_sink make_sink(sink_ctx *sc)
{
    cs_reasm_sink k = {sink_data, sink_gap, sink_end, sc};
    return k;
}

/* ---- finalisation -------------------------------------------------------------------------- */

static void finalise(cs_flow_table *t, cs_conn *c, cs_end_reason why)
{
    for (int i = 0; i < 2; i++) {
        int dir = i == 0 ? c->client : !c->client;
        sink_ctx sc = {t, c, dir};
        cs_reasm_sink sink = make_sink(&sc);
        uint64_t before = c->d[dir].reasm.cap_hits;
        cs_reasm_finish(&c->d[dir].reasm, &sink, c->last_ts);
        t->ctr->anomalies[CS_ANOM_REASM_OOO_CAP] += c->d[dir].reasm.cap_hits - before;
    }
    if (t->hooks->conn_end != NULL && !c->quote_only)
        t->hooks->conn_end(t->hooks->ctx, c, why);
    if (!t->flushing)
        tomb_add(t, c);
    uint32_t pos = cs_hidx_find_val(&t->idx, c->hash, c->id + 1);
    if (pos != CS_HIDX_NONE)
        cs_hidx_remove_at(&t->idx, pos);
    lru_unlink(t, c);
    cs_reasm_clear(&c->d[0].reasm);
    cs_reasm_clear(&c->d[1].reasm);
    conn_pool_release(&t->pool, c);
    t->active--;
}

static void expire_list(cs_flow_table *t, uint8_t list, cs_time_t timeout, cs_end_reason why,
                        cs_time_t now)
{
    while (t->lists[list].head != NIL) {
        cs_conn *c = conn_at(t, t->lists[list].head);
        if (now - c->last_ts <= timeout)
            break;
        finalise(t, c, why);
    }
}

void cs_flow_expire(cs_flow_table *t, cs_time_t now)
{
    expire_list(t, LIST_CLOSED, t->cfg.close_linger, CS_END_CLOSED, now);
    expire_list(t, LIST_OPEN, t->cfg.idle_timeout, CS_END_IDLE, now);
}

/* Makes room for one more connection under the cap: closed ones go first, then the idlest. */
static void make_room(cs_flow_table *t)
{
    while (t->active >= t->cfg.max_conns) {
        uint8_t list = t->lists[LIST_CLOSED].head != NIL ? LIST_CLOSED : LIST_OPEN;
        if (t->lists[list].head == NIL)
            return;
        t->ctr->anomalies[CS_ANOM_FLOW_CAP_EVICT]++;
        finalise(t, conn_at(t, t->lists[list].head), CS_END_EVICTED);
    }
}

/* ---- history and roles --------------------------------------------------------------------- */

/* Records a Zeek history letter once per endpoint (upper case for the originator). */
static void hist_add(cs_conn *c, int dir, char letter)
{
    int side = dir == c->client ? 0 : 1;
    uint32_t bit = 1u << (letter - 'A');
    if (c->hist_bits[side] & bit)
        return;
    c->hist_bits[side] |= bit;
    if (c->hist_len + 1 < (int)sizeof c->history) {
        c->history[c->hist_len++] = side == 0 ? letter : (char)(letter - 'A' + 'a');
        c->history[c->hist_len] = '\0';
    }
}

/* Records a letter Zeek repeats as its count grows (T retransmission, W zero window, G gap): at the
 * 1st, 10th, 100th, ... occurrence for that endpoint. */
static void hist_count(cs_conn *c, int dir, char letter)
{
    int k = letter == 'T' ? 0 : letter == 'W' ? 1 : 2;
    cs_conn_dir *d = &c->d[dir];
    uint32_t n = ++d->hist_n[k];
    uint32_t threshold = 1;
    for (uint8_t i = 0; i < d->hist_count[k]; i++)
        threshold *= 10;
    if (n != threshold)
        return;
    d->hist_count[k]++;
    int side = dir == c->client ? 0 : 1;
    if (c->hist_len + 1 < (int)sizeof c->history) {
        c->history[c->hist_len++] = side == 0 ? letter : (char)(letter - 'A' + 'a');
        c->history[c->hist_len] = '\0';
    }
}

/* Zeek's '^': the originator is not the endpoint that sent the first packet seen. */
static void hist_flip(cs_conn *c)
{
    if (c->hist_len + 1 < (int)sizeof c->history) {
        c->history[c->hist_len++] = '^';
        c->history[c->hist_len] = '\0';
    }
}

/* Well-known service ports above 1023 that identify a server when no handshake was seen. */
static bool likely_server_port(uint16_t p)
{
    static const uint16_t ports[] = {1080, 1433, 1521, 2049, 3128, 3306, 3389, 5432, 5900, 6379,
                                     8000, 8008, 8080, 8081, 8443, 8888, 9000, 9090, 9200, 11211};
    for (size_t i = 0; i < CS_ARRAY_LEN(ports); i++)
        if (ports[i] == p)
            return true;
    return false;
}

/* Picks the client of a connection whose handshake was not seen; endpoint 0 sent first. */
static void guess_roles(cs_conn *c)
{
    uint16_t p0 = c->port[0], p1 = c->port[1];
    bool s0 = p0 < 1024 || likely_server_port(p0);
    bool s1 = p1 < 1024 || likely_server_port(p1);
    c->role_how = CS_ROLE_PORT;
    if (s0 != s1) {
        c->client = s0 ? 1 : 0;
    } else if ((p0 >= 32768) != (p1 >= 32768)) {
        c->client = p0 >= 32768 ? 0 : 1; /* the ephemeral port is the client's */
    } else {
        c->client = 0;
        c->role_how = CS_ROLE_FIRST;
    }
}

/* Sets the roles from a handshake packet sent by endpoint dir: a SYN makes dir the client, a
 * SYN/ACK the server (unless a SYN already decided; a SYN's verdict is final). */
static void roles_from_handshake(cs_conn *c, int dir, uint8_t flags)
{
    if (c->role_how == CS_ROLE_SYN)
        return;
    if ((flags & (CS_TH_SYN | CS_TH_ACK)) == CS_TH_SYN) {
        c->client = (uint8_t)dir;
        c->role_how = CS_ROLE_SYN;
    } else if (c->role_how != CS_ROLE_SYNACK) {
        c->client = (uint8_t)!dir;
        c->role_how = CS_ROLE_SYNACK;
    }
}

/* ---- packet path --------------------------------------------------------------------------- */

static cs_conn *conn_create(cs_flow_table *t, const cs_pkt *p, uint32_t h)
{
    bool syn_only = (p->flags & (CS_TH_SYN | CS_TH_ACK)) == CS_TH_SYN;

    make_room(t); /* may finalise others and move tombstones: look them up after */
    match_ctx m = {t, p, -1};
    uint32_t pos = cs_hidx_find(&t->tomb_idx, h, match_tomb, &m);
    cs_conn *c = conn_pool_alloc(&t->pool);
    c->hash = h;
    c->family = p->family;
    c->addr[0] = p->src;
    c->addr[1] = p->dst;
    c->port[0] = p->sport;
    c->port[1] = p->dport;
    c->first_frame = p->frame;
    c->first_ts = c->last_ts = c->end_ts = p->ts;
    c->tunnel = p->tunnel_id;
    c->d[0].wscale = c->d[1].wscale = -1;
    c->lru_prev = c->lru_next = NIL;

    if (pos != CS_HIDX_NONE) {
        uint32_t ti = t->tomb_idx.slots[pos].val - 1;
        tomb *tb = &t->tombs[ti];
        int td = m.dir; /* tomb endpoint that sent this packet */
        bool new_stream = syn_only && (tb->base_set & (1u << td)) && p->seq != tb->base_seq[td];
        if (!new_stream) {
            c->stream = tb->stream;
            c->resumed = true;
            for (int i = 0; i < 2; i++) {
                int src = i == 0 ? td : !td;
                c->d[i].base_set = (tb->base_set >> src) & 1;
                c->d[i].base_seq = tb->base_seq[src];
            }
        }
        tomb_remove(t, ti);
        if (!new_stream)
            goto created;
    }
    c->stream = t->next_stream++;
created:
    if (p->flags & CS_TH_SYN)
        roles_from_handshake(c, 0, p->flags);
    else
        guess_roles(c);
    if (c->client != 0)
        hist_flip(c);
    cs_hidx_insert(&t->idx, h, c->id + 1);
    lru_append(t, c, LIST_OPEN);
    t->active++;
    if (t->active > t->peak)
        t->peak = t->active;
    if (t->hooks->conn_new != NULL)
        t->hooks->conn_new(t->hooks->ctx, c);
    return c;
}

/* Wireshark: a SYN without ACK whose sequence number differs from the base sequence number of its
 * direction starts a new conversation on the same 4-tuple (packet-tcp.c, dissect_tcp). */
static inline bool starts_new_stream(const cs_conn *c, int dir, const cs_pkt *p)
{
    return (p->flags & (CS_TH_SYN | CS_TH_ACK)) == CS_TH_SYN && c->d[dir].base_set &&
           p->seq != c->d[dir].base_seq;
}

/* Wireshark's base sequence numbers (packet-tcp.c, dissect_tcp): a SYN/ACK with another sequence
 * number moves its direction's base; the first eligible packet of a direction sets it (SYN: seq,
 * else seq-1), and an ACK sets the other direction's if still unset (ack-1). */
static void update_bases(cs_conn_dir *d, cs_conn_dir *peer, const cs_pkt *p)
{
    if ((p->flags & (CS_TH_SYN | CS_TH_ACK)) == (CS_TH_SYN | CS_TH_ACK) && d->base_set)
        d->base_seq = p->seq;
    if (!p->base_ok)
        return;
    if (!d->base_set) {
        d->base_set = true;
        d->base_seq = (p->flags & CS_TH_SYN) ? p->seq : p->seq - 1;
    }
    if (!peer->base_set && (p->flags & CS_TH_ACK)) {
        peer->base_set = true;
        peer->base_seq = p->ack - 1;
    }
}

/* The handshake facts of a SYN or SYN/ACK p sent by endpoint dir: options of the first one, roles,
 * times, the SYN hook, history. */
static void conn_syn(cs_flow_table *t, cs_conn *c, int dir, const cs_pkt *p)
{
    cs_conn_dir *d = &c->d[dir];
    uint8_t fl = p->flags;
    uint32_t n = (fl & CS_TH_ACK) ? d->synacks++ : d->syns++;
    if (n == 0 && d->syns + d->synacks == 1) {
        d->isn = p->seq;
        d->mss = p->opt.has_mss ? p->opt.mss : 0;
        d->wscale = p->opt.has_wscale ? (int8_t)p->opt.wscale : -1;
        d->sack_perm = p->opt.sack_perm;
        d->ts_opt = p->opt.has_ts;
    }
    roles_from_handshake(c, dir, fl);
    if (fl & CS_TH_ACK) {
        d->seen |= CS_SENT_SYNACK;
        if (c->synack_ts == 0)
            c->synack_ts = p->ts;
        hist_add(c, dir, 'H');
    } else {
        d->seen |= CS_SENT_SYN;
        if (t->hooks->syn_packet != NULL)
            t->hooks->syn_packet(t->hooks->ctx, c, dir, d->syns == 1, p->ts);
        if (c->syn_ts == 0)
            c->syn_ts = p->ts;
        if (c->synack_ts == 0)
            c->syn_last_ts = p->ts;
        hist_add(c, dir, 'S');
    }
}

/* Reassembly of packet p sent by endpoint dir: first the peer's bytes its ACK reveals as missing,
 * then its own payload (or FIN); and Zeek's history 'T'. */
static void conn_reasm(cs_flow_table *t, cs_conn *c, int dir, const cs_pkt *p)
{
    cs_conn_dir *d = &c->d[dir];
    cs_conn_dir *peer = &c->d[!dir];
    uint8_t fl = p->flags;
    /* The ACK first: it acknowledges what the peer received before sending this packet, so a hole
     * it reveals in the peer's stream comes before this packet's own payload. */
    if ((fl & CS_TH_ACK) && peer->reasm.started && !p->hdr_partial) {
        sink_ctx sc = {t, c, !dir};
        cs_reasm_sink sink = make_sink(&sc);
        cs_reasm_ack(&peer->reasm, &sink, p->ack, p->ts);
    }
    if (!(fl & CS_TH_RST) || p->payload_wire > 0) {
        uint32_t seq = p->seq;
        if (fl & CS_TH_SYN) {
            seq++;
            if (!d->reasm.started || d->syns + d->synacks == 1) {
                cs_reasm_start(&d->reasm, seq);
            } else if (seq != d->reasm.next_seq && d->reasm.delivered == 0 && d->reasm.gaps == 0 &&
                       d->reasm.ooo == NULL && !d->reasm.has_fin) {
                /* a repeated SYN or SYN/ACK with another ISN before any data: the endpoint
                 * started over (the peer ACKs the latest ISN), so its stream starts there */
                cs_reasm_start(&d->reasm, seq);
                d->isn = p->seq;
            }
        } else if (!d->reasm.started) {
            cs_reasm_start(&d->reasm, seq);
        }
        if (p->payload_wire > 0 || (fl & CS_TH_FIN)) {
            sink_ctx sc = {t, c, dir};
            cs_reasm_sink sink = make_sink(&sc);
            uint32_t hits = d->reasm.cap_hits;
            uint32_t conflicts = d->reasm.conflicts;
            cs_seg_kind k = cs_reasm_segment(&d->reasm, &t->lim, &sink, seq, p->payload,
                                             p->payload_len, p->payload_wire,
                                             (fl & CS_TH_FIN) != 0, p->ts);
            t->ctr->anomalies[CS_ANOM_REASM_OOO_CAP] += d->reasm.cap_hits - hits;
            if (k == CS_SEG_RETRANS || k == CS_SEG_OVERLAP)
                d->retrans++;
            else if (k == CS_SEG_AHEAD)
                d->ooo++;
            t->ctr->anomalies[CS_ANOM_REASM_OVERLAP_DIFF] += d->reasm.conflicts - conflicts;
        }
    }
    /* Zeek's history 'T': payload starting below the highest sequence number sent before
     * (retransmissions and late hole fillers alike). */
    if (p->payload_wire > 0) {
        uint32_t end = p->seq + ((fl & CS_TH_SYN) ? 1 : 0) + p->payload_wire;
        if (d->seq_hi_set && cs_seq_diff(p->seq, d->seq_hi) < 0)
            hist_count(c, dir, 'T');
        if (!d->seq_hi_set || cs_seq_diff(end, d->seq_hi) > 0) {
            d->seq_hi = end;
            d->seq_hi_set = true;
        }
    }
}

/* Updates the handshake, flags, history and reassembly of c with packet p sent by endpoint dir. */
static void conn_update(cs_flow_table *t, cs_conn *c, int dir, const cs_pkt *p)
{
    cs_conn_dir *d = &c->d[dir];
    cs_conn_dir *peer = &c->d[!dir];
    uint8_t fl = p->flags;

    if (p->ts > c->last_ts)
        c->last_ts = p->ts;
    if (CS_UNLIKELY(p->tunnel_id != c->tunnel))
        c->tunnel_changed = true;
    /* Zeek's duration stops at the packet that leaves both sides closed (FIN or RST each way). */
    uint16_t closing = CS_SENT_FIN | CS_SENT_RST;
    if ((!(c->d[0].seen & closing) || !(c->d[1].seen & closing)) && p->ts > c->end_ts)
        c->end_ts = p->ts;
    d->pkts++;
    d->ip_bytes += p->ip_len;
    d->wire_bytes += p->wirelen;
    d->payload_bytes += p->payload_wire;
    d->seen |= CS_SENT_ANY;
    update_bases(d, peer, p);

    if ((fl & (CS_TH_SYN | CS_TH_RST)) == (CS_TH_SYN | CS_TH_RST) || (fl & 0x3f) == 0) {
        t->ctr->anomalies[CS_ANOM_TCP_BAD_FLAGS]++;
    }
    if (fl & CS_TH_SYN)
        conn_syn(t, c, dir, p);
    if (fl & CS_TH_ACK) {
        d->seen |= CS_SENT_ACK;
        if (!c->established && dir == c->client && !(fl & CS_TH_SYN) &&
            (peer->seen & CS_SENT_SYNACK) && (d->seen & CS_SENT_SYN) && p->ack == peer->isn + 1) {
            c->established = true;
            c->ack_ts = p->ts;
        }
        if (p->payload_wire == 0 && !(fl & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST)))
            hist_add(c, dir, 'A');
    }
    if (p->win == 0 && !(fl & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST)) && !p->hdr_partial) {
        d->zero_windows++;
        d->seen |= CS_SENT_ZWIN;
        hist_count(c, dir, 'W');
    }
    if (p->payload_wire > 0) {
        d->seen |= CS_SENT_DATA;
        hist_add(c, dir, 'D');
    }
    if ((fl & (CS_TH_FIN | CS_TH_RST)) && d->closing_ts == 0)
        d->closing_ts = p->ts;
    if (fl & CS_TH_FIN) {
        d->seen |= CS_SENT_FIN;
        hist_add(c, dir, 'F');
    }
    if (fl & CS_TH_RST) {
        d->seen |= CS_SENT_RST;
        if (c->rst_by == 0)
            c->rst_by = (uint8_t)(dir + 1);
        hist_add(c, dir, 'R');
    }

    conn_reasm(t, c, dir, p);

    bool closed = (fl & CS_TH_RST) ||
                  ((c->d[0].seen & CS_SENT_FIN) && (c->d[1].seen & CS_SENT_FIN));
    if (closed && !c->closed) {
        c->closed = true;
        c->close_ts = p->ts;
    }
    if (fl & CS_TH_RST) {
        for (int i = 0; i < 2; i++) {
            sink_ctx sc = {t, c, i};
            cs_reasm_sink sink = make_sink(&sc);
            cs_reasm_finish(&c->d[i].reasm, &sink, p->ts);
        }
    }
    lru_touch(t, c, c->closed ? LIST_CLOSED : LIST_OPEN);
}

cs_conn *cs_flow_packet(cs_flow_table *t, const cs_pkt *p, int *dir)
{
    if (p->ts > t->now) {
        t->now = p->ts;
        if (t->now >= t->next_check) {
            cs_flow_expire(t, t->now);
            t->next_check = cs_time_add(t->now, CS_NS_PER_S);
        }
    }
    uint32_t h = cs_hash_tuple(&p->src, p->sport, &p->dst, p->dport, p->family);
    match_ctx m = {t, p, -1};
    uint32_t pos = cs_hidx_find(&t->idx, h, match_conn, &m);
    cs_conn *c = NULL;
    int d = 0;
    if (pos != CS_HIDX_NONE) {
        c = conn_at(t, t->idx.slots[pos].val - 1);
        d = m.dir;
        if (starts_new_stream(c, d, p)) {
            finalise(t, c, CS_END_REUSED);
            c = NULL;
        }
    }
    if (c == NULL) {
        c = conn_create(t, p, h);
        c->quote_only = p->icmp_quote;
        d = 0;
    }
    *dir = d;
    if (p->icmp_quote) /* only the stream lookup, as Wireshark does for a quoted header */
        return c;
    if (CS_UNLIKELY(c->quote_only)) {
        c->quote_only = false;
        c->tunnel = p->tunnel_id;
    }
    if (t->cfg.verify_checksums && !cs_tcp_checksum_ok(p)) {
        t->ctr->anomalies[CS_ANOM_TCP_BAD_CHECKSUM]++;
        hist_add(c, d, 'C');
    }
    conn_update(t, c, d, p);
    return c;
}

/* ---- table lifetime ------------------------------------------------------------------------ */

void cs_flow_cfg_default(cs_flow_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->idle_timeout = 300 * CS_NS_PER_S;
    cfg->close_linger = 10 * CS_NS_PER_S;
    cfg->max_conns = 1000000;
    cfg->max_tombstones = 262144;
    cfg->max_ooo_bytes = 1u << 20;
}

cs_flow_table *cs_flow_new(const cs_flow_cfg *cfg, const cs_flow_hooks *hooks,
                           cs_counters *counters)
{
    cs_flow_table *t = g_new0(cs_flow_table, 1);
    t->cfg = *cfg;
    if (t->cfg.max_conns == 0)
        t->cfg.max_conns = 1;
    t->lim.max_ooo_bytes = cfg->max_ooo_bytes;
    t->hooks = hooks;
    t->ctr = counters;
    cs_pool_init(&t->pool);
    for (int i = 0; i < LIST_COUNT; i++)
        cs_lru_init(&t->lists[i]);
    cs_hidx_init(&t->idx, 1024);
    cs_hidx_init(&t->tomb_idx, 1024);
    t->tombs = g_new0(tomb, t->cfg.max_tombstones > 0 ? t->cfg.max_tombstones : 1);
    t->now = INT64_MIN;
    t->next_check = INT64_MIN;
    return t;
}

static gint cmp_stream(gconstpointer a, gconstpointer b)
{
    const cs_conn *x = *(cs_conn *const *)a, *y = *(cs_conn *const *)b;
    return x->stream < y->stream ? -1 : x->stream > y->stream;
}

void cs_flow_flush(cs_flow_table *t)
{
    t->flushing = true;
    GPtrArray *all = g_ptr_array_sized_new(t->active);
    for (int l = LIST_OPEN; l < LIST_COUNT; l++)
        for (uint32_t id = t->lists[l].head; id != NIL; id = conn_at(t, id)->lru_next)
            g_ptr_array_add(all, conn_at(t, id));
    g_ptr_array_sort(all, cmp_stream);
    for (guint i = 0; i < all->len; i++) {
        cs_conn *c = g_ptr_array_index(all, i);
        finalise(t, c, c->closed ? CS_END_CLOSED : CS_END_EOF);
    }
    g_ptr_array_free(all, TRUE);
    t->flushing = false;
}

bool cs_flow_flushing(const cs_flow_table *t)
{
    return t->flushing;
}

uint32_t cs_flow_active(const cs_flow_table *t)
{
    return t->active;
}

uint32_t cs_flow_peak(const cs_flow_table *t)
{
    return t->peak;
}

uint64_t cs_flow_streams(const cs_flow_table *t)
{
    return t->next_stream;
}

void cs_flow_free(cs_flow_table *t)
{
    if (t == NULL)
        return;
    for (int l = LIST_OPEN; l < LIST_COUNT; l++)
        for (uint32_t id = t->lists[l].head; id != NIL; id = conn_at(t, id)->lru_next) {
            cs_reasm_clear(&conn_at(t, id)->d[0].reasm);
            cs_reasm_clear(&conn_at(t, id)->d[1].reasm);
        }
    cs_pool_free(&t->pool);
    cs_hidx_free(&t->idx);
    cs_hidx_free(&t->tomb_idx);
    g_free(t->tombs);
    g_free(t);
}

/* ---- Zeek conn_state ----------------------------------------------------------------------- */

/* Endpoint states in the spirit of Zeek's TCP analyzer. */
enum { EP_INACTIVE, EP_SYN_SENT, EP_SYN_ACK_SENT, EP_PARTIAL, EP_ESTABLISHED, EP_CLOSED, EP_RESET };

static int endpoint_state(const cs_conn *c, int ep)
{
    uint16_t s = c->d[ep].seen;
    if (s & CS_SENT_RST)
        return EP_RESET;
    if (s & CS_SENT_FIN)
        return EP_CLOSED;
    if (c->established)
        return EP_ESTABLISHED;
    if (s & CS_SENT_SYNACK)
        return EP_SYN_ACK_SENT;
    if (s & CS_SENT_SYN)
        return (s & (CS_SENT_DATA)) ? EP_PARTIAL : EP_SYN_SENT;
    if (s & CS_SENT_ANY)
        return EP_PARTIAL;
    return EP_INACTIVE;
}

const char *cs_conn_state(const cs_conn *c)
{
    int o = c->client, r = !c->client;
    int os = endpoint_state(c, o), rs = endpoint_state(c, r);
    bool o_inactive = os == EP_INACTIVE || os == EP_PARTIAL;
    bool r_inactive = rs == EP_INACTIVE || rs == EP_PARTIAL;
    bool no_data = c->d[0].payload_bytes == 0 && c->d[1].payload_bytes == 0;

    if (rs == EP_RESET) {
        if (os == EP_SYN_SENT || os == EP_SYN_ACK_SENT || (os == EP_RESET && no_data))
            return "REJ";
        return o_inactive ? "RSTRH" : "RSTR";
    }
    if (os == EP_RESET) {
        if (r_inactive)
            return (c->d[o].seen & CS_SENT_SYN) && !(c->d[r].seen & CS_SENT_SYNACK) ? "RSTOS0"
                                                                                   : "OTH";
        return "RSTO";
    }
    if (rs == EP_CLOSED && os == EP_CLOSED)
        return "SF";
    if (os == EP_CLOSED)
        return r_inactive ? "SH" : "S2";
    if (rs == EP_CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (os == EP_SYN_SENT && rs == EP_INACTIVE)
        return "S0";
    if (c->established || (os != EP_INACTIVE && rs != EP_INACTIVE && rs != EP_SYN_ACK_SENT &&
                           (c->d[o].seen & CS_SENT_SYN)))
        return "S1";
    return "OTH";
}

void cs_conn_set_client(cs_conn *c, int ep)
{
    if (c->role_how == CS_ROLE_SYN || c->role_how == CS_ROLE_SYNACK || c->client == ep)
        return;
    c->client = (uint8_t)ep;
    c->role_how = CS_ROLE_CONTENT;
    /* history letters are case-coded by role: swap them */
    for (uint8_t i = 0; i < c->hist_len; i++)
        c->history[i] = g_ascii_isupper(c->history[i]) ? g_ascii_tolower(c->history[i])
                                                       : g_ascii_toupper(c->history[i]);
    if (ep != 0)
        hist_flip(c);
    uint32_t b = c->hist_bits[0];
    c->hist_bits[0] = c->hist_bits[1];
    c->hist_bits[1] = b;
}

const char *cs_end_reason_name(cs_end_reason why)
{
    static const char *const names[] = {"closed", "idle", "reused", "evicted", "eof"};
    return (unsigned)why < CS_ARRAY_LEN(names) ? names[why] : "unknown";
}
