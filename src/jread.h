/* jread.h - a pull reader of JSON text from a file or memory that holds one value at a time: the
 * caller walks objects and arrays member by member and element by element, and parses only the
 * values it wants into a small tree that lives until the next value (integers exact to 64 bits).
 * Memory is the largest single value read, not the document (summaries of any length). */
#ifndef CS_JREAD_H
#define CS_JREAD_H

#include <stdio.h>

#include "common.h"

/* A parsed value. Strings are NUL-terminated (and may contain NUL: see len). */
typedef struct cs_jv {
    char kind;             /* 'z' null, 'b' bool, 'n' number, 's' string, 'a' array, 'o' object */
    bool b;                /* bool value */
    bool is_u64, is_i64;   /* number: an integer that fits uint64 / int64 */
    uint64_t u;            /* number: the value when is_u64 */
    int64_t i;             /* number: the value when is_i64 */
    const char *text;      /* number token or string bytes; member name for an object's member */
    uint32_t len;          /* bytes of text */
    uint32_t n;            /* array elements / object members */
    const struct cs_jv **kids; /* elements / member values, n of them */
    const char **names;    /* object: member names, n of them */
} cs_jv;

typedef struct cs_jr cs_jr;

/* A reader of the file f (not closed by the reader) or of len bytes at text (not copied: they
 * must outlive the reader). `name` is used in messages. Can't fail (aborts on OOM). */
cs_jr *cs_jr_new_file(FILE *f, const char *name);
cs_jr *cs_jr_new_mem(const char *text, size_t len, const char *name);
void cs_jr_free(cs_jr *r);

/* The first character of the next value ('{', '[', '"', 't', 'f', 'n', a digit or '-'), 0 at the
 * end of the input or after an error. */
char cs_jr_peek(cs_jr *r);

/* Enters the object/array that comes next. False (error set) if another value comes. */
bool cs_jr_obj_begin(cs_jr *r);
bool cs_jr_arr_begin(cs_jr *r);

/* Inside an object: 1 and *name (valid until the next call) when a member follows, whose value is
 * to be read next (by a call that reads or skips it); 0 at the closing brace (consumed); -1 on an
 * error. */
int cs_jr_member(cs_jr *r, const char **name);

/* Inside an array: 1 when an element follows (to be read next), 0 at the closing bracket
 * (consumed), -1 on an error. */
int cs_jr_elem(cs_jr *r);

/* Parses the next value whole. The tree is valid until the next call on r. NULL on an error. */
const cs_jv *cs_jr_value(cs_jr *r);

/* Skips the next value without building anything. False on an error. */
bool cs_jr_skip(cs_jr *r);

/* True when only white space is left (checks the document ended). */
bool cs_jr_at_end(cs_jr *r);

/* The first error ("unterminated string", "nested too deeply", an I/O error ...), NULL if none,
 * and the line it was found on. */
const char *cs_jr_error(const cs_jr *r);
int cs_jr_error_line(const cs_jr *r);
/* True when the error is an I/O error rather than bad JSON. */
bool cs_jr_io_error(const cs_jr *r);

/* Bytes consumed so far. */
uint64_t cs_jr_offset(const cs_jr *r);

/* Member `name` of object o, NULL if o is not an object or has no such member. */
const cs_jv *cs_jv_member(const cs_jv *o, const char *name);

#endif
