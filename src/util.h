/* util.h - small helpers for the reports and the command line: formatting addresses, durations,
 * sizes and timestamps (into a caller buffer, returned; none allocates), text tables, and parsing
 * addresses, the --host filter and durations. Nothing here is on the per-packet path. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <glib.h>
#include <time.h>

#include "common.h"

/* "1.2.3.4:80" or "[::1]:80". */
char *cs_endpoint_str(const cs_addr *addr, int family, uint16_t port, char *buf, size_t len);
/* A duration to read: "850us", "12.3ms", "4.56s" (three significant digits below 10 minutes),
 * then whole seconds: "12m05s", "1h09m26s", and from a day on "2d03h"; "-" for a negative
 * value. (cs_fmt_duration_exact writes one that parses back.) */
char *cs_fmt_duration(cs_time_t ns, char *buf, size_t len);
/* "512B", "1.5KB", "3.2MB", "1.10GB" (binary units). */
char *cs_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "2024-01-02 03:04:05.123456" in UTC; "-" for a negative (unknown) time. */
char *cs_fmt_time(cs_time_t ns, char *buf, size_t len);
/* The same without ".000000" when ns is a whole second (bucket starts, axis ends). */
char *cs_fmt_time_short(cs_time_t ns, char *buf, size_t len);

/* Writes the n bytes of p as 2n lowercase hex digits and a NUL into out (2n + 1 bytes); returns
 * out. Can't fail. */
char *cs_hex(const uint8_t *p, size_t n, char *out);
/* Decodes the 2n hex digits (either case) of s into out[0..n). Returns false on a character that
 * is not a hex digit (out then partly written). Reads no further than the first bad digit. */
bool cs_unhex(const char *s, size_t n, uint8_t *out);

/* A text table: cells added row by row, printed with aligned columns. */
typedef struct cs_table {
    guint ncols;
    GPtrArray *cells;  /* row-major gchar* */
    const char *align; /* per column: 'l' or 'r' (static string) */
} cs_table;

/* Starts an empty table with one column per character of align. */
void cs_table_init(cs_table *t, const char *align);

/* Appends one row: the printf-formatted text split at '\t' into t->ncols cells (missing cells are
 * empty). */
void cs_table_row(cs_table *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Prints the rows indented by two spaces, columns two spaces apart (widths in UTF-8 characters,
 * trailing blanks trimmed), and frees the cells. */
void cs_table_print(cs_table *t, FILE *out);

/* Parses "IP", "IP:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT" (PORT 0 to 65535, decimal digits).
 * Sets *port to -1 when there is none. Returns false on anything else. */
bool cs_parse_addr_port(const char *text, uint8_t *family, cs_addr *addr, int32_t *port);

/* The --host filter: one client or server address; `on` false matches everything. */
typedef struct cs_host_filter {
    bool on;
    uint8_t family; /* 4 or 6 */
    cs_addr addr;
} cs_host_filter;

/* Parses a bare address, "192.0.2.1" or "2001:db8::1" (no brackets, no port), into f and sets it
 * on. Returns false, f unchanged, when text is anything else. */
bool cs_host_filter_parse(cs_host_filter *f, const char *text);

/* True when f is off, or when a or b (of the given family) is its address. */
bool cs_host_filter_match(const cs_host_filter *f, uint8_t family, const cs_addr *a,
                          const cs_addr *b);

/* Parses a duration: a positive whole number and a unit, s (also when none), m or min, h, d; and
 * ms or us when allow_sub_second. Returns false, *ns unchanged, on anything else or when the value
 * is absurdly large (over a quarter of the int64 range of nanoseconds). */
bool cs_parse_duration(const char *s, bool allow_sub_second, cs_time_t *ns);

/* Parses a comma-separated list of at most `max` durations ("250ms,1s,10s"; sub-second units
 * allowed) into us[] as ascending whole microseconds without duplicates, their number in *n.
 * Returns false, us and *n unchanged, on an empty list, a bad item or more than max items. */
bool cs_parse_durations_us(const char *s, int max, uint64_t *us, int *n);

/* Formats a duration exactly in the largest unit that divides it: "1d", "1h", "15m", "90s",
 * "250ms", "3us", else "1500ns" (what cs_parse_duration reads back). */
char *cs_fmt_duration_exact(cs_time_t ns, char *buf, size_t len);

/* The keys of a table keyed by strings, sorted by strcmp (the array does not own them; free it
 * with g_ptr_array_free(a, TRUE)). */
GPtrArray *cs_str_keys_sorted(GHashTable *t);

#endif
