/* analytics.c - the operator aggregates: top talkers (topk.c), activity and latency per time
 * bucket, latency per server (rolled up from stats.c), flow profile; and their merge. Fed once per
 * connection record and exchange, and per SYN packet through an O(1) bucket lookup. The reports
 * are report_analytics_text.c and report_analytics_json.c; summaries are summary.c. */
#include <string.h>

#include "analytics.h"

const char *const cs_an_top_names[CS_TOP_TABLES] = {"client_requests", "client_conns",
                                                    "client_request"};

/* ---- keys ------------------------------------------------------------------------------------ */

uint32_t cs_an_key_encode(uint8_t *buf, uint8_t family, const cs_addr *addr, const char *what)
{
    buf[0] = family;
    memcpy(buf + 1, addr->b, 16);
    size_t n = what != NULL ? strlen(what) : 0;
    memcpy(buf + 17, what != NULL ? what : "", n);
    return (uint32_t)(17 + n);
}

bool cs_an_key_decode(const uint8_t *key, uint32_t len, uint8_t *family, cs_addr *addr, char *what,
                      size_t what_len)
{
    if (len < 17 || (key[0] != 4 && key[0] != 6))
        return false;
    *family = key[0];
    memcpy(addr->b, key + 1, 16);
    if (what != NULL && what_len > 0) {
        size_t n = len - 17 < what_len - 1 ? len - 17 : what_len - 1;
        memcpy(what, key + 17, n);
        what[n] = '\0';
    }
    return true;
}

/* ---- aggregates ------------------------------------------------------------------------------ */

const uint64_t cs_an_pkt_upper[CS_AN_PKT_CLASSES - 1] = {1, 3, 10, 100, 1000};
const uint64_t cs_an_byte_upper[CS_AN_BYTE_CLASSES - 1] = {0,      100,     1000,    10000,
                                                           100000, 1000000, 10000000};

int cs_an_pkt_class(uint64_t pkts)
{
    int c = 0;
    while (c < CS_AN_PKT_CLASSES - 1 && pkts > cs_an_pkt_upper[c])
        c++;
    return c;
}

int cs_an_byte_class(uint64_t bytes)
{
    int c = 0;
    while (c < CS_AN_BYTE_CLASSES - 1 && bytes > cs_an_byte_upper[c])
        c++;
    return c;
}

const char *cs_an_pkt_label(int cls)
{
    static const char *const l[CS_AN_PKT_CLASSES] = {"1",       "2-3",      "4-10",
                                                     "11-100",  "101-1000", ">1000"};
    return cls >= 0 && cls < CS_AN_PKT_CLASSES ? l[cls] : "?";
}

const char *cs_an_byte_label(int cls)
{
    static const char *const l[CS_AN_BYTE_CLASSES] = {
        "0",         "1-100",         "101-1000",        "1001-10000",
        "10001-100000", "100001-1000000", "1000001-10000000", ">10000000"};
    return cls >= 0 && cls < CS_AN_BYTE_CLASSES ? l[cls] : "?";
}

typedef struct srv_key {
    cs_addr addr;
    uint16_t port;
    uint8_t family;
} srv_key;

static guint srv_hash(gconstpointer p)
{
    const srv_key *k = p;
    guint h = k->port * 2654435761u ^ k->family;
    for (int i = 0; i < 16; i++)
        h = h * 31 + k->addr.b[i];
    return h;
}

static gboolean srv_equal(gconstpointer a, gconstpointer b)
{
    const srv_key *x = a, *y = b;
    return x->port == y->port && x->family == y->family && memcmp(&x->addr, &y->addr, 16) == 0;
}

static void server_free(gpointer p)
{
    cs_an_server *s = p;
    cs_hist_clear(&s->ttfb_us);
    cs_hist_clear(&s->total_us);
    g_free(s);
}

static void conn_server_free(gpointer p)
{
    cs_an_conn_server *s = p;
    cs_server_conns_clear(&s->c);
    g_free(s);
}

void cs_an_bucket_clear(cs_an_bucket *b)
{
    cs_hist_clear(&b->ttfb_us);
    cs_hist_clear(&b->total_us);
    memset(b, 0, sizeof *b);
}

static void bucket_free(gpointer p)
{
    cs_an_bucket_clear(p);
    g_free(p);
}

cs_analytics *cs_analytics_new(const cs_analytics_cfg *cfg)
{
    cs_analytics *a = g_new0(cs_analytics, 1);
    a->cfg = *cfg;
    if (a->cfg.bucket <= 0)
        a->cfg.bucket = CS_AN_BUCKET_DEFAULT;
    if (a->cfg.max_keys == 0)
        a->cfg.max_keys = CS_AN_MAX_KEYS_DEFAULT;
    a->buckets = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, bucket_free);
    a->servers = g_hash_table_new_full(srv_hash, srv_equal, g_free, server_free);
    a->conn_servers = g_hash_table_new_full(srv_hash, srv_equal, g_free, conn_server_free);
    for (int i = 0; i < CS_TOP_TABLES; i++)
        a->top[i] = cs_topk_new(a->cfg.max_keys);
    a->first_ts = INT64_MAX;
    a->last_ts = INT64_MIN;
    a->inputs = g_ptr_array_new_with_free_func(g_free);
    a->edges = g_ptr_array_new_with_free_func(g_free);
    return a;
}

void cs_analytics_free(cs_analytics *a)
{
    if (a == NULL)
        return;
    g_hash_table_destroy(a->buckets);
    g_hash_table_destroy(a->servers);
    g_hash_table_destroy(a->conn_servers);
    cs_an_bucket_clear(&a->untimed);
    for (int i = 0; i < CS_TOP_TABLES; i++)
        cs_topk_free(a->top[i]);
    g_ptr_array_free(a->inputs, TRUE);
    if (a->edges != NULL)
        g_ptr_array_free(a->edges, TRUE);
    g_free(a);
}

void cs_analytics_add_input(cs_analytics *a, const char *name)
{
    g_ptr_array_add(a->inputs, g_strdup(name));
}

cs_time_t cs_an_align(cs_time_t x, cs_time_t w)
{
    cs_time_t q = x / w;
    if (x % w != 0 && x < 0)
        q--;
    return q * w;
}

cs_an_bucket *cs_analytics_bucket(cs_analytics *a, cs_time_t start)
{
    cs_an_bucket *b = g_hash_table_lookup(a->buckets, &start);
    if (b == NULL) {
        b = g_new0(cs_an_bucket, 1);
        b->start = start;
        g_hash_table_insert(a->buckets, &b->start, b);
    }
    return b;
}

static cs_an_bucket *bucket_of(cs_analytics *a, cs_time_t ts)
{
    cs_time_t start = cs_an_align(ts, a->cfg.bucket);
    if (a->last != NULL && a->last->start == start)
        return a->last;
    a->last = cs_analytics_bucket(a, start);
    return a->last;
}

static void note_time(cs_analytics *a, cs_time_t ts)
{
    if (ts < a->first_ts)
        a->first_ts = ts;
    if (ts > a->last_ts)
        a->last_ts = ts;
}

/* The entry of (family, addr, port) in t, created zeroed (`size` bytes, the key fields at the
 * offsets of l) if missing: the latency and the connections tables share it. */
static void *server_entry(GHashTable *t, size_t size, const cs_server_layout *l, uint8_t family,
                          const cs_addr *addr, uint16_t port)
{
    srv_key k;
    memset(&k, 0, sizeof k);
    k.addr = *addr;
    k.port = port;
    k.family = family;
    char *s = g_hash_table_lookup(t, &k);
    if (s == NULL) {
        s = g_malloc0(size);
        memcpy(s + l->family, &family, sizeof family);
        memcpy(s + l->addr, addr, sizeof *addr);
        memcpy(s + l->port, &port, sizeof port);
        g_hash_table_insert(t, g_memdup2(&k, sizeof k), s);
    }
    return s;
}

cs_an_server *cs_analytics_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                  uint16_t port)
{
    static const cs_server_layout l = {offsetof(cs_an_server, family), offsetof(cs_an_server, addr),
                                       offsetof(cs_an_server, port), 0};
    return server_entry(a->servers, sizeof(cs_an_server), &l, family, addr, port);
}

cs_an_conn_server *cs_analytics_conn_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                            uint16_t port)
{
    cs_server_layout l = CS_SERVER_LAYOUT(cs_an_conn_server);
    return server_entry(a->conn_servers, sizeof(cs_an_conn_server), &l, family, addr, port);
}

void cs_analytics_servers_from(cs_analytics *a, const cs_stats *st)
{
    g_hash_table_remove_all(a->conn_servers);
    GHashTableIter cit;
    gpointer ck, cv;
    g_hash_table_iter_init(&cit, st->servers);
    while (g_hash_table_iter_next(&cit, &ck, &cv)) {
        const cs_server_stats *sv = cv;
        if (sv->c.conns > 0)
            cs_server_conns_add(&cs_analytics_conn_server(a, sv->family, &sv->addr, sv->port)->c,
                                &sv->c);
    }
    g_hash_table_remove_all(a->servers);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, st->http_servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_http_server *h = v;
        if (h->paired == 0) /* latency is over paired exchanges */
            continue;
        cs_an_server *s = cs_analytics_server(a, h->family, &h->addr, h->port);
        cs_hist_merge(&s->ttfb_us, &h->ttfb_us);
        cs_hist_merge(&s->total_us, &h->total_us);
    }
}

void cs_analytics_syn(cs_analytics *a, cs_time_t ts)
{
    bucket_of(a, ts)->syn_pkts++;
    note_time(a, ts);
}

void cs_analytics_conn(cs_analytics *a, const cs_conn_row *row)
{
    cs_an_bucket *b = bucket_of(a, row->start);
    b->conns++;
    b->bytes_c2s += row->bytes[0];
    b->bytes_s2c += row->bytes[1];
    note_time(a, row->start);
    note_time(a, row->end);
    a->flow_pkts[cs_an_pkt_class(row->pkts[0] + row->pkts[1])]++;
    a->flow_bytes[cs_an_byte_class(row->bytes[0] + row->bytes[1])]++;
    uint8_t key[17];
    uint32_t len = cs_an_key_encode(key, row->family, &row->addr[0], NULL);
    cs_topk_add(a->top[CS_TOP_CLIENT_CONNS], key, len, 1);
}

void cs_analytics_edge(cs_analytics *a, const cs_conn_row *row, const struct cs_conn *c, bool at_end)
{
    bool at_start = row->syns == 0 || row->start - a->first_ts <= CS_EDGE_SYN_WINDOW;
    if (a->edges == NULL || (!at_end && !at_start))
        return;
    cs_an_edge *e = g_new(cs_an_edge, 1);
    cs_an_edge_fill(e, row, c, at_end, at_start);
    g_ptr_array_add(a->edges, e);
}

/* "METHOD path": the URI up to its query or fragment. Returns a new string. */
static gchar *request_what(const cs_http_tx *tx)
{
    const char *uri = tx->uri != NULL ? tx->uri : "";
    size_t n = strcspn(uri, "?#");
    return g_strdup_printf("%s %.*s", tx->method, (int)n, uri);
}

void cs_analytics_http(cs_analytics *a, const cs_http_row *row)
{
    const cs_http_tx *tx = row->tx;
    if (tx->h2_pushed) /* an HTTP/2 server push: no client request, no client latency */
        return;
    cs_time_t ts = tx->has_request && tx->req_start >= 0 ? tx->req_start : tx->resp_start;
    if (ts < 0)
        ts = tx->req_start;
    cs_an_bucket *b = ts >= 0 ? bucket_of(a, ts) : &a->untimed;
    if (ts >= 0)
        note_time(a, ts);
    if (tx->has_request) {
        b->requests++;
        uint8_t key[17];
        uint32_t len = cs_an_key_encode(key, row->family, &row->addr[0], NULL);
        cs_topk_add(a->top[CS_TOP_CLIENT_REQUESTS], key, len, 1);
        if (tx->method != NULL) {
            gchar *what = request_what(tx);
            uint8_t *k2 = g_malloc(17 + strlen(what));
            len = cs_an_key_encode(k2, row->family, &row->addr[0], what);
            cs_topk_add(a->top[CS_TOP_CLIENT_REQUEST], k2, len, 1);
            g_free(k2);
            g_free(what);
        }
    }
    if (tx->has_response)
        b->status_class[tx->status >= 100 && tx->status < 600 ? tx->status / 100 : 0]++;
    if (tx->has_request && tx->has_response)
        cs_http_latency_add(tx, &b->ttfb_us, NULL, &b->total_us);
    else if (tx->has_request) {
        b->unanswered++;
    } else {
        b->orphans++;
    }
}

void cs_an_bucket_add(cs_an_bucket *into, const cs_an_bucket *from)
{
    into->conns += from->conns;
    into->syn_pkts += from->syn_pkts;
    into->requests += from->requests;
    for (int i = 0; i < 6; i++)
        into->status_class[i] += from->status_class[i];
    into->unanswered += from->unanswered;
    into->orphans += from->orphans;
    into->bytes_c2s += from->bytes_c2s;
    into->bytes_s2c += from->bytes_s2c;
    cs_hist_merge(&into->ttfb_us, &from->ttfb_us);
    cs_hist_merge(&into->total_us, &from->total_us);
}

void cs_analytics_merge(cs_analytics *into, const cs_analytics *from)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from->buckets);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_an_bucket *b = v;
        cs_an_bucket_add(cs_analytics_bucket(into, cs_an_align(b->start, into->cfg.bucket)), b);
    }
    into->last = NULL;
    cs_an_bucket_add(&into->untimed, &from->untimed);
    g_hash_table_iter_init(&it, from->servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_an_server *s = v;
        cs_an_server *d = cs_analytics_server(into, s->family, &s->addr, s->port);
        cs_hist_merge(&d->ttfb_us, &s->ttfb_us);
        cs_hist_merge(&d->total_us, &s->total_us);
    }
    g_hash_table_iter_init(&it, from->conn_servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_an_conn_server *s = v;
        cs_server_conns_add(&cs_analytics_conn_server(into, s->family, &s->addr, s->port)->c,
                            &s->c);
    }
    into->conn_servers_missing = into->conn_servers_missing || from->conn_servers_missing;
    /* aggregates added up without stitching (-j groups): their edges are no longer known */
    if (into->edges != NULL && (from->edges == NULL || from->edges->len > 0 || from->streams > 0)) {
        g_ptr_array_free(into->edges, TRUE);
        into->edges = NULL;
    }
    into->streams += from->streams;
    into->stitch.stitched += from->stitch.stitched;
    into->stitch.inexact += from->stitch.inexact;
    into->stitch.http_cut += from->stitch.http_cut;
    for (int i = 0; i < CS_TOP_TABLES; i++)
        cs_topk_merge(into->top[i], from->top[i]);
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        into->flow_pkts[i] += from->flow_pkts[i];
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        into->flow_bytes[i] += from->flow_bytes[i];
    if (from->first_ts < into->first_ts)
        into->first_ts = from->first_ts;
    if (from->last_ts > into->last_ts)
        into->last_ts = from->last_ts;
    for (guint i = 0; i < from->inputs->len; i++)
        cs_analytics_add_input(into, from->inputs->pdata[i]);
}

static gint cmp_bucket(gconstpointer pa, gconstpointer pb)
{
    const cs_an_bucket *a = *(cs_an_bucket *const *)pa, *b = *(cs_an_bucket *const *)pb;
    return (a->start > b->start) - (a->start < b->start);
}

/* The values of t sorted by cmp (owned by t). */
static GPtrArray *values_sorted(GHashTable *t, GCompareFunc cmp)
{
    GPtrArray *r = g_ptr_array_sized_new(g_hash_table_size(t));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(r, v);
    g_ptr_array_sort(r, cmp);
    return r;
}

GPtrArray *cs_analytics_buckets_sorted(const cs_analytics *a)
{
    return values_sorted(a->buckets, cmp_bucket);
}

static gint cmp_server(gconstpointer pa, gconstpointer pb)
{
    const cs_an_server *a = *(cs_an_server *const *)pa, *b = *(cs_an_server *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

static gint cmp_conn_server(gconstpointer pa, gconstpointer pb)
{
    const cs_an_conn_server *a = *(cs_an_conn_server *const *)pa;
    const cs_an_conn_server *b = *(cs_an_conn_server *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

GPtrArray *cs_analytics_conn_servers_sorted(const cs_analytics *a)
{
    return values_sorted(a->conn_servers, cmp_conn_server);
}

GPtrArray *cs_analytics_servers_sorted(const cs_analytics *a)
{
    return values_sorted(a->servers, cmp_server);
}

void cs_analytics_totals(const cs_analytics *a, cs_an_bucket *out)
{
    memset(out, 0, sizeof *out);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->buckets);
    while (g_hash_table_iter_next(&it, &k, &v))
        cs_an_bucket_add(out, v);
    cs_an_bucket_add(out, &a->untimed);
}

void cs_an_slow_bounds(const cs_hist *h, uint64_t us, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    for (uint32_t i = 0; i < h->len; i++) {
        if (cs_hist_bin_low(h->bins[i]) > us)
            *lo += h->counts[i];
        if (cs_hist_bin_high(h->bins[i]) > us)
            *hi += h->counts[i];
    }
    /* the exact extremes narrow the straddling bin */
    if (h->n > 0 && h->max <= us)
        *hi = 0;
    if (h->n > 0 && h->min > us)
        *lo = h->n;
}

bool cs_analytics_each_bucket(const cs_analytics *a, uint64_t max_rows, cs_an_bucket_fn fn,
                              void *ctx)
{
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    bool all = true;
    if (bs->len > 0) {
        const cs_an_bucket *first = bs->pdata[0], *last = bs->pdata[bs->len - 1];
        guint64 span = (guint64)((last->start - first->start) / a->cfg.bucket) + 1;
        all = span <= max_rows;
        guint i = 0;
        if (all)
            for (guint64 k = 0; k < span; k++) {
                /* by index: t += bucket past the last bucket would overflow near INT64_MAX (a
                 * timestamp saturated at the year 2262, or a summary's bucket there) */
                cs_time_t t = first->start + (cs_time_t)k * a->cfg.bucket;
                const cs_an_bucket *b = bs->pdata[i];
                if (b->start == t) {
                    fn(b, ctx);
                    i++;
                } else {
                    cs_an_bucket zero;
                    memset(&zero, 0, sizeof zero);
                    zero.start = t;
                    fn(&zero, ctx);
                }
            }
        else
            for (i = 0; i < bs->len; i++)
                fn(bs->pdata[i], ctx);
    }
    g_ptr_array_free(bs, TRUE);
    return all;
}
