/* app.h - the application layer's entry: detects the protocol of each connection from its first
 * bytes (HTTP/1.x, TLS, other) and routes reassembled bytes to the matching parser. */
#ifndef CS_APP_H
#define CS_APP_H

#include "app_http.h"
#include "app_http2.h"
#include "app_tls.h"
#include "exsum.h"

typedef enum cs_app_kind {
    CS_APP_UNKNOWN, /* no payload yet, or not enough to tell */
    CS_APP_HTTP,
    CS_APP_TLS,
    CS_APP_OTHER
} cs_app_kind;

typedef struct cs_app_cfg {
    cs_http_cfg http;
    const uint16_t *http_ports; /* server ports parsed as HTTP whatever their content */
    int n_http_ports;
    const uint16_t *http2_ports; /* server ports parsed as HTTP/2 whatever their content */
    int n_http2_ports;
    bool no_http;               /* --no-http: connection analysis only */
    const struct cs_keylog *keylog; /* --tls-keylog: decrypt TLS and parse HTTP inside, or NULL */
} cs_app_cfg;

typedef struct cs_app cs_app;

/* Creates the layer. `sink` receives HTTP exchanges (cleartext, or decrypted from TLS) and
 * anomalies; `ctr` counts anomalies (TLS ones too). Each exchange is also accounted in its
 * connection's exchange summary (cs_app_summary.ex) before the sink sees it.
 * All three must outlive it. */
cs_app *cs_app_new(const cs_app_cfg *cfg, const cs_http_sink *sink, cs_counters *ctr);
void cs_app_free(cs_app *a);

/* Flow-table hook bodies (see cs_flow_hooks): bytes, gaps and ends of one direction (endpoint dir
 * of the connection). */
void cs_app_stream_data(cs_app *a, cs_conn *c, int dir, const uint8_t *p, uint32_t len,
                        cs_time_t ts);
void cs_app_stream_gap(cs_app *a, cs_conn *c, int dir, uint32_t len, cs_time_t ts);
void cs_app_stream_end(cs_app *a, cs_conn *c, int dir, cs_time_t ts);

/* Per-connection application facts collected when it ends. */
typedef struct cs_app_summary {
    cs_app_kind kind;
    bool has_http; /* http holds the HTTP parser's totals (cleartext or decrypted;
                                   HTTP/1.x and HTTP/2 added up) */
    cs_http_conn_summary http;
    bool has_h2; /* h2 holds the HTTP/2 facts (h2c, or decrypted TLS) */
    cs_h2_conn_summary h2;
    bool has_tls;               /* tls holds the TLS facts (strings owned: see cs_app_summary_clear) */
    cs_tls_summary tls;
    bool http2;  /* speaks HTTP/2: parsed (has_h2), or TLS with ALPN h2 and no keys */
    bool has_ex; /* exchanges were reported on the connection (ex counts them) */
    cs_exsum ex; /* the connection's exchanges (every parser feeds it through the
                                   sink, once per exchange); empty but valid when !has_ex */
} cs_app_summary;

/* Frees what a summary owns (the TLS fingerprint strings). */
void cs_app_summary_clear(cs_app_summary *sum);

/* The connection is over: flushes its parsers (reporting open exchanges), fills *sum, and frees the
 * per-connection state. */
void cs_app_conn_end(cs_app *a, cs_conn *c, cs_app_summary *sum);

const char *cs_app_kind_name(cs_app_kind k);

#endif
