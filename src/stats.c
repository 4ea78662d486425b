/* stats.c - connection analytics: the per-server table (SYN outcomes, connections, bytes, durations)
 * and global tallies, updated once per finalised connection. */
#include <string.h>

#include "stats.h"

uint64_t cs_uid_run_key(uint32_t group, cs_time_t ts, uint32_t wirelen, const uint8_t *data,
                        uint32_t caplen)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    uint64_t head[3] = {(uint64_t)ts, wirelen, group};
    const uint8_t *b = (const uint8_t *)head;
    for (size_t i = 0; i < sizeof head; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    for (uint32_t i = 0; i < caplen && i < 64; i++)
        h = (h ^ data[i]) * UINT64_C(1099511628211);
    return h;
}

void cs_conn_uid(char buf[CS_UID_LEN], uint64_t run_key, uint64_t first_frame)
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char frame[16];
    int n = 0;
    do {
        frame[n++] = digits[first_frame % 62];
        first_frame /= 62;
    } while (first_frame > 0);
    int k = 0;
    buf[k++] = 'C';
    for (int i = 0; i < 6; i++) {
        buf[k++] = digits[run_key % 62];
        run_key /= 62;
    }
    while (n > 0)
        buf[k++] = frame[--n];
    buf[k] = '\0';
}

void cs_conn_row_fill(cs_conn_row *row, const cs_conn *c, cs_end_reason why,
                      const cs_app_summary *app)
{
    static const char *const roles[] = {"none", "syn", "synack", "port", "first", "content"};
    int o = c->client, r = !c->client;
    memset(row, 0, sizeof *row);
    row->stream = c->stream;
    row->resumed = c->resumed;
    row->family = c->family;
    for (int i = 0; i < 2; i++) {
        int ep = i == 0 ? o : r;
        const cs_conn_dir *d = &c->d[ep];
        row->addr[i] = c->addr[ep];
        row->port[i] = c->port[ep];
        row->pkts[i] = d->pkts;
        row->bytes[i] = d->reasm.delivered + d->reasm.gap_bytes;
        row->ip_bytes[i] = d->ip_bytes;
        row->wire_bytes[i] = d->wire_bytes;
        row->gap_bytes[i] = d->reasm.gap_bytes;
        row->retrans[i] = d->retrans;
        row->ooo[i] = d->ooo;
        row->zero_win[i] = d->zero_windows;
        row->mss[i] = d->mss;
        row->wscale[i] = d->wscale;
    }
    row->start = c->first_ts;
    row->end = c->end_ts;
    row->syns = c->d[o].syns;
    row->synacks = c->d[r].synacks;
    row->syns_resp = c->d[r].syns;
    row->rtt_syn = (c->synack_ts && c->syn_last_ts) ? c->synack_ts - c->syn_last_ts : -1;
    row->rtt_ack = (c->ack_ts && c->synack_ts) ? c->ack_ts - c->synack_ts : -1;
    row->established = c->established;
    row->closed = c->closed;
    row->state = cs_conn_state(c);
    row->role_how = c->role_how < CS_ARRAY_LEN(roles) ? roles[c->role_how] : "none";
    row->end_reason = cs_end_reason_name(why);
    row->rst_by = c->rst_by == 0 ? NULL : (c->rst_by - 1 == o ? "orig" : "resp");
    memcpy(row->history, c->history, sizeof row->history);
    row->ex.first_req = row->ex.last_resp = -1;
    if (app != NULL) {
        if (app->kind == CS_APP_HTTP)
            row->service = "http";
        else if (app->kind == CS_APP_TLS)
            row->service = app->has_http ? "https" : "tls";
        row->has_http = app->has_http;
        row->http = app->http;
        row->has_ex = app->has_ex;
        row->ex = app->ex;
        row->tls = app->has_tls ? &app->tls : NULL;
        row->http2 = app->http2;
        row->has_h2 = app->has_h2;
        if (app->has_h2)
            row->h2 = app->h2;
    }
}

typedef cs_ep_key ep_key;

guint cs_ep_key_hash(gconstpointer p)
{
    const ep_key *k = p;
    guint h = k->port * 2654435761u ^ k->family;
    for (int i = 0; i < 16; i++)
        h = h * 31 + k->addr.b[i];
    return h;
}

gboolean cs_ep_key_equal(gconstpointer a, gconstpointer b)
{
    const ep_key *x = a, *y = b;
    return x->port == y->port && x->family == y->family && memcmp(&x->addr, &y->addr, 16) == 0;
}

static void server_free(gpointer p)
{
    cs_server_stats *s = p;
    cs_server_conns_clear(&s->c);
    g_free(s);
}

void cs_server_conns_add(cs_server_conns *into, const cs_server_conns *from)
{
    into->conns += from->conns;
    into->established += from->established;
    into->refused += from->refused;
    into->reset += from->reset;
    into->open_at_end += from->open_at_end;
    into->midstream += from->midstream;
    into->bytes_c2s += from->bytes_c2s;
    into->bytes_s2c += from->bytes_s2c;
    into->pkts_c2s += from->pkts_c2s;
    into->pkts_s2c += from->pkts_s2c;
    cs_hist_merge(&into->duration_us, &from->duration_us);
    cs_hist_merge(&into->rtt_us, &from->rtt_us);
}

void cs_server_conns_clear(cs_server_conns *c)
{
    cs_hist_clear(&c->duration_us);
    cs_hist_clear(&c->rtt_us);
    memset(c, 0, sizeof *c);
}

static void server_ip_free(gpointer p)
{
    cs_server_ip *v = p;
    cs_server_conns_clear(&v->c);
    g_free(v);
}

static gint cmp_server_ip(gconstpointer pa, gconstpointer pb)
{
    const cs_server_ip *a = *(cs_server_ip *const *)pa;
    const cs_server_ip *b = *(cs_server_ip *const *)pb;
    return cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
}

uint8_t cs_server_row_family(const void *row, const cs_server_layout *l)
{
    return *((const uint8_t *)row + l->family);
}

const cs_addr *cs_server_row_addr(const void *row, const cs_server_layout *l)
{
    return (const cs_addr *)(const void *)((const char *)row + l->addr);
}

uint16_t cs_server_row_port(const void *row, const cs_server_layout *l)
{
    uint16_t p;
    memcpy(&p, (const char *)row + l->port, sizeof p);
    return p;
}

const cs_server_conns *cs_server_row_conns(const void *row, const cs_server_layout *l)
{
    return (const cs_server_conns *)(const void *)((const char *)row + l->conns);
}

GPtrArray *cs_server_ips(const GPtrArray *rows, const cs_server_layout *l)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(server_ip_free);
    GHashTable *by = g_hash_table_new(g_bytes_hash, g_bytes_equal);
    GPtrArray *keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    for (guint i = 0; i < rows->len; i++) {
        const void *row = g_ptr_array_index(rows, i);
        uint8_t family = cs_server_row_family(row, l);
        const cs_addr *addr = cs_server_row_addr(row, l);
        const cs_server_conns *c = cs_server_row_conns(row, l);
        if (c->conns == 0)
            continue;
        uint8_t k[17];
        k[0] = family;
        memcpy(k + 1, addr->b, 16);
        GBytes *key = g_bytes_new(k, sizeof k);
        cs_server_ip *v = g_hash_table_lookup(by, key);
        if (v == NULL) {
            v = g_new0(cs_server_ip, 1);
            v->family = family;
            v->addr = *addr;
            g_hash_table_insert(by, key, v);
            g_ptr_array_add(keys, key);
            g_ptr_array_add(out, v);
        } else {
            g_bytes_unref(key);
        }
        v->ports++;
        cs_server_conns_add(&v->c, c);
    }
    g_hash_table_destroy(by);
    g_ptr_array_free(keys, TRUE);
    g_ptr_array_sort(out, cmp_server_ip);
    return out;
}

typedef struct http_key {
    ep_key ep;
    char *host;      /* Host (HTTP table) or SNI (TLS table); "" when none */
    uint8_t version; /* HTTP table: 1 (HTTP/1.x) or 2 (HTTP/2); TLS table: 0 */
} http_key;

static guint http_key_hash(gconstpointer p)
{
    const http_key *k = p;
    return (cs_ep_key_hash(&k->ep) * 31 + g_str_hash(k->host)) * 31 + k->version;
}

static gboolean http_key_equal(gconstpointer a, gconstpointer b)
{
    const http_key *x = a, *y = b;
    return cs_ep_key_equal(&x->ep, &y->ep) && x->version == y->version &&
           strcmp(x->host, y->host) == 0;
}

static void http_key_free(gpointer p)
{
    http_key *k = p;
    g_free(k->host);
    g_free(k);
}

static void http_server_free(gpointer p)
{
    cs_http_server *v = p;
    cs_hist_clear(&v->ttfb_us);
    cs_hist_clear(&v->ttlb_us);
    cs_hist_clear(&v->total_us);
    g_free(v);
}

static void tls_server_free(gpointer p)
{
    cs_tls_server *v = p;
    g_hash_table_destroy(v->versions);
    g_hash_table_destroy(v->alpn);
    cs_hist_clear(&v->handshake_us);
    cs_hist_clear(&v->turn_us);
    g_free(v);
}

void cs_stats_init(cs_stats *s)
{
    memset(s, 0, sizeof *s);
    s->servers = g_hash_table_new_full(cs_ep_key_hash, cs_ep_key_equal, g_free, server_free);
    s->states = g_hash_table_new(g_str_hash, g_str_equal);
    s->http_servers =
        g_hash_table_new_full(http_key_hash, http_key_equal, http_key_free, http_server_free);
    s->tls_servers =
        g_hash_table_new_full(http_key_hash, http_key_equal, http_key_free, tls_server_free);
    s->first_ts = INT64_MAX;
    s->last_ts = INT64_MIN;
    s->max_keys = 100000;
}

void cs_stats_free(cs_stats *s)
{
    g_hash_table_destroy(s->servers);
    g_hash_table_destroy(s->states);
    g_hash_table_destroy(s->http_servers);
    g_hash_table_destroy(s->tls_servers);
    cs_hist_clear(&s->http_ttfb_us);
    cs_hist_clear(&s->http_total_us);
    cs_hist_clear(&s->duration_us);
    cs_hist_clear(&s->rtt_us);
}

/* ---- one get-or-create per table ----------------------------------------------------------- */

static ep_key make_ep_key(uint8_t family, const cs_addr *a, uint16_t port)
{
    ep_key k;
    memset(&k, 0, sizeof k); /* padding too: the key is hashed and compared as a whole */
    k.addr = *a;
    k.port = port;
    k.family = family;
    return k;
}

/* At --max-keys entries, a new key is folded into the "(other)" entry (family 0, no address, port
 * 0, host ""): rewrites the key in place, counts `events` folded events and returns true. Memory
 * stays bounded whatever the traffic (a scan of millions of addresses); the report says how many
 * events were folded. */
static bool fold_at_cap(cs_stats *s, GHashTable *t, ep_key *k, const char **host, uint64_t events)
{
    if (s->max_keys == 0 || g_hash_table_size(t) < s->max_keys)
        return false;
    *k = make_ep_key(0, &(cs_addr){{0}}, 0);
    if (host != NULL)
        *host = "";
    s->keys_capped += events;
    return true;
}

/* The entry of (family, a, port) in the server table, created empty when missing (at the cap: the
 * "(other)" entry, `events` counted as folded). */
static cs_server_stats *server_get(cs_stats *s, uint8_t family, const cs_addr *a, uint16_t port,
                                   uint64_t events)
{
    ep_key k = make_ep_key(family, a, port);
    cs_server_stats *v = g_hash_table_lookup(s->servers, &k);
    if (v == NULL && fold_at_cap(s, s->servers, &k, NULL, events))
        v = g_hash_table_lookup(s->servers, &k);
    if (v == NULL) {
        v = g_new0(cs_server_stats, 1);
        v->addr = k.addr;
        v->family = k.family;
        v->port = k.port;
        g_hash_table_insert(s->servers, g_memdup2(&k, sizeof k), v);
    }
    return v;
}

/* Looks (family, a, port, host, version) up in a table keyed by http_key; at the cap a missing key
 * becomes the "(other)" key. Returns the entry, or NULL with *nk set to a new owned key to insert. */
static gpointer hostkey_find(cs_stats *s, GHashTable *t, uint8_t family, const cs_addr *a,
                             uint16_t port, const char *host, uint8_t version, uint64_t events,
                             http_key **nk)
{
    http_key k = {.ep = make_ep_key(family, a, port), .host = (char *)host, .version = version};
    const char *h = host;
    gpointer v = g_hash_table_lookup(t, &k);
    if (v == NULL && fold_at_cap(s, t, &k.ep, &h, events)) {
        k.host = (char *)h;
        v = g_hash_table_lookup(t, &k);
    }
    *nk = NULL;
    if (v == NULL) {
        *nk = g_new(http_key, 1);
        (*nk)->ep = k.ep;
        (*nk)->host = g_strdup(k.host);
        (*nk)->version = k.version;
    }
    return v;
}

/* The entry of (family, a, port, Host, HTTP version) in the HTTP server table, created empty when
 * missing. */
static cs_http_server *http_server_get(cs_stats *s, uint8_t family, const cs_addr *a, uint16_t port,
                                       const char *host, uint8_t version, uint64_t events)
{
    http_key *nk;
    cs_http_server *v =
        hostkey_find(s, s->http_servers, family, a, port, host, version, events, &nk);
    if (v == NULL) {
        v = g_new0(cs_http_server, 1);
        v->addr = nk->ep.addr;
        v->port = nk->ep.port;
        v->family = nk->ep.family;
        v->host = nk->host;
        v->version = nk->version;
        g_hash_table_insert(s->http_servers, nk, v);
    }
    return v;
}

/* The entry of (family, a, port, SNI) in the TLS server table, created empty when missing. */
static cs_tls_server *tls_server_get(cs_stats *s, uint8_t family, const cs_addr *a, uint16_t port,
                                     const char *sni, uint64_t events)
{
    http_key *nk;
    cs_tls_server *v = hostkey_find(s, s->tls_servers, family, a, port, sni, 0, events, &nk);
    if (v == NULL) {
        v = g_new0(cs_tls_server, 1);
        v->addr = nk->ep.addr;
        v->port = nk->ep.port;
        v->family = nk->ep.family;
        v->sni = nk->host;
        v->versions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        v->alpn = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(s->tls_servers, nk, v);
    }
    return v;
}

/* ---- accounting ------------------------------------------------------------------------------ */

void cs_stats_conn(cs_stats *s, const cs_conn_row *row)
{
    cs_server_stats *sv = server_get(s, row->family, &row->addr[1], row->port[1], 1);
    uint64_t dur_us = (uint64_t)((row->end - row->start) / CS_NS_PER_US);
    bool midstream = row->syns == 0 && row->synacks == 0;

    s->conns++;
    if (row->resumed)
        s->resumed++;
    if (row->start < s->first_ts)
        s->first_ts = row->start;
    if (row->end > s->last_ts)
        s->last_ts = row->end;
    for (int i = 0; i < 5; i++)
        if (strcmp(row->end_reason, cs_end_reason_name((cs_end_reason)i)) == 0)
            s->by_reason[i]++;
    gpointer old = g_hash_table_lookup(s->states, row->state);
    g_hash_table_insert(s->states, (gpointer)row->state,
                        GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));

    sv->c.conns++;
    if (row->established || (midstream && row->pkts[0] > 0 && row->pkts[1] > 0)) {
        sv->c.established++;
        s->established++;
    }
    if (midstream)
        sv->c.midstream++;
    if (strcmp(row->state, "REJ") == 0)
        sv->c.refused++;
    else if (row->rst_by != NULL)
        sv->c.reset++;
    if (!row->closed && strcmp(row->end_reason, "eof") == 0)
        sv->c.open_at_end++;
    sv->c.bytes_c2s += row->bytes[0];
    sv->c.bytes_s2c += row->bytes[1];
    sv->c.pkts_c2s += row->pkts[0];
    sv->c.pkts_s2c += row->pkts[1];
    cs_hist_add(&sv->c.duration_us, dur_us, 1);
    cs_hist_add(&s->duration_us, dur_us, 1);
    if (row->rtt_syn >= 0) {
        cs_hist_add(&sv->c.rtt_us, (uint64_t)(row->rtt_syn / CS_NS_PER_US), 1);
        cs_hist_add(&s->rtt_us, (uint64_t)(row->rtt_syn / CS_NS_PER_US), 1);
    }

    /* SYNs the responder sent went to the originator's endpoint (simultaneous open, odd peers). */
    if (row->syns_resp > 0) {
        cs_server_stats *o = server_get(s, row->family, &row->addr[0], row->port[0], 1);
        if (row->synacks == 0 && row->syns == 0)
            o->syn_unanswered++;
        else
            o->syn_answered++;
    }
    /* SYN outcomes, by the SYN's destination (the responder); the packets were counted as they came
     * (cs_stats_syn). */
    if (row->syns > 0) {
        if (row->synacks > 0)
            sv->syn_answered++;
        else if (strcmp(row->state, "REJ") == 0 ||
                 (row->rst_by != NULL && strcmp(row->rst_by, "resp") == 0))
            sv->syn_rst++; /* refused by the responder (the client's own RST is no answer) */
        else
            sv->syn_unanswered++;
    }
}

int cs_addr_cmp(uint8_t fa, const cs_addr *a, uint8_t fb, const cs_addr *b)
{
    if (fa != fb)
        return fa < fb ? -1 : 1;
    return memcmp(a->b, b->b, 16);
}

static gint cmp_server(gconstpointer pa, gconstpointer pb)
{
    const cs_server_stats *a = *(cs_server_stats *const *)pa;
    const cs_server_stats *b = *(cs_server_stats *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

void *cs_ep_row_get(GHashTable *t, uint32_t max_keys, uint64_t *capped, uint8_t family,
                    const cs_addr *a, uint16_t port, size_t size)
{
    cs_ep_key k;
    memset(&k, 0, sizeof k);
    k.addr = *a;
    k.port = port;
    k.family = family;
    cs_ep_row *v = g_hash_table_lookup(t, &k);
    if (v == NULL && max_keys > 0 && g_hash_table_size(t) >= max_keys) {
        memset(&k, 0, sizeof k);
        v = g_hash_table_lookup(t, &k);
        (*capped)++;
    }
    if (v == NULL) {
        v = g_malloc0(size);
        v->addr = k.addr;
        v->family = k.family;
        v->port = k.port;
        g_hash_table_insert(t, g_memdup2(&k, sizeof k), v);
    }
    return v;
}

gint cs_ep_row_cmp(gconstpointer pa, gconstpointer pb)
{
    const cs_ep_row *a = *(cs_ep_row *const *)pa;
    const cs_ep_row *b = *(cs_ep_row *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

GPtrArray *cs_table_sorted(GHashTable *t, GCompareFunc cmp)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(t));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(a, v);
    g_ptr_array_sort(a, cmp);
    return a;
}

GPtrArray *cs_stats_servers_sorted(const cs_stats *s)
{
    return cs_table_sorted(s->servers, cmp_server);
}

static int64_t span_us(cs_time_t from, cs_time_t to)
{
    if (from < 0 || to < 0)
        return -1;
    return to >= from ? (to - from) / CS_NS_PER_US : 0;
}

void cs_http_times_of(const cs_http_tx *tx, cs_http_times *t)
{
    t->ttfb_us = span_us(tx->req_end, tx->resp_start);
    t->ttlb_us = tx->resp_done ? span_us(tx->req_end, tx->resp_end) : -1;
    t->total_us = tx->resp_done ? span_us(tx->req_start, tx->resp_end) : -1;
    t->info_us = span_us(tx->req_hdr_end >= 0 ? tx->req_hdr_end : tx->req_start, tx->info_ts);
    t->req_us = span_us(tx->req_start, tx->req_end);
    t->wait_us = -1;
    if (tx->has_request && tx->req_end >= 0)
        t->wait_us = (tx->pipelined && tx->prev_resp_end > tx->req_end)
                         ? (tx->prev_resp_end - tx->req_end) / CS_NS_PER_US
                         : 0;
}

void cs_http_latency_add(const cs_http_tx *tx, cs_hist *ttfb, cs_hist *ttlb, cs_hist *total)
{
    if (!tx->has_request || !tx->has_response)
        return;
    cs_http_times t;
    cs_http_times_of(tx, &t);
    if (ttfb != NULL && t.ttfb_us >= 0)
        cs_hist_add(ttfb, (uint64_t)t.ttfb_us, 1);
    if (ttlb != NULL && t.ttlb_us >= 0)
        cs_hist_add(ttlb, (uint64_t)t.ttlb_us, 1);
    if (total != NULL && t.total_us >= 0)
        cs_hist_add(total, (uint64_t)t.total_us, 1);
}

void cs_stats_http(cs_stats *s, const cs_http_row *row)
{
    const cs_http_tx *tx = row->tx;
    if (tx->h2_pushed) { /* the server's initiative: no client request, no client latency */
        s->http2_pushed++;
        return;
    }
    uint8_t version = tx->h2_stream_id > 0 ? 2 : 1;
    if (version == 2)
        s->http2_exchanges++;
    cs_http_server *v = http_server_get(s, row->family, &row->addr[1], row->port[1],
                                        tx->host != NULL ? tx->host : "", version, 1);
    if (tx->has_request) {
        v->requests++;
        s->http_requests++;
    }
    if (tx->has_response) {
        v->responses++;
        s->http_responses++;
        int cls = tx->status >= 100 && tx->status < 600 ? tx->status / 100 : 0;
        v->status_class[cls]++;
        s->http_status_class[cls]++;
    }
    if (tx->has_request && tx->has_response) {
        v->paired++;
        s->http_paired++;
    } else if (tx->has_request) {
        v->unanswered++;
        s->http_unanswered++;
    } else {
        v->orphans++;
        s->http_orphans++;
    }
    cs_http_latency_add(tx, &v->ttfb_us, &v->ttlb_us, &v->total_us);
    cs_http_latency_add(tx, &s->http_ttfb_us, NULL, &s->http_total_us);
}

static void count_str(GHashTable *t, const char *k)
{
    gpointer old = g_hash_table_lookup(t, k);
    if (old == NULL)
        g_hash_table_insert(t, g_strdup(k), GUINT_TO_POINTER(1));
    else
        g_hash_table_insert(t, g_strdup(k), GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
}

/* Accounts the TLS facts of a finalised connection under (server, SNI). */
static void stats_tls(cs_stats *s, const cs_conn_row *row, const cs_app_summary *app)
{
    const cs_tls_summary *t = &app->tls;
    cs_tls_server *v =
        tls_server_get(s, row->family, &row->addr[1], row->port[1], t->server_name, 1);
    v->conns++;
    s->tls_conns++;
    if (t->established) {
        v->established++;
        s->tls_established++;
    }
    if (t->resumed)
        v->resumed++;
    if (app->http2) {
        v->http2++;
        s->tls_http2++;
    }
    bool opaque_h2 = app->http2 && !app->has_h2; /* turns do not count multiplexed streams */
    if (opaque_h2) {
        v->http2_opaque++;
        s->tls_http2_opaque++;
    }
    if (t->dec_status == CS_TLS_DEC_OK || t->dec_status == CS_TLS_DEC_PARTIAL) {
        v->decrypted++;
        s->tls_decrypted++;
    }
    count_str(v->versions, t->server_hello ? t->version_name : "none");
    count_str(v->alpn, t->next_protocol);
    v->app_bytes[0] += t->app_bytes[0];
    v->app_bytes[1] += t->app_bytes[1];
    if (!opaque_h2)
        v->est_exchanges += t->estimated_exchanges;
    if (app->has_http)
        v->http_exchanges += app->http.paired;
    if (t->handshake_ns >= 0)
        cs_hist_add(&v->handshake_us, (uint64_t)(t->handshake_ns / CS_NS_PER_US), 1);
    for (uint32_t i = 0; i < t->n_turns && i < CS_TLS_MAX_TURNS && !opaque_h2; i++)
        if (t->turns[i] >= 0)
            cs_hist_add(&v->turn_us, (uint64_t)(t->turns[i] / CS_NS_PER_US), 1);
}

void cs_stats_app(cs_stats *s, const cs_conn_row *row, const cs_app_summary *app)
{
    if (app->has_tls)
        stats_tls(s, row, app);
    if (!app->has_http)
        return;
    s->http_conns++;
    s->http2_conns += app->has_h2;
    s->http_lost_in_gap += app->http.lost_in_gap;
    if (app->http.upgraded)
        s->http_upgraded++;
}

static gint cmp_http_server(gconstpointer pa, gconstpointer pb)
{
    const cs_http_server *a = *(cs_http_server *const *)pa;
    const cs_http_server *b = *(cs_http_server *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    c = strcmp(a->host, b->host);
    return c != 0 ? c : (int)a->version - (int)b->version;
}

GPtrArray *cs_stats_http_servers_sorted(const cs_stats *s)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(s->http_servers));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->http_servers);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(a, v);
    g_ptr_array_sort(a, cmp_http_server);
    return a;
}

void cs_stats_syn(cs_stats *s, uint8_t family, const cs_addr *dst, uint16_t dport, bool first)
{
    cs_server_stats *sv = server_get(s, family, dst, dport, 1);
    sv->syn_pkts++;
    s->syn_pkts++;
    if (first) {
        sv->syn_attempts++;
        s->syn_attempts++;
    }
}

void cs_stats_conn_started(cs_stats *s)
{
    s->conns_started++;
}

static gint cmp_tls_server(gconstpointer pa, gconstpointer pb)
{
    const cs_tls_server *a = *(cs_tls_server *const *)pa;
    const cs_tls_server *b = *(cs_tls_server *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return strcmp(a->sni, b->sni);
}

GPtrArray *cs_stats_tls_servers_sorted(const cs_stats *s)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(s->tls_servers));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, s->tls_servers);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(a, v);
    g_ptr_array_sort(a, cmp_tls_server);
    return a;
}

/* ---- merging (parallel runs) ------------------------------------------------------------- */

static void merge_counts(GHashTable *into, GHashTable *from)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        gpointer old = g_hash_table_lookup(into, k);
        g_hash_table_insert(into, g_strdup(k),
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + GPOINTER_TO_UINT(v)));
    }
}

static void merge_server(cs_stats *into, const cs_server_stats *f)
{
    cs_server_stats *t = server_get(into, f->family, &f->addr, f->port, f->syn_pkts + f->c.conns);
    t->syn_pkts += f->syn_pkts;
    t->syn_attempts += f->syn_attempts;
    t->syn_answered += f->syn_answered;
    t->syn_rst += f->syn_rst;
    t->syn_unanswered += f->syn_unanswered;
    cs_server_conns_add(&t->c, &f->c);
}

static void merge_http_server(cs_stats *into, const cs_http_server *f)
{
    cs_http_server *t = http_server_get(into, f->family, &f->addr, f->port, f->host, f->version,
                                        f->requests + f->orphans);
    t->requests += f->requests;
    t->responses += f->responses;
    t->paired += f->paired;
    t->unanswered += f->unanswered;
    t->orphans += f->orphans;
    for (int i = 0; i < 6; i++)
        t->status_class[i] += f->status_class[i];
    cs_hist_merge(&t->ttfb_us, &f->ttfb_us);
    cs_hist_merge(&t->ttlb_us, &f->ttlb_us);
    cs_hist_merge(&t->total_us, &f->total_us);
}

static void merge_tls_server(cs_stats *into, const cs_tls_server *f)
{
    cs_tls_server *t = tls_server_get(into, f->family, &f->addr, f->port, f->sni, f->conns);
    t->conns += f->conns;
    t->established += f->established;
    t->resumed += f->resumed;
    t->http2 += f->http2;
    t->http2_opaque += f->http2_opaque;
    t->decrypted += f->decrypted;
    merge_counts(t->versions, f->versions);
    merge_counts(t->alpn, f->alpn);
    t->app_bytes[0] += f->app_bytes[0];
    t->app_bytes[1] += f->app_bytes[1];
    t->est_exchanges += f->est_exchanges;
    t->http_exchanges += f->http_exchanges;
    cs_hist_merge(&t->handshake_us, &f->handshake_us);
    cs_hist_merge(&t->turn_us, &f->turn_us);
}

void cs_stats_merge(cs_stats *into, const cs_stats *from)
{
    GHashTableIter it;
    gpointer k, v;
    into->conns += from->conns;
    into->conns_started += from->conns_started;
    into->established += from->established;
    into->syn_pkts += from->syn_pkts;
    into->syn_attempts += from->syn_attempts;
    into->resumed += from->resumed;
    for (int i = 0; i < 5; i++)
        into->by_reason[i] += from->by_reason[i];
    if (from->first_ts < into->first_ts)
        into->first_ts = from->first_ts;
    if (from->last_ts > into->last_ts)
        into->last_ts = from->last_ts;
    cs_hist_merge(&into->duration_us, &from->duration_us);
    cs_hist_merge(&into->rtt_us, &from->rtt_us);
    g_hash_table_iter_init(&it, from->states);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        gpointer old = g_hash_table_lookup(into->states, k);
        g_hash_table_insert(into->states, k,
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + GPOINTER_TO_UINT(v)));
    }
    into->http_requests += from->http_requests;
    into->http_responses += from->http_responses;
    into->http_paired += from->http_paired;
    into->http_unanswered += from->http_unanswered;
    into->http_orphans += from->http_orphans;
    into->http_conns += from->http_conns;
    into->http_lost_in_gap += from->http_lost_in_gap;
    into->http_upgraded += from->http_upgraded;
    into->http2_exchanges += from->http2_exchanges;
    into->http2_conns += from->http2_conns;
    into->http2_pushed += from->http2_pushed;
    for (int i = 0; i < 6; i++)
        into->http_status_class[i] += from->http_status_class[i];
    cs_hist_merge(&into->http_ttfb_us, &from->http_ttfb_us);
    cs_hist_merge(&into->http_total_us, &from->http_total_us);
    into->tls_conns += from->tls_conns;
    into->tls_established += from->tls_established;
    into->tls_decrypted += from->tls_decrypted;
    into->tls_http2 += from->tls_http2;
    into->tls_http2_opaque += from->tls_http2_opaque;
    into->keys_capped += from->keys_capped;
    /* table by table, in sorted order: which keys fold into "(other)" at into's cap does not
     * depend on hash order */
    GPtrArray *a = cs_stats_servers_sorted(from);
    for (guint i = 0; i < a->len; i++)
        merge_server(into, a->pdata[i]);
    g_ptr_array_free(a, TRUE);
    a = cs_stats_http_servers_sorted(from);
    for (guint i = 0; i < a->len; i++)
        merge_http_server(into, a->pdata[i]);
    g_ptr_array_free(a, TRUE);
    a = cs_stats_tls_servers_sorted(from);
    for (guint i = 0; i < a->len; i++)
        merge_tls_server(into, a->pdata[i]);
    g_ptr_array_free(a, TRUE);
}
