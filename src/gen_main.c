/* gen_main.c - connscope-gen: writes a pcap of synthetic TCP/HTTP/TLS connections described by CSV
 * flow specs and built-in hostile scenarios, merged in time order by a heap, plus their truth. */
#include <errno.h>
#include <glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen_flow.h"
#include "gen_heap.h"
#include "gen_truth.h"

/* Heap ids: connection slots count up from 0; spec row i (starting its connections) is
 * max_slots + 1 + i, so rows starting at the same time go in file order. Keys hold times relative
 * to the earliest row start. */

static char *opt_output, *opt_truth, *opt_scenario, *opt_target, *opt_source;
static gint64 opt_seed = 1, opt_count, opt_synflood;
static gint opt_mss, opt_requests, opt_size;
static gdouble opt_base = 1700000000, opt_cp = 0.5, opt_mbps = 1000, opt_rate, opt_start,
               opt_rtt;
static gint opt_window = 262144;
static gboolean opt_stats, opt_list;

static GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Write the pcap to FILE ('-': stdout)",
     "FILE"},
    {"truth", 't', 0, G_OPTION_ARG_FILENAME, &opt_truth,
     "Write the ground truth (JSON lines) to FILE", "FILE"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Seed of loss, reordering, ISNs (default 1)",
     "N"},
    {"base-time", 0, 0, G_OPTION_ARG_DOUBLE, &opt_base,
     "Epoch seconds that relative start times count from (default 1700000000)", "SEC"},
    {"capture-point", 0, 0, G_OPTION_ARG_DOUBLE, &opt_cp,
     "Where the capture is taken on the path: 0 client, 1 server (default 0.5, midway)", "F"},
    {"link-mbps", 0, 0, G_OPTION_ARG_DOUBLE, &opt_mbps,
     "Link rate that spaces back-to-back segments (default 1000)", "MBPS"},
    {"mss", 0, 0, G_OPTION_ARG_INT, &opt_mss,
     "Default MSS of rows without one (default 1460 IPv4, 1440 IPv6)", "N"},
    {"window", 0, 0, G_OPTION_ARG_INT, &opt_window,
     "Receive window in bytes; limits the data in flight (default 262144)", "BYTES"},
    {"scenario", 's', 0, G_OPTION_ARG_STRING, &opt_scenario,
     "Add hostile traffic NAME (--list-scenarios)", "NAME"},
    {"synflood", 0, 0, G_OPTION_ARG_INT64, &opt_synflood,
     "Shorthand for --scenario synflood --count N", "N"},
    {"target", 0, 0, G_OPTION_ARG_STRING, &opt_target,
     "Scenario: server ip:port (default 192.0.2.80:80)", "IP:PORT"},
    {"source", 0, 0, G_OPTION_ARG_STRING, &opt_source,
     "Scenario: first client address, and with :PORT a fixed client port (default 10.0.0.1 / 2001:db8:a::1)", "IP[:PORT]"},
    {"count", 'n', 0, G_OPTION_ARG_INT64, &opt_count, "Scenario: connections", "N"},
    {"rate", 0, 0, G_OPTION_ARG_DOUBLE, &opt_rate, "Scenario: connections per second", "R"},
    {"start", 0, 0, G_OPTION_ARG_DOUBLE, &opt_start,
     "Scenario: start time (relative seconds, or epoch)", "SEC"},
    {"requests", 0, 0, G_OPTION_ARG_INT, &opt_requests, "Scenario: requests per connection", "N"},
    {"size", 0, 0, G_OPTION_ARG_INT, &opt_size, "Scenario: header/body size in bytes", "N"},
    {"rtt", 0, 0, G_OPTION_ARG_DOUBLE, &opt_rtt, "Scenario: round-trip time (default 0.01)", "SEC"},
    {"list-scenarios", 0, 0, G_OPTION_ARG_NONE, &opt_list, "Describe the scenarios and exit",
     NULL},
    {"stats", 0, 0, G_OPTION_ARG_NONE, &opt_stats,
     "Print packets, connections, time and rate to stderr", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};

static const char description[] =
    "A SPEC is a CSV file (header line naming the columns, '#' comments; '-' = stdin):\n"
    "  start,client,server (required), duration, protocol (http|https|tcp), requests,\n"
    "  req_size, resp_size, chunked, think, rtt, loss, reorder, pkts, bytes, count, every,\n"
    "  pipeline, method, path, host, sni, status, close (fin|sfin|rst|srst|none), mss,\n"
    "  hdr_pad, handshake (full|noack|noanswer), syn_retries, noresp\n"
    "Times are seconds. See doc/connscope-gen.md for every column.\n\n"
    "Examples:\n"
    "  connscope-gen -o out.pcap --truth out.truth spec.csv\n"
    "  connscope-gen -o flood.pcap --synflood 10000 --target 192.0.2.80:80\n"
    "  connscope-gen -o - --scenario overlap | connscope --json -\n\n"
    "Exit status: 0 ok; 1 a write failed; 2 usage or spec error.";

typedef struct pool {
    gen_flow *flows;
    uint32_t *free;
    uint32_t len, cap, nfree, live, peak;
} pool;

static uint32_t pool_get(pool *p)
{
    uint32_t id;
    if (p->nfree > 0) {
        id = p->free[--p->nfree];
    } else {
        if (p->len == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 1024;
            p->flows = g_renew(gen_flow, p->flows, p->cap);
            p->free = g_renew(uint32_t, p->free, p->cap);
        }
        id = p->len++;
    }
    if (++p->live > p->peak)
        p->peak = p->live;
    return id;
}

static void pool_put(pool *p, uint32_t id)
{
    p->free[p->nfree++] = id;
    p->live--;
}

/* Heap time of absolute time t (microseconds after base). */
static uint64_t next_key_time(gen_us t, gen_us base)
{
    uint64_t v = (uint64_t)(t - base);
    if (v > GEN_HEAP_T_MAX) {
        fprintf(stderr, "connscope-gen: the capture would span more than %.0f days\n",
                GEN_HEAP_T_MAX / 86400e6);
        exit(2);
    }
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(GOptionContext *ctx, const char *msg)
{
    fprintf(stderr, "connscope-gen: %s\n", msg);
    (void)ctx;
    fprintf(stderr, "Try 'connscope-gen --help'.\n");
    return 2;
}

/* Checks the numeric options and maps them into cfg. Returns 0, or the exit status after saying
 * what is wrong. */
static int options_to_cfg(GOptionContext *octx, gen_cfg *cfg)
{
    if (!(opt_cp >= 0 && opt_cp <= 1) || !(opt_mbps > 0) || opt_window < 1024 ||
        opt_window > (65535 << 7) || (opt_mss != 0 && (opt_mss < 64 || opt_mss > 9000)))
        return usage(octx, "--capture-point 0..1, --link-mbps > 0, --window 1024..8388480, "
                           "--mss 64..9000");
    gen_cfg_default(cfg);
    cfg->base_time = llround(opt_base * 1e6);
    cfg->capture_point = opt_cp;
    cfg->link_mbps = opt_mbps;
    cfg->window = (uint32_t)opt_window & ~127u;
    cfg->seed = (uint64_t)opt_seed;
    if (opt_mss != 0)
        cfg->mss4 = cfg->mss6 = (uint16_t)opt_mss;
    return 0;
}

/* Reads the spec files of argv[1..argc) and adds the scenario, if any. Returns 0, or the exit
 * status after saying what is wrong. */
static int read_specs(GOptionContext *octx, int argc, char **argv, const gen_cfg *cfg,
                      gen_spec *spec)
{
    char *err = NULL;
    for (int i = 1; i < argc; i++) {
        bool is_stdin = strcmp(argv[i], "-") == 0;
        FILE *fp = is_stdin ? stdin : fopen(argv[i], "r");
        if (fp == NULL) {
            fprintf(stderr, "connscope-gen: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        bool ok = gen_spec_read(spec, fp, argv[i], cfg, &err);
        if (!is_stdin)
            fclose(fp);
        if (!ok) {
            fprintf(stderr, "connscope-gen: %s\n", err);
            return 2;
        }
    }
    if (opt_synflood > 0 && opt_scenario != NULL)
        return usage(octx, "--synflood N is short for --scenario synflood --count N: give one of them");
    if (opt_synflood > 0 && opt_scenario == NULL) {
        opt_scenario = g_strdup("synflood");
        opt_count = opt_synflood;
    }
    if (opt_scenario != NULL) {
        gen_scenario_opts so = {.count = (uint64_t)opt_count,
                                .rate = opt_rate,
                                .start = opt_start,
                                .target = opt_target,
                                .source = opt_source,
                                .requests = (uint32_t)opt_requests,
                                .size = (uint32_t)opt_size,
                                .rtt = opt_rtt};
        if (!gen_scenario_add(spec, opt_scenario, &so, cfg, &err)) {
            fprintf(stderr, "connscope-gen: %s\n", err);
            return 2;
        }
    }
    if (spec->len == 0)
        return usage(octx, "nothing to generate: give a SPEC file or --scenario");
    return 0;
}

/* The generation loop: a heap of (time, id) holds each row's next connection start (ids above
 * max_slots) and each live connection's next packet; the earliest is written next. Returns 0, or
 * 2 after saying what is wrong. */
static int generate(gen_spec *spec, gen_ctx *ctx, gen_out *out, pool *flows, uint32_t *serial)
{
    gen_heap heap = {0};
    gen_us base = INT64_MAX;
    for (uint32_t i = 0; i < spec->len; i++)
        if (spec->rows[i].start < base)
            base = spec->rows[i].start;
    if (spec->len >= GEN_HEAP_ID_MAX / 2) {
        fprintf(stderr, "connscope-gen: too many spec rows\n");
        return 2;
    }
    uint32_t max_slots = GEN_HEAP_ID_MAX - spec->len;
    for (uint32_t i = 0; i < spec->len; i++)
        if (spec->rows[i].count > 0)
            gen_heap_push(&heap,
                          gen_heap_key((uint64_t)(spec->rows[i].start - base), max_slots + 1 + i));
    int rc = 0;
    while (heap.len > 0 && rc == 0) {
        uint64_t key = gen_heap_top(&heap);
        uint32_t hid = gen_heap_key_id(key);
        gen_us now = base + (gen_us)gen_heap_key_t(key);
        if (hid > max_slots) { /* a row starts its next connection */
            gen_row *row = &spec->rows[hid - max_slots - 1];
            uint32_t id = pool_get(flows);
            if (id >= max_slots) {
                fprintf(stderr, "connscope-gen: more than %u connections at once\n", max_slots);
                rc = 2;
                break;
            }
            gen_flow *f = &flows->flows[id];
            gen_flow_init(f, row, ctx, (*serial)++, now);
            row->spawned++;
            if (row->spawned < row->count) {
                gen_us next = row->start + (gen_us)row->spawned * row->every;
                gen_heap_replace_top(&heap, gen_heap_key(next_key_time(next, base), hid));
            } else {
                gen_heap_pop(&heap);
            }
            gen_us t = gen_flow_peek(f, ctx);
            if (t >= 0) {
                gen_heap_push(&heap, gen_heap_key(next_key_time(t, base), id));
            } else {
                gen_flow_end(f, ctx);
                pool_put(flows, id);
            }
            continue;
        }
        gen_flow *f = &flows->flows[hid];
        uint64_t next = gen_heap_second(&heap); /* likely the next connection: fetch it now */
        if (next != UINT64_MAX && gen_heap_key_id(next) < flows->len)
            __builtin_prefetch(&flows->flows[gen_heap_key_id(next)]);
        uint8_t *frame = gen_out_reserve(out, GEN_MAX_HDR + f->row->mss);
        uint32_t len = gen_flow_emit(f, ctx, frame);
        gen_out_commit(out, now, len);
        gen_us t = gen_flow_peek(f, ctx);
        if (t >= 0) {
            gen_heap_replace_top(&heap, gen_heap_key(next_key_time(t, base), hid));
        } else {
            gen_heap_pop(&heap);
            gen_flow_end(f, ctx);
            pool_put(flows, hid);
        }
    }
    gen_heap_free(&heap);
    return rc;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    GError *gerr = NULL;
    GOptionContext *octx = g_option_context_new("[SPEC.csv...]");
    g_option_context_set_summary(octx, "Writes a pcap of synthetic TCP, HTTP/1.1 and TLS "
                                       "connections described by flow specs and scenarios,\n"
                                       "in time order, with its ground truth.");
    g_option_context_set_description(octx, description);
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
        int rc = usage(octx, gerr->message);
        g_error_free(gerr);
        return rc;
    }
    setlocale(LC_NUMERIC, "C"); /* the spec's decimal point */
    if (opt_list) {
        for (int i = 0; gen_scenario_names[i] != NULL; i++)
            printf("%-15s %s\n", gen_scenario_names[i], gen_scenario_help[i]);
        return 0;
    }
    if (opt_output == NULL)
        return usage(octx, "-o FILE is required ('-' for stdout)");
    gen_cfg cfg;
    gen_spec spec = {0};
    int rc = options_to_cfg(octx, &cfg);
    if (rc == 0)
        rc = read_specs(octx, argc, argv, &cfg, &spec);
    if (rc != 0)
        return rc;

    FILE *out_fp = strcmp(opt_output, "-") == 0 ? stdout : fopen(opt_output, "wb");
    if (out_fp == NULL) {
        fprintf(stderr, "connscope-gen: %s: %s\n", opt_output, strerror(errno));
        return 2;
    }
    FILE *truth_fp = NULL;
    gen_truth *truth = NULL; /* the ground-truth writer: the flows' observer */
    gen_ctx ctx = {.cfg = &cfg};
    if (opt_truth != NULL) {
        truth_fp = fopen(opt_truth, "w");
        if (truth_fp == NULL) {
            fprintf(stderr, "connscope-gen: %s: %s\n", opt_truth, strerror(errno));
            return 2;
        }
        truth = gen_truth_new(truth_fp);
        ctx.obs = gen_truth_observer(truth);
    }

    double t0 = now_s();
    gen_out out;
    gen_out_open(&out, out_fp);
    pool flows = {0};
    uint32_t serial = 0;
    if (generate(&spec, &ctx, &out, &flows, &serial) != 0)
        return 2;
    if (!gen_out_close(&out)) {
        fprintf(stderr, "connscope-gen: %s: write error\n", opt_output);
        rc = 1;
    }
    if (out_fp != stdout && fclose(out_fp) != 0)
        rc = 1;
    if (truth != NULL) {
        if (!gen_truth_finish(truth, &out, flows.peak) || fclose(truth_fp) != 0) {
            fprintf(stderr, "connscope-gen: %s: write error\n", opt_truth);
            rc = 1;
        }
    }
    if (opt_stats) {
        double el = now_s() - t0;
        fprintf(stderr,
                "connscope-gen: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
                " bytes, %u connections (peak %u concurrent, %zu bytes of state each) in %.2f s: "
                "%.2f Mpackets/s\n",
                out.packets, out.bytes, serial, flows.peak, sizeof(gen_flow) + sizeof(uint64_t),
                el, el > 0 ? out.packets / el / 1e6 : 0.0);
    }
    g_free(flows.flows);
    g_free(flows.free);
    gen_spec_free(&spec);
    g_option_context_free(octx);
    return rc;
}
