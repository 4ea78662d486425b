/* edge.h - connections at the edges of an input, as summaries keep them (open at the end, joined
 * mid-stream at the start), and the stitching that makes a merge of the summaries of a capture cut
 * anywhere count each such connection once, as one run over the whole capture does. */
#ifndef CS_EDGE_H
#define CS_EDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "util.h"

struct cs_analytics;
struct cs_conn;
struct cs_conn_row;

/* cs_an_edge.kind bits */
#define CS_EDGE_END 1   /* still tracked when the input ended (open, or closed but lingering) */
#define CS_EDGE_START 2 /* may continue an earlier input: first seen without the client's SYN, or
                           with a SYN within CS_EDGE_SYN_WINDOW of the input's first event (a
                           retransmission of a SYN sent before the input began) */
#define CS_EDGE_SYN_WINDOW (75 * CS_NS_PER_S) /* SYN retransmissions of common stacks span ~1 min */

/* One direction of an edge connection ([0]: sent by the client, [1]: by the server). */
typedef struct cs_an_edge_dir {
    bool seq;          /* the stream of bytes started (next_seq and first are valid) */
    uint32_t next_seq; /* next sequence number expected after what the input held (after its FIN) */
    uint32_t first;    /* sequence number of the first byte the input counted */
} cs_an_edge_dir;

/* What one connection record added to the aggregates of a summary (so that a merge can take it
 * back out), and how it stood at the edges. Orientation as the record's: [0] client, [1] server. */
typedef struct cs_an_edge {
    uint8_t kind;      /* CS_EDGE_* bits */
    uint8_t family;
    cs_addr addr[2];
    uint16_t port[2];
    uint64_t stream;   /* tcp.stream in the input (or in the merged range of inputs) */
    cs_time_t start, end, last_ts; /* record start and end (Zeek's), last packet */
    uint64_t pkts[2], bytes[2];
    bool syn, synack;  /* the client's SYN / the server's SYN/ACK were seen */
    bool established;  /* the record's established flag (handshake seen) */
    bool closed, eof;  /* closed (FIN both ways or RST); ended by the end of the input */
    bool refused;      /* state REJ */
    bool rst;          /* an RST was seen */
    bool http;         /* HTTP was parsed on it */
    int64_t rtt_us;    /* SYN -> SYN/ACK, -1 if not seen */
    cs_time_t closing_ts[2]; /* first FIN or RST sent by the client / the server, 0 if none */
    cs_time_t syn_ts;    /* last SYN before the first SYN/ACK, 0 if none */
    cs_time_t synack_ts; /* first SYN/ACK, 0 if none */
    uint32_t http_unanswered, http_orphans; /* requests without response, responses without
                                               request, reported on it */
    cs_an_edge_dir d[2];
} cs_an_edge;

/* Counts of a merge's stitching (summed over merges: a merge of merges keeps the totals). */
typedef struct cs_an_stitch {
    uint64_t stitched;  /* connections found to continue one of an earlier input, joined */
    uint64_t inexact;   /* ... of which a count could not be made exact (see http_cut, bytes) */
    uint64_t http_cut;  /* ... of which carry HTTP with payload on both sides of the cut: an
                           exchange may straddle it (then counted on each side as it was seen
                           there: unanswered on one, orphan on the other, a total time cut short) */
} cs_an_stitch;

/* Fills e from the record row of connection c, which ends now; at_end: the input ended with it
 * tracked; at_start: it may continue an earlier input (CS_EDGE_START). */
void cs_an_edge_fill(cs_an_edge *e, const struct cs_conn_row *row, const struct cs_conn *c,
                     bool at_end, bool at_start);

/* Adds (sign 1) or takes back (sign -1) what e adds to the aggregates of a: the bucket of its
 * start, the flow-profile classes, the client's connection count, its server's connection row.
 * Taking back needs it to have been added. */
void cs_an_edge_apply(struct cs_analytics *a, const cs_an_edge *e, int sign);

/* Adds the edges of an input (`in`, owned by the caller: its records are copied) to the merge
 * `a`, whose aggregates already hold the input's: each START edge of `in` that continues an END
 * edge of a (same 4-tuple, sequence numbers that continue) is stitched to it: both are taken back
 * and the joined connection added. in_streams: the input's tcp.stream count; the stream indices
 * of its edges become indices in the merged range. */
void cs_an_edges_add(struct cs_analytics *a, GPtrArray *in, uint64_t in_streams);

#endif
