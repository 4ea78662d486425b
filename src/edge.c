/* edge.c - connections at the edges of an input: the record a summary keeps of each (what it
 * added to the aggregates, sequence numbers where the input cut it), and the stitching of a
 * connection open at the end of one input to its continuation at the start of the next. */
#include <string.h>

#include "analytics.h"
#include "edge.h"
#include "flow.h"
#include "stats.h"

void cs_an_edge_fill(cs_an_edge *e, const cs_conn_row *row, const cs_conn *c, bool at_end,
                     bool at_start)
{
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)((at_end ? CS_EDGE_END : 0) | (at_start ? CS_EDGE_START : 0));
    e->family = row->family;
    for (int i = 0; i < 2; i++) {
        e->addr[i] = row->addr[i];
        e->port[i] = row->port[i];
        e->pkts[i] = row->pkts[i];
        e->bytes[i] = row->bytes[i];
        const cs_conn_dir *d = &c->d[i == 0 ? c->client : !c->client];
        e->d[i].seq = d->reasm.started;
        e->closing_ts[i] = d->closing_ts;
        e->d[i].first = d->reasm.next_seq - (uint32_t)(d->reasm.delivered + d->reasm.gap_bytes);
        /* a FIN takes a sequence number: the continuation's next segment comes after it */
        bool fin = d->reasm.has_fin && d->reasm.fin_seq == d->reasm.next_seq;
        e->d[i].next_seq = d->reasm.next_seq + (fin ? 1 : 0);
    }
    e->stream = row->stream;
    e->start = row->start;
    e->end = row->end;
    e->last_ts = c->last_ts;
    e->syn = row->syns > 0;
    e->synack = row->synacks > 0;
    e->established = row->established;
    e->closed = row->closed;
    e->eof = strcmp(row->end_reason, "eof") == 0;
    e->refused = strcmp(row->state, "REJ") == 0;
    e->rst = row->rst_by != NULL;
    e->rtt_us = row->rtt_syn >= 0 ? row->rtt_syn / CS_NS_PER_US : -1;
    e->syn_ts = c->syn_last_ts;
    e->synack_ts = c->synack_ts;
    e->http = row->has_http || (row->service != NULL && strcmp(row->service, "http") == 0);
    if (row->has_http) {
        e->http_unanswered = row->http.unanswered;
        e->http_orphans = row->http.orphans;
    }
}

/* *x += sign (sign 1 or -1; taking back never goes below 0). */
static void bump(uint64_t *x, int sign, uint64_t by)
{
    if (sign > 0)
        *x += by;
    else
        *x = *x >= by ? *x - by : 0;
}

/* The stats' view of a record (stats.c cs_stats_conn): what the connections-per-server row
 * counts. Returns false when a histogram extreme could not be restored exactly. */
static bool apply_server(cs_analytics *a, const cs_an_edge *e, int sign)
{
    if (a->conn_servers_missing)
        return true;
    cs_server_conns *c = &cs_analytics_conn_server(a, e->family, &e->addr[1], e->port[1])->c;
    bool midstream = !e->syn && !e->synack;
    bump(&c->conns, sign, 1);
    if (e->established || (midstream && e->pkts[0] > 0 && e->pkts[1] > 0))
        bump(&c->established, sign, 1);
    if (midstream)
        bump(&c->midstream, sign, 1);
    if (e->refused)
        bump(&c->refused, sign, 1);
    else if (e->rst)
        bump(&c->reset, sign, 1);
    if (!e->closed && e->eof)
        bump(&c->open_at_end, sign, 1);
    bump(&c->bytes_c2s, sign, e->bytes[0]);
    bump(&c->bytes_s2c, sign, e->bytes[1]);
    bump(&c->pkts_c2s, sign, e->pkts[0]);
    bump(&c->pkts_s2c, sign, e->pkts[1]);
    uint64_t dur = (uint64_t)((e->end - e->start) / CS_NS_PER_US);
    bool exact = true;
    if (sign > 0) {
        cs_hist_add(&c->duration_us, dur, 1);
        if (e->rtt_us >= 0)
            cs_hist_add(&c->rtt_us, (uint64_t)e->rtt_us, 1);
    } else {
        exact = cs_hist_remove(&c->duration_us, dur);
        if (e->rtt_us >= 0)
            exact = cs_hist_remove(&c->rtt_us, (uint64_t)e->rtt_us) && exact;
    }
    return exact;
}

/* Adds or takes back e; returns false when something could not be taken back exactly. */
static bool apply(cs_analytics *a, const cs_an_edge *e, int sign)
{
    cs_an_bucket *b = cs_analytics_bucket(a, cs_an_align(e->start, a->cfg.bucket));
    a->last = NULL;
    bump(&b->conns, sign, 1);
    bump(&b->bytes_c2s, sign, e->bytes[0]);
    bump(&b->bytes_s2c, sign, e->bytes[1]);
    bump(&a->flow_pkts[cs_an_pkt_class(e->pkts[0] + e->pkts[1])], sign, 1);
    bump(&a->flow_bytes[cs_an_byte_class(e->bytes[0] + e->bytes[1])], sign, 1);
    uint8_t key[17];
    uint32_t len = cs_an_key_encode(key, e->family, &e->addr[0], NULL);
    bool exact = true;
    if (sign > 0)
        cs_topk_add(a->top[CS_TOP_CLIENT_CONNS], key, len, 1);
    else
        exact = cs_topk_sub(a->top[CS_TOP_CLIENT_CONNS], key, len);
    return apply_server(a, e, sign) && exact;
}

void cs_an_edge_apply(cs_analytics *a, const cs_an_edge *e, int sign)
{
    apply(a, e, sign);
}

/* Index of B's endpoint that is A's endpoint i (B may have taken the other side as client). */
static int same_side(const cs_an_edge *a, const cs_an_edge *b, int i)
{
    size_t n = a->family == 6 ? 16 : 4;
    return memcmp(&a->addr[i], &b->addr[0], n) == 0 && a->port[i] == b->port[0] ? 0 : 1;
}

static bool same_tuple(const cs_an_edge *a, const cs_an_edge *b)
{
    if (a->family != b->family)
        return false;
    size_t n = a->family == 6 ? 16 : 4;
    for (int i = 0; i < 2; i++) {
        int j = same_side(a, b, i);
        if (memcmp(&a->addr[i], &b->addr[j], n) != 0 || a->port[i] != b->port[j])
            return false;
    }
    return true;
}

/* Signed distance from where A's direction i stopped to where B's same direction starts. */
static int32_t seq_gap(const cs_an_edge *a, const cs_an_edge *b, int i)
{
    const cs_an_edge_dir *x = &a->d[i], *y = &b->d[same_side(a, b, i)];
    return (int32_t)(y->first - x->next_seq);
}

/* Does B (a START edge of a later input) continue A (an END edge)? Same 4-tuple, B not before A,
 * and in each direction both saw bytes of, B starts within 16 MiB of where A stopped. */
static bool continues(const cs_an_edge *a, const cs_an_edge *b)
{
    if (!same_tuple(a, b) || b->start < a->last_ts)
        return false;
    /* B has the client's SYN: a retransmission of A's (the same ISN), or a new connection (both
     * orientations are the SYN's) */
    if (b->syn)
        return a->syn && a->d[0].seq && b->d[0].seq && a->d[0].first == b->d[0].first;
    for (int i = 0; i < 2; i++) {
        const cs_an_edge_dir *y = &b->d[same_side(a, b, i)];
        if (a->d[i].seq && y->seq) {
            int32_t g = seq_gap(a, b, i);
            if (g > (1 << 24) || g < -(1 << 24))
                return false;
        }
    }
    return true;
}

/* The one connection A then B that a run over both inputs records (A's orientation). Sets
 * *inexact when a count cannot be known exactly from the two halves. */
static void join(const cs_an_edge *a, const cs_an_edge *b, cs_an_edge *out, bool *inexact)
{
    *out = *a;
    out->kind = (uint8_t)((a->kind & CS_EDGE_START) | (b->kind & CS_EDGE_END));
    for (int i = 0; i < 2; i++) {
        int j = same_side(a, b, i);
        out->pkts[i] = a->pkts[i] + b->pkts[j];
        int64_t g = a->d[i].seq && b->d[j].seq ? seq_gap(a, b, i) : 0;
        /* bytes B counted again (retransmitted across the cut: g < 0), or never captured
         * between the two (g > 0: the whole run counts them as a gap) */
        int64_t bytes = (int64_t)(a->bytes[i] + b->bytes[j]) + g;
        if (bytes < 0 || (g < 0 && -g > (int64_t)b->bytes[j])) {
            *inexact = true;
            bytes = (int64_t)(a->bytes[i] + b->bytes[j]);
        }
        out->bytes[i] = (uint64_t)bytes;
        out->d[i].seq = a->d[i].seq || b->d[j].seq;
        out->d[i].first = a->d[i].seq ? a->d[i].first : b->d[j].first;
        out->d[i].next_seq = b->d[j].seq ? b->d[j].next_seq : a->d[i].next_seq;
    }
    out->syn = a->syn || b->syn;
    out->synack = a->synack || b->synack;
    /* the handshake completes in B when A saw the SYN and B (or A) the SYN/ACK, then the client
     * sent on */
    out->established = a->established ||
                       (a->syn && out->synack && b->pkts[same_side(a, b, 0)] > 0);
    /* REJ: the client's SYN answered by the server's RST, no SYN/ACK */
    out->refused = a->refused || (a->syn && !a->synack && !b->synack && !b->syn &&
                                  b->closing_ts[same_side(a, b, 1)] != 0 && b->rst &&
                                  b->pkts[same_side(a, b, 0)] == 0);
    out->rst = a->rst || b->rst;
    /* Zeek's end: the packet that leaves both sides closed (FIN or RST each way); the sides A
     * closed count for B's packets */
    int missing = -1, n_missing = 0;
    for (int i = 0; i < 2; i++) {
        cs_time_t bt = b->closing_ts[same_side(a, b, i)];
        out->closing_ts[i] = a->closing_ts[i] != 0 ? a->closing_ts[i] : bt;
        if (a->closing_ts[i] == 0) {
            missing = i;
            n_missing++;
        }
    }
    if (n_missing == 0)
        out->end = a->end;
    else if (n_missing == 1 && b->closing_ts[same_side(a, b, missing)] != 0)
        out->end = b->closing_ts[same_side(a, b, missing)];
    else
        out->end = b->end;
    /* closed: an RST, or a FIN each way (both FINs; the fin flags are not kept: an RST-free
     * side that closed sent a FIN) */
    out->closed = a->closed || b->closed || out->rst ||
                  (out->closing_ts[0] != 0 && out->closing_ts[1] != 0);
    /* the end of the input finalises a connection still tracked as closed or not */
    out->eof = (b->kind & CS_EDGE_END) && !out->closed;
    out->last_ts = b->last_ts;
    /* B's half counted its own end as an event time: the merge's last event time may be later
     * than the whole run's */
    if (b->end > out->end)
        *inexact = true;
    /* SYN in A, SYN/ACK in B: the RTT spans the cut */
    out->synack_ts = a->synack_ts != 0 ? a->synack_ts : b->synack_ts;
    out->syn_ts = a->synack_ts == 0 && b->syn_ts != 0 ? b->syn_ts : a->syn_ts;
    out->rtt_us = a->rtt_us >= 0 ? a->rtt_us
                  : out->syn_ts != 0 && out->synack_ts != 0
                      ? (out->synack_ts - out->syn_ts) / CS_NS_PER_US
                      : b->rtt_us;
    out->http = a->http || b->http;
    uint32_t cut = MIN(a->http_unanswered, b->http_orphans);
    out->http_unanswered = a->http_unanswered - cut + b->http_unanswered;
    out->http_orphans = a->http_orphans + b->http_orphans - cut;
}

/* Hash and equality of a 4-tuple in either orientation. */
static guint tuple_hash(gconstpointer p)
{
    const cs_an_edge *e = p;
    guint h[2];
    for (int i = 0; i < 2; i++) {
        h[i] = e->port[i];
        for (int k = 0; k < 16; k++)
            h[i] = h[i] * 31 + e->addr[i].b[k];
    }
    return h[0] ^ h[1];
}

static gboolean tuple_equal(gconstpointer a, gconstpointer b)
{
    return same_tuple(a, b);
}

/* Stream index in the merged range of B's local index s: after every earlier stream, less one
 * for each of B's streams before s that continued one of them. */
static uint64_t global_stream(uint64_t offset, const GArray *joined, uint64_t s)
{
    uint64_t before = 0;
    for (guint i = 0; i < joined->len; i++)
        if (g_array_index(joined, uint64_t, i) < s)
            before++;
    return offset + s - before;
}

void cs_an_edges_add(cs_analytics *a, GPtrArray *in, uint64_t in_streams)
{
    /* END edges of the merge so far, by tuple (the latest one of a tuple wins) */
    GHashTable *open = g_hash_table_new(tuple_hash, tuple_equal);
    for (guint i = 0; i < a->edges->len; i++) {
        cs_an_edge *e = a->edges->pdata[i];
        if (e->kind & CS_EDGE_END)
            g_hash_table_insert(open, e, e);
    }
    uint64_t offset = a->streams;
    GArray *joined = g_array_new(FALSE, FALSE, sizeof(uint64_t)); /* B's stitched local indices */
    GPtrArray *keep = g_ptr_array_new();                           /* B's edges to add as they are */
    for (guint i = 0; i < in->len; i++) {
        cs_an_edge *b = in->pdata[i];
        cs_an_edge *e = (b->kind & CS_EDGE_START) ? g_hash_table_lookup(open, b) : NULL;
        if (e == NULL || !continues(e, b)) {
            g_ptr_array_add(keep, b);
            continue;
        }
        cs_an_edge j;
        bool inexact = false;
        join(e, b, &j, &inexact);
        inexact = !apply(a, e, -1) || inexact;
        inexact = !apply(a, b, -1) || inexact;
        apply(a, &j, 1);
        a->stitch.stitched++;
        bool http = (e->http || b->http) && e->bytes[0] + e->bytes[1] > 0 &&
                    b->bytes[0] + b->bytes[1] > 0;
        if (http)
            a->stitch.http_cut++;
        if (inexact || http)
            a->stitch.inexact++;
        g_array_append_val(joined, b->stream);
        g_hash_table_remove(open, e);
        *e = j; /* keeps its place and its stream index; dropped below if no longer an edge */
    }
    for (guint i = 0; i < keep->len; i++) {
        cs_an_edge *b = keep->pdata[i], *copy = g_memdup2(b, sizeof *b);
        copy->stream = global_stream(offset, joined, b->stream);
        g_ptr_array_add(a->edges, copy);
    }
    /* a joined connection that ended in B is no edge of the merge any more */
    for (guint i = a->edges->len; i-- > 0;) {
        const cs_an_edge *e = a->edges->pdata[i];
        if (e->kind == 0)
            g_ptr_array_remove_index(a->edges, i); /* keeps the order of the others */
    }
    a->streams = offset + in_streams - joined->len;
    g_ptr_array_free(keep, TRUE);
    g_array_free(joined, TRUE);
    g_hash_table_destroy(open);
}
