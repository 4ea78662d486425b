/* test_flow.c - CUnit suite for src/flow.c: Wireshark tcp.stream numbering (doc/wireshark-stream-
 * rules.md), roles, handshake times, expiry, the connection cap, tombstones, Zeek conn_state and the
 * reassembled-data hooks. Packets are cs_pkt structs built directly (no pcap, no decoder).
 * Registered by test_main.c through suite_flow(). */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#include "flow.h"
#include "suites.h"

/* ---- fixture: a table whose hooks record everything ----------------------------------------- */

typedef struct endrec {
    uint64_t stream;
    cs_end_reason why;
    char state[8];
    bool resumed;
    bool established;
    uint8_t client;
} endrec;

typedef struct fx {
    cs_flow_cfg cfg;
    cs_flow_hooks hooks;
    cs_counters ctr;
    cs_flow_table *t;
    GString *log;     /* "N<stream> " new, "D<dir>:<len> ", "G<dir>:<len> ", "E<dir> ", "X<stream> " */
    GString *data[2]; /* reassembled bytes per sending endpoint */
    int news;
    endrec ends[32];
    int nends;
    uint64_t frame;
    char final_log[256]; /* the log as fx_done() left it (the GStrings are freed there) */
} fx;

static void h_new(void *ctx, cs_conn *c)
{
    fx *f = ctx;
    f->news++;
    g_string_append_printf(f->log, "N%" G_GUINT64_FORMAT " ", (guint64)c->stream);
}

static void h_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    fx *f = ctx;
    g_string_append_len(f->data[dir], (const char *)p, (gssize)len);
    g_string_append_printf(f->log, "D%d:%u ", dir, len);
}

static void h_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    fx *f = ctx;
    g_string_append_printf(f->log, "G%d:%u ", dir, len);
}

static void h_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    fx *f = ctx;
    g_string_append_printf(f->log, "E%d ", dir);
}

static void h_conn_end(void *ctx, cs_conn *c, cs_end_reason why)
{
    fx *f = ctx;
    g_string_append_printf(f->log, "X%" G_GUINT64_FORMAT " ", (guint64)c->stream);
    if (f->nends < (int)CS_ARRAY_LEN(f->ends)) {
        endrec *e = &f->ends[f->nends];
        e->stream = c->stream;
        e->why = why;
        g_strlcpy(e->state, cs_conn_state(c), sizeof e->state);
        e->resumed = c->resumed;
        e->established = c->established;
        e->client = c->client;
    }
    f->nends++;
}

/* Defaults, then idle/linger/max_conns when non-zero. */
static void fx_init(fx *f, cs_time_t idle, cs_time_t linger, uint32_t max_conns)
{
    memset(f, 0, sizeof *f);
    cs_flow_cfg_default(&f->cfg);
    if (idle)
        f->cfg.idle_timeout = idle;
    if (linger)
        f->cfg.close_linger = linger;
    if (max_conns)
        f->cfg.max_conns = max_conns;
    f->hooks.ctx = f;
    f->hooks.conn_new = h_new;
    f->hooks.stream_data = h_data;
    f->hooks.stream_gap = h_gap;
    f->hooks.stream_end = h_end;
    f->hooks.conn_end = h_conn_end;
    f->log = g_string_new(NULL);
    f->data[0] = g_string_new(NULL);
    f->data[1] = g_string_new(NULL);
}

static void fx_start(fx *f)
{
    f->t = cs_flow_new(&f->cfg, &f->hooks, &f->ctr);
}

static void fx_done(fx *f)
{
    cs_flow_flush(f->t);
    CU_ASSERT_EQUAL(cs_flow_active(f->t), 0);
    cs_flow_free(f->t);
    g_strlcpy(f->final_log, f->log->str, sizeof f->final_log);
    g_string_free(f->log, TRUE);
    g_string_free(f->data[0], TRUE);
    g_string_free(f->data[1], TRUE);
}

/* ---- packets ------------------------------------------------------------------------------- */

typedef struct tup {
    uint8_t family;
    uint8_t a[16], b[16]; /* a: the side that normally opens */
    uint16_t pa, pb;
} tup;

static const tup TA = {4, {10, 0, 0, 1}, {10, 0, 0, 2}, 40000, 80};
static const tup TB = {4, {10, 0, 0, 1}, {10, 0, 0, 2}, 40001, 80};
static const tup TC = {4, {10, 0, 0, 3}, {10, 0, 0, 2}, 40000, 80};
static const tup T6 = {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
                       40000, 80};

#define SYN CS_TH_SYN
#define SA (CS_TH_SYN | CS_TH_ACK)
#define ACK CS_TH_ACK
#define PA (CS_TH_PSH | CS_TH_ACK)
#define FA (CS_TH_FIN | CS_TH_ACK)
#define RA (CS_TH_RST | CS_TH_ACK)
#define RST CS_TH_RST
#define FIN CS_TH_FIN

/* Milliseconds after a fixed epoch, as cs_time_t. */
#define T(ms) (INT64_C(1700000000) * CS_NS_PER_S + (cs_time_t)(ms) * CS_NS_PER_MS)

static cs_pkt pk(fx *f, const tup *t, bool from_b, uint8_t flags, uint32_t seq, uint32_t ack,
                 const char *data, cs_time_t ts)
{
    cs_pkt p;
    memset(&p, 0, sizeof p);
    uint32_t len = data ? (uint32_t)strlen(data) : 0;
    uint32_t l3 = t->family == 4 ? 20 : 40;
    p.ts = ts;
    p.frame = ++f->frame;
    p.caplen = p.wirelen = 14 + l3 + 20 + len;
    p.family = t->family;
    p.proto = 6;
    p.ip_len = l3 + 20 + len;
    memcpy(p.src.b, from_b ? t->b : t->a, t->family == 4 ? 4 : 16);
    memcpy(p.dst.b, from_b ? t->a : t->b, t->family == 4 ? 4 : 16);
    p.sport = from_b ? t->pb : t->pa;
    p.dport = from_b ? t->pa : t->pb;
    p.seq = seq;
    p.ack = ack;
    p.win = 65535;
    p.flags = flags;
    p.thl = 20;
    p.base_ok = true;
    p.payload = (const uint8_t *)data;
    p.payload_len = p.payload_wire = len;
    return p;
}

/* Feeds one packet; returns its stream index (UINT64_MAX when untracked), *c and *dir if asked. */
static uint64_t feedp(fx *f, const cs_pkt *p, cs_conn **cp, int *dirp)
{
    int dir = -1;
    cs_conn *c = cs_flow_packet(f->t, p, &dir);
    if (cp)
        *cp = c;
    if (dirp)
        *dirp = dir;
    return c ? c->stream : UINT64_MAX;
}

static uint64_t S(fx *f, const tup *t, bool from_b, uint8_t flags, uint32_t seq, uint32_t ack,
                  const char *data, cs_time_t ts)
{
    cs_pkt p = pk(f, t, from_b, flags, seq, ack, data, ts);
    return feedp(f, &p, NULL, NULL);
}

/* Same, returning the connection (valid until the next packet). */
static cs_conn *C(fx *f, const tup *t, bool from_b, uint8_t flags, uint32_t seq, uint32_t ack,
                  const char *data, cs_time_t ts)
{
    cs_pkt p = pk(f, t, from_b, flags, seq, ack, data, ts);
    cs_conn *c = NULL;
    feedp(f, &p, &c, NULL);
    return c;
}

/* ---- stream numbering ---------------------------------------------------------------------- */

static void test_stream_numbering(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 7000, 0, NULL, T(2)), 1);
    cs_pkt p = pk(&f, &TA, true, SA, 5000, 1001, NULL, T(3));
    int dir;
    cs_conn *c;
    CU_ASSERT_EQUAL(feedp(&f, &p, &c, &dir), 0);
    CU_ASSERT_EQUAL(dir, 1); /* sent by the endpoint that did not send the first packet */
    CU_ASSERT_EQUAL(c->port[0], 40000);
    CU_ASSERT_EQUAL(c->port[1], 80);
    CU_ASSERT_EQUAL(S(&f, &TC, true, PA, 9, 9, "x", T(4)), 2);
    CU_ASSERT_EQUAL(S(&f, &T6, false, SYN, 1, 0, NULL, T(5)), 3); /* same ports over IPv6 */
    CU_ASSERT_EQUAL(S(&f, &TB, true, SA, 8000, 7001, NULL, T(6)), 1);
    CU_ASSERT_EQUAL(S(&f, &TC, false, ACK, 9, 10, NULL, T(7)), 2);
    CU_ASSERT_EQUAL(S(&f, &T6, true, SA, 2, 2, NULL, T(8)), 3);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 4);
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 4);
    CU_ASSERT_EQUAL(cs_flow_peak(f.t), 4);
    CU_ASSERT_EQUAL(f.news, 4);
    CU_ASSERT_EQUAL(f.nends, 0);
    fx_done(&f);
    CU_ASSERT_EQUAL(f.nends, 4);
}

/* c01 + c03: a SYN with a new ISN starts a new stream; the old record ends as "reused"; late
 * packets of the old connection then belong to the new stream. */
static void test_reuse_new_isn(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    uint64_t got[12];
    got[0] = S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    got[1] = S(&f, &TA, true, SA, 5000, 1001, NULL, T(2));
    got[2] = S(&f, &TA, false, ACK, 1001, 5001, NULL, T(3));
    got[3] = S(&f, &TA, false, PA, 1001, 5001, "abcdefghi", T(4));
    got[4] = S(&f, &TA, true, ACK, 5001, 1010, NULL, T(5));
    got[5] = S(&f, &TA, false, FA, 1010, 5001, NULL, T(6));
    got[6] = S(&f, &TA, true, FA, 5001, 1011, NULL, T(7));
    got[7] = S(&f, &TA, false, ACK, 1011, 5002, NULL, T(8));
    CU_ASSERT_EQUAL(f.nends, 0);
    got[8] = S(&f, &TA, false, SYN, 2000, 0, NULL, T(9));
    CU_ASSERT_EQUAL_FATAL(f.nends, 1);
    CU_ASSERT_EQUAL(f.ends[0].stream, 0);
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_REUSED);
    CU_ASSERT_STRING_EQUAL(f.ends[0].state, "SF");
    got[9] = S(&f, &TA, true, SA, 7000, 2001, NULL, T(10));
    got[10] = S(&f, &TA, false, ACK, 2001, 7001, NULL, T(11));
    got[11] = S(&f, &TA, true, PA, 5001, 1011, "old", T(12)); /* late packet of the old conn */
    static const uint64_t want[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    for (int i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(got[i], want[i]);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 2);
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 1);
    CU_ASSERT_STRING_EQUAL(f.data[0]->str, "abcdefghi");
    /* the old record was finalised before the new one was announced */
    CU_ASSERT(strstr(f.log->str, "X0 N1 ") != NULL);
    fx_done(&f);
}

/* c04: retransmitted SYNs with the same ISN stay in the stream. */
static void test_syn_retrans_same_isn(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1001)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(3001)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SA, 5000, 1001, NULL, T(3002)), 0);
    cs_conn *c = C(&f, &TA, false, ACK, 1001, 5001, NULL, T(3003));
    CU_ASSERT_EQUAL(c->stream, 0);
    CU_ASSERT_EQUAL(c->d[0].syns, 3);
    CU_ASSERT_EQUAL(c->d[1].synacks, 1);
    CU_ASSERT_EQUAL(c->d[0].isn, 1000);
    CU_ASSERT_EQUAL(c->d[1].isn, 5000);
    CU_ASSERT(c->established);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 1);
    fx_done(&f);
    CU_ASSERT_EQUAL(f.nends, 1);
}

/* c07, c05, c06: a SYN/ACK with another seq moves the base but starts nothing; a pure SYN from the
 * server side is judged against that base. */
static void test_synack_other_seq(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    uint64_t got[7];
    got[0] = S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    got[1] = S(&f, &TA, true, SA, 5000, 1001, NULL, T(2));
    got[2] = S(&f, &TA, true, SA, 6000, 1001, NULL, T(3));
    got[3] = S(&f, &TA, false, ACK, 1001, 6001, NULL, T(4));
    got[4] = S(&f, &TA, true, SYN, 6000, 0, NULL, T(5));
    got[5] = S(&f, &TA, true, SYN, 5000, 0, NULL, T(6));
    got[6] = S(&f, &TA, false, ACK, 1001, 6001, NULL, T(7));
    static const uint64_t want[7] = {0, 0, 0, 0, 0, 1, 1};
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(got[i], want[i]);
    fx_done(&f);

    /* c05 (server SYN with a new seq) and c06 (server SYN with its ISN) */
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SA, 5000, 1001, NULL, T(2)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, ACK, 1001, 5001, NULL, T(3)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SYN, 5000, 0, NULL, T(4)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SYN, 9000, 0, NULL, T(5)), 1);
    cs_conn *c = C(&f, &TA, false, SA, 3000, 9001, NULL, T(6));
    CU_ASSERT_EQUAL(c->stream, 1);
    /* the new record's first packet came from the former server, which opened it */
    CU_ASSERT_EQUAL(c->port[0], 80);
    CU_ASSERT_EQUAL(c->client, 0);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_SYN);
    CU_ASSERT_EQUAL(S(&f, &TA, true, ACK, 9001, 3001, NULL, T(7)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, false, PA, 1001, 5001, "x", T(8)), 1);
    fx_done(&f);
}

/* c08, c09: midstream starts set the bases to seq-1 and ack-1. */
static void test_midstream_bases(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, PA, 100000, 200000, "0123456789", T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, ACK, 200000, 100010, NULL, T(2)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 99999, 0, NULL, T(3)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 42, 0, NULL, T(4)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SA, 777, 43, NULL, T(5)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, false, ACK, 43, 778, NULL, T(6)), 1);
    fx_done(&f);

    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, PA, 100000, 200000, "0123456789", T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SYN, 199999, 0, NULL, T(2)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SYN, 555, 0, NULL, T(3)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, false, ACK, 100010, 200000, NULL, T(4)), 1);
    fx_done(&f);
}

/* c11, c12: bogus header length still sets bases; a "short segment" (IP length inside the TCP
 * header) does not. */
static void test_bad_header_bases(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    cs_pkt p = pk(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    p.hdr_partial = true; /* data offset 4 */
    p.thl = 0;
    CU_ASSERT_EQUAL(feedp(&f, &p, NULL, NULL), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(2)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 2000, 0, NULL, T(3)), 1);
    fx_done(&f);

    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    p = pk(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    p.hdr_partial = true;
    p.base_ok = false;
    CU_ASSERT_EQUAL(feedp(&f, &p, NULL, NULL), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 2000, 0, NULL, T(2)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 3000, 0, NULL, T(3)), 1);
    fx_done(&f);
}

/* c13: an ICMP quote of an unseen tuple takes an index but never sets bases nor gets reported. */
static void test_icmp_quote(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1)), 0);
    cs_pkt q = pk(&f, &TB, false, SYN, 4242, 0, NULL, T(2));
    q.icmp_quote = true;
    q.base_ok = false;
    q.hdr_partial = true;
    CU_ASSERT_EQUAL(feedp(&f, &q, NULL, NULL), 1);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 4000, 0, NULL, T(3)), 1);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 4500, 0, NULL, T(4)), 2);
    /* a quote of a SYN with a new seq on a known tuple does start a stream (c13 frame 11) */
    q = pk(&f, &TA, false, SYN, 7777, 0, NULL, T(5));
    q.icmp_quote = true;
    q.base_ok = false;
    CU_ASSERT_EQUAL(feedp(&f, &q, NULL, NULL), 3);
    CU_ASSERT_EQUAL(S(&f, &TA, false, ACK, 1001, 5001, NULL, T(6)), 3);
    /* a quote-only connection is never reported */
    q = pk(&f, &TC, false, ACK, 1, 1, NULL, T(7));
    q.icmp_quote = true;
    q.base_ok = false;
    CU_ASSERT_EQUAL(feedp(&f, &q, NULL, NULL), 4);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 5);
    int before = f.nends;
    fx_done(&f);
    /* 1 and 0 ended as reused; the flush reports 2 and 3 but not the quote-only 4 */
    CU_ASSERT_EQUAL(before, 2);
    CU_ASSERT_EQUAL(f.nends, 4);
    for (int i = 0; i < f.nends && i < 32; i++)
        CU_ASSERT(f.ends[i].stream != 4);
}

/* ---- roles and the handshake ---------------------------------------------------------------- */

static void test_roles(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    cs_conn *c = C(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    CU_ASSERT_EQUAL(c->client, 0);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_SYN);

    /* first packet seen is the SYN/ACK: its receiver is the client */
    c = C(&f, &TB, true, SA, 5000, 1001, NULL, T(2));
    CU_ASSERT_EQUAL(c->port[0], 80);
    CU_ASSERT_EQUAL(c->client, 1);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_SYNACK);
    CU_ASSERT(c->history[0] == '^');
    c = C(&f, &TB, false, ACK, 1001, 5001, NULL, T(3));
    CU_ASSERT_EQUAL(c->client, 1);

    /* no handshake: the well-known port is the server's */
    c = C(&f, &TC, true, PA, 1, 1, "HTTP/1.1 200 OK\r\n", T(4));
    CU_ASSERT_EQUAL(c->port[0], 80);
    CU_ASSERT_EQUAL(c->client, 1);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_PORT);

    /* a listed service port above 1023 */
    static const tup Tsql = {4, {10, 1, 0, 1}, {10, 1, 0, 2}, 3306, 51000};
    c = C(&f, &Tsql, false, PA, 1, 1, "x", T(5));
    CU_ASSERT_EQUAL(c->client, 1);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_PORT);

    /* neither a service nor an ephemeral port: the ephemeral one is the client's */
    static const tup Teph = {4, {10, 2, 0, 1}, {10, 2, 0, 2}, 5000, 50000};
    c = C(&f, &Teph, false, PA, 1, 1, "x", T(6));
    CU_ASSERT_EQUAL(c->client, 1);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_PORT);

    /* no hint at all: the first sender */
    static const tup Tnone = {4, {10, 3, 0, 1}, {10, 3, 0, 2}, 5000, 6000};
    c = C(&f, &Tnone, true, PA, 1, 1, "x", T(7));
    CU_ASSERT_EQUAL(c->client, 0);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_FIRST);
    /* the application layer may then name the client */
    cs_conn_set_client(c, 1);
    CU_ASSERT_EQUAL(c->client, 1);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_CONTENT);

    /* a guessed role gives way to a SYN seen later */
    static const tup Tlate = {4, {10, 4, 0, 1}, {10, 4, 0, 2}, 40000, 80};
    c = C(&f, &Tlate, true, PA, 1, 1, "x", T(8));
    CU_ASSERT_EQUAL(c->client, 1);
    c = C(&f, &Tlate, true, SYN, 0, 0, NULL, T(9)); /* same base (1 - 1): same stream */
    CU_ASSERT_EQUAL(c->client, 0);
    CU_ASSERT_EQUAL(c->role_how, CS_ROLE_SYN);
    /* but not to the content hint */
    cs_conn_set_client(c, 1);
    CU_ASSERT_EQUAL(c->client, 0);
    fx_done(&f);
}

static void test_handshake_times(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    cs_pkt p = pk(&f, &TA, false, SYN, 1000, 0, NULL, T(100));
    p.opt.has_mss = true;
    p.opt.mss = 1460;
    p.opt.has_wscale = true;
    p.opt.wscale = 7;
    p.opt.sack_perm = true;
    p.opt.has_ts = true;
    feedp(&f, &p, NULL, NULL);
    cs_conn *c = C(&f, &TA, false, SYN, 1000, 0, NULL, T(1100)); /* retransmitted SYN */
    CU_ASSERT_EQUAL(c->syn_ts, T(100));
    CU_ASSERT_EQUAL(c->syn_last_ts, T(1100));
    CU_ASSERT(!c->established);
    p = pk(&f, &TA, true, SA, 5000, 1001, NULL, T(1200));
    p.opt.has_mss = true;
    p.opt.mss = 1400;
    feedp(&f, &p, &c, NULL);
    CU_ASSERT_EQUAL(c->synack_ts, T(1200));
    CU_ASSERT(!c->established);
    c = C(&f, &TA, false, ACK, 1001, 5000, NULL, T(1250)); /* does not ACK the SYN/ACK */
    CU_ASSERT(!c->established);
    CU_ASSERT_EQUAL(c->ack_ts, 0);
    c = C(&f, &TA, false, ACK, 1001, 5001, NULL, T(1300));
    CU_ASSERT(c->established);
    CU_ASSERT_EQUAL(c->ack_ts, T(1300));
    c = C(&f, &TA, false, SYN, 1000, 0, NULL, T(1400)); /* a SYN after the SYN/ACK */
    CU_ASSERT_EQUAL(c->syn_ts, T(100));
    CU_ASSERT_EQUAL(c->syn_last_ts, T(1100));
    CU_ASSERT_EQUAL(c->synack_ts, T(1200));
    CU_ASSERT_EQUAL(c->ack_ts, T(1300));
    CU_ASSERT_EQUAL(c->first_ts, T(100));
    CU_ASSERT_EQUAL(c->last_ts, T(1400));
    /* options from the first SYN of each side */
    CU_ASSERT_EQUAL(c->d[0].mss, 1460);
    CU_ASSERT_EQUAL(c->d[0].wscale, 7);
    CU_ASSERT(c->d[0].sack_perm);
    CU_ASSERT(c->d[0].ts_opt);
    CU_ASSERT_EQUAL(c->d[1].mss, 1400);
    CU_ASSERT_EQUAL(c->d[1].wscale, -1);
    CU_ASSERT(!c->d[1].sack_perm);
    CU_ASSERT_EQUAL(c->d[0].pkts, 5);
    CU_ASSERT_EQUAL(c->d[1].pkts, 1);
    CU_ASSERT_EQUAL(c->d[0].ip_bytes, 5 * 40);
    CU_ASSERT_STRING_EQUAL(c->history, "ShA");
    fx_done(&f);
}

/* ---- expiry, the cap and tombstones --------------------------------------------------------- */

static int count_char(const char *s, char ch)
{
    int n = 0;
    for (; *s; s++)
        n += *s == ch;
    return n;
}

static void test_idle_and_linger(void)
{
    fx f;
    fx_init(&f, 10 * CS_NS_PER_S, 2 * CS_NS_PER_S, 0);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(0)), 0);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 1000, 0, NULL, T(100)), 1);
    S(&f, &TB, true, SA, 5000, 1001, NULL, T(200));
    S(&f, &TB, false, ACK, 1001, 5001, NULL, T(300));
    S(&f, &TB, false, FA, 1001, 5001, NULL, T(400));
    S(&f, &TB, true, FA, 5001, 1002, NULL, T(450));
    cs_conn *c = C(&f, &TB, false, ACK, 1002, 5002, NULL, T(500));
    CU_ASSERT(c->closed);
    CU_ASSERT_EQUAL(c->close_ts, T(450));

    cs_flow_expire(f.t, T(500) + 2 * CS_NS_PER_S); /* exactly the linger: kept */
    CU_ASSERT_EQUAL(f.nends, 0);
    cs_flow_expire(f.t, T(500) + 2 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL_FATAL(f.nends, 1);
    CU_ASSERT_EQUAL(f.ends[0].stream, 1);
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_CLOSED);
    CU_ASSERT_STRING_EQUAL(f.ends[0].state, "SF");
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 1);

    cs_flow_expire(f.t, T(0) + 10 * CS_NS_PER_S); /* exactly the idle timeout: kept */
    CU_ASSERT_EQUAL(f.nends, 1);
    cs_flow_expire(f.t, T(0) + 10 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL_FATAL(f.nends, 2);
    CU_ASSERT_EQUAL(f.ends[1].stream, 0);
    CU_ASSERT_EQUAL(f.ends[1].why, CS_END_IDLE);
    CU_ASSERT_STRING_EQUAL(f.ends[1].state, "S0");
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 0);
    /* each direction of each connection ended exactly once */
    CU_ASSERT_EQUAL(count_char(f.log->str, 'E'), 4);

    /* a RST closes too: the linger applies */
    S(&f, &TC, false, SYN, 1, 0, NULL, T(30000));
    S(&f, &TC, true, SA, 9, 2, NULL, T(30001));
    S(&f, &TC, false, ACK, 2, 10, NULL, T(30002));
    S(&f, &TC, true, RA, 10, 2, NULL, T(30003));
    cs_flow_expire(f.t, T(30003) + 2 * CS_NS_PER_S);
    CU_ASSERT_EQUAL(f.nends, 2);
    cs_flow_expire(f.t, T(30003) + 2 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL_FATAL(f.nends, 3);
    CU_ASSERT_EQUAL(f.ends[2].why, CS_END_CLOSED);
    CU_ASSERT_STRING_EQUAL(f.ends[2].state, "RSTR");

    /* packet times drive the expiry too: a packet 11 s later finalises the idle one first */
    S(&f, &TA, false, SYN, 50, 0, NULL, T(60000));
    CU_ASSERT_EQUAL(f.nends, 3);
    S(&f, &TB, false, SYN, 60, 0, NULL, T(71001));
    CU_ASSERT_EQUAL_FATAL(f.nends, 4);
    CU_ASSERT_EQUAL(f.ends[3].why, CS_END_IDLE);
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 1);
    fx_done(&f);
    CU_ASSERT_EQUAL(f.nends, 5);
    CU_ASSERT_EQUAL(f.ends[4].why, CS_END_EOF);
}

static void test_max_conns(void)
{
    fx f;
    fx_init(&f, 0, 0, 2);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 7000, 0, NULL, T(2)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, true, SA, 5000, 1001, NULL, T(3)), 0); /* TA is now the younger */
    CU_ASSERT_EQUAL(S(&f, &TC, false, SYN, 3000, 0, NULL, T(4)), 2);
    CU_ASSERT_EQUAL_FATAL(f.nends, 1);
    CU_ASSERT_EQUAL(f.ends[0].stream, 1);
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_EVICTED);
    CU_ASSERT_EQUAL(f.ctr.anomalies[CS_ANOM_FLOW_CAP_EVICT], 1);
    CU_ASSERT_EQUAL(cs_flow_active(f.t), 2);
    CU_ASSERT_EQUAL(cs_flow_peak(f.t), 2);
    /* the evicted tuple comes back with its old index, evicting the idlest (TA) */
    cs_conn *c = C(&f, &TB, true, SA, 8000, 7001, NULL, T(5));
    CU_ASSERT_EQUAL(c->stream, 1);
    CU_ASSERT(c->resumed);
    CU_ASSERT_EQUAL_FATAL(f.nends, 2);
    CU_ASSERT_EQUAL(f.ends[1].stream, 0);
    CU_ASSERT_EQUAL(f.ctr.anomalies[CS_ANOM_FLOW_CAP_EVICT], 2);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 3);
    fx_done(&f);

    /* closed connections go first, even when an open one is older */
    fx_init(&f, 0, 0, 2);
    fx_start(&f);
    CU_ASSERT_EQUAL(S(&f, &TB, false, SYN, 7000, 0, NULL, T(1)), 0);
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(2)), 1);
    CU_ASSERT_EQUAL(S(&f, &TA, true, RA, 0, 1001, NULL, T(3)), 1);
    CU_ASSERT_EQUAL(S(&f, &TC, false, SYN, 3000, 0, NULL, T(4)), 2);
    CU_ASSERT_EQUAL_FATAL(f.nends, 1);
    CU_ASSERT_EQUAL(f.ends[0].stream, 1);
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_EVICTED);
    CU_ASSERT_STRING_EQUAL(f.ends[0].state, "REJ");
    fx_done(&f);
}

static void test_tombstones(void)
{
    fx f;
    fx_init(&f, 10 * CS_NS_PER_S, 0, 0);
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(0));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(1));
    S(&f, &TA, false, ACK, 1001, 5001, NULL, T(2));
    S(&f, &TA, false, PA, 1001, 5001, "abc", T(3));
    cs_flow_expire(f.t, T(3) + 10 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL_FATAL(f.nends, 1);
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_IDLE);
    CU_ASSERT(!f.ends[0].resumed);

    /* a late packet of the finalised connection keeps its index */
    cs_conn *c = C(&f, &TA, false, PA, 1004, 5001, "def", T(20000));
    CU_ASSERT_EQUAL(c->stream, 0);
    CU_ASSERT(c->resumed);
    CU_ASSERT_EQUAL(f.news, 2);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 1);
    CU_ASSERT(c->d[0].base_set);
    CU_ASSERT_EQUAL(c->d[0].base_seq, 1000);
    CU_ASSERT(c->d[1].base_set);
    CU_ASSERT_EQUAL(c->d[1].base_seq, 5000);
    cs_flow_expire(f.t, T(20000) + 10 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL_FATAL(f.nends, 2);
    CU_ASSERT(f.ends[1].resumed);
    CU_ASSERT_EQUAL(f.ends[1].stream, 0);

    /* from the other side first: the endpoints are swapped but the bases follow them */
    c = C(&f, &TA, true, SYN, 5000, 0, NULL, T(40000)); /* the server's own ISN: same stream */
    CU_ASSERT_EQUAL(c->stream, 0);
    CU_ASSERT(c->resumed);
    CU_ASSERT_EQUAL(c->d[0].base_seq, 5000);
    CU_ASSERT_EQUAL(c->d[1].base_seq, 1000);
    cs_flow_expire(f.t, T(40000) + 10 * CS_NS_PER_S + 1);

    /* a SYN with the old ISN: same stream; with a new ISN: a new one */
    CU_ASSERT_EQUAL(S(&f, &TA, false, SYN, 1000, 0, NULL, T(60000)), 0);
    cs_flow_expire(f.t, T(60000) + 10 * CS_NS_PER_S + 1);
    c = C(&f, &TA, false, SYN, 3000, 0, NULL, T(80000));
    CU_ASSERT_EQUAL(c->stream, 1);
    CU_ASSERT(!c->resumed);
    CU_ASSERT_EQUAL(cs_flow_streams(f.t), 2);
    fx_done(&f);

    /* with room for one tombstone, the older one is forgotten (and counted) */
    fx_init(&f, 10 * CS_NS_PER_S, 0, 0);
    f.cfg.max_tombstones = 1;
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(0));
    S(&f, &TB, false, SYN, 1000, 0, NULL, T(1));
    cs_flow_expire(f.t, T(1) + 10 * CS_NS_PER_S + 1);
    CU_ASSERT_EQUAL(f.nends, 2);
    CU_ASSERT_EQUAL(f.ctr.anomalies[CS_ANOM_FLOW_TOMB_EVICT], 1);
    CU_ASSERT_EQUAL(S(&f, &TB, false, ACK, 1001, 1, NULL, T(20000)), 1); /* remembered */
    CU_ASSERT_EQUAL(S(&f, &TA, false, ACK, 1001, 1, NULL, T(20001)), 2); /* forgotten */
    fx_done(&f);
}

/* ---- Zeek conn_state ----------------------------------------------------------------------- */

static tup tuple_n(int k)
{
    tup t = {4, {10, 9, 0, 1}, {10, 9, 0, 2}, (uint16_t)(41000 + k), 80};
    return t;
}

static void test_conn_states(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    tup t;
    cs_conn *c;

    t = tuple_n(0); /* S0: SYN, no reply */
    c = C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "S0");

    t = tuple_n(1); /* REJ: SYN answered by RST */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    c = C(&f, &t, true, RA, 0, 1001, NULL, T(2));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "REJ");

    t = tuple_n(2); /* S1: established, not closed */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    C(&f, &t, true, SA, 5000, 1001, NULL, T(2));
    c = C(&f, &t, false, ACK, 1001, 5001, NULL, T(3));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "S1");

    t = tuple_n(3); /* SF: handshake and FIN both ways */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    C(&f, &t, true, SA, 5000, 1001, NULL, T(2));
    C(&f, &t, false, ACK, 1001, 5001, NULL, T(3));
    C(&f, &t, false, PA, 1001, 5001, "hi", T(4));
    C(&f, &t, false, FA, 1003, 5001, NULL, T(5));
    C(&f, &t, true, FA, 5001, 1004, NULL, T(6));
    c = C(&f, &t, false, ACK, 1004, 5002, NULL, T(7));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "SF");

    t = tuple_n(4); /* RSTO: originator aborts */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    C(&f, &t, true, SA, 5000, 1001, NULL, T(2));
    C(&f, &t, false, ACK, 1001, 5001, NULL, T(3));
    c = C(&f, &t, false, RST, 1001, 0, NULL, T(4));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "RSTO");
    CU_ASSERT_EQUAL(c->rst_by, 1);

    t = tuple_n(5); /* RSTR: responder aborts */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    C(&f, &t, true, SA, 5000, 1001, NULL, T(2));
    C(&f, &t, false, ACK, 1001, 5001, NULL, T(3));
    c = C(&f, &t, true, RA, 5001, 1001, NULL, T(4));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "RSTR");
    CU_ASSERT_EQUAL(c->rst_by, 2);

    t = tuple_n(6); /* OTH: midstream traffic only */
    C(&f, &t, false, PA, 100, 200, "req", T(1));
    c = C(&f, &t, true, PA, 200, 103, "resp", T(2));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "OTH");

    t = tuple_n(7); /* SH: SYN then FIN from the originator, no SYN/ACK */
    C(&f, &t, false, SYN, 1000, 0, NULL, T(1));
    c = C(&f, &t, false, FIN, 1001, 0, NULL, T(2));
    CU_ASSERT_STRING_EQUAL(cs_conn_state(c), "SH");
    fx_done(&f);
    CU_ASSERT_EQUAL(f.nends, 8);
    /* at the end of input, closed connections end as "closed", the others as "eof" */
    for (int i = 0; i < f.nends; i++) {
        bool closed = strcmp(f.ends[i].state, "REJ") == 0 || strcmp(f.ends[i].state, "SF") == 0 ||
                      strncmp(f.ends[i].state, "RST", 3) == 0;
        CU_ASSERT_EQUAL(f.ends[i].why, closed ? CS_END_CLOSED : CS_END_EOF);
        CU_ASSERT_EQUAL(f.ends[i].stream, (uint64_t)i); /* flushed in stream order */
    }
}

/* ---- reassembled data through the hooks ----------------------------------------------------- */

static void test_stream_data(void)
{
    fx f;
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(2));
    S(&f, &TA, false, ACK, 1001, 5001, NULL, T(3));
    S(&f, &TA, false, PA, 1005, 5001, "/x", T(4)); /* ahead of "GET " */
    CU_ASSERT_STRING_EQUAL(f.data[0]->str, "");
    S(&f, &TA, false, PA, 1001, 5001, "GET ", T(5));
    CU_ASSERT_STRING_EQUAL(f.data[0]->str, "GET /x");
    S(&f, &TA, true, PA, 5001, 1007, "200 OK", T(6));
    S(&f, &TA, false, PA, 1001, 5007, "GET ", T(7)); /* retransmission: not delivered again */
    S(&f, &TA, false, FA, 1007, 5007, NULL, T(8));
    S(&f, &TA, true, FA, 5007, 1008, NULL, T(9));
    cs_conn *c = C(&f, &TA, false, ACK, 1008, 5008, NULL, T(10));
    CU_ASSERT_EQUAL(c->d[0].retrans, 1);
    CU_ASSERT_EQUAL(c->d[0].ooo, 1);
    CU_ASSERT_EQUAL(c->d[0].payload_bytes, 10);
    /* Zeek's rule: the hole filler at T(5) starts below the highest sequence sent, so it is the
     * first 'T'; the real retransmission at T(7) is the second (no new letter until the 10th).
     * The server never sent a bare ACK. */
    CU_ASSERT_STRING_EQUAL(c->history, "ShADTdFf");
    CU_ASSERT_STRING_EQUAL(f.data[0]->str, "GET /x");
    CU_ASSERT_STRING_EQUAL(f.data[1]->str, "200 OK");
    CU_ASSERT_STRING_EQUAL(f.log->str, "N0 D0:4 D0:2 D1:6 E0 E1 ");
    fx_done(&f);
    CU_ASSERT_STRING_EQUAL(f.final_log, "N0 D0:4 D0:2 D1:6 E0 E1 X0 ");

    /* a lost segment acknowledged by the peer becomes a gap, then the buffered bytes follow */
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(2));
    S(&f, &TA, false, ACK, 1001, 5001, NULL, T(3));
    S(&f, &TA, false, PA, 1004, 5001, "def", T(4)); /* "abc" was not captured */
    S(&f, &TA, true, ACK, 5001, 1007, NULL, T(5));
    CU_ASSERT_STRING_EQUAL(f.log->str, "N0 G0:3 D0:3 ");
    CU_ASSERT_EQUAL(f.ctr.anomalies[CS_ANOM_REASM_GAP], 1);
    CU_ASSERT_EQUAL(f.ctr.gap_bytes, 3);
    /* a RST ends both directions at once */
    S(&f, &TA, true, RA, 5001, 1007, NULL, T(6));
    CU_ASSERT_STRING_EQUAL(f.log->str, "N0 G0:3 D0:3 E0 E1 ");
    fx_done(&f);
    CU_ASSERT_STRING_EQUAL(f.final_log, "N0 G0:3 D0:3 E0 E1 X0 ");

    /* data still buffered at the end of input is delivered behind a gap, then the end */
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    S(&f, &TA, false, PA, 1011, 0, "late", T(2));
    fx_done(&f);
    CU_ASSERT_STRING_EQUAL(f.final_log, "N0 G0:10 D0:4 E0 E1 X0 ");
    CU_ASSERT_EQUAL(f.ends[0].why, CS_END_EOF);

    /* SYN/ACKs with new ISNs before any data (nDPI's tls_multiple_synack_different_seq): the
     * server's stream starts after the latest one, which the client's ACK confirms */
    fx_init(&f, 0, 0, 0);
    fx_start(&f);
    S(&f, &TA, false, SYN, 1000, 0, NULL, T(1));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(2));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(3));     /* retransmitted: same ISN */
    S(&f, &TA, true, SA, 900000, 1001, NULL, T(4));   /* started over */
    c = C(&f, &TA, false, ACK, 1001, 900001, NULL, T(5));
    CU_ASSERT_TRUE(c->established);
    S(&f, &TA, true, PA, 900001, 1001, "hello", T(6));
    S(&f, &TA, true, SA, 5000, 1001, NULL, T(7));     /* after data: the stream stays */
    c = C(&f, &TA, true, PA, 900006, 1001, "!", T(8));
    CU_ASSERT_EQUAL(c->d[1].retrans, 0);
    CU_ASSERT_STRING_EQUAL(f.data[1]->str, "hello!");
    fx_done(&f);
}

void suite_flow(void)
{
    static const cs_test_case cases[] = {
        {"stream_numbering", test_stream_numbering},
        {"reuse_new_isn", test_reuse_new_isn},
        {"syn_retrans_same_isn", test_syn_retrans_same_isn},
        {"synack_other_seq", test_synack_other_seq},
        {"midstream_bases", test_midstream_bases},
        {"bad_header_bases", test_bad_header_bases},
        {"icmp_quote", test_icmp_quote},
        {"roles", test_roles},
        {"handshake_times", test_handshake_times},
        {"idle_and_linger", test_idle_and_linger},
        {"max_conns", test_max_conns},
        {"tombstones", test_tombstones},
        {"conn_states", test_conn_states},
        {"stream_data", test_stream_data},
        {NULL, NULL},
    };
    cs_add_suite("flow", cases);
}
