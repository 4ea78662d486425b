/* app_http.c - HTTP/1.x framer and pairing: a line/body state machine per direction, a FIFO of
 * outstanding requests per connection, 1xx/HEAD/204/304/CONNECT/101 rules, gaps and resync. */
#include <string.h>

#include <glib.h>
#include <zlib.h>

#include "app_http.h"

/* ---- per-direction state ------------------------------------------------------------------- */

enum phase {
    PH_START,       /* expecting a start line (empty lines before it are skipped) */
    PH_HEADERS,     /* header lines until the empty line */
    PH_BODY_LEN,    /* `remaining` body bytes of a Content-Length body */
    PH_CHUNK_SIZE,  /* a chunk-size line */
    PH_CHUNK_DATA,  /* `remaining` bytes of chunk data */
    PH_CHUNK_CRLF,  /* the CRLF after chunk data */
    PH_TRAILERS,    /* trailer lines until the empty line */
    PH_BODY_CLOSE,  /* body delimited by the end of the connection */
    PH_OPAQUE,      /* after 101 / CONNECT: not HTTP any more */
    PH_RESYNC       /* lost: looking for the next start line at a line start */
};

typedef struct hdir {
    uint8_t phase;
    bool at_line_start;     /* PH_RESYNC: the next byte starts a line */
    bool line_overflow;     /* the current line is over max_line: drop it up to its LF */
    bool skipped;           /* PH_RESYNC: bytes skipped since the last start line */
    uint8_t *line;          /* bytes of a line that spans chunks */
    uint32_t line_len, line_cap;
    cs_time_t line_ts;      /* time of the first byte of the buffered line */
    uint64_t remaining;
    uint32_t header_bytes;
    cs_time_t msg_start;
    int64_t content_length; /* -1: none */
    bool cl_bad;
    bool chunked;           /* Transfer-Encoding ends in chunked */
    bool te_present;
    bool interim;           /* response: a 1xx */
    bool http09;            /* request: simple request; response: raw bytes until close */
    uint16_t status;
    bool coded;             /* Content-Encoding gzip/deflate */
    cs_body_dec dec;        /* its decoder (with --http-decode-bodies) */
    cs_http_tx *tx;         /* exchange this message belongs to, NULL between messages */
} hdir;

struct cs_http_conn {
    const cs_http_cfg *cfg;
    hdir d[2]; /* 0: client (requests), 1: server (responses) */
    cs_http_tx *q_head, *q_tail; /* requests awaiting a final response, oldest first */
    uint32_t q_len;
    uint32_t next_depth;
    uint32_t owed_to_dropped;    /* responses still due to requests dropped at the cap */
    bool barrier;                /* client gap: requests may have been lost (see pair_response) */
    bool opaque;
    bool tunnel;                 /* a CONNECT was answered 2xx: the rest is the tunnel's payload */
    bool connect_pending;        /* a CONNECT awaits its answer: the client's bytes may be tunnel */
    bool http09;                 /* the last request was HTTP/0.9: the server answers raw */
    cs_time_t last_resp_end;
    cs_http_tx *h2c; /* copy of the request upgraded to HTTP/2 by a 101, or NULL */
    cs_http_conn_summary sum;
};

/* Exchanges hold two references: the client side (until the request is complete) and the server
 * side (queued or being answered). They are reported and freed when both are released. */
typedef struct tx_ext {
    cs_http_tx tx;
    uint8_t refs;
    bool after_barrier; /* first request seen after a client-side gap */
} tx_ext;

#define EXT(t) ((tx_ext *)(t))

static const char *const registered_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND",
    "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT", NULL};

void cs_http_cfg_default(cs_http_cfg *cfg)
{
    cfg->max_pending = 1000;
    cfg->max_line = 64 * 1024;
    cfg->max_header_bytes = 256 * 1024;
    cfg->max_field = 8 * 1024;
    cfg->decode_bodies = false;
}

const char *cs_http_outcome_name(cs_http_outcome o)
{
    static const char *const names[] = {
        "complete",         "no_response",     "no_request",
        "response_partial", "request_partial", "response_lost_in_gap",
        "dropped_cap",      "framing_error",   "reset",
        "refused",          "pushed"};
    return (unsigned)o < CS_ARRAY_LEN(names) ? names[o] : "unknown";
}

cs_http_conn *cs_http_new(const cs_http_cfg *cfg)
{
    cs_http_conn *h = g_new0(cs_http_conn, 1);
    h->cfg = cfg;
    for (int i = 0; i < 2; i++) {
        h->d[i].phase = PH_START;
        h->d[i].msg_start = -1;
        h->d[i].content_length = -1;
    }
    h->last_resp_end = -1;
    return h;
}

static void anomaly(const cs_http_sink *sink, const cs_conn *c, cs_http_conn *h, cs_anomaly a)
{
    h->sum.anomalies++;
    if (sink->anomaly != NULL)
        sink->anomaly(sink->ctx, c, a);
}

/* ---- exchanges ----------------------------------------------------------------------------- */

static cs_http_tx *tx_new(cs_http_conn *h, uint8_t refs)
{
    tx_ext *e = g_new0(tx_ext, 1);
    e->refs = refs;
    cs_http_tx *t = &e->tx;
    t->depth = ++h->next_depth;
    t->req_start = t->req_end = t->resp_start = t->resp_end = t->info_ts = -1;
    t->req_hdr_end = -1;
    t->prev_resp_end = -1;
    return t;
}

void cs_http_tx_clear_strings(cs_http_tx *t)
{
    g_free(t->method);
    g_free(t->uri);
    g_free(t->host);
    g_free(t->user_agent);
    g_free(t->status_msg);
    g_free(t->scheme);
    t->method = t->uri = t->host = t->user_agent = t->status_msg = t->scheme = NULL;
}

static void tx_free(cs_http_tx *t)
{
    cs_http_tx_clear_strings(t);
    g_free(EXT(t));
}

/* Reports and frees t once both sides have let go of it. */
static void tx_release(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, cs_http_tx *t)
{
    if (--EXT(t)->refs > 0)
        return;
    if (!t->has_request)
        t->outcome = CS_HTTP_NO_REQUEST;
    else if (t->has_response)
        t->outcome = t->resp_done ? CS_HTTP_COMPLETE : CS_HTTP_RESP_PARTIAL;
    else if (t->outcome == CS_HTTP_COMPLETE)
        t->outcome = t->req_done ? CS_HTTP_NO_RESPONSE : CS_HTTP_REQ_PARTIAL;
    if (t->framing_error && t->outcome != CS_HTTP_LOST_IN_GAP && t->outcome != CS_HTTP_DROPPED_CAP)
        t->outcome = CS_HTTP_FRAMING_ERROR;
    if (t->has_request && t->has_response)
        h->sum.paired++;
    else if (t->has_request)
        h->sum.unanswered++;
    if (t->outcome == CS_HTTP_LOST_IN_GAP)
        h->sum.lost_in_gap++;
    if (t->outcome == CS_HTTP_DROPPED_CAP)
        h->sum.dropped_cap++;
    if (sink->exchange != NULL)
        sink->exchange(sink->ctx, c, t);
    tx_free(t);
}

static void queue_push(cs_http_conn *h, cs_http_tx *t)
{
    t->next = NULL;
    if (h->q_tail != NULL)
        h->q_tail->next = t;
    else
        h->q_head = t;
    h->q_tail = t;
    h->q_len++;
}

static cs_http_tx *queue_pop(cs_http_conn *h)
{
    cs_http_tx *t = h->q_head;
    if (t == NULL)
        return NULL;
    h->q_head = t->next;
    if (h->q_head == NULL)
        h->q_tail = NULL;
    h->q_len--;
    t->next = NULL;
    return t;
}

/* Releases the server side of every queued request, with `outcome` for those never answered. */
static void queue_drain(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                        cs_http_outcome outcome)
{
    cs_http_tx *t;
    while ((t = queue_pop(h)) != NULL) {
        if (!t->has_response)
            t->outcome = (uint8_t)outcome;
        tx_release(h, sink, c, t);
    }
}

/* ---- small string helpers ------------------------------------------------------------------ */

static bool is_tchar(uint8_t ch)
{
    return g_ascii_isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool ieq(const uint8_t *p, uint32_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && g_ascii_strncasecmp((const char *)p, lit, l) == 0;
}

static char *dup_field(const cs_http_conn *h, const uint8_t *p, uint32_t n)
{
    if (n > h->cfg->max_field)
        n = h->cfg->max_field;
    return g_strndup((const char *)p, n);
}

static void trim(const uint8_t **p, uint32_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
        (*n)--;
}

/* Parses "HTTP/" followed by a version of digits and dots (d.d normally; "1." and "1" are accepted
 * as Zeek does). Writes the version text into out. */
static bool parse_version(const uint8_t *p, uint32_t n, char out[8])
{
    if (n < 6 || n > 12 || memcmp(p, "HTTP/", 5) != 0 || !g_ascii_isdigit(p[5]))
        return false;
    for (uint32_t i = 5; i < n; i++)
        if (!g_ascii_isdigit(p[i]) && p[i] != '.')
            return false;
    uint32_t len = n - 5 < 7 ? n - 5 : 7;
    memcpy(out, p + 5, len);
    out[len] = '\0';
    if (len == 2 && out[1] == '.') { /* "1." */
        out[2] = '1';
        out[3] = '\0';
    }
    return true;
}

/* ---- start lines --------------------------------------------------------------------------- */

typedef struct reqline {
    const uint8_t *method, *uri;
    uint32_t method_len, uri_len;
    char version[8];
    bool http09;
} reqline;

/* Splits "METHOD SP target SP HTTP/x.y" (or HTTP/0.9 "METHOD SP target"). */
static bool parse_request_line(const uint8_t *p, uint32_t n, reqline *r)
{
    uint32_t i = 0;
    while (n > 0 && p[n - 1] == '\r')
        n--;
    while (i < n && is_tchar(p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return false;
    r->method = p;
    r->method_len = i;
    while (i < n && p[i] == ' ')
        i++;
    uint32_t u = i;
    while (i < n && p[i] != ' ')
        i++;
    r->uri = p + u;
    r->uri_len = i - u;
    if (r->uri_len == 0)
        return false;
    while (i < n && p[i] == ' ')
        i++;
    if (i == n) { /* HTTP/0.9 simple request: method and target only */
        if (r->uri_len >= 5 && memcmp(r->uri, "HTTP/", 5) == 0)
            return false; /* "METHOD HTTP/1.1": the target is missing */
        r->http09 = true;
        strcpy(r->version, "0.9");
        return true;
    }
    r->http09 = false;
    return parse_version(p + i, n - i, r->version);
}

typedef struct statusline {
    char version[8];
    uint16_t status;
    const uint8_t *msg;
    uint32_t msg_len;
} statusline;

static bool parse_status_line(const uint8_t *p, uint32_t n, statusline *s)
{
    while (n > 0 && p[n - 1] == '\r')
        n--;
    const uint8_t *sp = memchr(p, ' ', n);
    if (sp == NULL)
        return false;
    uint32_t v = (uint32_t)(sp - p);
    if (!parse_version(p, v, s->version) || n < v + 4 || !g_ascii_isdigit(p[v + 1]) ||
        !g_ascii_isdigit(p[v + 2]) || !g_ascii_isdigit(p[v + 3]) || (n > v + 4 && p[v + 4] != ' '))
        return false;
    s->status = (uint16_t)((p[v + 1] - '0') * 100 + (p[v + 2] - '0') * 10 + (p[v + 3] - '0'));
    s->msg = n > v + 5 ? p + v + 5 : p + n;
    s->msg_len = n > v + 5 ? n - v - 5 : 0;
    return true;
}

int cs_http_detect_request(const uint8_t *p, uint32_t len)
{
    /* METHOD SP target, where METHOD is an upper-case token starting with a letter and the target
     * has a request-target's form: "/...", "*", "http(s)://..." or, after CONNECT, host:port.
     * (This keeps SMTP/FTP lines such as "220 mail" or "EHLO host" out.) */
    uint32_t i = 0;
    if (len == 0)
        return -1;
    if (!g_ascii_isupper(p[0]))
        return 0;
    while (i < len && i < 32 && (g_ascii_isupper(p[i]) || g_ascii_isdigit(p[i]) || p[i] == '_' ||
                                 p[i] == '-'))
        i++;
    if (i == len)
        return len < 32 ? -1 : 0;
    if (i >= 32 || p[i] != ' ')
        return 0;
    uint32_t t = i + 1;
    if (t == len)
        return -1;
    if (p[t] == '/' || p[t] == '*')
        return 1;
    if (i == 7 && memcmp(p, "CONNECT", 7) == 0)
        return p[t] > ' ' && p[t] < 0x7f ? 1 : 0;
    static const char abs_form[] = "http";
    for (uint32_t k = 0; k < 4; k++) {
        if (t + k == len)
            return -1;
        if (g_ascii_tolower(p[t + k]) != abs_form[k])
            return 0;
    }
    return 1;
}

int cs_http_detect_response(const uint8_t *p, uint32_t len)
{
    static const char pre[] = "HTTP/";
    for (uint32_t i = 0; i < 5; i++) {
        if (i == len)
            return -1;
        if (p[i] != (uint8_t)pre[i])
            return 0;
    }
    if (len == 5)
        return -1;
    return g_ascii_isdigit(p[5]) ? 1 : 0;
}

/* ---- message boundaries -------------------------------------------------------------------- */

void cs_body_dec_free(cs_body_dec *d)
{
    if (d->z != NULL) {
        inflateEnd(d->z);
        g_free(d->z);
        d->z = NULL;
    }
}

void cs_body_dec_feed(cs_body_dec *d, const uint8_t *p, uint32_t n)
{
    /* The decoded bytes are only counted: one output buffer per thread (-j runs one engine per
     * thread, so parsers fed from two threads never share it; a static would be a data race). */
    static _Thread_local uint8_t scratch[64 * 1024];
    if (d->fail || d->end)
        return;
    if (p == NULL) {
        d->fail = true;
        return;
    }
    if (d->z == NULL) {
        d->z = g_new0(z_stream, 1);
        if (inflateInit2(d->z, 15 + 32) != Z_OK) /* gzip or zlib header */
            d->fail = true;
    }
    d->z->next_in = (Bytef *)p;
    d->z->avail_in = n;
    while (!d->fail && !d->end && d->z->avail_in > 0) {
        d->z->next_out = scratch;
        d->z->avail_out = sizeof scratch;
        int rc = inflate(d->z, Z_NO_FLUSH);
        d->decoded += sizeof scratch - d->z->avail_out;
        if (rc == Z_STREAM_END) {
            d->end = true;
        } else if (rc == Z_DATA_ERROR && !d->raw && d->z->total_out == 0 && d->decoded == 0) {
            /* "deflate" is often sent raw, without the zlib header */
            d->raw = true;
            inflateEnd(d->z);
            memset(d->z, 0, sizeof *d->z);
            if (inflateInit2(d->z, -15) != Z_OK) {
                d->fail = true;
                break;
            }
            d->z->next_in = (Bytef *)p;
            d->z->avail_in = n;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            d->fail = true;
        }
    }
}

static void last_element(const uint8_t *p, uint32_t n, const uint8_t **out, uint32_t *len);

bool cs_http_coding_inflatable(const uint8_t *val, uint32_t val_len)
{
    const uint8_t *last;
    uint32_t last_len;
    last_element(val, val_len, &last, &last_len);
    return ieq(last, last_len, "gzip") || ieq(last, last_len, "x-gzip") ||
           ieq(last, last_len, "deflate");
}

/* Counts n body bytes of direction `side` (p may be NULL for bytes lost in a gap) and, for a
 * gzip/deflate body, how many bytes they decode to. */
static void body_bytes(cs_http_conn *h, hdir *d, int side, const uint8_t *p, uint32_t n)
{
    cs_http_tx *t = d->tx;
    if (d->coded && h->cfg->decode_bodies)
        cs_body_dec_feed(&d->dec, p, n);
    if (t == NULL)
        return;
    bool decoded = d->coded && h->cfg->decode_bodies && !d->dec.fail;
    if (side == 0) {
        t->req_body_wire += n;
        t->req_body_len = decoded ? d->dec.decoded : t->req_body_wire;
    } else {
        t->resp_body_wire += n;
        t->resp_body_len = decoded ? d->dec.decoded : t->resp_body_wire;
        t->resp_encoded = d->coded;
        t->decode_error = d->coded && h->cfg->decode_bodies && d->dec.fail;
    }
}

static void reset_msg(hdir *d)
{
    cs_body_dec_free(&d->dec);
    memset(&d->dec, 0, sizeof d->dec);
    d->coded = false;
    d->header_bytes = 0;
    d->msg_start = -1;
    d->content_length = -1;
    d->cl_bad = d->chunked = d->te_present = d->interim = false;
    d->status = 0;
    d->remaining = 0;
}

static void enter_resync(hdir *d)
{
    d->phase = PH_RESYNC;
    d->at_line_start = false;
    d->line_len = 0;
    d->line_overflow = false;
    reset_msg(d);
}

/* A request is complete at time ts. */
static void request_done(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, cs_time_t ts)
{
    hdir *d = &h->d[0];
    cs_http_tx *t = d->tx;
    bool connect = t != NULL && t->connect;
    if (t != NULL) {
        t->req_done = true;
        t->req_end = ts;
        d->tx = NULL;
        tx_release(h, sink, c, t);
    }
    reset_msg(d);
    d->phase = PH_START;
    if (connect) { /* what the client sends next belongs to the tunnel if the proxy says yes */
        h->connect_pending = true;
        d->phase = PH_OPAQUE;
    }
}

/* A response (interim or final) is complete at time ts. */
static void response_done(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, cs_time_t ts)
{
    hdir *d = &h->d[1];
    cs_http_tx *t = d->tx;
    bool interim = d->interim;
    reset_msg(d);
    d->phase = h->opaque ? PH_OPAQUE : PH_START;
    d->tx = NULL;
    if (t == NULL || interim)
        return;
    t->resp_done = true;
    t->resp_end = ts;
    h->last_resp_end = ts;
    tx_release(h, sink, c, t);
}

/* The message in progress on `side` cannot be framed (RFC 9112 6.3: invalid Content-Length,
 * chunk size or request Transfer-Encoding): its exchange is marked as a framing error and ends at
 * ts, and the direction resynchronises on the next start line (the rest of the message is
 * skipped as non-HTTP bytes). */
static void framing_error(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                          cs_time_t ts)
{
    hdir *d = &h->d[side];
    if (d->tx != NULL && !(side == 1 && d->interim))
        d->tx->framing_error = true;
    if (side == 0)
        request_done(h, sink, c, ts);
    else
        response_done(h, sink, c, ts);
    enter_resync(d);
}

/* Attaches a response that starts at ts to the request it answers; NULL if it answers none we
 * know (orphan) or answers a request dropped at the cap. Rules in doc/design.md. */
static cs_http_tx *pair_response(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                                 cs_time_t ts)
{
    if (h->owed_to_dropped > 0) {
        h->owed_to_dropped--;
        return NULL;
    }
    cs_http_tx *t = h->q_head;
    if (t == NULL)
        return NULL;
    if (EXT(t)->after_barrier) {
        /* After a client-side gap: a response that began before this request was sent answers a
         * request lost in the gap. */
        if (ts < t->req_start)
            return NULL;
        EXT(t)->after_barrier = false;
        h->barrier = false;
    }
    (void)sink;
    (void)c;
    return t;
}

/* ---- header lines -------------------------------------------------------------------------- */

/* The last element of a comma-separated list value (the final coding of Transfer-Encoding or
 * Content-Encoding), without surrounding whitespace; empty elements are ignored as RFC 9110
 * section 5.6.1 asks (",\tchunked," ends in chunked). *len is 0 when there is none. */
static void last_element(const uint8_t *p, uint32_t n, const uint8_t **out, uint32_t *len)
{
    *out = p;
    *len = 0;
    while (n > 0) {
        uint32_t i = n;
        while (i > 0 && p[i - 1] != ',')
            i--;
        *out = p + i;
        *len = n - i;
        trim(out, len);
        if (*len > 0 || i == 0)
            return;
        n = i - 1; /* an empty element: look before its comma */
    }
}

/* Parses a Content-Length value: one decimal number of at most 18 digits, or a comma-separated
 * list of identical ones ("4, 4": RFC 9110 section 8.6; empty list elements are ignored as
 * section 5.6.1 asks). Returns the length, or -1 when the value is invalid or the values differ. */
static int64_t parse_content_length(const uint8_t *p, uint32_t n)
{
    int64_t v = -1;
    uint32_t i = 0;
    while (i <= n) {
        uint32_t e = i;
        while (e < n && p[e] != ',')
            e++;
        const uint8_t *item = p + i;
        uint32_t len = e - i;
        trim(&item, &len);
        if (len > 0) {
            if (len > 18)
                return -1;
            int64_t x = 0;
            for (uint32_t k = 0; k < len; k++) {
                if (!g_ascii_isdigit(item[k]))
                    return -1;
                x = x * 10 + (item[k] - '0');
            }
            if (v >= 0 && x != v)
                return -1;
            v = x;
        }
        i = e + 1;
    }
    return v;
}

/* True when the comma-separated list v contains `tok` (case-insensitive, spaces trimmed). */
static bool has_token(const uint8_t *v, uint32_t n, const char *tok)
{
    uint32_t i = 0;
    while (i < n) {
        uint32_t j = i;
        while (j < n && v[j] != ',')
            j++;
        const uint8_t *e = v + i;
        uint32_t len = j - i;
        trim(&e, &len);
        if (ieq(e, len, tok))
            return true;
        i = j + 1;
    }
    return false;
}

/* Keeps a copy of the request a 101 upgraded to h2c: HTTP/2's stream 1 carries its response. */
static void keep_h2c_request(cs_http_conn *h, const cs_http_tx *t)
{
    if (h->h2c != NULL)
        return;
    cs_http_tx *k = g_new0(cs_http_tx, 1);
    *k = *t;
    k->next = NULL;
    k->method = g_strdup(t->method);
    k->uri = g_strdup(t->uri);
    k->host = g_strdup(t->host);
    k->user_agent = g_strdup(t->user_agent);
    k->status_msg = NULL;
    k->scheme = NULL;
    h->h2c = k;
}

static void header_line(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                        const uint8_t *p, uint32_t n)
{
    hdir *d = &h->d[side];
    if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
        return; /* obsolete line folding: a continuation of the previous value */
    const uint8_t *colon = memchr(p, ':', n);
    if (colon == NULL) {
        anomaly(sink, c, h, CS_ANOM_HTTP_BAD_HEADER);
        return;
    }
    const uint8_t *name = p;
    uint32_t name_len = (uint32_t)(colon - p);
    const uint8_t *val = colon + 1;
    uint32_t val_len = n - name_len - 1;
    trim(&name, &name_len);
    trim(&val, &val_len);
    cs_http_tx *t = d->tx;

    if (ieq(name, name_len, "content-length")) {
        int64_t v = parse_content_length(val, val_len);
        if (v < 0 || (d->content_length >= 0 && d->content_length != v)) {
            if (!d->cl_bad)
                anomaly(sink, c, h, CS_ANOM_HTTP_BAD_CL);
            d->cl_bad = true;
        } else {
            d->content_length = v;
        }
    } else if (ieq(name, name_len, "transfer-encoding")) {
        d->te_present = true;
        /* chunked must be the final coding */
        const uint8_t *last;
        uint32_t last_len;
        last_element(val, val_len, &last, &last_len);
        d->chunked = ieq(last, last_len, "chunked");
    } else if (ieq(name, name_len, "content-encoding")) {
        d->coded = cs_http_coding_inflatable(val, val_len);
    } else if (t != NULL && side == 0) {
        if (ieq(name, name_len, "host") && t->host == NULL)
            t->host = dup_field(h, val, val_len);
        else if (ieq(name, name_len, "user-agent") && t->user_agent == NULL)
            t->user_agent = dup_field(h, val, val_len);
        else if (ieq(name, name_len, "expect") && val_len >= 12 &&
                 g_ascii_strncasecmp((const char *)val, "100-continue", 12) == 0)
            t->expect_100 = true;
        else if (ieq(name, name_len, "upgrade"))
            t->upgrade_h2c = has_token(val, val_len, "h2c");
    }
}

/* The empty line after the headers of a request: decides how its body is framed. */
static void request_headers_done(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                                 cs_time_t ts)
{
    hdir *d = &h->d[0];
    if (d->tx != NULL)
        d->tx->req_hdr_end = ts;
    if (d->te_present && d->content_length >= 0)
        anomaly(sink, c, h, CS_ANOM_HTTP_CL_AND_TE);
    if (d->te_present) {
        if (!d->chunked) { /* RFC 9112 6.3: the server cannot frame this request */
            anomaly(sink, c, h, CS_ANOM_HTTP_BAD_TE);
            framing_error(h, sink, c, 0, ts);
            return;
        }
        d->phase = PH_CHUNK_SIZE;
    } else if (d->cl_bad) {
        framing_error(h, sink, c, 0, ts);
    } else if (d->content_length > 0) {
        d->remaining = (uint64_t)d->content_length;
        d->phase = PH_BODY_LEN;
    } else {
        request_done(h, sink, c, ts);
    }
}

/* The empty line after the headers of a response: interim, tunnel, or how the body is framed. */
static void response_headers_done(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                                  cs_time_t ts)
{
    hdir *d = &h->d[1];
    cs_http_tx *t = d->tx;
    uint16_t st = d->status;
    if (d->interim) {
        response_done(h, sink, c, ts);
        return;
    }
    if (d->te_present && d->content_length >= 0)
        anomaly(sink, c, h, CS_ANOM_HTTP_CL_AND_TE);
    if (h->connect_pending && t != NULL && t->connect) {
        h->connect_pending = false;
        if (st >= 200 && st < 300)
            h->tunnel = true;
        else if (h->d[0].phase == PH_OPAQUE)
            h->d[0].phase = PH_START; /* refused: the client speaks HTTP again */
    }
    if (st == 101 || (t != NULL && t->connect && st >= 200 && st < 300)) {
        /* Switching protocols / tunnel: the rest of both directions is not HTTP/1. */
        if (st == 101 && t != NULL && t->upgrade_h2c)
            keep_h2c_request(h, t);
        h->opaque = true;
        h->sum.upgraded = true;
        response_done(h, sink, c, ts);
        h->d[0].phase = PH_OPAQUE;
        h->d[1].phase = PH_OPAQUE;
        return;
    }
    if ((t != NULL && t->head) || st == 204 || st == 304) {
        response_done(h, sink, c, ts);
    } else if (d->te_present) {
        d->phase = d->chunked ? PH_CHUNK_SIZE : PH_BODY_CLOSE;
    } else if (d->cl_bad) {
        framing_error(h, sink, c, 1, ts);
    } else if (d->content_length >= 0) {
        d->remaining = (uint64_t)d->content_length;
        if (d->remaining == 0)
            response_done(h, sink, c, ts);
        else
            d->phase = PH_BODY_LEN;
    } else {
        d->phase = PH_BODY_CLOSE;
    }
}

/* ---- start line handling ------------------------------------------------------------------- */

/* Handles a request line. Returns false if it does not parse (or, when `resync`, if it is an
 * HTTP/0.9 line: too easy to find by chance in a body). */
static bool request_start(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                          const uint8_t *p, uint32_t n, cs_time_t ts, bool resync)
{
    reqline r;
    hdir *d = &h->d[0];
    if (!parse_request_line(p, n, &r) || (resync && r.http09))
        return false; /* resynchronising: only a full request line is convincing */
    cs_http_tx *t = tx_new(h, 2);
    t->has_request = true;
    t->method = g_strndup((const char *)r.method, r.method_len);
    t->uri = dup_field(h, r.uri, r.uri_len);
    memcpy(t->version, r.version, sizeof t->version);
    t->req_start = ts;
    t->head = strcmp(t->method, "HEAD") == 0;
    t->connect = strcmp(t->method, "CONNECT") == 0;
    t->method_odd = true;
    for (int i = 0; registered_methods[i] != NULL; i++)
        if (strcmp(t->method, registered_methods[i]) == 0)
            t->method_odd = false;
    t->pipelined = h->q_head != NULL;
    if (h->barrier) {
        EXT(t)->after_barrier = true;
        h->barrier = false;
    }
    h->sum.requests++;
    if (h->q_len >= h->cfg->max_pending) {
        cs_http_tx *old = queue_pop(h);
        anomaly(sink, c, h, CS_ANOM_HTTP_PENDING_CAP);
        old->outcome = CS_HTTP_DROPPED_CAP;
        h->owed_to_dropped++;
        tx_release(h, sink, c, old);
    }
    queue_push(h, t);
    d->tx = t;
    d->msg_start = ts;
    d->http09 = r.http09;
    h->http09 = r.http09;
    if (r.http09) { /* no headers, no body */
        request_done(h, sink, c, ts);
        return true;
    }
    d->phase = PH_HEADERS;
    return true;
}

/* Handles a status line. Returns false if it does not parse. */
static bool response_start(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                           const uint8_t *p, uint32_t n, cs_time_t ts)
{
    statusline s;
    hdir *d = &h->d[1];
    if (!parse_status_line(p, n, &s))
        return false;
    d->status = s.status;
    d->msg_start = ts;
    d->phase = PH_HEADERS;
    if (s.status >= 100 && s.status < 200 && s.status != 101) {
        d->interim = true;
        h->sum.interim++;
        cs_http_tx *t = h->owed_to_dropped > 0 ? NULL : h->q_head;
        if (t != NULL && !EXT(t)->after_barrier) {
            t->info_code = s.status;
            t->info_ts = ts;
        }
        d->tx = NULL;
        return true;
    }
    h->sum.responses++; /* final responses; 1xx are counted in `interim` */
    h->sum.status_class[s.status >= 100 && s.status < 600 ? s.status / 100 : 0]++;
    cs_http_tx *t = pair_response(h, sink, c, ts);
    if (t != NULL) {
        queue_pop(h);
    } else {
        t = tx_new(h, 1);
        t->outcome = CS_HTTP_NO_REQUEST;
        h->sum.orphans++;
        anomaly(sink, c, h, CS_ANOM_HTTP_ORPHAN_RESPONSE);
    }
    t->has_response = true;
    t->status = s.status;
    t->status_msg = dup_field(h, s.msg, s.msg_len);
    memcpy(t->resp_version, s.version, sizeof t->resp_version);
    t->resp_start = ts;
    t->prev_resp_end = h->last_resp_end;
    d->tx = t;
    return true;
}

/* An HTTP/0.9 response: every byte the server sends until it closes. */
static void http09_response_start(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                                  cs_time_t ts)
{
    hdir *d = &h->d[1];
    cs_http_tx *t = pair_response(h, sink, c, ts);
    if (t == NULL)
        return;
    queue_pop(h);
    h->sum.responses++;
    t->has_response = true;
    strcpy(t->resp_version, "0.9");
    t->resp_start = ts;
    t->prev_resp_end = h->last_resp_end;
    d->tx = t;
    d->msg_start = ts;
    d->phase = PH_BODY_CLOSE;
}

/* After an HTTP/0.9 request: true when the server's next bytes (those held in the line buffer,
 * then p) do not start a status line, so the response is the raw HTTP/0.9 kind. A server that
 * answers with a real status line ("HTTP/1.0 403 ...") gets that response's own framing. False
 * while the first bytes could still be the start of "HTTP/d" (they are held as a line). */
static bool http09_raw(const hdir *d, const uint8_t *p, uint32_t len)
{
    uint8_t head[6];
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->line_len && k < sizeof head; i++)
        head[k++] = d->line[i];
    for (uint32_t i = 0; i < len && k < sizeof head; i++)
        head[k++] = p[i];
    return cs_http_detect_response(head, k) == 0;
}

/* ---- line dispatch ------------------------------------------------------------------------- */

static bool is_empty_line(const uint8_t *p, uint32_t n)
{
    return n == 0 || (n == 1 && p[0] == '\r');
}

/* Handles one complete line (without its LF) of direction `side`, whose first byte arrived at
 * line_ts; the LF arrived at ts. */
static void on_line(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, int side,
                    const uint8_t *p, uint32_t n, cs_time_t line_ts, cs_time_t ts)
{
    hdir *d = &h->d[side];
    switch (d->phase) {
    case PH_START:
    case PH_RESYNC: {
        if (is_empty_line(p, n))
            return; /* tolerated between messages (RFC 9112 2.2) */
        bool ok = side == 0 ? request_start(h, sink, c, p, n, line_ts, d->phase == PH_RESYNC)
                            : response_start(h, sink, c, p, n, line_ts);
        if (ok) {
            d->skipped = false;
            if (d->phase == PH_HEADERS)
                d->header_bytes = n + 1;
            if (sink->head_line != NULL)
                sink->head_line(sink->ctx, c, side == 0, true, p, n, line_ts);
            return;
        }
        if (d->phase == PH_START) {
            anomaly(sink, c, h,
                    side == 0 ? CS_ANOM_HTTP_BAD_REQUEST_LINE : CS_ANOM_HTTP_BAD_STATUS_LINE);
            enter_resync(d);
        }
        if (!d->skipped) {
            d->skipped = true;
            anomaly(sink, c, h, CS_ANOM_HTTP_GARBAGE);
        }
        d->at_line_start = true;
        return;
    }
    case PH_HEADERS:
        /* Nothing is stored per header line, so a huge header block costs no memory: it is
         * flagged once and parsed to its end, so framing and timings stay right. */
        if (d->header_bytes <= h->cfg->max_header_bytes &&
            d->header_bytes + n + 1 > h->cfg->max_header_bytes)
            anomaly(sink, c, h, CS_ANOM_HTTP_HEADERS_TOO_LONG);
        d->header_bytes += n + 1;
        if (!is_empty_line(p, n)) {
            header_line(h, sink, c, side, p, n);
            if (sink->head_line != NULL)
                sink->head_line(sink->ctx, c, side == 0, false, p, n, line_ts);
            return;
        }
        if (side == 0)
            request_headers_done(h, sink, c, ts);
        else
            response_headers_done(h, sink, c, ts);
        return;
    case PH_CHUNK_SIZE: {
        uint64_t size = 0;
        uint32_t i = 0;
        while (i < n && g_ascii_isxdigit(p[i]) && size < (UINT64_C(1) << 59))
            size = size * 16 + (uint64_t)g_ascii_xdigit_value((char)p[i++]);
        bool ok = i > 0 && (i == n || p[i] == ';' || p[i] == ' ' || p[i] == '\t' || p[i] == '\r');
        if (!ok) {
            anomaly(sink, c, h, CS_ANOM_HTTP_BAD_CHUNK);
            framing_error(h, sink, c, side, ts);
            return;
        }
        if (size == 0) {
            d->phase = PH_TRAILERS;
        } else {
            d->remaining = size;
            d->phase = PH_CHUNK_DATA;
        }
        return;
    }
    case PH_CHUNK_CRLF:
        if (!is_empty_line(p, n))
            anomaly(sink, c, h, CS_ANOM_HTTP_BAD_CHUNK);
        d->phase = PH_CHUNK_SIZE;
        return;
    case PH_TRAILERS:
        if (!is_empty_line(p, n))
            return;
        if (side == 0)
            request_done(h, sink, c, ts);
        else
            response_done(h, sink, c, ts);
        return;
    default:
        return;
    }
}

static bool line_phase(uint8_t ph)
{
    return ph == PH_START || ph == PH_HEADERS || ph == PH_CHUNK_SIZE || ph == PH_CHUNK_CRLF ||
           ph == PH_TRAILERS || ph == PH_RESYNC;
}

/* In PH_RESYNC, skips to a plausible start line: returns how many bytes to skip. */
static uint32_t resync_skip(hdir *d, int side, const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        if (d->at_line_start && d->line_len == 0) {
            int r = side == 0 ? cs_http_detect_request(p + i, n - i)
                              : cs_http_detect_response(p + i, n - i);
            if (r != 0)
                return i; /* a candidate (or too short to tell): read it as a line */
        }
        const uint8_t *lf = memchr(p + i, '\n', n - i);
        if (lf == NULL) {
            d->at_line_start = false;
            return n;
        }
        i = (uint32_t)(lf - p) + 1;
        d->at_line_start = true;
    }
    return n;
}

uint32_t cs_http_data(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                      const uint8_t *p, uint32_t len, cs_time_t ts)
{
    int side = from_client ? 0 : 1;
    hdir *d = &h->d[side];
    if (d->phase == PH_RESYNC && d->line_len == 0 && !d->line_overflow)
        d->at_line_start = true; /* messages often start at a segment boundary */
    while (len > 0) {
        if (d->phase == PH_START && side == 1 && h->http09 && h->q_head != NULL &&
            !d->line_overflow && http09_raw(d, p, len)) {
            /* bytes held as the start of a possible status line belong to the raw body */
            http09_response_start(h, sink, c, d->line_len > 0 ? d->line_ts : ts);
            if (d->line_len > 0 && d->tx != NULL)
                body_bytes(h, d, 1, d->line, d->line_len);
            d->line_len = 0;
            continue;
        }
        if (d->phase == PH_RESYNC && d->line_len == 0 && !d->line_overflow) {
            uint32_t skip = resync_skip(d, side, p, len);
            if (skip > 0 && !d->skipped) {
                d->skipped = true;
                anomaly(sink, c, h, CS_ANOM_HTTP_GARBAGE);
            }
            p += skip;
            len -= skip;
            if (len == 0)
                return 0;
        }
        if (line_phase(d->phase)) {
            const uint8_t *lf = memchr(p, '\n', len);
            uint32_t take = lf != NULL ? (uint32_t)(lf - p) + 1 : len;
            if (d->line_overflow) {
                if (d->phase == PH_HEADERS || d->phase == PH_TRAILERS)
                    d->header_bytes += take; /* the rest of a skipped over-long line */
                if (lf != NULL)
                    d->line_overflow = false;
            } else if (lf != NULL && d->line_len == 0) {
                on_line(h, sink, c, side, p, take - 1, ts, ts); /* whole line in this chunk */
            } else if (d->line_len + take > h->cfg->max_line + 1) {
                anomaly(sink, c, h, CS_ANOM_HTTP_LINE_TOO_LONG);
                uint32_t kept = d->line_len;
                d->line_len = 0;
                d->line_overflow = lf == NULL;
                if (d->phase == PH_HEADERS || d->phase == PH_TRAILERS) {
                    /* an over-long header/trailer line is skipped; the message goes on */
                    d->header_bytes += kept + take;
                } else if (d->phase != PH_RESYNC) {
                    if (side == 0 && d->tx != NULL)
                        request_done(h, sink, c, ts);
                    else if (side == 1 && d->tx != NULL)
                        response_done(h, sink, c, ts);
                    enter_resync(d);
                    d->line_overflow = lf == NULL;
                }
            } else {
                if (d->line_len == 0)
                    d->line_ts = ts;
                if (d->line_len + take > d->line_cap) {
                    d->line_cap = MAX(d->line_cap * 2, d->line_len + take);
                    d->line = g_realloc(d->line, d->line_cap);
                }
                memcpy(d->line + d->line_len, p, take);
                d->line_len += take;
                if (lf != NULL) {
                    uint32_t n = d->line_len - 1;
                    d->line_len = 0;
                    on_line(h, sink, c, side, d->line, n, d->line_ts, ts);
                }
            }
            p += take;
            len -= take;
            continue;
        }
        switch (d->phase) {
        case PH_BODY_LEN:
        case PH_CHUNK_DATA: {
            uint32_t take = d->remaining < len ? (uint32_t)d->remaining : len;
            d->remaining -= take;
            body_bytes(h, d, side, p, take);
            p += take;
            len -= take;
            if (d->remaining == 0) {
                if (d->phase == PH_CHUNK_DATA)
                    d->phase = PH_CHUNK_CRLF;
                else if (side == 0)
                    request_done(h, sink, c, ts);
                else
                    response_done(h, sink, c, ts);
            }
            break;
        }
        case PH_BODY_CLOSE:
            body_bytes(h, d, side, p, len);
            if (d->tx != NULL && side == 1)
                d->tx->resp_end = ts; /* provisional: the end is the close */
            len = 0;
            break;
        default: /* PH_OPAQUE: the rest is not HTTP (upgrade, or a CONNECT tunnel) */
            return len;
        }
    }
    return 0;
}

bool cs_http_tunnel(const cs_http_conn *h)
{
    return h->tunnel;
}

const cs_http_tx *cs_http_h2c_request(const cs_http_conn *h)
{
    return h->h2c;
}

void cs_http_gap(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                 uint32_t len, cs_time_t ts)
{
    int side = from_client ? 0 : 1;
    hdir *d = &h->d[side];
    h->sum.gaps++;
    switch (d->phase) {
    case PH_BODY_LEN:
    case PH_CHUNK_DATA:
        if (len <= d->remaining) {
            /* Inside a body of known length: stay in step, remember the hole. */
            d->remaining -= len;
            body_bytes(h, d, side, NULL, len);
            if (d->tx != NULL) {
                if (side == 0)
                    d->tx->req_gap = true;
                else
                    d->tx->resp_gap = true;
            }
            if (d->remaining == 0) {
                if (d->phase == PH_CHUNK_DATA)
                    d->phase = PH_CHUNK_CRLF;
                else if (side == 0)
                    request_done(h, sink, c, ts);
                else
                    response_done(h, sink, c, ts);
            }
            return;
        }
        break;
    case PH_BODY_CLOSE:
        body_bytes(h, d, side, NULL, len);
        if (d->tx != NULL) {
            if (side == 0)
                d->tx->req_gap = true;
            else
                d->tx->resp_gap = true;
        }
        return;
    case PH_OPAQUE:
        return;
    case PH_START:
    case PH_RESYNC:
        if (d->line_len == 0 && d->phase == PH_START && side == 0) {
            /* Between requests: whole requests may be in the hole. */
            h->barrier = true;
            d->phase = PH_RESYNC;
            d->at_line_start = true;
            return;
        }
        break;
    default:
        break;
    }
    /* Framing is lost. */
    anomaly(sink, c, h, CS_ANOM_HTTP_GAP_DESYNC);
    if (side == 0) {
        if (d->tx != NULL) {
            d->tx->req_gap = true;
            cs_http_tx *t = d->tx;
            d->tx = NULL;
            tx_release(h, sink, c, t); /* its response may still come: the server keeps it */
        }
        h->barrier = true;
    } else {
        if (d->tx != NULL && !d->interim) {
            cs_http_tx *t = d->tx;
            t->resp_gap = true;
            d->tx = NULL;
            tx_release(h, sink, c, t);
        }
        /* Responses to the other outstanding requests may be in the hole: never pair across it. */
        queue_drain(h, sink, c, CS_HTTP_LOST_IN_GAP);
    }
    enter_resync(d);
    d->at_line_start = true; /* the hole often ends where a message starts */
}

void cs_http_end(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c, bool from_client,
                 cs_time_t ts)
{
    int side = from_client ? 0 : 1;
    hdir *d = &h->d[side];
    if (d->phase == PH_BODY_CLOSE && d->tx != NULL) {
        cs_time_t end = side == 1 && d->tx->resp_end >= 0 ? d->tx->resp_end : ts;
        if (side == 0)
            request_done(h, sink, c, end);
        else
            response_done(h, sink, c, end);
    }
    (void)ts;
}

void cs_http_finish(cs_http_conn *h, const cs_http_sink *sink, const cs_conn *c,
                    cs_http_conn_summary *sum)
{
    for (int side = 0; side < 2; side++) {
        hdir *d = &h->d[side];
        if (d->tx != NULL && !d->interim) {
            cs_http_tx *t = d->tx;
            d->tx = NULL;
            tx_release(h, sink, c, t);
        }
        d->tx = NULL;
    }
    queue_drain(h, sink, c, CS_HTTP_COMPLETE); /* outcome derived in tx_release */
    if (sum != NULL)
        *sum = h->sum;
}

void cs_http_resync(cs_http_conn *h, bool from_client)
{
    hdir *d = &h->d[from_client ? 0 : 1];
    enter_resync(d);
    d->at_line_start = true;
    d->skipped = true; /* skipping the rest of a message we joined late is not an anomaly */
}

void cs_http_free(cs_http_conn *h)
{
    if (h == NULL)
        return;
    cs_http_tx *t;
    while ((t = queue_pop(h)) != NULL)
        tx_free(t);
    for (int i = 0; i < 2; i++) {
        cs_body_dec_free(&h->d[i].dec);
        g_free(h->d[i].line);
    }
    if (h->h2c != NULL) { /* a copy made by keep_h2c_request(), not a tx_ext */
        cs_http_tx_clear_strings(h->h2c);
        g_free(h->h2c);
    }
    g_free(h);
}

void cs_http_summary_add(cs_http_conn_summary *into, const cs_http_conn_summary *from)
{
    into->requests += from->requests;
    into->responses += from->responses;
    into->paired += from->paired;
    into->unanswered += from->unanswered;
    into->orphans += from->orphans;
    into->interim += from->interim;
    into->lost_in_gap += from->lost_in_gap;
    into->dropped_cap += from->dropped_cap;
    into->gaps += from->gaps;
    into->anomalies += from->anomalies;
    for (int i = 0; i < 6; i++)
        into->status_class[i] += from->status_class[i];
    into->upgraded = into->upgraded || from->upgraded;
}
