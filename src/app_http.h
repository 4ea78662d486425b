/* app_http.h - HTTP/1.x message framing (RFC 9112 section 6.3) and request/response pairing per
 * connection, fed with reassembled bytes; completed exchanges go to a sink with their timings. */
#ifndef CS_APP_HTTP_H
#define CS_APP_HTTP_H

#include "anomaly.h"
#include "flow.h"

/* Limits (from the options). */
typedef struct cs_http_cfg {
    uint32_t max_pending;      /* outstanding requests per connection before the oldest is dropped */
    uint32_t max_line;         /* longest start/header line kept (longer: anomaly + resync) */
    uint32_t max_header_bytes; /* largest header block of one message */
    uint32_t max_field;        /* longest URI/Host/User-Agent stored (longer: truncated) */
    bool decode_bodies;        /* inflate gzip/deflate bodies to report their decoded length */
} cs_http_cfg;

void cs_http_cfg_default(cs_http_cfg *cfg);

/* Why an exchange was reported without a complete request and response. */
typedef enum cs_http_outcome {
    CS_HTTP_COMPLETE,      /* request and final response both complete */
    CS_HTTP_NO_RESPONSE,   /* the connection ended before any response (RST, FIN, end of input) */
    CS_HTTP_NO_REQUEST,    /* response with no request seen (capture started mid-connection) */
    CS_HTTP_RESP_PARTIAL,  /* response started but did not complete */
    CS_HTTP_REQ_PARTIAL,   /* request started but did not complete (no response either) */
    CS_HTTP_LOST_IN_GAP,   /* response presumably lost in a capture gap: not paired (see design) */
    CS_HTTP_DROPPED_CAP,   /* dropped because too many requests were outstanding (HTTP/2: open
                               streams over the same cap) */
    CS_HTTP_FRAMING_ERROR, /* the request or the response could not be framed (invalid
                               Content-Length, chunk size or request Transfer-Encoding): the
                               parser resynchronised on the next start line */
    CS_HTTP_RESET,         /* HTTP/2: RST_STREAM ended the stream before the response completed */
    CS_HTTP_REFUSED,       /* HTTP/2: the server's GOAWAY says it did not process the stream */
    CS_HTTP_PUSHED         /* HTTP/2: a server push (PUSH_PROMISE) whose response completed */
} cs_http_outcome;

/* One request/response exchange. Strings are NUL-terminated, NULL when absent. Times are capture
 * times in ns, -1 when unknown. Owned by the HTTP parser; valid during the sink call only. */
typedef struct cs_http_tx {
    struct cs_http_tx *next;
    uint32_t depth;          /* trans_depth: 1-based request number on the connection */
    char *method;
    char *uri;
    char *host;
    char *user_agent;
    char *status_msg;
    char *scheme;    /* HTTP/2 :scheme (NULL for HTTP/1.x) */
    char version[8]; /* request version ("1.1", "1.0", "0.9", "2"), "" if no request */
    char resp_version[8];
    uint16_t status;         /* final status, 0 if none */
    uint16_t info_code;      /* last 1xx interim status, 0 if none */
    uint64_t req_body_len;   /* body length after removing chunking and content coding (Zeek) */
    uint64_t resp_body_len;
    uint64_t req_body_wire;  /* body bytes as transferred (after de-chunking, before decoding) */
    uint64_t resp_body_wire;
    cs_time_t req_start, req_end;
    cs_time_t req_hdr_end;   /* end of the request's header block */
    cs_time_t resp_start, resp_end;
    cs_time_t info_ts;       /* first byte of the (last) 1xx response */
    cs_time_t prev_resp_end; /* end of the previous response on the connection (pipelining) */
    uint8_t outcome;         /* cs_http_outcome */
    bool has_request;
    bool has_response;       /* a final response status line was seen */
    bool req_done;
    bool resp_done;
    bool req_gap;            /* bytes of the request body were missing (gap inside a known length) */
    bool resp_gap;
    bool framing_error;      /* a message of this exchange could not be framed (see outcome) */
    bool head;               /* request method HEAD */
    bool connect;            /* request method CONNECT */
    bool expect_100;
    bool upgrade_h2c;        /* the request asked to upgrade to HTTP/2 (Upgrade: h2c) */
    bool pipelined;          /* sent while an earlier request still awaited its response */
    bool method_odd;         /* method token not in the registered list */
    bool resp_encoded;       /* the response body had a gzip/deflate content coding */
    bool decode_error;       /* ... that could not be decoded (gap or corrupt): *_body_len is the
                                transferred length */
    /* HTTP/2 only (zero for HTTP/1.x) */
    uint32_t h2_stream_id;   /* the stream carrying the exchange (> 0 marks an HTTP/2 exchange) */
    uint32_t h2_error;       /* RST_STREAM error code (outcome reset, or a reset after the end) */
    bool h2_reset;           /* a RST_STREAM ended the stream (h2_error holds its code) */
    bool h2_reset_by_client; /* ... sent by the client */
    bool h2_pushed;          /* promised by the server (PUSH_PROMISE): the request is the promise */
    bool h2_upgrade;         /* stream 1 of an h2c upgrade: the request is the HTTP/1.1 one */
    bool headers_undecodable; /* a header block of this exchange could not be decoded (HPACK
                                 context lost): method/path/status may be missing */
    bool req_trailers;        /* the request ended with a trailer block */
    bool resp_trailers;       /* the response ended with a trailer block */
} cs_http_tx;

/* Counts what a gzip or deflate (zlib or raw) body decodes to, fed in pieces (zlib). Zero it to
 * start; the inflater is allocated with the first byte. */
typedef struct cs_body_dec {
    struct z_stream_s *z; /* zlib's z_stream, NULL before the first byte and after free */
    uint64_t decoded;     /* decoded bytes so far */
    bool fail;            /* not decodable (corrupt, or bytes lost): report the transferred size */
    bool end;             /* the compressed stream ended (later bytes are not decoded) */
    bool raw;             /* retried as raw deflate (sent without the zlib header) */
} cs_body_dec;

/* Feeds n body bytes (p NULL: n bytes lost in a capture gap, which fails the decoding). */
void cs_body_dec_feed(cs_body_dec *d, const uint8_t *p, uint32_t n);

/* Releases the inflater; the counts stay. Safe to call twice. */
void cs_body_dec_free(cs_body_dec *d);

/* True when a Content-Encoding value's last coding is one cs_body_dec inflates (gzip, x-gzip,
 * deflate; case-insensitive). */
bool cs_http_coding_inflatable(const uint8_t *val, uint32_t val_len);

/* Frees the strings of t (method, uri, host, user_agent, status_msg, scheme) and sets them to
 * NULL; not t itself. For the parsers that own exchanges (HTTP/1.x, HTTP/2). */
void cs_http_tx_clear_strings(cs_http_tx *t);

/* Per-connection totals the parser alone knows (the exchange counts and timings of the conn record
 * come from the exchanges themselves: cs_exacc, fed by the app layer). */
typedef struct cs_http_conn_summary {
    uint32_t requests, responses, paired, unanswered, orphans, interim;
    uint32_t lost_in_gap, dropped_cap;
    uint32_t gaps;           /* gap events seen by the parser */
    uint32_t anomalies;
    uint32_t status_class[6]; /* [1]..[5] = 1xx..5xx of final responses, [0] other */
    bool upgraded;           /* 101 or CONNECT 2xx: rest of the stream not parsed */
} cs_http_conn_summary;

/* Where the parser reports: each exchange once (complete, or at the end of the connection), and
 * each anomaly (counted into the run's counters by the caller). */
typedef struct cs_http_sink {
    void *ctx;
    void (*exchange)(void *ctx, const cs_conn *c, const cs_http_tx *tx);
    void (*anomaly)(void *ctx, const cs_conn *c, cs_anomaly a);
    /* Optional (NULL: off): each accepted start line and each header line of a message, without
     * its line ending, with the capture time of its first byte (`connscope follow --http`). */
    void (*head_line)(void *ctx, const cs_conn *c, bool from_client, bool start_line,
                      const uint8_t *p, uint32_t n, cs_time_t ts);
    /* Optional, as head_line for HTTP/2 (app_http2.c): each decoded header field of a block as
     * "name: value" (pseudo-headers too), the block's first flagged start_line, with its stream. */
    void (*h2_head_line)(void *ctx, const cs_conn *c, bool from_client, uint32_t stream_id,
                         bool start_line, const uint8_t *p, uint32_t n, cs_time_t ts);
} cs_http_sink;

typedef struct cs_http_conn cs_http_conn;

/* Creates the parser state of one connection. Can't fail (aborts on OOM). */
cs_http_conn *cs_http_new(const cs_http_cfg *cfg);

/* Feeds reassembled bytes sent by the client (from_client) or the server, with the capture time of
 * the segment that carried them. Returns how many trailing bytes were not parsed because the
 * direction stopped being HTTP (101 upgrade, CONNECT tunnel); 0 normally. */
uint32_t cs_http_data(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                      const uint8_t *p, uint32_t len, cs_time_t ts);

/* True once a CONNECT was answered with 2xx: the bytes cs_http_data() leaves are the tunnel's. */
bool cs_http_tunnel(const cs_http_conn *h);

/* The request that asked for `Upgrade: h2c` once the server answered it with 101 (the bytes
 * cs_http_data() leaves are then HTTP/2, RFC 7540 3.2), else NULL. Owned by the parser; its
 * outcome and response fields are not meaningful. */
const cs_http_tx *cs_http_h2c_request(const cs_http_conn *h);

/* `len` bytes are missing from one direction. Inside a body of known length the parser stays in
 * step; anywhere else it resynchronises on the next start line. */
void cs_http_gap(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                 uint32_t len, cs_time_t ts);

/* One direction ended (FIN reached, RST, or the connection was finalised). Completes bodies
 * delimited by the connection close. */
void cs_http_end(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                 cs_time_t ts);

/* The connection is over: reports every exchange still open (unanswered requests, partial
 * responses) and fills *sum (may be NULL). h stays valid until cs_http_free(). */
void cs_http_finish(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                    cs_http_conn_summary *sum);

void cs_http_free(cs_http_conn *h);

/* Adds the counts of `from` into `into` (maxima: the larger). */
void cs_http_summary_add(cs_http_conn_summary *into, const cs_http_conn_summary *from);

/* Starts a direction in resynchronisation mode (mid-stream capture: skip to the first start line). */
void cs_http_resync(cs_http_conn *h, bool from_client);

/* Content detection on the first bytes of a direction: 1 = an HTTP request line (client) or status
 * line (server) starts here, 0 = not HTTP, -1 = need more bytes to tell. */
int cs_http_detect_request(const uint8_t *p, uint32_t len);
int cs_http_detect_response(const uint8_t *p, uint32_t len);

/* Name of an outcome ("complete", "no_response", ...). */
const char *cs_http_outcome_name(cs_http_outcome o);

#endif
