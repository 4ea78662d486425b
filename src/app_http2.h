/* app_http2.h - HTTP/2 (RFC 9113) per connection: frames read per direction, header blocks decoded
 * with libnghttp2's HPACK inflater, streams paired into the same exchange records as HTTP/1.x. */
#ifndef CS_APP_HTTP2_H
#define CS_APP_HTTP2_H

#include "app_http.h"

/* The client connection preface (RFC 9113 3.4). */
#define CS_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define CS_H2_PREFACE_LEN 24

/* Frame types (RFC 9113 6); others are extensions, read and ignored. */
enum {
    CS_H2_DATA = 0,
    CS_H2_HEADERS = 1,
    CS_H2_PRIORITY = 2,
    CS_H2_RST_STREAM = 3,
    CS_H2_SETTINGS = 4,
    CS_H2_PUSH_PROMISE = 5,
    CS_H2_PING = 6,
    CS_H2_GOAWAY = 7,
    CS_H2_WINDOW_UPDATE = 8,
    CS_H2_CONTINUATION = 9,
    CS_H2_NTYPES = 10
};

/* Per-connection HTTP/2 facts, for the conn record. The HTTP counts (requests, responses, status
 * classes, ...) are in the cs_http_conn_summary filled next to it, exactly as for HTTP/1.x. */
typedef struct cs_h2_conn_summary {
    uint32_t streams;    /* streams that carried an exchange (client's, pushed, joined) */
    uint32_t pushed;     /* streams promised by the server */
    uint32_t resets;     /* streams ended by RST_STREAM before their response completed */
    uint32_t refused;    /* streams refused by a GOAWAY */
    uint32_t max_open;   /* most streams open at once */
    cs_time_t open_area; /* sum over time of the open stream count (ns x streams) */
    cs_time_t busy;      /* time with at least one stream open (ns); mean open streams
                                    while busy = open_area / busy */
    uint64_t frames[2];  /* frames sent by the client [0] and the server [1] */
    uint64_t type_frames[CS_H2_NTYPES + 1]; /* frames by type; [CS_H2_NTYPES]: extension types */
    uint64_t data_bytes[2];                 /* DATA payload (padding excluded) per direction */
    uint64_t header_bytes[2]; /* header block bytes (HEADERS, PUSH_PROMISE, CONTINUATION) */
    uint32_t undecodable;     /* header blocks not decoded (HPACK context lost) */
    bool hpack_lost[2];       /* a direction's header context was lost (gap, error, joined late) */
    bool midstream;           /* joined after the preface: framing found by resynchronisation */
    bool goaway[2];           /* the client [0] / server [1] sent a GOAWAY */
    uint32_t goaway_error[2]; /* its error code (the last one) */
    uint32_t goaway_last_stream[2];
    uint32_t anomalies; /* HTTP/2 anomalies counted on this connection */
} cs_h2_conn_summary;

typedef struct cs_h2_conn cs_h2_conn;

/* Creates the HTTP/2 parser of one connection. `cfg` (must outlive it) gives the limits:
 * max_pending caps the open streams (the oldest is reported dropped_cap), max_header_bytes caps one
 * header block and each direction's HPACK table, max_field caps stored strings. With `preface`, the
 * client's bytes start with the connection preface and the server's with its SETTINGS (prior
 * knowledge, TLS with ALPN h2, the bytes after an h2c 101); without it the connection is joined
 * mid-way: frames are found by resynchronisation and header blocks cannot be decoded.
 * Can't fail (aborts on OOM). */
cs_h2_conn *cs_h2_new(const cs_http_cfg *cfg, bool preface);

/* h2c upgrade (RFC 7540 3.2): the HTTP/1.1 request `req` that the server answered with 101 becomes
 * stream 1, its request complete; the response comes as HTTP/2 frames. Copies what it needs from req;
 * trans_depth numbering goes on after req->depth. Call before any data. */
void cs_h2_upgrade(cs_h2_conn *h, const cs_http_tx *req);

/* Feeds reassembled bytes of one direction with the capture time of the segment that carried
 * them. Exchanges are reported to sink->exchange once each, as their stream closes (END_STREAM both
 * ways, RST_STREAM, GOAWAY) or at cs_h2_finish(); anomalies go to sink->anomaly; with
 * sink->h2_head_line, each decoded header field as "name: value" with the stream it describes (a
 * PUSH_PROMISE's fields: the promised stream), the first of a block flagged start_line. Never
 * fails: bad framing is counted and skipped. */
void cs_h2_data(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                const uint8_t *p, uint32_t len, cs_time_t ts);

/* `len` bytes are missing from one direction. Inside a DATA payload (or any payload the parser does
 * not read) framing stays in step and the stream is flagged with a gap; inside a header block the
 * direction's HPACK context is lost; across a frame boundary framing is lost too and the parser
 * resynchronises on the next plausible frame header. */
void cs_h2_gap(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
               uint32_t len, cs_time_t ts);

/* One direction ended (FIN, RST, end of input). Streams stay open until cs_h2_finish(). */
void cs_h2_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
               cs_time_t ts);

/* The connection is over: reports every stream still open (no_response, response_partial,
 * request_partial, response_lost_in_gap) and fills *sum and *h2sum (either may be NULL). Safe to
 * call twice (the second call reports nothing). */
void cs_h2_finish(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                  cs_http_conn_summary *sum, cs_h2_conn_summary *h2sum);

/* Frees the parser (after cs_h2_finish(), or without reporting anything). NULL is fine. */
void cs_h2_free(cs_h2_conn *h);

/* Adds `from` into `into` (maxima: the larger; flags: or). */
void cs_h2_summary_add(cs_h2_conn_summary *into, const cs_h2_conn_summary *from);

/* Mean number of open streams while at least one was open; 0 when none was. */
double cs_h2_mean_open(const cs_h2_conn_summary *s);

/* Content detection: 1 = p starts with the client preface, 0 = it does not, -1 = too short to
 * tell (a prefix of it). */
int cs_h2_detect_preface(const uint8_t *p, uint32_t len);

/* 1 = p starts with a server connection preface (a SETTINGS frame header on stream 0 without ACK
 * whose length is a multiple of 6, at most 16 settings), 0 = not, -1 = fewer than 9 bytes. */
int cs_h2_detect_server_preface(const uint8_t *p, uint32_t len);

/* RFC 9113 7 error code name ("NO_ERROR", "CANCEL", ...); "0x%x" for unknown codes in buf. */
const char *cs_h2_error_name(uint32_t code, char buf[16]);

/* Frame type name ("DATA", ..., "CONTINUATION"); "EXTENSION" for other types. */
const char *cs_h2_frame_name(unsigned type);

#endif
