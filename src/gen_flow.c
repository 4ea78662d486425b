/* gen_flow.c - the connection state machine of connscope-gen: which packet a connection sends next
 * and when, its sequence/ACK numbers, capture loss and reordering, and the truth it records. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "gen_flow.h"

enum phase { PH_SYN, PH_SYNACK, PH_HSACK, PH_DATA, PH_FIN1, PH_FIN2, PH_LAST, PH_RST, PH_END };
enum next { NX_CTL, NX_DATA_C, NX_DATA_S, NX_ACK_BY_S, NX_ACK_BY_C };

#define NEVER INT64_MAX
#define REL_MAX (UINT32_MAX - 100000000u) /* keep room for the last packets' offsets */

static inline int other(int side)
{
    return side ^ 1;
}

/* Capture -> side -> capture: how long after the capture point sees a packet for `side` it sees
 * that side's reaction. */
static inline gen_us turn(const gen_row *r, int side)
{
    return side == GEN_C ? r->d_c : r->d_s;
}

static inline uint32_t nseg(const gen_row *r, const gen_run *u)
{
    return u->len <= r->mss ? 1 : (u->len + r->mss - 1) / r->mss; /* no division when short */
}

static inline gen_us slot_time(const gen_row *r, const gen_run *u, uint32_t j)
{
    if (j < r->flight)
        return (gen_us)u->t0 + (gen_us)j * r->gap;
    return (gen_us)u->t0 + (gen_us)(j / r->flight) * r->period + (gen_us)(j % r->flight) * r->gap;
}

/* Relative sequence number just past segment j. */
static inline uint32_t seg_end(const gen_row *r, const gen_run *u, uint32_t j)
{
    uint64_t e = (uint64_t)(j + 1) * r->mss;
    return u->seq0 + (uint32_t)(e < u->len ? e : u->len);
}

/* Segments acknowledged on their own: every second one and the last. */
static inline uint32_t next_ack_point(uint32_t j, uint32_t n)
{
    if (j + 2 <= n - 1)
        return j + 2;
    if (j < n - 1)
        return n - 1;
    return n;
}

static uint32_t rel(gen_us t)
{
    if (t < 0 || t > (gen_us)REL_MAX) {
        fprintf(stderr, "connscope-gen: a connection would last longer than %u s; use fewer "
                        "requests or shorter times\n", REL_MAX / 1000000u);
        exit(2);
    }
    return (uint32_t)t;
}

static uint64_t flow_key(const gen_flow *f, const gen_ctx *ctx)
{
    return gen_hash(ctx->cfg->seed, f->serial);
}

/* Whether segments j and j+1 (j even) of direction d's run are written in swapped order. */
static bool swapped(const gen_flow *f, const gen_ctx *ctx, int d, uint32_t j)
{
    const gen_row *r = f->row;
    const gen_run *u = &f->d[d].run;
    if (j + 1 >= nseg(r, u))
        return false;
    if ((r->flags & GEN_F_OVERLAP) && d == GEN_S && j == 0)
        return true;
    if (r->reorder_thr == 0)
        return false;
    uint64_t h = gen_hash(flow_key(f, ctx) ^ 0x7e0d, ((uint64_t)d << 32) | (u->seq0 + j * r->mss));
    return (uint32_t)h < r->reorder_thr;
}

/* Whether segment s of direction d's run is missing from the capture. */
static bool lost(const gen_flow *f, const gen_ctx *ctx, int d, uint32_t s)
{
    const gen_row *r = f->row;
    if (r->loss_thr == 0)
        return false;
    uint64_t h = gen_hash(flow_key(f, ctx) ^ 0x1055,
                          ((uint64_t)d << 32) | (f->d[d].run.seq0 + s * r->mss));
    return (uint32_t)h < r->loss_thr;
}

/* The pair (0,1) of a response run with a conflicting retransmission between its two writes. */
static bool overlap_pair(const gen_flow *f, int d, uint32_t k)
{
    return (f->row->flags & GEN_F_OVERLAP) && d == GEN_S && k == 1;
}

/* ---- exchanges and truth --------------------------------------------------------------------- */

/* Absolute time of relative time t (-1 stays -1: not written). */
static gen_us abs_time(const gen_flow *f, gen_us t)
{
    return t < 0 ? -1 : f->t_start + t;
}

static gen_xrec *xrec(gen_flow *f, uint32_t i)
{
    return &f->xt->rec[i % f->xt->cap];
}

static void x_finish(gen_flow *f, gen_ctx *ctx, uint32_t i)
{
    gen_xrec *x = xrec(f, i);
    if (!x->open)
        return;
    if (ctx->obs->exchange != NULL)
        ctx->obs->exchange(ctx->obs->ctx, f, i, x);
    x->open = false;
    f->xt->exchanges++;
}

static void observe_segment(gen_flow *f, gen_ctx *ctx, bool lost, int d, uint32_t seq, uint32_t len,
                            gen_us ts)
{
    if (ctx->obs->segment != NULL)
        ctx->obs->segment(ctx->obs->ctx, f, lost, d, seq, len, ts);
}

static void ready_push(gen_flow *f, gen_us t)
{
    uint32_t v = rel(t);
    if (f->readyq == NULL) {
        f->ready1 = v;
        f->nready = 1;
        return;
    }
    f->readyq[(f->hready + f->nready) % f->row->pipeline] = v;
    f->nready++;
}

static uint32_t ready_head(const gen_flow *f)
{
    return f->readyq == NULL ? f->ready1 : f->readyq[f->hready];
}

static void ready_pop(gen_flow *f)
{
    f->nready--;
    if (f->readyq != NULL)
        f->hready = (uint16_t)((f->hready + 1) % f->row->pipeline);
}

static void msg_start(gen_flow *f, int d, uint32_t m, gen_us wt)
{
    uint32_t pre = gen_msg_pre(f->row, d);
    if (f->xt == NULL || m < pre)
        return;
    gen_xrec *x = xrec(f, m - pre);
    if (d == GEN_C) {
        memset(x, 0, sizeof *x);
        x->i = m - pre;
        x->req_start = abs_time(f, wt);
        x->req_end = x->resp_start = x->resp_end = -1;
        x->open = true;
    } else {
        x->resp_start = abs_time(f, wt);
    }
}

static void msg_bytes(gen_flow *f, int d, uint32_t m, uint32_t off, uint32_t n, bool was_lost,
                      bool reord)
{
    uint32_t pre = gen_msg_pre(f->row, d);
    if (f->xt == NULL || m < pre)
        return;
    gen_xrec *x = xrec(f, m - pre);
    if (was_lost) {
        bool fr = gen_msg_framing(f->row, d, m, &f->d[d].cur, off, n);
        if (d == GEN_C) {
            x->req_lost += n;
            x->req_lost_framing |= fr;
        } else {
            x->resp_lost += n;
            x->resp_lost_framing |= fr;
        }
    }
    if (reord) {
        if (d == GEN_C)
            x->req_reordered = true;
        else
            x->resp_reordered = true;
    }
}

static void msg_end(gen_flow *f, gen_ctx *ctx, int d, uint32_t m, gen_us wt, gen_us avail)
{
    const gen_row *r = f->row;
    uint32_t pre = gen_msg_pre(r, d);
    if (d == GEN_C) {
        if (r->proto == GEN_HTTPS && m == 0)
            ready_push(f, avail + r->d_s); /* ClientHello -> server flight */
        else if (m >= pre && !(r->flags & GEN_F_NORESP))
            ready_push(f, avail + r->d_s + r->think);
        if (f->xt != NULL && m >= pre) {
            gen_xrec *x = xrec(f, m - pre);
            x->req_end = abs_time(f, wt);
            x->req_done = true;
            if (r->flags & GEN_F_NORESP)
                x_finish(f, ctx, m - pre);
        }
    } else {
        f->s_done++;
        gen_us a = avail + r->d_c;
        if (a > f->t_allow)
            f->t_allow = rel(a);
        if (f->xt != NULL && m >= pre) {
            gen_xrec *x = xrec(f, m - pre);
            x->resp_end = abs_time(f, wt);
            x->resp_done = true;
            x_finish(f, ctx, m - pre);
        }
    }
}

/* Accounts bytes [a, a+n) of direction d in stream order: message starts and ends (which trigger
 * the peer's next steps), lost bytes. wt: relative time the packet carrying them was written
 * (-1: lost); avail: relative time the receiver has them. */
static void content(gen_flow *f, gen_ctx *ctx, int d, uint32_t a, uint32_t n, gen_us wt,
                    gen_us avail, bool reord)
{
    gen_dir *D = &f->d[d];
    while (n > 0) {
        if (D->cur.len == 0)
            gen_msg_info(f->row, f->serial, d, D->cur_msg, &D->cur);
        uint32_t off = a - D->cur_start;
        uint32_t take = D->cur.len - off < n ? D->cur.len - off : n;
        uint32_t m = D->cur_msg;
        if (off == 0)
            msg_start(f, d, m, wt);
        msg_bytes(f, d, m, off, take, wt < 0, reord);
        a += take;
        n -= take;
        if (off + take == D->cur.len) {
            msg_end(f, ctx, d, m, wt, avail);
            D->cur_start += D->cur.len;
            D->cur_msg++;
            if (D->cur_msg < D->msgs)
                gen_msg_info(f->row, f->serial, d, D->cur_msg, &D->cur);
            else
                D->cur.len = 0;
        }
    }
}

/* Copies bytes [a, a+n) of direction d to out (a at or after the content cursor). */
static void fill(const gen_flow *f, int d, uint32_t a, uint32_t n, uint8_t *out)
{
    const gen_dir *D = &f->d[d];
    uint32_t m = D->cur_msg, start = D->cur_start;
    gen_msginfo mi = D->cur;
    if (mi.len == 0)
        gen_msg_info(f->row, f->serial, d, m, &mi);
    while (a - start >= mi.len) {
        start += mi.len;
        m++;
        gen_msg_info(f->row, f->serial, d, m, &mi);
    }
    while (n > 0) {
        uint32_t off = a - start;
        uint32_t take = mi.len - off < n ? mi.len - off : n;
        gen_msg_fill(f->row, f->serial, d, m, &mi, off, take, out);
        out += take;
        a += take;
        n -= take;
        if (n > 0) {
            start += mi.len;
            m++;
            gen_msg_info(f->row, f->serial, d, m, &mi);
        }
    }
}

/* ---- runs ------------------------------------------------------------------------------------ */

static uint32_t spacing(const gen_row *r)
{
    return r->requests > 0 ? (uint32_t)(r->duration / r->requests) : 0;
}

static bool client_allowed(const gen_flow *f, uint32_t m)
{
    const gen_row *r = f->row;
    uint32_t pre = gen_msg_pre(r, GEN_C);
    if (r->proto == GEN_HTTPS) {
        if (m == 0)
            return true;
        if (f->s_done < 1)
            return false;
    }
    if (m < pre || (r->flags & GEN_F_NORESP))
        return true;
    uint32_t done = f->s_done - gen_msg_pre(r, GEN_S);
    return m - pre < done + r->pipeline;
}

static gen_us client_earliest(const gen_flow *f, uint32_t m)
{
    uint32_t pre = gen_msg_pre(f->row, GEN_C);
    if (m < pre)
        return f->t_est;
    return (gen_us)f->t_est + (gen_us)(m - pre) * spacing(f->row);
}

static gen_us client_create_time(const gen_flow *f)
{
    const gen_dir *D = &f->d[GEN_C];
    if (f->phase != PH_DATA || D->active || D->msgs >= gen_msg_count(f->row, GEN_C) ||
        !client_allowed(f, D->msgs))
        return NEVER;
    gen_us t = f->t_now;
    if (f->t_allow > t)
        t = f->t_allow;
    gen_us e = client_earliest(f, D->msgs);
    return e > t ? e : t;
}

static gen_us server_create_time(const gen_flow *f)
{
    if (f->phase != PH_DATA || f->d[GEN_S].active || f->nready == 0)
        return NEVER;
    gen_us h = ready_head(f);
    return h > (gen_us)f->t_now ? h : (gen_us)f->t_now;
}

/* Starts a write by side d at time t of the next `count` messages. */
static void create_run(gen_flow *f, int d, gen_us t, uint32_t count)
{
    gen_dir *D = &f->d[d];
    uint64_t len = 0;
    gen_msginfo mi;
    for (uint32_t i = 0; i < count; i++) {
        gen_msg_info(f->row, f->serial, d, D->msgs + i, &mi);
        len += mi.len;
    }
    D->run.t0 = rel(t);
    D->run.seq0 = D->snd;
    D->run.len = (uint32_t)len;
    uint32_t n = nseg(f->row, &D->run);
    D->run.ak = n == 1 ? 0 : 1;
    rel(slot_time(f->row, &D->run, n - 1) + f->row->rtt);
    D->k = 0;
    D->sub = 0;
    D->active = 1;
    D->snd += (uint32_t)len;
    if (D->cur.len == 0 && D->cur_msg == D->msgs)
        gen_msg_info(f->row, f->serial, d, D->cur_msg, &D->cur);
    D->msgs += count;
}

static void create_client_run(gen_flow *f, gen_us t)
{
    uint32_t nc = gen_msg_count(f->row, GEN_C);
    uint32_t m = f->d[GEN_C].msgs, count = 0;
    while (m + count < nc && client_allowed(f, m + count) && client_earliest(f, m + count) <= t)
        count++;
    create_run(f, GEN_C, t, count);
}

static void create_server_run(gen_flow *f, gen_us t)
{
    uint32_t count = 0;
    while (f->nready > 0 && ready_head(f) <= t) {
        ready_pop(f);
        count++;
    }
    create_run(f, GEN_S, t, count);
}

/* Time of direction d's next slot, or NEVER. */
static gen_us data_time(const gen_flow *f, int d)
{
    const gen_dir *D = &f->d[d];
    if (!D->active || D->k >= nseg(f->row, &D->run))
        return NEVER;
    return slot_time(f->row, &D->run, D->k);
}

/* Time of the peer's next ACK of direction d's data, or NEVER. */
static gen_us ack_time(const gen_flow *f, int d)
{
    const gen_dir *D = &f->d[d];
    if (!D->active || D->run.ak >= nseg(f->row, &D->run) || D->run.ak >= D->k)
        return NEVER;
    return slot_time(f->row, &D->run, D->run.ak) + turn(f->row, other(d));
}

static void maybe_idle(gen_flow *f, int d)
{
    gen_dir *D = &f->d[d];
    uint32_t n = nseg(f->row, &D->run);
    if (D->k >= n && D->run.ak >= n)
        D->active = 0;
}

/* The peer's ACK of direction d's data is sent (on its own or carried by another packet). */
static void take_ack(gen_flow *f, int d)
{
    gen_dir *D = &f->d[d];
    uint32_t n = nseg(f->row, &D->run);
    D->acked = seg_end(f->row, &D->run, D->run.ak);
    D->run.ak = next_ack_point(D->run.ak, n);
    maybe_idle(f, d);
}

/* Side `side` sends a packet at t: it carries every ACK of the other direction due by then. */
static void absorb(gen_flow *f, int side, gen_us t)
{
    int d = other(side);
    while (ack_time(f, d) <= t)
        take_ack(f, d);
}

/* Which segment slot k of direction d's run carries. */
static uint32_t slot_seg(const gen_flow *f, const gen_ctx *ctx, int d, uint32_t k)
{
    if (k & 1)
        return swapped(f, ctx, d, k - 1) ? k - 1 : k;
    return swapped(f, ctx, d, k) ? k + 1 : k;
}

/* Whether the packet due in slot k of direction d is missing from the capture. */
static bool slot_lost(const gen_flow *f, const gen_ctx *ctx, int d)
{
    const gen_dir *D = &f->d[d];
    if (overlap_pair(f, d, D->k) && !D->sub)
        return false; /* the conflicting copy comes first */
    return lost(f, ctx, d, slot_seg(f, ctx, d, D->k));
}

/* Accounts slot k of direction d (written or lost) and moves to the next slot. The bytes of a
 * swapped pair are accounted when its second slot is done, in stream order. */
static void slot_done(gen_flow *f, gen_ctx *ctx, int d)
{
    gen_dir *D = &f->d[d];
    const gen_row *r = f->row;
    uint32_t k = D->k;
    gen_us t = slot_time(r, &D->run, k);
    if ((k & 1) && swapped(f, ctx, d, k - 1)) {
        gen_us t_prev = slot_time(r, &D->run, k - 1);
        uint32_t a0 = D->run.seq0 + (k - 1) * r->mss;
        uint32_t a1 = a0 + r->mss;
        uint32_t e1 = seg_end(r, &D->run, k);
        /* segment k-1 went out in slot k, segment k in slot k-1: segment k's bytes wait behind
         * the hole until segment k-1 comes, so (doc/design.md, "Time of a byte") their time is
         * t, unless segment k-1 is never captured (then the hole is a gap and they keep t_prev) */
        bool lost0 = lost(f, ctx, d, k - 1);
        content(f, ctx, d, a0, r->mss, lost0 ? -1 : t, t, true);
        content(f, ctx, d, a1, e1 - a1, lost(f, ctx, d, k) ? -1 : lost0 ? t_prev : t, t, true);
        if (f->xt != NULL) {
            f->xt->reordered[d]++;
            observe_segment(f, ctx, false, d, a1, e1 - a1, f->t_start + t_prev);
        }
    } else if ((k & 1) || !swapped(f, ctx, d, k)) {
        uint32_t a = D->run.seq0 + k * r->mss;
        content(f, ctx, d, a, seg_end(r, &D->run, k) - a, lost(f, ctx, d, k) ? -1 : t, t, false);
    }
    if (f->xt != NULL && lost(f, ctx, d, slot_seg(f, ctx, d, k))) {
        uint32_t sg = slot_seg(f, ctx, d, k);
        uint32_t a = D->run.seq0 + sg * r->mss;
        f->xt->lost_segs[d]++;
        f->xt->lost_bytes[d] += seg_end(r, &D->run, sg) - a;
        observe_segment(f, ctx, true, d, a, seg_end(r, &D->run, sg) - a, f->t_start + t);
    }
    D->k++;
    D->sub = 0;
    maybe_idle(f, d);
}

/* ---- handshake and close --------------------------------------------------------------------- */

/* The side that closes first. */
static int closer(const gen_row *r)
{
    return r->close == GEN_CLOSE_FIN || r->close == GEN_CLOSE_RST ? GEN_C : GEN_S;
}

static int ctl_side(const gen_flow *f)
{
    switch (f->phase) {
    case PH_SYN:
    case PH_HSACK:
        return GEN_C;
    case PH_SYNACK:
        return GEN_S;
    case PH_FIN2:
        return other(closer(f->row));
    default:
        return closer(f->row);
    }
}

/* Whether every message has been written (and the client has every response). */
static bool data_finished(const gen_flow *f)
{
    for (int d = 0; d < 2; d++) {
        const gen_dir *D = &f->d[d];
        if (D->msgs < gen_msg_count(f->row, d))
            return false;
        if (D->active && D->k < nseg(f->row, &D->run))
            return false;
    }
    return f->nready == 0;
}

/* Time of the next handshake/close packet, or NEVER. Once the data is over, decides when the
 * close starts: after the last ACK of the data, carrying it when the closer sends it. */
static gen_us ctl_time(gen_flow *f)
{
    const gen_row *r = f->row;
    switch (f->phase) {
    case PH_DATA: {
        if (!data_finished(f))
            return NEVER;
        if (r->close == GEN_CLOSE_NONE) {
            if (!f->d[GEN_C].active && !f->d[GEN_S].active)
                f->phase = PH_END;
            return NEVER;
        }
        gen_us t = f->t_now;
        for (int d = 0; d < 2; d++) {
            const gen_dir *D = &f->d[d];
            if (!D->active)
                continue;
            gen_us a = slot_time(r, &D->run, nseg(r, &D->run) - 1) + turn(r, other(d));
            if (a > t)
                t = a;
        }
        f->t_ctl = rel(t);
        f->phase = r->close == GEN_CLOSE_RST || r->close == GEN_CLOSE_SRST ? PH_RST : PH_FIN1;
        return t;
    }
    case PH_END:
        return NEVER;
    default:
        return f->t_ctl;
    }
}

/* ---- packets --------------------------------------------------------------------------------- */

void gen_flow_client(const gen_flow *f, cs_addr *addr, uint16_t *port)
{
    gen_addr_add(addr, &f->row->client, f->row->family, f->caddr_off);
    *port = f->cport;
}

/* Relative sequence number of side's next byte (for packets without payload). */
static uint32_t snd_nxt(const gen_flow *f, int side)
{
    const gen_dir *D = &f->d[side];
    uint32_t v = D->snd;
    if (D->active && D->k < nseg(f->row, &D->run)) {
        uint64_t e = (uint64_t)D->k * f->row->mss;
        v = D->run.seq0 + (uint32_t)(e < D->run.len ? e : D->run.len);
    }
    return v + D->fin;
}

static void mac_of(uint8_t mac[6], uint8_t kind, const cs_addr *a, uint8_t family)
{
    const uint8_t *b = family == 4 ? a->b : a->b + 12;
    mac[0] = 0x02;
    mac[1] = kind;
    memcpy(mac + 2, b, 4);
}

/* Fills the fields every packet of side `side` at relative time t shares. */
static void seg_common(const gen_flow *f, const gen_ctx *ctx, gen_seg *s, int side, gen_us t,
                       const cs_addr *caddr)
{
    const gen_row *r = f->row;
    int o = other(side);
    memset(s, 0, sizeof *s);
    s->family = r->family;
    s->mss = r->mss;
    s->wscale = 7;
    s->src = side == GEN_C ? caddr : &r->server;
    s->dst = side == GEN_C ? &r->server : caddr;
    s->sport = side == GEN_C ? f->cport : r->sport;
    s->dport = side == GEN_C ? r->sport : f->cport;
    mac_of(side == GEN_C ? s->src_mac : s->dst_mac, 0, caddr, r->family);
    mac_of(side == GEN_C ? s->dst_mac : s->src_mac, 1, &r->server, r->family);
    s->opt = GEN_OPT_TS;
    s->win = (uint16_t)(ctx->cfg->window >> 7);
    /* timestamp clocks tick in milliseconds; the echo is the peer's clock when the peer sent the
     * latest packet this side can have received */
    uint32_t base = f->isn[side] * 2654435761u, obase = f->isn[o] * 2654435761u;
    gen_us seen = t - turn(r, side);
    s->tsval = base + (uint32_t)(t / 1000);
    s->tsecr = obase + (uint32_t)((seen > 0 ? seen : 0) / 1000);
    s->ip_id = (uint16_t)((f->isn[side] >> 16) + (uint32_t)(t / 16));
    s->flags = GEN_TH_ACK;
    s->seq = f->isn[side] + 1 + snd_nxt(f, side);
    s->ack = f->isn[o] + 1 + f->d[o].acked;
}

gen_us gen_flow_peek(gen_flow *f, gen_ctx *ctx)
{
    for (;;) {
        gen_us tl = ctl_time(f);
        gen_us tc = client_create_time(f), ts = server_create_time(f);
        gen_us dc = data_time(f, GEN_C), ds = data_time(f, GEN_S);
        gen_us ac = ack_time(f, GEN_C), as = ack_time(f, GEN_S);
        gen_us tm = tl;
        gen_us all[] = {tc, ts, dc, ds, ac, as};
        for (size_t i = 0; i < CS_ARRAY_LEN(all); i++)
            if (all[i] < tm)
                tm = all[i];
        if (tm == NEVER)
            return -1;
        if (tc == tm) {
            create_client_run(f, tm);
            continue;
        }
        if (ts == tm) {
            create_server_run(f, tm);
            continue;
        }
        if (dc == tm || ds == tm) {
            int d = dc == tm ? GEN_C : GEN_S;
            if (slot_lost(f, ctx, d)) {
                slot_done(f, ctx, d);
                if (tm > f->t_now)
                    f->t_now = (uint32_t)tm;
                continue;
            }
            f->next = d == GEN_C ? NX_DATA_C : NX_DATA_S;
        } else if (ac == tm && !(tl == tm && ctl_side(f) == GEN_S)) {
            f->next = NX_ACK_BY_S;
        } else if (as == tm && !(tl == tm && ctl_side(f) == GEN_C)) {
            f->next = NX_ACK_BY_C;
        } else {
            f->next = NX_CTL;
        }
        return f->t_start + tm;
    }
}

/* Writes the handshake/close packet due; returns the sending side. */
static int emit_ctl(gen_flow *f, gen_ctx *ctx, gen_seg *s, gen_us t, const cs_addr *caddr)
{
    const gen_row *r = f->row;
    int side = ctl_side(f);
    int a = closer(r), b = other(a);
    absorb(f, side, t);
    seg_common(f, ctx, s, side, t, caddr);
    switch (f->phase) {
    case PH_SYN:
        s->flags = GEN_TH_SYN;
        s->opt = GEN_OPT_SYN;
        s->seq = f->isn[GEN_C];
        s->ack = 0;
        s->tsecr = 0;
        s->win = 64240;
        if (f->tries == 0) { /* the connection's first packet: Wireshark numbers it now */
            if (f->xt != NULL)
                f->xt->stream = ctx->streams;
            ctx->streams++;
        }
        f->tries++;
        if (f->xt != NULL)
            f->xt->syns++;
        if (r->hs == GEN_HS_NOANSWER) {
            if (f->tries <= r->syn_retries)
                f->t_ctl = rel(t + ((gen_us)1000000 << (f->tries - 1)));
            else
                f->phase = PH_END;
        } else {
            f->phase = PH_SYNACK;
            f->t_ctl = rel(t + r->d_s);
        }
        break;
    case PH_SYNACK:
        s->flags = GEN_TH_SYN | GEN_TH_ACK;
        s->opt = GEN_OPT_SYN;
        s->seq = f->isn[GEN_S];
        s->ack = f->isn[GEN_C] + 1;
        s->win = 65160;
        if (f->xt != NULL)
            f->xt->synacks++;
        if (r->hs == GEN_HS_NOACK) {
            f->phase = PH_END;
        } else {
            f->phase = PH_HSACK;
            f->t_ctl = rel(t + r->d_c);
        }
        break;
    case PH_HSACK:
        f->phase = PH_DATA;
        f->t_est = f->t_allow = (uint32_t)t;
        if (f->xt != NULL)
            f->xt->established = true;
        break;
    case PH_FIN1:
        s->flags = GEN_TH_FIN | GEN_TH_ACK;
        f->d[a].fin = 1;
        f->phase = PH_FIN2;
        f->t_ctl = rel(t + turn(r, b));
        if (f->xt != NULL)
            f->xt->fin[a] = true;
        break;
    case PH_FIN2:
        f->d[a].acked = f->d[a].snd + 1;
        s->ack = f->isn[a] + 1 + f->d[a].acked;
        s->flags = GEN_TH_FIN | GEN_TH_ACK;
        f->d[b].fin = 1;
        f->phase = PH_LAST;
        f->t_ctl = rel(t + turn(r, a));
        if (f->xt != NULL)
            f->xt->fin[b] = true;
        break;
    case PH_LAST:
        f->d[b].acked = f->d[b].snd + 1;
        s->ack = f->isn[b] + 1 + f->d[b].acked;
        f->phase = PH_END;
        break;
    case PH_RST:
        s->flags = GEN_TH_RST | GEN_TH_ACK;
        f->phase = PH_END;
        if (f->xt != NULL)
            f->xt->rst[a] = true;
        break;
    default:
        break;
    }
    return side;
}

uint32_t gen_flow_emit(gen_flow *f, gen_ctx *ctx, uint8_t *frame)
{
    const gen_row *r = f->row;
    gen_seg s;
    cs_addr caddr;
    uint16_t port;
    uint32_t paylen = 0;
    gen_us t;
    int side;
    gen_flow_client(f, &caddr, &port);
    switch (f->next) {
    case NX_DATA_C:
    case NX_DATA_S: {
        int d = f->next == NX_DATA_C ? GEN_C : GEN_S;
        gen_dir *D = &f->d[d];
        side = d;
        t = slot_time(r, &D->run, D->k);
        absorb(f, side, t);
        seg_common(f, ctx, &s, side, t, &caddr);
        uint8_t *pay = frame + gen_seg_hdrlen(&s);
        uint32_t a;
        if (overlap_pair(f, d, D->k) && !D->sub) {
            /* a retransmission with different bytes: the last quarter MSS of segment 0 and the
             * start of segment 1 (both still ahead of the receiver's next expected byte) */
            uint32_t h = r->mss / 4;
            a = D->run.seq0 + r->mss - h;
            uint32_t e = seg_end(r, &D->run, 1);
            paylen = e - a < r->mss ? e - a : r->mss;
            fill(f, d, a, paylen, pay);
            for (uint32_t i = 0; i < paylen; i++)
                pay[i] ^= 0x20;
            D->sub = 1;
            if (f->xt != NULL)
                f->xt->overlaps++;
        } else {
            uint32_t sg = slot_seg(f, ctx, d, D->k);
            a = D->run.seq0 + sg * r->mss;
            paylen = seg_end(r, &D->run, sg) - a;
            fill(f, d, a, paylen, pay);
            if (sg + 1 == nseg(r, &D->run))
                s.flags |= GEN_TH_PSH;
            slot_done(f, ctx, d);
        }
        s.seq = f->isn[d] + 1 + a;
        break;
    }
    case NX_ACK_BY_S:
    case NX_ACK_BY_C: {
        side = f->next == NX_ACK_BY_S ? GEN_S : GEN_C;
        t = ack_time(f, other(side));
        take_ack(f, other(side));
        absorb(f, side, t);
        seg_common(f, ctx, &s, side, t, &caddr);
        break;
    }
    default:
        t = f->t_ctl;
        side = emit_ctl(f, ctx, &s, t, &caddr);
        break;
    }
    if (t > f->t_now)
        f->t_now = (uint32_t)t;
    if (f->xt != NULL) {
        gen_xtruth *x = f->xt;
        if (x->pkts[0] + x->pkts[1] == 0)
            x->first = f->t_start + t;
        x->pkts[side]++;
        x->last = f->t_start + t;
    }
    return gen_seg_build(frame, &s, paylen);
}

void gen_flow_init(gen_flow *f, const gen_row *row, gen_ctx *ctx, uint32_t serial, gen_us start)
{
    memset(f, 0, sizeof *f);
    f->row = row;
    f->t_start = start;
    f->serial = serial;
    uint64_t i = row->spawned;
    uint64_t key = flow_key(f, ctx);
    if (row->flags & GEN_F_SPOOF) {
        f->caddr_off = (uint32_t)i;
        f->cport = (uint16_t)(1024 + gen_hash(key, 3) % 64511);
    } else if (row->flags & GEN_F_CPORT) {
        uint32_t span = 65536u - row->cport;
        f->caddr_off = (uint32_t)(i / span);
        f->cport = (uint16_t)(row->cport + i % span);
    } else {
        f->caddr_off = (uint32_t)(i / 28232);
        f->cport = (uint16_t)(32768 + ctx->auto_port++ % 28232);
    }
    f->isn[GEN_C] = (uint32_t)gen_hash(key, 1);
    f->isn[GEN_S] = (uint32_t)gen_hash(key, 2);
    f->phase = PH_SYN;
    if (row->pipeline > 1 && !(row->flags & GEN_F_NORESP))
        f->readyq = g_new(uint32_t, row->pipeline);
    if (ctx->obs != NULL) {
        uint32_t cap = (row->flags & GEN_F_NORESP) ? 1 : row->pipeline;
        f->xt = g_malloc0(sizeof *f->xt + cap * sizeof(gen_xrec));
        f->xt->cap = cap;
    }
}

void gen_flow_end(gen_flow *f, gen_ctx *ctx)
{
    if (f->xt != NULL) {
        uint32_t first = UINT32_MAX;
        for (uint32_t j = 0; j < f->xt->cap; j++)
            if (f->xt->rec[j].open && f->xt->rec[j].i < first)
                first = f->xt->rec[j].i;
        for (uint32_t i = first; first != UINT32_MAX && i < first + f->xt->cap; i++)
            if (xrec(f, i)->open && xrec(f, i)->i == i)
                x_finish(f, ctx, i);
        if (ctx->obs->conn_end != NULL)
            ctx->obs->conn_end(ctx->obs->ctx, f);
        g_free(f->xt);
    }
    g_free(f->readyq);
    f->xt = NULL;
    f->readyq = NULL;
}
