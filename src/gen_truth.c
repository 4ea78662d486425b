/* gen_truth.c - connscope-gen's ground truth written as JSON lines (connscope's field names where
 * one exists), and the per-destination and per-server tallies (one record per server). */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "gen_truth.h"
#include "json.h"

/* Per (server address, port). */
typedef struct srv_key {
    cs_addr addr;
    uint16_t port;
    uint8_t family;
} srv_key;

typedef struct srv_stats {
    srv_key key;
    uint64_t conns, established, reset;
    uint64_t syn_pkts, attempts, answered, unanswered;
    uint64_t orig_bytes, resp_bytes, orig_pkts, resp_pkts;
    uint64_t exchanges;
} srv_stats;

struct gen_truth {
    gen_flow_observer obs; /* ctx: this */
    FILE *fp;
    GString *buf;
    GHashTable *servers; /* srv_key* -> srv_stats* (the key lives in the value) */
    uint64_t conns, established, syn_pkts, attempts;
    uint64_t http, https;
    uint64_t lost_segs, lost_bytes, reordered, overlaps;
    bool error;
};

static guint srv_hash(gconstpointer p)
{
    const srv_key *k = p;
    uint64_t h = gen_hash(k->port | (uint64_t)k->family << 16, 0);
    for (int i = 0; i < 16; i += 8) {
        uint64_t v;
        memcpy(&v, k->addr.b + i, 8);
        h = gen_hash(h, v);
    }
    return (guint)h;
}

static gboolean srv_equal(gconstpointer a, gconstpointer b)
{
    const srv_key *x = a, *y = b;
    return x->port == y->port && x->family == y->family && memcmp(&x->addr, &y->addr, 16) == 0;
}

static void put_line(gen_truth *t)
{
    if (fputs(t->buf->str, t->fp) == EOF)
        t->error = true;
}

static void put_addr(cs_json *j, const char *key, const cs_addr *a, uint8_t family)
{
    char buf[64];
    cs_json_str(j, key, cs_addr_str(a, family, buf, sizeof buf));
}

static void put_time(cs_json *j, const char *key, gen_us us)
{
    if (us < 0)
        cs_json_null(j, key);
    else
        cs_json_time(j, key, us * CS_NS_PER_US);
}

static void put_span(cs_json *j, const char *key, gen_us from, gen_us to)
{
    if (from < 0 || to < 0)
        cs_json_null(j, key);
    else
        cs_json_int(j, key, to - from);
}

static void put_endpoints(cs_json *j, const gen_flow *f)
{
    cs_addr ca;
    uint16_t cp;
    gen_flow_client(f, &ca, &cp);
    put_addr(j, "id.orig_h", &ca, f->row->family);
    cs_json_uint(j, "id.orig_p", cp);
    put_addr(j, "id.resp_h", &f->row->server, f->row->family);
    cs_json_uint(j, "id.resp_p", f->row->sport);
}

static void on_exchange(void *ctx, const gen_flow *f, uint32_t i, const gen_xrec *x)
{
    gen_truth *t = ctx;
    const gen_row *r = f->row;
    char uri[512];
    cs_json j;
    if (r->proto == GEN_TCP)
        return;
    bool tls = r->proto == GEN_HTTPS;
    bool begun = x->resp_start >= 0 || x->resp_lost > 0 || x->resp_done;
    bool req_ok = x->req_done && !(r->flags & GEN_F_PARTIAL);
    bool resp_ok = x->resp_done && !(r->flags & GEN_F_HUGECHUNK);
    if (tls)
        t->https++;
    else
        t->http++;
    g_string_truncate(t->buf, 0);
    cs_json_init(&j, t->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", tls ? "https" : "http");
    cs_json_uint(&j, "stream", f->xt->stream);
    put_endpoints(&j, f);
    cs_json_uint(&j, "trans_depth", i + 1);
    cs_json_str(&j, "method", r->method);
    cs_json_str(&j, "host", r->host);
    cs_json_str(&j, "uri", gen_msg_uri(r, f->serial, i, uri, sizeof uri));
    if (begun)
        cs_json_uint(&j, "status_code", r->status);
    else
        cs_json_null(&j, "status_code");
    if (!tls) {
        gen_msginfo mi;
        gen_msg_info(r, f->serial, GEN_C, i, &mi);
        cs_json_uint(&j, "request_header_len", mi.hdr);
    }
    cs_json_uint(&j, "request_body_len", gen_msg_req_body(r, i));
    if (begun)
        cs_json_uint(&j, "response_body_len", gen_msg_resp_body(r));
    else
        cs_json_null(&j, "response_body_len");
    cs_json_bool(&j, "chunked", r->chunk > 0 || (r->flags & GEN_F_HUGECHUNK));
    cs_json_bool(&j, "request_complete", req_ok);
    cs_json_bool(&j, "response_complete", resp_ok);
    /* a message that never ends as HTTP (cut header block, endless chunk) has no end time */
    gen_us req_end = req_ok ? x->req_end : -1, resp_end = resp_ok ? x->resp_end : -1;
    put_time(&j, "request_start", x->req_start);
    put_time(&j, "request_end", req_end);
    put_time(&j, "response_start", x->resp_start);
    put_time(&j, "response_end", resp_end);
    put_span(&j, "request_us", x->req_start, req_end);
    put_span(&j, "ttfb_us", req_end, x->resp_start);
    put_span(&j, "ttlb_us", req_end, resp_end);
    put_span(&j, "total_us", x->req_start, resp_end);
    cs_json_uint(&j, "request_lost_bytes", x->req_lost);
    cs_json_uint(&j, "response_lost_bytes", x->resp_lost);
    cs_json_bool(&j, "request_lost_framing", x->req_lost_framing);
    cs_json_bool(&j, "response_lost_framing", x->resp_lost_framing);
    cs_json_bool(&j, "request_reordered", x->req_reordered);
    cs_json_bool(&j, "response_reordered", x->resp_reordered);
    cs_json_obj_end(&j);
    put_line(t);
}

static void on_segment(void *ctx, const gen_flow *f, bool lost, int d, uint32_t seq, uint32_t len,
                       gen_us ts)
{
    gen_truth *t = ctx;
    cs_json j;
    g_string_truncate(t->buf, 0);
    cs_json_init(&j, t->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", lost ? "drop" : "reorder");
    cs_json_uint(&j, "stream", f->xt->stream);
    cs_json_str(&j, "dir", d == GEN_C ? "orig" : "resp");
    cs_json_uint(&j, "rel_seq", (uint64_t)seq + 1); /* tshark's relative tcp.seq */
    cs_json_uint(&j, "seq", f->isn[d] + 1 + seq);
    cs_json_uint(&j, "len", len);
    put_time(&j, "ts", ts);
    cs_json_obj_end(&j);
    put_line(t);
}

static srv_stats *server_of(gen_truth *t, const gen_row *r)
{
    srv_key k;
    memset(&k, 0, sizeof k);
    k.addr = r->server;
    k.port = r->sport;
    k.family = r->family;
    srv_stats *s = g_hash_table_lookup(t->servers, &k);
    if (s == NULL) {
        s = g_new0(srv_stats, 1);
        s->key = k;
        g_hash_table_insert(t->servers, &s->key, s);
    }
    return s;
}

static void on_conn_end(void *ctx, const gen_flow *f)
{
    gen_truth *t = ctx;
    const gen_row *r = f->row;
    const gen_xtruth *x = f->xt;
    static const char *const protos[] = {"http", "https", "tcp"};
    static const char *const sides[] = {"orig", "resp"};
    uint32_t cpre = gen_msg_pre(r, GEN_C), spre = gen_msg_pre(r, GEN_S);
    uint32_t reqs = f->d[GEN_C].msgs > cpre ? f->d[GEN_C].msgs - cpre : 0;
    uint32_t resps = f->s_done > spre ? f->s_done - spre : 0;
    cs_json j;
    g_string_truncate(t->buf, 0);
    cs_json_init(&j, t->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "conn");
    cs_json_uint(&j, "stream", x->stream);
    put_endpoints(&j, f);
    cs_json_str(&j, "proto", protos[r->proto]);
    cs_json_int(&j, "spec_line", r->line);
    put_time(&j, "ts", x->first);
    put_time(&j, "ts_end", x->last);
    cs_json_uint(&j, "orig_pkts", x->pkts[0]);
    cs_json_uint(&j, "resp_pkts", x->pkts[1]);
    cs_json_uint(&j, "orig_bytes", f->d[GEN_C].snd);
    cs_json_uint(&j, "resp_bytes", f->d[GEN_S].snd);
    cs_json_uint(&j, "syn_pkts", x->syns);
    cs_json_uint(&j, "synack_pkts", x->synacks);
    cs_json_bool(&j, "established", x->established);
    cs_json_bool(&j, "fin_orig", x->fin[0]);
    cs_json_bool(&j, "fin_resp", x->fin[1]);
    cs_json_str(&j, "rst_by", x->rst[0] ? sides[0] : x->rst[1] ? sides[1] : NULL);
    cs_json_uint(&j, "requests", reqs);
    cs_json_uint(&j, "responses", resps);
    cs_json_uint(&j, "exchanges", x->exchanges);
    cs_json_uint(&j, "orig_lost_segs", x->lost_segs[0]);
    cs_json_uint(&j, "resp_lost_segs", x->lost_segs[1]);
    cs_json_uint(&j, "orig_missed_bytes", x->lost_bytes[0]);
    cs_json_uint(&j, "resp_missed_bytes", x->lost_bytes[1]);
    cs_json_uint(&j, "orig_reordered", x->reordered[0]);
    cs_json_uint(&j, "resp_reordered", x->reordered[1]);
    cs_json_uint(&j, "overlaps", x->overlaps);
    if (r->proto == GEN_HTTPS && r->sni[0] != '\0')
        cs_json_str(&j, "sni", r->sni);
    else if (r->proto == GEN_HTTPS)
        cs_json_null(&j, "sni"); /* no server_name extension */
    cs_json_obj_end(&j);
    put_line(t);

    srv_stats *s = server_of(t, r);
    s->conns++;
    t->conns++;
    if (x->established) {
        s->established++;
        t->established++;
    }
    if (x->rst[0] || x->rst[1])
        s->reset++;
    s->syn_pkts += x->syns;
    t->syn_pkts += x->syns;
    if (x->syns > 0) {
        s->attempts++;
        t->attempts++;
        if (x->synacks > 0)
            s->answered++;
        else
            s->unanswered++;
    }
    s->orig_bytes += f->d[GEN_C].snd;
    s->resp_bytes += f->d[GEN_S].snd;
    s->orig_pkts += x->pkts[0];
    s->resp_pkts += x->pkts[1];
    s->exchanges += x->exchanges;
    t->lost_segs += x->lost_segs[0] + x->lost_segs[1];
    t->lost_bytes += x->lost_bytes[0] + x->lost_bytes[1];
    t->reordered += x->reordered[0] + x->reordered[1];
    t->overlaps += x->overlaps;
}

static gint srv_cmp(gconstpointer a, gconstpointer b)
{
    const srv_stats *x = *(srv_stats *const *)a, *y = *(srv_stats *const *)b;
    if (x->key.family != y->key.family)
        return x->key.family < y->key.family ? -1 : 1;
    int c = memcmp(&x->key.addr, &y->key.addr, 16);
    if (c != 0)
        return c;
    return x->key.port < y->key.port ? -1 : x->key.port > y->key.port;
}

gen_truth *gen_truth_new(FILE *fp)
{
    gen_truth *t = g_new0(gen_truth, 1);
    t->fp = fp;
    t->buf = g_string_sized_new(1024);
    t->servers = g_hash_table_new_full(srv_hash, srv_equal, NULL, g_free);
    t->obs = (gen_flow_observer){
        .ctx = t, .exchange = on_exchange, .segment = on_segment, .conn_end = on_conn_end};
    return t;
}

const gen_flow_observer *gen_truth_observer(gen_truth *t)
{
    return &t->obs;
}

bool gen_truth_finish(gen_truth *t, const gen_out *out, uint64_t peak_flows)
{
    GPtrArray *all = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    cs_json j;
    g_hash_table_iter_init(&it, t->servers);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(all, v);
    g_ptr_array_sort(all, srv_cmp);
    for (guint i = 0; i < all->len; i++) {
        const srv_stats *s = g_ptr_array_index(all, i);
        if (s->syn_pkts > 0) {
            g_string_truncate(t->buf, 0);
            cs_json_init(&j, t->buf);
            cs_json_obj_begin(&j, NULL);
            cs_json_str(&j, "type", "syn_dest");
            put_addr(&j, "dst_h", &s->key.addr, s->key.family);
            cs_json_uint(&j, "dst_p", s->key.port);
            cs_json_uint(&j, "syn_pkts", s->syn_pkts);
            cs_json_uint(&j, "attempts", s->attempts);
            cs_json_uint(&j, "retransmitted_syns", s->syn_pkts - s->attempts);
            cs_json_uint(&j, "answered_synack", s->answered);
            cs_json_uint(&j, "unanswered", s->unanswered);
            cs_json_obj_end(&j);
            put_line(t);
        }
        g_string_truncate(t->buf, 0);
        cs_json_init(&j, t->buf);
        cs_json_obj_begin(&j, NULL);
        cs_json_str(&j, "type", "server");
        put_addr(&j, "resp_h", &s->key.addr, s->key.family);
        cs_json_uint(&j, "resp_p", s->key.port);
        cs_json_uint(&j, "conns", s->conns);
        cs_json_uint(&j, "established", s->established);
        cs_json_uint(&j, "reset", s->reset);
        cs_json_uint(&j, "orig_bytes", s->orig_bytes);
        cs_json_uint(&j, "resp_bytes", s->resp_bytes);
        cs_json_uint(&j, "orig_pkts", s->orig_pkts);
        cs_json_uint(&j, "resp_pkts", s->resp_pkts);
        cs_json_uint(&j, "exchanges", s->exchanges);
        cs_json_obj_end(&j);
        put_line(t);
    }
    g_ptr_array_free(all, TRUE);

    g_string_truncate(t->buf, 0);
    cs_json_init(&j, t->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "summary");
    cs_json_str(&j, "generator", "connscope-gen");
    cs_json_uint(&j, "packets", out->packets);
    cs_json_uint(&j, "bytes", out->bytes);
    cs_json_uint(&j, "connections", t->conns);
    cs_json_uint(&j, "established", t->established);
    cs_json_uint(&j, "syn_pkts", t->syn_pkts);
    cs_json_uint(&j, "syn_attempts", t->attempts);
    cs_json_uint(&j, "http_exchanges", t->http);
    cs_json_uint(&j, "https_exchanges", t->https);
    cs_json_uint(&j, "lost_segments", t->lost_segs);
    cs_json_uint(&j, "lost_bytes", t->lost_bytes);
    cs_json_uint(&j, "reordered_pairs", t->reordered);
    cs_json_uint(&j, "overlaps", t->overlaps);
    cs_json_uint(&j, "peak_concurrent_connections", peak_flows);
    cs_json_obj_end(&j);
    put_line(t);

    bool ok = !t->error && fflush(t->fp) == 0;
    g_hash_table_destroy(t->servers);
    g_string_free(t->buf, TRUE);
    g_free(t);
    return ok;
}
