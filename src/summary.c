/* summary.c - the summary file: writing every analytics aggregate as raw counts, and reading it
 * back with a small JSON reader (integers exact to 64 bits) that checks format, version, layout. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "summary.h"
#include "util.h"

G_DEFINE_QUARK(cs-summary-error-quark, cs_summary_error)

const char *cs_summary_layout(void)
{
    static char id[256];
    if (id[0] == '\0') {
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "hist=loglin/exact%d/sub%d;pkts=", CS_HIST_EXACT,
                               1 << CS_HIST_SUB_BITS);
        for (int i = 0; i < CS_AN_PKT_CLASSES - 1; i++)
            g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                                   (guint64)cs_an_pkt_upper[i]);
        g_string_append(s, ";bytes=");
        for (int i = 0; i < CS_AN_BYTE_CLASSES - 1; i++)
            g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                                   (guint64)cs_an_byte_upper[i]);
        g_strlcpy(id, s->str, sizeof id);
        g_string_free(s, TRUE);
    }
    return id;
}

/* ---- writing --------------------------------------------------------------------------------- */

static void w_hist(cs_json *j, const char *key, const cs_hist *h)
{
    cs_json_obj_begin(j, key);
    cs_json_uint(j, "n", h->n);
    if (h->n > 0) {
        cs_json_uint(j, "min", h->min);
        cs_json_uint(j, "max", h->max);
        cs_json_double(j, "sum", h->sum, 0);
    }
    cs_json_arr_begin(j, "bins");
    for (uint32_t i = 0; i < h->len; i++) {
        cs_json_arr_begin(j, NULL);
        cs_json_uint(j, NULL, cs_hist_bin_low(h->bins[i]));
        cs_json_uint(j, NULL, h->counts[i]);
        cs_json_arr_end(j);
    }
    cs_json_arr_end(j);
    cs_json_obj_end(j);
}

static void w_bucket_fields(cs_json *j, const cs_an_bucket *b)
{
    cs_json_uint(j, "conns", b->conns);
    cs_json_uint(j, "syn_pkts", b->syn_pkts);
    cs_json_uint(j, "requests", b->requests);
    cs_json_arr_begin(j, "status_class");
    for (int i = 0; i < 6; i++)
        cs_json_uint(j, NULL, b->status_class[i]);
    cs_json_arr_end(j);
    cs_json_uint(j, "unanswered", b->unanswered);
    cs_json_uint(j, "orphans", b->orphans);
    cs_json_uint(j, "bytes_c2s", b->bytes_c2s);
    cs_json_uint(j, "bytes_s2c", b->bytes_s2c);
    w_hist(j, "ttfb_us", &b->ttfb_us);
    w_hist(j, "total_us", &b->total_us);
}

/* Starts a fresh one-element writer on `tmp` (the element goes on its own line). */
static cs_json *elem(cs_json *j, GString *tmp)
{
    g_string_truncate(tmp, 0);
    cs_json_init(j, tmp);
    return j;
}

/* Appends tmp (a complete top-level value, maybe with a trailing newline) as an array element. */
static void put_elem(GString *out, GString *tmp, bool *first)
{
    if (tmp->len > 0 && tmp->str[tmp->len - 1] == '\n')
        g_string_truncate(tmp, tmp->len - 1);
    g_string_append(out, *first ? "\n  " : ",\n  ");
    g_string_append_len(out, tmp->str, (gssize)tmp->len);
    *first = false;
}

static void w_addr(cs_json *j, const char *key, uint8_t family, const cs_addr *a)
{
    char buf[64];
    cs_json_str(j, key, cs_addr_str(a, family, buf, sizeof buf));
}

static void w_top(GString *out, GString *tmp, const char *name, const cs_topk *t, bool pairs,
                  bool first_member)
{
    cs_json j;
    g_string_append_printf(
        out,
        "%s\n\"%s\":{\"approx\":%s,\"floor\":%" G_GUINT64_FORMAT ",\"total\":%" G_GUINT64_FORMAT
        ",\"evictions\":%" G_GUINT64_FORMAT ",\"keys\":[",
        first_member ? "" : ",", name, cs_topk_approx(t) ? "true" : "false",
        (guint64)cs_topk_floor(t), (guint64)cs_topk_total(t), (guint64)cs_topk_evictions(t));
    GPtrArray *all = cs_topk_sorted(t);
    bool first = true;
    for (guint i = 0; i < all->len; i++) {
        const cs_topk_entry *e = all->pdata[i];
        uint8_t family;
        cs_addr addr;
        if (!cs_an_key_decode(e->key, e->len, &family, &addr, NULL, 0))
            continue;
        elem(&j, tmp);
        cs_json_arr_begin(&j, NULL);
        w_addr(&j, NULL, family, &addr);
        if (pairs) {
            const char *what = (const char *)e->key + 17;
            size_t n = e->len - 17;
            bool plain = g_utf8_validate(what, (gssize)n, NULL);
            if (plain) {
                cs_json_strn(&j, NULL, what, n);
            } else { /* not UTF-8: bytes as hex, so that they read back unchanged */
                char *hex = g_malloc(2 * n + 1);
                cs_json_obj_begin(&j, NULL);
                cs_json_str(&j, "hex", cs_hex((const uint8_t *)what, n, hex));
                cs_json_obj_end(&j);
                g_free(hex);
            }
        }
        cs_json_uint(&j, NULL, e->count);
        cs_json_uint(&j, NULL, e->error);
        cs_json_arr_end(&j);
        put_elem(out, tmp, &first);
    }
    g_ptr_array_free(all, TRUE);
    g_string_append(out, first ? "]}" : "\n  ]}");
}

void cs_summary_format(const cs_analytics *a, const char *generator, GString *out)
{
    GString *tmp = g_string_new(NULL);
    cs_json j;
    bool first;
    char ip[64];

    elem(&j, tmp);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "format", CS_SUMMARY_FORMAT);
    cs_json_uint(&j, "version", CS_SUMMARY_VERSION);
    cs_json_str(&j, "layout", cs_summary_layout());
    cs_json_str(&j, "generator", generator);
    cs_json_int(&j, "bucket_ns", a->cfg.bucket);
    if (a->cfg.host.on)
        cs_json_str(&j, "host", cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    else
        cs_json_null(&j, "host");
    cs_json_uint(&j, "max_keys", a->cfg.max_keys);
    if (a->first_ts <= a->last_ts) {
        cs_json_int(&j, "first_ts_ns", a->first_ts);
        cs_json_int(&j, "last_ts_ns", a->last_ts);
    } else {
        cs_json_null(&j, "first_ts_ns");
        cs_json_null(&j, "last_ts_ns");
    }
    cs_json_arr_begin(&j, "flow_pkts");
    for (int i = 0; i < CS_AN_PKT_CLASSES; i++)
        cs_json_uint(&j, NULL, a->flow_pkts[i]);
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, "flow_bytes");
    for (int i = 0; i < CS_AN_BYTE_CLASSES; i++)
        cs_json_uint(&j, NULL, a->flow_bytes[i]);
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, "inputs");
    for (guint i = 0; i < a->inputs->len; i++)
        cs_json_str(&j, NULL, a->inputs->pdata[i]);
    cs_json_arr_end(&j);
    cs_json_obj_begin(&j, "untimed");
    w_bucket_fields(&j, &a->untimed);
    cs_json_obj_end(&j);
    cs_json_obj_end(&j);
    /* the scalar members on the first line; the long lists below, one element per line */
    g_string_truncate(tmp, tmp->len - 2); /* "}\n" */
    g_string_append_len(out, tmp->str, (gssize)tmp->len);

    g_string_append(out, ",\n\"buckets\":[");
    GPtrArray *bs = cs_analytics_buckets_sorted(a);
    first = true;
    for (guint i = 0; i < bs->len; i++) {
        const cs_an_bucket *b = bs->pdata[i];
        elem(&j, tmp);
        cs_json_obj_begin(&j, NULL);
        cs_json_int(&j, "start_ns", b->start);
        w_bucket_fields(&j, b);
        cs_json_obj_end(&j);
        put_elem(out, tmp, &first);
    }
    g_ptr_array_free(bs, TRUE);
    g_string_append(out, first ? "]" : "\n  ]");

    g_string_append(out, ",\n\"servers\":[");
    GPtrArray *ss = cs_analytics_servers_sorted(a);
    first = true;
    for (guint i = 0; i < ss->len; i++) {
        const cs_an_server *s = ss->pdata[i];
        elem(&j, tmp);
        cs_json_obj_begin(&j, NULL);
        w_addr(&j, "addr", s->family, &s->addr);
        cs_json_uint(&j, "port", s->port);
        w_hist(&j, "ttfb_us", &s->ttfb_us);
        w_hist(&j, "total_us", &s->total_us);
        cs_json_obj_end(&j);
        put_elem(out, tmp, &first);
    }
    g_ptr_array_free(ss, TRUE);
    g_string_append(out, first ? "]" : "\n  ]");

    g_string_append(out, ",\n\"top\":{");
    for (int ti = 0; ti < CS_TOP_TABLES; ti++)
        w_top(out, tmp, cs_an_top_names[ti], a->top[ti], ti == CS_TOP_CLIENT_REQUEST, ti == 0);
    g_string_append(out, "}\n}\n");
    g_string_free(tmp, TRUE);
}

bool cs_summary_write(const cs_analytics *a, const char *path, const char *generator, GError **err)
{
    GString *s = g_string_new(NULL);
    cs_summary_format(a, generator, s);
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    bool ok = f != NULL;
    if (ok) {
        ok = fwrite(s->str, 1, s->len, f) == s->len;
        ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
    }
    if (!ok)
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_IO, "%s: cannot write the summary: %s",
                    path, g_strerror(errno));
    g_string_free(s, TRUE);
    return ok;
}

/* ---- a small JSON reader --------------------------------------------------------------------- */

/* A parsed value. Numbers keep their text so that 64-bit integers convert exactly. */
typedef struct jv {
    char kind; /* 'z' null, 'b' bool, 'n' number, 's' string, 'a' array, 'o' object */
    bool b;
    char *text;       /* number token or string bytes (NUL-terminated, may contain NUL) */
    size_t len;
    GPtrArray *items; /* array elements / object values (jv*) */
    GPtrArray *names; /* object member names (gchar*) */
} jv;

static void jv_free(gpointer p)
{
    jv *v = p;
    if (v == NULL)
        return;
    g_free(v->text);
    if (v->items != NULL)
        g_ptr_array_free(v->items, TRUE);
    if (v->names != NULL)
        g_ptr_array_free(v->names, TRUE);
    g_free(v);
}

typedef struct jparser {
    const char *p, *end, *start;
    const char *err; /* first error */
    const char *err_at;
    int depth;
} jparser;

static void jfail(jparser *jp, const char *msg)
{
    if (jp->err == NULL) {
        jp->err = msg;
        jp->err_at = jp->p;
    }
}

static void skip_ws(jparser *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static jv *parse_value(jparser *jp);

static bool read_u4(jparser *jp, uint32_t *cp)
{
    if (jp->end - jp->p < 4) {
        jfail(jp, "bad \\u escape");
        return false;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = g_ascii_xdigit_value(jp->p[i]);
        if (h < 0) {
            jfail(jp, "bad \\u escape");
            return false;
        }
        v = v * 16 + (uint32_t)h;
    }
    jp->p += 4;
    *cp = v;
    return true;
}

/* Parses a string at jp->p (on the quote) into a new GString. */
static GString *parse_string(jparser *jp)
{
    GString *s = g_string_new(NULL);
    jp->p++;
    while (jp->p < jp->end && *jp->p != '"') {
        unsigned char c = (unsigned char)*jp->p;
        if (c < 0x20) {
            jfail(jp, "control character in a string");
            break;
        }
        if (c != '\\') {
            g_string_append_c(s, (char)c);
            jp->p++;
            continue;
        }
        jp->p++;
        if (jp->p >= jp->end)
            break;
        char e = *jp->p++;
        switch (e) {
        case '"': g_string_append_c(s, '"'); break;
        case '\\': g_string_append_c(s, '\\'); break;
        case '/': g_string_append_c(s, '/'); break;
        case 'b': g_string_append_c(s, '\b'); break;
        case 'f': g_string_append_c(s, '\f'); break;
        case 'n': g_string_append_c(s, '\n'); break;
        case 'r': g_string_append_c(s, '\r'); break;
        case 't': g_string_append_c(s, '\t'); break;
        case 'u': {
            uint32_t cp, lo;
            if (!read_u4(jp, &cp))
                break;
            if (cp >= 0xd800 && cp < 0xdc00 && jp->end - jp->p >= 6 && jp->p[0] == '\\' &&
                jp->p[1] == 'u') {
                jp->p += 2;
                if (!read_u4(jp, &lo))
                    break;
                if (lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp >= 0xd800 && cp < 0xe000) {
                jfail(jp, "bad \\u escape (lone surrogate)");
                break;
            }
            g_string_append_unichar(s, (gunichar)cp);
            break;
        }
        default:
            jfail(jp, "bad escape in a string");
        }
        if (jp->err != NULL)
            break;
    }
    if (jp->err == NULL && jp->p >= jp->end)
        jfail(jp, "unterminated string");
    else if (jp->err == NULL)
        jp->p++; /* closing quote */
    return s;
}

static jv *parse_number(jparser *jp)
{
    const char *q = jp->p;
    if (q < jp->end && *q == '-')
        q++;
    const char *digits = q;
    while (q < jp->end && g_ascii_isdigit(*q))
        q++;
    if (q == digits) {
        jfail(jp, "unexpected character");
        return NULL;
    }
    if (q < jp->end && *q == '.') {
        q++;
        while (q < jp->end && g_ascii_isdigit(*q))
            q++;
    }
    if (q < jp->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < jp->end && (*q == '+' || *q == '-'))
            q++;
        while (q < jp->end && g_ascii_isdigit(*q))
            q++;
    }
    jv *v = g_new0(jv, 1);
    v->kind = 'n';
    v->text = g_strndup(jp->p, (gsize)(q - jp->p));
    v->len = (size_t)(q - jp->p);
    jp->p = q;
    return v;
}

static bool literal(jparser *jp, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) >= n && memcmp(jp->p, word, n) == 0) {
        jp->p += n;
        return true;
    }
    return false;
}

static jv *parse_container(jparser *jp, bool object)
{
    jv *v = g_new0(jv, 1);
    v->kind = object ? 'o' : 'a';
    v->items = g_ptr_array_new_with_free_func(jv_free);
    if (object)
        v->names = g_ptr_array_new_with_free_func(g_free);
    if (++jp->depth > 64) {
        jfail(jp, "nested too deeply");
        return v;
    }
    jp->p++;
    skip_ws(jp);
    char close = object ? '}' : ']';
    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        jp->depth--;
        return v;
    }
    while (jp->err == NULL) {
        skip_ws(jp);
        if (object) {
            if (jp->p >= jp->end || *jp->p != '"') {
                jfail(jp, "expected a member name");
                break;
            }
            GString *name = parse_string(jp);
            g_ptr_array_add(v->names, g_string_free(name, FALSE));
            skip_ws(jp);
            if (jp->p >= jp->end || *jp->p != ':') {
                jfail(jp, "expected ':'");
                break;
            }
            jp->p++;
        }
        jv *item = parse_value(jp);
        if (item == NULL)
            break;
        g_ptr_array_add(v->items, item);
        skip_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            break;
        }
        jfail(jp, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    jp->depth--;
    return v;
}

static jv *parse_value(jparser *jp)
{
    skip_ws(jp);
    if (jp->p >= jp->end) {
        jfail(jp, "unexpected end of input");
        return NULL;
    }
    char c = *jp->p;
    if (c == '{' || c == '[')
        return parse_container(jp, c == '{');
    if (c == '"') {
        GString *s = parse_string(jp);
        jv *v = g_new0(jv, 1);
        v->kind = 's';
        v->len = s->len;
        v->text = g_string_free(s, FALSE);
        return v;
    }
    jv *v;
    if (literal(jp, "true") || literal(jp, "false")) {
        v = g_new0(jv, 1);
        v->kind = 'b';
        v->b = jp->p[-1] == 'e' && jp->p[-2] == 'u';
        return v;
    }
    if (literal(jp, "null")) {
        v = g_new0(jv, 1);
        v->kind = 'z';
        return v;
    }
    return parse_number(jp);
}

/* ---- reading a summary ----------------------------------------------------------------------- */

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

static const jv *member(const jv *o, const char *name)
{
    if (o == NULL || o->kind != 'o')
        return NULL;
    for (guint i = 0; i < o->names->len; i++)
        if (strcmp(o->names->pdata[i], name) == 0)
            return o->items->pdata[i];
    return NULL;
}

static const jv *need(rd *r, const jv *o, const char *name, char kind, const char *field)
{
    const jv *v = member(o, name);
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

/* Converts a number token to uint64 (non-negative integer) or int64. */
static bool num_u64(const jv *v, uint64_t *out)
{
    if (v == NULL || v->kind != 'n' || v->text[0] == '-' || strpbrk(v->text, ".eE") != NULL)
        return false;
    errno = 0;
    char *end;
    guint64 x = g_ascii_strtoull(v->text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = x;
    return true;
}

static bool num_i64(const jv *v, int64_t *out)
{
    if (v == NULL || v->kind != 'n' || strpbrk(v->text, ".eE") != NULL)
        return false;
    errno = 0;
    char *end;
    gint64 x = g_ascii_strtoll(v->text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = x;
    return true;
}

static uint64_t get_u64(rd *r, const jv *o, const char *name, const char *field)
{
    uint64_t x = 0;
    const jv *v = member(o, name);
    if (!num_u64(v, &x)) {
        gchar *f = g_strdup_printf("%s.%s", field, name);
        rd_fail(r, f, v == NULL ? "missing" : "expected a non-negative integer");
        g_free(f);
    }
    return x;
}

static void get_counts(rd *r, const jv *o, const char *name, uint64_t *out, int n,
                       const char *field)
{
    const jv *a = need(r, o, name, 'a', field);
    if (a == NULL)
        return;
    if ((int)a->items->len != n) {
        gchar *f = g_strdup_printf("%s.%s", field, name);
        rd_fail(r, f, "wrong number of counts");
        g_free(f);
        return;
    }
    for (int i = 0; i < n; i++)
        if (!num_u64(a->items->pdata[i], &out[i])) {
            gchar *f = g_strdup_printf("%s.%s[%d]", field, name, i);
            rd_fail(r, f, "expected a non-negative integer");
            g_free(f);
        }
}

static void get_hist(rd *r, const jv *o, const char *name, cs_hist *h, const char *field)
{
    gchar *f = g_strdup_printf("%s.%s", field, name);
    const jv *v = need(r, o, name, 'o', field);
    const jv *bins = v != NULL ? need(r, v, "bins", 'a', f) : NULL;
    if (bins == NULL) {
        g_free(f);
        return;
    }
    uint64_t n = get_u64(r, v, "n", f), sum = 0, prev = 0;
    for (guint i = 0; i < bins->items->len; i++) {
        const jv *p = bins->items->pdata[i];
        uint64_t low, count;
        if (p->kind != 'a' || p->items->len != 2 || !num_u64(p->items->pdata[0], &low) ||
            !num_u64(p->items->pdata[1], &count) || count == 0) {
            rd_fail(r, f, "a bin is not [low edge, count > 0]");
            break;
        }
        uint32_t bin = cs_hist_bin(low);
        if (cs_hist_bin_low(bin) != low || (i > 0 && low <= prev)) {
            rd_fail(r, f, "a bin edge is not a bin of this histogram layout, or out of order");
            break;
        }
        prev = low;
        cs_hist_add(h, low, count);
        sum += count;
    }
    if (r->err == NULL && sum != n)
        rd_fail(r, f, "n is not the sum of the bin counts");
    if (r->err == NULL && n > 0) {
        uint64_t mn = get_u64(r, v, "min", f), mx = get_u64(r, v, "max", f);
        const jv *s = member(v, "sum");
        double dsum = s != NULL && s->kind == 'n' ? g_ascii_strtod(s->text, NULL) : -1;
        if (r->err == NULL &&
            (mn > mx || cs_hist_bin(mn) != h->bins[0] || cs_hist_bin(mx) != h->bins[h->len - 1]))
            rd_fail(r, f, "min/max do not fall in the first/last bin");
        if (r->err == NULL && dsum < 0)
            rd_fail(r, f, "sum: expected a non-negative number");
        h->min = mn;
        h->max = mx;
        h->sum = dsum;
    }
    g_free(f);
}

static void get_bucket(rd *r, const jv *o, cs_an_bucket *b, const char *field)
{
    b->conns += get_u64(r, o, "conns", field);
    b->syn_pkts += get_u64(r, o, "syn_pkts", field);
    b->requests += get_u64(r, o, "requests", field);
    uint64_t sc[6] = {0};
    get_counts(r, o, "status_class", sc, 6, field);
    for (int i = 0; i < 6; i++)
        b->status_class[i] += sc[i];
    b->unanswered += get_u64(r, o, "unanswered", field);
    b->orphans += get_u64(r, o, "orphans", field);
    b->bytes_c2s += get_u64(r, o, "bytes_c2s", field);
    b->bytes_s2c += get_u64(r, o, "bytes_s2c", field);
    cs_hist h;
    memset(&h, 0, sizeof h);
    get_hist(r, o, "ttfb_us", &h, field);
    cs_hist_merge(&b->ttfb_us, &h);
    cs_hist_clear(&h);
    get_hist(r, o, "total_us", &h, field);
    cs_hist_merge(&b->total_us, &h);
    cs_hist_clear(&h);
}

static bool get_addr(const jv *v, uint8_t *family, cs_addr *a)
{
    cs_host_filter f;
    if (v == NULL || v->kind != 's' || !cs_host_filter_parse(&f, v->text))
        return false;
    *family = f.family;
    *a = f.addr;
    return true;
}

static void get_top(rd *r, const jv *top, const char *name, cs_topk *t, bool pairs)
{
    gchar *f = g_strdup_printf("top.%s", name);
    const jv *o = need(r, top, name, 'o', "top");
    const jv *keys = o != NULL ? need(r, o, "keys", 'a', f) : NULL;
    const jv *approx = member(o, "approx");
    if (keys == NULL || approx == NULL || approx->kind != 'b') {
        if (keys != NULL)
            rd_fail(r, f, "approx: expected true or false");
        g_free(f);
        return;
    }
    uint64_t floor = get_u64(r, o, "floor", f), total = get_u64(r, o, "total", f);
    uint64_t evictions = get_u64(r, o, "evictions", f);
    guint want = pairs ? 4 : 3;
    uint64_t sum = 0;
    for (guint i = 0; i < keys->items->len && r->err == NULL; i++) {
        const jv *k = keys->items->pdata[i];
        uint8_t family;
        cs_addr addr;
        uint64_t count, error;
        if (k->kind != 'a' || k->items->len != want ||
            !get_addr(k->items->pdata[0], &family, &addr) ||
            !num_u64(k->items->pdata[want - 2], &count) ||
            !num_u64(k->items->pdata[want - 1], &error) || error > count) {
            rd_fail(r, f, pairs ? "a key is not [address, request, count, error <= count]"
                                : "a key is not [address, count, error <= count]");
            break;
        }
        GString *what = g_string_new(NULL);
        if (pairs) {
            const jv *w = k->items->pdata[1];
            const jv *hex = member(w, "hex");
            if (w->kind == 's') {
                g_string_append_len(what, w->text, (gssize)w->len);
            } else if (hex != NULL && hex->kind == 's' && hex->len % 2 == 0) {
                g_string_set_size(what, hex->len / 2);
                if (!cs_unhex(hex->text, hex->len / 2, (uint8_t *)what->str))
                    rd_fail(r, f, "bad hex request");
            } else {
                rd_fail(r, f, "a request is not a string or {\"hex\": ...}");
            }
        }
        uint8_t *key = g_malloc(17 + what->len);
        key[0] = family;
        memcpy(key + 1, addr.b, 16);
        memcpy(key + 17, what->str, what->len);
        cs_topk_load(t, key, (uint32_t)(17 + what->len), count, error);
        g_free(key);
        g_string_free(what, TRUE);
        sum += count - error;
    }
    if (r->err == NULL && !approx->b && sum != total)
        rd_fail(r, f, "exact table whose counts do not add up to total");
    cs_topk_load_bounds(t, approx->b, floor, total, evictions);
    g_free(f);
}

static cs_analytics *from_doc(const jv *doc, const char *name, GError **err)
{
    const jv *fmt = member(doc, "format"), *ver = member(doc, "version");
    const jv *layout = member(doc, "layout");
    uint64_t version = 0;
    if (doc->kind != 'o' || fmt == NULL || fmt->kind != 's' ||
        strcmp(fmt->text, CS_SUMMARY_FORMAT) != 0) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_FORMAT,
                    "%s: not a connscope summary (no \"format\": \"" CS_SUMMARY_FORMAT "\")", name);
        return NULL;
    }
    if (!num_u64(ver, &version) || version != CS_SUMMARY_VERSION) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_VERSION,
                    "%s: summary format version %s; this connscope reads version %d only", name,
                    ver != NULL && ver->kind == 'n' ? ver->text : "(missing)", CS_SUMMARY_VERSION);
        return NULL;
    }
    if (layout == NULL || layout->kind != 's' || strcmp(layout->text, cs_summary_layout()) != 0) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_LAYOUT,
                    "%s: histogram/flow-class layout \"%s\" differs from this connscope's \"%s\": "
                    "its bins cannot be added exactly",
                    name, layout != NULL && layout->kind == 's' ? layout->text : "(missing)",
                    cs_summary_layout());
        return NULL;
    }
    rd r = {.name = name};
    cs_analytics_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    int64_t width = 0;
    if (!num_i64(member(doc, "bucket_ns"), &width) || width <= 0)
        rd_fail(&r, "bucket_ns", "expected a positive integer");
    cfg.bucket = width;
    uint64_t mk = get_u64(&r, doc, "max_keys", "");
    cfg.max_keys = mk == 0 || mk > UINT32_MAX ? UINT32_MAX : (uint32_t)mk;
    const jv *host = member(doc, "host");
    if (host == NULL || (host->kind != 'z' && (host->kind != 's' ||
                                               !cs_host_filter_parse(&cfg.host, host->text))))
        rd_fail(&r, "host", "expected null or an IP address");
    cs_analytics_cfg load = cfg;
    load.max_keys = UINT32_MAX; /* hold every stored key; merging trims to the merge's cap */
    cs_analytics *a = cs_analytics_new(&load);
    a->cfg.max_keys = cfg.max_keys;
    const jv *t0 = member(doc, "first_ts_ns"), *t1 = member(doc, "last_ts_ns");
    if (t0 != NULL && t0->kind != 'z') {
        if (!num_i64(t0, &a->first_ts) || !num_i64(t1, &a->last_ts) || a->first_ts > a->last_ts)
            rd_fail(&r, "first_ts_ns/last_ts_ns", "expected null, or integers first <= last");
    }
    get_counts(&r, doc, "flow_pkts", a->flow_pkts, CS_AN_PKT_CLASSES, "");
    get_counts(&r, doc, "flow_bytes", a->flow_bytes, CS_AN_BYTE_CLASSES, "");
    const jv *inputs = member(doc, "inputs");
    for (guint i = 0; inputs != NULL && inputs->kind == 'a' && i < inputs->items->len; i++) {
        const jv *s = inputs->items->pdata[i];
        if (s->kind == 's')
            cs_analytics_add_input(a, s->text);
    }
    const jv *untimed = need(&r, doc, "untimed", 'o', "");
    if (untimed != NULL)
        get_bucket(&r, untimed, &a->untimed, "untimed");
    const jv *buckets = need(&r, doc, "buckets", 'a', "");
    for (guint i = 0; buckets != NULL && i < buckets->items->len && r.err == NULL; i++) {
        const jv *b = buckets->items->pdata[i];
        char field[48];
        snprintf(field, sizeof field, "buckets[%u]", i);
        int64_t start;
        /* never negative (capture times are not): aligning a negative start to a coarser
         * --bucket in merge, and the span between buckets, would overflow int64 */
        if (!num_i64(member(b, "start_ns"), &start) || width <= 0 || start < 0 ||
            start % width != 0) {
            rd_fail(&r, field, "start_ns: expected a non-negative multiple of bucket_ns");
            break;
        }
        get_bucket(&r, b, cs_analytics_bucket(a, start), field);
    }
    const jv *servers = need(&r, doc, "servers", 'a', "");
    for (guint i = 0; servers != NULL && i < servers->items->len && r.err == NULL; i++) {
        const jv *s = servers->items->pdata[i];
        char field[48];
        snprintf(field, sizeof field, "servers[%u]", i);
        uint8_t family;
        cs_addr addr;
        uint64_t port = get_u64(&r, s, "port", field);
        const jv *av = member(s, "addr");
        bool other = av != NULL && av->kind == 's' && strcmp(av->text, "(other)") == 0;
        if (other) { /* the servers beyond the run's --max-keys, folded into one row */
            family = 0;
            memset(&addr, 0, sizeof addr);
        }
        if ((!other && !get_addr(av, &family, &addr)) || port > 65535) {
            rd_fail(&r, field, "addr/port: expected an IP address (or \"(other)\") and a port");
            break;
        }
        cs_an_server *sv = cs_analytics_server(a, family, &addr, (uint16_t)port);
        get_hist(&r, s, "ttfb_us", &sv->ttfb_us, field);
        get_hist(&r, s, "total_us", &sv->total_us, field);
    }
    const jv *top = need(&r, doc, "top", 'o', "");
    if (top != NULL) {
        for (int ti = 0; ti < CS_TOP_TABLES; ti++)
            get_top(&r, top, cs_an_top_names[ti], a->top[ti], ti == CS_TOP_CLIENT_REQUEST);
    }
    if (r.err != NULL) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_FORMAT, "%s: bad summary: %s", name,
                    r.err->str);
        g_string_free(r.err, TRUE);
        cs_analytics_free(a);
        return NULL;
    }
    return a;
}

cs_analytics *cs_summary_parse(const char *text, size_t len, const char *name, GError **err)
{
    jparser jp = {.p = text, .end = text + len, .start = text};
    jv *doc = parse_value(&jp);
    skip_ws(&jp);
    if (jp.err == NULL && jp.p != jp.end)
        jfail(&jp, "text after the JSON value");
    if (jp.err != NULL) {
        int line = 1;
        for (const char *q = jp.start; q < jp.err_at && q < jp.end; q++)
            line += *q == '\n';
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_SYNTAX,
                    "%s: not valid JSON (line %d: %s)", name, line, jp.err);
        jv_free(doc);
        return NULL;
    }
    cs_analytics *a = from_doc(doc, name, err);
    jv_free(doc);
    return a;
}

cs_analytics *cs_summary_read(const char *path, GError **err)
{
    gchar *text = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, &len, &e)) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_IO, "%s", e->message);
        g_error_free(e);
        return NULL;
    }
    cs_analytics *a = cs_summary_parse(text, len, path, err);
    g_free(text);
    return a;
}

bool cs_summary_compatible(const cs_analytics *into, const cs_analytics *part, const char *name,
                           GError **err)
{
    char w0[32], w1[32], h0[64], h1[64];
    if (into->cfg.bucket % part->cfg.bucket != 0) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_MISMATCH,
                    "%s has buckets of %s, which do not divide buckets of %s (give --bucket with a "
                    "common multiple)",
                    name, cs_fmt_duration_exact(part->cfg.bucket, w1, sizeof w1),
                    cs_fmt_duration_exact(into->cfg.bucket, w0, sizeof w0));
        return false;
    }
    const cs_host_filter *a = &into->cfg.host, *b = &part->cfg.host;
    if (a->on != b->on ||
        (a->on && (a->family != b->family || memcmp(&a->addr, &b->addr, 16) != 0))) {
        g_set_error(err, CS_SUMMARY_ERROR, CS_SUMMARY_ERROR_MISMATCH,
                    "%s is narrowed to %s, the merge to %s: summaries of different --host cannot "
                    "be merged",
                    name, b->on ? cs_addr_str(&b->addr, b->family, h1, sizeof h1) : "no host",
                    a->on ? cs_addr_str(&a->addr, a->family, h0, sizeof h0) : "no host");
        return false;
    }
    return true;
}
