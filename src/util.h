/* util.h - formatting helpers for reports: addresses, endpoints, durations, sizes, timestamps.
 * Each writes into a caller buffer and returns it; none allocates. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <glib.h>
#include <time.h>

#include "common.h"

/* "1.2.3.4:80" or "[::1]:80". */
char *cs_endpoint_str(const cs_addr *addr, int family, uint16_t port, char *buf, size_t len);
/* "850us", "12.3ms", "4.56s", "12.0min"; "-" for a negative value. */
char *cs_fmt_duration(cs_time_t ns, char *buf, size_t len);
/* "512B", "1.5KB", "3.2MB", "1.10GB" (binary units). */
char *cs_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "2024-01-02 03:04:05.123456" in UTC. */
char *cs_fmt_time(cs_time_t ns, char *buf, size_t len);

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

#endif
