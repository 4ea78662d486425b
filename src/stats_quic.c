/* stats_quic.c - per-server QUIC aggregates over ended connections (states, unanswered Initials,
 * handshake times, SNI and ALPN counts); the server table is capped like the others ('(other)' row). */
#include <stddef.h>
#include <string.h>

#include "stats.h"
#include "stats_quic.h"

static void names_clear(cs_quic_names *nm)
{
    for (int i = 0; i < CS_QUIC_NAMES; i++)
        g_free(nm->name[i]);
    memset(nm, 0, sizeof *nm);
}

/* Counts `n` records with value `v` ("" is not counted). */
static void names_add(cs_quic_names *nm, const char *v, uint64_t n)
{
    if (v == NULL || v[0] == '\0' || n == 0)
        return;
    for (int i = 0; i < CS_QUIC_NAMES; i++) {
        if (nm->name[i] == NULL) {
            nm->name[i] = g_strdup(v);
            nm->n[i] = n;
            return;
        }
        if (strcmp(nm->name[i], v) == 0) {
            nm->n[i] += n;
            return;
        }
    }
    nm->other += n;
}

const char *cs_quic_names_top(const cs_quic_names *nm, unsigned *others)
{
    int best = -1;
    unsigned kept = 0;
    for (int i = 0; i < CS_QUIC_NAMES && nm->name[i] != NULL; i++) {
        kept++;
        if (best < 0 || nm->n[i] > nm->n[best] ||
            (nm->n[i] == nm->n[best] && strcmp(nm->name[i], nm->name[best]) < 0))
            best = i;
    }
    *others = (kept > 0 ? kept - 1 : 0) + (nm->other > 0);
    return best >= 0 ? nm->name[best] : "";
}

static void server_free(gpointer p)
{
    cs_quic_server *s = p;
    cs_hist_clear(&s->handshake_us);
    names_clear(&s->sni);
    names_clear(&s->alpn);
    g_free(s);
}

void cs_quic_agg_init(cs_quic_agg *s, uint32_t max_keys)
{
    memset(s, 0, sizeof *s);
    s->servers = g_hash_table_new_full(cs_ep_key_hash, cs_ep_key_equal, g_free, server_free);
    s->max_keys = max_keys;
}

void cs_quic_agg_free(cs_quic_agg *s)
{
    if (s->servers != NULL)
        g_hash_table_destroy(s->servers);
    s->servers = NULL;
}

CS_EP_ROW_CHECK(cs_quic_server);

/* The row of a server; at the cap a new one goes to the '(other)' row (family 0), counted. */
static cs_quic_server *server_get(cs_quic_agg *s, uint8_t family, const cs_addr *a, uint16_t port)
{
    return cs_ep_row_get(s->servers, s->max_keys, &s->keys_capped, family, a, port,
                         sizeof(cs_quic_server));
}

void cs_quic_agg_add(cs_quic_agg *s, const cs_quic_row *row)
{
    cs_quic_server *sv = server_get(s, row->family, &row->addr[1], row->port[1]);
    s->conns++;
    s->by_state[row->state]++;
    s->with_sni += row->have_client_hello;
    sv->conns++;
    sv->by_state[row->state]++;
    sv->initials += row->initials[0];
    if (row->state == CS_QS_NO_ANSWER)
        sv->initials_unanswered += row->initials[0];
    sv->pkts_c2s += row->dgrams[0];
    sv->pkts_s2c += row->dgrams[1];
    sv->bytes_c2s += row->bytes[0];
    sv->bytes_s2c += row->bytes[1];
    if (row->handshake >= 0)
        cs_hist_add(&sv->handshake_us, (uint64_t)(row->handshake / CS_NS_PER_US), 1);
    names_add(&sv->sni, row->server_name, 1);
    names_add(&sv->alpn, row->client_protocol, 1);
}

void cs_quic_agg_sync(cs_quic_agg *s, const cs_quic_stats *st, uint32_t peak)
{
    s->datagrams = st->datagrams;
    s->orphans = st->orphans;
    s->peak = peak;
}

static void names_merge(cs_quic_names *into, const cs_quic_names *from)
{
    for (int i = 0; i < CS_QUIC_NAMES && from->name[i] != NULL; i++)
        names_add(into, from->name[i], from->n[i]);
    into->other += from->other;
}

void cs_quic_agg_merge(cs_quic_agg *into, const cs_quic_agg *from)
{
    into->conns += from->conns;
    for (int i = 0; i <= CS_QS_CLOSED; i++)
        into->by_state[i] += from->by_state[i];
    into->with_sni += from->with_sni;
    into->datagrams += from->datagrams;
    into->orphans += from->orphans;
    into->peak += from->peak; /* as peak_tracked_connections: the groups ran side by side */
    into->keys_capped += from->keys_capped;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from->servers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const cs_quic_server *f = v;
        cs_quic_server *t = server_get(into, f->family, &f->addr, f->port);
        t->conns += f->conns;
        for (int i = 0; i <= CS_QS_CLOSED; i++)
            t->by_state[i] += f->by_state[i];
        t->initials += f->initials;
        t->initials_unanswered += f->initials_unanswered;
        t->pkts_c2s += f->pkts_c2s;
        t->pkts_s2c += f->pkts_s2c;
        t->bytes_c2s += f->bytes_c2s;
        t->bytes_s2c += f->bytes_s2c;
        cs_hist_merge(&t->handshake_us, &f->handshake_us);
        names_merge(&t->sni, &f->sni);
        names_merge(&t->alpn, &f->alpn);
    }
}

GPtrArray *cs_quic_agg_sorted(const cs_quic_agg *s)
{
    return cs_table_sorted(s->servers, cs_ep_row_cmp);
}
