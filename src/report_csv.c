/* report_csv.c - one CSV row per connection (RFC 4180 quoting), header first; the columns match the
 * JSON "conn" object so either can be loaded into a spreadsheet or a dataframe. */
#include <string.h>

#include "report.h"
#include "util.h"

static void csv_field(GString *b, const char *s, bool last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) {
        g_string_append_c(b, '"');
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                g_string_append_c(b, '"');
            g_string_append_c(b, *p);
        }
        g_string_append_c(b, '"');
    } else {
        g_string_append(b, s);
    }
    g_string_append_c(b, last ? '\n' : ',');
}

static void csv_conn(cs_report *r, const cs_conn_row *row)
{
    char a0[64], a1[64], num[64];
    GString *b = r->buf;
    g_string_truncate(b, 0);
    g_string_append_printf(b, "%" G_GUINT64_FORMAT ",%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT ",",
                           row->stream, (gint64)(row->start / CS_NS_PER_S),
                           (gint64)((row->start % CS_NS_PER_S) / CS_NS_PER_US));
    csv_field(b, cs_addr_str(&row->addr[0], row->family, a0, sizeof a0), false);
    g_string_append_printf(b, "%u,", row->port[0]);
    csv_field(b, cs_addr_str(&row->addr[1], row->family, a1, sizeof a1), false);
    g_string_append_printf(b, "%u,%.6f,", row->port[1], (double)(row->end - row->start) / 1e9);
    g_string_append_printf(b,
                           "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                           ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",",
                           row->pkts[0], row->pkts[1], row->bytes[0], row->bytes[1],
                           row->ip_bytes[0], row->ip_bytes[1]);
    g_string_append_printf(b, "%u,%u,", row->syns, row->synacks);
    if (row->rtt_syn >= 0)
        snprintf(num, sizeof num, "%.3f", (double)row->rtt_syn / 1e3);
    else
        num[0] = '\0';
    csv_field(b, num, false);
    if (row->rtt_ack >= 0)
        snprintf(num, sizeof num, "%.3f", (double)row->rtt_ack / 1e3);
    else
        num[0] = '\0';
    csv_field(b, num, false);
    g_string_append_printf(b, "%u,%u,%" G_GUINT64_FORMAT ",", row->retrans[0], row->retrans[1],
                           row->gap_bytes[0] + row->gap_bytes[1]);
    csv_field(b, row->state, false);
    csv_field(b, row->history, false);
    csv_field(b, row->end_reason, true);
    fputs(b->str, r->out);
}

static void csv_http(cs_report *r, const cs_http_row *row)
{
    (void)r;
    (void)row;
}

static void csv_finish(cs_report *r, const cs_stats *st, const cs_run_info *info)
{
    (void)r;
    (void)st;
    (void)info;
}

cs_report *cs_report_csv_new(FILE *out)
{
    cs_report *r = g_new0(cs_report, 1);
    r->conn = csv_conn;
    r->http = csv_http;
    r->finish = csv_finish;
    r->destroy = cs_report_base_destroy;
    r->out = out;
    r->buf = g_string_new(NULL);
    fputs("stream,ts,orig_h,orig_p,resp_h,resp_p,duration,orig_pkts,resp_pkts,orig_bytes,"
          "resp_bytes,orig_ip_bytes,resp_ip_bytes,syn_pkts,synack_pkts,rtt_syn_synack_us,"
          "rtt_synack_ack_us,orig_retrans,resp_retrans,missed_bytes,conn_state,history,"
          "end_reason\n",
          out);
    return r;
}
