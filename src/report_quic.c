/* report_quic.c - the QUIC parts of the report writers: text tables "QUIC connection attempts per
 * destination" and "QUIC per server"; JSON "quic" records per connection, "quic_server" objects and
 * the quic_* members of the summary. */
#include "json.h"
#include "report.h"
#include "tls_decrypt.h"
#include "tls_names.h"
#include "util.h"

/* ---- text ------------------------------------------------------------------------------------ */

/* The Initials per destination and how many connections got no answer (the SYN report's twin). */
static void text_attempts(cs_report *r, const GPtrArray *servers)
{
    cs_table t;
    char ep[64];
    cs_table_init(&t, "lrrrrrr");
    cs_table_row(&t, "destination\tattempts\tInitial pkts\tanswered\tversion neg.\tretry only"
                     "\tno answer");
    for (guint i = 0; i < servers->len; i++) {
        const cs_quic_server *sv = g_ptr_array_index(servers, i);
        uint64_t noans = sv->by_state[CS_QS_NO_ANSWER];
        cs_table_row(&t,
                     "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                     "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT,
                     cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->conns,
                     sv->initials, sv->conns - noans, sv->by_state[CS_QS_VN],
                     sv->by_state[CS_QS_RETRY_ONLY], noans);
    }
    cs_report_title(r, "QUIC connection attempts (client Initials) per destination");
    cs_table_print(&t, r->out);
}

/* "name" or "name (+N)" or "-" into buf. */
static const char *names_cell(const cs_quic_names *nm, char *buf, size_t len)
{
    unsigned others;
    const char *top = cs_quic_names_top(nm, &others);
    if (top[0] == '\0')
        g_strlcpy(buf, nm->other > 0 ? "(other)" : "-", len);
    else if (others > 0)
        g_snprintf(buf, len, "%.60s (+%u)", top, others);
    else
        g_snprintf(buf, len, "%.60s", top);
    return buf;
}

static void text_servers(cs_report *r, const cs_quic_agg *st, const GPtrArray *servers)
{
    cs_table t;
    char ep[64], sni[80], alpn[80], h50[32], hmax[32];
    cs_table_init(&t, "lrrrrrllrr");
    cs_table_row(&t, "server\tconns\testablished\tclosed\tincomplete\tno answer\tSNI\tALPN offered"
                     "\thandshake p50\tmax");
    for (guint i = 0; i < servers->len; i++) {
        const cs_quic_server *sv = g_ptr_array_index(servers, i);
        bool hs = sv->handshake_us.n > 0;
        cs_table_row(
            &t,
            "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
            "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s",
            cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->conns,
            sv->by_state[CS_QS_ESTABLISHED], sv->by_state[CS_QS_CLOSED],
            sv->by_state[CS_QS_INCOMPLETE], sv->by_state[CS_QS_NO_ANSWER],
            names_cell(&sv->sni, sni, sizeof sni), names_cell(&sv->alpn, alpn, sizeof alpn),
            hs ? cs_fmt_duration((cs_time_t)cs_hist_percentile(&sv->handshake_us, 50) *
                                     CS_NS_PER_US,
                                 h50, sizeof h50)
               : "-",
            hs ? cs_fmt_duration((cs_time_t)sv->handshake_us.max * CS_NS_PER_US, hmax, sizeof hmax)
               : "-");
    }
    cs_report_title(
        r, "QUIC per server (%" G_GUINT64_FORMAT " connection%s, %" G_GUINT64_FORMAT " datagrams)",
        st->conns, st->conns == 1 ? "" : "s", st->datagrams);
    cs_table_print(&t, r->out);
    if (st->keys_capped > 0)
        fprintf(r->out,
                "  (%" G_GUINT64_FORMAT " connections went to the '(other)' row: --max-keys %u)\n",
                st->keys_capped, st->max_keys);
}

void cs_report_quic_text(cs_report *r, const cs_run_info *info)
{
    const cs_quic_agg *st = info->quic;
    if (st == NULL || (st->conns == 0 && st->datagrams == 0))
        return;
    GPtrArray *servers = cs_quic_agg_sorted(st);
    text_attempts(r, servers);
    text_servers(r, st, servers);
    g_ptr_array_free(servers, TRUE);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* The TLS facts of the hellos (null when the hello was not read). */
static void json_quic_tls(cs_json *j, const cs_quic_row *row)
{
    char buf[24];
    cs_json_str(j, "alpn_offered", row->have_client_hello ? row->alpn_offered : NULL);
    cs_json_str(j, "ja3", row->have_client_hello ? row->ja3 : NULL);
    cs_json_str(j, "ja4", row->have_client_hello ? row->ja4 : NULL);
    cs_json_str(j, "tls_version",
                row->have_server_hello ? cs_tls_version_name(row->tls_version, buf) : NULL);
    const cs_tls_suite *suite = row->have_server_hello ? cs_tls_suite_find(row->cipher) : NULL;
    if (suite != NULL) {
        cs_json_str(j, "cipher", suite->name);
    } else if (row->have_server_hello) {
        g_snprintf(buf, sizeof buf, "0x%04x", row->cipher);
        cs_json_str(j, "cipher", buf);
    } else {
        cs_json_null(j, "cipher");
    }
    cs_json_str(j, "ja3s", row->have_server_hello ? row->ja3s : NULL);
}

void cs_report_quic_json(cs_report *r, const cs_quic_row *row)
{
    cs_json j;
    cs_report_json_begin(r, &j, "quic");
    cs_json_time(&j, "ts", row->start);
    cs_json_str(&j, "uid", row->uid);
    cs_json_uint(&j, "connection_number", row->number);
    cs_json_uint(&j, "udp_stream", row->udp_stream);
    cs_report_json_addr(&j, "id.orig_h", &row->addr[0], row->family);
    cs_json_uint(&j, "id.orig_p", row->port[0]);
    cs_report_json_addr(&j, "id.resp_h", &row->addr[1], row->family);
    cs_json_uint(&j, "id.resp_p", row->port[1]);
    cs_json_str(&j, "version", row->version);
    cs_json_str(&j, "client_initial_dcid", row->client_initial_dcid);
    cs_json_str(&j, "client_scid", row->client_scid);
    cs_json_str(&j, "server_scid", row->server_scid_seen ? row->server_scid : NULL);
    cs_json_str(&j, "server_name", row->server_name[0] != '\0' ? row->server_name : NULL);
    cs_json_str(&j, "client_protocol",
                row->client_protocol[0] != '\0' ? row->client_protocol : NULL);
    cs_json_str(&j, "history", row->history);
    cs_json_str(&j, "state", cs_quic_state_name(row->state));
    if (row->handshake >= 0)
        cs_json_uint(&j, "handshake_us", (uint64_t)(row->handshake / CS_NS_PER_US));
    else
        cs_json_null(&j, "handshake_us");
    json_quic_tls(&j, row);
    cs_json_double(&j, "duration", (double)(row->end - row->start) / 1e9, 6);
    cs_json_uint(&j, "orig_pkts", row->dgrams[0]);
    cs_json_uint(&j, "orig_bytes", row->bytes[0]);
    cs_json_uint(&j, "resp_pkts", row->dgrams[1]);
    cs_json_uint(&j, "resp_bytes", row->bytes[1]);
    cs_json_uint(&j, "orig_quic_packets", row->packets[0]);
    cs_json_uint(&j, "resp_quic_packets", row->packets[1]);
    cs_json_uint(&j, "retries", row->retries);
    cs_json_uint(&j, "zero_rtt_packets", row->zero_rtt);
    cs_json_uint(&j, "decrypt_failed", row->decrypt_failed);
    if (row->closed) {
        cs_json_str(&j, "closed_by", row->close_dir == 0 ? "client" : "server");
        cs_json_uint(&j, "close_error", row->close_error);
        cs_json_bool(&j, "close_application", row->close_app);
    }
    cs_json_time(&j, "ts_end", row->end);
    cs_json_str(&j, "end_reason", row->end_reason);
    if (row->tunnel != NULL)
        cs_report_json_tunnel(&j, row->tunnel, false);
    cs_report_json_end(r, &j);
}

/* The counts of a list of names as an object {"name": count, ...} ("(other)" for the rest). */
static void json_names(cs_json *j, const char *key, const cs_quic_names *nm)
{
    cs_json_obj_begin(j, key);
    for (int i = 0; i < CS_QUIC_NAMES && nm->name[i] != NULL; i++)
        cs_json_uint(j, nm->name[i], nm->n[i]);
    if (nm->other > 0)
        cs_json_uint(j, "(other)", nm->other);
    cs_json_obj_end(j);
}

static void json_quic_server(cs_report *r, const cs_quic_server *sv)
{
    cs_json j;
    cs_report_json_begin(r, &j, "quic_server");
    cs_report_json_addr(&j, "resp_h", &sv->addr, sv->family);
    cs_json_uint(&j, "resp_p", sv->port);
    cs_json_uint(&j, "conns", sv->conns);
    for (int s = 0; s <= CS_QS_CLOSED; s++)
        cs_json_uint(&j, cs_quic_state_name((cs_quic_state)s), sv->by_state[s]);
    cs_json_uint(&j, "initials", sv->initials);
    cs_json_uint(&j, "initials_unanswered", sv->initials_unanswered);
    cs_json_uint(&j, "orig_pkts", sv->pkts_c2s);
    cs_json_uint(&j, "resp_pkts", sv->pkts_s2c);
    cs_json_uint(&j, "orig_bytes", sv->bytes_c2s);
    cs_json_uint(&j, "resp_bytes", sv->bytes_s2c);
    if (sv->handshake_us.n > 0) {
        cs_json_uint(&j, "handshake_p50_us", cs_hist_percentile(&sv->handshake_us, 50));
        cs_json_uint(&j, "handshake_max_us", sv->handshake_us.max);
    } else {
        cs_json_null(&j, "handshake_p50_us");
        cs_json_null(&j, "handshake_max_us");
    }
    json_names(&j, "server_names", &sv->sni);
    json_names(&j, "client_protocols", &sv->alpn);
    cs_report_json_end(r, &j);
}

void cs_report_quic_json_finish(cs_report *r, const cs_run_info *info)
{
    if (info->quic == NULL)
        return;
    GPtrArray *servers = cs_quic_agg_sorted(info->quic);
    for (guint i = 0; i < servers->len; i++)
        json_quic_server(r, g_ptr_array_index(servers, i));
    g_ptr_array_free(servers, TRUE);
}

void cs_report_quic_json_summary(cs_json *j, const cs_run_info *info)
{
    const cs_quic_agg *st = info->quic;
    if (st == NULL || (st->conns == 0 && st->datagrams == 0))
        return; /* a capture without QUIC keeps the summary it always had */
    cs_json_uint(j, "quic_datagrams", st->datagrams);
    cs_json_uint(j, "quic_orphan_packets", st->orphans);
    cs_json_uint(j, "quic_connections", st->conns);
    cs_json_uint(j, "quic_with_client_hello", st->with_sni);
    cs_json_obj_begin(j, "quic_states");
    for (int s = 0; s <= CS_QS_CLOSED; s++)
        cs_json_uint(j, cs_quic_state_name((cs_quic_state)s), st->by_state[s]);
    cs_json_obj_end(j);
    cs_json_uint(j, "quic_peak_tracked_connections", st->peak);
}
