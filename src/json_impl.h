/* json_impl.h - the JSON writer's fast paths as inline functions, for json.c and for the writers
 * of the bulk records (report_record.c): reserve room once per value, copy, commit. Private. */
#ifndef CS_JSON_IMPL_H
#define CS_JSON_IMPL_H

#include <string.h>

#include "json.h"

/* Grows out so that n more bytes (and the terminator) fit; len stays. */
void cs_json_grow(GString *out, size_t n);

/* ---- the output buffer: every writer reserves room once, writes, then commits ------------- */

/* Room for n more bytes after out->len; the writer stores them, then calls json_commit(). */
static inline char *json_room(GString *out, size_t n)
{
    if (out->len + n >= out->allocated_len)
        cs_json_grow(out, n);
    return out->str + out->len;
}

/* Ends a write at end (one past the last byte stored), keeping the GString terminated. */
static inline void json_commit(GString *out, char *end)
{
    out->len = (gsize)(end - out->str);
    *end = '\0';
}

/* 1 for the bytes a string literal cannot hold as they are: controls, DEL, '"', '\\', and every
 * byte >= 0x80 (valid UTF-8 is copied, but only after a check). */
extern const uint8_t cs_json_needs_care[256];

static inline uint64_t json_load8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* Non-zero when one of the eight bytes of w is in needs_care, by tests on the whole word, each
 * exact as a whole: a byte >= 0x7f (its high bit, or the high bit of byte + 1 when no byte has
 * it: no carry then), a byte < 0x20, a byte equal to '"' or '\\'. */
static inline uint64_t json_care8(uint64_t w)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return ((w | (w + ones)) & high) | ((w - ones * 0x20) & ~w & high) | ((q - ones) & ~q & high) |
           ((b - ones) & ~b & high);
}

/* Whether s[0..n) holds a byte of needs_care: eight bytes at a time, the last word overlapping
 * the one before it (every load stays inside s). */
G_ALWAYS_INLINE static inline bool json_any_care(const unsigned char *s, size_t n)
{
    if (n < 8) {
        unsigned bad = 0;
        for (size_t i = 0; i < n; i++)
            bad |= cs_json_needs_care[s[i]];
        return bad != 0;
    }
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc |= json_care8(json_load8(s + i));
    if (i < n)
        acc |= json_care8(json_load8(s + n - 8));
    return acc != 0;
}

/* memcpy for the short keys and values of a record, without a call: overlapping 8-byte moves. */
G_ALWAYS_INLINE static inline void json_copy_short(char *d, const char *s, size_t n)
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
extern const char cs_json_digit_pairs[201];

/* Writes the decimal digits of v at p; returns the end. No printf: this runs for every number
 * of every record. The digits are counted first, then written from the end, two at a time. */
static inline char *json_put_u64(char *p, uint64_t v)
{
    size_t n = 1;
    for (uint64_t t = 10; n < 20 && v >= t; t *= 10)
        n++;
    char *e = p + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        e -= 2;
        memcpy(e, cs_json_digit_pairs + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(e - 2, cs_json_digit_pairs + 2 * v, 2);
    else
        e[-1] = (char)('0' + v);
    return p + n;
}

/* Writes the separator and key (if any, klen bytes) before a value and returns where the value
 * goes, with room for `value` more bytes there (the caller commits). */
G_ALWAYS_INLINE static inline char *json_member(cs_json *j, const char *key, size_t klen,
                                                size_t value)
{
    GString *out = j->out;
    bool first = j->first[j->depth], plain = (klen & CS_JSON_KEY_PLAIN) != 0;
    j->first[j->depth] = false;
    klen &= ~(size_t)CS_JSON_KEY_PLAIN;
    char *p = json_room(out, klen + 4 + value);
    if (!first)
        *p++ = ',';
    if (key == NULL)
        return p;
    if (!plain && G_UNLIKELY(json_any_care((const unsigned char *)key, klen))) { /* not our name */
        json_commit(out, p);
        cs_json_escape(out, key, klen);
        p = json_room(out, 1 + value);
        *p++ = ':';
        return p;
    }
    *p++ = '"';
    json_copy_short(p, key, klen);
    p += klen;
    *p++ = '"';
    *p++ = ':';
    return p;
}

G_ALWAYS_INLINE static inline void json_strn_k_i(cs_json *j, const char *key, size_t klen,
                                                 const char *s, size_t len)
{
    if (json_any_care((const unsigned char *)s, len)) {
        json_commit(j->out, json_member(j, key, klen, 0));
        cs_json_escape(j->out, s, len);
        return;
    }
    char *p = json_member(j, key, klen, len + 2);
    *p++ = '"';
    json_copy_short(p, s, len);
    p += len;
    *p++ = '"';
    json_commit(j->out, p);
}

G_ALWAYS_INLINE static inline void json_int_k_i(cs_json *j, const char *key, size_t klen, int64_t v)
{
    char *p = json_member(j, key, klen, 21);
    if (v < 0) {
        *p++ = '-';
        p = json_put_u64(p, (uint64_t)0 - (uint64_t)v);
    } else {
        p = json_put_u64(p, (uint64_t)v);
    }
    json_commit(j->out, p);
}

G_ALWAYS_INLINE static inline void json_uint_k_i(cs_json *j, const char *key, size_t klen,
                                                 uint64_t v)
{
    json_commit(j->out, json_put_u64(json_member(j, key, klen, 20), v));
}

G_ALWAYS_INLINE static inline void json_bool_k_i(cs_json *j, const char *key, size_t klen, bool v)
{
    char *p = json_member(j, key, klen, 5);
    memcpy(p, v ? "true" : "false", 5); /* the room holds five bytes; a true ends after four */
    json_commit(j->out, p + (v ? 4 : 5));
}

G_ALWAYS_INLINE static inline void json_null_k_i(cs_json *j, const char *key, size_t klen)
{
    char *p = json_member(j, key, klen, 4);
    memcpy(p, "null", 4);
    json_commit(j->out, p + 4);
}

G_ALWAYS_INLINE static inline void json_str_k_i(cs_json *j, const char *key, size_t klen,
                                                const char *s)
{
    if (s == NULL)
        json_null_k_i(j, key, klen);
    else
        json_strn_k_i(j, key, klen, s, strlen(s));
}

G_ALWAYS_INLINE static inline void json_time_k_i(cs_json *j, const char *key, size_t klen,
                                                 cs_time_t ns)
{
    char *p = json_member(j, key, klen, 28);
    if (j->t_len != 0 && ns == j->t_ns) {
        memcpy(p, j->t_text, sizeof j->t_text); /* the room holds 28 bytes */
        json_commit(j->out, p + j->t_len);
        return;
    }
    char *start = p;
    j->t_ns = ns;
    if (ns < 0) {
        ns = -ns;
        *p++ = '-';
    }
    int64_t sec = ns / CS_NS_PER_S;
    if (j->sec_len == 0 || sec != j->sec) {
        j->sec = sec;
        j->sec_len = (uint8_t)(json_put_u64(j->sec_text, (uint64_t)sec) - j->sec_text);
    }
    memcpy(p, j->sec_text, sizeof j->sec_text); /* the room holds 28 bytes */
    p += j->sec_len;
    unsigned us = (unsigned)((ns % CS_NS_PER_S) / CS_NS_PER_US); /* six digits, by digit_pairs */
    p[0] = '.';
    memcpy(p + 1, cs_json_digit_pairs + 2 * (us / 10000), 2);
    memcpy(p + 3, cs_json_digit_pairs + 2 * (us / 100 % 100), 2);
    memcpy(p + 5, cs_json_digit_pairs + 2 * (us % 100), 2);
    j->t_len = (uint8_t)(p + 7 - start);
    memcpy(j->t_text, start, sizeof j->t_text); /* all 28 bytes of the room: a hit copies them */
    json_commit(j->out, p + 7);
}

#endif
