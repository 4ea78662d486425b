/* json.h - a small streaming JSON writer into a GString: objects, arrays, escaped strings, numbers.
 * Output is valid JSON for any input bytes: invalid UTF-8 is written as the text \xNN (as Zeek does). */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <string.h>

#include <glib.h>

#include "common.h"

typedef struct cs_json {
    GString *out;
    bool first[16]; /* per nesting level: no member written yet */
    int depth;
    /* cs_json_time: the whole seconds written last and their digits (a record's times mostly
     * fall in one second); sec_len 0: none yet */
    int64_t sec;
    uint8_t sec_len;
    char sec_text[20];
    /* ... and the whole time stamp written last (a request's start and end are often one time) */
    cs_time_t t_ns;
    uint8_t t_len; /* 0: none yet */
    char t_text[28];
} cs_json;

/* Starts writing into out (appends; does not clear it). */
void cs_json_init(cs_json *j, GString *out);

/* Every writer below takes the key (NULL in arrays and at top level) and its length: the macros
 * of the same names pass strlen(key), which the compiler computes once for a literal key. A key
 * needing no escape (printable ASCII without '"' and '\\', our own names) is copied as it is;
 * any other is escaped like a string value. */
static inline size_t cs_json_klen(const char *key)
{
    return key != NULL ? strlen(key) : 0;
}

/* Or'ed into klen: the caller guarantees the key needs no escaping (a fixed field name that a
 * test checks), so it is copied without looking at its bytes. */
#define CS_JSON_KEY_PLAIN ((size_t)1 << (sizeof(size_t) * 8 - 1))

void cs_json_obj_begin_k(cs_json *j, const char *key, size_t klen);
void cs_json_obj_end(cs_json *j);
void cs_json_arr_begin_k(cs_json *j, const char *key, size_t klen);
void cs_json_arr_end(cs_json *j);

void cs_json_str_k(cs_json *j, const char *key, size_t klen, const char *s); /* s NULL: null */
void cs_json_strn_k(cs_json *j, const char *key, size_t klen, const char *s, size_t len);
void cs_json_int_k(cs_json *j, const char *key, size_t klen, int64_t v);
void cs_json_uint_k(cs_json *j, const char *key, size_t klen, uint64_t v);
/* Writes v with `decimals` digits after the point; non-finite values become null. */
void cs_json_double_k(cs_json *j, const char *key, size_t klen, double v, int decimals);
void cs_json_bool_k(cs_json *j, const char *key, size_t klen, bool v);
void cs_json_null_k(cs_json *j, const char *key, size_t klen);
/* Seconds with microsecond precision from nanoseconds, e.g. 1700000000.123456. */
void cs_json_time_k(cs_json *j, const char *key, size_t klen, cs_time_t ns);

#define cs_json_obj_begin(j, key) cs_json_obj_begin_k((j), (key), cs_json_klen(key))
#define cs_json_arr_begin(j, key) cs_json_arr_begin_k((j), (key), cs_json_klen(key))
#define cs_json_str(j, key, s) cs_json_str_k((j), (key), cs_json_klen(key), (s))
#define cs_json_strn(j, key, s, len) cs_json_strn_k((j), (key), cs_json_klen(key), (s), (len))
#define cs_json_int(j, key, v) cs_json_int_k((j), (key), cs_json_klen(key), (v))
#define cs_json_uint(j, key, v) cs_json_uint_k((j), (key), cs_json_klen(key), (v))
#define cs_json_double(j, key, v, decimals)                                                        \
    cs_json_double_k((j), (key), cs_json_klen(key), (v), (decimals))
#define cs_json_bool(j, key, v) cs_json_bool_k((j), (key), cs_json_klen(key), (v))
#define cs_json_null(j, key) cs_json_null_k((j), (key), cs_json_klen(key))
#define cs_json_time(j, key, ns) cs_json_time_k((j), (key), cs_json_klen(key), (ns))

/* Appends the text a JSON reader decodes from the literal cs_json_escape writes: s[0..len) with
 * every byte that is not part of valid UTF-8 as the four characters \xNN. */
void cs_json_text(GString *out, const char *s, size_t len);

/* Appends the JSON string literal for s[0..len) (with quotes) to out. */
void cs_json_escape(GString *out, const char *s, size_t len);

#endif
