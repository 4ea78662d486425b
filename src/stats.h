/* stats.h - analytics over finalised connections: per-destination SYN tallies, per-server connection
 * counts, bytes and durations, Zeek conn_state tallies. Fed once per connection, never per packet. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <glib.h>

#include "flow.h"
#include "hist.h"

/* A flat, writer-friendly copy of one finalised connection, oriented originator -> responder.
 * Index 0 of the pair arrays is the originator (client), 1 the responder (server). */
typedef struct cs_conn_row {
    uint64_t stream;
    bool resumed;
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    cs_time_t start, end;
    uint64_t pkts[2];
    uint64_t bytes[2];      /* unique payload bytes by sequence space (like Zeek's orig_bytes) */
    uint64_t ip_bytes[2];
    uint64_t wire_bytes[2];
    uint64_t gap_bytes[2];  /* payload bytes never captured */
    uint32_t retrans[2], ooo[2], zero_win[2];
    uint32_t syns, synacks; /* SYNs sent by the originator, SYN/ACKs by the responder */
    cs_time_t rtt_syn;      /* last SYN -> first SYN/ACK, -1 if not seen */
    cs_time_t rtt_ack;      /* SYN/ACK -> handshake ACK, -1 if not seen */
    bool established;
    bool closed;
    const char *state;      /* Zeek conn_state */
    const char *role_how;   /* "syn", "synack", "port", "first" */
    const char *end_reason;
    const char *rst_by;     /* "orig", "resp" or NULL */
    char history[22];
    uint16_t mss[2];
    int8_t wscale[2];
} cs_conn_row;

/* Fills row from c. Can't fail. */
void cs_conn_row_fill(cs_conn_row *row, const cs_conn *c, cs_end_reason why);

/* Per (server address, port). The SYN tallies count SYN-without-ACK packets by destination. */
typedef struct cs_server_stats {
    cs_addr addr;
    uint8_t family;
    uint16_t port;
    uint64_t syn_pkts;      /* SYN-without-ACK packets sent to it (tshark's count) */
    uint64_t syn_attempts;  /* distinct SYNs (connection attempts) */
    uint64_t syn_answered;  /* attempts that got a SYN/ACK */
    uint64_t syn_rst;       /* attempts answered by RST only */
    uint64_t syn_unanswered;
    uint64_t conns;         /* connections whose server it is */
    uint64_t established, refused, reset, open_at_end, midstream;
    uint64_t bytes_c2s, bytes_s2c;
    uint64_t pkts_c2s, pkts_s2c;
    cs_hist duration_us;
    cs_hist rtt_us;
} cs_server_stats;

typedef struct cs_stats {
    GHashTable *servers;     /* endpoint key -> cs_server_stats* */
    uint64_t conns;
    uint64_t established;
    uint64_t syn_pkts;
    uint64_t syn_attempts;
    uint64_t resumed;
    uint64_t by_reason[5];   /* cs_end_reason */
    GHashTable *states;      /* conn_state string (static) -> count (GUINT_TO_POINTER) */
    cs_hist duration_us;
    cs_hist rtt_us;
    cs_time_t first_ts, last_ts;
} cs_stats;

void cs_stats_init(cs_stats *s);
void cs_stats_free(cs_stats *s);

/* Accounts one finalised connection. */
void cs_stats_conn(cs_stats *s, const cs_conn_row *row);

/* The server table sorted by (family, address, port). Free with g_ptr_array_free(a, TRUE);
 * the elements stay owned by s. */
GPtrArray *cs_stats_servers_sorted(const cs_stats *s);

/* Compares two addresses of the given families (IPv4 before IPv6, then bytes). */
int cs_addr_cmp(uint8_t fa, const cs_addr *a, uint8_t fb, const cs_addr *b);

#endif
