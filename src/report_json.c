/* report_json.c - JSON lines output: one "conn" object per connection (Zeek conn.log field names where
 * one exists), then "syn_dest", "server" and one "summary" object with counters and inputs. */
#include "app_tls.h"
#include "json.h"
#include "report.h"
#include "report_record.h"
#include "util.h"

static void json_addr(cs_json *j, const char *key, const cs_addr *a, uint8_t family)
{
    char buf[64];
    cs_json_str(j, key, cs_addr_str(a, family, buf, sizeof buf));
}

void cs_report_json_begin(cs_report *r, cs_json *j, const char *type)
{
    g_string_truncate(r->buf, 0);
    cs_json_init(j, r->buf);
    cs_json_obj_begin(j, NULL);
    cs_json_str(j, "type", type);
}

void cs_report_json_end(cs_report *r, cs_json *j)
{
    cs_json_obj_end(j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

void cs_report_json_addr(cs_json *j, const char *key, const cs_addr *a, uint8_t family)
{
    json_addr(j, key, a, family);
}

static void json_us_or_null(cs_json *j, const char *key, cs_time_t ns)
{
    if (ns < 0)
        cs_json_null(j, key);
    else
        cs_json_double(j, key, (double)ns / 1e3, 3);
}

/* TLS 1.3 without keys hides the ALPN choice: when the client offered h2 the direction-turn
 * estimate may be counting multiplexed HTTP/2 streams. */
static bool may_be_http2(const cs_tls_summary *t, const cs_conn_row *row)
{
    if (row->has_http || t->next_protocol[0] != '\0' || strcmp(t->version_name, "TLSv13") != 0)
        return false;
    gchar **offers = g_strsplit(t->alpn_offered, ",", -1);
    bool h2 = g_strv_contains((const gchar *const *)offers, "h2");
    g_strfreev(offers);
    return h2;
}

/* One "tls" object per TLS connection, with Zeek ssl.log names where one exists. */
static void json_tls(cs_report *r, const cs_conn_row *row)
{
    const cs_tls_summary *t = row->tls;
    cs_json j;
    char buf[32];
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "tls");
    cs_json_time(&j, "ts", t->client_hello ? t->client_hello_ts : row->start);
    cs_json_str(&j, "uid", row->uid[0] ? row->uid : NULL);
    cs_json_uint(&j, "stream", row->stream);
    json_addr(&j, "id.orig_h", &row->addr[0], row->family);
    cs_json_uint(&j, "id.orig_p", row->port[0]);
    json_addr(&j, "id.resp_h", &row->addr[1], row->family);
    cs_json_uint(&j, "id.resp_p", row->port[1]);
    cs_json_str(&j, "version", t->server_hello ? t->version_name : NULL);
    cs_json_str(&j, "cipher", t->server_hello ? t->cipher_name : NULL);
    cs_json_str(&j, "curve", t->curve[0] ? t->curve : NULL);
    cs_json_str(&j, "server_name", t->server_name[0] ? t->server_name : NULL);
    cs_json_bool(&j, "resumed", t->resumed);
    static const char *const how[] = {NULL, "session_id", "ticket", "psk"};
    cs_json_str(&j, "resumed_by", t->resumed_how < 4 ? how[t->resumed_how] : NULL);
    cs_json_str(&j, "last_alert", t->last_alert[0] ? t->last_alert : NULL);
    cs_json_str(&j, "next_protocol", t->next_protocol[0] ? t->next_protocol : NULL);
    cs_json_bool(&j, "established", t->established);
    cs_json_str(&j, "ssl_history", t->history);
    cs_json_str(&j, "alpn_offered", t->alpn_offered[0] ? t->alpn_offered : NULL);
    cs_json_arr_begin(&j, "client_versions");
    for (int i = 0; i < t->n_offered_versions; i++)
        cs_json_str(&j, NULL, cs_tls_version_name(t->offered_versions[i], buf));
    cs_json_arr_end(&j);
    cs_json_bool(&j, "hello_retry", t->hello_retry);
    cs_json_str(&j, "ja3", t->ja3_md5[0] ? t->ja3_md5 : NULL);
    cs_json_str(&j, "ja3s", t->ja3s_md5[0] ? t->ja3s_md5 : NULL);
    cs_json_str(&j, "ja4", t->ja4[0] ? t->ja4 : NULL);
    json_us_or_null(&j, "handshake_us", t->handshake_ns);
    cs_json_uint(&j, "orig_records", t->records[0]);
    cs_json_uint(&j, "resp_records", t->records[1]);
    cs_json_uint(&j, "orig_app_records", t->app_records[0]);
    cs_json_uint(&j, "resp_app_records", t->app_records[1]);
    cs_json_uint(&j, "orig_app_bytes", t->app_bytes[0]);
    cs_json_uint(&j, "resp_app_bytes", t->app_bytes[1]);
    if (row->http2 && !row->has_h2) { /* HTTP/2 without keys: turns do not count streams */
        cs_json_null(&j, "estimated_exchanges");
        cs_json_str(&j, "estimate", "not_made_http2");
    } else {
        cs_json_uint(&j, "estimated_exchanges", t->estimated_exchanges);
        if (may_be_http2(t, row))
            cs_json_str(&j, "estimate", "may_be_http2");
    }
    if (t->estimated_exchanges > 0 && t->turn_min >= 0 && !(row->http2 && !row->has_h2)) {
        cs_json_double(&j, "estimated_turn_min_us", (double)t->turn_min / 1e3, 3);
        cs_json_double(&j, "estimated_turn_avg_us",
                       (double)t->turn_sum / 1e3 / (double)t->estimated_exchanges, 3);
        cs_json_double(&j, "estimated_turn_max_us", (double)t->turn_max / 1e3, 3);
    }
    cs_json_str(&j, "decryption", cs_tls_dec_status_name((cs_tls_dec_status)t->dec_status));
    cs_json_uint(&j, "decrypted_records", t->dec_records);
    cs_json_uint(&j, "failed_records", t->dec_failed);
    if (row->has_http)
        cs_json_uint(&j, "http_exchanges", row->http.paired);
    cs_json_bool(&j, "http2", row->http2);
    cs_json_uint(&j, "tls_anomalies", t->anomalies);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

static void json_conn(cs_report *r, const cs_conn_row *row)
{
    cs_json j;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_rec rec = {.json = &j};
    cs_rec_conn(&rec, row);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
    if (row->tls != NULL)
        json_tls(r, row);
}

static void json_drops(cs_json *j, bool have, const uint64_t d[3])
{
    if (!have) {
        cs_json_null(j, "drops");
        return;
    }
    cs_json_obj_begin(j, "drops");
    cs_json_uint(j, "received", d[0]);
    cs_json_uint(j, "dropped", d[1]);
    cs_json_uint(j, "if_dropped", d[2]);
    cs_json_obj_end(j);
}

static void json_status_classes(cs_json *j, const uint64_t c[6])
{
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    cs_json_obj_begin(j, "status_classes");
    for (int i = 0; i < 6; i++)
        cs_json_uint(j, cls[i], c[i]);
    cs_json_obj_end(j);
}

static void json_percentiles(cs_json *j, const char *name, const cs_hist *h)
{
    char key[40];
    if (h->n == 0)
        return;
    static const double qs[] = {50, 90, 99};
    for (size_t i = 0; i < CS_ARRAY_LEN(qs); i++) {
        snprintf(key, sizeof key, "%s_p%.0f_us", name, qs[i]);
        cs_json_uint(j, key, cs_hist_percentile(h, qs[i]));
    }
    snprintf(key, sizeof key, "%s_max_us", name);
    cs_json_uint(j, key, h->max);
}

static void json_http(cs_report *r, const cs_http_row *row)
{
    cs_json j;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_rec rec = {.json = &j};
    cs_rec_http(&rec, row);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

static void json_http_server(cs_report *r, const cs_http_server *v)
{
    cs_json j;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "http_server");
    json_addr(&j, "resp_h", &v->addr, v->family);
    cs_json_uint(&j, "resp_p", v->port);
    cs_json_str(&j, "host", v->host[0] ? v->host : NULL);
    cs_json_str(&j, "version", v->version == 2 ? "2" : "1.x");
    cs_json_uint(&j, "requests", v->requests);
    cs_json_uint(&j, "responses", v->responses);
    cs_json_uint(&j, "paired", v->paired);
    cs_json_uint(&j, "unanswered", v->unanswered);
    cs_json_uint(&j, "orphan_responses", v->orphans);
    json_status_classes(&j, v->status_class);
    json_percentiles(&j, "ttfb", &v->ttfb_us);
    json_percentiles(&j, "ttlb", &v->ttlb_us);
    json_percentiles(&j, "total", &v->total_us);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

static void json_counts(cs_json *j, const char *key, GHashTable *t, const char *empty_as)
{
    cs_json_obj_begin(j, key);
    GPtrArray *keys = cs_str_keys_sorted(t);
    for (guint i = 0; i < keys->len; i++) {
        const char *name = g_ptr_array_index(keys, i);
        cs_json_uint(j, name[0] ? name : empty_as, GPOINTER_TO_UINT(g_hash_table_lookup(t, name)));
    }
    g_ptr_array_free(keys, TRUE);
    cs_json_obj_end(j);
}

static void json_tls_server(cs_report *r, const cs_tls_server *v)
{
    cs_json j;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "tls_server");
    json_addr(&j, "resp_h", &v->addr, v->family);
    cs_json_uint(&j, "resp_p", v->port);
    cs_json_str(&j, "server_name", v->sni[0] ? v->sni : NULL);
    cs_json_uint(&j, "conns", v->conns);
    cs_json_uint(&j, "established", v->established);
    cs_json_uint(&j, "resumed", v->resumed);
    cs_json_uint(&j, "http2", v->http2);
    cs_json_uint(&j, "decrypted", v->decrypted);
    if (v->http2_opaque > 0)
        cs_json_uint(&j, "http2_not_estimated", v->http2_opaque);
    json_counts(&j, "versions", v->versions, "none");
    json_counts(&j, "next_protocols", v->alpn, "none");
    cs_json_uint(&j, "orig_app_bytes", v->app_bytes[0]);
    cs_json_uint(&j, "resp_app_bytes", v->app_bytes[1]);
    cs_json_uint(&j, "estimated_exchanges", v->est_exchanges);
    cs_json_uint(&j, "http_exchanges", v->http_exchanges);
    json_percentiles(&j, "handshake", &v->handshake_us);
    json_percentiles(&j, "estimated_turn", &v->turn_us);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

static void json_server(cs_report *r, const cs_server_stats *sv)
{
    cs_json j;
    if (sv->syn_pkts > 0) {
        g_string_truncate(r->buf, 0);
        cs_json_init(&j, r->buf);
        cs_json_obj_begin(&j, NULL);
        cs_json_str(&j, "type", "syn_dest");
        json_addr(&j, "dst_h", &sv->addr, sv->family);
        cs_json_uint(&j, "dst_p", sv->port);
        cs_json_uint(&j, "syn_pkts", sv->syn_pkts);
        cs_json_uint(&j, "attempts", sv->syn_attempts);
        cs_json_uint(&j, "retransmitted_syns", sv->syn_pkts - sv->syn_attempts);
        cs_json_uint(&j, "answered_synack", sv->syn_answered);
        cs_json_uint(&j, "answered_rst", sv->syn_rst);
        cs_json_uint(&j, "unanswered", sv->syn_unanswered);
        cs_json_obj_end(&j);
        fwrite(r->buf->str, 1, r->buf->len, r->out);
    }
    if (sv->c.conns == 0 || r->by_ip)
        return;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "server");
    json_addr(&j, "resp_h", &sv->addr, sv->family);
    cs_json_uint(&j, "resp_p", sv->port);
    cs_report_json_server_conns(&j, &sv->c);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

void cs_report_json_server_conns(cs_json *j, const cs_server_conns *c)
{
    cs_json_uint(j, "conns", c->conns);
    cs_json_uint(j, "established", c->established);
    cs_json_uint(j, "refused", c->refused);
    cs_json_uint(j, "reset", c->reset);
    cs_json_uint(j, "open_at_end", c->open_at_end);
    cs_json_uint(j, "midstream", c->midstream);
    cs_json_uint(j, "orig_bytes", c->bytes_c2s);
    cs_json_uint(j, "resp_bytes", c->bytes_s2c);
    cs_json_uint(j, "orig_pkts", c->pkts_c2s);
    cs_json_uint(j, "resp_pkts", c->pkts_s2c);
    cs_json_uint(j, "duration_p50_us", cs_hist_percentile(&c->duration_us, 50));
    cs_json_uint(j, "duration_max_us", c->duration_us.max);
    if (c->rtt_us.n > 0) {
        cs_json_uint(j, "rtt_p50_us", cs_hist_percentile(&c->rtt_us, 50));
        cs_json_uint(j, "rtt_max_us", c->rtt_us.max);
    }
}

void cs_report_json_server_ips(FILE *out, GString *buf, const GPtrArray *ips)
{
    for (guint i = 0; i < ips->len; i++) {
        const cs_server_ip *v = g_ptr_array_index(ips, i);
        cs_json j;
        g_string_truncate(buf, 0);
        cs_json_init(&j, buf);
        cs_json_obj_begin(&j, NULL);
        cs_json_str(&j, "type", "server_ip");
        json_addr(&j, "resp_h", &v->addr, v->family);
        cs_json_uint(&j, "ports", v->ports);
        cs_report_json_server_conns(&j, &v->c);
        cs_json_obj_end(&j);
        fputs(buf->str, out);
    }
}

static void json_interval(cs_report *r, const cs_stats *st, const cs_interval_info *iv)
{
    cs_json j;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "interval");
    cs_json_time(&j, "start", iv->start);
    cs_json_time(&j, "end", iv->end);
    cs_json_uint(&j, "packets", iv->ctr->packets);
    cs_json_uint(&j, "bytes", iv->ctr->bytes);
    cs_json_uint(&j, "tcp_packets", iv->ctr->tcp);
    json_drops(&j, iv->have_drops, iv->drops);
    cs_json_uint(&j, "conns_started", st->conns_started);
    cs_json_uint(&j, "conns_ended", st->conns);
    cs_json_uint(&j, "syn_pkts", st->syn_pkts);
    cs_json_uint(&j, "syn_attempts", st->syn_attempts);
    GPtrArray *servers = cs_stats_servers_sorted(st);
    cs_json_arr_begin(&j, "syn_dests");
    for (guint i = 0; i < servers->len; i++) {
        const cs_server_stats *sv = g_ptr_array_index(servers, i);
        if (sv->syn_pkts == 0)
            continue;
        cs_json_obj_begin(&j, NULL);
        json_addr(&j, "dst_h", &sv->addr, sv->family);
        cs_json_uint(&j, "dst_p", sv->port);
        cs_json_uint(&j, "syn_pkts", sv->syn_pkts);
        cs_json_uint(&j, "attempts", sv->syn_attempts);
        cs_json_obj_end(&j);
    }
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, "servers");
    for (guint i = 0; i < servers->len; i++) {
        const cs_server_stats *sv = g_ptr_array_index(servers, i);
        if (sv->c.conns == 0)
            continue;
        cs_json_obj_begin(&j, NULL);
        json_addr(&j, "resp_h", &sv->addr, sv->family);
        cs_json_uint(&j, "resp_p", sv->port);
        cs_json_uint(&j, "conns_ended", sv->c.conns);
        cs_json_uint(&j, "established", sv->c.established);
        cs_json_uint(&j, "refused", sv->c.refused);
        cs_json_uint(&j, "reset", sv->c.reset);
        cs_json_obj_end(&j);
    }
    cs_json_arr_end(&j);
    g_ptr_array_free(servers, TRUE);
    cs_json_uint(&j, "tls_conns_ended", st->tls_conns);
    cs_json_obj_begin(&j, "http");
    cs_json_uint(&j, "requests", st->http_requests);
    cs_json_uint(&j, "responses", st->http_responses);
    cs_json_uint(&j, "paired", st->http_paired);
    json_status_classes(&j, st->http_status_class);
    json_percentiles(&j, "ttfb", &st->http_ttfb_us);
    json_percentiles(&j, "total", &st->http_total_us);
    cs_json_obj_end(&j);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
    fflush(r->out);
}

static void json_finish(cs_report *r, const cs_stats *st, const cs_run_info *info)
{
    GPtrArray *servers = cs_stats_servers_sorted(st);
    for (guint i = 0; i < servers->len; i++)
        json_server(r, g_ptr_array_index(servers, i));
    cs_server_layout l = CS_SERVER_LAYOUT(cs_server_stats);
    GPtrArray *ips = cs_server_ips(servers, &l);
    cs_report_json_server_ips(r->out, r->buf, ips);
    g_ptr_array_free(ips, TRUE);
    g_ptr_array_free(servers, TRUE);
    GPtrArray *hs = cs_stats_http_servers_sorted(st);
    for (guint i = 0; i < hs->len; i++)
        json_http_server(r, g_ptr_array_index(hs, i));
    g_ptr_array_free(hs, TRUE);
    GPtrArray *ts = cs_stats_tls_servers_sorted(st);
    for (guint i = 0; i < ts->len; i++)
        json_tls_server(r, g_ptr_array_index(ts, i));
    g_ptr_array_free(ts, TRUE);
    cs_report_udp_json_finish(r, info);
    cs_report_quic_json_finish(r, info);
    if (info->analytics != NULL && info->analytics_opts != NULL)
        cs_analytics_report_json(info->analytics, info->analytics_opts, r->out);

    cs_json j;
    const cs_counters *c = info->ctr;
    g_string_truncate(r->buf, 0);
    cs_json_init(&j, r->buf);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "type", "summary");
    cs_json_str(&j, "version", info->version);
    cs_json_bool(&j, "partial", info->partial);
    cs_json_int(&j, "parallel_groups", info->parallel > 1 ? info->parallel : 1);
    json_drops(&j, info->have_drops, info->drops);
    cs_json_uint(&j, "packets", c->packets);
    cs_json_uint(&j, "bytes", c->bytes);
    cs_json_uint(&j, "tcp_packets", c->tcp);
    cs_json_uint(&j, "udp_packets", c->udp);
    cs_json_uint(&j, "icmp_packets", c->icmp);
    cs_json_uint(&j, "other_ip_packets", c->other_l4);
    cs_json_uint(&j, "non_ip_packets", c->non_ip);
    cs_json_uint(&j, "tunneled_packets", c->tunneled);
    cs_json_uint(&j, "udp_flows", info->udp != NULL ? info->udp->flows : 0);
    cs_json_uint(&j, "udp_streams", info->udp_streams);
    cs_json_uint(&j, "tunnels", info->tunnels != NULL ? cs_tunnels_count_rows(info->tunnels) : 0);
    cs_report_quic_json_summary(&j, info);
    cs_json_uint(&j, "connections", st->conns);
    cs_json_uint(&j, "connections_started", st->conns_started);
    cs_json_uint(&j, "streams", info->streams);
    cs_json_uint(&j, "established", st->established);
    cs_json_uint(&j, "syn_pkts", st->syn_pkts);
    cs_json_uint(&j, "syn_attempts", st->syn_attempts);
    cs_json_uint(&j, "peak_tracked_connections", info->peak_conns);
    cs_json_uint(&j, "http_connections", st->http_conns);
    cs_json_uint(&j, "http_requests", st->http_requests);
    cs_json_uint(&j, "http_responses", st->http_responses);
    cs_json_uint(&j, "http_paired", st->http_paired);
    cs_json_uint(&j, "http_unanswered", st->http_unanswered);
    cs_json_uint(&j, "http_orphan_responses", st->http_orphans);
    cs_json_uint(&j, "max_keys", st->max_keys);
    cs_json_uint(&j, "keys_capped", st->keys_capped);
    cs_json_uint(&j, "tls_connections", st->tls_conns);
    cs_json_uint(&j, "tls_established", st->tls_established);
    cs_json_uint(&j, "tls_decrypted", st->tls_decrypted);
    cs_json_uint(&j, "tls_http2", st->tls_http2);
    cs_json_uint(&j, "http2_connections", st->http2_conns);
    cs_json_uint(&j, "http2_exchanges", st->http2_exchanges);
    cs_json_uint(&j, "http2_pushed", st->http2_pushed);
    cs_json_obj_begin(&j, "conn_states");
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, st->states);
    while (g_hash_table_iter_next(&it, &k, &v))
        cs_json_uint(&j, k, GPOINTER_TO_UINT(v));
    cs_json_obj_end(&j);
    cs_json_obj_begin(&j, "anomalies");
    for (int a = 0; a < CS_ANOM_COUNT; a++)
        if (c->anomalies[a] > 0)
            cs_json_uint(&j, cs_anomaly_name((cs_anomaly)a), c->anomalies[a]);
    cs_json_obj_end(&j);
    cs_json_uint(&j, "gap_bytes", c->gap_bytes);
    cs_json_uint(&j, "payload_cut_bytes", c->payload_cut_bytes);
    cs_json_arr_begin(&j, "inputs");
    for (int i = 0; i < cs_source_count(info->src); i++) {
        const cs_input *in = cs_source_input(info->src, i);
        static const char *const states[] = {"ok", "truncated", "error"};
        cs_json_obj_begin(&j, NULL);
        cs_json_str(&j, "path", in->path);
        cs_json_uint(&j, "packets", in->packets);
        cs_json_int(&j, "linktype", in->dlt);
        cs_json_str(&j, "status", states[in->state]);
        if (in->message != NULL)
            cs_json_str(&j, "error", in->message);
        cs_json_obj_end(&j);
    }
    cs_json_arr_end(&j);
    cs_json_obj_end(&j);
    fwrite(r->buf->str, 1, r->buf->len, r->out);
}

cs_report *cs_report_json_new(FILE *out)
{
    cs_report *r = g_new0(cs_report, 1);
    r->conn = json_conn;
    r->http = json_http;
    r->udp = cs_report_udp_json;
    r->quic = cs_report_quic_json;
    r->interval = json_interval;
    r->finish = json_finish;
    r->destroy = cs_report_base_destroy;
    r->out = out;
    r->buf = g_string_sized_new(1024);
    return r;
}
