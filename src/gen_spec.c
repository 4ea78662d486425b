/* gen_spec.c - connscope-gen's CSV flow spec reader and built-in hostile scenarios: both produce
 * gen_rows, checked and completed with their timing constants by gen_row_finish(). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_msg.h"
#include "gen_spec.h"
#include "util.h"

void gen_cfg_default(gen_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->base_time = INT64_C(1700000000) * 1000000;
    cfg->capture_point = 0.5;
    cfg->link_mbps = 1000;
    cfg->window = 262144;
    cfg->mss4 = 1460;
    cfg->mss6 = 1440;
    cfg->seed = 1;
}

void gen_row_default(gen_row *r)
{
    memset(r, 0, sizeof *r);
    r->rtt = 10000;
    r->proto = GEN_HTTP;
    r->close = GEN_CLOSE_FIN;
    r->hs = GEN_HS_FULL;
    r->requests = 1;
    r->pipeline = 1;
    r->status = 200;
    r->count = 1;
}

/* Whether s is usable inside an HTTP header line or request target. */
static bool header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

bool gen_row_finish(gen_row *r, const gen_cfg *cfg, char **err)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (r->family != 4 && r->family != 6) {
        *err = g_strdup("client and server must be both IPv4 or both IPv6");
        return false;
    }
    if (r->mss == 0)
        r->mss = r->family == 4 ? cfg->mss4 : cfg->mss6;
    if (r->mss < 64 || r->mss > 9000) {
        *err = g_strdup_printf("mss %u out of range 64..9000", r->mss);
        return false;
    }
    if (r->pipeline == 0 || r->pipeline > 4096) {
        *err = g_strdup("pipeline must be 1..4096");
        return false;
    }
    if (!(r->loss >= 0 && r->loss <= 1) || !(r->reorder >= 0 && r->reorder <= 1)) {
        *err = g_strdup("loss and reorder are probabilities in 0..1");
        return false;
    }
    if (r->rtt < 0 || r->think < 0 || r->duration < 0 || r->every < 0) {
        *err = g_strdup("times must not be negative");
        return false;
    }
    if (r->hdr_pad > (64u << 20) || r->resp_size > (1u << 31) || r->req_size > (1u << 31)) {
        *err = g_strdup("a message may be at most 2 GiB (hdr_pad at most 64 MiB)");
        return false;
    }
    if (r->sport == 0) {
        *err = g_strdup("the server needs a port (ip:port)");
        return false;
    }
    if (r->proto == GEN_TCP) {
        if (r->req_last == 0)
            r->req_last = r->req_size;
    } else {
        r->req_last = r->req_size;
    }
    if (r->method == NULL)
        r->method = g_strdup(r->req_size > 0 ? "POST" : "GET");
    if (strcmp(r->method, "HEAD") == 0)
        r->flags |= GEN_F_HEAD;
    if (r->path == NULL)
        r->path = g_strdup("/c{c}/r{i}");
    if (r->host == NULL) {
        inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->server.b, buf, sizeof buf);
        bool dflt = r->sport == (r->proto == GEN_HTTPS ? 443 : 80);
        if (r->family == 6)
            r->host = dflt ? g_strdup_printf("[%s]", buf)
                           : g_strdup_printf("[%s]:%u", buf, r->sport);
        else
            r->host = dflt ? g_strdup(buf) : g_strdup_printf("%s:%u", buf, r->sport);
    }
    if (r->sni == NULL) {
        /* as curl does: the Host name without its port; no SNI for an address literal (RFC 6066
         * section 3 forbids them) */
        struct in6_addr tmp;
        r->sni = g_strdup(r->host[0] == '[' ? "" : r->host);
        char *colon = strchr(r->sni, ':');
        if (colon != NULL)
            *colon = '\0';
        if (inet_pton(AF_INET, r->sni, &tmp) == 1)
            r->sni[0] = '\0';
    }
    if (!header_safe(r->method) || !header_safe(r->path) || !header_safe(r->host) ||
        !header_safe(r->sni) || r->path[0] != '/' || strlen(r->path) > 400 ||
        strlen(r->host) > 255 || strlen(r->sni) > 255 || strlen(r->method) > 32) {
        *err = g_strdup("method, path, host and sni must be short and without spaces or control "
                        "characters; path must start with '/'");
        return false;
    }
    if (r->status < 200 || r->status > 599) {
        *err = g_strdup("status must be 200..599 (a final response)");
        return false;
    }
    if (r->proto == GEN_TCP && r->requests > 0 && r->req_size == 0 && r->req_last == 0) {
        *err = g_strdup("plain tcp needs req_size (or bytes) above 0");
        return false;
    }
    if (r->proto == GEN_TCP && r->resp_size == 0)
        r->flags |= GEN_F_NORESP;
    gen_msg_prepare(r);
    if (!gen_msg_check(r, err))
        return false;
    r->d_c = llround((double)r->rtt * cfg->capture_point);
    r->d_s = r->rtt - r->d_c;
    uint32_t frame = r->mss + (r->family == 4 ? 54 : 74);
    r->gap = llround(frame * 8.0 / cfg->link_mbps);
    if (r->gap < 1)
        r->gap = 1;
    uint32_t fl = cfg->window / r->mss;
    fl = fl > 3 ? (fl - 1) & ~1u : 2;
    r->flight = fl;
    r->period = (gen_us)fl * r->gap;
    if (r->period < r->rtt)
        r->period = r->rtt;
    r->loss_thr = r->loss >= 1 ? UINT32_MAX : (uint32_t)(r->loss * 4294967296.0);
    r->reorder_thr = r->reorder >= 1 ? UINT32_MAX : (uint32_t)(r->reorder * 4294967296.0);
    return true;
}

void gen_spec_add(gen_spec *s, const gen_row *r)
{
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->rows = g_renew(gen_row, s->rows, s->cap);
    }
    s->rows[s->len] = *r;
    s->rows[s->len].index = s->len;
    s->len++;
}

void gen_spec_free(gen_spec *s)
{
    for (uint32_t i = 0; i < s->len; i++) {
        g_free(s->rows[i].method);
        g_free(s->rows[i].path);
        g_free(s->rows[i].host);
        g_free(s->rows[i].sni);
        g_free(s->rows[i].req_tail);
        g_free(s->rows[i].resp_head);
    }
    g_free(s->rows);
    memset(s, 0, sizeof *s);
}

void gen_addr_add(cs_addr *out, const cs_addr *a, uint8_t family, uint32_t off)
{
    *out = *a;
    if (family == 4) {
        uint32_t v = ((uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 |
                      a->b[3]) + off;
        out->b[0] = (uint8_t)(v >> 24);
        out->b[1] = (uint8_t)(v >> 16);
        out->b[2] = (uint8_t)(v >> 8);
        out->b[3] = (uint8_t)v;
        return;
    }
    uint64_t carry = off;
    for (int i = 15; i >= 0 && carry != 0; i--) {
        carry += out->b[i];
        out->b[i] = (uint8_t)carry;
        carry >>= 8;
    }
}

/* ---- CSV ------------------------------------------------------------------------------------ */

enum col {
    COL_START, COL_DURATION, COL_CLIENT, COL_SERVER, COL_PROTOCOL, COL_REQUESTS, COL_REQ_SIZE,
    COL_RESP_SIZE, COL_CHUNKED, COL_THINK, COL_RTT, COL_LOSS, COL_REORDER, COL_PKTS, COL_BYTES,
    COL_COUNT, COL_EVERY, COL_PIPELINE, COL_METHOD, COL_PATH, COL_HOST, COL_SNI, COL_STATUS,
    COL_CLOSE, COL_MSS, COL_HDR_PAD, COL_HANDSHAKE, COL_SYN_RETRIES, COL_NORESP, COL_N
};

static const char *const col_names[COL_N] = {
    "start", "duration", "client", "server", "protocol", "requests", "req_size", "resp_size",
    "chunked", "think", "rtt", "loss", "reorder", "pkts", "bytes", "count", "every", "pipeline",
    "method", "path", "host", "sni", "status", "close", "mss", "hdr_pad", "handshake",
    "syn_retries", "noresp"};

static bool parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*v);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return errno == 0 && *end == '\0';
}

static bool parse_u32(const char *s, uint32_t *v, uint32_t max)
{
    uint64_t x;
    if (!parse_u64(s, &x) || x > max)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* Seconds (non-negative) to microseconds. */
static bool parse_secs(const char *s, gen_us *v)
{
    double d;
    if (!parse_double(s, &d) || d < 0 || d > 1e10)
        return false;
    *v = llround(d * 1e6);
    return true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads one field value into r. Returns an error message (static) or NULL. Longer than the usual
 * 120 lines: one flat switch case per column of the spec, each a few lines, read top to bottom. */
static const char *set_field(gen_row *r, int col, const char *v, const gen_cfg *cfg,
                             uint64_t *pkts, uint64_t *bytes)
{
    double d;
    uint64_t u;
    int32_t port;
    uint8_t fam;
    switch (col) {
    case COL_START:
        if (!parse_double(v, &d) || d < 0)
            return "start: seconds expected";
        r->start = llround(d * 1e6) + (d >= 1e8 ? 0 : cfg->base_time);
        break;
    case COL_DURATION:
        return parse_secs(v, &r->duration) ? NULL : "duration: seconds expected";
    case COL_THINK:
        return parse_secs(v, &r->think) ? NULL : "think: seconds expected";
    case COL_RTT:
        return parse_secs(v, &r->rtt) ? NULL : "rtt: seconds expected";
    case COL_EVERY:
        return parse_secs(v, &r->every) ? NULL : "every: seconds expected";
    case COL_CLIENT:
        if (!cs_parse_addr_port(v, &fam, &r->client, &port))
            return "client: IPv4/IPv6 address with optional :port expected";
        if (r->family != 0 && r->family != fam)
            return "client and server address families differ";
        r->family = fam;
        if (port >= 0) {
            r->cport = (uint16_t)port;
            r->flags |= GEN_F_CPORT;
        }
        break;
    case COL_SERVER:
        if (!cs_parse_addr_port(v, &fam, &r->server, &port) || port <= 0)
            return "server: address:port expected";
        r->sport = (uint16_t)port;
        if (r->family != 0 && r->family != fam)
            return "client and server address families differ";
        r->family = fam;
        break;
    case COL_PROTOCOL:
        if (strcmp(v, "http") == 0)
            r->proto = GEN_HTTP;
        else if (strcmp(v, "https") == 0)
            r->proto = GEN_HTTPS;
        else if (strcmp(v, "tcp") == 0)
            r->proto = GEN_TCP;
        else
            return "protocol: http, https or tcp expected";
        break;
    case COL_REQUESTS:
        return parse_u32(v, &r->requests, 100000000) ? NULL : "requests: count expected";
    case COL_PIPELINE:
        return parse_u32(v, &r->pipeline, 4096) && r->pipeline > 0 ? NULL
                                                                    : "pipeline: 1..4096 expected";
    case COL_REQ_SIZE:
        return parse_u32(v, &r->req_size, UINT32_MAX) ? NULL : "req_size: bytes expected";
    case COL_RESP_SIZE:
        return parse_u32(v, &r->resp_size, UINT32_MAX) ? NULL : "resp_size: bytes expected";
    case COL_CHUNKED:
        if (strcmp(v, "chunked") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
            u = 1;
        else if (!parse_u64(v, &u) || u > (1u << 30))
            return "chunked: 0, 1 or a chunk size expected";
        r->chunk = u == 1 ? 1000 : (uint32_t)u;
        break;
    case COL_LOSS:
        return parse_double(v, &r->loss) && r->loss >= 0 && r->loss <= 1 ? NULL
                                                                          : "loss: 0..1 expected";
    case COL_REORDER:
        return parse_double(v, &r->reorder) && r->reorder >= 0 && r->reorder <= 1
                   ? NULL
                   : "reorder: 0..1 expected";
    case COL_PKTS:
        return parse_u64(v, pkts) && *pkts > 0 && *pkts <= 100000000 ? NULL
                                                                      : "pkts: count expected";
    case COL_BYTES:
        return parse_u64(v, bytes) && *bytes < (UINT64_C(1) << 32) ? NULL
                                                                  : "bytes: below 2^32 expected";
    case COL_COUNT:
        return parse_u64(v, &r->count) && r->count > 0 && r->count < (UINT64_C(1) << 32)
                   ? NULL
                   : "count: 1..2^32-1 expected";
    case COL_METHOD:
        g_free(r->method);
        r->method = g_strdup(v);
        break;
    case COL_PATH:
        g_free(r->path);
        r->path = g_strdup(v);
        break;
    case COL_HOST:
        g_free(r->host);
        r->host = g_strdup(v);
        break;
    case COL_SNI:
        g_free(r->sni);
        r->sni = g_strdup(v);
        break;
    case COL_STATUS:
        return parse_u32(v, &r->status, 599) && r->status >= 200 ? NULL
                                                                  : "status: 200..599 expected";
    case COL_CLOSE:
        if (strcmp(v, "fin") == 0)
            r->close = GEN_CLOSE_FIN;
        else if (strcmp(v, "sfin") == 0)
            r->close = GEN_CLOSE_SFIN;
        else if (strcmp(v, "rst") == 0)
            r->close = GEN_CLOSE_RST;
        else if (strcmp(v, "srst") == 0)
            r->close = GEN_CLOSE_SRST;
        else if (strcmp(v, "none") == 0)
            r->close = GEN_CLOSE_NONE;
        else
            return "close: fin, sfin, rst, srst or none expected";
        break;
    case COL_MSS:
        if (!parse_u64(v, &u) || u < 64 || u > 9000)
            return "mss: 64..9000 expected";
        r->mss = (uint16_t)u;
        break;
    case COL_HDR_PAD:
        return parse_u32(v, &r->hdr_pad, 64u << 20) ? NULL : "hdr_pad: bytes (<= 64 MiB) expected";
    case COL_HANDSHAKE:
        if (strcmp(v, "full") == 0)
            r->hs = GEN_HS_FULL;
        else if (strcmp(v, "noack") == 0)
            r->hs = GEN_HS_NOACK;
        else if (strcmp(v, "noanswer") == 0)
            r->hs = GEN_HS_NOANSWER;
        else
            return "handshake: full, noack or noanswer expected";
        break;
    case COL_SYN_RETRIES:
        return parse_u32(v, &r->syn_retries, 10) ? NULL : "syn_retries: 0..10 expected";
    case COL_NORESP:
        if (!parse_u64(v, &u) || u > 1)
            return "noresp: 0 or 1 expected";
        if (u)
            r->flags |= GEN_F_NORESP;
        break;
    default:
        break;
    }
    return NULL;
}

bool gen_spec_read(gen_spec *s, FILE *fp, const char *name, const gen_cfg *cfg, char **err)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    int cols[COL_N * 2];
    int ncols = -1;
    bool ok = true;
    while (getline(&line, &cap, fp) >= 0) {
        lineno++;
        char *t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        char *fields[COL_N * 2 + 1];
        int n = 0;
        for (char *p = t;;) {
            char *comma = strchr(p, ',');
            if (comma != NULL)
                *comma = '\0';
            if (n == (int)CS_ARRAY_LEN(fields)) {
                *err = g_strdup_printf("%s:%d: too many fields", name, lineno);
                ok = false;
                goto out;
            }
            fields[n++] = trim(p);
            if (comma == NULL)
                break;
            p = comma + 1;
        }
        if (ncols < 0) { /* header line */
            bool have[COL_N] = {false};
            for (int i = 0; i < n; i++) {
                int c;
                for (c = 0; c < COL_N; c++)
                    if (g_ascii_strcasecmp(fields[i], col_names[c]) == 0 ||
                        (c == COL_PROTOCOL && g_ascii_strcasecmp(fields[i], "proto") == 0))
                        break;
                if (c == COL_N) {
                    *err = g_strdup_printf("%s:%d: unknown column '%s'", name, lineno, fields[i]);
                    ok = false;
                    goto out;
                }
                if (have[c]) {
                    *err = g_strdup_printf("%s:%d: column '%s' given twice", name, lineno,
                                           fields[i]);
                    ok = false;
                    goto out;
                }
                have[c] = true;
                cols[i] = c;
            }
            if (!have[COL_START] || !have[COL_CLIENT] || !have[COL_SERVER]) {
                *err = g_strdup_printf("%s:%d: the header needs columns start, client and server",
                                       name, lineno);
                ok = false;
                goto out;
            }
            ncols = n;
            continue;
        }
        if (n != ncols) {
            *err = g_strdup_printf("%s:%d: %d fields, the header has %d", name, lineno, n, ncols);
            ok = false;
            goto out;
        }
        gen_row r;
        gen_row_default(&r);
        r.line = lineno;
        uint64_t pkts = 0, bytes = 0;
        for (int i = 0; i < n; i++) {
            if (fields[i][0] == '\0')
                continue; /* empty: default */
            const char *e = set_field(&r, cols[i], fields[i], cfg, &pkts, &bytes);
            if (e != NULL) {
                *err = g_strdup_printf("%s:%d: %s (got '%s')", name, lineno, e, fields[i]);
                ok = false;
                break;
            }
        }
        if (ok && (pkts > 0 || bytes > 0)) {
            if (r.proto != GEN_TCP) {
                *err = g_strdup_printf("%s:%d: pkts/bytes are for protocol tcp", name, lineno);
                ok = false;
            } else {
                if (pkts == 0)
                    pkts = 1;
                if (bytes < pkts)
                    bytes = pkts;
                r.requests = (uint32_t)pkts;
                r.req_size = (uint32_t)(bytes / pkts);
                r.req_last = (uint32_t)(bytes - (uint64_t)r.req_size * (pkts - 1));
                r.resp_size = 0;
                r.flags |= GEN_F_NORESP;
            }
        }
        char *e2 = NULL;
        if (ok && !gen_row_finish(&r, cfg, &e2)) {
            *err = g_strdup_printf("%s:%d: %s", name, lineno, e2);
            g_free(e2);
            ok = false;
        }
        if (!ok) {
            g_free(r.method);
            g_free(r.path);
            g_free(r.host);
            g_free(r.sni);
            goto out;
        }
        gen_spec_add(s, &r);
    }
    if (ferror(fp)) {
        *err = g_strdup_printf("%s: read error", name);
        ok = false;
    } else if (ncols < 0) {
        *err = g_strdup_printf("%s: no header line", name);
        ok = false;
    }
out:
    free(line);
    return ok;
}

/* ---- scenarios ------------------------------------------------------------------------------- */

const char *const gen_scenario_names[] = {"synflood",   "synretry",   "halfopen", "pipeline-flood",
                                          "huge-header", "huge-chunk", "overlap",  NULL};
const char *const gen_scenario_help[] = {
    "SYNs from COUNT spoofed sources (one per address, random ports); each answered by a "
    "SYN/ACK that is never acknowledged (half-open connections). Default 1000 at 10000/s.",
    "COUNT clients whose SYN gets no answer, retransmitted after 1 s and 3 s (3 SYN packets per "
    "attempt). Default 100 at 1000/s.",
    "COUNT connections that complete the handshake, send a request header without its final "
    "empty line and go silent (open at the end). Default 100 at 100/s.",
    "COUNT connections each sending REQUESTS pipelined GETs (default 1000) that are never "
    "answered; the server only ACKs; left open. Default 10 at 100/s.",
    "One request whose header block is SIZE bytes (default 1 MiB, X-Pad lines), answered 200 "
    "with 100 bytes. COUNT default 1.",
    "A response whose first chunk declares 0x7fffffffffffffff bytes, followed by SIZE bytes "
    "(default 100000) and the server's FIN. COUNT default 1.",
    "Chunked responses (SIZE bytes, default 20000, chunks of 1000) whose first two segments "
    "arrive swapped with a retransmission carrying different bytes in between (the first copy "
    "is the true one). 3 requests per connection, COUNT default 10.",
};

bool gen_scenario_add(gen_spec *s, const char *name, const gen_scenario_opts *o,
                      const gen_cfg *cfg, char **err)
{
    gen_row r;
    gen_row_default(&r);
    uint8_t fam = 0, sfam = 0;
    int32_t port;
    const char *target = o->target != NULL ? o->target : "192.0.2.80:80";
    if (!cs_parse_addr_port(target, &fam, &r.server, &port) || port < 0) {
        *err = g_strdup_printf("--target: address:port expected (got '%s')", target);
        return false;
    }
    r.sport = (uint16_t)port;
    r.family = fam;
    const char *src = o->source != NULL ? o->source : (fam == 4 ? "10.0.0.1" : "2001:db8:a::1");
    if (!cs_parse_addr_port(src, &sfam, &r.client, &port) || sfam != fam) {
        *err = g_strdup_printf("--source: an address of the target's family expected (got '%s')",
                               src);
        return false;
    }
    if (port >= 0) {
        r.cport = (uint16_t)port;
        r.flags |= GEN_F_CPORT;
    }
    uint64_t count;
    double rate;
    if (strcmp(name, "synflood") == 0) {
        count = 1000, rate = 10000;
        r.proto = GEN_TCP;
        r.hs = GEN_HS_NOACK;
        r.flags |= GEN_F_SPOOF;
        r.requests = 0;
    } else if (strcmp(name, "synretry") == 0) {
        count = 100, rate = 1000;
        r.proto = GEN_TCP;
        r.hs = GEN_HS_NOANSWER;
        r.syn_retries = 2;
        r.requests = 0;
    } else if (strcmp(name, "halfopen") == 0) {
        count = 100, rate = 100;
        r.flags |= GEN_F_PARTIAL | GEN_F_NORESP;
        r.close = GEN_CLOSE_NONE;
    } else if (strcmp(name, "pipeline-flood") == 0) {
        count = 10, rate = 100;
        r.flags |= GEN_F_NORESP;
        r.requests = o->requests ? o->requests : 1000;
        r.pipeline = 4096;
        r.close = GEN_CLOSE_NONE;
    } else if (strcmp(name, "huge-header") == 0) {
        count = 1, rate = 100;
        r.hdr_pad = o->size ? o->size : (1u << 20);
        r.resp_size = 100;
    } else if (strcmp(name, "huge-chunk") == 0) {
        count = 1, rate = 100;
        r.flags |= GEN_F_HUGECHUNK;
        r.resp_size = o->size ? o->size : 100000;
        r.chunk = 1000;
        r.close = GEN_CLOSE_SFIN;
    } else if (strcmp(name, "overlap") == 0) {
        count = 10, rate = 100;
        r.flags |= GEN_F_OVERLAP;
        r.requests = o->requests ? o->requests : 3;
        r.resp_size = o->size ? o->size : 20000;
        r.chunk = 1000;
    } else {
        *err = g_strdup_printf("unknown scenario '%s' (see --list-scenarios)", name);
        return false;
    }
    r.count = o->count ? o->count : count;
    if (o->rate > 0)
        rate = o->rate;
    r.every = llround(1e6 / rate);
    r.start = llround(o->start * 1e6) + (o->start >= 1e8 ? 0 : cfg->base_time);
    if (o->rtt > 0)
        r.rtt = llround(o->rtt * 1e6);
    if (!gen_row_finish(&r, cfg, err)) {
        g_free(r.method);
        g_free(r.path);
        g_free(r.host);
        g_free(r.sni);
        return false;
    }
    gen_spec_add(s, &r);
    return true;
}
