/* metrics.c - Graphite plaintext and Prometheus text exposition of the per-bucket aggregates,
 * written to a file, standard output, or (Graphite) a carbon receiver over TCP. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_expo.h"
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

void cs_metrics_graphite_prefix(const cs_host_filter *host, GString *prefix)
{
    g_string_assign(prefix, "connscope");
    if (host->on) {
        char ip[64];
        cs_addr_str(&host->addr, host->family, ip, sizeof ip);
        for (char *q = ip; *q; q++)
            if (*q == '.' || *q == ':')
                *q = '_';
        g_string_append_printf(prefix, ".host.%s", ip);
    }
}

void cs_metrics_graphite_interval(const cs_stats *st, const cs_interval_info *iv,
                                  const char *prefix, GString *out)
{
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    gctx c = {.out = out, .prefix = prefix};
    int64_t ts = iv->end / CS_NS_PER_S; /* capture time of the interval's end */
    char path[64];
    g_line(&c, "packets", iv->ctr->packets, ts);
    g_line(&c, "bytes", iv->ctr->bytes, ts);
    g_line(&c, "conns", st->conns_started, ts);
    g_line(&c, "conns_ended", st->conns, ts);
    g_line(&c, "established", st->established, ts);
    g_line(&c, "syn_pkts", st->syn_pkts, ts);
    g_line(&c, "syn_attempts", st->syn_attempts, ts);
    g_line(&c, "http.requests", st->http_requests, ts);
    for (int i = 1; i <= 6; i++) {
        snprintf(path, sizeof path, "http.status.%s", cls[i % 6]);
        g_line(&c, path, st->http_status_class[i % 6], ts);
    }
    g_line(&c, "http.unanswered", st->http_unanswered, ts);
    g_line(&c, "http.orphans", st->http_orphans, ts);
    g_line(&c, "tls.conns", st->tls_conns, ts);
    g_hist(&c, "ttfb_us", &st->http_ttfb_us, ts);
    g_hist(&c, "total_us", &st->http_total_us, ts);
    if (iv->have_drops) {
        g_line(&c, "capture.received", iv->drops[0], ts);
        g_line(&c, "capture.dropped", iv->drops[1] + iv->drops[2], ts);
    }
}

void cs_metrics_graphite(const cs_analytics *a, GString *out)
{
    GString *prefix = g_string_new(NULL);
    cs_metrics_graphite_prefix(&a->cfg.host, prefix);
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

/* ---- Prometheus (OpenMetrics) ---------------------------------------------------------------- */

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
    int series; /* label values per family: status classes, directions */
} pm_meta[PM_FIELDS] = {
    {"connscope_connections", "counter",
     "Connection records whose first packet came before the timestamp.", 1},
    {"connscope_syn_packets", "counter", "TCP SYN-without-ACK packets before the timestamp.", 1},
    {"connscope_http_requests", "counter",
     "HTTP requests whose first byte came before the timestamp.", 1},
    {"connscope_http_responses", "counter",
     "Final HTTP responses by status class, counted at the time of their request.", 6},
    {"connscope_http_unanswered", "counter",
     "HTTP requests reported without a response, counted at the time of the request.", 1},
    {"connscope_http_orphan_responses", "counter",
     "HTTP responses without a request, counted at the time of the response.", 1},
    {"connscope_payload_bytes", "counter",
     "TCP payload bytes of the connections that started before the timestamp, by direction.", 2},
    {"connscope_http_ttfb_seconds", "histogram",
     "Request end to first response byte of paired exchanges.", 1},
    {"connscope_http_total_seconds", "histogram",
     "Request start to last response byte of paired exchanges.", 1},
};

/* One series of a family over every bucket: its cumulative value so far. */
typedef struct pctx {
    cs_expo x;
    pm_field field;
    int series;       /* which label value (status class, direction) */
    const char *host; /* host="..." label text, or "" */
    cs_time_t width;  /* bucket length */
    bool started;     /* the zero point at the first bucket's start is written */
    uint64_t total;   /* counters: events so far */
    cs_hist hist;     /* histograms: values so far */
} pctx;

/* Events of c's series in bucket b. */
static uint64_t p_events(const pctx *c, const cs_an_bucket *b)
{
    switch (c->field) {
    case PM_CONNS:
        return b->conns;
    case PM_SYN:
        return b->syn_pkts;
    case PM_REQ:
        return b->requests;
    case PM_RESP:
        return b->status_class[(c->series + 1) % 6]; /* 1xx..5xx, then other */
    case PM_UNANSWERED:
        return b->unanswered;
    case PM_ORPHANS:
        return b->orphans;
    case PM_BYTES:
        return c->series == 0 ? b->bytes_c2s : b->bytes_s2c;
    default:
        return 0;
    }
}

/* Writes c's cumulative point stamped at time t (ns). */
static void p_point(pctx *c, cs_time_t t)
{
    static const char *const cls[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    static const char *const dir[2] = {"c2s", "s2c"};
    char ts[48], num[G_ASCII_DTOSTR_BUF_SIZE];
    GString *l = g_string_new(c->host);
    snprintf(ts, sizeof ts, " %s", g_ascii_formatd(num, sizeof num, "%.3f", (double)t / 1e9));
    c->x.ts = ts;
    if (c->field == PM_RESP)
        cs_expo_label(l, "code", cls[c->series]);
    else if (c->field == PM_BYTES)
        cs_expo_label(l, "direction", dir[c->series]);
    if (c->field == PM_TTFB || c->field == PM_TOTAL)
        cs_expo_hist(&c->x, pm_meta[c->field].name, l->str, &c->hist);
    else
        cs_expo_counter(&c->x, pm_meta[c->field].name, l->str, c->total);
    g_string_free(l, TRUE);
}

static void p_bucket(const cs_an_bucket *b, void *ctx)
{
    pctx *c = ctx;
    if (!c->started) { /* the counter starts from zero, so increase() sees the first bucket */
        p_point(c, b->start);
        c->started = true;
    }
    if (c->field == PM_TTFB || c->field == PM_TOTAL)
        cs_hist_merge(&c->hist, c->field == PM_TTFB ? &b->ttfb_us : &b->total_us);
    else
        c->total += p_events(c, b);
    p_point(c, b->start + c->width);
}

/* Per server address over the whole span: one point at the end of the last bucket. */
static void p_server_ips(const cs_analytics *a, GString *out, const char *host)
{
    GPtrArray *ips = server_ips(a);
    if (ips == NULL)
        return;
    static const struct {
        const char *name, *help;
    } ipm[] = {
        {"connscope_server_ip_connections",
         "Connection records per server address (all its ports), over the whole span."},
        {"connscope_server_ip_established",
         "Established connections per server address, over the whole span."},
        {"connscope_server_ip_refused",
         "Refused connections (REJ) per server address, over the whole span."},
        {"connscope_server_ip_reset",
         "Other connections with a RST per server address, over the whole span."},
    };
    char ts[48], num[G_ASCII_DTOSTR_BUF_SIZE], ip[64], ports[16];
    snprintf(ts, sizeof ts, " %s",
             g_ascii_formatd(num, sizeof num, "%.3f",
                             (double)(span_end_s(a) * CS_NS_PER_S + a->cfg.bucket) / 1e9));
    cs_expo x = {.out = out, .om = true, .ts = ts};
    GString *l = g_string_new(NULL);
    for (size_t k = 0; k < CS_ARRAY_LEN(ipm); k++) {
        cs_expo_family(&x, ipm[k].name, "counter", ipm[k].help);
        for (guint i = 0; i < ips->len; i++) {
            const cs_server_ip *v = g_ptr_array_index(ips, i);
            const uint64_t val[] = {v->c.conns, v->c.established, v->c.refused, v->c.reset};
            g_string_assign(l, host);
            cs_expo_label(l, "server_ip", cs_addr_str(&v->addr, v->family, ip, sizeof ip));
            snprintf(ports, sizeof ports, "%u", v->ports);
            cs_expo_label(l, "ports", ports);
            cs_expo_counter(&x, ipm[k].name, l->str, val[k]);
        }
    }
    g_string_free(l, TRUE);
    g_ptr_array_free(ips, TRUE);
}

void cs_metrics_prometheus(const cs_analytics *a, GString *out)
{
    GString *host = g_string_new(NULL);
    if (a->cfg.host.on) {
        char ip[64];
        cs_expo_label(host, "host",
                      cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    }
    for (int f = 0; f < PM_FIELDS; f++) {
        cs_expo fx = {.out = out, .om = true, .ts = ""};
        cs_expo_family(&fx, pm_meta[f].name, pm_meta[f].type, pm_meta[f].help);
        for (int i = 0; i < pm_meta[f].series; i++) {
            pctx c = {.x = fx,
                      .field = (pm_field)f,
                      .series = i,
                      .host = host->str,
                      .width = a->cfg.bucket};
            cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, p_bucket, &c);
            cs_hist_clear(&c.hist);
        }
    }
    p_server_ips(a, out, host->str);
    cs_expo_end(&(cs_expo){.out = out, .om = true});
    g_string_free(host, TRUE);
}

/* ---- writing --------------------------------------------------------------------------------- */

int cs_carbon_connect(const char *host, const char *port, GError **err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: %s", host, port,
                    gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        struct timeval tmo = {.tv_sec = 3}; /* Linux: bounds connect() and each send() */
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof tmo);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: cannot connect: %s", host,
                    port, g_strerror(saved ? saved : errno));
    return fd;
}

bool cs_carbon_send(int fd, const GString *s, const char *host, const char *port, GError **err)
{
    size_t off = 0;
    while (off < s->len) {
        ssize_t n = send(fd, s->str + off, s->len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(err, METRICS_ERROR, 0, "--metrics graphite=%s:%s: send failed: %s", host,
                        port, g_strerror(errno));
            return false;
        }
        off += (size_t)n;
    }
    return true;
}

static bool send_all(const char *host, const char *port, const GString *s, GError **err)
{
    int fd = cs_carbon_connect(host, port, err);
    if (fd < 0)
        return false;
    bool ok = cs_carbon_send(fd, s, host, port, err);
    close(fd);
    return ok;
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
