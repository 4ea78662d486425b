/* metrics_http.c - the --metrics-listen endpoint: libmicrohttpd (a thread per scrape) asks the
 * capture thread for a fresh exposition and serves it; the capture thread renders between reads. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "metrics_http.h"
#include "util.h"

#define MH_ERROR (g_quark_from_static_string("cs-metrics-http"))
#define MH_WAIT_US (2 * G_TIME_SPAN_SECOND) /* a scrape waits this long for the capture thread */

enum { FMT_PROM, FMT_OM, FMT_COUNT };

static const char *const content_type[FMT_COUNT] = {
    "text/plain; version=0.0.4; charset=utf-8",
    "application/openmetrics-text; version=1.0.0; charset=utf-8"};

struct cs_metrics_http {
    struct MHD_Daemon *daemon;
    GMutex lock;
    GCond published;
    gint wanted;              /* formats scrapes wait for (bit per FMT_*), atomic */
    uint64_t gen[FMT_COUNT];  /* renderings handed over, per format (under lock) */
    GString *text[FMT_COUNT]; /* the latest rendering per format, NULL before the first */
};

bool cs_metrics_http_wanted(cs_metrics_http *m)
{
    return g_atomic_int_get(&m->wanted) != 0;
}

void cs_metrics_http_publish(cs_metrics_http *m, const cs_live_view *v)
{
    guint want = g_atomic_int_and((guint *)&m->wanted, 0);
    for (int f = 0; f < FMT_COUNT; f++) {
        if (!(want & (1u << f)))
            continue;
        GString *s = g_string_sized_new(16384);
        cs_expo x = {.out = s, .om = f == FMT_OM, .ts = ""};
        cs_metrics_live_render(&x, v);
        g_mutex_lock(&m->lock);
        GString *old = m->text[f];
        m->text[f] = s;
        m->gen[f]++;
        g_cond_broadcast(&m->published);
        g_mutex_unlock(&m->lock);
        if (old != NULL)
            g_string_free(old, TRUE);
    }
}

/* The text of format f rendered after the call (or, when the capture thread does not get to it
 * within MH_WAIT_US, the latest one; NULL when there is none). Caller frees. */
static char *fresh_text(cs_metrics_http *m, int f, size_t *len)
{
    char *copy = NULL;
    gint64 until = g_get_monotonic_time() + MH_WAIT_US;
    g_mutex_lock(&m->lock);
    uint64_t gen = m->gen[f];
    g_atomic_int_or((guint *)&m->wanted, 1u << f);
    while (m->gen[f] == gen)
        if (!g_cond_wait_until(&m->published, &m->lock, until))
            break;
    if (m->text[f] != NULL) {
        *len = m->text[f]->len;
        copy = g_memdup2(m->text[f]->str, m->text[f]->len + 1);
    }
    g_mutex_unlock(&m->lock);
    return copy;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
                             size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
    cs_metrics_http *m = cls;
    (void)version;
    (void)upload;
    if (*state == NULL) { /* first call: headers only */
        *state = m;
        return MHD_YES;
    }
    if (*upload_len != 0) { /* a body nobody asked for: discard it */
        *upload_len = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", g_strdup("GET /metrics\n"), 13);
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", g_strdup("connscope: see /metrics\n"),
                     24);
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    int f = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL ? FMT_OM
                                                                                     : FMT_PROM;
    size_t len = 0;
    char *body = fresh_text(m, f, &len);
    if (body == NULL)
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                     g_strdup("connscope: the capture has not started yet\n"), 42);
    return reply(c, MHD_HTTP_OK, content_type[f], body, len);
}

/* Parses "[ADDR:]PORT" into a socket address (family AF_UNSPEC: every address). */
static bool parse_listen(const char *spec, struct sockaddr_storage *sa, uint16_t *port)
{
    memset(sa, 0, sizeof *sa);
    sa->ss_family = AF_UNSPEC;
    uint8_t family;
    cs_addr addr;
    int32_t p = -1;
    char *end = NULL;
    long bare = strtol(spec, &end, 10);
    if (*spec != '\0' && g_ascii_isdigit(*spec) && *end == '\0') {
        p = bare >= 1 && bare <= 65535 ? (int32_t)bare : -1;
    } else if (cs_parse_addr_port(spec, &family, &addr, &p) && p > 0) {
        if (family == 4) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, addr.b, 4);
            s4->sin_port = htons((uint16_t)p);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, addr.b, 16);
            s6->sin6_port = htons((uint16_t)p);
        }
    } else {
        p = -1;
    }
    *port = (uint16_t)(p > 0 ? p : 0);
    return p > 0 && p <= 65535;
}

cs_metrics_http *cs_metrics_http_start(const char *spec, GError **err)
{
    struct sockaddr_storage sa;
    uint16_t port;
    if (!parse_listen(spec, &sa, &port)) {
        g_set_error(err, MH_ERROR, 0,
                    "--metrics-listen %s: expected [ADDR:]PORT (PORT 1 to 65535, [V6ADDR]:PORT)",
                    spec);
        return NULL;
    }
    cs_metrics_http *m = g_new0(cs_metrics_http, 1);
    g_mutex_init(&m->lock);
    g_cond_init(&m->published);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    for (int attempt = 0; attempt < 2 && m->daemon == NULL; attempt++) {
        unsigned fl = flags;
        if (sa.ss_family == AF_UNSPEC && attempt == 0)
            fl |= MHD_USE_DUAL_STACK; /* every address; IPv4 only when IPv6 is off */
        m->daemon =
            MHD_start_daemon(fl, port, NULL, NULL, on_request, m, MHD_OPTION_CONNECTION_LIMIT,
                             (unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                             sa.ss_family == AF_UNSPEC ? MHD_OPTION_END : MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&sa, MHD_OPTION_END);
        if (sa.ss_family != AF_UNSPEC)
            break;
    }
    if (m->daemon == NULL) {
        int e = errno;
        g_set_error(err, MH_ERROR, 0, "--metrics-listen %s: cannot listen: %s", spec,
                    e != 0 ? g_strerror(e) : "libmicrohttpd refused");
        cs_metrics_http_stop(m);
        return NULL;
    }
    return m;
}

void cs_metrics_http_stop(cs_metrics_http *m)
{
    if (m == NULL)
        return;
    if (m->daemon != NULL)
        MHD_stop_daemon(m->daemon);
    for (int f = 0; f < FMT_COUNT; f++)
        if (m->text[f] != NULL)
            g_string_free(m->text[f], TRUE);
    g_mutex_clear(&m->lock);
    g_cond_clear(&m->published);
    g_free(m);
}
