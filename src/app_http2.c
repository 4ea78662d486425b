/* app_http2.c - HTTP/2 framing (RFC 9113) per direction and pairing per stream: frame headers read
 * through cs_wire, header blocks streamed into libnghttp2's HPACK inflater (one per direction). */
#include <string.h>

#include <glib.h>
#include <nghttp2/nghttp2.h>

#include "app_http2.h"
#include "wire.h"

#define FRAME_HDR 9
#define DEFAULT_MAX_FRAME 16384u
#define LARGEST_MAX_FRAME 16777215u
#define RECENT 64 /* closed stream ids remembered when streams may be joined late */

/* Frame flags (RFC 9113 6). */
#define FL_END_STREAM 0x01
#define FL_ACK 0x01
#define FL_END_HEADERS 0x04
#define FL_PADDED 0x08
#define FL_PRIORITY 0x20

enum phase {
    F_PREFACE, /* client: matching the 24-byte connection preface */
    F_HEADER,  /* reading a 9-byte frame header */
    F_PAYLOAD, /* inside a frame's payload */
    F_LOST     /* framing lost (gap, joined late, bad preface): looking for a frame header */
};

/* What a header block describes. */
enum block_kind {
    BK_DISCARD,      /* decoded (to keep the HPACK context) and dropped */
    BK_REQUEST,      /* a request's header block */
    BK_REQ_TRAILERS, /* a client's second block on a stream */
    BK_RESPONSE,     /* a response's block: interim (1xx) or final */
    BK_RESP_TRAILERS,
    BK_PROMISE /* a PUSH_PROMISE: the promised request */
};

typedef struct h2stream {
    cs_http_tx tx; /* the exchange reported (first member) */
    uint32_t sid;
    bool req_headers;    /* the request's header block was seen (or the promise, or the upgrade) */
    bool resp_final;     /* a final (not 1xx) response header block was seen */
    bool joined;         /* created by a frame other than its request (joined late) */
    bool ended[2];       /* END_STREAM sent by the client [0] / the server [1] */
    bool gap_crossed[2]; /* a gap broke framing in that direction while the stream was open */
    bool coded[2];       /* the request's / response's content-encoding is gzip or deflate */
    cs_body_dec dec[2];  /* ... its decoder (--http-decode-bodies) */
} h2stream;

typedef struct h2dir {
    uint8_t phase;
    uint8_t hdr_len; /* bytes of a frame header split across chunks */
    uint8_t hdr[FRAME_HDR];
    uint8_t preface_got; /* F_PREFACE: bytes of the preface matched so far */
    /* the current frame */
    uint8_t type, flags;
    bool bad; /* breaks a rule: the rest of its payload is skipped */
    uint32_t sid;
    uint32_t flen, fpos;  /* payload length, bytes of it consumed */
    uint32_t head_need;   /* payload prefix read first (pad length, priority, ids, codes) */
    uint32_t content_end; /* payload offset where padding starts */
    uint8_t head[8];
    uint8_t set[6]; /* SETTINGS: a partial entry */
    uint8_t set_len;
    cs_time_t fstart;  /* capture time of the frame's first byte */
    h2stream *fstream; /* DATA: the stream it belongs to, NULL: not tracked */
    /* a header block (HEADERS or PUSH_PROMISE, then CONTINUATION frames) in progress */
    bool in_block;
    bool block_decode;     /* fed to the inflater */
    bool block_end_stream; /* the HEADERS frame carried END_STREAM */
    bool block_first;      /* no field emitted yet (the next is the block's first line) */
    bool block_has_status;
    uint8_t block_kind;
    uint16_t block_status;
    uint32_t block_sid;
    uint32_t block_bytes;
    cs_time_t block_ts;
    h2stream *block_stream;   /* stream the fields describe, NULL: dropped */
    nghttp2_hd_inflater *inf; /* NULL once the context is lost (or never had) */
    uint32_t max_frame;       /* largest frame this direction may send (the peer's setting) */
    uint32_t table_pending;   /* SETTINGS_HEADER_TABLE_SIZE this side sent, applied at the ACK */
    bool table_pending_set;
    uint32_t table_max; /* the table size limit given to this direction's inflater */
} h2dir;

struct cs_h2_conn {
    const cs_http_cfg *cfg;
    h2dir d[2];         /* 0: client, 1: server */
    h2stream **streams; /* open streams, unordered */
    uint32_t *sids;     /* their ids in the same order (scanned to find one) */
    uint32_t n, cap, hint;
    uint32_t last_sid[2]; /* highest id opened by the client [0] / promised by the server [1] */
    uint32_t next_depth;
    bool lenient; /* joined late or lost framing: unknown streams are joined, not errors */
    bool finished;
    uint32_t recent[RECENT]; /* ids of streams closed lately (lenient mode) */
    uint32_t recent_pos;
    cs_time_t area_ts; /* last open/close event (concurrency accounting), -1: none */
    cs_time_t last_ts; /* latest capture time seen */
    GString *line;     /* head_line text */
    cs_http_conn_summary sum;
    cs_h2_conn_summary h2;
};

static const char *const frame_names[CS_H2_NTYPES] = {
    "DATA",         "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
    "PUSH_PROMISE", "PING",    "GOAWAY",   "WINDOW_UPDATE", "CONTINUATION"};

/* Flags each frame type defines (others must be ignored; resynchronisation wants them clear). */
static const uint8_t frame_flags[CS_H2_NTYPES] = {FL_END_STREAM | FL_PADDED,
                                                  FL_END_STREAM | FL_END_HEADERS | FL_PADDED |
                                                      FL_PRIORITY,
                                                  0,
                                                  0,
                                                  FL_ACK,
                                                  FL_END_HEADERS | FL_PADDED,
                                                  FL_ACK,
                                                  0,
                                                  0,
                                                  FL_END_HEADERS};

const char *cs_h2_frame_name(unsigned type)
{
    return type < CS_H2_NTYPES ? frame_names[type] : "EXTENSION";
}

const char *cs_h2_error_name(uint32_t code, char buf[16])
{
    static const char *const names[] = {"NO_ERROR",
                                        "PROTOCOL_ERROR",
                                        "INTERNAL_ERROR",
                                        "FLOW_CONTROL_ERROR",
                                        "SETTINGS_TIMEOUT",
                                        "STREAM_CLOSED",
                                        "FRAME_SIZE_ERROR",
                                        "REFUSED_STREAM",
                                        "CANCEL",
                                        "COMPRESSION_ERROR",
                                        "CONNECT_ERROR",
                                        "ENHANCE_YOUR_CALM",
                                        "INADEQUATE_SECURITY",
                                        "HTTP_1_1_REQUIRED"};
    if (code < CS_ARRAY_LEN(names))
        return names[code];
    g_snprintf(buf, 16, "0x%x", code);
    return buf;
}

int cs_h2_detect_preface(const uint8_t *p, uint32_t len)
{
    uint32_t n = MIN(len, (uint32_t)CS_H2_PREFACE_LEN);
    if (memcmp(p, CS_H2_PREFACE, n) != 0)
        return 0;
    return n == CS_H2_PREFACE_LEN ? 1 : -1;
}

int cs_h2_detect_server_preface(const uint8_t *p, uint32_t len)
{
    if (len < FRAME_HDR)
        return -1;
    cs_wire w = cs_wire_make(p, len);
    uint32_t flen = cs_wire_be24(&w, 0);
    bool ok = cs_wire_u8(&w, 3) == CS_H2_SETTINGS && cs_wire_u8(&w, 4) == 0 &&
              cs_wire_be32(&w, 5) == 0 && flen % 6 == 0 && flen <= 16 * 6;
    return ok && !w.trunc ? 1 : 0;
}

/* ---- setup and accounting ------------------------------------------------------------------ */

static void dir_init(h2dir *d, bool preface, bool client)
{
    d->phase = preface ? (client ? F_PREFACE : F_HEADER) : F_LOST;
    d->max_frame = DEFAULT_MAX_FRAME;
    d->table_max = 4096; /* RFC 9113 6.5.2 initial value */
    if (preface && nghttp2_hd_inflate_new(&d->inf) != 0)
        g_error("out of memory (HPACK inflater)");
}

cs_h2_conn *cs_h2_new(const cs_http_cfg *cfg, bool preface)
{
    cs_h2_conn *h = g_new0(cs_h2_conn, 1);
    h->cfg = cfg;
    for (int i = 0; i < 2; i++) {
        dir_init(&h->d[i], preface, i == 0);
        h->h2.hpack_lost[i] = !preface;
    }
    h->lenient = !preface;
    h->h2.midstream = !preface;
    h->area_ts = h->last_ts = -1;
    return h;
}

static void anomaly(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, cs_anomaly a)
{
    h->sum.anomalies++;
    h->h2.anomalies++;
    if (sink->anomaly != NULL)
        sink->anomaly(sink->ctx, c, a);
}

/* Advances the open-streams integral to time ts (called before the open count changes). */
static void concurrency_tick(cs_h2_conn *h, cs_time_t ts)
{
    if (h->area_ts >= 0 && ts > h->area_ts) {
        h->h2.open_area += (cs_time_t)h->n * (ts - h->area_ts);
        if (h->n > 0)
            h->h2.busy += ts - h->area_ts;
    }
    if (ts > h->area_ts)
        h->area_ts = ts;
}

static char *dup_field(const cs_h2_conn *h, const uint8_t *p, size_t n)
{
    return g_strndup((const char *)p, MIN(n, (size_t)h->cfg->max_field));
}

static bool recent_closed(const cs_h2_conn *h, uint32_t sid)
{
    for (int i = 0; i < RECENT; i++)
        if (h->recent[i] == sid)
            return true;
    return false;
}

/* ---- streams ------------------------------------------------------------------------------- */

static int stream_index(cs_h2_conn *h, uint32_t sid)
{
    if (h->hint < h->n && h->sids[h->hint] == sid)
        return (int)h->hint;
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->sids[i] == sid) {
            h->hint = i;
            return (int)i;
        }
    }
    return -1;
}

static h2stream *stream_find(cs_h2_conn *h, uint32_t sid)
{
    int i = stream_index(h, sid);
    return i < 0 ? NULL : h->streams[i];
}

/* Reports stream s (its outcome derived unless already set), then frees it. */
static void stream_close(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, h2stream *s,
                         cs_time_t ts)
{
    cs_http_tx *t = &s->tx;
    concurrency_tick(h, ts);
    if (t->outcome == CS_HTTP_COMPLETE) {
        if (!t->has_request)
            t->outcome = CS_HTTP_NO_REQUEST;
        else if (t->has_response)
            t->outcome = !t->resp_done  ? CS_HTTP_RESP_PARTIAL
                         : t->h2_pushed ? CS_HTTP_PUSHED
                                        : CS_HTTP_COMPLETE;
        else if (s->gap_crossed[1])
            t->outcome = CS_HTTP_LOST_IN_GAP;
        else
            t->outcome = t->req_done ? CS_HTTP_NO_RESPONSE : CS_HTTP_REQ_PARTIAL;
    }
    if (!t->h2_pushed) {
        if (t->has_request && t->has_response)
            h->sum.paired++;
        else if (t->has_request)
            h->sum.unanswered++;
        else if (t->has_response)
            h->sum.orphans++;
    }
    if (t->outcome == CS_HTTP_LOST_IN_GAP)
        h->sum.lost_in_gap++;
    else if (t->outcome == CS_HTTP_DROPPED_CAP)
        h->sum.dropped_cap++;
    else if (t->outcome == CS_HTTP_RESET)
        h->h2.resets++;
    else if (t->outcome == CS_HTTP_REFUSED)
        h->h2.refused++;
    if (sink->exchange != NULL)
        sink->exchange(sink->ctx, c, t);

    for (int i = 0; i < 2; i++) {
        if (h->d[i].block_stream == s)
            h->d[i].block_stream = NULL;
        if (h->d[i].fstream == s)
            h->d[i].fstream = NULL;
    }
    if (h->lenient) {
        h->recent[h->recent_pos] = s->sid;
        h->recent_pos = (h->recent_pos + 1) % RECENT;
    }
    cs_body_dec_free(&s->dec[0]);
    cs_body_dec_free(&s->dec[1]);
    int i = stream_index(h, s->sid);
    h->n--;
    h->streams[i] = h->streams[h->n];
    h->sids[i] = h->sids[h->n];
    cs_http_tx_clear_strings(t);
    g_free(s);
}

/* Opens stream sid at time ts. At the cap, the oldest open stream is reported dropped_cap first. */
static h2stream *stream_open(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                             uint32_t sid, cs_time_t ts)
{
    if (h->n >= h->cfg->max_pending && h->n > 0) {
        h2stream *old = h->streams[0];
        for (uint32_t i = 1; i < h->n; i++)
            if (h->streams[i]->tx.depth < old->tx.depth)
                old = h->streams[i];
        anomaly(h, sink, c, CS_ANOM_H2_STREAM_CAP);
        old->tx.outcome = CS_HTTP_DROPPED_CAP;
        stream_close(h, sink, c, old, ts);
    }
    concurrency_tick(h, ts);
    if (h->n == h->cap) {
        h->cap = h->cap == 0 ? 8 : h->cap * 2;
        h->streams = g_renew(h2stream *, h->streams, h->cap);
        h->sids = g_renew(uint32_t, h->sids, h->cap);
    }
    h2stream *s = g_new0(h2stream, 1);
    s->sid = sid;
    cs_http_tx *t = &s->tx;
    t->depth = ++h->next_depth;
    t->h2_stream_id = sid;
    t->req_start = t->req_end = t->req_hdr_end = -1;
    t->resp_start = t->resp_end = t->info_ts = t->prev_resp_end = -1;
    h->streams[h->n] = s;
    h->sids[h->n] = sid;
    h->hint = h->n;
    h->n++;
    if (h->n > h->h2.max_open)
        h->h2.max_open = h->n;
    h->h2.streams++;
    return s;
}

/* A stream created by a frame other than its request (lenient mode). When the server's frame
 * comes first, the request is taken as over (it was sent before the capture or the hole). */
static h2stream *stream_join(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                             uint32_t sid, int side, cs_time_t ts)
{
    h2stream *s = stream_open(h, sink, c, sid, ts);
    s->joined = true;
    s->tx.h2_pushed = sid % 2 == 0;
    if (s->tx.h2_pushed || side == 1)
        s->ended[0] = true;
    int who = sid % 2 == 1 ? 0 : 1;
    if (sid > h->last_sid[who])
        h->last_sid[who] = sid;
    return s;
}

/* The stream a frame of `side` on sid refers to, joining it in lenient mode; NULL when it is not
 * tracked. A frame on an idle stream (above every id its initiator used) is a state error. */
static h2stream *stream_for_frame(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                                  int side, uint32_t sid, bool may_join, cs_time_t ts)
{
    h2stream *s = stream_find(h, sid);
    if (s != NULL)
        return s;
    if (h->lenient) {
        if (may_join && !recent_closed(h, sid))
            return stream_join(h, sink, c, sid, side, ts);
        return NULL;
    }
    if (sid > h->last_sid[sid % 2 == 1 ? 0 : 1])
        anomaly(h, sink, c, CS_ANOM_H2_STREAM_STATE);
    return NULL; /* closed (reset, dropped at the cap): frames in flight are ignored */
}

/* END_STREAM from `side` on s at time ts; the stream closes when both sides ended. */
static void stream_side_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, h2stream *s,
                            int side, cs_time_t ts)
{
    cs_http_tx *t = &s->tx;
    if (s->ended[side])
        return;
    s->ended[side] = true;
    if (side == 0) {
        t->req_done = true;
        t->req_end = ts;
    } else if (s->resp_final) {
        t->resp_done = true;
        t->resp_end = ts;
    }
    if (s->ended[0] && s->ended[1])
        stream_close(h, sink, c, s, ts);
}

/* ---- header blocks ------------------------------------------------------------------------- */

/* The direction's header context is lost for good: later blocks are not decoded. */
static void hpack_lose(cs_h2_conn *h, int side)
{
    h2dir *d = &h->d[side];
    if (d->inf != NULL)
        nghttp2_hd_inflate_del(d->inf);
    d->inf = NULL;
    d->block_decode = false;
    h->h2.hpack_lost[side] = true;
}

/* The block in progress cannot be decoded (any more): its stream is flagged. */
static void block_undecodable(cs_h2_conn *h, int side)
{
    h2dir *d = &h->d[side];
    if (d->block_stream != NULL)
        d->block_stream->tx.headers_undecodable = true;
}

static void emit_line(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                      const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen)
{
    h2dir *d = &h->d[side];
    if (h->line == NULL)
        h->line = g_string_sized_new(128);
    g_string_truncate(h->line, 0);
    g_string_append_len(h->line, (const char *)name, (gssize)MIN(nlen, 65536u));
    g_string_append(h->line, ": ");
    g_string_append_len(h->line, (const char *)val, (gssize)MIN(vlen, 65536u));
    uint32_t sid = d->block_stream != NULL ? d->block_stream->sid : d->block_sid;
    sink->h2_head_line(sink->ctx, c, side == 0, sid, d->block_first, (const uint8_t *)h->line->str,
                       (uint32_t)h->line->len, d->block_ts);
}

static bool name_is(const uint8_t *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

/* One decoded header field of the block in progress of `side`. */
static void on_field(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                     const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen)
{
    h2dir *d = &h->d[side];
    h2stream *s = d->block_stream;
    if (s != NULL) {
        cs_http_tx *t = &s->tx;
        if (d->block_kind == BK_REQUEST || d->block_kind == BK_PROMISE) {
            if (name_is(name, nlen, ":method") && t->method == NULL)
                t->method = dup_field(h, val, vlen);
            else if (name_is(name, nlen, ":path") && t->uri == NULL)
                t->uri = dup_field(h, val, vlen);
            else if (name_is(name, nlen, ":scheme") && t->scheme == NULL)
                t->scheme = dup_field(h, val, vlen);
            else if ((name_is(name, nlen, ":authority") || name_is(name, nlen, "host")) &&
                     t->host == NULL)
                t->host = dup_field(h, val, vlen);
            else if (name_is(name, nlen, "user-agent") && t->user_agent == NULL)
                t->user_agent = dup_field(h, val, vlen);
            else if (name_is(name, nlen, "content-encoding") && d->block_kind == BK_REQUEST)
                s->coded[0] = cs_http_coding_inflatable(val, (uint32_t)MIN(vlen, UINT32_MAX));
        } else if (d->block_kind == BK_RESPONSE && name_is(name, nlen, "content-encoding") &&
                   d->block_has_status && d->block_status >= 200) {
            s->coded[1] = cs_http_coding_inflatable(val, (uint32_t)MIN(vlen, UINT32_MAX));
        } else if (d->block_kind == BK_RESPONSE && name_is(name, nlen, ":status") &&
                   !d->block_has_status) {
            uint16_t st = 0;
            bool ok = vlen == 3;
            for (size_t i = 0; ok && i < 3; i++) {
                ok = g_ascii_isdigit(val[i]);
                st = (uint16_t)(st * 10 + (val[i] - '0'));
            }
            d->block_has_status = ok;
            d->block_status = ok ? st : 0;
        }
    }
    if (sink->h2_head_line != NULL && d->block_kind != BK_DISCARD)
        emit_line(h, sink, c, side, name, nlen, val, vlen);
    d->block_first = false;
}

/* Feeds n bytes of a header block to the direction's inflater (final: the block ends here). */
static void inflate_bytes(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                          const uint8_t *p, uint32_t n, bool final)
{
    h2dir *d = &h->d[side];
    for (;;) {
        nghttp2_nv nv;
        int fl = 0;
        ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &fl, p, n, final ? 1 : 0);
        if (rv < 0) {
            anomaly(h, sink, c, CS_ANOM_H2_HPACK_ERROR);
            block_undecodable(h, side);
            hpack_lose(h, side);
            return;
        }
        p += rv;
        n -= (uint32_t)rv;
        if (fl & NGHTTP2_HD_INFLATE_EMIT)
            on_field(h, sink, c, side, nv.name, nv.namelen, nv.value, nv.valuelen);
        if (fl & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(d->inf);
            return;
        }
        if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && (n == 0 || rv == 0))
            return;
    }
}

static void block_begin(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                        uint8_t kind, h2stream *s, bool end_stream)
{
    h2dir *d = &h->d[side];
    d->in_block = true;
    d->block_kind = kind;
    d->block_stream = s;
    d->block_sid = d->sid;
    d->block_ts = d->fstart;
    d->block_bytes = 0;
    d->block_end_stream = end_stream;
    d->block_first = true;
    d->block_has_status = false;
    d->block_status = 0;
    d->block_decode = d->inf != NULL;
    if (!d->block_decode) {
        h->h2.undecodable++;
        if (s != NULL) {
            s->tx.headers_undecodable = true;
            anomaly(h, sink, c, CS_ANOM_H2_UNDECODABLE);
        }
    }
}

static void block_bytes(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                        const uint8_t *p, uint32_t n)
{
    h2dir *d = &h->d[side];
    d->block_bytes += n;
    h->h2.header_bytes[side] += n;
    if (!d->block_decode)
        return;
    if (p == NULL) { /* bytes of the block lost in a gap */
        block_undecodable(h, side);
        hpack_lose(h, side);
        return;
    }
    if (d->block_bytes > h->cfg->max_header_bytes) {
        anomaly(h, sink, c, CS_ANOM_H2_HEADERS_TOO_LONG);
        block_undecodable(h, side);
        hpack_lose(h, side);
        return;
    }
    inflate_bytes(h, sink, c, side, p, n, false);
}

/* A response header block ended: interim (1xx) or final. */
static void response_block_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                               h2stream *s, bool decoded)
{
    h2dir *d = &h->d[1];
    cs_http_tx *t = &s->tx;
    uint16_t st = d->block_status;
    if (decoded && !d->block_has_status)
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL); /* malformed: no :status */
    if (decoded && st >= 100 && st < 200) {
        if (st == 101)
            anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL); /* RFC 9113 8.6 */
        t->info_code = st;
        t->info_ts = d->block_ts;
        h->sum.interim++;
        return;
    }
    s->resp_final = true;
    t->has_response = true;
    t->status = decoded ? st : 0;
    t->resp_start = d->block_ts;
    strcpy(t->resp_version, "2");
    if (!t->h2_pushed) {
        h->sum.responses++;
        h->sum.status_class[st >= 100 && st < 600 ? st / 100 : 0]++;
    }
}

/* END_HEADERS: the block is complete at time ts. */
static void block_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                      cs_time_t ts)
{
    h2dir *d = &h->d[side];
    static const uint8_t none[1] = {0};
    if (d->block_decode)
        inflate_bytes(h, sink, c, side, none, 0, true);
    bool decoded = d->block_decode;
    d->in_block = false;
    h2stream *s = d->block_stream;
    d->block_stream = NULL;
    if (s == NULL)
        return;
    cs_http_tx *t = &s->tx;
    switch (d->block_kind) {
    case BK_REQUEST:
    case BK_PROMISE:
        s->req_headers = true;
        t->req_hdr_end = ts;
        if (t->method != NULL) {
            t->head = strcmp(t->method, "HEAD") == 0;
            t->connect = strcmp(t->method, "CONNECT") == 0;
            if (t->connect && t->uri == NULL && t->host != NULL)
                t->uri = g_strdup(t->host); /* CONNECT has no :path: the target is :authority */
        }
        if (d->block_kind == BK_PROMISE) { /* a promised request is complete as promised */
            t->req_done = true;
            t->req_end = ts;
        }
        break;
    case BK_RESPONSE:
        response_block_end(h, sink, c, s, decoded);
        break;
    case BK_REQ_TRAILERS:
        t->req_trailers = true;
        break;
    case BK_RESP_TRAILERS:
        t->resp_trailers = true;
        break;
    default:
        break;
    }
    if (d->block_end_stream && d->block_kind != BK_PROMISE)
        stream_side_end(h, sink, c, s, side, ts);
}

/* A block cut by a frame that is not its CONTINUATION, or by lost framing: never completed. */
static void block_abort(cs_h2_conn *h, int side)
{
    h2dir *d = &h->d[side];
    if (!d->in_block)
        return;
    if (d->block_decode) {
        block_undecodable(h, side);
        hpack_lose(h, side);
    }
    d->in_block = false;
    d->block_stream = NULL;
}

/* A HEADERS frame of `side` begins: opens the request's stream or finds the stream it answers. */
static void headers_begin(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side)
{
    h2dir *d = &h->d[side];
    uint32_t sid = d->sid;
    bool es = (d->flags & FL_END_STREAM) != 0;
    h2stream *s = stream_find(h, sid);
    uint8_t kind = BK_DISCARD;
    if (side == 0) {
        bool fresh = sid % 2 == 1 &&
                     (sid > h->last_sid[0] || (h->lenient && !recent_closed(h, sid)));
        if (s != NULL) {
            kind = s->req_headers || s->joined ? BK_REQ_TRAILERS : BK_REQUEST;
        } else if (fresh) {
            s = stream_open(h, sink, c, sid, d->fstart);
            if (sid > h->last_sid[0])
                h->last_sid[0] = sid;
            s->tx.has_request = true;
            s->tx.req_start = d->fstart;
            strcpy(s->tx.version, "2");
            h->sum.requests++;
            kind = BK_REQUEST;
        } else {
            anomaly(h, sink, c, CS_ANOM_H2_STREAM_STATE); /* an even or reused id */
        }
    } else {
        if (s == NULL)
            s = stream_for_frame(h, sink, c, side, sid, true, d->fstart);
        if (s != NULL)
            kind = s->resp_final ? BK_RESP_TRAILERS : BK_RESPONSE;
    }
    block_begin(h, sink, c, side, kind, s, es);
}

/* A PUSH_PROMISE's head was read: the promised stream is reserved with the promised request. */
static void promise_begin(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                          uint32_t promised)
{
    h2dir *d = &h->d[side];
    h2stream *s = NULL;
    if (side == 0) {
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL); /* clients cannot push */
    } else if (promised == 0 || promised % 2 == 1 || (promised <= h->last_sid[1] && !h->lenient) ||
               stream_find(h, promised) != NULL) {
        anomaly(h, sink, c, CS_ANOM_H2_STREAM_STATE);
    } else {
        s = stream_open(h, sink, c, promised, d->fstart);
        if (promised > h->last_sid[1])
            h->last_sid[1] = promised;
        s->tx.has_request = true;
        s->tx.h2_pushed = true;
        s->tx.req_start = d->fstart;
        strcpy(s->tx.version, "2");
        s->ended[0] = true;
        h->h2.pushed++;
    }
    block_begin(h, sink, c, side, s != NULL ? BK_PROMISE : BK_DISCARD, s, false);
}

/* ---- control frames ------------------------------------------------------------------------ */

static void rst_stream(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                       uint32_t code, cs_time_t ts)
{
    h2dir *d = &h->d[side];
    h2stream *s = stream_for_frame(h, sink, c, side, d->sid, false, ts);
    if (s == NULL)
        return;
    cs_http_tx *t = &s->tx;
    t->h2_reset = true;
    t->h2_error = code;
    t->h2_reset_by_client = side == 0;
    if (!(t->has_response && t->resp_done))
        t->outcome = CS_HTTP_RESET;
    stream_close(h, sink, c, s, ts);
}

/* GOAWAY from `side`: streams the other side opened above last_sid were not processed. */
static void goaway(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                   uint32_t last_sid, uint32_t code, cs_time_t ts)
{
    h->h2.goaway[side] = true;
    h->h2.goaway_error[side] = code;
    h->h2.goaway_last_stream[side] = last_sid;
    uint32_t parity = side == 1 ? 1 : 0; /* client streams are odd, pushed ones even */
    for (uint32_t i = h->n; i-- > 0;) {
        h2stream *s = h->streams[i];
        if (s->sid % 2 == parity && s->sid > last_sid && !s->tx.has_response) {
            s->tx.outcome = CS_HTTP_REFUSED;
            stream_close(h, sink, c, s, ts); /* moves an already visited stream to i */
        }
    }
}

/* Sets the dynamic table limit of side's inflater (capped by max_header_bytes: an encoder that
 * goes beyond makes the inflater fail, which is counted, instead of growing the table). */
static void table_limit(cs_h2_conn *h, int side, uint32_t val)
{
    h2dir *d = &h->d[side];
    d->table_max = val;
    if (d->inf != NULL &&
        nghttp2_hd_inflate_change_table_size(d->inf, MIN(val, h->cfg->max_header_bytes)) != 0)
        hpack_lose(h, side);
}

/* One SETTINGS entry sent by `side`. */
static void setting(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                    uint16_t id, uint32_t val)
{
    switch (id) {
    case 1: /* HEADER_TABLE_SIZE: binds the peer's encoder once it acknowledges; a larger limit
               is given to the inflater at once too (harmless: the encoder still has to announce
               a larger table), for encoders that use it before their ACK is on the wire */
        h->d[side].table_pending = val;
        h->d[side].table_pending_set = true;
        if (val > h->d[!side].table_max && !h->d[!side].in_block)
            table_limit(h, !side, val);
        break;
    case 2: /* ENABLE_PUSH */
        if (val > 1)
            anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        break;
    case 4: /* INITIAL_WINDOW_SIZE */
        if (val > 0x7fffffffu)
            anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        break;
    case 5: /* MAX_FRAME_SIZE: what the other side may send (raised at once, never lowered: frames
               sent before the peer saw a lower value are fine) */
        if (val < DEFAULT_MAX_FRAME || val > LARGEST_MAX_FRAME)
            anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        else if (val > h->d[!side].max_frame)
            h->d[!side].max_frame = val;
        break;
    default:
        break;
    }
}

/* A SETTINGS ACK from `side`: the table size the other side announced now binds side's encoder. */
static void settings_ack(cs_h2_conn *h, int side)
{
    h2dir *o = &h->d[!side];
    if (!o->table_pending_set)
        return;
    o->table_pending_set = false;
    table_limit(h, side, o->table_pending);
}

/* ---- frames -------------------------------------------------------------------------------- */

/* Checks the header of the frame in d against RFC 9113 section 6 and sets how much of its payload
 * is read before the content. Returns false when the frame must be skipped. */
static bool frame_check(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side)
{
    h2dir *d = &h->d[side];
    bool padded = (d->flags & FL_PADDED) != 0;
    bool need_sid = true, ok_len = true;
    switch (d->type) {
    case CS_H2_DATA:
        d->head_need = padded ? 1 : 0;
        break;
    case CS_H2_HEADERS:
        d->head_need = (padded ? 1 : 0) + ((d->flags & FL_PRIORITY) ? 5 : 0);
        break;
    case CS_H2_PRIORITY:
        ok_len = d->flen == 5;
        break;
    case CS_H2_RST_STREAM:
        ok_len = d->flen == 4;
        d->head_need = 4;
        break;
    case CS_H2_SETTINGS:
        need_sid = false;
        ok_len = (d->flags & FL_ACK) ? d->flen == 0 : d->flen % 6 == 0;
        break;
    case CS_H2_PUSH_PROMISE:
        d->head_need = (padded ? 1 : 0) + 4;
        break;
    case CS_H2_PING:
        need_sid = false;
        ok_len = d->flen == 8;
        break;
    case CS_H2_GOAWAY:
        need_sid = false;
        ok_len = d->flen >= 8;
        d->head_need = 8;
        break;
    case CS_H2_WINDOW_UPDATE:
        ok_len = d->flen == 4;
        return ok_len ? true : (anomaly(h, sink, c, CS_ANOM_H2_FRAME_SIZE), false);
    default:
        return true; /* CONTINUATION (checked against its block), extensions (ignored) */
    }
    if (!ok_len || d->head_need > d->flen) {
        anomaly(h, sink, c, CS_ANOM_H2_FRAME_SIZE);
        return false;
    }
    if ((d->sid != 0) != need_sid) {
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        return false;
    }
    return true;
}

static void head_done(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                      cs_time_t ts);

/* A frame header was read (in d->hdr or at p) at time ts. */
static void frame_begin(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                        const uint8_t *p, cs_time_t ts)
{
    h2dir *d = &h->d[side];
    cs_wire w = cs_wire_make(p, FRAME_HDR);
    d->flen = cs_wire_be24(&w, 0);
    d->type = cs_wire_u8(&w, 3);
    d->flags = cs_wire_u8(&w, 4);
    d->sid = cs_wire_be32(&w, 5) & 0x7fffffffu;
    d->fpos = 0;
    d->head_need = 0;
    d->content_end = d->flen;
    d->set_len = 0;
    d->fstream = NULL;
    d->fstart = ts;
    d->phase = F_PAYLOAD;
    h->h2.frames[side]++;
    h->h2.type_frames[MIN(d->type, (uint8_t)CS_H2_NTYPES)]++;
    if (d->flen > d->max_frame)
        anomaly(h, sink, c, CS_ANOM_H2_FRAME_SIZE); /* the length still frames it: read on */
    if (d->in_block && (d->type != CS_H2_CONTINUATION || d->sid != d->block_sid)) {
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        block_abort(h, side);
    }
    d->bad = !frame_check(h, sink, c, side);
    if (!d->bad && d->type == CS_H2_CONTINUATION && !d->in_block) {
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL);
        d->bad = true;
    }
    if (d->bad) {
        d->head_need = d->content_end = 0;
        if (d->type == CS_H2_HEADERS || d->type == CS_H2_PUSH_PROMISE ||
            d->type == CS_H2_CONTINUATION) {
            block_abort(h, side);
            hpack_lose(h, side); /* a header block was not read: the context may have changed */
        }
        return;
    }
    if (d->type == CS_H2_HEADERS)
        headers_begin(h, sink, c, side);
    else if (d->type == CS_H2_DATA)
        d->fstream = stream_for_frame(h, sink, c, side, d->sid, true, ts);
    if (d->head_need == 0)
        head_done(h, sink, c, side, ts);
}

/* The payload prefix (pad length, priority, promised id, codes) was read. */
static void head_done(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                      cs_time_t ts)
{
    h2dir *d = &h->d[side];
    cs_wire w = cs_wire_make(d->head, d->head_need);
    uint32_t pad = 0, off = 0;
    if ((d->flags & FL_PADDED) &&
        (d->type == CS_H2_DATA || d->type == CS_H2_HEADERS || d->type == CS_H2_PUSH_PROMISE)) {
        pad = cs_wire_u8(&w, 0);
        off = 1;
    }
    if (pad > d->flen - d->head_need) {
        anomaly(h, sink, c, CS_ANOM_H2_PROTOCOL); /* padding longer than the payload */
        pad = d->flen - d->head_need;
        if (d->type != CS_H2_DATA) {
            block_abort(h, side);
            hpack_lose(h, side);
        }
    }
    d->content_end = d->flen - pad;
    switch (d->type) {
    case CS_H2_PUSH_PROMISE:
        promise_begin(h, sink, c, side, cs_wire_be32(&w, off) & 0x7fffffffu);
        break;
    case CS_H2_RST_STREAM:
        rst_stream(h, sink, c, side, cs_wire_be32(&w, 0), ts);
        break;
    case CS_H2_GOAWAY:
        goaway(h, sink, c, side, cs_wire_be32(&w, 0) & 0x7fffffffu, cs_wire_be32(&w, 4), ts);
        break;
    default:
        break;
    }
}

/* n DATA payload bytes of stream s sent by `side` (p NULL: lost in a gap): the body lengths, as
 * transferred and, for a gzip/deflate body with --http-decode-bodies, decoded (HTTP/1.x's rules). */
static void data_bytes(cs_h2_conn *h, h2stream *s, int side, const uint8_t *p, uint32_t n)
{
    cs_http_tx *t = &s->tx;
    bool decode = s->coded[side] && h->cfg->decode_bodies;
    if (decode)
        cs_body_dec_feed(&s->dec[side], p, n);
    bool decoded = decode && !s->dec[side].fail;
    if (side == 0) {
        t->req_body_wire += n;
        t->req_body_len = decoded ? s->dec[0].decoded : t->req_body_wire;
        t->req_gap |= p == NULL;
    } else {
        t->resp_body_wire += n;
        t->resp_body_len = decoded ? s->dec[1].decoded : t->resp_body_wire;
        t->resp_gap |= p == NULL;
        t->resp_encoded = s->coded[1];
        t->decode_error = decode && s->dec[1].fail;
    }
}

/* n content bytes of the current frame (p NULL: lost in a gap). */
static void content(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                    const uint8_t *p, uint32_t n)
{
    h2dir *d = &h->d[side];
    switch (d->type) {
    case CS_H2_DATA:
        h->h2.data_bytes[side] += n;
        if (d->fstream != NULL)
            data_bytes(h, d->fstream, side, p, n);
        return;
    case CS_H2_HEADERS:
    case CS_H2_PUSH_PROMISE:
    case CS_H2_CONTINUATION:
        if (d->in_block)
            block_bytes(h, sink, c, side, p, n);
        return;
    case CS_H2_SETTINGS:
        for (uint32_t i = 0; p != NULL && i < n; i++) {
            d->set[d->set_len++] = p[i];
            if (d->set_len == 6) {
                cs_wire w = cs_wire_make(d->set, 6);
                setting(h, sink, c, side, cs_wire_be16(&w, 0), cs_wire_be32(&w, 2));
                d->set_len = 0;
            }
        }
        return;
    default:
        return;
    }
}

/* The current frame's last byte arrived at ts. */
static void frame_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                      cs_time_t ts)
{
    h2dir *d = &h->d[side];
    d->phase = F_HEADER;
    d->hdr_len = 0;
    if (d->bad)
        return;
    switch (d->type) {
    case CS_H2_DATA:
        if ((d->flags & FL_END_STREAM) && d->fstream != NULL)
            stream_side_end(h, sink, c, d->fstream, side, ts);
        d->fstream = NULL;
        break;
    case CS_H2_HEADERS:
    case CS_H2_PUSH_PROMISE:
    case CS_H2_CONTINUATION:
        if ((d->flags & FL_END_HEADERS) && d->in_block)
            block_end(h, sink, c, side, ts);
        break;
    case CS_H2_SETTINGS:
        if (d->flags & FL_ACK)
            settings_ack(h, side);
        break;
    default:
        break;
    }
}

/* Consumes up to n payload bytes of the current frame (p NULL: lost in a gap, only past the head);
 * returns how many. */
static uint32_t payload(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                        const uint8_t *p, uint32_t n, cs_time_t ts)
{
    h2dir *d = &h->d[side];
    uint32_t used = 0;
    while (used < n && d->fpos < d->flen) {
        uint32_t take;
        const uint8_t *q = p != NULL ? p + used : NULL;
        if (d->fpos < d->head_need) {
            take = MIN(n - used, d->head_need - d->fpos);
            memcpy(d->head + d->fpos, q, take); /* callers never pass a gap here */
            d->fpos += take;
            if (d->fpos == d->head_need)
                head_done(h, sink, c, side, ts);
        } else if (d->fpos < d->content_end) {
            take = MIN(n - used, d->content_end - d->fpos);
            content(h, sink, c, side, q, take);
            d->fpos += take;
        } else {
            take = MIN(n - used, d->flen - d->fpos); /* padding */
            d->fpos += take;
        }
        used += take;
    }
    return used;
}

/* Whether a frame header at p (9 bytes available) could start a frame of `side` when framing is
 * lost: a known type, its defined flags only, a plausible length and stream id. */
static bool plausible_header(const cs_h2_conn *h, int side, const uint8_t *p)
{
    cs_wire w = cs_wire_make(p, FRAME_HDR);
    uint32_t len = cs_wire_be24(&w, 0);
    uint8_t type = cs_wire_u8(&w, 3), flags = cs_wire_u8(&w, 4);
    uint32_t sid_raw = cs_wire_be32(&w, 5);
    if (type >= CS_H2_NTYPES || type == CS_H2_CONTINUATION || (flags & ~frame_flags[type]) ||
        (sid_raw & 0x80000000u) || len > h->d[side].max_frame)
        return false;
    bool zero = type == CS_H2_SETTINGS || type == CS_H2_PING || type == CS_H2_GOAWAY;
    if (zero != (sid_raw == 0) && type != CS_H2_WINDOW_UPDATE)
        return false;
    switch (type) {
    case CS_H2_PRIORITY:
        return len == 5;
    case CS_H2_RST_STREAM:
    case CS_H2_WINDOW_UPDATE:
        return len == 4;
    case CS_H2_PING:
        return len == 8;
    case CS_H2_SETTINGS:
        return (flags & FL_ACK) ? len == 0 : len % 6 == 0;
    case CS_H2_GOAWAY:
        return len >= 8;
    default:
        return true;
    }
}

/* F_LOST: returns the offset in p[0..n) of a plausible frame header (the next one chained after it
 * must be plausible too when it lies in p, else the frame must start p or be on an open stream). */
static uint32_t resync_scan(cs_h2_conn *h, int side, const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i + FRAME_HDR <= n; i++) {
        if (!plausible_header(h, side, p + i))
            continue;
        cs_wire w = cs_wire_make(p + i, FRAME_HDR);
        uint32_t next = i + FRAME_HDR + cs_wire_be24(&w, 0);
        uint32_t sid = cs_wire_be32(&w, 5);
        if (next + FRAME_HDR <= n) {
            if (plausible_header(h, side, p + next))
                return i;
        } else if (next == n || i == 0 || (sid != 0 && stream_find(h, sid) != NULL)) {
            return i;
        }
    }
    return n;
}

/* Framing of `side` is lost (gap across frames, bad preface): waits for a plausible header. */
static void lose_framing(cs_h2_conn *h, int side)
{
    h2dir *d = &h->d[side];
    block_abort(h, side);
    hpack_lose(h, side); /* the hole may have held header blocks */
    d->phase = F_LOST;
    d->hdr_len = 0;
    d->fstream = NULL;
    h->lenient = true;
    for (uint32_t i = 0; i < h->n; i++)
        h->streams[i]->gap_crossed[side] = true;
}

void cs_h2_data(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                const uint8_t *p, uint32_t len, cs_time_t ts)
{
    int side = from_client ? 0 : 1;
    h2dir *d = &h->d[side];
    if (ts > h->last_ts)
        h->last_ts = ts;
    while (len > 0) {
        uint32_t used;
        switch (d->phase) {
        case F_PREFACE: {
            used = MIN(len, (uint32_t)(CS_H2_PREFACE_LEN - d->preface_got));
            if (memcmp(p, CS_H2_PREFACE + d->preface_got, used) != 0) {
                anomaly(h, sink, c, CS_ANOM_H2_BAD_PREFACE);
                lose_framing(h, side);
                used = 0;
                break;
            }
            d->preface_got = (uint8_t)(d->preface_got + used);
            if (d->preface_got == CS_H2_PREFACE_LEN)
                d->phase = F_HEADER;
            break;
        }
        case F_LOST:
            used = resync_scan(h, side, p, len);
            if (used < len)
                d->phase = F_HEADER;
            break;
        case F_HEADER:
            if (d->hdr_len == 0 && len >= FRAME_HDR) {
                frame_begin(h, sink, c, side, p, ts);
                used = FRAME_HDR;
            } else {
                used = MIN(len, (uint32_t)(FRAME_HDR - d->hdr_len));
                memcpy(d->hdr + d->hdr_len, p, used);
                if (d->hdr_len == 0)
                    d->fstart = ts;
                d->hdr_len = (uint8_t)(d->hdr_len + used);
                if (d->hdr_len == FRAME_HDR) {
                    cs_time_t start = d->fstart;
                    frame_begin(h, sink, c, side, d->hdr, start);
                }
            }
            if (d->phase == F_PAYLOAD && d->flen == 0)
                frame_end(h, sink, c, side, ts);
            break;
        default: /* F_PAYLOAD */
            used = payload(h, sink, c, side, p, len, ts);
            if (d->fpos == d->flen)
                frame_end(h, sink, c, side, ts);
            break;
        }
        p += used;
        len -= used;
    }
}

void cs_h2_gap(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
               uint32_t len, cs_time_t ts)
{
    int side = from_client ? 0 : 1;
    h2dir *d = &h->d[side];
    h->sum.gaps++;
    if (d->phase == F_LOST)
        return;
    if (d->phase == F_PAYLOAD && d->fpos >= d->head_need && len <= d->flen - d->fpos) {
        /* Inside one payload: framing stays in step. */
        if (d->type == CS_H2_SETTINGS)
            d->bad = true; /* an entry is missing: the rest of this frame is not read */
        payload(h, sink, c, side, NULL, len, ts);
        if (d->fpos == d->flen)
            frame_end(h, sink, c, side, ts);
        return;
    }
    anomaly(h, sink, c, CS_ANOM_H2_GAP_DESYNC);
    lose_framing(h, side);
}

void cs_h2_end(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
               cs_time_t ts)
{
    (void)sink;
    (void)c;
    (void)from_client;
    if (ts > h->last_ts)
        h->last_ts = ts;
}

void cs_h2_upgrade(cs_h2_conn *h, const cs_http_tx *req)
{
    static const cs_http_sink none = {0};
    h->next_depth = req->depth; /* trans_depth goes on from the HTTP/1.1 exchanges */
    h2stream *s = stream_open(h, &none, NULL, 1, req->req_start);
    cs_http_tx *t = &s->tx;
    h->last_sid[0] = 1;
    t->has_request = true;
    t->h2_upgrade = true;
    t->method = g_strdup(req->method);
    t->uri = g_strdup(req->uri);
    t->host = g_strdup(req->host);
    t->user_agent = g_strdup(req->user_agent);
    t->head = req->head;
    t->method_odd = req->method_odd;
    memcpy(t->version, req->version, sizeof t->version);
    t->req_start = req->req_start;
    t->req_hdr_end = req->req_hdr_end;
    t->req_end = req->req_end;
    t->req_done = true;
    t->req_body_len = req->req_body_len;
    t->req_body_wire = req->req_body_wire;
    s->req_headers = true;
    s->ended[0] = true;
    h->sum.requests++;
    if (req->req_start > h->last_ts)
        h->last_ts = req->req_start;
}

void cs_h2_finish(cs_h2_conn *h, const cs_http_sink *sink, const cs_conn *c,
                  cs_http_conn_summary *sum, cs_h2_conn_summary *h2sum)
{
    if (!h->finished) {
        h->finished = true;
        while (h->n > 0) {
            h2stream *old = h->streams[0];
            for (uint32_t i = 1; i < h->n; i++)
                if (h->streams[i]->tx.depth < old->tx.depth)
                    old = h->streams[i];
            stream_close(h, sink, c, old, h->last_ts);
        }
    }
    if (sum != NULL)
        *sum = h->sum;
    if (h2sum != NULL)
        *h2sum = h->h2;
}

void cs_h2_free(cs_h2_conn *h)
{
    if (h == NULL)
        return;
    for (uint32_t i = 0; i < h->n; i++) {
        cs_http_tx_clear_strings(&h->streams[i]->tx);
        cs_body_dec_free(&h->streams[i]->dec[0]);
        cs_body_dec_free(&h->streams[i]->dec[1]);
        g_free(h->streams[i]);
    }
    g_free(h->streams);
    g_free(h->sids);
    for (int i = 0; i < 2; i++)
        if (h->d[i].inf != NULL)
            nghttp2_hd_inflate_del(h->d[i].inf);
    if (h->line != NULL)
        g_string_free(h->line, TRUE);
    g_free(h);
}

void cs_h2_summary_add(cs_h2_conn_summary *into, const cs_h2_conn_summary *from)
{
    into->streams += from->streams;
    into->pushed += from->pushed;
    into->resets += from->resets;
    into->refused += from->refused;
    if (from->max_open > into->max_open)
        into->max_open = from->max_open;
    into->open_area += from->open_area;
    into->busy += from->busy;
    for (int i = 0; i < 2; i++) {
        into->frames[i] += from->frames[i];
        into->data_bytes[i] += from->data_bytes[i];
        into->header_bytes[i] += from->header_bytes[i];
        into->hpack_lost[i] = into->hpack_lost[i] || from->hpack_lost[i];
        if (from->goaway[i]) {
            into->goaway[i] = true;
            into->goaway_error[i] = from->goaway_error[i];
            into->goaway_last_stream[i] = from->goaway_last_stream[i];
        }
    }
    for (int i = 0; i <= CS_H2_NTYPES; i++)
        into->type_frames[i] += from->type_frames[i];
    into->undecodable += from->undecodable;
    into->midstream = into->midstream || from->midstream;
    into->anomalies += from->anomalies;
}

double cs_h2_mean_open(const cs_h2_conn_summary *s)
{
    return s->busy > 0 ? (double)s->open_area / (double)s->busy : 0.0;
}
