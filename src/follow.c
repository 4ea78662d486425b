/* follow.c - `connscope follow STREAM FILE...`: prints the reassembled payload of one TCP stream,
 * both directions in delivery order, with direction/time markers and gap markers (like tshark -z follow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defrag.h"
#include "flow.h"
#include "follow.h"
#include "source.h"
#include "util.h"

typedef enum { FMT_ASCII, FMT_HEX, FMT_RAW } fmt;

typedef struct follow {
    uint64_t stream;
    fmt format;
    int side;          /* -1 both, 0 client, 1 server */
    int last_dir;      /* endpoint whose chunk was printed last, -1 none */
    uint64_t offset[2];
    bool found;      /* the stream carried payload */
    bool exists;     /* the stream exists at all */
    FILE *out;
} follow;

static bool wanted(const follow *f, const cs_conn *c, int dir)
{
    if (c->stream != f->stream)
        return false;
    if (f->side < 0)
        return true;
    return (f->side == 0) == (dir == c->client);
}

static void header(follow *f, const cs_conn *c, int dir, const char *what, uint32_t len,
                   cs_time_t ts)
{
    char t[40], from[64], to[64];
    bool client = dir == c->client;
    fprintf(f->out, "%s %s %s %s -> %s, %u bytes%s\n", client ? ">>>" : "<<<",
            cs_fmt_time(ts, t, sizeof t), client ? "client" : "server",
            cs_endpoint_str(&c->addr[dir], c->family, c->port[dir], from, sizeof from),
            cs_endpoint_str(&c->addr[!dir], c->family, c->port[!dir], to, sizeof to), len, what);
}

static void print_ascii(FILE *out, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f))
            fputc(ch, out);
        else if (ch != '\r')
            fputc('.', out);
    }
    if (len > 0 && p[len - 1] != '\n')
        fputc('\n', out);
}

static void print_hex(FILE *out, const uint8_t *p, uint32_t len, uint64_t base)
{
    for (uint32_t i = 0; i < len; i += 16) {
        fprintf(out, "%08" G_GINT64_MODIFIER "x  ", (guint64)(base + i));
        for (uint32_t k = 0; k < 16; k++) {
            if (i + k < len)
                fprintf(out, "%02x ", p[i + k]);
            else
                fputs("   ", out);
            if (k == 7)
                fputc(' ', out);
        }
        fputs(" |", out);
        for (uint32_t k = 0; k < 16 && i + k < len; k++)
            fputc(p[i + k] >= 0x20 && p[i + k] < 0x7f ? p[i + k] : '.', out);
        fputs("|\n", out);
    }
}

static void on_data(void *ctx, cs_conn *c, int dir, const uint8_t *p, uint32_t len, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir))
        return;
    f->found = true;
    if (f->format == FMT_RAW) {
        fwrite(p, 1, len, f->out);
        return;
    }
    header(f, c, dir, "", len, ts);
    if (f->format == FMT_HEX)
        print_hex(f->out, p, len, f->offset[dir]);
    else
        print_ascii(f->out, p, len);
    f->offset[dir] += len;
    f->last_dir = dir;
}

static void on_new(void *ctx, cs_conn *c)
{
    follow *f = ctx;
    if (c->stream == f->stream)
        f->exists = true;
}

static void on_gap(void *ctx, cs_conn *c, int dir, uint32_t len, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir) || f->format == FMT_RAW)
        return;
    char t[40];
    fprintf(f->out, "=== %s gap: %u bytes missing from the %s at stream offset %" G_GUINT64_FORMAT
                    " ===\n",
            cs_fmt_time(ts, t, sizeof t), len, dir == c->client ? "client" : "server",
            f->offset[dir]);
    f->offset[dir] += len;
}

static void on_end(void *ctx, cs_conn *c, int dir, cs_time_t ts)
{
    follow *f = ctx;
    if (!wanted(f, c, dir) || f->format == FMT_RAW)
        return;
    char t[40];
    fprintf(f->out, "=== %s %s finished (%" G_GUINT64_FORMAT " bytes) ===\n",
            cs_fmt_time(ts, t, sizeof t), dir == c->client ? "client" : "server", f->offset[dir]);
}

int cs_follow_main(int argc, char **argv)
{
    gchar *format = NULL, *side = NULL, *filter = NULL;
    gchar **rest = NULL;
    GOptionEntry entries[] = {
        {"format", 0, 0, G_OPTION_ARG_STRING, &format,
         "ascii (default), hex, or raw (bytes only, no markers)", "FMT"},
        {"side", 0, 0, G_OPTION_ARG_STRING, &side, "client, server or both (default)", "SIDE"},
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &filter, "BPF filter applied to every input",
         "BPF"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    g_set_prgname("connscope follow");
    GOptionContext *octx = g_option_context_new("STREAM FILE... - print one TCP stream's payload");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_option_context_set_summary(
        octx, "Prints the reassembled bytes of the TCP stream with index STREAM (Wireshark's\n"
              "tcp.stream) in delivery order, marking direction, time, gaps and ends.");
    GError *err = NULL;
    int rc = 2;
    follow f;
    memset(&f, 0, sizeof f);
    f.side = -1;
    f.last_dir = -1;
    f.out = stdout;
    if (!g_option_context_parse(octx, &argc, &argv, &err)) {
        fprintf(stderr, "connscope follow: %s\n", err->message);
        g_error_free(err);
        goto out;
    }
    if (rest == NULL || rest[0] == NULL || rest[1] == NULL) {
        fprintf(stderr, "connscope follow: usage: connscope follow STREAM FILE...\n");
        goto out;
    }
    char *end;
    f.stream = g_ascii_strtoull(rest[0], &end, 10);
    if (*rest[0] == '\0' || *end != '\0') {
        fprintf(stderr, "connscope follow: '%s' is not a stream index\n", rest[0]);
        goto out;
    }
    if (format == NULL || strcmp(format, "ascii") == 0)
        f.format = FMT_ASCII;
    else if (strcmp(format, "hex") == 0)
        f.format = FMT_HEX;
    else if (strcmp(format, "raw") == 0)
        f.format = FMT_RAW;
    else {
        fprintf(stderr, "connscope follow: --format takes ascii, hex or raw\n");
        goto out;
    }
    if (side != NULL && strcmp(side, "client") == 0)
        f.side = 0;
    else if (side != NULL && strcmp(side, "server") == 0)
        f.side = 1;
    else if (side != NULL && strcmp(side, "both") != 0) {
        fprintf(stderr, "connscope follow: --side takes client, server or both\n");
        goto out;
    }
    cs_source *src = cs_source_open_files(rest + 1, (int)g_strv_length(rest + 1), filter, &err);
    if (src == NULL) {
        fprintf(stderr, "connscope: %s\n", err->message);
        g_error_free(err);
        goto out;
    }
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    cs_flow_cfg cfg;
    cs_flow_cfg_default(&cfg);
    cs_flow_hooks hooks = {.ctx = &f,
                           .conn_new = on_new,
                           .stream_data = on_data,
                           .stream_gap = on_gap,
                           .stream_end = on_end};
    cs_defrag *defrag = cs_defrag_new(64u << 20, 60 * CS_NS_PER_S);
    cs_flow_table *ft = cs_flow_new(&cfg, &hooks, &ctr);
    cs_raw raw;
    cs_pkt pkt;
    uint64_t frame = 0;
    int r;
    while ((r = cs_source_next(src, &raw)) != 0) {
        if (r < 0)
            continue;
        frame++;
        if (cs_decode_ex(&raw, &pkt, &ctr, defrag) != CS_DEC_TCP)
            continue;
        pkt.frame = frame;
        int dir;
        cs_flow_packet(ft, &pkt, &dir);
    }
    cs_flow_flush(ft);
    rc = 0;
    for (int i = 0; i < cs_source_count(src); i++)
        if (cs_source_input(src, i)->message != NULL) {
            fprintf(stderr, "connscope: %s\n", cs_source_input(src, i)->message);
            rc = 1;
        }
    if (!f.exists) {
        fprintf(stderr, "connscope follow: no TCP stream %" G_GUINT64_FORMAT " in the input\n",
                f.stream);
        if (rc == 0)
            rc = 1;
    } else if (!f.found && f.format != FMT_RAW) {
        fprintf(stderr, "connscope follow: stream %" G_GUINT64_FORMAT " carries no payload\n",
                f.stream);
    }
    cs_flow_free(ft);
    cs_defrag_free(defrag);
    cs_source_free(src);
out:
    fflush(stdout);
    g_option_context_free(octx);
    g_free(format);
    g_free(side);
    g_free(filter);
    g_strfreev(rest);
    return rc;
}
