/* summary_read.c - reading summary files for `connscope merge`: the header first (to check the
 * format and order the files in time), then the aggregates streamed member by member and element
 * by element straight into an accumulator, so that memory is the result's, not the files'. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jread.h"
#include "summary.h"
#include "util.h"

struct cs_summary_file {
    char *name;
    FILE *f;             /* NULL for a memory input */
    const char *text;    /* memory input */
    size_t len;
    cs_summary_header hdr;
};

/* ---- field errors ---------------------------------------------------------------------------- */

typedef struct rd {
    const char *name; /* file name for messages */
    GString *err;     /* first field error, NULL if none */
} rd;

static void rd_fail(rd *r, const char *field, const char *what)
{
    if (r->err == NULL)
        r->err = g_string_new(NULL);
    if (r->err->len == 0)
        g_string_printf(r->err, "field %s: %s", field, what);
}

static const cs_jv *need(rd *r, const cs_jv *o, const char *name, char kind, const char *field)
{
    const cs_jv *v = cs_jv_member(o, name);
    if (v == NULL || v->kind != kind) {
        gchar *f = g_strdup_printf("%s%s%s", field, *field ? "." : "", name);
        rd_fail(r, f,
                v == NULL ? "missing"
                          : kind == 'a' ? "expected an array"
                          : kind == 'o' ? "expected an object"
                          : kind == 's' ? "expected a string"
                                        : "expected a number");
        g_free(f);
        return NULL;
    }
    return v;
}

static bool num_u64(const cs_jv *v, uint64_t *out)
{
    if (v == NULL || v->kind != 'n' || !v->is_u64)
        return false;
    *out = v->u;
    return true;
}

static bool num_i64(const cs_jv *v, int64_t *out)
{
    if (v == NULL || v->kind != 'n' || !v->is_i64)
        return false;
    *out = v->i;
    return true;
}

static uint64_t get_u64(rd *r, const cs_jv *o, const char *name, const char *field)
{
    uint64_t x = 0;
    const cs_jv *v = cs_jv_member(o, name);
    if (!num_u64(v, &x)) {
        gchar *f = g_strdup_printf("%s%s%s", field, *field ? "." : "", name);
        rd_fail(r, f, v == NULL ? "missing" : "expected a non-negative integer");
        g_free(f);
    }
    return x;
}

/* *acc += v, failing the read instead of wrapping when the sum passes 2^64-1 (a bucket or server
 * named twice, or the same one in several merged files, adds up). */
static void add_count(rd *r, uint64_t *acc, uint64_t v, const char *field, const char *name)
{
    if (__builtin_add_overflow(*acc, v, acc)) {
        gchar *f = g_strdup_printf("%s%s%s", field, *field ? "." : "", name);
        rd_fail(r, f, "counts add up past 2^64-1");
        g_free(f);
    }
}

static void get_counts(rd *r, const cs_jv *o, const char *name, uint64_t *out, int n,
                       const char *field)
{
    const cs_jv *a = need(r, o, name, 'a', field);
    if (a == NULL)
        return;
    if ((int)a->n != n) {
        gchar *f = g_strdup_printf("%s%s%s", field, *field ? "." : "", name);
        rd_fail(r, f, "wrong number of counts");
        g_free(f);
        return;
    }
    for (int i = 0; i < n; i++)
        if (!num_u64(a->kids[i], &out[i])) {
            gchar *f = g_strdup_printf("%s%s%s[%d]", field, *field ? "." : "", name, i);
            rd_fail(r, f, "expected a non-negative integer");
            g_free(f);
        }
}

/* Adds histogram member `name` of o into h (may hold counts already), after checking it whole:
 * n is the sum of the bins, each bin a low edge of the layout in ascending order, min and max in
 * the first and last bin. Nothing is added when it is bad. */
static void get_hist(rd *r, const cs_jv *o, const char *name, cs_hist *h, const char *field)
{
    const cs_jv *v = cs_jv_member(o, name);
    const cs_jv *bins = cs_jv_member(v, "bins");
    const char *bad = NULL;
    if (v == NULL || v->kind != 'o' || bins == NULL || bins->kind != 'a') {
        bad = v == NULL ? "missing" : v->kind != 'o' ? "expected an object" : "bins: expected an array";
    }
    uint64_t n = 0, sum = 0, prev = 0, mn = 0, mx = 0;
    double dsum = 0;
    if (bad == NULL && !num_u64(cs_jv_member(v, "n"), &n))
        bad = "n: expected a non-negative integer";
    for (uint32_t i = 0; bad == NULL && i < bins->n; i++) {
        const cs_jv *p = bins->kids[i];
        uint64_t low, count;
        if (p->kind != 'a' || p->n != 2 || !num_u64(p->kids[0], &low) ||
            !num_u64(p->kids[1], &count) || count == 0) {
            bad = "a bin is not [low edge, count > 0]";
            break;
        }
        if (cs_hist_bin_low(cs_hist_bin(low)) != low || (i > 0 && low <= prev)) {
            bad = "a bin edge is not a bin of this histogram layout, or out of order";
            break;
        }
        if (low > CS_SUMMARY_MAX_US) {
            bad = "a bin edge is longer than any time span a capture can hold";
            break;
        }
        if (__builtin_add_overflow(sum, count, &sum)) {
            bad = "counts add up past 2^64-1";
            break;
        }
        prev = low;
    }
    if (bad == NULL && sum != n)
        bad = "n is not the sum of the bin counts";
    if (bad == NULL && n > 0) {
        const cs_jv *s = cs_jv_member(v, "sum");
        if (!num_u64(cs_jv_member(v, "min"), &mn) || !num_u64(cs_jv_member(v, "max"), &mx))
            bad = "min/max: expected non-negative integers";
        else if (mn > mx || mx > CS_SUMMARY_MAX_US || cs_hist_bin(mn) != cs_hist_bin(bins->kids[0]->kids[0]->u) ||
                 cs_hist_bin(mx) != cs_hist_bin(bins->kids[bins->n - 1]->kids[0]->u))
            bad = "min/max do not fall in the first/last bin";
        else if (s == NULL || s->kind != 'n' || !((dsum = g_ascii_strtod(s->text, NULL)) >= 0))
            bad = "sum: expected a non-negative number";
    }
    uint64_t total;
    if (bad == NULL && __builtin_add_overflow(h->n, n, &total))
        bad = "counts add up past 2^64-1";
    if (bad != NULL) {
        gchar *f = g_strdup_printf("%s%s%s", field, *field ? "." : "", name);
        rd_fail(r, f, bad);
        g_free(f);
        return;
    }
    if (n == 0)
        return;
    cs_hist before = *h;
    for (uint32_t i = 0; i < bins->n; i++)
        cs_hist_add(h, bins->kids[i]->kids[0]->u, bins->kids[i]->kids[1]->u);
    h->n = before.n + n;
    h->min = before.n > 0 && before.min < mn ? before.min : mn;
    h->max = before.n > 0 && before.max > mx ? before.max : mx;
    h->sum = before.sum + dsum;
}

/* Adds the counts of a bucket object into b. Nothing is added to the histograms when a field
 * is bad (the caller discards the result). */
static void get_bucket(rd *r, const cs_jv *o, cs_an_bucket *b, const char *field)
{
    uint64_t sc[6] = {0};
    add_count(r, &b->conns, get_u64(r, o, "conns", field), field, "conns");
    add_count(r, &b->syn_pkts, get_u64(r, o, "syn_pkts", field), field, "syn_pkts");
    add_count(r, &b->requests, get_u64(r, o, "requests", field), field, "requests");
    get_counts(r, o, "status_class", sc, 6, field);
    for (int i = 0; i < 6; i++)
        add_count(r, &b->status_class[i], sc[i], field, "status_class");
    add_count(r, &b->unanswered, get_u64(r, o, "unanswered", field), field, "unanswered");
    add_count(r, &b->orphans, get_u64(r, o, "orphans", field), field, "orphans");
    add_count(r, &b->bytes_c2s, get_u64(r, o, "bytes_c2s", field), field, "bytes_c2s");
    add_count(r, &b->bytes_s2c, get_u64(r, o, "bytes_s2c", field), field, "bytes_s2c");
    if (r->err == NULL)
        get_hist(r, o, "ttfb_us", &b->ttfb_us, field);
    if (r->err == NULL)
        get_hist(r, o, "total_us", &b->total_us, field);
}

static bool get_addr(const cs_jv *v, uint8_t *family, cs_addr *a)
{
    cs_host_filter f;
    if (v == NULL || v->kind != 's' || !cs_host_filter_parse(&f, v->text))
        return false;
    *family = f.family;
    *a = f.addr;
    return true;
}

/* ---- the header (first pass) ---------------------------------------------------------------- */

static void set_err(GError **err, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_err(GError **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(err, CS_SUMMARY_ERROR, code, msg);
    g_free(msg);
}

/* A JSON syntax (or I/O) error of the reader as a GError. */
static void jr_err(cs_jr *jr, const char *name, GError **err)
{
    if (cs_jr_io_error(jr))
        set_err(err, CS_SUMMARY_ERROR_IO, "%s: cannot read: %s", name, cs_jr_error(jr));
    else if (cs_jr_error(jr) == NULL)
        set_err(err, CS_SUMMARY_ERROR_SYNTAX, "%s: not valid JSON (line %d: unexpected end of input)",
                name, cs_jr_error_line(jr) > 0 ? cs_jr_error_line(jr) : 1);
    else
        set_err(err, CS_SUMMARY_ERROR_SYNTAX, "%s: not valid JSON (line %d: %s)", name,
                cs_jr_error_line(jr), cs_jr_error(jr));
}

/* Header members: values the merge needs before any data (checks, order, bucket widths). */
static bool header_member(const char *name)
{
    static const char *const names[] = {"format",   "version",     "layout",     "generator",
                                        "bucket_ns", "host",       "max_keys",   "first_ts_ns",
                                        "last_ts_ns", "inputs",     NULL};
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Checks format, version and layout (in this order: the message names the first problem). */
static bool check_identity(const cs_jv *fmt, const cs_jv *ver, const cs_jv *layout,
                           const char *name, GError **err)
{
    uint64_t version = 0;
    if (fmt == NULL || fmt->kind != 's' || strcmp(fmt->text, CS_SUMMARY_FORMAT) != 0) {
        set_err(err, CS_SUMMARY_ERROR_FORMAT,
                "%s: not a connscope summary (no \"format\": \"" CS_SUMMARY_FORMAT "\")", name);
        return false;
    }
    if (!num_u64(ver, &version) || version < 1 || version > CS_SUMMARY_VERSION) {
        set_err(err, CS_SUMMARY_ERROR_VERSION,
                "%s: summary format version %s; this connscope reads versions 1 to %d", name,
                ver != NULL && ver->kind == 'n' ? ver->text : "(missing)", CS_SUMMARY_VERSION);
        return false;
    }
    if (layout == NULL || layout->kind != 's' || strcmp(layout->text, cs_summary_layout()) != 0) {
        set_err(err, CS_SUMMARY_ERROR_LAYOUT,
                "%s: histogram/flow-class layout \"%s\" differs from this connscope's \"%s\": "
                "its bins cannot be added exactly",
                name, layout != NULL && layout->kind == 's' ? layout->text : "(missing)",
                cs_summary_layout());
        return false;
    }
    return true;
}

/* Reads the header members of the document into f->hdr. The scalar members come first in every
 * summary connscope writes, so this normally reads one line; other members are skipped. */
static bool read_header(cs_summary_file *sf, cs_jr *jr, GError **err)
{
    cs_summary_header *h = &sf->hdr;
    /* the identity members are kept as copies until all three are known */
    gchar *fmt = NULL, *layout = NULL, *ver_text = NULL;
    bool have_ver = false;
    uint64_t ver = 0;
    bool ok = true;
    rd r = {.name = sf->name};
    int found = 0;
    bool first_given = false, first_ok = false, last_ok = false;
    int64_t first = 0, last = 0;
    const char *name;
    int k;
    h->first_ts = INT64_MAX;
    h->last_ts = INT64_MIN;
    char c = cs_jr_peek(jr);
    if (c != '{') {
        if (c != 0 && cs_jr_value(jr) != NULL && cs_jr_at_end(jr)) /* JSON, not an object */
            set_err(err, CS_SUMMARY_ERROR_FORMAT,
                    "%s: not a connscope summary (no \"format\": \"" CS_SUMMARY_FORMAT "\")",
                    sf->name);
        else
            jr_err(jr, sf->name, err);
        return false;
    }
    cs_jr_obj_begin(jr);
    while ((k = cs_jr_member(jr, &name)) == 1) {
        if (!header_member(name)) {
            if (found >= 10)
                break; /* the data follows; every header member was found */
            if (!cs_jr_skip(jr)) {
                k = -1;
                break;
            }
            continue;
        }
        gchar *key = g_strdup(name);
        const cs_jv *v = cs_jr_value(jr);
        if (v == NULL) {
            g_free(key);
            k = -1;
            break;
        }
        found++;
        if (strcmp(key, "format") == 0) {
            g_free(fmt);
            fmt = v->kind == 's' ? g_strdup(v->text) : g_strdup("");
        } else if (strcmp(key, "version") == 0) {
            have_ver = num_u64(v, &ver);
            g_free(ver_text);
            ver_text = v->kind == 'n' ? g_strdup(v->text) : NULL;
        } else if (strcmp(key, "layout") == 0) {
            g_free(layout);
            layout = v->kind == 's' ? g_strdup(v->text) : g_strdup("");
        } else if (strcmp(key, "bucket_ns") == 0) {
            h->have_bucket = num_i64(v, &h->bucket) && h->bucket > 0;
        } else if (strcmp(key, "host") == 0) {
            h->have_host = v->kind == 'z' || (v->kind == 's' && cs_host_filter_parse(&h->host,
                                                                                   v->text));
            if (v->kind == 'z')
                memset(&h->host, 0, sizeof h->host);
        } else if (strcmp(key, "max_keys") == 0) {
            uint64_t mk = 0;
            h->have_max_keys = num_u64(v, &mk);
            h->max_keys = mk == 0 || mk > UINT32_MAX ? UINT32_MAX : (uint32_t)mk;
        } else if (strcmp(key, "first_ts_ns") == 0) {
            first_given = v->kind != 'z';
            first_ok = num_i64(v, &first);
        } else if (strcmp(key, "last_ts_ns") == 0) {
            last_ok = num_i64(v, &last);
        } else if (strcmp(key, "inputs") == 0) {
            if (h->inputs == NULL)
                h->inputs = g_ptr_array_new_with_free_func(g_free);
            for (uint32_t i = 0; v->kind == 'a' && i < v->n; i++)
                if (v->kids[i]->kind == 's')
                    g_ptr_array_add(h->inputs, g_strdup(v->kids[i]->text));
        }
        g_free(key);
    }
    if (k == -1) {
        jr_err(jr, sf->name, err);
        ok = false;
    }
    if (ok) {
        /* identity first: a file of another version may lack the rest */
        cs_jv fv = {.kind = fmt != NULL ? 's' : 'z', .text = fmt};
        cs_jv vv = {.kind = ver_text != NULL ? 'n' : 'z', .text = ver_text, .is_u64 = have_ver,
                    .u = ver};
        cs_jv lv = {.kind = layout != NULL ? 's' : 'z', .text = layout};
        ok = check_identity(fmt != NULL ? &fv : NULL, ver_text != NULL ? &vv : NULL,
                            layout != NULL ? &lv : NULL, sf->name, err);
        h->version = (uint32_t)ver;
    }
    if (ok) {
        if (!h->have_bucket)
            rd_fail(&r, "bucket_ns", "expected a positive integer");
        else if (!h->have_max_keys)
            rd_fail(&r, "max_keys", "expected a non-negative integer");
        else if (!h->have_host)
            rd_fail(&r, "host", "expected null or an IP address");
        else if (first_given && (!first_ok || !last_ok || first > last))
            rd_fail(&r, "first_ts_ns/last_ts_ns", "expected null, or integers first <= last");
        if (first_given && first_ok && last_ok && first <= last) {
            h->first_ts = first;
            h->last_ts = last;
        }
        if (r.err != NULL) {
            set_err(err, CS_SUMMARY_ERROR_FORMAT, "%s: bad summary: %s", sf->name, r.err->str);
            g_string_free(r.err, TRUE);
            ok = false;
        }
    }
    if (h->inputs == NULL)
        h->inputs = g_ptr_array_new_with_free_func(g_free);
    g_free(fmt);
    g_free(layout);
    g_free(ver_text);
    return ok;
}

static cs_jr *reader_of(cs_summary_file *sf, GError **err)
{
    if (sf->f == NULL)
        return cs_jr_new_mem(sf->text, sf->len, sf->name);
    if (fseek(sf->f, 0, SEEK_SET) != 0) {
        set_err(err, CS_SUMMARY_ERROR_IO, "%s: cannot read: %s", sf->name, g_strerror(errno));
        return NULL;
    }
    return cs_jr_new_file(sf->f, sf->name);
}

static cs_summary_file *open_common(cs_summary_file *sf, GError **err)
{
    cs_jr *jr = reader_of(sf, err);
    bool ok = jr != NULL && read_header(sf, jr, err);
    cs_jr_free(jr);
    if (!ok) {
        cs_summary_file_close(sf);
        return NULL;
    }
    return sf;
}

cs_summary_file *cs_summary_open(const char *path, GError **err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, CS_SUMMARY_ERROR_IO, "Failed to open file \xe2\x80\x9c%s\xe2\x80\x9d: %s",
                path, g_strerror(errno));
        return NULL;
    }
    cs_summary_file *sf = g_new0(cs_summary_file, 1);
    sf->name = g_strdup(path);
    sf->f = f;
    return open_common(sf, err);
}

cs_summary_file *cs_summary_open_mem(const char *text, size_t len, const char *name, GError **err)
{
    cs_summary_file *sf = g_new0(cs_summary_file, 1);
    sf->name = g_strdup(name);
    sf->text = text;
    sf->len = len;
    return open_common(sf, err);
}

const cs_summary_header *cs_summary_file_header(const cs_summary_file *sf)
{
    return &sf->hdr;
}

const char *cs_summary_file_name(const cs_summary_file *sf)
{
    return sf->name;
}

void cs_summary_file_close(cs_summary_file *sf)
{
    if (sf == NULL)
        return;
    if (sf->f != NULL)
        fclose(sf->f);
    if (sf->hdr.inputs != NULL)
        g_ptr_array_free(sf->hdr.inputs, TRUE);
    g_free(sf->name);
    g_free(sf);
}

/* ---- the data (second pass) ----------------------------------------------------------------- */

typedef struct loader {
    rd r;
    cs_jr *jr;
    cs_summary *into;
    const cs_summary_header *hdr;
    cs_topk *top[CS_TOP_TABLES]; /* the file's tables, merged into `into` at the end */
    bool seen[8];                /* data members met */
    bool conns_null;             /* "server_conns": null */
    GPtrArray *edges;            /* "edges" (cs_an_edge*), NULL when absent or null */
    uint64_t streams;            /* "streams" */
    cs_an_stitch stitch;         /* "stitch" */
} loader;

enum { M_FLOW_PKTS, M_FLOW_BYTES, M_UNTIMED, M_BUCKETS, M_SERVERS, M_TOP, M_CONNS, M_COUNT };

static void load_buckets(loader *L)
{
    cs_analytics *a = L->into->an;
    char field[48];
    if (!cs_jr_arr_begin(L->jr))
        return;
    for (uint32_t i = 0; L->r.err == NULL && cs_jr_elem(L->jr) == 1; i++) {
        const cs_jv *b = cs_jr_value(L->jr);
        if (b == NULL)
            return;
        int64_t start;
        /* never negative (capture times are not): aligning a negative start to a coarser
         * --bucket, and the span between buckets, would overflow int64 */
        snprintf(field, sizeof field, "buckets[%u]", i); /* cheap next to the parse */
        if (b->kind != 'o' || !num_i64(cs_jv_member(b, "start_ns"), &start) || start < 0 ||
            start % L->hdr->bucket != 0) {
            rd_fail(&L->r, field, "start_ns: expected a non-negative multiple of bucket_ns");
            return;
        }
        get_bucket(&L->r, b, cs_analytics_bucket(a, cs_an_align(start, a->cfg.bucket)), field);
    }
}

/* A server's "addr" and "port" (addr "(other)": the servers beyond the run's --max-keys, folded
 * into one row of family 0). Returns false after rd_fail on anything else. */
static bool get_server(rd *r, const cs_jv *s, const char *field, uint8_t *family, cs_addr *addr,
                       uint16_t *port)
{
    uint64_t p = get_u64(r, s, "port", field);
    const cs_jv *av = cs_jv_member(s, "addr");
    bool other = av != NULL && av->kind == 's' && strcmp(av->text, "(other)") == 0;
    if (other) {
        *family = 0;
        memset(addr, 0, sizeof *addr);
    }
    if ((!other && !get_addr(av, family, addr)) || p > 65535) {
        rd_fail(r, field, "addr/port: expected an IP address (or \"(other)\") and a port");
        return false;
    }
    *port = (uint16_t)p;
    return true;
}

static void load_servers(loader *L)
{
    char field[48];
    if (!cs_jr_arr_begin(L->jr))
        return;
    for (uint32_t i = 0; L->r.err == NULL && cs_jr_elem(L->jr) == 1; i++) {
        const cs_jv *s = cs_jr_value(L->jr);
        if (s == NULL)
            return;
        snprintf(field, sizeof field, "servers[%u]", i);
        uint8_t family;
        cs_addr addr;
        uint16_t port;
        if (!get_server(&L->r, s, field, &family, &addr, &port))
            return;
        cs_an_server *sv = cs_analytics_server(L->into->an, family, &addr, port);
        get_hist(&L->r, s, "ttfb_us", &sv->ttfb_us, field);
        if (L->r.err == NULL)
            get_hist(&L->r, s, "total_us", &sv->total_us, field);
    }
}

/* "server_conns" (format version 2): an array, or null when an input of a merge had none. */
static void load_conn_servers(loader *L)
{
    char field[48];
    rd *r = &L->r;
    if (cs_jr_peek(L->jr) == 'n') {
        const cs_jv *v = cs_jr_value(L->jr);
        if (v != NULL && v->kind == 'z')
            L->conns_null = true;
        else if (v != NULL)
            rd_fail(r, "server_conns", "expected an array or null");
        return;
    }
    if (cs_jr_peek(L->jr) != '[') {
        rd_fail(r, "server_conns", "expected an array or null");
        cs_jr_skip(L->jr);
        return;
    }
    cs_jr_arr_begin(L->jr);
    for (uint32_t i = 0; r->err == NULL && cs_jr_elem(L->jr) == 1; i++) {
        const cs_jv *s = cs_jr_value(L->jr);
        if (s == NULL)
            return;
        snprintf(field, sizeof field, "server_conns[%u]", i);
        uint8_t family;
        cs_addr addr;
        uint16_t port;
        if (!get_server(r, s, field, &family, &addr, &port))
            return;
        cs_server_conns *c = &cs_analytics_conn_server(L->into->an, family, &addr, port)->c;
        static const char *const names[] = {"conns",     "established", "refused",  "reset",
                                            "open_at_end", "midstream", "bytes_c2s", "bytes_s2c",
                                            "pkts_c2s",  "pkts_s2c"};
        uint64_t *dst[] = {&c->conns,       &c->established, &c->refused,   &c->reset,
                           &c->open_at_end, &c->midstream,   &c->bytes_c2s, &c->bytes_s2c,
                           &c->pkts_c2s,    &c->pkts_s2c};
        for (size_t k = 0; k < G_N_ELEMENTS(names); k++)
            add_count(r, dst[k], get_u64(r, s, names[k], field), field, names[k]);
        if (r->err == NULL)
            get_hist(r, s, "duration_us", &c->duration_us, field);
        if (r->err == NULL)
            get_hist(r, s, "rtt_us", &c->rtt_us, field);
    }
}

/* One key of a top-talker table: [address, count, error] or [address, request, count, error]. */
static void load_key(loader *L, const cs_jv *k, cs_topk *t, bool pairs, const char *f,
                     uint64_t *sum, uint64_t *counts)
{
    uint32_t want = pairs ? 4 : 3;
    uint8_t family;
    cs_addr addr;
    uint64_t count, error;
    if (k->kind != 'a' || k->n != want || !get_addr(k->kids[0], &family, &addr) ||
        !num_u64(k->kids[want - 2], &count) || !num_u64(k->kids[want - 1], &error) ||
        error > count) {
        rd_fail(&L->r, f, pairs ? "a key is not [address, request, count, error <= count]"
                                : "a key is not [address, count, error <= count]");
        return;
    }
    GString *what = g_string_new(NULL);
    if (pairs) {
        const cs_jv *w = k->kids[1];
        const cs_jv *hex = cs_jv_member(w, "hex");
        if (w->kind == 's') {
            g_string_append_len(what, w->text, (gssize)w->len);
        } else if (hex != NULL && hex->kind == 's' && hex->len % 2 == 0) {
            g_string_set_size(what, hex->len / 2);
            if (!cs_unhex(hex->text, hex->len / 2, (uint8_t *)what->str))
                rd_fail(&L->r, f, "bad hex request");
        } else {
            rd_fail(&L->r, f, "a request is not a string or {\"hex\": ...}");
        }
    }
    uint8_t *key = g_malloc(17 + what->len);
    key[0] = family;
    memcpy(key + 1, addr.b, 16);
    memcpy(key + 17, what->str, what->len);
    cs_topk_load(t, key, (uint32_t)(17 + what->len), count, error);
    g_free(key);
    g_string_free(what, TRUE);
    *sum += count - error; /* <= counts, which add up below 2^64 (checked) */
    if (__builtin_add_overflow(*counts, count, counts))
        rd_fail(&L->r, f, "counts add up past 2^64-1");
}

/* Largest count of t plus its floor (bounds any count of t in a merge), false if it wraps. */
static bool top_bound(const cs_topk *t, uint64_t *out)
{
    GPtrArray *all = cs_topk_sorted(t);
    uint64_t max = all->len > 0 ? ((const cs_topk_entry *)all->pdata[0])->count : 0;
    g_ptr_array_free(all, TRUE);
    return !__builtin_add_overflow(max, cs_topk_floor(t), out);
}

/* The name of a counter that merging `from` into `into` would carry past 2^64-1, or NULL. */
static const char *top_overflow(const cs_topk *into, const cs_topk *from)
{
    uint64_t x, y, z;
    if (__builtin_add_overflow(cs_topk_total(into), cs_topk_total(from), &x))
        return "total";
    if (__builtin_add_overflow(cs_topk_floor(into), cs_topk_floor(from), &x))
        return "floor";
    /* a merge evicts at most every key it holds */
    if (__builtin_add_overflow(cs_topk_evictions(into), cs_topk_evictions(from), &x) ||
        __builtin_add_overflow(x, (uint64_t)cs_topk_size(into) + cs_topk_size(from), &x))
        return "evictions";
    if (!top_bound(into, &y) || !top_bound(from, &z) || __builtin_add_overflow(y, z, &x))
        return "keys";
    return NULL;
}

/* One table of "top": {"approx", "floor", "total", "evictions", "keys": [...]}, any order. */
static void load_table(loader *L, int ti)
{
    gchar *f = g_strdup_printf("top.%s", cs_an_top_names[ti]);
    bool pairs = ti == CS_TOP_CLIENT_REQUEST;
    cs_topk *t = L->top[ti];
    bool have_approx = false, approx = false, have[3] = {false, false, false};
    uint64_t vals[3] = {0, 0, 0}, sum = 0, counts = 0;
    static const char *const scalars[3] = {"floor", "total", "evictions"};
    bool have_keys = false;
    const char *name;
    int k;
    if (!cs_jr_obj_begin(L->jr)) {
        rd_fail(&L->r, "top", "expected objects");
        g_free(f);
        return;
    }
    while (L->r.err == NULL && (k = cs_jr_member(L->jr, &name)) == 1) {
        if (strcmp(name, "keys") == 0) {
            have_keys = true;
            if (!cs_jr_arr_begin(L->jr))
                break;
            while (L->r.err == NULL && cs_jr_elem(L->jr) == 1) {
                const cs_jv *key = cs_jr_value(L->jr);
                if (key == NULL)
                    break;
                load_key(L, key, t, pairs, f, &sum, &counts);
            }
            continue;
        }
        int si = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(name, scalars[i]) == 0)
                si = i;
        bool is_approx = strcmp(name, "approx") == 0;
        const cs_jv *v = cs_jr_value(L->jr);
        if (v == NULL)
            break;
        if (is_approx) {
            have_approx = v->kind == 'b';
            approx = v->b;
        } else if (si >= 0) {
            have[si] = num_u64(v, &vals[si]);
            if (!have[si]) {
                gchar *ff = g_strdup_printf("%s.%s", f, scalars[si]);
                rd_fail(&L->r, ff, "expected a non-negative integer");
                g_free(ff);
            }
        }
    }
    if (L->r.err == NULL && cs_jr_error(L->jr) == NULL) {
        if (!have_keys) {
            gchar *ff = g_strdup_printf("%s.keys", f);
            rd_fail(&L->r, ff, "missing");
            g_free(ff);
        } else if (!have_approx) {
            rd_fail(&L->r, f, "approx: expected true or false");
        } else {
            for (int i = 0; i < 3; i++)
                if (!have[i]) {
                    gchar *ff = g_strdup_printf("%s.%s", f, scalars[i]);
                    rd_fail(&L->r, ff, "missing");
                    g_free(ff);
                }
        }
        if (L->r.err == NULL && !approx && sum != vals[1])
            rd_fail(&L->r, f, "exact table whose counts do not add up to total");
        cs_topk_load_bounds(t, approx, vals[0], vals[1], vals[2]);
    }
    g_free(f);
}

static void load_top(loader *L)
{
    bool seen[CS_TOP_TABLES] = {false};
    const char *name;
    if (!cs_jr_obj_begin(L->jr)) {
        rd_fail(&L->r, "top", "expected an object");
        return;
    }
    while (L->r.err == NULL && cs_jr_member(L->jr, &name) == 1) {
        int ti = -1;
        for (int i = 0; i < CS_TOP_TABLES; i++)
            if (strcmp(name, cs_an_top_names[i]) == 0)
                ti = i;
        if (ti < 0 || seen[ti]) {
            if (!cs_jr_skip(L->jr))
                return;
            continue;
        }
        seen[ti] = true;
        load_table(L, ti);
    }
    for (int i = 0; i < CS_TOP_TABLES && L->r.err == NULL && cs_jr_error(L->jr) == NULL; i++)
        if (!seen[i]) {
            gchar *f = g_strdup_printf("top.%s", cs_an_top_names[i]);
            rd_fail(&L->r, f, "missing");
            g_free(f);
        }
}

/* One element of "edges" (summary.c w_edge). */
static bool get_edge(rd *r, const cs_jv *v, cs_an_edge *e, const char *field)
{
    static const char letters[] = "SAECFRTH";
    memset(e, 0, sizeof *e);
    const cs_jv *at = cs_jv_member(v, "at"), *addr = cs_jv_member(v, "addr");
    const cs_jv *port = cs_jv_member(v, "port"), *flags = cs_jv_member(v, "flags");
    const cs_jv *pk = cs_jv_member(v, "pkts"), *by = cs_jv_member(v, "bytes");
    const cs_jv *http = cs_jv_member(v, "http"), *seq = cs_jv_member(v, "seq");
    const cs_jv *rtt = cs_jv_member(v, "rtt_us"), *cl = cs_jv_member(v, "closing_ns");
    bool ok = v->kind == 'o' && at != NULL && at->kind == 's' && addr != NULL &&
              addr->kind == 'a' && addr->n == 2 && port != NULL && port->kind == 'a' &&
              port->n == 2 && flags != NULL && flags->kind == 's' && pk != NULL &&
              pk->kind == 'a' && pk->n == 2 && by != NULL && by->kind == 'a' && by->n == 2 &&
              http != NULL && http->kind == 'a' && http->n == 2 && seq != NULL &&
              seq->kind == 'a' && seq->n == 2 && rtt != NULL && cl != NULL && cl->kind == 'a' &&
              cl->n == 2 && num_i64(cl->kids[0], &e->closing_ts[0]) &&
              num_i64(cl->kids[1], &e->closing_ts[1]);
    if (ok) {
        e->kind = strcmp(at->text, "end") == 0     ? CS_EDGE_END
                  : strcmp(at->text, "start") == 0 ? CS_EDGE_START
                  : strcmp(at->text, "both") == 0  ? CS_EDGE_END | CS_EDGE_START
                                                   : 0;
        uint8_t fam[2] = {0, 0};
        uint64_t x[2], y[2], h[2], p[2];
        ok = e->kind != 0 && get_addr(addr->kids[0], &fam[0], &e->addr[0]) &&
             get_addr(addr->kids[1], &fam[1], &e->addr[1]) && fam[0] == fam[1];
        e->family = fam[0];
        for (int i = 0; ok && i < 2; i++) {
            ok = num_u64(port->kids[i], &p[i]) && p[i] <= 65535 && num_u64(pk->kids[i], &x[i]) &&
                 num_u64(by->kids[i], &y[i]) && num_u64(http->kids[i], &h[i]) &&
                 h[i] <= UINT32_MAX;
            if (!ok)
                break;
            e->port[i] = (uint16_t)p[i];
            e->pkts[i] = x[i];
            e->bytes[i] = y[i];
            const cs_jv *q = seq->kids[i];
            uint64_t first, next;
            if (q->kind == 'a' && q->n == 2 && num_u64(q->kids[0], &first) &&
                num_u64(q->kids[1], &next) && first <= UINT32_MAX && next <= UINT32_MAX) {
                e->d[i].seq = true;
                e->d[i].first = (uint32_t)first;
                e->d[i].next_seq = (uint32_t)next;
            } else {
                ok = q->kind == 'z';
            }
        }
        e->http_unanswered = (uint32_t)h[0];
        e->http_orphans = (uint32_t)h[1];
        ok = ok && num_u64(cs_jv_member(v, "stream"), &e->stream) &&
             num_i64(cs_jv_member(v, "start_ns"), &e->start) &&
             num_i64(cs_jv_member(v, "end_ns"), &e->end) &&
             num_i64(cs_jv_member(v, "last_ns"), &e->last_ts) &&
             num_i64(cs_jv_member(v, "syn_ns"), &e->syn_ts) &&
             num_i64(cs_jv_member(v, "synack_ns"), &e->synack_ts) && e->start >= 0 &&
             e->start <= e->end && e->end <= e->last_ts;
        ok = ok && (rtt->kind == 'z' || (num_i64(rtt, &e->rtt_us) && e->rtt_us >= 0));
        if (rtt->kind == 'z')
            e->rtt_us = -1;
        for (const char *c = flags->text; ok && *c != '\0'; c++) {
            const char *k = strchr(letters, *c);
            bool *f[8] = {&e->syn,  &e->synack,  &e->established, &e->closed,
                          &e->eof,  &e->refused, &e->rst,         &e->http};
            ok = k != NULL;
            if (ok)
                *f[k - letters] = true;
        }
    }
    if (!ok)
        rd_fail(r, field, "not an edge connection record (doc/summary-format.md)");
    return ok;
}

static void load_edges(loader *L)
{
    char field[48];
    if (cs_jr_peek(L->jr) == 'n') {
        const cs_jv *v = cs_jr_value(L->jr);
        if (v != NULL && v->kind != 'z')
            rd_fail(&L->r, "edges", "expected an array or null");
        return;
    }
    if (!cs_jr_arr_begin(L->jr)) {
        rd_fail(&L->r, "edges", "expected an array or null");
        return;
    }
    L->edges = g_ptr_array_new_with_free_func(g_free);
    for (uint32_t i = 0; L->r.err == NULL && cs_jr_elem(L->jr) == 1; i++) {
        const cs_jv *v = cs_jr_value(L->jr);
        if (v == NULL)
            return;
        snprintf(field, sizeof field, "edges[%u]", i);
        cs_an_edge *e = g_new(cs_an_edge, 1);
        g_ptr_array_add(L->edges, e);
        get_edge(&L->r, v, e, field);
    }
}

/* "streams" and "stitch". */
static void load_stitch(loader *L, bool streams)
{
    const cs_jv *v = cs_jr_value(L->jr);
    if (v == NULL)
        return;
    if (streams) {
        if (!num_u64(v, &L->streams))
            rd_fail(&L->r, "streams", "expected a non-negative integer");
        return;
    }
    if (v->kind != 'o') {
        rd_fail(&L->r, "stitch", "expected an object");
        return;
    }
    L->stitch.stitched = get_u64(&L->r, v, "stitched", "stitch");
    L->stitch.inexact = get_u64(&L->r, v, "inexact", "stitch");
    L->stitch.http_cut = get_u64(&L->r, v, "http_cut", "stitch");
}

/* The edges of a loaded file go into the merge: stitched to the merge's when it has them; when
 * either side's are unknown, the merge's are unknown from then on. */
static void add_edges(loader *L, cs_analytics *a)
{
    a->stitch.stitched += L->stitch.stitched;
    a->stitch.inexact += L->stitch.inexact;
    a->stitch.http_cut += L->stitch.http_cut;
    if (a->edges != NULL && L->edges != NULL) {
        cs_an_edges_add(a, L->edges, L->streams);
        return;
    }
    a->streams += L->streams;
    if (a->edges != NULL) {
        g_ptr_array_free(a->edges, TRUE);
        a->edges = NULL;
    }
}

/* Member `name` of the document: header members were read by the first pass (skipped here). */
static void load_member(loader *L, const char *name)
{
    cs_analytics *a = L->into->an;
    if (strcmp(name, "buckets") == 0) {
        L->seen[M_BUCKETS] = true;
        load_buckets(L);
    } else if (strcmp(name, "servers") == 0) {
        L->seen[M_SERVERS] = true;
        load_servers(L);
    } else if (strcmp(name, "top") == 0) {
        L->seen[M_TOP] = true;
        load_top(L);
    } else if (strcmp(name, "edges") == 0 && L->edges == NULL) {
        load_edges(L);
    } else if (strcmp(name, "streams") == 0 || strcmp(name, "stitch") == 0) {
        load_stitch(L, name[1] == 't' && name[2] == 'r');
    } else if (strcmp(name, "server_conns") == 0 && L->hdr->version >= 2) {
        L->seen[M_CONNS] = true;
        load_conn_servers(L);
    } else if (strcmp(name, "flow_pkts") == 0 || strcmp(name, "flow_bytes") == 0 ||
               strcmp(name, "untimed") == 0) {
        int m = name[0] == 'u' ? M_UNTIMED : name[5] == 'p' ? M_FLOW_PKTS : M_FLOW_BYTES;
        gchar *key = g_strdup(name);
        const cs_jv *v = cs_jr_value(L->jr);
        if (v == NULL) {
            g_free(key);
            return;
        }
        cs_jv doc = {.kind = 'o', .n = 1, .kids = (const cs_jv *[]){v},
                     .names = (const char *[]){key}};
        L->seen[m] = true;
        if (m == M_UNTIMED) {
            if (need(&L->r, &doc, "untimed", 'o', "") != NULL)
                get_bucket(&L->r, v, &a->untimed, "untimed");
        } else {
            int n = m == M_FLOW_PKTS ? CS_AN_PKT_CLASSES : CS_AN_BYTE_CLASSES;
            uint64_t c[CS_AN_BYTE_CLASSES] = {0};
            get_counts(&L->r, &doc, key, c, n, "");
            uint64_t *dst = m == M_FLOW_PKTS ? a->flow_pkts : a->flow_bytes;
            for (int i = 0; L->r.err == NULL && i < n; i++)
                add_count(&L->r, &dst[i], c[i], "", key);
        }
        g_free(key);
    } else {
        cs_jr_skip(L->jr);
    }
}

bool cs_summary_load(cs_summary_file *sf, cs_summary *into, GError **err)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.r.name = sf->name;
    L.into = into;
    L.hdr = &sf->hdr;
    L.jr = reader_of(sf, err);
    if (L.jr == NULL)
        return false;
    for (int i = 0; i < CS_TOP_TABLES; i++)
        L.top[i] = cs_topk_new(UINT32_MAX); /* every stored key; merging trims to the cap */
    const char *name;
    int k = -1;
    if (cs_jr_obj_begin(L.jr))
        while ((k = cs_jr_member(L.jr, &name)) == 1 && L.r.err == NULL) {
            if (header_member(name))
                cs_jr_skip(L.jr);
            else
                load_member(&L, name);
            if (cs_jr_error(L.jr) != NULL)
                break;
        }
    bool ok = true;
    if (cs_jr_error(L.jr) != NULL || (L.r.err == NULL && k == 0 && !cs_jr_at_end(L.jr))) {
        jr_err(L.jr, sf->name, err);
        ok = false;
    } else {
        static const char *const names[M_COUNT] = {"flow_pkts", "flow_bytes", "untimed",
                                                   "buckets",   "servers",    "top",
                                                   "server_conns"};
        for (int m = 0; m < M_COUNT && L.r.err == NULL; m++)
            if (!L.seen[m] && (m != M_CONNS || sf->hdr.version >= 2))
                rd_fail(&L.r, names[m], m == M_CONNS ? "expected an array or null" : "missing");
        for (int i = 0; i < CS_TOP_TABLES && L.r.err == NULL; i++) {
            const char *over = top_overflow(into->an->top[i], L.top[i]);
            if (over != NULL) {
                gchar *f = g_strdup_printf("top.%s.%s", cs_an_top_names[i], over);
                rd_fail(&L.r, f, "counts add up past 2^64-1");
                g_free(f);
            }
        }
        const char *over = L.r.err == NULL ? cs_summary_total_overflow(into->an) : NULL;
        if (over != NULL)
            rd_fail(&L.r, over, "counts add up past 2^64-1");
        if (L.r.err != NULL && into->loads > 0 && strstr(L.r.err->str, "past 2^64-1") != NULL) {
            /* the file may be fine alone: it is the merge that would wrap */
            set_err(err, CS_SUMMARY_ERROR_MISMATCH,
                    "%s cannot be added (the merge would wrap): %s", sf->name, L.r.err->str);
            ok = false;
        } else if (L.r.err != NULL) {
            set_err(err, CS_SUMMARY_ERROR_FORMAT, "%s: bad summary: %s", sf->name, L.r.err->str);
            ok = false;
        }
    }
    if (ok) {
        cs_analytics *a = into->an;
        for (int i = 0; i < CS_TOP_TABLES; i++)
            cs_topk_merge(a->top[i], L.top[i]);
        if (sf->hdr.first_ts < a->first_ts)
            a->first_ts = sf->hdr.first_ts;
        if (sf->hdr.last_ts > a->last_ts)
            a->last_ts = sf->hdr.last_ts;
        for (guint i = 0; i < sf->hdr.inputs->len; i++)
            cs_analytics_add_input(a, sf->hdr.inputs->pdata[i]);
        /* version 1 has no connections per server: the merge says so rather than print none */
        if (sf->hdr.version < 2 || L.conns_null)
            a->conn_servers_missing = true;
        add_edges(&L, a);
        into->loads++;
        a->last = NULL;
    }
    if (L.r.err != NULL)
        g_string_free(L.r.err, TRUE);
    for (int i = 0; i < CS_TOP_TABLES; i++)
        cs_topk_free(L.top[i]);
    if (L.edges != NULL)
        g_ptr_array_free(L.edges, TRUE);
    cs_jr_free(L.jr);
    return ok;
}

/* ---- one summary, whole --------------------------------------------------------------------- */

static cs_summary *read_whole(cs_summary_file *sf, GError **err)
{
    if (sf == NULL)
        return NULL;
    const cs_summary_header *h = &sf->hdr;
    cs_analytics_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.bucket = h->bucket;
    cfg.max_keys = UINT32_MAX; /* hold every stored key */
    cfg.host = h->host;
    cs_summary *s = cs_summary_new(&cfg);
    s->an->cfg.max_keys = h->max_keys;
    if (!cs_summary_load(sf, s, err)) {
        cs_summary_free(s);
        s = NULL;
    }
    cs_summary_file_close(sf);
    return s;
}

cs_summary *cs_summary_read(const char *path, GError **err)
{
    return read_whole(cs_summary_open(path, err), err);
}

cs_summary *cs_summary_parse(const char *text, size_t len, const char *name, GError **err)
{
    return read_whole(cs_summary_open_mem(text, len, name, err), err);
}
