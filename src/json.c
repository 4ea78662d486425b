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

/* ---- the output buffer: every writer reserves room once, writes, then commits ------------- */

static void grow(GString *out, size_t n)
{
    size_t len = out->len;
    g_string_set_size(out, len + n); /* allocated_len > len + n afterwards */
    out->len = len;
    out->str[len] = '\0';
}

/* Room for n more bytes after out->len; the writer stores them, then calls commit(). */
static inline char *room(GString *out, size_t n)
{
    if (out->len + n >= out->allocated_len)
        grow(out, n);
    return out->str + out->len;
}

/* Ends a write at end (one past the last byte stored), keeping the GString terminated. */
static inline void commit(GString *out, char *end)
{
    out->len = (gsize)(end - out->str);
    *end = '\0';
}

/* 1 for the bytes a string literal cannot hold as they are: controls, DEL, '"', '\\', and every
 * byte >= 0x80 (valid UTF-8 is copied, but only after a check). */
static const uint8_t needs_care[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x7f ... 0xff] = 1,
};

static inline uint64_t load8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* Non-zero when one of the eight bytes of w is in needs_care, by tests on the whole word, each
 * exact as a whole: a byte >= 0x7f (its high bit, or the high bit of byte + 1 when no byte has
 * it: no carry then), a byte < 0x20, a byte equal to '"' or '\\'. */
static inline uint64_t care8(uint64_t w)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return ((w | (w + ones)) & high) | ((w - ones * 0x20) & ~w & high) | ((q - ones) & ~q & high) |
           ((b - ones) & ~b & high);
}

/* Whether s[0..n) holds a byte of needs_care: eight bytes at a time, the last word overlapping
 * the one before it (every load stays inside s). */
G_ALWAYS_INLINE static inline bool any_care(const unsigned char *s, size_t n)
{
    if (n < 8) {
        unsigned bad = 0;
        for (size_t i = 0; i < n; i++)
            bad |= needs_care[s[i]];
        return bad != 0;
    }
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc |= care8(load8(s + i));
    if (i < n)
        acc |= care8(load8(s + n - 8));
    return acc != 0;
}

/* memcpy for the short keys and values of a record, without a call: overlapping 8-byte moves. */
G_ALWAYS_INLINE static inline void copy_short(char *d, const char *s, size_t n)
{
    if (n > 32) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            memcpy(d + i, s + i, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        memcpy(d, &x, 4);
        memcpy(d + n - 4, &y, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* "00" to "99": two digits per table read. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Writes the decimal digits of v at p; returns the end. No printf: this runs for every number
 * of every record. */
static inline char *put_u64(char *p, uint64_t v)
{
    char buf[20];
    int i = (int)sizeof buf;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        buf[--i] = digit_pairs[2 * r + 1];
        buf[--i] = digit_pairs[2 * r];
    }
    if (v >= 10) {
        buf[--i] = digit_pairs[2 * v + 1];
        buf[--i] = digit_pairs[2 * v];
    } else {
        buf[--i] = (char)('0' + v);
    }
    size_t n = sizeof buf - (size_t)i;
    copy_short(p, buf + i, n);
    return p + n;
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
    if (any_care((const unsigned char *)str, len)) {
        escape_slow(out, str, len);
        return;
    }
    char *p = room(out, len + 2);
    *p++ = '"';
    memcpy(p, str, len);
    p += len;
    *p++ = '"';
    commit(out, p);
}

/* Writes the separator and key (if any, klen bytes) before a value and returns where the value
 * goes, with room for `value` more bytes there (the caller commits). */
G_ALWAYS_INLINE static inline char *member(cs_json *j, const char *key, size_t klen, size_t value)
{
    GString *out = j->out;
    bool first = j->first[j->depth], plain = (klen & CS_JSON_KEY_PLAIN) != 0;
    j->first[j->depth] = false;
    klen &= ~(size_t)CS_JSON_KEY_PLAIN;
    char *p = room(out, klen + 4 + value);
    if (!first)
        *p++ = ',';
    if (key == NULL)
        return p;
    if (!plain && G_UNLIKELY(any_care((const unsigned char *)key, klen))) { /* not our name */
        commit(out, p);
        escape_slow(out, key, klen);
        p = room(out, 1 + value);
        *p++ = ':';
        return p;
    }
    *p++ = '"';
    copy_short(p, key, klen);
    p += klen;
    *p++ = '"';
    *p++ = ':';
    return p;
}

/* member() for a value written by another function (a string, an object, an array). */
static void member_only(cs_json *j, const char *key, size_t klen)
{
    commit(j->out, member(j, key, klen, 0));
}

static void open_level(cs_json *j, const char *key, size_t klen, char ch)
{
    char *p = j->depth > 0 ? member(j, key, klen, 1) : room(j->out, 1);
    *p++ = ch;
    commit(j->out, p);
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
    if (s == NULL)
        cs_json_null_k(j, key, klen);
    else
        cs_json_strn_k(j, key, klen, s, strlen(s));
}

void cs_json_strn_k(cs_json *j, const char *key, size_t klen, const char *s, size_t len)
{
    if (any_care((const unsigned char *)s, len)) {
        member_only(j, key, klen);
        escape_slow(j->out, s, len);
        return;
    }
    char *p = member(j, key, klen, len + 2);
    *p++ = '"';
    copy_short(p, s, len);
    p += len;
    *p++ = '"';
    commit(j->out, p);
}

void cs_json_int_k(cs_json *j, const char *key, size_t klen, int64_t v)
{
    char *p = member(j, key, klen, 21);
    if (v < 0) {
        *p++ = '-';
        p = put_u64(p, (uint64_t)0 - (uint64_t)v);
    } else {
        p = put_u64(p, (uint64_t)v);
    }
    commit(j->out, p);
}

void cs_json_uint_k(cs_json *j, const char *key, size_t klen, uint64_t v)
{
    commit(j->out, put_u64(member(j, key, klen, 20), v));
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
    char *p = member(j, key, klen, 5);
    memcpy(p, v ? "true" : "false", 5); /* the room holds five bytes; a true ends after four */
    commit(j->out, p + (v ? 4 : 5));
}

void cs_json_null_k(cs_json *j, const char *key, size_t klen)
{
    char *p = member(j, key, klen, 4);
    memcpy(p, "null", 4);
    commit(j->out, p + 4);
}

void cs_json_time_k(cs_json *j, const char *key, size_t klen, cs_time_t ns)
{
    char *p = member(j, key, klen, 28);
    if (ns < 0) {
        ns = -ns;
        *p++ = '-';
    }
    p = put_u64(p, (uint64_t)(ns / CS_NS_PER_S));
    unsigned us = (unsigned)((ns % CS_NS_PER_S) / CS_NS_PER_US); /* six digits, by digit_pairs */
    p[0] = '.';
    memcpy(p + 1, digit_pairs + 2 * (us / 10000), 2);
    memcpy(p + 3, digit_pairs + 2 * (us / 100 % 100), 2);
    memcpy(p + 5, digit_pairs + 2 * (us % 100), 2);
    commit(j->out, p + 7);
}
