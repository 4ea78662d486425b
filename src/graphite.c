/* graphite.c - per-interval Graphite batches handed from the capture thread to a sender thread
 * through a queue; the sender (re)connects with exponential backoff and keeps a bounded backlog. */
#include <stdio.h>
#include <unistd.h>

#include "graphite.h"

#define GR_BACKLOG 256                      /* batches kept while the receiver is away */
#define GR_BACKOFF_MIN (G_TIME_SPAN_SECOND) /* first retry after a failure, doubling ... */
#define GR_BACKOFF_MAX (60 * G_TIME_SPAN_SECOND)

struct cs_graphite {
    char *host, *port, *prefix;
    GAsyncQueue *q; /* GString* batches; the stop marker is &stop */
    GThread *thread;
    int fd; /* the connection, -1 when none (sender thread only after the start) */
    /* sender thread only; read after the join */
    GQueue backlog;
    uint64_t sent, lost, failures;
    char *last_error;
    gint64 next_try, backoff;
};

static GString stop_marker;

/* Connects when needed and sends the backlog from its head. A failure closes the connection and
 * sets the next attempt `backoff` later (doubling up to GR_BACKOFF_MAX). */
static void gr_flush(cs_graphite *g)
{
    GError *err = NULL;
    while (!g_queue_is_empty(&g->backlog)) {
        if (g->fd < 0)
            g->fd = cs_carbon_connect(g->host, g->port, &err);
        if (g->fd >= 0 &&
            cs_carbon_send(g->fd, g_queue_peek_head(&g->backlog), g->host, g->port, &err)) {
            g_string_free(g_queue_pop_head(&g->backlog), TRUE);
            g->sent++;
            g->backoff = 0;
            continue;
        }
        if (g->fd >= 0)
            close(g->fd);
        g->fd = -1;
        g->failures++;
        g_free(g->last_error);
        g->last_error = g_strdup(err->message);
        g_clear_error(&err);
        g->backoff = g->backoff == 0 ? GR_BACKOFF_MIN : MIN(2 * g->backoff, GR_BACKOFF_MAX);
        g->next_try = g_get_monotonic_time() + g->backoff;
        return;
    }
}

static gpointer gr_sender(gpointer data)
{
    cs_graphite *g = data;
    bool stopping = false;
    while (!stopping) {
        gint64 wait = g_queue_is_empty(&g->backlog) ? -1 : g->next_try - g_get_monotonic_time();
        GString *b = wait < 0 && g_queue_is_empty(&g->backlog) ? g_async_queue_pop(g->q)
                     : wait > 0 ? g_async_queue_timeout_pop(g->q, (guint64)wait)
                                : g_async_queue_try_pop(g->q);
        if (b == &stop_marker) {
            stopping = true;
            g->next_try = 0; /* one last attempt now */
        } else if (b != NULL) {
            g_queue_push_tail(&g->backlog, b);
            if (g_queue_get_length(&g->backlog) > GR_BACKLOG) {
                g_string_free(g_queue_pop_head(&g->backlog), TRUE);
                g->lost++;
            }
        }
        if (g_get_monotonic_time() >= g->next_try)
            gr_flush(g);
    }
    return NULL;
}

cs_graphite *cs_graphite_start(const cs_metrics_target *t, const char *prefix, GError **warn)
{
    cs_graphite *g = g_new0(cs_graphite, 1);
    g->host = g_strdup(t->host);
    g->port = g_strdup(t->port);
    g->prefix = g_strdup(prefix);
    g->q = g_async_queue_new();
    g_queue_init(&g->backlog);
    g->fd = cs_carbon_connect(g->host, g->port, warn); /* reported at the start when it fails */
    g->thread = g_thread_new("graphite", gr_sender, g);
    return g;
}

void cs_graphite_interval(void *ctx, const cs_stats *st, const cs_interval_info *iv)
{
    cs_graphite *g = ctx;
    GString *b = g_string_sized_new(1024);
    cs_metrics_graphite_interval(st, iv, g->prefix, b);
    g_async_queue_push(g->q, b);
}

bool cs_graphite_stop(cs_graphite *g)
{
    if (g == NULL)
        return true;
    g_async_queue_push(g->q, &stop_marker);
    g_thread_join(g->thread);
    g->lost += g_queue_get_length(&g->backlog);
    bool ok = g->lost == 0;
    if (g->failures > 0 || g->lost > 0)
        fprintf(stderr,
                "connscope: --metrics graphite=%s:%s: %" G_GUINT64_FORMAT " interval batches sent, "
                "%" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT " failed attempts (last: %s)\n",
                g->host, g->port, g->sent, g->lost, g->failures,
                g->last_error != NULL ? g->last_error : "none");
    GString *b;
    while ((b = g_queue_pop_head(&g->backlog)) != NULL)
        g_string_free(b, TRUE);
    if (g->fd >= 0)
        close(g->fd);
    g_async_queue_unref(g->q);
    g_free(g->last_error);
    g_free(g->host);
    g_free(g->port);
    g_free(g->prefix);
    g_free(g);
    return ok;
}
