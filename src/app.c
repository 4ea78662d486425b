/* app.c - protocol detection by content (any port) and dispatch of stream events to the parsers
 * (HTTP/1.x, HTTP/2, TLS). Holds at most a few bytes per direction until the first bytes say what
 * the connection carries. */
#include <string.h>

#include <glib.h>

#include "app.h"

#define PREFIX_MAX 32
#define MIDSTREAM_SCAN 4096 /* bytes searched for a start line when the handshake was not seen */

enum { V_PENDING, V_HTTP, V_NOT, V_TLS, V_H2 }; /* what the first bytes of one direction say */

struct cs_app {
    cs_app_cfg cfg;
    const cs_http_sink *sink; /* the caller's */
    /* what the parsers report to: feeds the connection's cs_exacc, then the caller's sink */
    cs_http_sink ex_sink;
    cs_counters *ctr;
    cs_tls_cfg tls_cfg;
    cs_tls_sink tls_sink;
};

typedef struct app_conn {
    uint8_t kind;
    uint8_t pre_len[2];
    uint8_t pre[2][PREFIX_MAX];
    cs_time_t pre_ts[2];
    uint32_t scanned[2];
    uint8_t verdict[2]; /* per direction: V_PENDING, V_HTTP, V_NOT */
    cs_http_conn *http; /* cleartext HTTP, or HTTP inside decrypted TLS */
    cs_h2_conn *h2;     /* HTTP/2: prior knowledge, after an h2c 101, or inside decrypted TLS */
    cs_tls_conn *tls;
    bool plain_http1;   /* decrypted TLS: the client's first plaintext is not the HTTP/2 preface */
    bool tunneled;      /* inside an HTTP CONNECT tunnel (http holds the outer exchanges) */
    cs_http_conn *http_in; /* HTTP inside a tunnelled, decrypted TLS session */
    bool gapped;        /* a gap came before the protocol was known */
    cs_exacc *ex;       /* exchange summary, allocated with the first exchange */
} app_conn;

/* ---- exchange sink: the per-connection summary, then the caller's sink ---------------------- */

static void app_exchange(void *ctx, const cs_conn *c, const cs_http_tx *tx)
{
    cs_app *a = ctx;
    app_conn *s = c->app;
    if (s != NULL && !tx->h2_pushed) { /* a push is no client request (as in the stats) */
        if (s->ex == NULL) {
            s->ex = g_new(cs_exacc, 1);
            cs_exacc_init(s->ex);
        }
        cs_ex x = {.has_request = tx->has_request,
                   .has_response = tx->has_response,
                   .status = tx->status,
                   .req_start = tx->req_start,
                   .req_end = tx->req_end,
                   .resp_start = tx->resp_start,
                   .resp_end = tx->resp_done ? tx->resp_end : -1};
        cs_exacc_add(s->ex, &x);
    }
    if (a->sink->exchange != NULL)
        a->sink->exchange(a->sink->ctx, c, tx);
}

static void app_http_anomaly(void *ctx, const cs_conn *c, cs_anomaly an)
{
    cs_app *a = ctx;
    if (a->sink->anomaly != NULL)
        a->sink->anomaly(a->sink->ctx, c, an);
}

/* ---- TLS sink: decrypted bytes go to an HTTP parser of their own ---------------------------- */

/* Decrypted bytes are HTTP/2 when the client's first ones are its connection preface (ALPN h2),
 * or the server's first ones its SETTINGS (a TLS 1.3 server may speak before the client's
 * Finished); else HTTP/1.x. */
static void tls_plaintext(void *ctx, const cs_conn *cc, bool from_client, const uint8_t *p,
                          uint32_t len, cs_time_t ts)
{
    cs_app *a = ctx;
    app_conn *s = cc->app;
    if (a->cfg.no_http)
        return;
    if (s->h2 == NULL && !s->plain_http1) {
        int pre = from_client ? cs_h2_detect_preface(p, len) : cs_h2_detect_server_preface(p, len);
        if (pre == 1 || (from_client && pre == -1 && len >= 3))
            s->h2 = cs_h2_new(&a->cfg.http, true);
        else if (from_client)
            s->plain_http1 = true;
    }
    if (s->h2 != NULL) {
        cs_h2_data(s->h2, &a->ex_sink, cc, from_client, p, len, ts);
        return;
    }
    cs_http_conn **h = s->tunneled ? &s->http_in : &s->http;
    if (*h == NULL)
        *h = cs_http_new(&a->cfg.http);
    cs_http_data(*h, &a->ex_sink, cc, from_client, p, len, ts);
}

static void tls_plaintext_gap(void *ctx, const cs_conn *cc, bool from_client, uint32_t len,
                              cs_time_t ts)
{
    cs_app *a = ctx;
    app_conn *s = cc->app;
    cs_http_conn *h = s->tunneled ? s->http_in : s->http;
    if (s->h2 != NULL)
        cs_h2_gap(s->h2, &a->ex_sink, cc, from_client, len, ts);
    else if (h != NULL)
        cs_http_gap(h, &a->ex_sink, cc, from_client, len, ts);
}

static void tls_anomaly(void *ctx, const cs_conn *cc, cs_anomaly an)
{
    cs_app *a = ctx;
    (void)cc;
    if ((unsigned)an < CS_ANOM_COUNT)
        a->ctr->anomalies[an]++;
}

cs_app *cs_app_new(const cs_app_cfg *cfg, const cs_http_sink *sink, cs_counters *ctr)
{
    cs_app *a = g_new0(cs_app, 1);
    a->cfg = *cfg;
    a->sink = sink;
    a->ex_sink = (cs_http_sink){.ctx = a, .exchange = app_exchange, .anomaly = app_http_anomaly};
    a->ctr = ctr;
    a->tls_cfg.keylog = cfg->keylog;
    a->tls_sink = (cs_tls_sink){.ctx = a,
                                .plaintext = tls_plaintext,
                                .plaintext_gap = tls_plaintext_gap,
                                .anomaly = tls_anomaly};
    return a;
}

void cs_app_free(cs_app *a)
{
    if (a == NULL)
        return;
    g_free(a);
}

void cs_app_summary_clear(cs_app_summary *sum)
{
    if (sum->has_tls)
        cs_tls_summary_clear(&sum->tls);
    sum->has_tls = false;
}

const char *cs_app_kind_name(cs_app_kind k)
{
    static const char *const names[] = {"unknown", "http", "tls", "other"};
    return (unsigned)k < CS_ARRAY_LEN(names) ? names[k] : "unknown";
}

static app_conn *conn_state(cs_conn *c)
{
    if (c->app == NULL)
        c->app = g_new0(app_conn, 1);
    return c->app;
}

static bool port_listed(const uint16_t *ports, int n, const cs_conn *c)
{
    uint16_t sport = c->port[!c->client];
    for (int i = 0; i < n; i++)
        if (ports[i] == sport)
            return true;
    return false;
}

/* Searches a mid-stream chunk for an HTTP start line at a line start (the chunk's start too: a
 * segment that begins with a request, after a lone keep-alive byte for instance). */
static bool midstream_http(const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len;) {
        int r = cs_http_detect_response(p + i, len - i);
        if (r == 1)
            return true;
        /* a request line: METHOD SP target SP HTTP/1.x */
        const uint8_t *end = memchr(p + i, '\n', len - i);
        uint32_t n = end != NULL ? (uint32_t)(end - (p + i)) : len - i;
        if (cs_http_detect_request(p + i, n) == 1 && n > 10 &&
            g_strstr_len((const char *)p + i, n, " HTTP/1.") != NULL)
            return true;
        if (end == NULL)
            return false;
        i = (uint32_t)(end - p) + 1;
    }
    return false;
}

/* The connection is being read as HTTP: bytes go to HTTP/2 (prior knowledge) or to HTTP/1.x, and
 * from HTTP/1.x to HTTP/2 after an h2c upgrade, or to the tunnel's protocol after a CONNECT. */
static void http_sink_data(cs_app *a, cs_conn *c, app_conn *s, bool from_client,
                           const uint8_t *p, uint32_t len, cs_time_t ts)
{
    if (s->h2 != NULL && (s->http == NULL || s->tunneled)) { /* prior knowledge; in a tunnel */
        cs_h2_data(s->h2, &a->ex_sink, c, from_client, p, len, ts);
        return;
    }
    uint32_t rest = cs_http_data(s->http, &a->ex_sink, c, from_client, p, len, ts);
    const cs_http_tx *up = rest > 0 ? cs_http_h2c_request(s->http) : NULL;
    if (up != NULL) { /* after the 101: HTTP/2, stream 1 answers the upgraded request */
        if (s->h2 == NULL) {
            s->h2 = cs_h2_new(&a->cfg.http, true);
            cs_h2_upgrade(s->h2, up);
        }
        cs_h2_data(s->h2, &a->ex_sink, c, from_client, p + len - rest, rest, ts);
        return;
    }
    if (rest > 0 && cs_http_tunnel(s->http) && !s->tunneled) {
        /* CONNECT tunnel: find out what runs inside (TLS, usually) from here on */
        s->tunneled = true;
        s->kind = CS_APP_UNKNOWN;
        s->verdict[0] = s->verdict[1] = V_PENDING;
        s->pre_len[0] = s->pre_len[1] = 0;
        s->scanned[0] = s->scanned[1] = MIDSTREAM_SCAN;
    }
    if (rest > 0 && s->tunneled && s->kind == CS_APP_UNKNOWN)
        cs_app_stream_data(a, c, from_client ? c->client : !c->client, p + len - rest, rest, ts);
}


/* Judges the first bytes of direction dir: V_HTTP, V_NOT, or V_PENDING (need more). Sets the kind
 * to TLS on a ClientHello from the client. */
static int judge(cs_app *a, cs_conn *c, app_conn *s, int dir, const uint8_t *p, uint32_t len)
{
    bool from_client = dir == c->client;
    /* The HTTP/2 client preface reads as an HTTP/1 request line too ("PRI * HTTP/2.0"): first. */
    int h2 = a->cfg.no_http ? 0 : cs_h2_detect_preface(p, len);
    if (h2 == 1) {
        if (!from_client)
            cs_conn_set_client(c, dir);
        return V_H2;
    }
    if (h2 == -1)
        return len >= PREFIX_MAX ? V_NOT : V_PENDING;
    int req = a->cfg.no_http ? 0 : cs_http_detect_request(p, len);
    int resp = a->cfg.no_http ? 0 : cs_http_detect_response(p, len);
    if (req == 1 || resp == 1) {
        /* Whoever sends a request line is the HTTP client (fixes a guessed role). */
        if (req == 1 && !from_client)
            cs_conn_set_client(c, dir);
        else if (resp == 1 && from_client)
            cs_conn_set_client(c, !dir);
        return V_HTTP;
    }
    /* A server that speaks first with its SETTINGS (HTTP/2 prior knowledge) */
    if (!from_client && !a->cfg.no_http && cs_h2_detect_server_preface(p, len) == 1)
        return V_H2;
    int tls = cs_tls_detect(p, len);
    if (tls == 1) { /* a ClientHello: its sender is the client */
        if (!from_client)
            cs_conn_set_client(c, dir);
        return V_TLS;
    }
    if (req == -1 || resp == -1 || tls == -1)
        return len >= PREFIX_MAX ? V_NOT : V_PENDING;
    (void)a;
    (void)s;
    return V_NOT;
}

/* The connection turned out to be HTTP while `take` bytes of the current chunk of direction dir
 * sat in its prefix: replays what the prefixes held from earlier chunks. A direction already
 * judged not to start with HTTP begins in resynchronisation (its bytes are skipped). */
static void start_http(cs_app *a, cs_conn *c, app_conn *s, int dir, uint32_t take)
{
    s->kind = CS_APP_HTTP;
    s->http = cs_http_new(&a->cfg.http);
    for (int i = 0; i < 2; i++)
        if (s->verdict[i] == V_NOT)
            cs_http_resync(s->http, i == c->client);
    int other = !dir;
    if (s->pre_len[other] > 0 && s->verdict[other] != V_NOT) /* arrived before this chunk */
        http_sink_data(a, c, s, other == c->client, s->pre[other], s->pre_len[other],
                       s->pre_ts[other]);
    if (s->pre_len[dir] > take && s->verdict[dir] != V_NOT)
        http_sink_data(a, c, s, dir == c->client, s->pre[dir], s->pre_len[dir] - take,
                       s->pre_ts[dir]);
    s->pre_len[0] = s->pre_len[1] = 0;
}

/* The connection turned out to be HTTP/2 (a preface from dir, or --http2-port) while `take` bytes
 * of the current chunk of direction dir sat in its prefix: replays what the prefixes held. With
 * `preface` false the connection is joined mid-way (no handshake seen, or a gap came first). Bytes
 * of a direction already judged something else were dropped: they are a gap for the parser. */
static void start_h2(cs_app *a, cs_conn *c, app_conn *s, int dir, uint32_t take, bool preface)
{
    s->kind = CS_APP_HTTP;
    s->h2 = cs_h2_new(&a->cfg.http, preface);
    int other = !dir;
    if (s->pre_len[other] > 0) {
        if (s->verdict[other] == V_NOT)
            cs_h2_gap(s->h2, &a->ex_sink, c, other == c->client, s->pre_len[other],
                      s->pre_ts[other]);
        else
            cs_h2_data(s->h2, &a->ex_sink, c, other == c->client, s->pre[other], s->pre_len[other],
                       s->pre_ts[other]);
    }
    if (s->pre_len[dir] > take)
        cs_h2_data(s->h2, &a->ex_sink, c, dir == c->client, s->pre[dir], s->pre_len[dir] - take,
                   s->pre_ts[dir]);
    s->pre_len[0] = s->pre_len[1] = 0;
}

/* The connection turned out to be TLS (a ClientHello from dir): replays the held prefix. */
static void start_tls(cs_app *a, cs_conn *c, app_conn *s, int dir, uint32_t take)
{
    s->kind = CS_APP_TLS;
    s->tls = cs_tls_new(&a->tls_cfg);
    if (s->pre_len[dir] > take)
        cs_tls_data(s->tls, &a->tls_sink, c, dir == c->client, s->pre[dir], s->pre_len[dir] - take,
                    s->pre_ts[dir]);
    s->pre_len[0] = s->pre_len[1] = 0;
}

void cs_app_stream_data(cs_app *a, cs_conn *c, int dir, const uint8_t *p, uint32_t len,
                        cs_time_t ts)
{
    app_conn *s = conn_state(c);
    if (s->kind == CS_APP_HTTP) {
        http_sink_data(a, c, s, dir == c->client, p, len, ts);
        return;
    }
    if (s->kind == CS_APP_TLS) {
        cs_tls_data(s->tls, &a->tls_sink, c, dir == c->client, p, len, ts);
        return;
    }
    if (s->kind == CS_APP_UNKNOWN && s->verdict[dir] == V_PENDING) {

        /* Accumulate a short prefix until the protocol can be told. */
        uint32_t take = MIN(len, (uint32_t)(PREFIX_MAX - s->pre_len[dir]));
        if (s->pre_len[dir] == 0)
            s->pre_ts[dir] = ts;
        memcpy(s->pre[dir] + s->pre_len[dir], p, take);
        s->pre_len[dir] = (uint8_t)(s->pre_len[dir] + take);
        bool forced = !s->tunneled && !a->cfg.no_http;
        /* (a tunnel's first bytes are judged by content only) */
        uint8_t v = forced && port_listed(a->cfg.http2_ports, a->cfg.n_http2_ports, c) ? V_H2
                    : forced && port_listed(a->cfg.http_ports, a->cfg.n_http_ports, c)
                        ? V_HTTP
                        : (uint8_t)judge(a, c, s, dir, s->pre[dir], s->pre_len[dir]);
        /* Inside a CONNECT tunnel s->http is the outer parser: only TLS and HTTP/2 are parsed
         * there (starting HTTP/1 again would replace the outer parser and leak it, with its open
         * exchanges). */
        if (v == V_HTTP && s->tunneled)
            v = V_NOT;
        s->verdict[dir] = v;
        if (v == V_H2) {
            bool joined = (c->role_how != CS_ROLE_SYN && c->role_how != CS_ROLE_SYNACK) ||
                          s->gapped;
            start_h2(a, c, s, dir, take,
                     !joined || cs_h2_detect_preface(s->pre[dir], s->pre_len[dir]) == 1);
            cs_h2_data(s->h2, &a->ex_sink, c, dir == c->client, p, len, ts);
            return;
        }
        if (s->verdict[dir] == V_HTTP) {
            start_http(a, c, s, dir, take);
            http_sink_data(a, c, s, dir == c->client, p, len, ts);
            return;
        }
        if (s->verdict[dir] == V_TLS) {
            start_tls(a, c, s, dir, take);
            cs_tls_data(s->tls, &a->tls_sink, c, dir == c->client, p, len, ts);
            return;
        }
        if (s->verdict[0] != V_PENDING && s->verdict[1] != V_PENDING)
            s->kind = CS_APP_OTHER;
    }
    /* Mid-stream: a connection caught in the middle of a body is still HTTP. */
    bool midstream =
        (c->role_how != CS_ROLE_SYN && c->role_how != CS_ROLE_SYNACK) || s->gapped;
    if (s->kind != CS_APP_HTTP && s->kind != CS_APP_TLS && s->verdict[dir] == V_NOT && midstream &&
        !a->cfg.no_http &&
        s->scanned[dir] < MIDSTREAM_SCAN) {
        s->scanned[dir] += len;
        if (midstream_http(p, len)) {
            s->verdict[0] = s->verdict[1] = V_NOT; /* both directions resynchronise */
            start_http(a, c, s, dir, 0);
            http_sink_data(a, c, s, dir == c->client, p, len, ts);
        }
    }
}

void cs_app_stream_gap(cs_app *a, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    app_conn *s = conn_state(c);
    if (s->kind == CS_APP_UNKNOWN || s->kind == CS_APP_OTHER)
        s->gapped = true; /* the first bytes may be lost: look for a start line later on too */
    if (s->kind == CS_APP_HTTP && s->h2 != NULL)
        cs_h2_gap(s->h2, &a->ex_sink, c, dir == c->client, len, ts);
    else if (s->kind == CS_APP_HTTP && s->http != NULL)
        cs_http_gap(s->http, &a->ex_sink, c, dir == c->client, len, ts);
    else if (s->kind == CS_APP_TLS)
        cs_tls_gap(s->tls, &a->tls_sink, c, dir == c->client, len, ts);
}

void cs_app_stream_end(cs_app *a, cs_conn *c, int dir, cs_time_t ts)
{
    app_conn *s = c->app;
    if (s == NULL)
        return;
    if (s->kind == CS_APP_TLS)
        cs_tls_end(s->tls, &a->tls_sink, c, dir == c->client, ts);
    if (s->http != NULL)
        cs_http_end(s->http, &a->ex_sink, c, dir == c->client, ts);
    if (s->h2 != NULL)
        cs_h2_end(s->h2, &a->ex_sink, c, dir == c->client, ts);
}

void cs_app_conn_end(cs_app *a, cs_conn *c, cs_app_summary *sum)
{
    app_conn *s = c->app;
    memset(sum, 0, sizeof *sum);
    if (s == NULL)
        return;
    sum->kind = s->kind;
    if (s->tls != NULL) {
        cs_tls_finish(s->tls, &a->tls_sink, c, &sum->tls);
        sum->has_tls = true;
        cs_tls_free(s->tls);
        sum->http2 = strcmp(sum->tls.next_protocol, "h2") == 0;
    }
    if (s->http != NULL) {
        cs_http_finish(s->http, &a->ex_sink, c, &sum->http);
        sum->has_http = true;
        cs_http_free(s->http);
    }
    if (s->http_in != NULL) { /* HTTP inside a tunnel: counted with the outer exchanges */
        cs_http_conn_summary in;
        cs_http_finish(s->http_in, &a->ex_sink, c, &in);
        cs_http_free(s->http_in);
        cs_http_summary_add(&sum->http, &in);
        sum->has_http = true;
    }
    if (s->h2 !=
        NULL) { /* HTTP/2 exchanges count with the HTTP/1.x ones (an h2c upgrade has both) */
        cs_http_conn_summary in;
        cs_h2_finish(s->h2, &a->ex_sink, c, &in, &sum->h2);
        cs_h2_free(s->h2);
        cs_http_summary_add(&sum->http, &in);
        sum->has_http = true;
        sum->has_h2 = true;
        sum->http2 = true;
    }
    sum->has_ex = s->ex != NULL;
    cs_exacc none;
    cs_exacc_init(&none);
    cs_exacc_finish(s->ex != NULL ? s->ex : &none, &sum->ex);
    if (s->ex != NULL) {
        cs_exacc_clear(s->ex);
        g_free(s->ex);
    }
    g_free(s);
    c->app = NULL;
}
