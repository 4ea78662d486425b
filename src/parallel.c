/* parallel.c - `-j N`: files analysed on N threads (contiguous groups of files, one engine each),
 * per-record output kept in group order, aggregates merged; warns when connections span groups. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "parallel.h"

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
    GHashTable *edges;
    char *error;
    volatile sig_atomic_t *stop; /* SIGINT/SIGTERM: stop reading, report what was read */
} worker;

/* Text output: worker writers hand each row to the main writer, one at a time. */
typedef struct forward {
    cs_report base;
    cs_report *to;
    GMutex *lock;
} forward;

static void fwd_conn(cs_report *r, const cs_conn_row *row)
{
    forward *f = (forward *)r;
    g_mutex_lock(f->lock);
    f->to->conn(f->to, row);
    g_mutex_unlock(f->lock);
}

static void fwd_http(cs_report *r, const cs_http_row *row)
{
    forward *f = (forward *)r;
    g_mutex_lock(f->lock);
    f->to->http(f->to, row);
    g_mutex_unlock(f->lock);
}

static void fwd_udp(cs_report *r, const cs_udp_row *row)
{
    forward *f = (forward *)r;
    if (f->to->udp == NULL)
        return;
    g_mutex_lock(f->lock);
    f->to->udp(f->to, row);
    g_mutex_unlock(f->lock);
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
    w->cfg.edge_tuples = w->edges;
    w->engine = cs_engine_new(&w->cfg, w->report);
    cs_raw raw;
    int rc;
    while (!*w->stop && (rc = cs_source_next(w->src, &raw)) != 0)
        if (rc > 0)
            cs_engine_packet(w->engine, &raw);
    cs_engine_flush(w->engine);
    return NULL;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int cs_run_parallel(char **files, int n_files, int n_threads, const char *bpf,
                    const cs_engine_cfg *cfg, cs_report *report, cs_report_kind kind,
                    cs_source *all, cs_run_info *info, volatile sig_atomic_t *stop)
{
    if (n_threads > n_files)
        n_threads = n_files;
    worker *ws = g_new0(worker, n_threads);
    GMutex lock;
    g_mutex_init(&lock);

    /* contiguous groups of about equal total size (rotated captures stay mostly together) */
    uint64_t total = 0;
    for (int i = 0; i < n_files; i++)
        total += file_size(files[i]) + 1;
    int next = 0;
    uint64_t acc = 0;
    for (int g = 0; g < n_threads; g++) {
        worker *w = &ws[g];
        w->index = g;
        w->files = files + next;
        w->bpf = bpf;
        w->stop = stop;
        w->cfg = *cfg;
        w->cfg.stream_list = NULL;
        if (cfg->analytics != NULL) /* each group counts on its own; merged below */
            w->cfg.analytics = cs_analytics_new(&cfg->analytics->cfg);
        uint64_t goal = total * (uint64_t)(g + 1) / (uint64_t)n_threads;
        while (next < n_files && (w->n_files == 0 || acc < goal) &&
               n_files - next > n_threads - g - 1) {
            acc += file_size(files[next]) + 1;
            next++;
            w->n_files++;
        }
        if (g == n_threads - 1)
            w->n_files += n_files - next;
        w->edges = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (kind == CS_REPORT_TEXT) {
            forward *f = g_new0(forward, 1);
            f->base.conn = fwd_conn;
            f->base.http = fwd_http;
            f->base.udp = fwd_udp;
            f->base.finish = fwd_finish;
            f->base.destroy = fwd_destroy;
            f->to = report;
            f->lock = &lock;
            w->report = &f->base;
        } else {
            w->tmp = tmpfile();
            w->report = kind == CS_REPORT_JSON ? cs_report_json_new(w->tmp)
                                               : cs_report_csv_new(w->tmp);
        }
    }

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
    uint64_t udp_streams = 0;
    static cs_counters ctr;
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
        /* per-record output in group order; each CSV part repeats the header: skip it */
        if (w->tmp != NULL) {
            fflush(w->tmp);
            rewind(w->tmp);
            char buf[1 << 16];
            size_t n;
            if (kind == CS_REPORT_CSV) {
                int ch;
                while ((ch = fgetc(w->tmp)) != EOF && ch != '\n')
                    ;
            }
            while ((n = fread(buf, 1, sizeof buf, w->tmp)) > 0)
                fwrite(buf, 1, n, report->out);
        }
        cs_stats_merge(&merged, cs_engine_stats(w->engine));
        cs_udp_stats_merge(&udp, cs_engine_udp_stats(w->engine));
        cs_tunnels_merge(tunnels, cs_engine_tunnels(w->engine));
        udp_streams += cs_engine_udp_streams(w->engine);
        if (w->cfg.analytics != NULL)
            cs_analytics_merge(cfg->analytics, w->cfg.analytics);
        const uint64_t *a = (const uint64_t *)(const void *)cs_engine_counters(w->engine);
        uint64_t *d = (uint64_t *)(void *)&ctr;
        for (size_t i = 0; i < sizeof ctr / sizeof(uint64_t); i++)
            d[i] += a[i];
        streams += cs_engine_streams(w->engine);
        peak += cs_engine_peak_conns(w->engine);
        for (int i = 0; i < cs_source_count(w->src); i++)
            cs_source_copy_status(all, input + i, w->src, i);
        input += cs_source_count(w->src);
    }

    /* connections open at the end of one group and joined mid-stream by a later group */
    uint64_t split = 0;
    for (int g = 0; g + 1 < n_threads; g++) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, ws[g].edges);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            const char *key = k;
            if (strncmp(key, "eof ", 4) != 0)
                continue;
            gchar *mid = g_strconcat("mid ", key + 4, NULL);
            for (int h = g + 1; h < n_threads; h++)
                if (g_hash_table_contains(ws[h].edges, mid)) {
                    split++;
                    break;
                }
            g_free(mid);
        }
    }
    ctr.anomalies[CS_ANOM_PARALLEL_SPLIT] = split;
    if (split > 0)
        fprintf(stderr,
                "connscope: -j: %" G_GUINT64_FORMAT " connection%s continue%s from one group of files "
                "into the next and %s counted in parts; run without -j for exact per-connection "
                "results\n",
                split, split == 1 ? "" : "s", split == 1 ? "s" : "", split == 1 ? "is" : "are");

    if (status == 0) {
        for (int i = 0; i < cs_source_count(all); i++) {
            const cs_input *in = cs_source_input(all, i);
            if (in->state == CS_INPUT_TRUNCATED)
                ctr.anomalies[CS_ANOM_FILE_TRUNCATED]++;
            else if (in->state == CS_INPUT_ERROR)
                ctr.anomalies[CS_ANOM_FILE_READ_ERROR]++;
            if (in->message != NULL) {
                fprintf(stderr, "connscope: %s\n", in->message);
                status = 1;
            }
        }
        info->ctr = &ctr;
        info->streams = streams;
        info->peak_conns = peak;
        info->parallel = n_threads;
        info->udp = &udp;
        info->tunnels = tunnels;
        info->udp_streams = udp_streams;
        info->want_tunnel_id = cfg->filter.tunnel_id_set ? (int64_t)cfg->filter.tunnel_id : -1;
        info->want_vni = cfg->filter.vni_set ? (int64_t)cfg->filter.vni : -1;
        report->finish(report, &merged, info);
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
    g_mutex_clear(&lock);
    g_free(ws);
    return status;
}
