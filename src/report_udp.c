/* report_udp.c - the UDP and tunnel parts of the report writers: text tables of UDP flows per server
 * and of tunnels, JSON "udp", "udp_server" and "tunnel" objects, the "tunnel" member of records. */
#include "json.h"
#include "report.h"
#include "util.h"

/* ---- text ------------------------------------------------------------------------------------ */

static void text_udp_servers(cs_report *r, const cs_udp_stats *st)
{
    cs_table t;
    char ep[64], b0[32], b1[32], d50[32], dmax[32];
    GPtrArray *servers = cs_udp_stats_sorted(st);
    cs_table_init(&t, "lrrrrrrrl");
    cs_table_row(&t, "server\tflows\tpkts c>s\tpkts s>c\tbytes c>s\tbytes s>c\tmedian dur\tmax dur"
                     "\tcarries");
    for (guint i = 0; i < servers->len; i++) {
        const cs_udp_server *sv = g_ptr_array_index(servers, i);
        cs_table_row(
            &t,
            "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
            "\t%s\t%s\t%s\t%s\t%s",
            cs_endpoint_str(&sv->addr, sv->family, sv->port, ep, sizeof ep), sv->flows,
            sv->pkts_c2s, sv->pkts_s2c, cs_fmt_bytes(sv->bytes_c2s, b0, sizeof b0),
            cs_fmt_bytes(sv->bytes_s2c, b1, sizeof b1),
            cs_fmt_duration((cs_time_t)cs_hist_percentile(&sv->duration_us, 50) * CS_NS_PER_US, d50,
                            sizeof d50),
            cs_fmt_duration((cs_time_t)sv->duration_us.max * CS_NS_PER_US, dmax, sizeof dmax),
            sv->service != 0 ? cs_tun_type_name((cs_tun_type)sv->service) : "");
    }
    cs_report_title(
        r, "UDP flows per server (%" G_GUINT64_FORMAT " flow%s, %" G_GUINT64_FORMAT " datagrams)",
        st->flows, st->flows == 1 ? "" : "s", st->pkts);
    cs_table_print(&t, r->out);
    g_ptr_array_free(servers, TRUE);
    if (st->keys_capped > 0)
        fprintf(r->out,
                "  (%" G_GUINT64_FORMAT " flows went to the '(other)' row: --max-keys %u)\n",
                st->keys_capped, st->max_keys);
}

static void text_tunnels(cs_report *r, const cs_run_info *info)
{
    cs_table t;
    char desc[160], b[32], d[32];
    GPtrArray *rows = cs_tunnels_sorted(info->tunnels);
    guint n = 0;
    cs_table_init(&t, "lrrrrrr");
    cs_table_row(&t, "tunnel\tpackets\tbytes\tTCP conns\tUDP flows\tduration\tnesting");
    for (guint i = 0; i < rows->len; i++) {
        const cs_tunnel *tn = g_ptr_array_index(rows, i);
        if (!cs_tunnel_match(tn, info->want_tunnel_id, info->want_vni))
            continue;
        n++;
        cs_table_row(&t,
                     "%s\t%" G_GUINT64_FORMAT "\t%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                     "\t%s\t%u",
                     cs_tunnel_describe(tn, desc, sizeof desc), tn->pkts,
                     cs_fmt_bytes(tn->bytes, b, sizeof b), tn->tcp_conns, tn->udp_flows,
                     cs_fmt_duration(tn->last_ts - tn->first_ts, d, sizeof d), tn->max_depth);
    }
    g_ptr_array_free(rows, TRUE);
    cs_report_title(r, "Tunnels (%u)", n);
    if (n > 0) {
        cs_table_print(&t, r->out);
    } else {
        g_ptr_array_free(t.cells, TRUE);
        fprintf(r->out, "  (none matches the filter)\n");
    }
}

void cs_report_udp_text(cs_report *r, const cs_run_info *info)
{
    if (info->udp != NULL && info->udp->flows > 0)
        text_udp_servers(r, info->udp);
    if (info->tunnels != NULL && cs_tunnels_count_rows(info->tunnels) > 0)
        text_tunnels(r, info);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* The key fields of a tunnel row (in "tunnel" members and "tunnel" objects alike). */
static void json_tunnel_key(cs_json *j, const char *type_key, const cs_tunnel *tn)
{
    cs_json_str(j, type_key, tn->other ? "(other)" : cs_tun_type_name((cs_tun_type)tn->type));
    if (tn->other)
        return;
    cs_report_json_addr(j, "outer_a", &tn->a, tn->family);
    cs_report_json_addr(j, "outer_b", &tn->b, tn->family);
    if (tn->port != 0)
        cs_json_uint(j, "port", tn->port);
    const char *idn = cs_tunnel_id_name(tn);
    if (idn != NULL)
        cs_json_uint(j, idn, tn->vid);
    if (tn->type == CS_TUN_ERSPAN)
        cs_json_uint(j, "erspan_type", tn->version);
    else if (tn->type == CS_TUN_GRE && tn->version != 0)
        cs_json_uint(j, "gre_version", tn->version);
}

void cs_report_json_tunnel_value(cs_json *j, const cs_tunnel *tn)
{
    cs_json_obj_begin(j, NULL);
    json_tunnel_key(j, "type", tn);
    cs_json_obj_end(j);
}

void cs_report_json_tunnel(cs_json *j, const cs_tunnel *tn, bool changed)
{
    if (tn == NULL) {
        cs_json_null(j, "tunnel");
    } else {
        cs_json_obj_begin(j, "tunnel");
        json_tunnel_key(j, "type", tn);
        cs_json_obj_end(j);
    }
    if (changed)
        cs_json_bool(j, "tunnel_changed", true);
}

void cs_report_udp_json(cs_report *r, const cs_udp_row *row)
{
    cs_json j;
    char uid[32];
    cs_report_json_begin(r, &j, "udp");
    cs_json_time(&j, "ts", row->start);
    snprintf(uid, sizeof uid, "U%" G_GUINT64_FORMAT "%s", row->stream, row->resumed ? "r" : "");
    cs_json_str(&j, "uid", uid);
    cs_json_uint(&j, "stream", row->stream);
    cs_report_json_addr(&j, "id.orig_h", &row->addr[0], row->family);
    cs_json_uint(&j, "id.orig_p", row->port[0]);
    cs_report_json_addr(&j, "id.resp_h", &row->addr[1], row->family);
    cs_json_uint(&j, "id.resp_p", row->port[1]);
    cs_json_str(&j, "proto", "udp");
    cs_json_double(&j, "duration", (double)(row->end - row->start) / 1e9, 6);
    cs_json_uint(&j, "orig_bytes", row->bytes[0]);
    cs_json_uint(&j, "resp_bytes", row->bytes[1]);
    cs_json_uint(&j, "orig_pkts", row->pkts[0]);
    cs_json_uint(&j, "orig_ip_bytes", row->ip_bytes[0]);
    cs_json_uint(&j, "resp_pkts", row->pkts[1]);
    cs_json_uint(&j, "resp_ip_bytes", row->ip_bytes[1]);
    cs_json_uint(&j, "orig_wire_bytes", row->wire_bytes[0]);
    cs_json_uint(&j, "resp_wire_bytes", row->wire_bytes[1]);
    cs_json_time(&j, "ts_end", row->end);
    cs_json_str(&j, "end_reason", row->end_reason);
    cs_json_bool(&j, "resumed", row->resumed);
    if (row->service != NULL)
        cs_json_str(&j, "service", row->service);
    else
        cs_json_null(&j, "service");
    if (row->tunnel != NULL || row->tunnel_changed)
        cs_report_json_tunnel(&j, row->tunnel, row->tunnel_changed);
    cs_report_json_end(r, &j);
}

static void json_udp_server(cs_report *r, const cs_udp_server *sv)
{
    cs_json j;
    cs_report_json_begin(r, &j, "udp_server");
    cs_report_json_addr(&j, "resp_h", &sv->addr, sv->family);
    cs_json_uint(&j, "resp_p", sv->port);
    cs_json_uint(&j, "flows", sv->flows);
    cs_json_uint(&j, "orig_pkts", sv->pkts_c2s);
    cs_json_uint(&j, "resp_pkts", sv->pkts_s2c);
    cs_json_uint(&j, "orig_bytes", sv->bytes_c2s);
    cs_json_uint(&j, "resp_bytes", sv->bytes_s2c);
    cs_json_uint(&j, "duration_p50_us", cs_hist_percentile(&sv->duration_us, 50));
    cs_json_uint(&j, "duration_max_us", sv->duration_us.max);
    if (sv->service != 0)
        cs_json_str(&j, "service", cs_tun_type_name((cs_tun_type)sv->service));
    else
        cs_json_null(&j, "service");
    cs_report_json_end(r, &j);
}

static void json_tunnel_row(cs_report *r, const cs_tunnel *tn)
{
    cs_json j;
    cs_report_json_begin(r, &j, "tunnel");
    json_tunnel_key(&j, "tunnel_type", tn);
    cs_json_time(&j, "ts", tn->first_ts);
    cs_json_time(&j, "ts_end", tn->last_ts);
    cs_json_uint(&j, "packets", tn->pkts);
    cs_json_uint(&j, "bytes", tn->bytes);
    cs_json_uint(&j, "tcp_conns", tn->tcp_conns);
    cs_json_uint(&j, "udp_flows", tn->udp_flows);
    cs_json_uint(&j, "max_depth", tn->max_depth);
    cs_report_json_end(r, &j);
}

void cs_report_udp_json_finish(cs_report *r, const cs_run_info *info)
{
    if (info->udp != NULL) {
        GPtrArray *servers = cs_udp_stats_sorted(info->udp);
        for (guint i = 0; i < servers->len; i++)
            json_udp_server(r, g_ptr_array_index(servers, i));
        g_ptr_array_free(servers, TRUE);
    }
    if (info->tunnels != NULL) {
        GPtrArray *rows = cs_tunnels_sorted(info->tunnels);
        for (guint i = 0; i < rows->len; i++) {
            const cs_tunnel *tn = g_ptr_array_index(rows, i);
            if (cs_tunnel_match(tn, info->want_tunnel_id, info->want_vni))
                json_tunnel_row(r, tn);
        }
        g_ptr_array_free(rows, TRUE);
    }
}
