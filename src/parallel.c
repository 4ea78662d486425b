/* parallel.c - `-j N`: files analysed on N threads (contiguous groups of files, one engine each),
 * per-record output kept in group order, aggregates merged; warns when connections span groups. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "parallel.h"
#include "plot.h"

enum { EDGE_OPEN_AT_END = 1, EDGE_JOINED_MID = 2 }; /* flags per tuple in a worker's edge table */

typedef struct worker {
    int index;
    char **files;
    int n_files;
    const char *bpf;
    cs_engine_cfg cfg;
    cs_report *report;    /* this group's per-record writer */
    FILE *tmp;            /* JSON/CSV: where that writer writes */
    cs_source *src;
    cs_engine *engine;
    GHashTable *edges; /* cs_edge_tuple* -> EDGE_* flags of this group's edge connections */
    char *error;
    volatile sig_atomic_t *stop; /* SIGINT/SIGTERM: stop reading, report what was read */
} worker;

/* Text output: worker writers hand each row to the main writer, one at a time. The lock is a
 * pthread mutex, not a GMutex: GLib builds GMutex on futexes, which ThreadSanitizer cannot see. */
typedef struct forward {
    cs_report base;
    cs_report *to;
    pthread_mutex_t *lock;
} forward;

static void fwd_conn(cs_report *r, const cs_conn_row *row)
{
    forward *f = (forward *)r;
    pthread_mutex_lock(f->lock);
    f->to->conn(f->to, row);
    pthread_mutex_unlock(f->lock);
}

static void fwd_http(cs_report *r, const cs_http_row *row)
{
    forward *f = (forward *)r;
    pthread_mutex_lock(f->lock);
    f->to->http(f->to, row);
    pthread_mutex_unlock(f->lock);
}

static void fwd_udp(cs_report *r, const cs_udp_row *row)
{
    forward *f = (forward *)r;
    if (f->to->udp == NULL)
        return;
    pthread_mutex_lock(f->lock);
    f->to->udp(f->to, row);
    pthread_mutex_unlock(f->lock);
}

static void fwd_quic(cs_report *r, const cs_quic_row *row)
{
    forward *f = (forward *)r;
    if (f->to->quic == NULL)
        return;
    pthread_mutex_lock(f->lock);
    f->to->quic(f->to, row);
    pthread_mutex_unlock(f->lock);
}

static void fwd_finish(cs_report *r, const cs_stats *st, const cs_run_info *info)
{
    (void)r;
    (void)st;
    (void)info;
}

static void fwd_destroy(cs_report *r)
{
    g_free(r);
}

/* ---- edge connections: a group's tuples, hashed by their bytes ------------------------------ */

static guint tuple_hash(gconstpointer p)
{
    const uint8_t *b = p;
    guint h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof(cs_edge_tuple); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean tuple_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(cs_edge_tuple)) == 0;
}

/* The engine's edge sink: runs on the worker's thread, writes only the worker's table. */
static void on_edge(void *ctx, const cs_edge_tuple *t, bool open_at_end, bool joined_mid)
{
    worker *w = ctx;
    guint flags = (open_at_end ? EDGE_OPEN_AT_END : 0) | (joined_mid ? EDGE_JOINED_MID : 0);
    flags |= GPOINTER_TO_UINT(g_hash_table_lookup(w->edges, t));
    cs_edge_tuple *key = g_new(cs_edge_tuple, 1);
    memcpy(key, t, sizeof *key); /* with its zeroed padding: keys compare as bytes */
    g_hash_table_insert(w->edges, key, GUINT_TO_POINTER(flags)); /* frees key if one is there */
}

/* Connections open at the end of one group and joined mid-stream by a later group: each one
 * adds a record to the merged output. */
static uint64_t count_split(worker *ws, int n)
{
    uint64_t split = 0;
    for (int g = 0; g + 1 < n; g++) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, ws[g].edges);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (!(GPOINTER_TO_UINT(v) & EDGE_OPEN_AT_END))
                continue;
            for (int h = g + 1; h < n; h++)
                if (GPOINTER_TO_UINT(g_hash_table_lookup(ws[h].edges, k)) & EDGE_JOINED_MID) {
                    split++;
                    break;
                }
        }
    }
    return split;
}

/* ---- the threads ---------------------------------------------------------------------------- */

static void worker_packet(void *ctx, const cs_raw *raw)
{
    cs_engine_packet(((worker *)ctx)->engine, raw);
}

static gpointer worker_main(gpointer data)
{
    worker *w = data;
    GError *err = NULL;
    w->src = cs_source_open_files(w->files, w->n_files, w->bpf, &err);
    if (w->src == NULL) {
        w->error = g_strdup(err->message);
        g_error_free(err);
        return NULL;
    }
    w->engine = cs_engine_new(&w->cfg, w->report);
    cs_read_sink sink = {.ctx = w, .packet = worker_packet};
    cs_source_read(w->src, &sink, w->stop, 0);
    cs_engine_flush(w->engine);
    return NULL;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Cuts files into n contiguous groups of about equal total size (rotated captures stay mostly
 * together) and sets up each group's worker: its engine config, edge table and writer. */
static void plan_groups(worker *ws, int n, char **files, int n_files, const char *bpf,
                        const cs_engine_cfg *cfg, cs_report *report, cs_report_kind kind,
                        pthread_mutex_t *lock, volatile sig_atomic_t *stop)
{
    uint64_t total = 0;
    for (int i = 0; i < n_files; i++)
        total += file_size(files[i]) + 1;
    int next = 0;
    uint64_t acc = 0;
    for (int g = 0; g < n; g++) {
        worker *w = &ws[g];
        w->index = g;
        w->files = files + next;
        w->bpf = bpf;
        w->stop = stop;
        w->cfg = *cfg;
        w->cfg.stream_list = NULL;
        w->cfg.uid_group = (uint32_t)g;
        if (cfg->analytics != NULL) /* each group counts on its own; merged below */
            w->cfg.analytics = cs_analytics_new(&cfg->analytics->cfg);
        uint64_t goal = total * (uint64_t)(g + 1) / (uint64_t)n;
        while (next < n_files && (w->n_files == 0 || acc < goal) && n_files - next > n - g - 1) {
            acc += file_size(files[next]) + 1;
            next++;
            w->n_files++;
        }
        if (g == n - 1)
            w->n_files += n_files - next;
        w->edges = g_hash_table_new_full(tuple_hash, tuple_equal, g_free, NULL);
        w->cfg.edges = (cs_edge_sink){.ctx = w, .conn = on_edge};
        if (kind == CS_REPORT_TEXT) {
            forward *f = g_new0(forward, 1);
            f->base.conn = fwd_conn;
            f->base.http = fwd_http;
            f->base.udp = fwd_udp;
            f->base.quic = fwd_quic;
            f->base.finish = fwd_finish;
            f->base.destroy = fwd_destroy;
            f->to = report;
            f->lock = lock;
            w->report = &f->base;
        } else {
            w->tmp = tmpfile();
            w->report = kind == CS_REPORT_JSON ? cs_report_json_new(w->tmp)
                                               : cs_report_csv_new(w->tmp, report->list_http);
        }
    }
}

/* Copies a JSON/CSV group's records to `out` (each CSV part repeats the header: it is skipped).
 * Returns false after printing why when the temporary file could not hold them. */
static bool copy_records(FILE *tmp, cs_report_kind kind, FILE *out)
{
    char buf[1 << 16];
    size_t n;
    GError *err = NULL;
    if (!cs_output_check(tmp, "-j: the temporary file of a group's records", &err)) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    rewind(tmp);
    if (kind == CS_REPORT_CSV) {
        int ch;
        while ((ch = fgetc(tmp)) != EOF && ch != '\n')
            ;
    }
    while ((n = fread(buf, 1, sizeof buf, tmp)) > 0)
        fwrite(buf, 1, n, out); /* out is checked at the end (cs_output_finish) */
    return true;
}

int cs_run_parallel(char **files, int n_files, int n_threads, const char *bpf,
                    const cs_engine_cfg *cfg, cs_report *report, cs_report_kind kind,
                    cs_source *all, cs_run_info *info, volatile sig_atomic_t *stop)
{
    if (n_threads > n_files)
        n_threads = n_files;
    worker *ws = g_new0(worker, n_threads);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    plan_groups(ws, n_threads, files, n_files, bpf, cfg, report, kind, &lock, stop);

    GThread **threads = g_new0(GThread *, n_threads);
    for (int g = 0; g < n_threads; g++)
        threads[g] = g_thread_new("connscope-worker", worker_main, &ws[g]);
    for (int g = 0; g < n_threads; g++)
        g_thread_join(threads[g]);
    g_free(threads);

    int status = 0;
    cs_stats merged;
    cs_stats_init(&merged);
    merged.max_keys = cfg->max_keys;
    cs_udp_stats udp;
    cs_udp_stats_init(&udp, cfg->max_keys);
    cs_tunnels *tunnels = cs_tunnels_new(cfg->max_keys);
    cs_quic_agg quic;
    cs_quic_agg_init(&quic, cfg->max_keys);
    uint64_t udp_streams = 0;
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    uint64_t streams = 0;
    uint32_t peak = 0;
    int input = 0;
    for (int g = 0; g < n_threads; g++) {
        worker *w = &ws[g];
        if (w->error != NULL) {
            fprintf(stderr, "connscope: %s\n", w->error);
            status = 2;
            continue;
        }
        if (w->tmp != NULL && !copy_records(w->tmp, kind, report->out)) /* in group order */
            status = CS_EXIT_OUTPUT;
        cs_stats_merge(&merged, cs_engine_stats(w->engine));
        cs_udp_stats_merge(&udp, cs_engine_udp_stats(w->engine));
        cs_tunnels_merge(tunnels, cs_engine_tunnels(w->engine));
        cs_quic_agg_merge(&quic, cs_engine_quic(w->engine));
        udp_streams += cs_engine_udp_streams(w->engine);
        if (w->cfg.analytics != NULL) {
            /* automatic buckets: each group widened on its own; the merge takes the widest */
            if (cfg->auto_bucket && w->cfg.analytics->cfg.bucket > cfg->analytics->cfg.bucket)
                cs_plot_rebucket(cfg->analytics, w->cfg.analytics->cfg.bucket);
            cs_analytics_merge(cfg->analytics, w->cfg.analytics);
            if (cfg->auto_bucket)
                cs_plot_auto_bucket(cfg->analytics);
        }
        cs_counters_add(&ctr, cs_engine_counters(w->engine));
        streams += cs_engine_streams(w->engine);
        info->streams_max = MAX(info->streams_max, cs_engine_streams(w->engine));
        peak += cs_engine_peak_conns(w->engine);
        for (int i = 0; i < cs_source_count(w->src); i++)
            cs_source_copy_status(all, input + i, w->src, i);
        input += cs_source_count(w->src);
    }

    uint64_t split = count_split(ws, n_threads);
    ctr.anomalies[CS_ANOM_PARALLEL_SPLIT] = split;
    if (split > 0)
        fprintf(stderr,
                "connscope: -j: %" G_GUINT64_FORMAT " connection%s continue%s from one group of files "
                "into the next and %s counted in parts; run without -j for exact per-connection "
                "results\n",
                split, split == 1 ? "" : "s", split == 1 ? "s" : "", split == 1 ? "is" : "are");

    if (status == 0) {
        if (cs_source_account(all, &ctr))
            status = 1;
        info->ctr = &ctr;
        info->streams = streams;
        info->peak_conns = peak;
        info->parallel = n_threads;
        info->udp = &udp;
        info->tunnels = tunnels;
        info->quic = &quic;
        info->udp_streams = udp_streams;
        info->want_tunnel_id = cfg->filter.tunnel_id_set ? (int64_t)cfg->filter.tunnel_id : -1;
        info->want_vni = cfg->filter.vni_set ? (int64_t)cfg->filter.vni : -1;
        report->finish(report, &merged, info);
        info->ctr = NULL; /* it lives on this stack frame */
    }
    for (int g = 0; g < n_threads; g++) {
        worker *w = &ws[g];
        cs_engine_free(w->engine);
        cs_analytics_free(w->cfg.analytics);
        cs_source_free(w->src);
        w->report->destroy(w->report);
        if (w->tmp != NULL)
            fclose(w->tmp);
        g_hash_table_destroy(w->edges);
        g_free(w->error);
    }
    cs_stats_free(&merged);
    cs_udp_stats_free(&udp);
    cs_tunnels_free(tunnels);
    cs_quic_agg_free(&quic);
    pthread_mutex_destroy(&lock);
    g_free(ws);
    return status;
}
