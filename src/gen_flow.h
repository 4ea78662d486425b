/* gen_flow.h - one generated TCP connection as a small state machine that yields its packets in
 * time order on demand (handshake, data flights with the peer's ACKs, close), without buffering. */
#ifndef CS_GEN_FLOW_H
#define CS_GEN_FLOW_H

#include "gen_msg.h"
#include "gen_pcap.h"
#include "gen_spec.h"

struct gen_flow;
struct gen_xrec;

/* Who is told what happened to each connection, beyond its packets: the ground-truth writer
 * (gen_truth.c) is one. The flows call up only through it. Every callback may be NULL; the
 * pointers passed are valid during the call only. */
typedef struct gen_flow_observer {
    void *ctx;
    /* Exchange i of f (request i, 0-based, and its response) is over, as far as it went: when its
     * response ended, or when the connection ended with it open. */
    void (*exchange)(void *ctx, const struct gen_flow *f, uint32_t i, const struct gen_xrec *x);
    /* A data segment of direction d (0: client's) was not written (lost) or written out of order
     * (reordered: swapped with the next one): bytes [seq, seq + len) relative to ISN + 1, at the
     * time of the slot it had (lost) or was written in (reordered). */
    void (*segment)(void *ctx, const struct gen_flow *f, bool lost, int d, uint32_t seq,
                    uint32_t len, gen_us ts);
    /* Connection f is over; f->xt holds its records. */
    void (*conn_end)(void *ctx, const struct gen_flow *f);
} gen_flow_observer;

/* State shared by all flows of a run. */
typedef struct gen_ctx {
    const gen_cfg *cfg;
    const gen_flow_observer *obs; /* NULL: no truth kept (no per-connection records) */
    uint64_t streams;        /* connections that have written a packet (next tcp.stream) */
    uint64_t auto_port;      /* client ports handed out to rows without one */
} gen_ctx;

/* Ground truth kept for one exchange (request i and its response) while it is in flight.
 * Times are absolute microseconds of the packet that carried the byte, -1 when that packet was
 * not written (lost) or the byte was never sent. */
typedef struct gen_xrec {
    uint32_t i;                     /* exchange number (0-based) */
    gen_us req_start, req_end, resp_start, resp_end;
    uint32_t req_lost, resp_lost;   /* bytes of the message not written */
    bool req_lost_framing, resp_lost_framing; /* ... among them header/chunk framing bytes */
    bool req_reordered, resp_reordered;       /* part of it was written out of order */
    bool req_done, resp_done;       /* last byte sent */
    bool open;
} gen_xrec;

/* Ground truth of one connection (allocated only with an observer). */
typedef struct gen_xtruth {
    uint64_t stream;       /* Wireshark tcp.stream: order of the first packet */
    gen_us first, last;    /* times of the first and last packet written */
    uint64_t pkts[2];      /* packets written by each side */
    uint64_t lost_bytes[2];
    uint32_t lost_segs[2];
    uint32_t reordered[2]; /* swapped segment pairs */
    uint32_t overlaps;     /* conflicting retransmissions */
    uint32_t syns, synacks;
    uint32_t exchanges;    /* exchange records written */
    bool established, fin[2], rst[2];
    uint32_t cap;          /* records in rec[] (ring indexed by exchange number) */
    gen_xrec rec[];
} gen_xtruth;

/* The sending side's current write: `len` bytes from relative sequence number `seq0`, cut into
 * MSS segments; segment j goes out at t0 + (j / flight) * period + (j % flight) * gap, and the
 * peer acknowledges every second segment and the last one at that time plus its turnaround. */
typedef struct gen_run {
    uint32_t t0;   /* relative microseconds */
    uint32_t seq0;
    uint32_t len;
    uint32_t ak;   /* next segment whose ACK is due (nseg: none left) */
} gen_run;

/* One direction: bytes sent by side d. Sequence numbers are relative (0 = ISN + 1). */
typedef struct gen_dir {
    gen_run run;
    uint32_t k;         /* next slot of the run to write */
    uint32_t snd;       /* bytes queued so far */
    uint32_t acked;     /* highest relative ACK the peer has sent for these bytes */
    uint32_t msgs;      /* messages queued */
    uint32_t cur_msg;   /* content cursor: the message holding the next byte not yet accounted */
    uint32_t cur_start; /* ... its first byte */
    gen_msginfo cur;    /* ... its shape (len 0: not loaded) */
    uint8_t active;     /* the run has segments or ACKs left */
    uint8_t sub;        /* overlap: the conflicting copy of this pair was written */
    uint8_t fin;        /* FIN sent (takes sequence number snd) */
} gen_dir;

/* One connection. Times are microseconds relative to t_start (a connection may last up to
 * 71 minutes). */
typedef struct gen_flow {
    const gen_row *row;
    gen_us t_start;
    gen_xtruth *xt;
    uint32_t *readyq;   /* response ready times, pipeline > 1 */
    uint32_t serial;    /* connection number over the run */
    uint32_t isn[2];
    uint32_t caddr_off; /* client address = row client + caddr_off */
    uint32_t t_now;     /* last packet written */
    uint32_t t_ctl;     /* next handshake/close packet */
    uint32_t t_est;     /* handshake completed */
    uint32_t t_allow;   /* the client heard of the latest completed response */
    uint32_t s_done;    /* server messages the client has completely */
    uint32_t ready1;    /* pending response ready time, pipeline 1 */
    uint16_t nready, hready;
    uint16_t cport;
    uint8_t phase;
    uint8_t tries;
    uint8_t next;       /* what gen_flow_peek chose */
    gen_dir d[2];
} gen_flow;

/* Sets up connection `serial` of row (its index within the row is row->spawned before the call)
 * starting at absolute time `start`. Can't fail (aborts on OOM). */
void gen_flow_init(gen_flow *f, const gen_row *row, gen_ctx *ctx, uint32_t serial, gen_us start);

/* Absolute time of the next packet, or -1 when the connection has no packets left. Decides which
 * packet that is (internal steps such as starting a write or a lost segment happen here).
 * Calling it again without gen_flow_emit returns the same answer. */
gen_us gen_flow_peek(gen_flow *f, gen_ctx *ctx);

/* Writes the packet gen_flow_peek announced into frame (room for GEN_MAX_HDR + MSS bytes) and
 * returns its length. Only after a peek that did not return -1. */
uint32_t gen_flow_emit(gen_flow *f, gen_ctx *ctx, uint8_t *frame);

/* Client address and port of f. */
void gen_flow_client(const gen_flow *f, cs_addr *addr, uint16_t *port);

/* Reports the connection's open exchanges and its end to the observer (if any) and frees what it
 * holds. f is unusable afterwards. */
void gen_flow_end(gen_flow *f, gen_ctx *ctx);

#endif
