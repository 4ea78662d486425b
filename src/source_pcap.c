/* source_pcap.c - reads capture files (pcap, pcapng, stdin; gzip/zstd-compressed) and live interfaces
 * through libpcap (pcapng with mixed link types through source_pcapng.c); files are merged by timestamp. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>

#include "source.h"
#include "source_pcapng.h"
#include "source_pipe.h"
#include "source_stream.h"

#define HEAD_PEEK (64u << 10) /* first bytes looked at: a pcapng's interface blocks come first */

typedef struct input_rt {
    pcap_t *pcap;  /* libpcap reading st.fp (pcap_close closes it), or NULL */
    cs_pcapng *ng; /* the own reader for a pcapng with several link types, or NULL */
    cs_stream st;  /* the (decompressed) bytes of the file, while `open` */
    bool open;
    uint64_t done_at_close;  /* bytes consumed when the input ended */
    struct pcap_pkthdr *hdr; /* pending packet (valid until the next read on this handle) */
    struct pcap_pkthdr own_hdr; /* the own reader's pending packet, in libpcap's shape */
    const u_char *data;
    cs_time_t ts;
    int dlt;       /* link type of the pending packet */
    GArray *progs; /* own reader with a filter: bpf_prog_dlt per link type met */
} input_rt;

/* A BPF program compiled for one link type (the own pcapng reader filters per packet). */
typedef struct bpf_prog_dlt {
    int dlt;
    bool ok;
    struct bpf_program prog;
} bpf_prog_dlt;

struct cs_source {
    int n;
    cs_input *inputs;
    input_rt *rt;
    int *heap;      /* indices of inputs with a pending packet, min-heap on (ts, index) */
    int heap_len;
    int advance;    /* input whose pending packet was handed out last, -1 if none */
    bool live;
    bool nano;      /* timestamps in nanoseconds (else microseconds) */
    pcap_dumper_t *dump;   /* -w: copy of every packet handed out */
    pcap_t *dump_tmpl;     /* dead handle describing the output (link type, snaplen, precision) */
    char *dump_path;
    uint64_t dump_rotate_bytes;
    uint32_t dump_rotate_secs;
    uint32_t dump_index;   /* number of the file being written (0: path itself) */
    cs_time_t dump_opened; /* capture time of the first packet in the current file */
    int dump_errno;        /* the first write error (0: none): writing stopped there */
    char *dump_failed;     /* ... and the file it happened in */
    volatile sig_atomic_t stop;
    int timeout_ms;         /* live: longest wait in cs_source_next() */
    char *bpf;              /* the filter, for the own pcapng reader's per-link-type programs */
    cs_pipe *pipe;          /* cs_source_start_reader: a reader thread fills it, or NULL */
    cs_input *shadow;       /* ... and what cs_source_input() shows while it runs */
};

const char *cs_dlt_describe(int dlt, char *buf, size_t len)
{
    const char *name = pcap_datalink_val_to_name(dlt);
    const char *desc = pcap_datalink_val_to_description(dlt);
    if (name != NULL && desc != NULL)
        snprintf(buf, len, "%d (%s: %s)", dlt, name, desc);
    else if (dlt >= 147 && dlt <= 162) /* LINKTYPE_USER0..15: private, no libpcap name */
        snprintf(buf, len, "%d (LINKTYPE_USER%d: private use)", dlt, dlt - 147);
    else
        snprintf(buf, len, "%d (not known to libpcap)", dlt);
    return buf;
}

bool cs_bpf_compiles(const char *expr)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    bool ok = p != NULL && pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (ok)
        pcap_freecode(&prog);
    if (p != NULL)
        pcap_close(p);
    return ok;
}

static bool heap_less(const cs_source *s, int a, int b)
{
    if (s->rt[a].ts != s->rt[b].ts)
        return s->rt[a].ts < s->rt[b].ts;
    return a < b;
}

static void heap_push(cs_source *s, int idx)
{
    int i = s->heap_len++;
    s->heap[i] = idx;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!heap_less(s, s->heap[i], s->heap[parent]))
            break;
        int t = s->heap[i];
        s->heap[i] = s->heap[parent];
        s->heap[parent] = t;
        i = parent;
    }
}

G_ALWAYS_INLINE static inline int heap_pop(cs_source *s)
{
    int top = s->heap[0];
    s->heap[0] = s->heap[--s->heap_len];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->heap_len && heap_less(s, s->heap[l], s->heap[m]))
            m = l;
        if (r < s->heap_len && heap_less(s, s->heap[r], s->heap[m]))
            m = r;
        if (m == i)
            break;
        int t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

/* Closes whatever reads input i (at its end, or when the source is freed). */
static void input_close(input_rt *rt)
{
    if (rt->open)
        rt->done_at_close = rt->st.size;
    if (rt->pcap != NULL) {
        pcap_close(rt->pcap); /* closes st.fp */
        rt->pcap = NULL;
        cs_stream_close(&rt->st, true);
    } else if (rt->open) {
        cs_pcapng_free(rt->ng);
        rt->ng = NULL;
        cs_stream_close(&rt->st, false);
    }
    rt->open = false;
    if (rt->progs != NULL) {
        for (guint k = 0; k < rt->progs->len; k++) {
            bpf_prog_dlt *bp = &g_array_index(rt->progs, bpf_prog_dlt, k);
            if (bp->ok)
                pcap_freecode(&bp->prog);
        }
        g_array_free(rt->progs, TRUE);
        rt->progs = NULL;
    }
}

/* Records why input i ended early: `truncated` (the file ends inside a packet or a compressed
 * frame) or a read/format error, with the reader's words. */
static void input_failed(cs_input *in, bool truncated, const char *why)
{
    if (truncated) {
        in->state = CS_INPUT_TRUNCATED;
        in->message = g_strdup_printf("%s: file ends in the middle of a packet after %" PRIu64
                                      " complete packets (%s)",
                                      in->path, in->packets, why);
    } else {
        in->state = CS_INPUT_ERROR;
        in->message = g_strdup_printf("%s: read error after %" PRIu64 " packets: %s", in->path,
                                      in->packets, why);
    }
}

/* Does the own reader's packet pass the filter? Compiles the filter for a link type the first
 * time it is met (a link type it cannot be compiled for drops its packets: counted nowhere,
 * as libpcap would have refused the file). */
static bool own_filter_pass(cs_source *s, input_rt *rt, const struct pcap_pkthdr *h,
                            const u_char *data, int dlt)
{
    if (s->bpf == NULL)
        return true;
    if (rt->progs == NULL)
        rt->progs = g_array_new(FALSE, TRUE, sizeof(bpf_prog_dlt));
    bpf_prog_dlt *bp = NULL;
    for (guint k = 0; k < rt->progs->len && bp == NULL; k++)
        if (g_array_index(rt->progs, bpf_prog_dlt, k).dlt == dlt)
            bp = &g_array_index(rt->progs, bpf_prog_dlt, k);
    if (bp == NULL) {
        bpf_prog_dlt n = {.dlt = dlt};
        pcap_t *dead = pcap_open_dead(dlt, 262144);
        n.ok = dead != NULL && pcap_compile(dead, &n.prog, s->bpf, 1, PCAP_NETMASK_UNKNOWN) == 0;
        if (dead != NULL)
            pcap_close(dead);
        g_array_append_val(rt->progs, n);
        bp = &g_array_index(rt->progs, bpf_prog_dlt, rt->progs->len - 1);
    }
    return bp->ok && pcap_offline_filter(&bp->prog, h, data) != 0;
}

/* The own pcapng reader's next packet (filtered) into input i's pending slot. */
static int own_next(cs_source *s, int i)
{
    input_rt *rt = &s->rt[i];
    for (;;) {
        cs_pcapng_pkt pk;
        int rc = cs_pcapng_next(rt->ng, &pk);
        if (rc != 1)
            return rc;
        rt->own_hdr.caplen = pk.caplen;
        rt->own_hdr.len = pk.wirelen;
        rt->own_hdr.ts.tv_sec = (time_t)(pk.ts / CS_NS_PER_S);
        rt->own_hdr.ts.tv_usec = (suseconds_t)(pk.ts % CS_NS_PER_S); /* nanoseconds, as libpcap's */
        if (!own_filter_pass(s, rt, &rt->own_hdr, pk.data, pk.dlt))
            continue;
        rt->hdr = &rt->own_hdr;
        rt->data = pk.data;
        rt->dlt = pk.dlt;
        rt->ts = pk.ts;
        return 1;
    }
}

/* Reads the next packet of input i into its pending slot. Returns true when there is one. */
static bool input_fill(cs_source *s, int i)
{
    input_rt *rt = &s->rt[i];
    cs_input *in = &s->inputs[i];
    if (rt->ng != NULL) {
        int rc = own_next(s, i);
        if (rc == 1) {
            in->packets++;
            return true;
        }
        const char *zerr = cs_stream_error(&rt->st);
        if (zerr != NULL)
            input_failed(in, strstr(zerr, " ends ") != NULL, zerr);
        else if (rc < 0)
            input_failed(in, rc == -2, cs_pcapng_error(rt->ng));
        input_close(rt);
        return false;
    }
    if (rt->pcap == NULL)
        return false;
    int rc = pcap_next_ex(rt->pcap, &rt->hdr, &rt->data);
    if (rc == 1) {
        in->packets++;
        /* int64 nanoseconds reach the year 2262: later (damaged) timestamps saturate */
        int64_t sec = (int64_t)rt->hdr->ts.tv_sec;
        if (sec > INT64_MAX / CS_NS_PER_S - 1)
            sec = INT64_MAX / CS_NS_PER_S - 1;
        else if (sec < -(INT64_MAX / CS_NS_PER_S - 1))
            sec = -(INT64_MAX / CS_NS_PER_S - 1);
        rt->ts = (cs_time_t)sec * CS_NS_PER_S +
                 (cs_time_t)rt->hdr->ts.tv_usec * (s->nano ? 1 : CS_NS_PER_US);
        rt->dlt = in->dlt;
        return true;
    }
    if (rc == 0 || (rc == PCAP_ERROR_BREAK && s->live)) /* live timeout, or stopped by a signal */
        return false;
    const char *zerr = s->live ? NULL : cs_stream_error(&rt->st);
    if (zerr != NULL) {
        input_failed(in, strstr(zerr, " ends ") != NULL, zerr);
    } else if (rc == PCAP_ERROR) {
        const char *e = pcap_geterr(rt->pcap);
        input_failed(in, strstr(e, "truncated") != NULL, e);
    }
    if (s->live) {
        pcap_close(rt->pcap);
        rt->pcap = NULL;
        return false;
    }
    input_close(rt);
    return false;
}

/* Rewrites libpcap's open errors into one line a user understands. */
static char *open_error(const char *path, const char *pcap_err, const cs_stream *st)
{
    struct stat sb;
    const char *zerr = cs_stream_error(st);
    if (st->kind != CS_STREAM_PLAIN) {
        if (zerr != NULL)
            return g_strdup_printf("%s: %s-compressed, but it does not decompress: %s", path,
                                   cs_stream_kind_name(st->kind), zerr);
        return g_strdup_printf("%s: %s-compressed, but what it holds is not a pcap or pcapng "
                               "capture (%s)",
                               path, cs_stream_kind_name(st->kind), pcap_err);
    }
    if (strcmp(path, "-") != 0) {
        if (stat(path, &sb) == 0 && sb.st_size == 0)
            return g_strdup_printf("%s: empty file, not a pcap or pcapng capture", path);
    }
    if (strstr(pcap_err, "unknown file format") != NULL ||
        strstr(pcap_err, "bad dump file format") != NULL)
        return g_strdup_printf("%s: not a pcap or pcapng capture (%s)", path, pcap_err);
    if (strstr(pcap_err, "truncated") != NULL)
        return g_strdup_printf("%s: capture file header is cut short (%s)", path, pcap_err);
    return g_strdup_printf("%s: cannot read capture: %s", path, pcap_err);
}

/* Compiles and installs bpf on p. Returns false with *err set. */
static bool apply_filter(pcap_t *p, const char *what, const char *bpf, GError **err)
{
    struct bpf_program prog;
    if (bpf == NULL || *bpf == '\0')
        return true;
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        g_set_error(err, g_quark_from_static_string("connscope"), 2, "bad BPF filter '%s': %s",
                    bpf, pcap_geterr(p));
        return false;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        g_set_error(err, g_quark_from_static_string("connscope"), 2, "%s: cannot set filter: %s",
                    what, pcap_geterr(p));
        return false;
    }
    return true;
}

static cs_source *source_alloc(int n)
{
    cs_source *s = g_new0(cs_source, 1);
    s->n = n;
    s->inputs = g_new0(cs_input, n);
    s->rt = g_new0(input_rt, n);
    s->heap = g_new0(int, n);
    s->advance = -1;
    return s;
}

static bool source_error(GError **err, const char *msg)
{
    g_set_error_literal(err, g_quark_from_static_string("connscope"), 2, msg);
    return false;
}

/* Opens input i of s from `path`: libpcap on the (decompressed) stream, or the own reader for
 * a pcapng whose interfaces have several link types. Returns false with *err set. */
static bool open_input(cs_source *s, int i, const char *path, const char *bpf, GError **err)
{
    cs_input *in = &s->inputs[i];
    input_rt *rt = &s->rt[i];
    struct stat sb;
    if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        gchar *msg = g_strdup_printf("%s: is a directory, not a capture file", path);
        source_error(err, msg);
        g_free(msg);
        return false;
    }
    if (!cs_stream_open(&rt->st, path, HEAD_PEEK, err))
        return false;
    rt->open = true;
    int first_dlt = -1;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    if (cs_pcapng_is_multilink(rt->st.head, rt->st.head_len, &first_dlt)) {
        /* libpcap refuses interfaces of different link types in one file: read it ourselves */
        rt->ng = cs_pcapng_open(rt->st.fp, errbuf, sizeof errbuf);
        in->dlt = first_dlt;
        in->mixed_links = true;
        if (rt->ng != NULL && bpf != NULL && *bpf != '\0') {
            /* the filter's syntax is checked now; it is compiled per link type as they come */
            struct bpf_program prog;
            pcap_t *dead = pcap_open_dead(first_dlt, 262144);
            if (pcap_compile(dead, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
                g_set_error(err, g_quark_from_static_string("connscope"), 2,
                            "bad BPF filter '%s': %s", bpf, pcap_geterr(dead));
                pcap_close(dead);
                return false;
            }
            pcap_freecode(&prog);
            pcap_close(dead);
            g_free(s->bpf);
            s->bpf = g_strdup(bpf);
        }
    } else {
        rt->pcap =
            pcap_fopen_offline_with_tstamp_precision(rt->st.fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (rt->pcap != NULL)
            in->dlt = pcap_datalink(rt->pcap);
    }
    if (rt->pcap == NULL && rt->ng == NULL) {
        char *msg = open_error(path, errbuf, &rt->st);
        source_error(err, msg);
        g_free(msg);
        return false;
    }
    if (!in->mixed_links && !cs_link_supported(in->dlt)) {
        char buf[160];
        g_set_error(err, g_quark_from_static_string("connscope"), 2, "%s: unsupported link type %s",
                    path, cs_dlt_describe(in->dlt, buf, sizeof buf));
        return false;
    }
    return rt->pcap == NULL || apply_filter(rt->pcap, path, bpf, err);
}

cs_source *cs_source_open_files(char *const *paths, int n, const char *bpf, GError **err)
{
    cs_source *s = source_alloc(n);
    int stdin_uses = 0;

    s->nano = true;
    for (int i = 0; i < n; i++) {
        s->inputs[i].path = g_strdup(paths[i]);
        if (strcmp(paths[i], "-") == 0 && ++stdin_uses > 1) {
            source_error(err, "standard input ('-') can be read only once");
            cs_source_free(s);
            return NULL;
        }
        if (!open_input(s, i, paths[i], bpf, err)) {
            cs_source_free(s);
            return NULL;
        }
    }
    for (int i = 0; i < n; i++)
        if (input_fill(s, i))
            heap_push(s, i);
    return s;
}

void cs_live_opts_default(cs_live_opts *o)
{
    memset(o, 0, sizeof *o);
    o->snaplen = 262144;
    o->promisc = true;
    o->buffer_size = 64 << 20;
    o->timeout_ms = 200;
}

cs_source *cs_source_open_live(const cs_live_opts *o, GError **err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    GQuark q = g_quark_from_static_string("connscope");
    pcap_t *p = pcap_create(o->iface, errbuf);
    if (p == NULL) {
        g_set_error(err, q, 2, "%s: cannot open interface: %s", o->iface, errbuf);
        return NULL;
    }
    pcap_set_snaplen(p, o->snaplen);
    pcap_set_promisc(p, o->promisc ? 1 : 0);
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, o->timeout_ms > 0 ? o->timeout_ms : 200);
    if (o->buffer_size > 0)
        pcap_set_buffer_size(p, o->buffer_size);
    (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(p);
    if (rc < 0) {
        const char *why = pcap_geterr(p);
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            g_set_error(err, q, 2, "%s: no such interface (connscope -D lists them)", o->iface);
        else if (rc == PCAP_ERROR_PERM_DENIED)
            g_set_error(err, q, 2,
                        "%s: permission denied: capturing needs root or the CAP_NET_RAW and "
                        "CAP_NET_ADMIN capabilities (%s)",
                        o->iface, why);
        else
            g_set_error(err, q, 2, "%s: cannot start capture: %s", o->iface, why);
        pcap_close(p);
        return NULL;
    }
    if (pcap_setnonblock(p, 1, errbuf) != 0) {
        g_set_error(err, q, 2, "%s: cannot make the capture non-blocking: %s", o->iface, errbuf);
        pcap_close(p);
        return NULL;
    }
    cs_source *s = source_alloc(1);
    s->live = true;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 200;
    s->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    s->rt[0].pcap = p;
    s->inputs[0].path = g_strdup(o->iface);
    s->inputs[0].dlt = pcap_datalink(p);
    if (!cs_link_supported(s->inputs[0].dlt)) {
        char buf[160];
        g_set_error(err, q, 2, "%s: unsupported link type %s", o->iface,
                    cs_dlt_describe(s->inputs[0].dlt, buf, sizeof buf));
        cs_source_free(s);
        return NULL;
    }
    if (!apply_filter(p, o->iface, o->bpf, err)) {
        cs_source_free(s);
        return NULL;
    }
    return s;
}

void cs_source_break(cs_source *s)
{
    s->stop = 1;
    if (s->live && s->rt[0].pcap != NULL)
        pcap_breakloop(s->rt[0].pcap);
}

/* Opens output file number idx (0: the path itself, else path.idx). */
static bool dump_open(cs_source *s, GError **err)
{
    char *name = s->dump_index == 0 ? g_strdup(s->dump_path)
                                    : g_strdup_printf("%s.%u", s->dump_path, s->dump_index);
    s->dump = pcap_dump_open(s->dump_tmpl, name);
    if (s->dump == NULL)
        g_set_error(err, g_quark_from_static_string("connscope"), 2, "%s: cannot write: %s", name,
                    pcap_geterr(s->dump_tmpl));
    g_free(name);
    s->dump_opened = -1;
    return s->dump != NULL;
}

bool cs_source_write_to(cs_source *s, const char *path, uint64_t rotate_bytes, uint32_t rotate_secs,
                        GError **err)
{
    int dlt = s->inputs[0].dlt;
    for (int i = 0; i < s->n; i++)
        if (s->inputs[i].dlt != dlt || s->inputs[i].mixed_links) {
            g_set_error(err, g_quark_from_static_string("connscope"), 2,
                        "%s: cannot write inputs of different link types into one file", path);
            return false;
        }
    int snaplen = s->rt[0].pcap != NULL ? pcap_snapshot(s->rt[0].pcap) : 262144;
    s->dump_tmpl = pcap_open_dead_with_tstamp_precision(
        dlt, snaplen > 0 ? snaplen : 262144,
        s->nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    s->dump_path = g_strdup(path);
    s->dump_rotate_bytes = rotate_bytes;
    s->dump_rotate_secs = rotate_secs;
    return dump_open(s, err);
}

/* The name of output file number dump_index, for messages (caller frees). */
static char *dump_name(const cs_source *s)
{
    if (strcmp(s->dump_path, "-") == 0)
        return g_strdup("standard output");
    return s->dump_index == 0 ? g_strdup(s->dump_path)
                              : g_strdup_printf("%s.%u", s->dump_path, s->dump_index);
}

/* Closes the current output file; standard output is only flushed (libpcap would fclose it). */
static void dump_close(cs_source *s)
{
    if (pcap_dump_file(s->dump) == stdout)
        pcap_dump_flush(s->dump);
    else
        pcap_dump_close(s->dump);
    s->dump = NULL;
}

/* A write to the output failed with errno e: writing stops here (a full disk would fail every
 * later write too), and cs_source_write_check() reports it. */
static void dump_fail(cs_source *s, int e)
{
    s->dump_errno = e != 0 ? e : EIO;
    s->dump_failed = dump_name(s);
    dump_close(s);
}

/* Flushes the current output file and checks that every write to it succeeded. */
static bool dump_flush_ok(cs_source *s)
{
    errno = 0;
    if (pcap_dump_flush(s->dump) == 0 && !ferror(pcap_dump_file(s->dump)))
        return true;
    dump_fail(s, errno);
    return false;
}

/* Closes the current output file and opens the next (path.N+1). Returns false when writing
 * stopped (the failure is kept for cs_source_write_check()). */
static bool dump_next_file(cs_source *s)
{
    if (!dump_flush_ok(s))
        return false;
    dump_close(s);
    s->dump_index++;
    if (!dump_open(s, NULL)) {
        s->dump_errno = errno != 0 ? errno : EIO;
        s->dump_failed = dump_name(s);
        return false;
    }
    return true;
}

bool cs_source_write_rotate(cs_source *s)
{
    if (s->dump == NULL || pcap_dump_file(s->dump) == stdout)
        return false;
    return dump_next_file(s);
}

int cs_source_write_errno(const cs_source *s)
{
    return s->dump_errno;
}

static void dump_packet(cs_source *s, const input_rt *rt, cs_time_t ts)
{
    if (s->dump_opened < 0)
        s->dump_opened = ts;
    bool rotate = (s->dump_rotate_bytes > 0 &&
                   (uint64_t)pcap_dump_ftell64(s->dump) >= s->dump_rotate_bytes) ||
                  (s->dump_rotate_secs > 0 &&
                   ts - s->dump_opened >= (cs_time_t)s->dump_rotate_secs * CS_NS_PER_S);
    if (rotate) {
        if (!dump_next_file(s))
            return;
        s->dump_opened = ts;
    }
    pcap_dump((u_char *)s->dump, rt->hdr, rt->data);
    if (ferror_unlocked(pcap_dump_file(s->dump))) { /* a flag test: errno is the write's */
        dump_fail(s, errno);
        return;
    }
}

bool cs_source_write_check(cs_source *s, int *errnum, GError **err)
{
    *errnum = 0;
    if (s->dump != NULL)
        dump_flush_ok(s);
    if (s->dump_errno == 0)
        return true;
    *errnum = s->dump_errno;
    g_set_error(err, g_quark_from_static_string("connscope"), 2,
                "%s: cannot write: %s (the file is incomplete: writing stopped there)",
                s->dump_failed, g_strerror(s->dump_errno));
    return false;
}

bool cs_source_list_interfaces(FILE *out, GError **err)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_if_t *all = NULL;
    if (pcap_findalldevs(&all, errbuf) != 0) {
        g_set_error(err, g_quark_from_static_string("connscope"), 2, "cannot list interfaces: %s",
                    errbuf);
        return false;
    }
    int n = 0;
    for (pcap_if_t *d = all; d != NULL; d = d->next) {
        fprintf(out, "%d.%s", ++n, d->name);
        if (d->description != NULL)
            fprintf(out, " (%s)", d->description);
        fprintf(out, " [%s%s%s]\n", (d->flags & PCAP_IF_UP) ? "Up" : "Down",
                (d->flags & PCAP_IF_RUNNING) ? ", Running" : "",
                (d->flags & PCAP_IF_LOOPBACK) ? ", Loopback" : "");
    }
    pcap_freealldevs(all);
    return true;
}

static void fill_raw(cs_source *s, int i, cs_raw *raw)
{
    input_rt *rt = &s->rt[i];
    if (s->dump != NULL)
        dump_packet(s, rt, rt->ts);
    raw->data = rt->data;
    raw->caplen = rt->hdr->caplen;
    raw->wirelen = rt->hdr->len;
    raw->ts = rt->ts;
    raw->dlt = rt->dlt;
    raw->src_idx = (uint32_t)i;
}

void cs_source_stop_reader(cs_source *s)
{
    if (s->pipe == NULL)
        return;
    uint64_t *handed = g_new(uint64_t, (gsize)s->n);
    for (int i = 0; i < s->n; i++)
        handed[i] = cs_pipe_handed(s->pipe, (uint32_t)i);
    cs_pipe_stop(s->pipe);
    s->pipe = NULL;
    for (int i = 0; i < s->n; i++)
        s->inputs[i].packets = handed[i];
    g_free(handed);
}

G_ALWAYS_INLINE static inline int next_direct(cs_source *s, cs_raw *raw)
{
    if (s->stop)
        return 0;
    if (s->live) {
        if (s->rt[0].pcap == NULL)
            return 0;
        if (!input_fill(s, 0)) {
            if (s->rt[0].pcap == NULL || s->stop)
                return 0;
            /* Non-blocking handle: wait for the next packet at most the read timeout, so the
             * caller gets control back regularly (intervals, --duration, signals). */
            int fd = pcap_get_selectable_fd(s->rt[0].pcap);
            if (fd >= 0) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                (void)poll(&pfd, 1, s->timeout_ms);
            }
            return -2;
        }
        fill_raw(s, 0, raw);
        return 1;
    }
    if (s->advance >= 0) {
        int i = s->advance;
        s->advance = -1;
        if (input_fill(s, i))
            heap_push(s, i);
    }
    if (s->heap_len == 0)
        return 0;
    int i = heap_pop(s);
    s->advance = i;
    fill_raw(s, i, raw);
    return 1;
}

static int pipe_next(void *ctx, cs_raw *raw)
{
    return next_direct(ctx, raw);
}

static bool progress_direct(cs_source *s, uint64_t *done, uint64_t *total);

static bool pipe_progress(void *ctx, uint64_t *done, uint64_t *total)
{
    return progress_direct(ctx, done, total);
}

bool cs_source_start_reader(cs_source *s)
{
    if (s->live || s->dump != NULL || s->pipe != NULL)
        return false;
    g_free(s->shadow);
    s->shadow = g_new0(cs_input, (gsize)s->n);
    for (int i = 0; i < s->n; i++) {
        s->shadow[i] = s->inputs[i]; /* path, link type: fixed once open */
        s->shadow[i].message = NULL;
    }
    for (int i = 0; i < s->n; i++)
        if (s->rt[i].open)
            cs_stream_one_thread(&s->rt[i].st); /* from now on the reader thread's alone */
    cs_pipe_src src = {.ctx = s, .next = pipe_next, .progress = pipe_progress};
    /* the ring's size: 16 MiB; the tests make it small to exercise wrapping and big packets */
    const char *ring = getenv("CONNSCOPE_PIPE_RING");
    s->pipe = cs_pipe_start(&src, (uint32_t)s->n,
                            ring != NULL ? (size_t)g_ascii_strtoull(ring, NULL, 10) : 0);
    return true;
}

int cs_source_next(cs_source *s, cs_raw *raw)
{
    if (s->pipe != NULL) {
        int rc = cs_pipe_next(s->pipe, raw);
        if (rc == 0)
            cs_source_stop_reader(s);
        return rc;
    }
    return next_direct(s, raw);
}

int cs_source_count(const cs_source *s)
{
    return s->n;
}

const cs_input *cs_source_input(const cs_source *s, int i)
{
    if (s->pipe != NULL) { /* the reader thread owns inputs[] now: what was handed out so far */
        s->shadow[i].packets = cs_pipe_handed(s->pipe, (uint32_t)i);
        return &s->shadow[i];
    }
    return &s->inputs[i];
}

bool cs_source_progress(cs_source *s, uint64_t *done, uint64_t *total)
{
    if (s->pipe != NULL)
        return cs_pipe_progress(s->pipe, done, total);
    return progress_direct(s, done, total);
}

static bool progress_direct(cs_source *s, uint64_t *done, uint64_t *total)
{
    if (s->live)
        return false;
    *done = *total = 0;
    for (int i = 0; i < s->n; i++) {
        input_rt *rt = &s->rt[i];
        if (rt->open && rt->st.size == 0)
            return false; /* a pipe: size unknown */
        *total += rt->open ? rt->st.size : rt->done_at_close;
        *done += rt->open ? cs_stream_consumed(&rt->st) : rt->done_at_close;
    }
    return *total > 0;
}

bool cs_source_stats(cs_source *s, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
    struct pcap_stat st;
    if (!s->live || s->rt[0].pcap == NULL || pcap_stats(s->rt[0].pcap, &st) != 0)
        return false;
    *received = st.ps_recv;
    *dropped = st.ps_drop;
    *if_dropped = st.ps_ifdrop;
    return true;
}

void cs_source_free(cs_source *s)
{
    if (s == NULL)
        return;
    cs_source_stop_reader(s);
    g_free(s->shadow);
    if (s->dump != NULL)
        dump_close(s);
    if (s->dump_tmpl != NULL)
        pcap_close(s->dump_tmpl);
    g_free(s->dump_path);
    g_free(s->dump_failed);
    for (int i = 0; i < s->n; i++) {
        if (s->live && s->rt[i].pcap != NULL)
            pcap_close(s->rt[i].pcap);
        else
            input_close(&s->rt[i]);
        g_free(s->inputs[i].path);
        g_free(s->inputs[i].message);
    }
    g_free(s->inputs);
    g_free(s->rt);
    g_free(s->heap);
    g_free(s->bpf);
    g_free(s);
}

void cs_source_copy_status(cs_source *to, int i, const cs_source *from, int j)
{
    cs_input *d = &to->inputs[i];
    const cs_input *f = &from->inputs[j];
    d->packets = f->packets;
    d->state = f->state;
    g_free(d->message);
    d->message = g_strdup(f->message);
}
