/* report_text.c - the human-readable report: SYNs per destination, connections per server, states,
 * anomalies and inputs, plus the per-connection table with --connections. Columns are aligned. */
#include <string.h>

#include "report.h"
#include "util.h"

/* ---- aligned tables ------------------------------------------------------------------------ */

/* ---- sections ------------------------------------------------------------------------------ */

/* Starts a section: a blank line, then the title (bold with --color). */
static void vtitle(cs_report *r, const char *fmt, va_list ap)
{
    fputc('\n', r->out);
    if (r->color)
        fputs("\033[1m", r->out);
    vfprintf(r->out, fmt, ap);
    if (r->color)
        fputs("\033[0m", r->out);
    fputc('\n', r->out);
}

static void G_GNUC_PRINTF(2, 3) title(cs_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vtitle(r, fmt, ap);
    va_end(ap);
}

void cs_report_title(cs_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vtitle(r, fmt, ap);
    va_end(ap);
}

/* ---- per-connection state kept for the tables printed at the end ---------------------------- */

/* One connection as the "connections to look at" lists and the -C TLS table keep it. */
typedef struct conn_brief {
    uint64_t stream;
    bool resumed;
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    uint32_t requests, unanswered;
    cs_q50r ttfb, total;
    char *sni;              /* TLS table only (owned) */
    uint32_t est_exchanges; /* TLS table only */
    cs_q50r turn;           /* TLS table only */
} conn_brief;

/* The N best connections by one ordering (a bounded min-heap: the root is the worst kept). */
typedef struct look_list {
    GArray *heap;        /* conn_brief */
    GCompareFunc better; /* < 0 when a ranks before b */
} look_list;

typedef struct text_report {
    cs_report base;
    GArray *tls_rows;        /* conn_brief of TLS connections (with -C) */
    look_list most, slowest; /* "connections to look at" */
    uint64_t http_conns;     /* connections with exchanges */
} text_report;

static void brief_of(conn_brief *b, const cs_conn_row *row)
{
    memset(b, 0, sizeof *b);
    b->stream = row->stream;
    b->resumed = row->resumed;
    b->family = row->family;
    memcpy(b->addr, row->addr, sizeof b->addr);
    memcpy(b->port, row->port, sizeof b->port);
    b->requests = row->ex.requests;
    b->unanswered = row->ex.unanswered;
    b->ttfb = row->ex.ttfb;
    b->total = row->ex.total;
}

static gint cmp_stream(const conn_brief *a, const conn_brief *b)
{
    if (a->stream != b->stream)
        return a->stream < b->stream ? -1 : 1;
    return (int)a->resumed - (int)b->resumed;
}

/* Most requests first, then the lower stream. */
static gint better_requests(gconstpointer pa, gconstpointer pb)
{
    const conn_brief *a = pa, *b = pb;
    if (a->requests != b->requests)
        return a->requests > b->requests ? -1 : 1;
    return cmp_stream(a, b);
}

/* Largest max ttfb first, then the lower stream. */
static gint better_ttfb(gconstpointer pa, gconstpointer pb)
{
    const conn_brief *a = pa, *b = pb;
    if (a->ttfb.max != b->ttfb.max)
        return a->ttfb.max > b->ttfb.max ? -1 : 1;
    return cmp_stream(a, b);
}

#define HEAP_AT(l, i) (&g_array_index((l)->heap, conn_brief, (i)))

static void heap_swap(look_list *l, guint i, guint j)
{
    conn_brief t = *HEAP_AT(l, i);
    *HEAP_AT(l, i) = *HEAP_AT(l, j);
    *HEAP_AT(l, j) = t;
}

/* Restores the heap below i (the worst entry at the root). */
static void heap_down(look_list *l, guint i)
{
    for (;;) {
        guint w = i, c1 = 2 * i + 1, c2 = 2 * i + 2;
        if (c1 < l->heap->len && l->better(HEAP_AT(l, w), HEAP_AT(l, c1)) < 0)
            w = c1;
        if (c2 < l->heap->len && l->better(HEAP_AT(l, w), HEAP_AT(l, c2)) < 0)
            w = c2;
        if (w == i)
            return;
        heap_swap(l, i, w);
        i = w;
    }
}

/* Keeps b if it is among the n best seen so far: O(log n). */
static void look_offer(look_list *l, guint n, const conn_brief *b)
{
    if (n == 0)
        return;
    if (l->heap->len < n) {
        g_array_append_val(l->heap, *b);
        for (guint i = l->heap->len - 1; i > 0;) {
            guint p = (i - 1) / 2;
            if (l->better(HEAP_AT(l, p), HEAP_AT(l, i)) >= 0)
                break;
            heap_swap(l, i, p);
            i = p;
        }
        return;
    }
    if (l->better(b, HEAP_AT(l, 0)) >= 0)
        return;
    *HEAP_AT(l, 0) = *b;
    heap_down(l, 0);
}

static void text_conn(cs_report *r, const cs_conn_row *row)
{
    text_report *t = (text_report *)r;
    if (r->list_conns)
        g_array_append_val(r->rows, *row);
    if (r->list_conns && row->tls != NULL) {
        conn_brief b;
        brief_of(&b, row);
        b.sni = g_strdup(row->tls->server_name);
        b.est_exchanges = row->tls->estimated_exchanges;
        b.turn = (cs_q50r){
            .n = row->tls->estimated_exchanges,
            .p50 = row->tls->turn_p50_us,
            .max = row->tls->turn_max > 0 ? (uint64_t)(row->tls->turn_max / CS_NS_PER_US) : 0};
        g_array_append_val(t->tls_rows, b);
    }
    if (!row->has_ex)
        return;
    conn_brief b;
    brief_of(&b, row);
    t->http_conns++;
    look_offer(&t->most, r->top_n, &b);
    if (b.ttfb.n > 0)
        look_offer(&t->slowest, r->top_n, &b);
}

static gint cmp_row(gconstpointer a, gconstpointer b)
{
    const cs_conn_row *x = a, *y = b;
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

static void print_conn_table(cs_report *r)
{
    cs_table t;
    char c[64], s[64], ts[40], dur[32], b0[32], b1[32], rtt[32];
    g_array_sort(r->rows, cmp_row);
    title(r, "Connections (%u)", r->rows->len);
    bool tunnels = false; /* a tunnel column when any connection came through one */
    for (guint i = 0; i < r->rows->len && !tunnels; i++)
        tunnels = g_array_index(r->rows, cs_conn_row, i).tunnel != NULL;
    cs_table_init(&t, tunnels ? "rllllrrrrrlll" : "rllllrrrrrll");
    cs_table_row(&t,
                 "stream\tclient\tserver\tstart (UTC)\tduration\tpkts c>s\tpkts s>c\tbytes c>s"
                 "\tbytes s>c\thandshake rtt\tstate\thistory%s",
                 tunnels ? "\ttunnel" : "");
    for (guint i = 0; i < r->rows->len; i++) {
        const cs_conn_row *row = &g_array_index(r->rows, cs_conn_row, i);
        char tn[160] = "";
        if (row->tunnel != NULL)
            cs_tunnel_describe(row->tunnel, tn, sizeof tn);
        cs_table_row(&t,
                     "%" G_GUINT64_FORMAT "%s\t%s\t%s\t%s\t%s\t%" G_GUINT64_FORMAT
                     "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\t%s",
                     row->stream, row->resumed ? "r" : "",
                     cs_endpoint_str(&row->addr[0], row->family, row->port[0], c, sizeof c),
                     cs_endpoint_str(&row->addr[1], row->family, row->port[1], s, sizeof s),
                     cs_fmt_time(row->start, ts, sizeof ts),
                     cs_fmt_duration(row->end - row->start, dur, sizeof dur), row->pkts[0],
                     row->pkts[1], cs_fmt_bytes(row->bytes[0], b0, sizeof b0),
                     cs_fmt_bytes(row->bytes[1], b1, sizeof b1),
                     cs_fmt_duration(row->rtt_syn, rtt, sizeof rtt), row->state, row->history, tn);
    }
    cs_table_print(&t, r->out);
}

/* A duration in microseconds for a table cell, "-" without a value. */
static const char *fmt_us(const cs_q50r *q, uint64_t us, char *buf, size_t len)
{
    return q->n > 0 ? cs_fmt_duration((cs_time_t)us * CS_NS_PER_US, buf, len) : "-";
}

/* "+1.2ms": a time as an offset from the connection's first packet, "-" when unknown. */
static const char *fmt_offset(cs_time_t ts, cs_time_t start, char *buf, size_t len)
{
    if (ts < 0)
        return "-";
    buf[0] = '+';
    cs_fmt_duration(ts > start ? ts - start : 0, buf + 1, len - 1);
    return buf;
}

/* -C: the exchanges of each connection that carried HTTP (rows already sorted by stream). */
static void print_http_conn_table(cs_report *r)
{
    cs_table t;
    char ep[64], f50[32], fmax[32], t50[32], tmax[32], idle[32], first[40], last[40];
    guint n = 0;
    cs_table_init(&t, "rlrrrrrrrrrrrrrrrr");
    cs_table_row(&t, "stream\tserver\trequests\tresponses\tno resp\torphan\t1xx\t2xx\t3xx\t4xx"
                     "\t5xx\tttfb p50\tmax\ttotal p50\tmax\tidle max\tfirst req\tlast resp");
    for (guint i = 0; i < r->rows->len; i++) {
        const cs_conn_row *row = &g_array_index(r->rows, cs_conn_row, i);
        const cs_exsum *x = &row->ex;
        if (!row->has_http && !row->has_ex)
            continue;
        n++;
        cs_table_row(&t,
                     "%" G_GUINT64_FORMAT "%s\t%s\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%s\t%s\t%s"
                     "\t%s\t%s\t%s\t%s",
                     row->stream, row->resumed ? "r" : "",
                     cs_endpoint_str(&row->addr[1], row->family, row->port[1], ep, sizeof ep),
                     x->requests, x->responses, x->unanswered, x->orphans, x->status_class[1],
                     x->status_class[2], x->status_class[3], x->status_class[4], x->status_class[5],
                     fmt_us(&x->ttfb, x->ttfb.p50, f50, sizeof f50),
                     fmt_us(&x->ttfb, x->ttfb.max, fmax, sizeof fmax),
                     fmt_us(&x->total, x->total.p50, t50, sizeof t50),
                     fmt_us(&x->total, x->total.max, tmax, sizeof tmax),
                     x->idle_max > 0 ? cs_fmt_duration(x->idle_max, idle, sizeof idle) : "-",
                     fmt_offset(x->first_req, row->start, first, sizeof first),
                     fmt_offset(x->last_resp, row->start, last, sizeof last));
    }
    if (n == 0) {
        g_ptr_array_free(t.cells, TRUE);
        return;
    }
    title(r, "HTTP per connection (%u)", n);
    cs_table_print(&t, r->out);
    fprintf(r->out,
            "  (ttfb: request end to first response byte; total: request start to last "
            "response byte;\n   first req, last resp: after the connection's first packet)\n");
}

/* Replaces control characters and invalid UTF-8 so a peer's string cannot upset the table. */
static gchar *table_text(const char *s)
{
    gchar *v = g_utf8_make_valid(s != NULL && s[0] ? s : "-", -1);
    for (gchar *q = v; *q; q++)
        if ((guchar)*q < 0x20 || *q == 0x7f)
            *q = '?';
    return v;
}

/* -C: the TLS facts of each TLS connection, its SNI and the exchange estimate. */
static void print_tls_conn_table(cs_report *r)
{
    text_report *tr = (text_report *)r;
    cs_table t;
    char ep[64], p50[32], mx[32];
    if (tr->tls_rows->len == 0)
        return;
    g_array_sort(tr->tls_rows, (GCompareFunc)cmp_stream);
    cs_table_init(&t, "rllrrr");
    cs_table_row(&t, "stream\tserver\tSNI\texchanges (est.)\tturn p50\tmax");
    for (guint i = 0; i < tr->tls_rows->len; i++) {
        const conn_brief *b = &g_array_index(tr->tls_rows, conn_brief, i);
        gchar *sni = table_text(b->sni);
        cs_table_row(&t, "%" G_GUINT64_FORMAT "%s\t%s\t%s\t%u\t%s\t%s", b->stream,
                     b->resumed ? "r" : "",
                     cs_endpoint_str(&b->addr[1], b->family, b->port[1], ep, sizeof ep), sni,
                     b->est_exchanges, fmt_us(&b->turn, b->turn.p50, p50, sizeof p50),
                     fmt_us(&b->turn, b->turn.max, mx, sizeof mx));
        g_free(sni);
    }
    title(r, "TLS per connection (%u)", tr->tls_rows->len);
    cs_table_print(&t, r->out);
    fprintf(r->out, "  (turn: a client burst's last record to the server's first record after it; "
                    "an estimate made without keys)\n");
}

/* One "connections to look at" table: the kept entries of l, best first. */
static void print_look_table(cs_report *r, look_list *l)
{
    cs_table t;
    char c[64], sv[64], f50[32], fmax[32], tmax[32];
    g_array_sort(l->heap, l->better);
    cs_table_init(&t, "rllrrrrr");
    cs_table_row(&t, "stream\tclient\tserver\trequests\tno resp\tttfb p50\tttfb max\ttotal max");
    for (guint i = 0; i < l->heap->len; i++) {
        const conn_brief *b = HEAP_AT(l, i);
        cs_table_row(&t, "%" G_GUINT64_FORMAT "%s\t%s\t%s\t%u\t%u\t%s\t%s\t%s", b->stream,
                     b->resumed ? "r" : "",
                     cs_endpoint_str(&b->addr[0], b->family, b->port[0], c, sizeof c),
                     cs_endpoint_str(&b->addr[1], b->family, b->port[1], sv, sizeof sv),
                     b->requests, b->unanswered, fmt_us(&b->ttfb, b->ttfb.p50, f50, sizeof f50),
                     fmt_us(&b->ttfb, b->ttfb.max, fmax, sizeof fmax),
                     fmt_us(&b->total, b->total.max, tmax, sizeof tmax));
    }
    cs_table_print(&t, r->out);
}

/* The default report's short list: the connections with the most requests and the slowest by
 * their largest time to first byte (--top of each; one table when every one fits). */
static void print_look(cs_report *r)
{
    text_report *t = (text_report *)r;
    if (t->http_conns == 0 || r->top_n == 0)
        return;
    if (t->http_conns <= r->top_n) {
        title(r,
              "Connections to look at (%s%" G_GUINT64_FORMAT " HTTP connection%s, most requests "
              "first)",
              t->http_conns > 1 ? "all " : "", t->http_conns, t->http_conns > 1 ? "s" : "");
        print_look_table(r, &t->most);
    } else {
        title(r, "Connections to look at: the %u with the most requests", t->most.heap->len);
        print_look_table(r, &t->most);
        if (t->slowest.heap->len > 0) {
            title(r, "Connections to look at: the %u slowest to a first byte (max ttfb)",
                  t->slowest.heap->len);
            print_look_table(r, &t->slowest);
        }
    }
    fprintf(r->out, "  (a stream's exchanges: connscope follow --http STREAM FILE, or connscope "
                    "--stream STREAM -E FILE)\n");
}

static void print_syn_table(cs_report *r, GPtrArray *servers)
{
    cs_table t;
    char ep[64];
    bool any = false;
    cs_table_init(&t, "lrrrrrr");
    cs_table_row(&t, "destination\tSYN pkts\tattempts\tretransmitted\tSYN/ACK\tRST\tno answer");
    for (guint i = 0; i < servers->len; i++) {
        const cs_server_stats *sv = g_ptr_array_index(servers, i);
        if (sv->syn_pkts == 0)
            continue;
        any = true;
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                      "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT,
                  cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->syn_pkts,
                  sv->syn_attempts, sv->syn_pkts - sv->syn_attempts, sv->syn_answered,
                  sv->syn_rst, sv->syn_unanswered);
    }
    title(r, "Connection starts (SYN without ACK) per destination");
    if (any)
        cs_table_print(&t, r->out);
    else {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(r->out, "  (none)\n");
    }
}

/* One row of the connections-per-server table: `label`, then the counts of c. */
static void server_conns_row(cs_table *t, const char *label, const char *ports,
                             const cs_server_conns *c)
{
    char b0[32], b1[32], d50[32], dmax[32];
    cs_table_row(t,
                 "%s%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                 "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s",
                 label, ports, c->conns, c->established, c->refused, c->reset, c->open_at_end,
                 cs_fmt_bytes(c->bytes_c2s, b0, sizeof b0),
                 cs_fmt_bytes(c->bytes_s2c, b1, sizeof b1),
                 cs_fmt_duration((cs_time_t)cs_hist_percentile(&c->duration_us, 50) * CS_NS_PER_US,
                                 d50, sizeof d50),
                 cs_fmt_duration((cs_time_t)c->duration_us.max * CS_NS_PER_US, dmax, sizeof dmax));
}

void cs_report_server_table(FILE *out, const GPtrArray *servers, const cs_server_layout *l,
                            bool by_ip, bool color)
{
    cs_table t;
    char ep[64], n[32];
    GPtrArray *ips = cs_server_ips(servers, l);
    cs_table_init(&t, by_ip ? "lrrrrrrrrrr" : "lrrrrrrrrr");
    cs_table_row(&t,
                 "%s\tconns\testablished\trefused\treset\topen at end\tbytes c>s\tbytes s>c"
                 "\tmedian dur\tmax dur",
                 by_ip ? "server IP\tports" : "server");
    guint rows = 0, j = 0;
    for (guint i = 0; by_ip && i < ips->len; i++, rows++) {
        const cs_server_ip *v = g_ptr_array_index(ips, i);
        snprintf(n, sizeof n, "\t%u", v->ports);
        server_conns_row(&t, cs_addr_str(&v->addr, v->family, ep, sizeof ep), n, &v->c);
    }
    for (guint i = 0; !by_ip && i < servers->len; i++) {
        const void *sv = g_ptr_array_index(servers, i);
        if (cs_server_row_conns(sv, l)->conns == 0)
            continue;
        rows++;
        server_conns_row(&t,
                         cs_endpoint_str(cs_server_row_addr(sv, l), cs_server_row_family(sv, l),
                                         cs_server_row_port(sv, l), ep, sizeof ep),
                         "", cs_server_row_conns(sv, l));
        /* after the last port of an address that serves on several: its roll-up row */
        const cs_server_ip *v = g_ptr_array_index(ips, j);
        const void *next = NULL;
        for (guint k = i + 1; k < servers->len && next == NULL; k++)
            if (cs_server_row_conns(g_ptr_array_index(servers, k), l)->conns > 0)
                next = g_ptr_array_index(servers, k);
        if (next != NULL && cs_addr_cmp(cs_server_row_family(next, l), cs_server_row_addr(next, l),
                                        v->family, &v->addr) == 0)
            continue;
        j++;
        if (v->ports > 1) {
            snprintf(n, sizeof n, " (%u ports)", v->ports);
            server_conns_row(&t, cs_addr_str(&v->addr, v->family, ep, sizeof ep), n, &v->c);
        }
    }
    g_ptr_array_free(ips, TRUE);
    fputc('\n', out);
    if (color)
        fputs("\033[1m", out);
    fputs(by_ip ? "Connections per server IP" : "Connections per server", out);
    if (color)
        fputs("\033[0m", out);
    fputc('\n', out);
    if (rows > 0)
        cs_table_print(&t, out);
    else {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(out, "  (none)\n");
    }
}

static void print_server_table(cs_report *r, GPtrArray *servers)
{
    cs_server_layout l = CS_SERVER_LAYOUT(cs_server_stats);
    cs_report_server_table(r->out, servers, &l, r->by_ip, r->color);
}

static void text_http(cs_report *r, const cs_http_row *row)
{
    if (!r->list_http)
        return;
    const cs_http_tx *tx = row->tx;
    cs_http_times t;
    char ttfb[32], total[32], b0[32], b1[32], ts[40], status[8] = "-";
    cs_http_times_of(tx, &t);
    if (tx->has_response)
        snprintf(status, sizeof status, "%u", tx->status);
    GString *target = g_string_new(NULL);
    if (tx->host != NULL)
        g_string_append(target, tx->host);
    g_string_append(target, tx->uri != NULL ? tx->uri : "-");
    if (g_utf8_strlen(target->str, -1) > 60 || !g_utf8_validate(target->str, -1, NULL)) {
        gchar *v = g_utf8_make_valid(target->str, -1);
        gchar *cut = g_utf8_substring(v, 0, 57);
        g_string_printf(target, "%s...", cut);
        g_free(cut);
        g_free(v);
    }
    for (gsize i = 0; i < target->len; i++)
        if ((guchar)target->str[i] < 0x20 || target->str[i] == '\t')
            target->str[i] = '?';
    char depth[32];
    if (tx->h2_stream_id > 0) /* HTTP/2: the stream id too */
        g_snprintf(depth, sizeof depth, "%u h2:%u", tx->depth, tx->h2_stream_id);
    else
        g_snprintf(depth, sizeof depth, "%u", tx->depth);
    gchar *line = g_strdup_printf(
        "%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", row->stream, depth,
        cs_fmt_time(tx->has_request ? tx->req_start : tx->resp_start, ts, sizeof ts),
        tx->method != NULL ? tx->method : "-", target->str, status,
        cs_fmt_bytes(tx->req_body_len, b0, sizeof b0),
        cs_fmt_bytes(tx->resp_body_len, b1, sizeof b1),
        t.ttfb_us >= 0 ? cs_fmt_duration(t.ttfb_us * CS_NS_PER_US, ttfb, sizeof ttfb) : "-",
        t.total_us >= 0 ? cs_fmt_duration(t.total_us * CS_NS_PER_US, total, sizeof total) : "-",
        cs_http_outcome_name((cs_http_outcome)tx->outcome));
    /* sort key in front: stream and depth, zero-padded, cut off when printing */
    gchar *keyed = g_strdup_printf("%020" G_GUINT64_FORMAT "%010u%s", row->stream, tx->depth, line);
    g_free(line);
    g_ptr_array_add(r->http_rows, keyed);
    g_string_free(target, TRUE);
}

static gint cmp_keyed(gconstpointer a, gconstpointer b)
{
    return strncmp(*(const char *const *)a, *(const char *const *)b, 30);
}

static void print_http_exchanges(cs_report *r)
{
    cs_table t;
    title(r, "HTTP exchanges (%u)", r->http_rows->len);
    cs_table_init(&t, "rrlllrrrrrl");
    cs_table_row(&t, "stream\tdepth\tstart (UTC)\tmethod\thost+uri\tstatus\treq body\tresp body"
                  "\tttfb\ttotal\toutcome");
    g_ptr_array_sort(r->http_rows, cmp_keyed);
    for (guint i = 0; i < r->http_rows->len; i++)
        cs_table_row(&t, "%s", (const char *)g_ptr_array_index(r->http_rows, i) + 30);
    cs_table_print(&t, r->out);
}

static void print_http_servers(cs_report *r, const cs_stats *st)
{
    if (st->http_requests + st->http_responses == 0)
        return;
    GPtrArray *hs = cs_stats_http_servers_sorted(st);
    cs_table t;
    char ep[64], p50[32], p90[32], p99[32], mx[32];
    bool ver = st->http2_exchanges > 0; /* a version column once HTTP/2 was seen */
    cs_table_init(&t, ver ? "lllrrrrrrrrrrrrr" : "llrrrrrrrrrrrrr");
    cs_table_row(&t,
                 "server\thost%s\trequests\tresponses\tno resp\torphan\t1xx\t2xx\t3xx\t4xx"
                 "\t5xx\tttfb p50\tp90\tp99\tmax",
                 ver ? "\tversion" : "");
    for (guint i = 0; i < hs->len; i++) {
        const cs_http_server *v = g_ptr_array_index(hs, i);
        const cs_hist *h = &v->ttfb_us;
        gchar *host = g_utf8_make_valid(v->host[0] ? v->host : "-", -1);
        if (g_utf8_strlen(host, -1) > 40) {
            gchar *cut = g_utf8_substring(host, 0, 37);
            g_free(host);
            host = g_strconcat(cut, "...", NULL);
            g_free(cut);
        }
        for (gchar *q = host; *q; q++)
            if ((guchar)*q < 0x20)
                *q = '?';
        if (ver) { /* the version cell rides with the host cell */
            gchar *hv = g_strdup_printf("%s\t%s", host, v->version == 2 ? "2" : "1.x");
            g_free(host);
            host = hv;
        }
        cs_table_row(&t,
                  "%s\t%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                  "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                  "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                  "\t%s\t%s\t%s\t%s",
                  cs_endpoint_str(&v->addr, v->family, v->port, ep, sizeof ep), host, v->requests,
                  v->responses, v->unanswered, v->orphans, v->status_class[1], v->status_class[2],
                  v->status_class[3], v->status_class[4], v->status_class[5],
                  h->n ? cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 50) * CS_NS_PER_US, p50,
                                         sizeof p50)
                       : "-",
                  h->n ? cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 90) * CS_NS_PER_US, p90,
                                         sizeof p90)
                       : "-",
                  h->n ? cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 99) * CS_NS_PER_US, p99,
                                         sizeof p99)
                       : "-",
                  h->n ? cs_fmt_duration((cs_time_t)h->max * CS_NS_PER_US, mx, sizeof mx) : "-");
        g_free(host);
    }
    char h2[96] = "";
    if (ver)
        g_snprintf(h2, sizeof h2,
                   " (%" G_GUINT64_FORMAT " exchange%s over HTTP/2 on %" G_GUINT64_FORMAT ")",
                   st->http2_exchanges, st->http2_exchanges == 1 ? "" : "s", st->http2_conns);
    title(r,
          "HTTP per server: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
          " responses, %" G_GUINT64_FORMAT " paired, on %" G_GUINT64_FORMAT " connection%s%s",
          st->http_requests, st->http_responses, st->http_paired, st->http_conns,
          st->http_conns == 1 ? "" : "s", h2);
    cs_table_print(&t, r->out);
    g_ptr_array_free(hs, TRUE);
}

/* "TLSv13 3, TLSv12 1" from a name -> count table, names in reverse order (newest version first). */
static gchar *format_counts(GHashTable *t, const char *empty_as)
{
    GPtrArray *keys = cs_str_keys_sorted(t);
    GString *out = g_string_new(NULL);
    for (guint i = keys->len; i-- > 0;) {
        const char *name = g_ptr_array_index(keys, i);
        g_string_append_printf(out, "%s%s %u", out->len ? ", " : "", name[0] ? name : empty_as,
                               GPOINTER_TO_UINT(g_hash_table_lookup(t, name)));
    }
    g_ptr_array_free(keys, TRUE);
    return g_string_free(out, FALSE);
}

static void print_tls_servers(cs_report *r, const cs_stats *st)
{
    if (st->tls_conns == 0)
        return;
    GPtrArray *ts = cs_stats_tls_servers_sorted(st);
    cs_table t;
    char ep[64], p50[32], p90[32], mx[32], b0[32], b1[32];
    cs_table_init(&t, "llrrllrrrrrr");
    cs_table_row(&t, "server\tSNI\tconns\testablished\tversions\tALPN\thandshake p50\tp90\tmax"
                  "\tbytes c>s\tbytes s>c\texchanges (est.)");
    for (guint i = 0; i < ts->len; i++) {
        const cs_tls_server *v = g_ptr_array_index(ts, i);
        const cs_hist *h = &v->handshake_us;
        gchar *vers = format_counts(v->versions, "none");
        gchar *alpn = format_counts(v->alpn, "-");
        gchar *sni = g_utf8_make_valid(v->sni[0] ? v->sni : "-", -1);
        char est[24] = "-"; /* none made when every connection was HTTP/2 without keys */
        if (v->http2_opaque < v->conns)
            g_snprintf(est, sizeof est, "%" G_GUINT64_FORMAT, v->est_exchanges);
        for (gchar *q = sni; *q; q++)
            if ((guchar)*q < 0x20 || *q == '\t')
                *q = '?';
        cs_table_row(&t,
                     "%s\t%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                     "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
                     cs_endpoint_str(&v->addr, v->family, v->port, ep, sizeof ep), sni, v->conns,
                     v->established, vers, alpn,
                     h->n ? cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 50) * CS_NS_PER_US,
                                            p50, sizeof p50)
                          : "-",
                     h->n ? cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 90) * CS_NS_PER_US,
                                            p90, sizeof p90)
                          : "-",
                     h->n ? cs_fmt_duration((cs_time_t)h->max * CS_NS_PER_US, mx, sizeof mx) : "-",
                     cs_fmt_bytes(v->app_bytes[0], b0, sizeof b0),
                     cs_fmt_bytes(v->app_bytes[1], b1, sizeof b1), est);
        g_free(vers);
        g_free(alpn);
        g_free(sni);
    }
    title(r, "TLS per server and SNI: %" G_GUINT64_FORMAT " connection%s, %" G_GUINT64_FORMAT
             " established%s",
          st->tls_conns, st->tls_conns == 1 ? "" : "s", st->tls_established,
          st->tls_decrypted > 0 ? ", some decrypted with the key log (their HTTP is above)" : "");
    cs_table_print(&t, r->out);
    if (st->tls_http2_opaque > 0)
        fprintf(r->out,
                "  (%" G_GUINT64_FORMAT " connection%s negotiated HTTP/2 (ALPN h2) and %s not "
                "decrypted: connection-level counts only, no exchange estimate)\n",
                st->tls_http2_opaque, st->tls_http2_opaque == 1 ? "" : "s",
                st->tls_http2_opaque == 1 ? "was" : "were");
    fprintf(r->out, "  (exchanges (est.): client data bursts each answered by a server burst; "
                    "an estimate made without keys)\n");
    g_ptr_array_free(ts, TRUE);
}

static gint cmp_state(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_states(cs_report *r, const cs_stats *st)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, st->states);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, cmp_state);
    fprintf(r->out, "\nConnection states (Zeek conn_state):");
    for (guint i = 0; i < keys->len; i++) {
        const char *name = g_ptr_array_index(keys, i);
        fprintf(r->out, " %s=%u", name, GPOINTER_TO_UINT(g_hash_table_lookup(st->states, name)));
    }
    fprintf(r->out, "%s\n", keys->len == 0 ? " (none)" : "");
    g_ptr_array_free(keys, TRUE);
}

static void print_anomalies(cs_report *r, const cs_counters *c)
{
    if (cs_report_anomaly_total(c) == 0) {
        fprintf(r->out, "\nAnomalies: none\n");
        return;
    }
    cs_table t;
    cs_table_init(&t, "rll");
    for (int a = 0; a < CS_ANOM_COUNT; a++)
        if (c->anomalies[a] > 0)
            cs_table_row(&t, "%" G_GUINT64_FORMAT "\t%s\t%s", c->anomalies[a],
                      cs_anomaly_name((cs_anomaly)a), cs_anomaly_desc((cs_anomaly)a));
    title(r, "Anomalies");
    cs_table_print(&t, r->out);
    if (c->gap_bytes > 0 || c->payload_cut_bytes > 0)
        fprintf(r->out, "  (%" G_GUINT64_FORMAT " payload bytes missing in gaps, %" G_GUINT64_FORMAT
                        " cut by the snaplen)\n",
                c->gap_bytes, c->payload_cut_bytes);
}

static gint cmp_syn_desc(gconstpointer pa, gconstpointer pb)
{
    const cs_server_stats *a = *(cs_server_stats *const *)pa;
    const cs_server_stats *b = *(cs_server_stats *const *)pb;
    return (a->syn_pkts < b->syn_pkts) - (a->syn_pkts > b->syn_pkts);
}

static void text_interval(cs_report *r, const cs_stats *st, const cs_interval_info *iv)
{
    char t0[40], t1[40], b[32];
    fprintf(r->out, "== %s .. %s UTC: %" G_GUINT64_FORMAT " packets (%s)", cs_fmt_time(iv->start, t0, sizeof t0),
            cs_fmt_time(iv->end, t1, sizeof t1), iv->ctr->packets,
            cs_fmt_bytes(iv->ctr->bytes, b, sizeof b));
    if (iv->have_drops)
        fprintf(r->out, ", dropped %" G_GUINT64_FORMAT " by the kernel, %" G_GUINT64_FORMAT
                        " by the interface",
                iv->drops[1], iv->drops[2]);
    fprintf(r->out,
            "\n   connections started %" G_GUINT64_FORMAT ", ended %" G_GUINT64_FORMAT
            "; SYN without ACK %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " attempts)\n",
            st->conns_started, st->conns, st->syn_pkts, st->syn_attempts);
    GPtrArray *servers = cs_stats_servers_sorted(st);
    g_ptr_array_sort(servers, cmp_syn_desc);
    guint shown = 0;
    for (guint i = 0; i < servers->len && shown < 5; i++) {
        const cs_server_stats *sv = g_ptr_array_index(servers, i);
        if (sv->syn_pkts == 0)
            break;
        char ep[64];
        fprintf(r->out, "%s%s %" G_GUINT64_FORMAT, shown == 0 ? "   SYN per destination: " : ", ",
                cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->syn_pkts);
        shown++;
    }
    if (shown > 0)
        fprintf(r->out, "%s\n",
                servers->len > shown &&
                        ((const cs_server_stats *)g_ptr_array_index(servers, shown))->syn_pkts > 0
                    ? ", ..." /* more destinations got SYNs */
                    : "");
    g_ptr_array_free(servers, TRUE);
    if (st->tls_conns > 0)
        fprintf(r->out, "   TLS connections ended %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                        " established)\n", st->tls_conns, st->tls_established);
    if (st->http_requests + st->http_responses > 0) {
        const cs_hist *h = &st->http_ttfb_us;
        char p50[32], p90[32], p99[32];
        fprintf(r->out,
                "   HTTP %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                " responses (1xx %" G_GUINT64_FORMAT " 2xx %" G_GUINT64_FORMAT " 3xx %" G_GUINT64_FORMAT
                " 4xx %" G_GUINT64_FORMAT " 5xx %" G_GUINT64_FORMAT ")",
                st->http_requests, st->http_responses, st->http_status_class[1],
                st->http_status_class[2], st->http_status_class[3], st->http_status_class[4],
                st->http_status_class[5]);
        if (h->n > 0)
            fprintf(r->out, ", ttfb p50 %s p90 %s p99 %s",
                    cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 50) * CS_NS_PER_US, p50, sizeof p50),
                    cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 90) * CS_NS_PER_US, p90, sizeof p90),
                    cs_fmt_duration((cs_time_t)cs_hist_percentile(h, 99) * CS_NS_PER_US, p99, sizeof p99));
        fputc('\n', r->out);
    }
    fflush(r->out);
}

static void text_finish(cs_report *r, const cs_stats *st, const cs_run_info *info)
{
    const cs_counters *c = info->ctr;
    char b[32], t0[40], t1[40], d[32];
    int n = cs_source_count(info->src);

    fprintf(r->out, "connscope %s: %d input%s, %" G_GUINT64_FORMAT " packets (%s), %" G_GUINT64_FORMAT
                    " TCP, %" G_GUINT64_FORMAT " connection%s\n",
            info->version, n, n == 1 ? "" : "s", c->packets, cs_fmt_bytes(c->bytes, b, sizeof b),
            c->tcp, st->conns, st->conns == 1 ? "" : "s");
    if (st->conns > 0)
        fprintf(r->out, "time span: %s to %s UTC (%s)\n", cs_fmt_time(st->first_ts, t0, sizeof t0),
                cs_fmt_time(st->last_ts, t1, sizeof t1),
                cs_fmt_duration(st->last_ts - st->first_ts, d, sizeof d));
    if (info->filter != NULL)
        fprintf(r->out, "filter: %s\n", info->filter);
    if (info->partial)
        fprintf(r->out, "(report during the run: connections still open are not included)\n");
    if (info->parallel > 1)
        fprintf(r->out, "(-j %d: files analysed in %d groups; stream indices restart in each group)\n",
                info->parallel, info->parallel);
    if (info->have_drops)
        fprintf(r->out,
                "live capture: %" G_GUINT64_FORMAT " packets received by the filter, %" G_GUINT64_FORMAT
                " dropped by the kernel, %" G_GUINT64_FORMAT " by the interface%s\n",
                info->drops[0], info->drops[1], info->drops[2],
                info->drops[1] + info->drops[2] > 0 ? " (counts below are incomplete)" : "");
    if (r->list_conns) {
        print_conn_table(r);
        print_http_conn_table(r);
        print_tls_conn_table(r);
    }
    GPtrArray *servers = cs_stats_servers_sorted(st);
    print_syn_table(r, servers);
    print_server_table(r, servers);
    g_ptr_array_free(servers, TRUE);
    if (r->list_http && r->http_rows->len > 0)
        print_http_exchanges(r);
    print_http_servers(r, st);
    print_look(r);
    print_tls_servers(r, st);
    cs_report_udp_text(r, info);
    cs_report_quic_text(r, info);
    if (info->analytics != NULL && info->analytics_opts != NULL) {
        fputc('\n', r->out);
        cs_analytics_report_text(info->analytics, info->analytics_opts, r->out);
    }
    print_states(r, st);
    print_anomalies(r, c);
    if (st->keys_capped > 0)
        fprintf(r->out, "Tables capped: %" G_GUINT64_FORMAT " events went to '(other)' rows because a "
                        "table reached --max-keys %u entries\n",
                st->keys_capped, st->max_keys);
    for (int i = 0; i < n; i++) {
        const cs_input *in = cs_source_input(info->src, i);
        if (in->message != NULL)
            fprintf(r->out, "input error: %s\n", in->message);
    }
}

static void text_destroy(cs_report *r)
{
    text_report *t = (text_report *)r;
    for (guint i = 0; i < t->tls_rows->len; i++)
        g_free(g_array_index(t->tls_rows, conn_brief, i).sni);
    g_array_free(t->tls_rows, TRUE);
    g_array_free(t->most.heap, TRUE);
    g_array_free(t->slowest.heap, TRUE);
    g_ptr_array_free(r->http_rows, TRUE);
    if (r->rows != NULL)
        g_array_free(r->rows, TRUE);
    r->rows = NULL;
    cs_report_base_destroy(r);
}

cs_report *cs_report_text_new(FILE *out, bool list_conns, bool list_http)
{
    text_report *t = g_new0(text_report, 1);
    cs_report *r = &t->base;
    t->tls_rows = g_array_new(FALSE, FALSE, sizeof(conn_brief));
    t->most = (look_list){g_array_new(FALSE, FALSE, sizeof(conn_brief)), better_requests};
    t->slowest = (look_list){g_array_new(FALSE, FALSE, sizeof(conn_brief)), better_ttfb};
    r->top_n = 5;
    r->conn = text_conn;
    r->finish = text_finish;
    r->destroy = text_destroy;
    r->out = out;
    r->list_conns = list_conns;
    r->list_http = list_http;
    r->http = text_http;
    r->interval = text_interval;
    r->http_rows = g_ptr_array_new_with_free_func(g_free);
    r->buf = g_string_new(NULL);
    r->rows = g_array_new(FALSE, FALSE, sizeof(cs_conn_row));
    return r;
}

void cs_report_base_destroy(cs_report *r)
{
    if (r->buf != NULL)
        g_string_free(r->buf, TRUE);
    g_free(r);
}

uint64_t cs_report_anomaly_total(const cs_counters *c)
{
    uint64_t n = 0;
    for (int a = 0; a < CS_ANOM_COUNT; a++)
        n += c->anomalies[a];
    return n;
}
