/* json.c - JSON writer: escaping of control characters, quotes, backslashes and invalid UTF-8,
 * and number formatting that never yields NaN/Infinity (which JSON cannot hold). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "json_impl.h"

const uint8_t cs_json_needs_care[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x7f ... 0xff] = 1,
};

const char cs_json_digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                      "25262728293031323334353637383940414243444546474849"
                                      "50515253545556575859606162636465666768697071727374"
                                      "75767778798081828384858687888990919293949596979899";

void cs_json_grow(GString *out, size_t n)
{
    size_t len = out->len;
    g_string_set_size(out, len + n); /* allocated_len > len + n afterwards */
    out->len = len;
    out->str[len] = '\0';
}

#include "util.h"

void cs_json_init(cs_json *j, GString *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->sec_len = 0;
    j->t_len = 0;
    memset(j->sec_text, '0', sizeof j->sec_text); /* cs_json_time copies all of it */
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
    unsigned high = 0;
    for (size_t i = 0; i < len; i++)
        high |= s[i];
    if (high < 0x80) { /* ASCII: nothing to check */
        g_string_append_len(out, str, (gssize)len);
        return;
    }
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

/* cs_json_escape for strings with a byte of needs_care. */
static void escape_slow(GString *out, const char *str, size_t len)
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

void cs_json_escape(GString *out, const char *str, size_t len)
{
    if (json_any_care((const unsigned char *)str, len)) {
        escape_slow(out, str, len);
        return;
    }
    char *p = json_room(out, len + 2);
    *p++ = '"';
    memcpy(p, str, len);
    p += len;
    *p++ = '"';
    json_commit(out, p);
}

/* json_member() for a value written by another function (a string, an object, an array). */
static void member_only(cs_json *j, const char *key, size_t klen)
{
    json_commit(j->out, json_member(j, key, klen, 0));
}

static void open_level(cs_json *j, const char *key, size_t klen, char ch)
{
    char *p = j->depth > 0 ? json_member(j, key, klen, 1) : json_room(j->out, 1);
    *p++ = ch;
    json_commit(j->out, p);
    if (j->depth < (int)CS_ARRAY_LEN(j->first) - 1)
        j->depth++;
    j->first[j->depth] = true;
}

void cs_json_obj_begin_k(cs_json *j, const char *key, size_t klen)
{
    open_level(j, key, klen, '{');
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

void cs_json_arr_begin_k(cs_json *j, const char *key, size_t klen)
{
    open_level(j, key, klen, '[');
}

void cs_json_arr_end(cs_json *j)
{
    g_string_append_c(j->out, ']');
    if (j->depth > 0)
        j->depth--;
}

void cs_json_str_k(cs_json *j, const char *key, size_t klen, const char *s)
{
    json_str_k_i(j, key, klen, s);
}

void cs_json_strn_k(cs_json *j, const char *key, size_t klen, const char *s, size_t len)
{
    json_strn_k_i(j, key, klen, s, len);
}

void cs_json_int_k(cs_json *j, const char *key, size_t klen, int64_t v)
{
    json_int_k_i(j, key, klen, v);
}

void cs_json_uint_k(cs_json *j, const char *key, size_t klen, uint64_t v)
{
    json_uint_k_i(j, key, klen, v);
}

void cs_json_double_k(cs_json *j, const char *key, size_t klen, double v, int decimals)
{
    member_only(j, key, klen);
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

void cs_json_bool_k(cs_json *j, const char *key, size_t klen, bool v)
{
    json_bool_k_i(j, key, klen, v);
}

void cs_json_null_k(cs_json *j, const char *key, size_t klen)
{
    json_null_k_i(j, key, klen);
}

void cs_json_time_k(cs_json *j, const char *key, size_t klen, cs_time_t ns)
{
    json_time_k_i(j, key, klen, ns);
}
