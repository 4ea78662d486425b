/* fuzz_pipeline.c - libFuzzer target: the whole analysis (capture reader, decode, flow table,
 * reassembly, HTTP, stats, JSON report) on an arbitrary byte blob read as a pcap/pcapng file.
 *
 * The input is written to a memfd and opened through /proc/self/fd/N with cs_source_open_files(),
 * exactly as main.c opens a file; every packet goes to a cs_engine whose JSON report is written to
 * a memory stream; then the run is finished and everything freed (LeakSanitizer checks each input).
 * Every line a JSON report wrote must be one valid JSON object (fuzz/json_check.h).
 *
 * The input is a capture file as is (so seeds are plain captures). The report writer is picked
 * from (length / 4) modulo 4: 0, 1 JSON (every line validated), 2 text with the per-connection and
 * per-exchange tables (no control characters but LF), 3 CSV (no NUL bytes). The engine configuration is picked from the input
 * length modulo 4, so each seed is run with one of:
 *   0  the program's defaults
 *   1  tight limits: 4 connections, 4 tombstones, 1000 out-of-order bytes, 2 pending requests,
 *      small HTTP lines/headers/fields, 1 s idle timeout, no close linger
 *   2  --interval 1, --http-decode, --http-port 80,8080,443,1, --verify-checksums
 *   3  --no-http, a 2 s interval, 60 s idle timeout
 * Set FUZZ_PIPELINE_DUMP=1 to print the report to stderr (for reproducing). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "defrag.h"
#include "engine.h"
#include "json_check.h"
#include "source.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pipeline: invariant failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int memfd = -1;
static char path[64];
static bool dump;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memfd = memfd_create("fuzz_pipeline", 0);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    dump = getenv("FUZZ_PIPELINE_DUMP") != NULL;
    return 0;
}

static void check_report(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    CHECK(len == 0 || buf[len - 1] == '\n');
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        CHECK(nl != NULL);
        if (!json_check_object(p, (size_t)(nl - p))) {
            fprintf(stderr, "fuzz_pipeline: invalid JSON line: %.*s\n", (int)(nl - p), p);
            abort();
        }
        p = nl + 1;
    }
}

/* The text report goes to a terminal: bytes from the capture must not reach it as control
 * characters (ESC sequences could rewrite the screen). Only LF and printable bytes are allowed. */
static void check_text(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch < 0x20 && ch != '\n') {
            size_t from = i > 60 ? i - 60 : 0;
            fprintf(stderr, "fuzz_pipeline: control byte 0x%02x in the text report at %zu: %.*s\n",
                    ch, i, (int)(i - from), buf + from);
            abort();
        }
    }
}

/* Capture time between the first packet and the latest one of the input file (0 if unreadable). */
static cs_time_t time_span(void)
{
    char *paths[1] = {path};
    cs_source *src = cs_source_open_files(paths, 1, NULL, NULL);
    if (src == NULL)
        return 0;
    cs_raw raw;
    cs_time_t first = 0, last = 0;
    bool any = false;
    while (cs_source_next(src, &raw) == 1) {
        if (!any)
            first = last = raw.ts;
        any = true;
        if (raw.ts > last)
            last = raw.ts;
    }
    cs_source_free(src);
    uint64_t span = (uint64_t)last - (uint64_t)first; /* (no signed overflow on wild times) */
    return span > (uint64_t)INT64_MAX ? INT64_MAX : (cs_time_t)span;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20))
        return 0;
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);

    char *paths[1] = {path};
    GError *err = NULL;
    cs_source *src = cs_source_open_files(paths, 1, NULL, &err);
    if (src == NULL) {
        CHECK(err != NULL && err->message != NULL);
        g_error_free(err);
        return 0;
    }
    CHECK(err == NULL);

    char *rbuf = NULL;
    size_t rlen = 0;
    FILE *out = open_memstream(&rbuf, &rlen);
    CHECK(out != NULL);
    /* the writer: JSON (checked line by line) for two inputs in four, else text or CSV */
    int writer = (int)((size / 4) % 4);
    cs_report *report = writer == 2   ? cs_report_text_new(out, true, true)
                        : writer == 3 ? cs_report_csv_new(out, true)
                                      : cs_report_json_new(out);
    report->by_ip = size % 3 == 0; /* the per-IP table and records too */

    static const uint16_t http_ports[] = {80, 8080, 443, 1};
    cs_engine_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cs_flow_cfg_default(&cfg.flow);
    cfg.flow.max_conns = 1000000;
    cfg.flow.max_tombstones = 4096; /* (262144 by default: 16 MiB zeroed per run is too slow) */
    cs_http_cfg_default(&cfg.app.http);
    cfg.max_frag_datagrams = CS_DEFRAG_MAX_DATAGRAMS;
    switch (size % 4) {
    case 1:
        cfg.max_frag_datagrams = 2;
        cfg.flow.max_conns = 4;
        cfg.flow.max_tombstones = 4;
        cfg.flow.max_ooo_bytes = 1000;
        cfg.flow.idle_timeout = CS_NS_PER_S;
        cfg.flow.close_linger = 0;
        cfg.app.http.max_pending = 2;
        cfg.app.http.max_line = 64;
        cfg.app.http.max_header_bytes = 256;
        cfg.app.http.max_field = 16;
        break;
    case 2:
        cfg.interval = CS_NS_PER_S;
        cfg.app.http.decode_bodies = true;
        cfg.app.http_ports = http_ports;
        cfg.app.n_http_ports = (int)(sizeof http_ports / sizeof http_ports[0]);
        cfg.flow.verify_checksums = true;
        break;
    case 3:
        cfg.app.no_http = true;
        cfg.interval = 2 * CS_NS_PER_S;
        cfg.flow.idle_timeout = 60 * CS_NS_PER_S;
        break;
    default:
        break;
    }
    /* With --interval, every interval between the first and the last packet is reported, empty
     * ones too (doc/design.md): one packet dated years later makes millions of report lines. That
     * is how connscope behaves (see fuzz/README.md); here the interval is widened to keep the
     * number of intervals per input below ~2000, so that runs stay fast. */
    if (cfg.interval > 0) {
        cs_time_t span = time_span();
        if (span / cfg.interval > 2000)
            cfg.interval = span / 2000 + 1;
    }
    cs_engine *e = cs_engine_new(&cfg, report);

    cs_raw raw;
    int rc;
    uint64_t n = 0;
    while ((rc = cs_source_next(src, &raw)) == 1) {
        CHECK(raw.caplen == 0 || raw.data != NULL);
        cs_engine_packet(e, &raw);
        n++;
    }
    CHECK(rc == 0);

    cs_run_info info = {.src = src, .version = "fuzz"};
    cs_counters *ctr = cs_engine_counters(e);
    CHECK(ctr->packets == n);
    for (int i = 0; i < cs_source_count(src); i++) {
        const cs_input *in = cs_source_input(src, i);
        if (in->state == CS_INPUT_TRUNCATED)
            ctr->anomalies[CS_ANOM_FILE_TRUNCATED]++;
        else if (in->state == CS_INPUT_ERROR)
            ctr->anomalies[CS_ANOM_FILE_READ_ERROR]++;
    }
    cs_engine_finish(e, &info);
    fflush(out);
    report->destroy(report);
    cs_engine_free(e);
    cs_source_free(src);
    fclose(out);

    if (dump)
        fwrite(rbuf, 1, rlen, stderr);
    if (writer < 2)
        check_report(rbuf, rlen);
    else if (writer == 2)
        check_text(rbuf, rlen);
    else
        CHECK(rlen == 0 || memchr(rbuf, '\0', rlen) == NULL); /* CSV: no NUL bytes written */
    free(rbuf);
    return 0;
}
