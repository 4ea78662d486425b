/* report_record.h - the flat per-record outputs (the "conn" and "http" records) written from one set
 * of calls, either as JSON members or as the cells of a CSV row, so that both outputs carry the same
 * fields with the same names and value types. */
#ifndef CS_REPORT_RECORD_H
#define CS_REPORT_RECORD_H

#include <glib.h>

#include "json.h"
#include "stats.h"

/* A record being written. JSON: members go to `json`. CSV: values go to the columns of `csv`.
 * Header mode (both NULL, `names` set): only the field names are collected, in order. */
typedef struct cs_rec {
    cs_json *json;
    struct cs_csv_row *csv;
    GPtrArray *names;
} cs_rec;

/* The fields of the "conn" record of one finalised connection (type first). */
void cs_rec_conn(cs_rec *r, const cs_conn_row *row);

/* The fields of the "http" record of one exchange (type first). */
void cs_rec_http(cs_rec *r, const cs_http_row *row);

/* ---- CSV rows ------------------------------------------------------------------------------ */

typedef struct cs_csv_row cs_csv_row;

/* A row with the given columns (names, in order; copied). Can't fail. */
cs_csv_row *cs_csv_row_new(const GPtrArray *columns);
void cs_csv_row_free(cs_csv_row *c);

/* Appends the header line (RFC 4180) to out. */
void cs_csv_row_header(const cs_csv_row *c, GString *out);

/* Empties every cell (start of a record). */
void cs_csv_row_reset(cs_csv_row *c);

/* Appends the current cells as one line (RFC 4180 quoting; empty cells for fields the record did
 * not set) to out. */
void cs_csv_row_line(const cs_csv_row *c, GString *out);

/* The field names of a record kind, in the order the record writes them: every field a "conn"
 * record can have (with HTTP and TLS), or every field of an "http" record. Free with
 * g_ptr_array_free(a, TRUE). */
GPtrArray *cs_rec_conn_fields(void);
GPtrArray *cs_rec_http_fields(void);

#endif
