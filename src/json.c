/* json.c - JSON writer: escaping of control characters, quotes, backslashes and invalid UTF-8,
 * and number formatting that never yields NaN/Infinity (which JSON cannot hold). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

void cs_json_init(cs_json *j, GString *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void cs_json_text(GString *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80 ? 1 : utf8_len(s + i, len - i);
        if (n == 0) {
            g_string_append_printf(out, "\\x%02x", s[i]);
            i++;
        } else {
            g_string_append_len(out, (const char *)s + i, (gssize)n);
            i += n;
        }
    }
}

void cs_json_escape(GString *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    g_string_append_c(out, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n':
                g_string_append(out, "\\n");
                break;
            case '\r':
                g_string_append(out, "\\r");
                break;
            case '\t':
                g_string_append(out, "\\t");
                break;
            default:
                g_string_append_printf(out, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            size_t run = i + 1;
            while (run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
                run++;
            g_string_append_len(out, (const char *)s + i, (gssize)(run - i));
            i = run;
        } else {
            size_t n = utf8_len(s + i, len - i);
            if (n == 0) {
                char hex[3];
                g_string_append(out, "\\\\x");
                g_string_append(out, cs_hex(&c, 1, hex));
                i++;
            } else {
                g_string_append_len(out, (const char *)s + i, (gssize)n);
                i += n;
            }
        }
    }
    g_string_append_c(out, '"');
}

/* Writes the separator and key (if any) before a value. */
static void member(cs_json *j, const char *key)
{
    if (!j->first[j->depth])
        g_string_append_c(j->out, ',');
    j->first[j->depth] = false;
    if (key != NULL) {
        size_t n = 0;
        bool plain = true;
        for (; key[n] != '\0'; n++)
            if ((unsigned char)key[n] < 0x20 || (unsigned char)key[n] >= 0x7f || key[n] == '"' ||
                key[n] == '\\')
                plain = false;
        if (plain) { /* the usual case: our own literal keys */
            g_string_append_c(j->out, '"');
            g_string_append_len(j->out, key, (gssize)n);
            g_string_append_len(j->out, "\":", 2);
        } else {
            cs_json_escape(j->out, key, n);
            g_string_append_c(j->out, ':');
        }
    }
}

static void open_level(cs_json *j, const char *key, char ch)
{
    if (j->depth > 0)
        member(j, key);
    g_string_append_c(j->out, ch);
    if (j->depth < (int)CS_ARRAY_LEN(j->first) - 1)
        j->depth++;
    j->first[j->depth] = true;
}

void cs_json_obj_begin(cs_json *j, const char *key)
{
    open_level(j, key, '{');
}

void cs_json_obj_end(cs_json *j)
{
    g_string_append_c(j->out, '}');
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0) {
        g_string_append_c(j->out, '\n');
        j->first[0] = true;
    }
}

void cs_json_arr_begin(cs_json *j, const char *key)
{
    open_level(j, key, '[');
}

void cs_json_arr_end(cs_json *j)
{
    g_string_append_c(j->out, ']');
    if (j->depth > 0)
        j->depth--;
}

void cs_json_str(cs_json *j, const char *key, const char *s)
{
    if (s == NULL) {
        cs_json_null(j, key);
        return;
    }
    cs_json_strn(j, key, s, strlen(s));
}

void cs_json_strn(cs_json *j, const char *key, const char *s, size_t len)
{
    member(j, key);
    cs_json_escape(j->out, s, len);
}

/* Appends the decimal digits of v (no printf: this runs for every field of every record). */
static void append_u64(GString *out, uint64_t v)
{
    char buf[24];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    g_string_append_len(out, buf + i, (gssize)sizeof buf - i);
}

void cs_json_int(cs_json *j, const char *key, int64_t v)
{
    member(j, key);
    if (v < 0) {
        g_string_append_c(j->out, '-');
        append_u64(j->out, (uint64_t)0 - (uint64_t)v);
    } else {
        append_u64(j->out, (uint64_t)v);
    }
}

void cs_json_uint(cs_json *j, const char *key, uint64_t v)
{
    member(j, key);
    append_u64(j->out, v);
}

void cs_json_double(cs_json *j, const char *key, double v, int decimals)
{
    member(j, key);
    if (!isfinite(v)) {
        g_string_append(j->out, "null");
        return;
    }
    /* g_ascii_formatd always writes '.': printf would follow LC_NUMERIC, which main() sets from
     * the environment (a de_DE locale gave "0,5", invalid JSON). 309 digits + 60 decimals fit. */
    char fmt[16], buf[400];
    if (decimals < 0)
        decimals = 0;
    if (decimals > 60)
        decimals = 60;
    snprintf(fmt, sizeof fmt, "%%.%df", decimals);
    g_string_append(j->out, g_ascii_formatd(buf, sizeof buf, fmt, v));
}

void cs_json_bool(cs_json *j, const char *key, bool v)
{
    member(j, key);
    g_string_append(j->out, v ? "true" : "false");
}

void cs_json_null(cs_json *j, const char *key)
{
    member(j, key);
    g_string_append(j->out, "null");
}

void cs_json_time(cs_json *j, const char *key, cs_time_t ns)
{
    member(j, key);
    if (ns < 0) {
        ns = -ns;
        g_string_append_c(j->out, '-');
    }
    append_u64(j->out, (uint64_t)(ns / CS_NS_PER_S));
    char frac[8];
    uint64_t us = (uint64_t)((ns % CS_NS_PER_S) / CS_NS_PER_US);
    frac[0] = '.';
    for (int k = 6; k >= 1; k--) {
        frac[k] = (char)('0' + us % 10);
        us /= 10;
    }
    g_string_append_len(j->out, frac, 7);
}
