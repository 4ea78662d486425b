/* app_quic.c - QUIC as a run sees it: UDP datagrams handed to the QUIC connection table, the TLS
 * hellos of each connection parsed into facts and fingerprints, one cs_quic_row per ended connection. */
#include <string.h>

#include <glib.h>

#include "app_quic.h"
#include "tls_fingerprint.h"
#include "tls_hello.h"

struct cs_app_quic {
    cs_app_quic_cfg cfg;
    cs_quic_hooks hooks;
    const cs_app_quic_sink *sink;
    cs_counters *ctr;
    cs_quic_table *q;
    uint64_t frame; /* frame of the datagram being handled (for a new connection's uid) */
};

/* What a connection's hellos said, and where it began; owned through cs_quic_conn.app. */
typedef struct quic_facts {
    uint64_t first_frame;
    uint64_t udp_stream;
    uint32_t tunnel;
    bool have_stream;
    bool have_ch, have_sh;
    char server_name[256];
    char client_protocol[64];
    char alpn_offered[256];
    uint16_t tls_version, cipher;
    char ja3[33], ja3s[33], ja4[40];
} quic_facts;

static void on_conn_new(void *ctx, cs_quic_conn *c)
{
    cs_app_quic *a = ctx;
    quic_facts *f = g_new0(quic_facts, 1);
    f->first_frame = a->frame;
    c->app = f;
}

static void client_hello(cs_app_quic *a, quic_facts *f, const uint8_t *body, uint32_t len)
{
    cs_tls_hello h;
    if (!cs_tls_hello_parse(CS_TLS_HS_CLIENT_HELLO, body, len, &h) || h.truncated)
        a->ctr->anomalies[CS_ANOM_TLS_BAD_HANDSHAKE]++;
    if (h.type == CS_TLS_HS_CLIENT_HELLO && !f->have_ch) {
        f->have_ch = true;
        g_strlcpy(f->server_name, h.server_name, sizeof f->server_name);
        g_strlcpy(f->alpn_offered, h.alpn, sizeof f->alpn_offered);
        size_t n = strcspn(h.alpn, ",");
        g_strlcpy(f->client_protocol, h.alpn,
                  n + 1 < sizeof f->client_protocol ? n + 1 : sizeof f->client_protocol);
        char *ja3 = cs_tls_ja3(&h, f->ja3);
        g_free(ja3); /* the full JA3 string is not reported for QUIC: its MD5 only */
        cs_tls_ja4(&h, 'q', f->ja4);
    }
    cs_tls_hello_clear(&h);
}

static void server_hello(cs_app_quic *a, quic_facts *f, const uint8_t *body, uint32_t len)
{
    cs_tls_hello h;
    if (!cs_tls_hello_parse(CS_TLS_HS_SERVER_HELLO, body, len, &h) || h.truncated)
        a->ctr->anomalies[CS_ANOM_TLS_BAD_HANDSHAKE]++;
    if (h.type == CS_TLS_HS_SERVER_HELLO && !h.retry && !f->have_sh) {
        f->have_sh = true;
        f->tls_version = h.selected_version != 0 ? h.selected_version : h.legacy_version;
        f->cipher = h.cipher;
        char *ja3s = cs_tls_ja3s(&h, f->ja3s);
        g_free(ja3s);
    }
    cs_tls_hello_clear(&h);
}

/* A whole handshake message (4-byte header included) of the Initial or Handshake CRYPTO stream. */
static void on_handshake(void *ctx, cs_quic_conn *c, int dir, int level, const uint8_t *msg,
                         uint32_t len, cs_time_t ts)
{
    (void)level;
    (void)ts;
    quic_facts *f = c->app;
    if (f == NULL || len < 4)
        return;
    if (dir == 0 && msg[0] == CS_TLS_HS_CLIENT_HELLO)
        client_hello(ctx, f, msg + 4, len - 4);
    else if (dir == 1 && msg[0] == CS_TLS_HS_SERVER_HELLO)
        server_hello(ctx, f, msg + 4, len - 4);
}

static void row_fill(cs_quic_row *row, const cs_quic_conn *c, const quic_facts *f, cs_quic_end why)
{
    memset(row, 0, sizeof *row);
    row->number = c->number;
    row->family = c->family;
    for (int i = 0; i < 2; i++) {
        row->addr[i] = c->addr[i];
        row->port[i] = c->port[i];
        row->dgrams[i] = c->dgrams[i];
        row->packets[i] = c->packets[i];
        row->bytes[i] = c->bytes[i];
        row->initials[i] = c->initials[i];
        row->handshakes[i] = c->handshakes[i];
        row->shorts[i] = c->shorts[i];
    }
    row->start = c->first_ts;
    row->end = c->last_ts;
    row->handshake = c->hs_ts != 0 ? c->hs_ts - c->first_ts : -1;
    cs_quic_version_name(c->version, row->version, sizeof row->version);
    cs_quic_cid_hex(&c->odcid, row->client_initial_dcid);
    cs_quic_cid_hex(&c->rep_scid[0], row->client_scid);
    cs_quic_cid_hex(&c->rep_scid[1], row->server_scid);
    row->server_scid_seen = c->rep_scid_seen[1];
    row->history = c->history;
    row->state = cs_quic_conn_state(c);
    row->end_reason = cs_quic_end_name(why);
    row->zero_rtt = c->zero_rtt;
    row->retries = c->retries;
    row->vns = c->vns;
    row->closed = c->closed;
    row->close_app = c->close_app;
    row->close_dir = c->close_dir;
    row->close_error = c->close_error;
    row->decrypt_failed = c->decrypt_failed;
    if (f == NULL)
        return;
    row->first_frame = f->first_frame;
    row->udp_stream = f->udp_stream;
    row->tunnel_id = f->tunnel;
    row->have_client_hello = f->have_ch;
    row->have_server_hello = f->have_sh;
    memcpy(row->server_name, f->server_name, sizeof row->server_name);
    memcpy(row->client_protocol, f->client_protocol, sizeof row->client_protocol);
    memcpy(row->alpn_offered, f->alpn_offered, sizeof row->alpn_offered);
    row->tls_version = f->tls_version;
    row->cipher = f->cipher;
    memcpy(row->ja3, f->ja3, sizeof row->ja3);
    memcpy(row->ja3s, f->ja3s, sizeof row->ja3s);
    memcpy(row->ja4, f->ja4, sizeof row->ja4);
}

static void on_conn_end(void *ctx, cs_quic_conn *c, cs_quic_end why)
{
    cs_app_quic *a = ctx;
    cs_quic_row row;
    row_fill(&row, c, c->app, why);
    g_free(c->app);
    c->app = NULL;
    if (a->sink != NULL && a->sink->conn != NULL)
        a->sink->conn(a->sink->ctx, &row);
}

cs_app_quic *cs_app_quic_new(const cs_app_quic_cfg *cfg, const cs_app_quic_sink *sink,
                             cs_counters *counters)
{
    cs_app_quic *a = g_new0(cs_app_quic, 1);
    a->cfg = *cfg;
    if (a->cfg.quic.max_conns == 0)
        cs_quic_cfg_default(&a->cfg.quic);
    a->sink = sink;
    a->ctr = counters;
    a->hooks = (cs_quic_hooks){
        .ctx = a, .conn_new = on_conn_new, .handshake = on_handshake, .conn_end = on_conn_end};
    a->q = cs_quic_new(&a->cfg.quic, &a->hooks, counters);
    if (a->q == NULL) {
        g_free(a);
        return NULL;
    }
    return a;
}

/* Is either port of the datagram a --quic-port? */
static bool forced(const cs_app_quic *a, uint16_t sport, uint16_t dport)
{
    for (uint32_t i = 0; i < a->cfg.n_ports; i++)
        if (a->cfg.ports[i] == sport || a->cfg.ports[i] == dport)
            return true;
    return false;
}

void cs_app_quic_datagram(cs_app_quic *a, cs_udp_flow *f, int dir, const uint8_t *p, uint32_t len,
                          uint32_t wire_len, cs_time_t ts, uint64_t frame)
{
    cs_quic_dgram d = {.family = f->family,
                       .src = &f->addr[dir],
                       .dst = &f->addr[!dir],
                       .sport = f->port[dir],
                       .dport = f->port[!dir],
                       .p = p,
                       .len = len,
                       .wire_len = wire_len,
                       .ts = ts,
                       .slot = &f->app,
                       .force = a->cfg.n_ports > 0 && forced(a, f->port[0], f->port[1])};
    cs_quic_conn *c;
    a->frame = frame;
    if (cs_quic_datagram(a->q, &d, &c, NULL) && c != NULL && c->app != NULL) {
        quic_facts *qf = c->app;
        if (!qf->have_stream) {
            qf->have_stream = true;
            qf->udp_stream = f->stream;
            qf->tunnel = f->tunnel;
        }
    }
    cs_quic_expire(a->q, ts);
}

void cs_app_quic_flow_end(cs_app_quic *a, cs_udp_flow *f)
{
    if (f->app != NULL)
        cs_quic_slot_end(a->q, &f->app);
}

void cs_app_quic_expire(cs_app_quic *a, cs_time_t now)
{
    cs_quic_expire(a->q, now);
}

void cs_app_quic_flush(cs_app_quic *a)
{
    cs_quic_flush(a->q);
}

const cs_quic_stats *cs_app_quic_stats(const cs_app_quic *a)
{
    return cs_quic_get_stats(a->q);
}

uint32_t cs_app_quic_peak(const cs_app_quic *a)
{
    return cs_quic_peak(a->q);
}

void cs_app_quic_free(cs_app_quic *a)
{
    if (a == NULL)
        return;
    a->sink = NULL; /* connections still open are ended without records, their facts freed */
    cs_quic_flush(a->q);
    cs_quic_free(a->q);
    g_free(a);
}
