/* json.h - a small streaming JSON writer into a GString: objects, arrays, escaped strings, numbers.
 * Output is valid JSON for any input bytes: invalid UTF-8 is written as the text \xNN (as Zeek does). */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <glib.h>

#include "common.h"

typedef struct cs_json {
    GString *out;
    bool first[16]; /* per nesting level: no member written yet */
    int depth;
} cs_json;

/* Starts writing into out (appends; does not clear it). */
void cs_json_init(cs_json *j, GString *out);

void cs_json_obj_begin(cs_json *j, const char *key); /* key NULL at top level / in arrays */
void cs_json_obj_end(cs_json *j);
void cs_json_arr_begin(cs_json *j, const char *key);
void cs_json_arr_end(cs_json *j);

void cs_json_str(cs_json *j, const char *key, const char *s);
void cs_json_strn(cs_json *j, const char *key, const char *s, size_t len);
void cs_json_int(cs_json *j, const char *key, int64_t v);
void cs_json_uint(cs_json *j, const char *key, uint64_t v);
/* Writes v with `decimals` digits after the point; non-finite values become null. */
void cs_json_double(cs_json *j, const char *key, double v, int decimals);
void cs_json_bool(cs_json *j, const char *key, bool v);
void cs_json_null(cs_json *j, const char *key);
/* Seconds with microsecond precision from nanoseconds, e.g. 1700000000.123456. */
void cs_json_time(cs_json *j, const char *key, cs_time_t ns);

/* Appends the text a JSON reader decodes from the literal cs_json_escape writes: s[0..len) with
 * every byte that is not part of valid UTF-8 as the four characters \xNN. */
void cs_json_text(GString *out, const char *s, size_t len);

/* Appends the JSON string literal for s[0..len) (with quotes) to out. */
void cs_json_escape(GString *out, const char *s, size_t len);

#endif
