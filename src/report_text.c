/* report_text.c - the human-readable report: SYNs per destination, connections per server, states,
 * anomalies and inputs, plus the per-connection table with --connections. Columns are aligned. */
#include <string.h>

#include "report.h"
#include "util.h"

/* ---- aligned tables ------------------------------------------------------------------------ */

/* ---- sections ------------------------------------------------------------------------------ */

/* Starts a section: a blank line, then the title (bold with --color). */
static void G_GNUC_PRINTF(2, 3) title(cs_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputc('\n', r->out);
    if (r->color)
        fputs("\033[1m", r->out);
    vfprintf(r->out, fmt, ap);
    if (r->color)
        fputs("\033[0m", r->out);
    fputc('\n', r->out);
    va_end(ap);
}

static void text_conn(cs_report *r, const cs_conn_row *row)
{
    if (r->list_conns)
        g_array_append_val(r->rows, *row);
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
    cs_table_init(&t, "rllllrrrrrll");
    cs_table_row(&t, "stream\tclient\tserver\tstart (UTC)\tduration\tpkts c>s\tpkts s>c\tbytes c>s"
                  "\tbytes s>c\thandshake rtt\tstate\thistory");
    for (guint i = 0; i < r->rows->len; i++) {
        const cs_conn_row *row = &g_array_index(r->rows, cs_conn_row, i);
        cs_table_row(&t, "%" G_GUINT64_FORMAT "%s\t%s\t%s\t%s\t%s\t%" G_GUINT64_FORMAT
                      "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s",
                  row->stream, row->resumed ? "r" : "",
                  cs_endpoint_str(&row->addr[0], row->family, row->port[0], c, sizeof c),
                  cs_endpoint_str(&row->addr[1], row->family, row->port[1], s, sizeof s),
                  cs_fmt_time(row->start, ts, sizeof ts),
                  cs_fmt_duration(row->end - row->start, dur, sizeof dur), row->pkts[0],
                  row->pkts[1], cs_fmt_bytes(row->bytes[0], b0, sizeof b0),
                  cs_fmt_bytes(row->bytes[1], b1, sizeof b1),
                  cs_fmt_duration(row->rtt_syn, rtt, sizeof rtt), row->state, row->history);
    }
    cs_table_print(&t, r->out);
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

static void print_server_table(cs_report *r, GPtrArray *servers)
{
    cs_table t;
    char ep[64], b0[32], b1[32], d50[32], dmax[32];
    cs_table_init(&t, "lrrrrrrrrr");
    cs_table_row(&t, "server\tconns\testablished\trefused\treset\topen at end\tbytes c>s\tbytes s>c"
                  "\tmedian dur\tmax dur");
    guint rows = 0;
    for (guint i = 0; i < servers->len; i++) {
        const cs_server_stats *sv = g_ptr_array_index(servers, i);
        if (sv->conns == 0)
            continue;
        rows++;
        cs_table_row(&t, "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                      "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s",
                  cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->conns,
                  sv->established, sv->refused, sv->reset, sv->open_at_end,
                  cs_fmt_bytes(sv->bytes_c2s, b0, sizeof b0),
                  cs_fmt_bytes(sv->bytes_s2c, b1, sizeof b1),
                  cs_fmt_duration((cs_time_t)cs_hist_percentile(&sv->duration_us, 50) *
                                      CS_NS_PER_US, d50, sizeof d50),
                  cs_fmt_duration((cs_time_t)sv->duration_us.max * CS_NS_PER_US, dmax,
                                  sizeof dmax));
    }
    title(r, "Connections per server");
    if (rows > 0)
        cs_table_print(&t, r->out);
    else {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(r->out, "  (none)\n");
    }
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

/* "TLSv13 3, TLSv12 1" from a name -> count table, largest first. */
static gchar *format_counts(GHashTable *t, const char *empty_as)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, (GCompareFunc)(void (*)(void))g_strcmp0);
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
    if (r->list_conns)
        print_conn_table(r);
    GPtrArray *servers = cs_stats_servers_sorted(st);
    print_syn_table(r, servers);
    print_server_table(r, servers);
    g_ptr_array_free(servers, TRUE);
    if (r->list_http && r->http_rows->len > 0)
        print_http_exchanges(r);
    print_http_servers(r, st);
    print_tls_servers(r, st);
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
    g_ptr_array_free(r->http_rows, TRUE);
    if (r->rows != NULL)
        g_array_free(r->rows, TRUE);
    r->rows = NULL;
    cs_report_base_destroy(r);
}

cs_report *cs_report_text_new(FILE *out, bool list_conns, bool list_http)
{
    cs_report *r = g_new0(cs_report, 1);
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
