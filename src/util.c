/* util.c - small formatting helpers shared by the report writers (addresses, times, sizes).
 * Nothing here is on the per-packet path. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

char *cs_addr_str(const cs_addr *addr, int family, char *buf, size_t len)
{
    if (family == 0) {
        snprintf(buf, len, "(other)");
        return buf;
    }
    if (family == 4 && len >= 16) { /* by hand: glibc's inet_ntop formats IPv4 with sprintf */
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = addr->b[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = i < 3 ? '.' : '\0';
        }
        return buf;
    }
    if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr->b, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

char *cs_endpoint_str(const cs_addr *addr, int family, uint16_t port, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];
    if (family == 0) { /* the entry that collects keys beyond --max-keys */
        snprintf(buf, len, "(other)");
        return buf;
    }
    cs_addr_str(addr, family, a, sizeof a);
    if (family == 6)
        snprintf(buf, len, "[%s]:%u", a, port);
    else
        snprintf(buf, len, "%s:%u", a, port);
    return buf;
}

char *cs_fmt_duration(cs_time_t ns, char *buf, size_t len)
{
    double v = (double)ns;
    /* from 10 minutes on, whole seconds (rounded) in units a reader adds up at a glance */
    int64_t s = ns / CS_NS_PER_S + (ns % CS_NS_PER_S >= CS_NS_PER_S / 2);
    if (ns < 0)
        snprintf(buf, len, "-");
    else if (ns < 1000 * CS_NS_PER_US)
        snprintf(buf, len, "%.0fus", v / 1e3);
    else if (ns < 1000 * CS_NS_PER_MS)
        snprintf(buf, len, "%.1fms", v / 1e6);
    else if (ns < 600 * CS_NS_PER_S)
        snprintf(buf, len, "%.2fs", v / 1e9);
    else if (s < 3600)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m%02" PRId64 "s", s / 3600, s / 60 % 60,
                 s % 60);
    else
        snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
    return buf;
}

char *cs_fmt_bytes(uint64_t n, char *buf, size_t len)
{
    if (n < 1024)
        snprintf(buf, len, "%" PRIu64 "B", n);
    else if (n < 1024 * 1024)
        snprintf(buf, len, "%.1fKB", (double)n / 1024.0);
    else if (n < UINT64_C(1024) * 1024 * 1024)
        snprintf(buf, len, "%.1fMB", (double)n / (1024.0 * 1024.0));
    else
        snprintf(buf, len, "%.2fGB", (double)n / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

char *cs_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

bool cs_unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(s[2 * i]);
        int lo = hi < 0 ? -1 : g_ascii_xdigit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

char *cs_fmt_time(cs_time_t ns, char *buf, size_t len)
{
    time_t sec = (time_t)(ns / CS_NS_PER_S);
    long us = (long)((ns % CS_NS_PER_S) / CS_NS_PER_US);
    struct tm tm;
    if (ns < 0 || gmtime_r(&sec, &tm) == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }
    size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ld", us);
    return buf;
}

char *cs_fmt_time_short(cs_time_t ns, char *buf, size_t len)
{
    cs_fmt_time(ns, buf, len);
    char *dot = strrchr(buf, '.');
    if (ns % CS_NS_PER_S == 0 && dot != NULL)
        *dot = '\0';
    return buf;
}

void cs_table_init(cs_table *t, const char *align)
{
    t->ncols = (guint)strlen(align);
    t->align = align;
    t->cells = g_ptr_array_new_with_free_func(g_free);
}

void cs_table_row(cs_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gchar **parts = g_strsplit(line, "\t", -1);
    guint n = g_strv_length(parts);
    for (guint i = 0; i < t->ncols; i++)
        g_ptr_array_add(t->cells, g_strdup(i < n ? parts[i] : ""));
    g_strfreev(parts);
    g_free(line);
}

void cs_table_print(cs_table *t, FILE *out)
{
    guint nrows = t->cells->len / t->ncols;
    size_t *w = g_new0(size_t, t->ncols);
    for (guint r = 0; r < nrows; r++)
        for (guint c = 0; c < t->ncols; c++) {
            size_t l = g_utf8_strlen(g_ptr_array_index(t->cells, r * t->ncols + c), -1);
            if (l > w[c])
                w[c] = l;
        }
    GString *line = g_string_new(NULL);
    for (guint r = 0; r < nrows; r++) {
        g_string_assign(line, "  ");
        for (guint c = 0; c < t->ncols; c++) {
            const char *cell = g_ptr_array_index(t->cells, r * t->ncols + c);
            size_t pad = w[c] - g_utf8_strlen(cell, -1);
            if (c > 0)
                g_string_append(line, "  ");
            if (t->align[c] == 'r')
                for (size_t i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
            g_string_append(line, cell);
            if (t->align[c] != 'r' && c + 1 < t->ncols)
                for (size_t i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
        }
        while (line->len > 0 && line->str[line->len - 1] == ' ')
            g_string_truncate(line, line->len - 1);
        fprintf(out, "%s\n", line->str);
    }
    g_string_free(line, TRUE);
    g_free(w);
    g_ptr_array_free(t->cells, TRUE);
}

bool cs_parse_addr_port(const char *text, uint8_t *family, cs_addr *addr, int32_t *port)
{
    char host[64];
    const char *p = NULL;
    memset(addr, 0, sizeof *addr);
    *port = -1;
    if (text[0] == '[') { /* [v6] or [v6]:port */
        const char *end = strchr(text, ']');
        if (end == NULL || (size_t)(end - text - 1) >= sizeof host)
            return false;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            p = end + 2;
        else if (end[1] != '\0')
            return false;
    } else {
        const char *colon = strchr(text, ':');
        bool v6 = colon != NULL && strchr(colon + 1, ':') != NULL; /* bare IPv6: no port */
        size_t n = (!v6 && colon != NULL) ? (size_t)(colon - text) : strlen(text);
        if (n >= sizeof host)
            return false;
        memcpy(host, text, n);
        host[n] = '\0';
        if (!v6 && colon != NULL)
            p = colon + 1;
    }
    if (inet_pton(AF_INET, host, addr->b) == 1)
        *family = 4;
    else if (inet_pton(AF_INET6, host, addr->b) == 1)
        *family = 6;
    else
        return false;
    if (p != NULL) {
        uint32_t v = 0;
        if (*p == '\0' || strlen(p) > 5)
            return false;
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return false;
            v = v * 10 + (uint32_t)(*p - '0');
        }
        if (v > 65535)
            return false;
        *port = (int32_t)v;
    }
    return true;
}

/* ---- host filter, durations ------------------------------------------------------------------ */

bool cs_host_filter_parse(cs_host_filter *f, const char *text)
{
    cs_addr a;
    uint8_t family;
    int32_t port;
    /* a bare address: no port, no brackets */
    if (text == NULL || text[0] == '[' || !cs_parse_addr_port(text, &family, &a, &port) ||
        port >= 0)
        return false;
    f->on = true;
    f->family = family;
    f->addr = a;
    return true;
}

bool cs_host_filter_match(const cs_host_filter *f, uint8_t family, const cs_addr *a,
                          const cs_addr *b)
{
    if (!f->on)
        return true;
    if (family != f->family)
        return false;
    return memcmp(a->b, f->addr.b, 16) == 0 || memcmp(b->b, f->addr.b, 16) == 0;
}

/* Duration units, largest first: what cs_parse_duration reads and cs_fmt_duration_exact writes. */
static const struct {
    cs_time_t ns;
    const char *name;
    bool sub_second;
} dur_units[] = {{86400 * CS_NS_PER_S, "d", false}, {3600 * CS_NS_PER_S, "h", false},
                 {60 * CS_NS_PER_S, "m", false},    {60 * CS_NS_PER_S, "min", false},
                 {CS_NS_PER_S, "s", false},         {CS_NS_PER_S, "", false},
                 {CS_NS_PER_MS, "ms", true},        {CS_NS_PER_US, "us", true}};

bool cs_parse_duration(const char *s, bool allow_sub_second, cs_time_t *ns)
{
    if (s == NULL || !g_ascii_isdigit(*s))
        return false;
    char *end;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    for (size_t i = 0; i < CS_ARRAY_LEN(dur_units); i++) {
        cs_time_t unit = dur_units[i].ns;
        if (strcmp(end, dur_units[i].name) != 0 || (dur_units[i].sub_second && !allow_sub_second))
            continue;
        if (v == 0 || v > (guint64)(INT64_MAX / unit) / 2)
            return false;
        *ns = (cs_time_t)v * unit;
        return true;
    }
    return false;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

bool cs_parse_durations_us(const char *s, int max, uint64_t *us, int *n)
{
    uint64_t *v = g_new(uint64_t, max > 0 ? max : 1);
    int k = 0;
    gchar **parts = g_strsplit(s != NULL ? s : "", ",", -1);
    bool ok = parts[0] != NULL;
    for (int i = 0; ok && parts[i] != NULL; i++) {
        cs_time_t ns;
        if (k == max || !cs_parse_duration(g_strstrip(parts[i]), true, &ns))
            ok = false;
        else
            v[k++] = (uint64_t)(ns / CS_NS_PER_US);
    }
    g_strfreev(parts);
    if (ok) {
        qsort(v, (size_t)k, sizeof v[0], cmp_u64);
        *n = 0;
        for (int i = 0; i < k; i++)
            if (i == 0 || v[i] != v[i - 1])
                us[(*n)++] = v[i];
    }
    g_free(v);
    return ok;
}

char *cs_fmt_duration_exact(cs_time_t ns, char *buf, size_t len)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(dur_units); i++)
        if (ns % dur_units[i].ns == 0) {
            snprintf(buf, len, "%" G_GINT64_FORMAT "%s", (gint64)(ns / dur_units[i].ns),
                     dur_units[i].name);
            return buf;
        }
    snprintf(buf, len, "%" G_GINT64_FORMAT "ns", (gint64)ns);
    return buf;
}

GPtrArray *cs_str_keys_sorted(GHashTable *t)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, (GCompareFunc)(void (*)(void))g_strcmp0);
    return keys;
}
