/* report_csv.c - CSV output (RFC 4180): one table whose first column is the record type, with the
 * JSON record's field names and values; a "conn" row per connection and, with -E, an "http" row per
 * exchange (the columns are then those of both records). */
#include <string.h>

#include "report.h"
#include "report_record.h"

typedef struct csv_report {
    cs_report base;
    cs_csv_row *row;
} csv_report;

static void csv_write(cs_report *r, void (*fields)(cs_rec *, const void *), const void *data)
{
    csv_report *c = (csv_report *)r;
    cs_csv_row_reset(c->row);
    cs_rec rec = {.csv = c->row};
    fields(&rec, data);
    g_string_truncate(r->buf, 0);
    cs_csv_row_line(c->row, r->buf);
    fputs(r->buf->str, r->out);
}

static void conn_fields(cs_rec *rec, const void *row)
{
    cs_rec_conn(rec, row);
}

static void http_fields(cs_rec *rec, const void *row)
{
    cs_rec_http(rec, row);
}

static void csv_conn(cs_report *r, const cs_conn_row *row)
{
    csv_write(r, conn_fields, row);
}

static void csv_http(cs_report *r, const cs_http_row *row)
{
    if (r->list_http)
        csv_write(r, http_fields, row);
}

static void csv_finish(cs_report *r, const cs_stats *st, const cs_run_info *info)
{
    (void)r;
    (void)st;
    (void)info;
}

static void csv_destroy(cs_report *r)
{
    cs_csv_row_free(((csv_report *)r)->row);
    cs_report_base_destroy(r);
}

cs_report *cs_report_csv_new(FILE *out, bool with_http)
{
    csv_report *c = g_new0(csv_report, 1);
    cs_report *r = &c->base;
    r->conn = csv_conn;
    r->http = csv_http;
    r->finish = csv_finish;
    r->destroy = csv_destroy;
    r->out = out;
    r->list_http = with_http;
    r->buf = g_string_new(NULL);
    /* the columns: the conn record's, then (with exchanges) the http record's other fields */
    GPtrArray *cols = cs_rec_conn_fields();
    if (with_http) {
        GPtrArray *http = cs_rec_http_fields();
        for (guint i = 0; i < http->len; i++) {
            bool have = false;
            for (guint k = 0; k < cols->len && !have; k++)
                have = strcmp(g_ptr_array_index(cols, k), g_ptr_array_index(http, i)) == 0;
            if (!have)
                g_ptr_array_add(cols, g_ptr_array_index(http, i));
        }
        g_ptr_array_free(http, TRUE);
    }
    c->row = cs_csv_row_new(cols);
    g_ptr_array_free(cols, TRUE);
    cs_csv_row_header(c->row, r->buf);
    fputs(r->buf->str, out);
    return r;
}
