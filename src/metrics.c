/* metrics.c - Graphite plaintext and Prometheus text exposition of the per-bucket aggregates,
 * written to a file, standard output, or (Graphite) a carbon receiver over TCP. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "output.h"
#include "util.h"

#define METRICS_ERROR (g_quark_from_static_string("cs-metrics-error"))

/* ---- targets --------------------------------------------------------------------------------- */

/* HOST:PORT or [V6]:PORT, no '/': *host and *port set (new strings). */
static bool split_host_port(const char *s, char **host, char **port)
{
    if (strchr(s, '/') != NULL)
        return false;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return false;
    for (const char *q = colon + 1; *q; q++)
        if (!g_ascii_isdigit(*q))
            return false;
    const char *h = s, *hend = colon;
    if (*s == '[') {
        if (colon[-1] != ']')
            return false;
        h = s + 1;
        hend = colon - 1;
    } else if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
        return false; /* a bare IPv6 address needs brackets */
    }
    if (hend <= h)
        return false;
    *host = g_strndup(h, (gsize)(hend - h));
    *port = g_strdup(colon + 1);
    return true;
}

bool cs_metrics_parse(const char *spec, cs_metrics_target *t, GError **err)
{
    cs_metrics_target r;
    memset(&r, 0, sizeof r);
    const char *eq = strchr(spec, '=');
    size_t n = eq != NULL ? (size_t)(eq - spec) : strlen(spec);
    const char *val = eq != NULL ? eq + 1 : NULL;
    if (n == 8 && strncmp(spec, "graphite", n) == 0)
        r.format = CS_METRICS_GRAPHITE;
    else if (n == 10 && strncmp(spec, "prometheus", n) == 0)
        r.format = CS_METRICS_PROMETHEUS;
    else {
        g_set_error(err, METRICS_ERROR, 0,
                    "--metrics takes graphite[=FILE|HOST:PORT] or prometheus[=FILE], not '%s'",
                    spec);
        return false;
    }
    if (val != NULL && *val == '\0') {
        g_set_error(err, METRICS_ERROR, 0, "--metrics %.*s=: the file name is empty", (int)n, spec);
        return false;
    }
    if (val != NULL && strcmp(val, "-") != 0) {
        if (r.format == CS_METRICS_GRAPHITE && split_host_port(val, &r.host, &r.port)) {
            unsigned long port = strtoul(r.port, NULL, 10);
            if (port < 1 || port > 65535) {
                g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s: port out of range", val);
                cs_metrics_target_clear(&r);
                return false;
            }
        } else {
            r.file = g_strdup(val);
        }
    }
    *t = r;
    return true;
}

void cs_metrics_target_clear(cs_metrics_target *t)
{
    g_free(t->file);
    g_free(t->host);
    g_free(t->port);
    memset(t, 0, sizeof *t);
}

/* ---- Graphite -------------------------------------------------------------------------------- */

typedef struct gctx {
    GString *out;
    const char *prefix;
} gctx;

static void g_line(gctx *c, const char *path, uint64_t v, int64_t ts)
{
    g_string_append_printf(c->out, "%s.%s %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT "\n", c->prefix,
                           path, (guint64)v, (gint64)ts);
}

static void g_hist(gctx *c, const char *name, const cs_hist *h, int64_t ts)
{
    if (h->n == 0)
        return;
    static const struct {
        const char *suffix;
        double q;
    } qs[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}};
    char path[64];
    for (size_t i = 0; i < CS_ARRAY_LEN(qs); i++) {
        snprintf(path, sizeof path, "http.%s.%s", name, qs[i].suffix);
        g_line(c, path, cs_hist_percentile(h, qs[i].q), ts);
    }
    snprintf(path, sizeof path, "http.%s.max", name);
    g_line(c, path, h->max, ts);
    snprintf(path, sizeof path, "http.%s.count", name);
    g_line(c, path, h->n, ts);
}

static void g_bucket(const cs_an_bucket *b, void *ctx)
{
    gctx *c = ctx;
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    int64_t ts =
        b->start >= 0 ? b->start / CS_NS_PER_S : -((-b->start + CS_NS_PER_S - 1) / CS_NS_PER_S);
    char path[64];
    g_line(c, "conns", b->conns, ts);
    g_line(c, "syn_pkts", b->syn_pkts, ts);
    g_line(c, "http.requests", b->requests, ts);
    for (int i = 1; i <= 6; i++) {
        snprintf(path, sizeof path, "http.status.%s", cls[i % 6]);
        g_line(c, path, b->status_class[i % 6], ts);
    }
    g_line(c, "http.unanswered", b->unanswered, ts);
    g_line(c, "http.orphans", b->orphans, ts);
    g_line(c, "bytes.c2s", b->bytes_c2s, ts);
    g_line(c, "bytes.s2c", b->bytes_s2c, ts);
    g_hist(c, "ttfb_us", &b->ttfb_us, ts);
    g_hist(c, "total_us", &b->total_us, ts);
}

/* Connections per server address over the whole span (NULL when a merged summary had none). */
static GPtrArray *server_ips(const cs_analytics *a)
{
    if (a->conn_servers_missing)
        return NULL;
    GPtrArray *cs = cs_analytics_conn_servers_sorted(a);
    cs_server_layout l = CS_SERVER_LAYOUT(cs_an_conn_server);
    GPtrArray *ips = cs_server_ips(cs, &l);
    g_ptr_array_free(cs, TRUE);
    return ips;
}

/* The start of the last bucket with events, in seconds (the time stamp of span totals). */
static int64_t span_end_s(const cs_analytics *a)
{
    cs_time_t t = a->last_ts >= a->first_ts ? a->last_ts - a->last_ts % a->cfg.bucket : 0;
    return t / CS_NS_PER_S;
}

void cs_metrics_graphite(const cs_analytics *a, GString *out)
{
    GString *prefix = g_string_new("connscope");
    if (a->cfg.host.on) {
        char ip[64];
        cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip);
        for (char *q = ip; *q; q++)
            if (*q == '.' || *q == ':')
                *q = '_';
        g_string_append_printf(prefix, ".host.%s", ip);
    }
    gctx c = {.out = out, .prefix = prefix->str};
    cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, g_bucket, &c);
    GPtrArray *ips = server_ips(a);
    for (guint i = 0; ips != NULL && i < ips->len; i++) {
        const cs_server_ip *v = g_ptr_array_index(ips, i);
        char ip[64], path[128];
        cs_addr_str(&v->addr, v->family, ip, sizeof ip);
        for (char *q = ip; *q; q++)
            if (*q == '.' || *q == ':')
                *q = '_';
            else if (*q == '(' || *q == ')')
                *q = '-'; /* "(other)" */
        int64_t ts = span_end_s(a);
        static const char *const what[] = {"conns_total", "established_total", "refused_total",
                                           "reset_total"};
        const uint64_t val[] = {v->c.conns, v->c.established, v->c.refused, v->c.reset};
        for (size_t k = 0; k < CS_ARRAY_LEN(what); k++) {
            snprintf(path, sizeof path, "server_ip.%s.%s", ip, what[k]);
            g_line(&c, path, val[k], ts);
        }
    }
    if (ips != NULL)
        g_ptr_array_free(ips, TRUE);
    g_string_free(prefix, TRUE);
}

/* ---- Prometheus ------------------------------------------------------------------------------ */

typedef enum pm_field {
    PM_CONNS,
    PM_SYN,
    PM_REQ,
    PM_RESP,
    PM_UNANSWERED,
    PM_ORPHANS,
    PM_BYTES,
    PM_TTFB,
    PM_TOTAL,
    PM_FIELDS
} pm_field;

static const struct {
    const char *name, *type, *help;
} pm_meta[PM_FIELDS] = {
    {"connscope_connections_total", "counter",
     "Connection records whose first packet falls in the bucket."},
    {"connscope_syn_packets_total", "counter", "TCP SYN-without-ACK packets in the bucket."},
    {"connscope_http_requests_total", "counter",
     "HTTP requests whose first byte falls in the bucket."},
    {"connscope_http_responses_total", "counter",
     "Final HTTP responses by status class, counted in the bucket of their request."},
    {"connscope_http_unanswered_total", "counter",
     "HTTP requests reported without a response, in the bucket of the request."},
    {"connscope_http_orphan_responses_total", "counter",
     "HTTP responses without a request, in the bucket of the response."},
    {"connscope_payload_bytes_total", "counter",
     "TCP payload bytes of the connections that started in the bucket, by direction."},
    {"connscope_http_ttfb_seconds", "summary",
     "Request end to first response byte of paired exchanges (quantiles: middle of a fixed "
     "histogram bin, within 0.8%)."},
    {"connscope_http_total_seconds", "summary",
     "Request start to last response byte of paired exchanges (quantiles within 0.8%)."},
};

typedef struct pctx {
    GString *out;
    pm_field field;
    const char *host; /* extra label text or "" */
} pctx;

static void p_sample(pctx *c, const char *suffix, const char *labels, const char *value)
{
    g_string_append_printf(c->out, "%s%s{%s%s} %s\n", pm_meta[c->field].name, suffix, c->host,
                           labels, value);
}

static void p_u64(pctx *c, const char *suffix, const char *labels, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, (guint64)v);
    p_sample(c, suffix, labels, buf);
}

static void p_seconds(pctx *c, const char *suffix, const char *labels, double us)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    p_sample(c, suffix, labels, g_ascii_formatd(buf, sizeof buf, "%.6f", us / 1e6));
}

static void p_bucket(const cs_an_bucket *b, void *ctx)
{
    pctx *c = ctx;
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char bl[64], l[128];
    time_t sec = (time_t)(b->start / CS_NS_PER_S);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(bl, sizeof bl, "bucket=\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    switch (c->field) {
    case PM_CONNS:
        p_u64(c, "", bl, b->conns);
        break;
    case PM_SYN:
        p_u64(c, "", bl, b->syn_pkts);
        break;
    case PM_REQ:
        p_u64(c, "", bl, b->requests);
        break;
    case PM_RESP:
        for (int i = 1; i <= 6; i++) {
            snprintf(l, sizeof l, "%s,class=\"%s\"", bl, cls[i % 6]);
            p_u64(c, "", l, b->status_class[i % 6]);
        }
        break;
    case PM_UNANSWERED:
        p_u64(c, "", bl, b->unanswered);
        break;
    case PM_ORPHANS:
        p_u64(c, "", bl, b->orphans);
        break;
    case PM_BYTES:
        snprintf(l, sizeof l, "%s,direction=\"c2s\"", bl);
        p_u64(c, "", l, b->bytes_c2s);
        snprintf(l, sizeof l, "%s,direction=\"s2c\"", bl);
        p_u64(c, "", l, b->bytes_s2c);
        break;
    case PM_TTFB:
    case PM_TOTAL: {
        const cs_hist *h = c->field == PM_TTFB ? &b->ttfb_us : &b->total_us;
        static const char *const qn[3] = {"0.5", "0.9", "0.99"};
        static const double qv[3] = {50, 90, 99};
        for (int i = 0; h->n > 0 && i < 3; i++) {
            snprintf(l, sizeof l, "%s,quantile=\"%s\"", bl, qn[i]);
            p_seconds(c, "", l, (double)cs_hist_percentile(h, qv[i]));
        }
        p_seconds(c, "_sum", bl, h->sum);
        p_u64(c, "_count", bl, h->n);
        break;
    }
    default:
        break;
    }
}

void cs_metrics_prometheus(const cs_analytics *a, GString *out)
{
    char host[96] = "";
    if (a->cfg.host.on) {
        char ip[64];
        snprintf(host, sizeof host, "host=\"%s\",",
                 cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    }
    for (int f = 0; f < PM_FIELDS; f++) {
        pctx c = {.out = out, .field = (pm_field)f, .host = host};
        g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", pm_meta[f].name,
                               pm_meta[f].help, pm_meta[f].name, pm_meta[f].type);
        cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, p_bucket, &c);
    }
    GPtrArray *ips = server_ips(a);
    if (ips == NULL)
        return;
    static const struct {
        const char *name, *help;
    } ipm[] = {
        {"connscope_server_ip_connections_total",
         "Connection records per server address (all its ports), over the whole span."},
        {"connscope_server_ip_established_total",
         "Established connections per server address, over the whole span."},
        {"connscope_server_ip_refused_total",
         "Refused connections (REJ) per server address, over the whole span."},
        {"connscope_server_ip_reset_total",
         "Other connections with a RST per server address, over the whole span."},
    };
    for (size_t k = 0; k < CS_ARRAY_LEN(ipm); k++) {
        g_string_append_printf(out, "# HELP %s %s\n# TYPE %s counter\n", ipm[k].name, ipm[k].help,
                               ipm[k].name);
        for (guint i = 0; i < ips->len; i++) {
            const cs_server_ip *v = g_ptr_array_index(ips, i);
            const uint64_t val[] = {v->c.conns, v->c.established, v->c.refused, v->c.reset};
            char ip[64];
            g_string_append_printf(
                out, "%s{%sserver_ip=\"%s\",ports=\"%u\"} %" G_GUINT64_FORMAT "\n", ipm[k].name,
                host, cs_addr_str(&v->addr, v->family, ip, sizeof ip), v->ports, (guint64)val[k]);
        }
    }
    g_ptr_array_free(ips, TRUE);
}

/* ---- writing --------------------------------------------------------------------------------- */

static bool send_all(const char *host, const char *port, const GString *s, GError **err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: %s", host, port,
                    gai_strerror(rc));
        return false;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: cannot connect: %s", host,
                    port, g_strerror(saved ? saved : errno));
        return false;
    }
    size_t off = 0;
    while (off < s->len) {
        ssize_t n = send(fd, s->str + off, s->len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: send failed: %s", host,
                        port, g_strerror(errno));
            close(fd);
            return false;
        }
        off += (size_t)n;
    }
    close(fd);
    return true;
}

bool cs_metrics_write(const cs_analytics *a, const cs_metrics_target *t, GError **err)
{
    GString *s = g_string_new(NULL);
    if (t->format == CS_METRICS_GRAPHITE)
        cs_metrics_graphite(a, s);
    else
        cs_metrics_prometheus(a, s);
    bool ok = true;
    if (t->host != NULL) {
        ok = send_all(t->host, t->port, s, err);
    } else {
        ok = cs_output_write("--metrics", t->file != NULL ? t->file : "-", s->str, s->len, err);
    }
    g_string_free(s, TRUE);
    return ok;
}
