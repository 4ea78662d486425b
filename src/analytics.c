/* analytics.c - top talkers (exact, then Space-Saving at the key cap), activity per time bucket,
 * latency per server and per bucket, flow profile; their merge, and their text and JSON reports.
 * Fed once per connection record and exchange, and per SYN packet through an O(1) bucket lookup. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "json.h"
#include "util.h"

/* ---- host filter ----------------------------------------------------------------------------- */

bool cs_host_filter_parse(cs_host_filter *f, const char *text)
{
    cs_addr a;
    uint8_t family;
    int32_t port;
    /* a bare address: no port, no brackets */
    if (text == NULL || text[0] == '[' || !cs_parse_addr_port(text, &family, &a, &port) ||
        port >= 0)
        return false;
    f->on = true;
    f->family = family;
    f->addr = a;
    return true;
}

bool cs_host_filter_match(const cs_host_filter *f, uint8_t family, const cs_addr *a,
                          const cs_addr *b)
{
    if (!f->on)
        return true;
    if (family != f->family)
        return false;
    return memcmp(a->b, f->addr.b, 16) == 0 || memcmp(b->b, f->addr.b, 16) == 0;
}

/* ---- top-k ----------------------------------------------------------------------------------- */

struct cs_topk {
    GHashTable *index; /* cs_topk_entry* -> itself (hash and equality over the key bytes) */
    GPtrArray *heap;   /* approximate mode: min-heap of entries by (count, key) */
    uint32_t max_keys;
    bool approx;
    bool heap_ok;      /* heap holds every entry in heap order */
    uint64_t floor, total, evictions;
};

static guint entry_hash(gconstpointer p)
{
    const cs_topk_entry *e = p;
    guint h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < e->len; i++)
        h = (h ^ e->key[i]) * 16777619u;
    return h;
}

static gboolean entry_equal(gconstpointer a, gconstpointer b)
{
    const cs_topk_entry *x = a, *y = b;
    return x->len == y->len && memcmp(x->key, y->key, x->len) == 0;
}

static void entry_free(gpointer p)
{
    cs_topk_entry *e = p;
    g_free(e->key);
    g_free(e);
}

static int key_cmp(const cs_topk_entry *a, const cs_topk_entry *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->key, b->key, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Heap order: smaller count first; among equal counts the larger key first, so that the key
 * evicted among equals is the one that sorts last in reports. */
static bool heap_less(const cs_topk_entry *a, const cs_topk_entry *b)
{
    if (a->count != b->count)
        return a->count < b->count;
    return key_cmp(a, b) > 0;
}

static void heap_set(cs_topk *t, uint32_t i, cs_topk_entry *e)
{
    t->heap->pdata[i] = e;
    e->pos = i;
}

static void sift_down(cs_topk *t, uint32_t i)
{
    uint32_t n = t->heap->len;
    cs_topk_entry *e = t->heap->pdata[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        cs_topk_entry *best = e;
        if (l < n && heap_less(t->heap->pdata[l], best)) {
            m = l;
            best = t->heap->pdata[l];
        }
        if (l + 1 < n && heap_less(t->heap->pdata[l + 1], best)) {
            m = l + 1;
            best = t->heap->pdata[l + 1];
        }
        if (m == i)
            break;
        heap_set(t, i, best);
        i = m;
    }
    heap_set(t, i, e);
}

static void sift_up(cs_topk *t, uint32_t i)
{
    cs_topk_entry *e = t->heap->pdata[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!heap_less(e, t->heap->pdata[p]))
            break;
        heap_set(t, i, t->heap->pdata[p]);
        i = p;
    }
    heap_set(t, i, e);
}

static void heap_build(cs_topk *t)
{
    g_ptr_array_set_size(t->heap, 0);
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, t->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        cs_topk_entry *e = k;
        e->pos = t->heap->len;
        g_ptr_array_add(t->heap, e);
    }
    for (uint32_t i = t->heap->len / 2; i-- > 0;)
        sift_down(t, i);
    t->heap_ok = true;
}

cs_topk *cs_topk_new(uint32_t max_keys)
{
    cs_topk *t = g_new0(cs_topk, 1);
    t->index = g_hash_table_new_full(entry_hash, entry_equal, entry_free, NULL);
    t->heap = g_ptr_array_new();
    t->max_keys = max_keys > 0 ? max_keys : 1;
    return t;
}

void cs_topk_free(cs_topk *t)
{
    if (t == NULL)
        return;
    g_hash_table_destroy(t->index);
    g_ptr_array_free(t->heap, TRUE);
    g_free(t);
}

static cs_topk_entry *lookup(const cs_topk *t, const void *key, uint32_t len)
{
    cs_topk_entry probe = {.key = (uint8_t *)key, .len = len};
    return g_hash_table_lookup(t->index, &probe);
}

static cs_topk_entry *insert(cs_topk *t, const void *key, uint32_t len, uint64_t count,
                             uint64_t error)
{
    cs_topk_entry *e = g_new0(cs_topk_entry, 1);
    e->key = g_memdup2(key, len);
    e->len = len;
    e->count = count;
    e->error = error;
    g_hash_table_add(t->index, e);
    return e;
}

void cs_topk_add(cs_topk *t, const void *key, uint32_t len, uint64_t n)
{
    if (n == 0)
        return;
    t->total += n;
    cs_topk_entry *e = lookup(t, key, len);
    if (!t->approx) {
        if (e != NULL) {
            e->count += n;
            return;
        }
        if (g_hash_table_size(t->index) < t->max_keys) {
            insert(t, key, len, n, 0);
            return;
        }
        t->approx = true; /* the cap is reached: Space-Saving from here on */
        t->heap_ok = false;
    }
    if (!t->heap_ok)
        heap_build(t);
    if (e != NULL) {
        e->count += n;
        sift_down(t, e->pos);
        return;
    }
    if (g_hash_table_size(t->index) < t->max_keys) {
        /* room left after a merge: an absent key occurred at most `floor` times before */
        e = insert(t, key, len, t->floor + n, t->floor);
        e->pos = t->heap->len;
        g_ptr_array_add(t->heap, e);
        sift_up(t, e->pos);
        return;
    }
    cs_topk_entry *min = t->heap->pdata[0];
    g_hash_table_steal(t->index, min);
    t->evictions++;
    if (min->count > t->floor)
        t->floor = min->count;
    g_free(min->key);
    min->key = g_memdup2(key, len);
    min->len = len;
    min->error = min->count;
    min->count += n;
    g_hash_table_add(t->index, min);
    sift_down(t, 0);
}

void cs_topk_load(cs_topk *t, const void *key, uint32_t len, uint64_t count, uint64_t error)
{
    cs_topk_entry *e = lookup(t, key, len);
    if (e != NULL) {
        e->count += count;
        e->error += error;
    } else {
        insert(t, key, len, count, error);
    }
    t->heap_ok = false;
}

void cs_topk_load_bounds(cs_topk *t, bool approx, uint64_t floor, uint64_t total,
                         uint64_t evictions)
{
    t->approx = approx;
    t->floor = floor;
    t->total = total;
    t->evictions = evictions;
    t->heap_ok = false;
}

static gint cmp_entry_desc(gconstpointer pa, gconstpointer pb)
{
    const cs_topk_entry *a = *(cs_topk_entry *const *)pa, *b = *(cs_topk_entry *const *)pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return key_cmp(a, b);
}

GPtrArray *cs_topk_sorted(const cs_topk *t)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(t->index));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, t->index);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(a, k);
    g_ptr_array_sort(a, cmp_entry_desc);
    return a;
}

void cs_topk_merge(cs_topk *into, const cs_topk *from)
{
    uint64_t fi = into->approx ? into->floor : 0, ff = from->approx ? from->floor : 0;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, into->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        cs_topk_entry *e = k;
        const cs_topk_entry *f = lookup(from, e->key, e->len);
        e->count += f != NULL ? f->count : ff;
        e->error += f != NULL ? f->error : ff;
    }
    g_hash_table_iter_init(&it, from->index);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        const cs_topk_entry *f = k;
        if (lookup(into, f->key, f->len) == NULL)
            insert(into, f->key, f->len, f->count + fi, f->error + fi);
    }
    into->approx = into->approx || from->approx;
    into->floor = fi + ff;
    into->total += from->total;
    into->evictions += from->evictions;
    into->heap_ok = false;
    if (g_hash_table_size(into->index) > into->max_keys) {
        GPtrArray *all = cs_topk_sorted(into);
        for (guint i = into->max_keys; i < all->len; i++) {
            cs_topk_entry *e = all->pdata[i];
            if (e->count > into->floor)
                into->floor = e->count;
            into->evictions++;
            g_hash_table_remove(into->index, e);
        }
        g_ptr_array_free(all, TRUE);
        into->approx = true;
    }
}

bool cs_topk_approx(const cs_topk *t)
{
    return t->approx;
}

uint64_t cs_topk_floor(const cs_topk *t)
{
    return t->approx ? t->floor : 0;
}

uint64_t cs_topk_total(const cs_topk *t)
{
    return t->total;
}

uint64_t cs_topk_evictions(const cs_topk *t)
{
    return t->evictions;
}

uint32_t cs_topk_size(const cs_topk *t)
{
    return g_hash_table_size(t->index);
}

uint32_t cs_topk_max_keys(const cs_topk *t)
{
    return t->max_keys;
}

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
    for (int i = 0; i < CS_TOP_TABLES; i++)
        a->top[i] = cs_topk_new(a->cfg.max_keys);
    a->first_ts = INT64_MAX;
    a->last_ts = INT64_MIN;
    a->inputs = g_ptr_array_new_with_free_func(g_free);
    return a;
}

void cs_analytics_free(cs_analytics *a)
{
    if (a == NULL)
        return;
    g_hash_table_destroy(a->buckets);
    g_hash_table_destroy(a->servers);
    cs_an_bucket_clear(&a->untimed);
    for (int i = 0; i < CS_TOP_TABLES; i++)
        cs_topk_free(a->top[i]);
    g_ptr_array_free(a->inputs, TRUE);
    g_free(a);
}

void cs_analytics_add_input(cs_analytics *a, const char *name)
{
    g_ptr_array_add(a->inputs, g_strdup(name));
}

/* floor(x / w) * w, also for negative x */
static cs_time_t align(cs_time_t x, cs_time_t w)
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
    cs_time_t start = align(ts, a->cfg.bucket);
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

cs_an_server *cs_analytics_server(cs_analytics *a, uint8_t family, const cs_addr *addr,
                                  uint16_t port)
{
    srv_key k;
    memset(&k, 0, sizeof k);
    k.addr = *addr;
    k.port = port;
    k.family = family;
    cs_an_server *s = g_hash_table_lookup(a->servers, &k);
    if (s == NULL) {
        s = g_new0(cs_an_server, 1);
        s->family = family;
        s->addr = *addr;
        s->port = port;
        g_hash_table_insert(a->servers, g_memdup2(&k, sizeof k), s);
    }
    return s;
}

void cs_analytics_syn(cs_analytics *a, uint8_t family, const cs_addr *src, const cs_addr *dst,
                      cs_time_t ts)
{
    if (!cs_host_filter_match(&a->cfg.host, family, src, dst))
        return;
    bucket_of(a, ts)->syn_pkts++;
    note_time(a, ts);
}

void cs_analytics_conn(cs_analytics *a, const cs_conn_row *row)
{
    if (!cs_host_filter_match(&a->cfg.host, row->family, &row->addr[0], &row->addr[1]))
        return;
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

/* "METHOD path": the URI up to its query or fragment. Returns a new string. */
static gchar *request_what(const cs_http_tx *tx)
{
    const char *uri = tx->uri != NULL ? tx->uri : "";
    size_t n = strcspn(uri, "?#");
    return g_strdup_printf("%s %.*s", tx->method, (int)n, uri);
}

void cs_analytics_http(cs_analytics *a, const cs_http_row *row)
{
    if (!cs_host_filter_match(&a->cfg.host, row->family, &row->addr[0], &row->addr[1]))
        return;
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
    if (tx->has_request && tx->has_response) {
        cs_http_times t;
        cs_http_times_of(tx, &t);
        cs_an_server *s = cs_analytics_server(a, row->family, &row->addr[1], row->port[1]);
        if (t.ttfb_us >= 0) {
            cs_hist_add(&b->ttfb_us, (uint64_t)t.ttfb_us, 1);
            cs_hist_add(&s->ttfb_us, (uint64_t)t.ttfb_us, 1);
        }
        if (t.total_us >= 0) {
            cs_hist_add(&b->total_us, (uint64_t)t.total_us, 1);
            cs_hist_add(&s->total_us, (uint64_t)t.total_us, 1);
        }
    } else if (tx->has_request) {
        b->unanswered++;
    } else {
        b->orphans++;
    }
}

static void bucket_add(cs_an_bucket *into, const cs_an_bucket *from)
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
        bucket_add(cs_analytics_bucket(into, align(b->start, into->cfg.bucket)), b);
    }
    into->last = NULL;
    bucket_add(&into->untimed, &from->untimed);
    g_hash_table_iter_init(&it, from->servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_an_server *s = v;
        cs_an_server *d = cs_analytics_server(into, s->family, &s->addr, s->port);
        cs_hist_merge(&d->ttfb_us, &s->ttfb_us);
        cs_hist_merge(&d->total_us, &s->total_us);
    }
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

GPtrArray *cs_analytics_buckets_sorted(const cs_analytics *a)
{
    GPtrArray *r = g_ptr_array_sized_new(g_hash_table_size(a->buckets));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->buckets);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(r, v);
    g_ptr_array_sort(r, cmp_bucket);
    return r;
}

static gint cmp_server(gconstpointer pa, gconstpointer pb)
{
    const cs_an_server *a = *(cs_an_server *const *)pa, *b = *(cs_an_server *const *)pb;
    int c = cs_addr_cmp(a->family, &a->addr, b->family, &b->addr);
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

GPtrArray *cs_analytics_servers_sorted(const cs_analytics *a)
{
    GPtrArray *r = g_ptr_array_sized_new(g_hash_table_size(a->servers));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->servers);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(r, v);
    g_ptr_array_sort(r, cmp_server);
    return r;
}

void cs_analytics_totals(const cs_analytics *a, cs_an_bucket *out)
{
    memset(out, 0, sizeof *out);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->buckets);
    while (g_hash_table_iter_next(&it, &k, &v))
        bucket_add(out, v);
    bucket_add(out, &a->untimed);
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

/* ---- option values --------------------------------------------------------------------------- */

bool cs_an_parse_duration(const char *s, bool allow_sub_second, cs_time_t *ns)
{
    if (s == NULL || !g_ascii_isdigit(*s))
        return false;
    char *end;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    cs_time_t unit;
    if (*end == '\0' || strcmp(end, "s") == 0)
        unit = CS_NS_PER_S;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60 * CS_NS_PER_S;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * CS_NS_PER_S;
    else if (strcmp(end, "d") == 0)
        unit = 86400 * CS_NS_PER_S;
    else if (allow_sub_second && strcmp(end, "ms") == 0)
        unit = CS_NS_PER_MS;
    else if (allow_sub_second && strcmp(end, "us") == 0)
        unit = CS_NS_PER_US;
    else
        return false;
    if (v == 0 || v > (guint64)(INT64_MAX / unit) / 2)
        return false;
    *ns = (cs_time_t)v * unit;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

bool cs_an_parse_slow(const char *s, uint64_t *us, int *n)
{
    uint64_t v[CS_AN_MAX_SLOW];
    int k = 0;
    gchar **parts = g_strsplit(s != NULL ? s : "", ",", -1);
    bool ok = parts[0] != NULL;
    for (int i = 0; ok && parts[i] != NULL; i++) {
        cs_time_t ns;
        if (k == CS_AN_MAX_SLOW || !cs_an_parse_duration(g_strstrip(parts[i]), true, &ns))
            ok = false;
        else
            v[k++] = (uint64_t)(ns / CS_NS_PER_US);
    }
    g_strfreev(parts);
    if (!ok)
        return false;
    qsort(v, (size_t)k, sizeof v[0], cmp_u64);
    *n = 0;
    for (int i = 0; i < k; i++)
        if (i == 0 || v[i] != v[i - 1])
            us[(*n)++] = v[i];
    return true;
}

char *cs_an_fmt_width(cs_time_t ns, char *buf, size_t len)
{
    static const struct {
        cs_time_t unit;
        const char *name;
    } units[] = {{86400 * CS_NS_PER_S, "d"},
                 {3600 * CS_NS_PER_S, "h"},
                 {60 * CS_NS_PER_S, "m"},
                 {CS_NS_PER_S, "s"},
                 {CS_NS_PER_MS, "ms"},
                 {CS_NS_PER_US, "us"}};
    for (size_t i = 0; i < CS_ARRAY_LEN(units); i++)
        if (ns % units[i].unit == 0) {
            snprintf(buf, len, "%" G_GINT64_FORMAT "%s", (gint64)(ns / units[i].unit),
                     units[i].name);
            return buf;
        }
    snprintf(buf, len, "%" G_GINT64_FORMAT "ns", (gint64)ns);
    return buf;
}

/* ---- text report ----------------------------------------------------------------------------- */

/* Printable copy of s: valid UTF-8, control characters and tabs as '?', at most max characters. */
static gchar *printable(const char *s, glong max)
{
    gchar *v = g_utf8_make_valid(s, -1);
    if (g_utf8_strlen(v, -1) > max) {
        gchar *cut = g_utf8_substring(v, 0, max - 3);
        g_free(v);
        v = g_strconcat(cut, "...", NULL);
        g_free(cut);
    }
    for (gchar *q = v; *q; q++)
        if ((guchar)*q < 0x20 || *q == 0x7f)
            *q = '?';
    return v;
}

static char *fmt_bucket_time(cs_time_t ns, char *buf, size_t len)
{
    if (ns % CS_NS_PER_S != 0)
        return cs_fmt_time(ns, buf, len);
    time_t sec = (time_t)(ns / CS_NS_PER_S);
    struct tm tm;
    if (gmtime_r(&sec, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "%" G_GINT64_FORMAT, (gint64)(ns / CS_NS_PER_S));
    return buf;
}

static char *fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len)
{
    if (whole == 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)whole);
    return buf;
}

static char *fmt_us(const cs_hist *h, double q, char *buf, size_t len)
{
    if (h->n == 0)
        return strcpy(buf, "-");
    uint64_t v = q >= 100 ? h->max : cs_hist_percentile(h, q);
    return cs_fmt_duration((cs_time_t)v * CS_NS_PER_US, buf, len);
}

/* "12 (3.4%)", or "12-15 (3.4-4.3%)" when the threshold splits a bin. */
static char *fmt_slow(const cs_hist *h, uint64_t us, char *buf, size_t len)
{
    uint64_t lo, hi;
    char p0[16], p1[16];
    if (h->n == 0)
        return strcpy(buf, "-");
    cs_an_slow_bounds(h, us, &lo, &hi);
    if (lo == hi)
        snprintf(buf, len, "%" G_GUINT64_FORMAT " (%s)", (guint64)lo,
                 fmt_pct(lo, h->n, p0, sizeof p0));
    else
        snprintf(buf, len, "%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " (%s-%s)", (guint64)lo,
                 (guint64)hi, fmt_pct(lo, h->n, p0, sizeof p0), fmt_pct(hi, h->n, p1, sizeof p1));
    return buf;
}

static const char *const top_titles[CS_TOP_TABLES] = {
    "clients by HTTP requests", "clients by connections", "(client, request) pairs by requests"};
static const char *const top_units[CS_TOP_TABLES] = {"requests", "connections", "requests"};
static const char *const top_names[CS_TOP_TABLES] = {"client_requests", "client_conns",
                                                     "client_request"};

static void text_top(const cs_analytics *a, int n, FILE *out)
{
    for (int ti = 0; ti < CS_TOP_TABLES; ti++) {
        const cs_topk *t = a->top[ti];
        bool pairs = ti == CS_TOP_CLIENT_REQUEST, approx = cs_topk_approx(t);
        GPtrArray *all = cs_topk_sorted(t);
        fprintf(out, "\nTop %d %s (", n, top_titles[ti]);
        if (approx)
            fprintf(out, "approximate: Space-Saving with %u counters after %" G_GUINT64_FORMAT
                         " evictions; %" G_GUINT64_FORMAT " %s)\n",
                    cs_topk_max_keys(t), (guint64)cs_topk_evictions(t), (guint64)cs_topk_total(t),
                    top_units[ti]);
        else
            fprintf(out, "exact: %" G_GUINT64_FORMAT " %.*s, %u %s)\n", (guint64)cs_topk_total(t),
                    (int)strlen(top_units[ti]) - (cs_topk_total(t) == 1), top_units[ti], all->len,
                    pairs ? (all->len == 1 ? "pair" : "pairs")
                          : (all->len == 1 ? "client" : "clients"));
        if (all->len == 0) {
            fprintf(out, "  (none)\n");
            g_ptr_array_free(all, TRUE);
            continue;
        }
        cs_table tb;
        cs_table_init(&tb, pairs ? (approx ? "rlllrrr" : "rlllrr") : (approx ? "rlrrr" : "rlrr"));
        cs_table_row(&tb, "rank\tclient%s\t%s%s\tshare", pairs ? "\tmethod\tpath" : "",
                  top_units[ti], approx ? "\terror" : "");
        for (guint i = 0; i < all->len && (int)i < n; i++) {
            const cs_topk_entry *e = all->pdata[i];
            uint8_t family;
            cs_addr addr;
            char ip[64], pct[16];
            gchar *what = g_malloc(e->len + 1);
            cs_an_key_decode(e->key, e->len, &family, &addr, what, e->len + 1);
            cs_addr_str(&addr, family, ip, sizeof ip);
            gchar *sp = strchr(what, ' ');
            if (sp != NULL)
                *sp = '\0';
            gchar *method = printable(what, 20);
            gchar *path = printable(sp != NULL ? sp + 1 : "", 60);
            GString *row = g_string_new(NULL);
            g_string_append_printf(row, "%u\t%s", i + 1, ip);
            if (pairs)
                g_string_append_printf(row, "\t%s\t%s", method, path);
            g_string_append_printf(row, "\t%" G_GUINT64_FORMAT, (guint64)e->count);
            if (approx)
                g_string_append_printf(row, "\t%" G_GUINT64_FORMAT, (guint64)e->error);
            g_string_append_printf(row, "\t%s",
                                   fmt_pct(e->count, cs_topk_total(t), pct, sizeof pct));
            cs_table_row(&tb, "%s", row->str);
            g_string_free(row, TRUE);
            g_free(method);
            g_free(path);
            g_free(what);
        }
        cs_table_print(&tb, out);
        if (approx)
            fprintf(out, "  (each count is at most `error` above the true count; a %s not listed "
                         "had at most %" G_GUINT64_FORMAT " %s)\n",
                    pairs ? "pair" : "client", (guint64)cs_topk_floor(t), top_units[ti]);
        g_ptr_array_free(all, TRUE);
    }
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

static void activity_row(cs_table *t, const char *label, const cs_an_bucket *b)
{
    char c2s[32], s2c[32];
    cs_table_row(t,
              "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
              "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
              "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
              "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s",
              label, (guint64)b->conns, (guint64)b->syn_pkts, (guint64)b->requests,
              (guint64)b->status_class[1], (guint64)b->status_class[2],
              (guint64)b->status_class[3], (guint64)b->status_class[4],
              (guint64)b->status_class[5], (guint64)b->status_class[0], (guint64)b->unanswered,
              (guint64)b->orphans, cs_fmt_bytes(b->bytes_c2s, c2s, sizeof c2s),
              cs_fmt_bytes(b->bytes_s2c, s2c, sizeof s2c));
}

static void activity_cb(const cs_an_bucket *b, void *ctx)
{
    char ts[40];
    activity_row(ctx, fmt_bucket_time(b->start, ts, sizeof ts), b);
}

typedef struct lat_ctx {
    cs_table *t;
    const cs_an_report_opts *o;
} lat_ctx;

static void latency_row(cs_table *t, const cs_an_report_opts *o, const char *label, const cs_hist *f,
                        const cs_hist *tot)
{
    char v[8][32], n[64];
    GString *row = g_string_new(label);
    /* the total time (and the slow shares) need the response's end: when some exchanges lack it
     * (cut by the end of the capture), say over how many they are computed */
    if (tot->n != f->n)
        g_snprintf(n, sizeof n, "%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " complete)",
                   (guint64)f->n, (guint64)tot->n);
    else
        g_snprintf(n, sizeof n, "%" G_GUINT64_FORMAT, (guint64)f->n);
    g_string_append_printf(row, "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
                           n, fmt_us(f, 50, v[0], 32), fmt_us(f, 90, v[1], 32),
                           fmt_us(f, 99, v[2], 32), fmt_us(f, 100, v[3], 32),
                           fmt_us(tot, 50, v[4], 32), fmt_us(tot, 90, v[5], 32),
                           fmt_us(tot, 99, v[6], 32), fmt_us(tot, 100, v[7], 32));
    for (int i = 0; i < o->n_slow; i++) {
        char s[64];
        g_string_append_printf(row, "\t%s", fmt_slow(tot, o->slow_us[i], s, sizeof s));
    }
    cs_table_row(t, "%s", row->str);
    g_string_free(row, TRUE);
}

static void latency_cb(const cs_an_bucket *b, void *ctx)
{
    lat_ctx *l = ctx;
    char ts[40];
    latency_row(l->t, l->o, fmt_bucket_time(b->start, ts, sizeof ts), &b->ttfb_us, &b->total_us);
}

static void latency_header(cs_table *t, const cs_an_report_opts *o, const char *first)
{
    static char align[32];
    int n = 0;
    align[n++] = 'l';
    for (int i = 0; i < 9 + o->n_slow && n < (int)sizeof align - 1; i++)
        align[n++] = 'r';
    align[n] = '\0';
    cs_table_init(t, align);
    GString *h = g_string_new(first);
    g_string_append(h, "\texchanges\tttfb p50\tp90\tp99\tmax\ttotal p50\tp90\tp99\tmax");
    for (int i = 0; i < o->n_slow; i++) {
        char d[32];
        g_string_append_printf(
            h, "\ttotal > %s",
            cs_an_fmt_width((cs_time_t)o->slow_us[i] * CS_NS_PER_US, d, sizeof d));
    }
    cs_table_row(t, "%s", h->str);
    g_string_free(h, TRUE);
}

static const char latency_note[] =
    "  (paired exchanges; ttfb: request end to first response byte; total: request start to last "
    "response byte,\n   over the complete exchanges, as the slow shares are. Percentiles are "
    "nearest-rank values rounded\n   to the middle of a fixed histogram bin: within 0.8% of the "
    "true value, exact below 128us; max is\n   exact. A slow count is a range when exchanges lie "
    "within 1/64 of the threshold (one histogram bin).)\n";

static void text_activity(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    char w[32];
    cs_table t;
    cs_an_bucket tot;
    cs_an_fmt_width(a->cfg.bucket, w, sizeof w);
    cs_table_init(&t, "lrrrrrrrrrrrrr");
    cs_table_row(&t, "bucket start (UTC)\tconns\tSYNs\trequests\t1xx\t2xx\t3xx\t4xx\t5xx\tother"
                  "\tno resp\torphan\tbytes c>s\tbytes s>c");
    bool all = cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, activity_cb, &t);
    cs_analytics_totals(a, &tot);
    activity_row(&t, "total", &tot);
    fprintf(out, "\nActivity per %s bucket (%s)\n", w,
            all ? "buckets without events show zeros"
                : "too many buckets: only those with events are listed");
    cs_table_print(&t, out);
    if (a->untimed.requests + a->untimed.orphans > 0)
        fprintf(out, "  (%" G_GUINT64_FORMAT " exchanges without a capture time are counted in "
                     "the total only)\n",
                (guint64)(a->untimed.requests + a->untimed.orphans));

    lat_ctx l = {.t = &t, .o = o};
    latency_header(&t, o, "bucket start (UTC)");
    cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, latency_cb, &l);
    latency_row(&t, o, "total", &tot.ttfb_us, &tot.total_us);
    fprintf(out, "\nLatency per %s bucket\n", w);
    cs_table_print(&t, out);
    if (!o->latency) /* else printed once, under the table per server */
        fputs(latency_note, out);
    cs_an_bucket_clear(&tot);
}

static void text_latency(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    cs_table t;
    cs_hist f, tot;
    memset(&f, 0, sizeof f);
    memset(&tot, 0, sizeof tot);
    latency_header(&t, o, "server");
    for (guint i = 0; i < ss->len; i++) {
        const cs_an_server *s = ss->pdata[i];
        char ep[64];
        cs_endpoint_str(&s->addr, s->family, s->port, ep, sizeof ep);
        latency_row(&t, o, ep, &s->ttfb_us, &s->total_us);
        cs_hist_merge(&f, &s->ttfb_us);
        cs_hist_merge(&tot, &s->total_us);
    }
    fprintf(out, "\nLatency per server\n");
    if (ss->len == 0) {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(out, "  (no paired HTTP exchanges)\n");
    } else {
        latency_row(&t, o, "all", &f, &tot);
        cs_table_print(&t, out);
        fputs(latency_note, out);
    }
    cs_hist_clear(&f);
    cs_hist_clear(&tot);
    g_ptr_array_free(ss, TRUE);
}

static void text_flows(const cs_analytics *a, FILE *out)
{
    uint64_t n = 0;
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        n += a->flow_pkts[i];
    fprintf(out, "\nFlow profile: %" G_GUINT64_FORMAT " connection record%s by packets and by "
                 "payload bytes (both directions)\n",
            (guint64)n, n == 1 ? "" : "s");
    cs_table t;
    char pct[16];
    cs_table_init(&t, "lrr");
    cs_table_row(&t, "packets\tconns\tshare");
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%s", cs_an_pkt_label(i),
                  (guint64)a->flow_pkts[i], fmt_pct(a->flow_pkts[i], n, pct, sizeof pct));
    cs_table_print(&t, out);
    cs_table_init(&t, "lrr");
    cs_table_row(&t, "payload bytes\tconns\tshare");
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%s", cs_an_byte_label(i),
                  (guint64)a->flow_bytes[i], fmt_pct(a->flow_bytes[i], n, pct, sizeof pct));
    cs_table_print(&t, out);
}

void cs_analytics_report_text(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    cs_an_bucket tot;
    char w[32], t0[40], t1[40], host[64];
    cs_analytics_totals(a, &tot);
    cs_an_fmt_width(a->cfg.bucket, w, sizeof w);
    fprintf(out, "Analytics: %" G_GUINT64_FORMAT " connection%s, %" G_GUINT64_FORMAT
                 " SYN packet%s, %" G_GUINT64_FORMAT " HTTP request%s",
            (guint64)tot.conns, tot.conns == 1 ? "" : "s", (guint64)tot.syn_pkts,
            tot.syn_pkts == 1 ? "" : "s", (guint64)tot.requests, tot.requests == 1 ? "" : "s");
    if (a->first_ts <= a->last_ts)
        fprintf(out, ", %s to %s UTC", cs_fmt_time(a->first_ts, t0, sizeof t0),
                cs_fmt_time(a->last_ts, t1, sizeof t1));
    fprintf(out, "; buckets of %s", w);
    if (a->cfg.host.on)
        fprintf(out, "; host %s (as client or server)",
                cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, host, sizeof host));
    fputc('\n', out);
    cs_an_bucket_clear(&tot);
    if (o->top_n > 0)
        text_top(a, o->top_n, out);
    if (o->activity)
        text_activity(a, o, out);
    if (o->latency)
        text_latency(a, o, out);
    if (o->flows)
        text_flows(a, out);
    fflush(out);
}

/* ---- JSON report ----------------------------------------------------------------------------- */

static void json_line(GString *buf, FILE *out)
{
    fwrite(buf->str, 1, buf->len, out);
    g_string_truncate(buf, 0);
}

static void json_lat(cs_json *j, const char *key, const cs_hist *h)
{
    cs_json_obj_begin(j, key);
    cs_json_uint(j, "n", h->n);
    if (h->n > 0) {
        cs_json_uint(j, "p50", cs_hist_percentile(h, 50));
        cs_json_uint(j, "p90", cs_hist_percentile(h, 90));
        cs_json_uint(j, "p99", cs_hist_percentile(h, 99));
        cs_json_uint(j, "max", h->max);
    } else {
        cs_json_null(j, "p50");
        cs_json_null(j, "p90");
        cs_json_null(j, "p99");
        cs_json_null(j, "max");
    }
    cs_json_obj_end(j);
}

static void json_slow(cs_json *j, const cs_an_report_opts *o, const cs_hist *tot)
{
    cs_json_arr_begin(j, "slow");
    for (int i = 0; i < o->n_slow; i++) {
        uint64_t lo, hi;
        cs_an_slow_bounds(tot, o->slow_us[i], &lo, &hi);
        cs_json_obj_begin(j, NULL);
        cs_json_uint(j, "over_us", o->slow_us[i]);
        cs_json_uint(j, "min", lo);
        cs_json_uint(j, "max", hi);
        cs_json_obj_end(j);
    }
    cs_json_arr_end(j);
}

typedef struct json_ctx {
    cs_json j;
    GString *buf;
    FILE *out;
    const cs_an_report_opts *o;
    cs_time_t width;
} json_ctx;

static void json_bucket_cb(const cs_an_bucket *b, void *ctx)
{
    json_ctx *c = ctx;
    cs_json *j = &c->j;
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "type", "activity");
    cs_json_time(j, "start", b->start);
    /* the last bucket before INT64_MAX ns (year 2262) ends at the end of time */
    cs_json_time(j, "end", b->start > INT64_MAX - c->width ? INT64_MAX : b->start + c->width);
    cs_json_uint(j, "conns", b->conns);
    cs_json_uint(j, "syn_pkts", b->syn_pkts);
    cs_json_uint(j, "requests", b->requests);
    cs_json_arr_begin(j, "status_class");
    for (int i = 0; i < 6; i++)
        cs_json_uint(j, NULL, b->status_class[i]);
    cs_json_arr_end(j);
    cs_json_uint(j, "unanswered", b->unanswered);
    cs_json_uint(j, "orphans", b->orphans);
    cs_json_uint(j, "bytes_c2s", b->bytes_c2s);
    cs_json_uint(j, "bytes_s2c", b->bytes_s2c);
    json_lat(j, "ttfb_us", &b->ttfb_us);
    json_lat(j, "total_us", &b->total_us);
    json_slow(j, c->o, &b->total_us);
    cs_json_obj_end(j);
    json_line(c->buf, c->out);
}

void cs_analytics_report_json(const cs_analytics *a, const cs_an_report_opts *o, FILE *out)
{
    json_ctx c = {.buf = g_string_new(NULL), .out = out, .o = o, .width = a->cfg.bucket};
    cs_json *j = &c.j;
    char ip[64];
    cs_an_bucket tot;
    cs_analytics_totals(a, &tot);
    cs_json_init(j, c.buf);
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "type", "analytics");
    cs_json_double(j, "bucket_s", (double)a->cfg.bucket / 1e9, 6);
    if (a->cfg.host.on)
        cs_json_str(j, "host", cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    else
        cs_json_null(j, "host");
    if (a->first_ts <= a->last_ts) {
        cs_json_time(j, "first_ts", a->first_ts);
        cs_json_time(j, "last_ts", a->last_ts);
    } else {
        cs_json_null(j, "first_ts");
        cs_json_null(j, "last_ts");
    }
    cs_json_uint(j, "conns", tot.conns);
    cs_json_uint(j, "syn_pkts", tot.syn_pkts);
    cs_json_uint(j, "requests", tot.requests);
    cs_json_obj_end(j);
    json_line(c.buf, out);

    for (int ti = 0; o->top_n > 0 && ti < CS_TOP_TABLES; ti++) {
        const cs_topk *t = a->top[ti];
        GPtrArray *all = cs_topk_sorted(t);
        for (guint i = 0; i < all->len && (int)i < o->top_n; i++) {
            const cs_topk_entry *e = all->pdata[i];
            uint8_t family;
            cs_addr addr;
            gchar *what = g_malloc(e->len + 1);
            cs_an_key_decode(e->key, e->len, &family, &addr, what, e->len + 1);
            cs_json_obj_begin(j, NULL);
            cs_json_str(j, "type", "top_talker");
            cs_json_str(j, "table", top_names[ti]);
            cs_json_uint(j, "rank", i + 1);
            cs_json_str(j, "client", cs_addr_str(&addr, family, ip, sizeof ip));
            if (ti == CS_TOP_CLIENT_REQUEST) {
                char *sp = strchr(what, ' ');
                if (sp != NULL)
                    *sp = '\0';
                cs_json_str(j, "method", what);
                cs_json_str(j, "path", sp != NULL ? sp + 1 : "");
            }
            cs_json_uint(j, "count", e->count);
            cs_json_uint(j, "error", e->error);
            cs_json_uint(j, "total", cs_topk_total(t));
            cs_json_bool(j, "approx", cs_topk_approx(t));
            cs_json_uint(j, "floor", cs_topk_floor(t));
            cs_json_obj_end(j);
            json_line(c.buf, out);
            g_free(what);
        }
        g_ptr_array_free(all, TRUE);
    }
    if (o->activity)
        cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, json_bucket_cb, &c);
    if (o->latency) {
        GPtrArray *ss = cs_analytics_servers_sorted(a);
        for (guint i = 0; i < ss->len; i++) {
            const cs_an_server *s = ss->pdata[i];
            cs_json_obj_begin(j, NULL);
            cs_json_str(j, "type", "latency");
            cs_json_str(j, "server", cs_addr_str(&s->addr, s->family, ip, sizeof ip));
            cs_json_uint(j, "port", s->port);
            json_lat(j, "ttfb_us", &s->ttfb_us);
            json_lat(j, "total_us", &s->total_us);
            json_slow(j, o, &s->total_us);
            cs_json_obj_end(j);
            json_line(c.buf, out);
        }
        g_ptr_array_free(ss, TRUE);
    }
    if (o->flows) {
        for (int by = 0; by < 2; by++) {
            int n = by == 0 ? CS_AN_PKT_CLASSES : CS_AN_BYTE_CLASSES;
            for (int i = 0; i < n; i++) {
                cs_json_obj_begin(j, NULL);
                cs_json_str(j, "type", "flow_profile");
                cs_json_str(j, "by", by == 0 ? "packets" : "bytes");
                cs_json_str(j, "class", by == 0 ? cs_an_pkt_label(i) : cs_an_byte_label(i));
                cs_json_uint(j, "conns", by == 0 ? a->flow_pkts[i] : a->flow_bytes[i]);
                cs_json_obj_end(j);
                json_line(c.buf, out);
            }
        }
    }
    cs_an_bucket_clear(&tot);
    g_string_free(c.buf, TRUE);
    fflush(out);
}
