/* json_check.h - a small strict JSON (RFC 8259) validator for the fuzz targets: checks that a
 * buffer holds exactly one JSON value, with valid UTF-8 in strings, no raw control characters,
 * valid escapes and number syntax, and nesting below a fixed depth. Header-only, no allocation. */
#ifndef FUZZ_JSON_CHECK_H
#define FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct jc {
    const unsigned char *p, *end;
    int depth;
} jc;

static void jc_ws(jc *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jc_value(jc *j);

/* One UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
static bool jc_utf8(jc *j)
{
    unsigned char c = *j->p;
    size_t len;
    uint32_t cp;
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
        return false;
    }
    if ((size_t)(j->end - j->p) < len)
        return false;
    for (size_t i = 1; i < len; i++) {
        if ((j->p[i] & 0xc0) != 0x80)
            return false;
        cp = (cp << 6) | (j->p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    j->p += len;
    return true;
}

static bool jc_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool jc_string(jc *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end)
                return false;
            c = *j->p++;
            if (c == 'u') {
                if (j->end - j->p < 4)
                    return false;
                for (int i = 0; i < 4; i++)
                    if (!jc_hex(j->p[i]))
                        return false;
                j->p += 4;
            } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
                return false;
            }
        } else if (c >= 0x80) {
            if (!jc_utf8(j))
                return false;
        } else {
            j->p++;
        }
    }
    return false;
}

static bool jc_digits(jc *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool jc_number(jc *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jc_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jc_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jc_digits(j))
            return false;
    }
    return true;
}

static bool jc_lit(jc *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool jc_container(jc *j, char close)
{
    if (++j->depth > 64)
        return false;
    j->p++; /* '{' or '[' */
    jc_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        jc_ws(j);
        if (close == '}') {
            if (!jc_string(j))
                return false;
            jc_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            j->p++;
            jc_ws(j);
        }
        if (!jc_value(j))
            return false;
        jc_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != close)
            return false;
        j->p++;
        j->depth--;
        return true;
    }
}

static bool jc_value(jc *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        return jc_container(j, '}');
    case '[':
        return jc_container(j, ']');
    case '"':
        return jc_string(j);
    case 't':
        return jc_lit(j, "true");
    case 'f':
        return jc_lit(j, "false");
    case 'n':
        return jc_lit(j, "null");
    default:
        return jc_number(j);
    }
}

/* True when [p, p+n) is exactly one JSON value (surrounding whitespace allowed). */
static inline bool json_check(const void *p, size_t n)
{
    jc j = {(const unsigned char *)p, (const unsigned char *)p + n, 0};
    jc_ws(&j);
    if (!jc_value(&j))
        return false;
    jc_ws(&j);
    return j.p == j.end;
}

/* True when [p, p+n) is exactly one JSON object. */
static inline bool json_check_object(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < n && s[i] == '{' && json_check(p, n);
}

#endif
