/* stats_udp.c - per-server UDP aggregates over ended flow records, and the row a writer gets for
 * each record; the server table is capped like the TCP tables (an '(other)' row, counted). */
#include <stddef.h>
#include <string.h>

#include "stats.h"
#include "stats_udp.h"

void cs_udp_row_fill(cs_udp_row *row, const cs_udp_flow *f, cs_udp_end why, const cs_tunnel *tn)
{
    memset(row, 0, sizeof *row);
    row->stream = f->stream;
    row->resumed = f->resumed;
    row->family = f->family;
    for (int i = 0; i < 2; i++) {
        int ep = i == 0 ? f->client : !f->client;
        row->addr[i] = f->addr[ep];
        row->port[i] = f->port[ep];
        row->pkts[i] = f->pkts[ep];
        row->ip_bytes[i] = f->ip_bytes[ep];
        row->bytes[i] = f->payload_bytes[ep];
        row->wire_bytes[i] = f->wire_bytes[ep];
    }
    row->start = f->first_ts;
    row->end = f->last_ts;
    row->end_reason = cs_udp_end_name(why);
    row->service_type = f->tunnel_type;
    row->service = f->tunnel_type != CS_TUN_NONE ? cs_tun_type_name((cs_tun_type)f->tunnel_type)
                                                 : NULL;
    row->tunnel = tn;
    row->tunnel_changed = f->tunnel_changed;
}

static void server_free(gpointer p)
{
    cs_udp_server *s = p;
    cs_hist_clear(&s->duration_us);
    g_free(s);
}

void cs_udp_stats_init(cs_udp_stats *s, uint32_t max_keys)
{
    memset(s, 0, sizeof *s);
    s->servers = g_hash_table_new_full(cs_ep_key_hash, cs_ep_key_equal, g_free, server_free);
    s->max_keys = max_keys;
}

void cs_udp_stats_free(cs_udp_stats *s)
{
    if (s->servers != NULL)
        g_hash_table_destroy(s->servers);
    s->servers = NULL;
}

CS_EP_ROW_CHECK(cs_udp_server);

/* The row of a server; at the cap a new one goes to the '(other)' row (family 0), counted. */
static cs_udp_server *server_get(cs_udp_stats *s, uint8_t family, const cs_addr *a, uint16_t port)
{
    return cs_ep_row_get(s->servers, s->max_keys, &s->keys_capped, family, a, port,
                         sizeof(cs_udp_server));
}

void cs_udp_stats_add(cs_udp_stats *s, const cs_udp_row *row)
{
    cs_udp_server *sv = server_get(s, row->family, &row->addr[1], row->port[1]);
    s->flows++;
    s->resumed += row->resumed;
    s->pkts += row->pkts[0] + row->pkts[1];
    s->bytes += row->bytes[0] + row->bytes[1];
    sv->flows++;
    sv->pkts_c2s += row->pkts[0];
    sv->pkts_s2c += row->pkts[1];
    sv->bytes_c2s += row->bytes[0];
    sv->bytes_s2c += row->bytes[1];
    if (row->service_type != 0 && sv->family != 0)
        sv->service = row->service_type;
    cs_hist_add(&sv->duration_us, (uint64_t)((row->end - row->start) / CS_NS_PER_US), 1);
}

void cs_udp_stats_merge(cs_udp_stats *into, const cs_udp_stats *from)
{
    into->flows += from->flows;
    into->resumed += from->resumed;
    into->pkts += from->pkts;
    into->bytes += from->bytes;
    into->keys_capped += from->keys_capped;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from->servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_udp_server *f = v;
        cs_udp_server *t = server_get(into, f->family, &f->addr, f->port);
        t->flows += f->flows;
        t->pkts_c2s += f->pkts_c2s;
        t->pkts_s2c += f->pkts_s2c;
        t->bytes_c2s += f->bytes_c2s;
        t->bytes_s2c += f->bytes_s2c;
        if (t->service == 0 && t->family != 0)
            t->service = f->service;
        cs_hist_merge(&t->duration_us, &f->duration_us);
    }
}

GPtrArray *cs_udp_stats_sorted(const cs_udp_stats *s)
{
    return cs_table_sorted(s->servers, cs_ep_row_cmp);
}
