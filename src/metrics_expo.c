/* metrics_expo.c - Prometheus text / OpenMetrics writing (families, escaped labels, histograms
 * from cs_hist bins) and the live run's cumulative exposition served by --metrics-listen. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "metrics_expo.h"

/* Histogram bounds in microseconds (100 us to 60 s). */
static const uint64_t expo_le_us[] = {100,     250,     500,     1000,     2500,     5000,
                                      10000,   25000,   50000,   100000,   250000,   500000,
                                      1000000, 2500000, 5000000, 10000000, 30000000, 60000000};

void cs_expo_family(cs_expo *x, const char *name, const char *type, const char *help)
{
    const char *suffix = !x->om && strcmp(type, "counter") == 0 ? "_total" : "";
    g_string_append_printf(x->out, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name,
                           suffix, type);
}

void cs_expo_label(GString *labels, const char *name, const char *value)
{
    gchar *valid = g_utf8_make_valid(value, -1);
    g_string_append_printf(labels, "%s%s=\"", labels->len > 0 ? "," : "", name);
    for (const char *p = valid; *p; p++) {
        if (*p == '\\' || *p == '"')
            g_string_append_c(labels, '\\');
        if (*p == '\n')
            g_string_append(labels, "\\n");
        else
            g_string_append_c(labels, *p);
    }
    g_string_append_c(labels, '"');
    g_free(valid);
}

const char *cs_expo_server(char *buf, uint8_t family, const cs_addr *addr, uint16_t port)
{
    char ip[48];
    if (family == 0)
        return strcpy(buf, "other");
    cs_addr_str(addr, family, ip, sizeof ip);
    snprintf(buf, 64, family == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)port);
    return buf;
}

void cs_expo_u64(cs_expo *x, const char *name, const char *labels, uint64_t v)
{
    g_string_append(x->out, name);
    if (labels != NULL && labels[0] != '\0')
        g_string_append_printf(x->out, "{%s}", labels);
    g_string_append_printf(x->out, " %" G_GUINT64_FORMAT "%s\n", (guint64)v, x->ts);
}

void cs_expo_counter(cs_expo *x, const char *name, const char *labels, uint64_t v)
{
    char full[128];
    snprintf(full, sizeof full, "%s_total", name);
    cs_expo_u64(x, full, labels, v);
}

/* A sample whose value is a double (seconds). */
static void expo_double(cs_expo *x, const char *name, const char *labels, double v)
{
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(x->out, name);
    if (labels != NULL && labels[0] != '\0')
        g_string_append_printf(x->out, "{%s}", labels);
    g_string_append_printf(x->out, " %s%s\n", g_ascii_formatd(num, sizeof num, "%.6f", v), x->ts);
}

void cs_expo_hist(cs_expo *x, const char *name, const char *labels, const cs_hist *h)
{
    char full[128], num[G_ASCII_DTOSTR_BUF_SIZE];
    GString *l = g_string_new(NULL);
    snprintf(full, sizeof full, "%s_bucket", name);
    for (size_t i = 0; i <= G_N_ELEMENTS(expo_le_us); i++) {
        g_string_assign(l, labels != NULL ? labels : "");
        uint64_t below = h->n;
        if (i < G_N_ELEMENTS(expo_le_us)) {
            below = h->n - cs_hist_count_above(h, expo_le_us[i]);
            cs_expo_label(l, "le", g_ascii_formatd(num, sizeof num, "%g", expo_le_us[i] / 1e6));
        } else {
            cs_expo_label(l, "le", "+Inf");
        }
        cs_expo_u64(x, full, l->str, below);
    }
    snprintf(full, sizeof full, "%s_sum", name);
    expo_double(x, full, labels, h->sum / 1e6);
    snprintf(full, sizeof full, "%s_count", name);
    cs_expo_u64(x, full, labels, h->n);
    g_string_free(l, TRUE);
}

void cs_expo_end(cs_expo *x)
{
    if (x->om)
        g_string_append(x->out, "# EOF\n");
}

/* ---- the live exposition ----------------------------------------------------------------------- */

/* Connections and SYN attempts per server (address and port). */
static void live_servers(cs_expo *x, const cs_stats *st)
{
    GPtrArray *rows = cs_stats_servers_sorted(st);
    GString *l = g_string_new(NULL);
    char srv[64];
    static const struct {
        const char *name, *help;
        size_t off;
    } conn[] = {
        {"connscope_connections", "Connection records finalised, by server (ADDR:PORT).",
         offsetof(cs_server_conns, conns)},
        {"connscope_connections_established",
         "Finalised connections that completed the handshake, by server.",
         offsetof(cs_server_conns, established)},
        {"connscope_connections_refused", "Finalised connections refused (REJ), by server.",
         offsetof(cs_server_conns, refused)},
        {"connscope_connections_reset", "Other finalised connections with a RST, by server.",
         offsetof(cs_server_conns, reset)},
    };
    for (size_t k = 0; k < G_N_ELEMENTS(conn); k++) {
        cs_expo_family(x, conn[k].name, "counter", conn[k].help);
        for (guint i = 0; i < rows->len; i++) {
            const cs_server_stats *v = g_ptr_array_index(rows, i);
            if (v->c.conns == 0)
                continue;
            g_string_truncate(l, 0);
            cs_expo_label(l, "server", cs_expo_server(srv, v->family, &v->addr, v->port));
            cs_expo_counter(x, conn[k].name, l->str,
                            *(const uint64_t *)((const char *)&v->c + conn[k].off));
        }
    }
    cs_expo_family(x, "connscope_syn_packets", "counter",
                   "TCP SYN-without-ACK packets as they are seen, by destination.");
    for (guint i = 0; i < rows->len; i++) {
        const cs_server_stats *v = g_ptr_array_index(rows, i);
        g_string_truncate(l, 0);
        cs_expo_label(l, "destination", cs_expo_server(srv, v->family, &v->addr, v->port));
        if (v->syn_pkts > 0)
            cs_expo_counter(x, "connscope_syn_packets", l->str, v->syn_pkts);
    }
    cs_expo_family(x, "connscope_syn_attempts", "counter",
                   "Connection attempts (distinct SYNs) by destination and outcome, counted when "
                   "the connection record is finalised.");
    static const char *const outcome[] = {"answered", "refused", "unanswered"};
    for (guint i = 0; i < rows->len; i++) {
        const cs_server_stats *v = g_ptr_array_index(rows, i);
        const uint64_t n[] = {v->syn_answered, v->syn_rst, v->syn_unanswered};
        for (size_t k = 0; k < G_N_ELEMENTS(outcome); k++) {
            if (n[0] + n[1] + n[2] == 0)
                break;
            g_string_truncate(l, 0);
            cs_expo_label(l, "destination", cs_expo_server(srv, v->family, &v->addr, v->port));
            cs_expo_label(l, "outcome", outcome[k]);
            cs_expo_counter(x, "connscope_syn_attempts", l->str, n[k]);
        }
    }
    g_string_free(l, TRUE);
    g_ptr_array_free(rows, TRUE);
}

/* The labels of an HTTP row: server, host, version. */
static void http_labels(GString *l, const cs_http_server *v)
{
    char srv[64];
    g_string_truncate(l, 0);
    cs_expo_label(l, "server", cs_expo_server(srv, v->family, &v->addr, v->port));
    cs_expo_label(l, "host", v->family == 0 ? "other" : v->host);
    cs_expo_label(l, "version", v->version == 2 ? "2" : "1");
}

/* HTTP per (server, Host, version): requests, responses by status class, unanswered; each family
 * with all its samples after its TYPE line (the formats forbid interleaving families). */
static void live_http(cs_expo *x, const cs_stats *st)
{
    GPtrArray *rows = cs_stats_http_servers_sorted(st);
    GString *l = g_string_new(NULL);
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    cs_expo_family(x, "connscope_http_requests", "counter",
                   "HTTP requests reported, by server, Host and HTTP version.");
    for (guint i = 0; i < rows->len; i++) {
        const cs_http_server *v = g_ptr_array_index(rows, i);
        http_labels(l, v);
        cs_expo_counter(x, "connscope_http_requests", l->str, v->requests);
    }
    cs_expo_family(x, "connscope_http_responses", "counter",
                   "Final HTTP responses by server, Host, version and status class (code), "
                   "responses without a request included.");
    for (guint i = 0; i < rows->len; i++) {
        const cs_http_server *v = g_ptr_array_index(rows, i);
        for (int c = 1; c <= 6; c++) {
            if (v->status_class[c % 6] == 0)
                continue;
            http_labels(l, v);
            cs_expo_label(l, "code", cls[c % 6]);
            cs_expo_counter(x, "connscope_http_responses", l->str, v->status_class[c % 6]);
        }
    }
    cs_expo_family(x, "connscope_http_unanswered", "counter",
                   "HTTP requests reported without a response, by server, Host and version.");
    for (guint i = 0; i < rows->len; i++) {
        const cs_http_server *v = g_ptr_array_index(rows, i);
        http_labels(l, v);
        cs_expo_counter(x, "connscope_http_unanswered", l->str, v->unanswered);
    }
    cs_expo_family(x, "connscope_http_ttfb_seconds", "histogram",
                   "Request end to first response byte of paired HTTP exchanges.");
    cs_expo_hist(x, "connscope_http_ttfb_seconds", "", &st->http_ttfb_us);
    cs_expo_family(x, "connscope_http_total_seconds", "histogram",
                   "Request start to last response byte of paired HTTP exchanges.");
    cs_expo_hist(x, "connscope_http_total_seconds", "", &st->http_total_us);
    g_string_free(l, TRUE);
    g_ptr_array_free(rows, TRUE);
}

/* TLS per (server, SNI): connections, then established ones. */
static void live_tls(cs_expo *x, const cs_stats *st)
{
    GPtrArray *rows = cs_stats_tls_servers_sorted(st);
    GString *l = g_string_new(NULL);
    char srv[64];
    static const struct {
        const char *name, *help;
    } fam[2] = {
        {"connscope_tls_connections",
         "Finalised TLS connections by server and SNI (\"\": no server_name)."},
        {"connscope_tls_established",
         "Finalised TLS connections whose handshake completed, by server and SNI."},
    };
    for (int k = 0; k < 2; k++) {
        cs_expo_family(x, fam[k].name, "counter", fam[k].help);
        for (guint i = 0; i < rows->len; i++) {
            const cs_tls_server *v = g_ptr_array_index(rows, i);
            g_string_truncate(l, 0);
            cs_expo_label(l, "server", cs_expo_server(srv, v->family, &v->addr, v->port));
            cs_expo_label(l, "sni", v->family == 0 ? "other" : v->sni);
            cs_expo_counter(x, fam[k].name, l->str, k == 0 ? v->conns : v->established);
        }
    }
    g_string_free(l, TRUE);
    g_ptr_array_free(rows, TRUE);
}

/* Resident memory of the process in bytes (0 when /proc cannot tell). */
static uint64_t resident_bytes(void)
{
    unsigned long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Packets, anomalies, the kernel's counters and the gauges. */
static void live_counters(cs_expo *x, const cs_live_view *v)
{
    GString *l = g_string_new(NULL);
    cs_expo_family(x, "connscope_packets", "counter", "Packets analysed.");
    cs_expo_counter(x, "connscope_packets", "", v->ctr->packets);
    cs_expo_family(x, "connscope_bytes", "counter", "Bytes on the wire of the packets analysed.");
    cs_expo_counter(x, "connscope_bytes", "", v->ctr->bytes);
    cs_expo_family(x, "connscope_anomalies", "counter",
                   "Named anomalies (the list in connscope(1), ANOMALIES).");
    for (int a = 0; a < CS_ANOM_COUNT; a++) {
        g_string_truncate(l, 0);
        cs_expo_label(l, "name", cs_anomaly_name((cs_anomaly)a));
        cs_expo_counter(x, "connscope_anomalies", l->str, v->ctr->anomalies[a]);
    }
    if (v->have_drops) {
        cs_expo_family(x, "connscope_capture_received_packets", "counter",
                       "Packets libpcap received (on Linux loopback each packet counts twice).");
        cs_expo_counter(x, "connscope_capture_received_packets", "", v->received);
        cs_expo_family(x, "connscope_capture_dropped_packets", "counter",
                       "Packets dropped before connscope saw them, by the kernel (buffer full) "
                       "or by the interface.");
        cs_expo_counter(x, "connscope_capture_dropped_packets", "by=\"kernel\"", v->dropped);
        cs_expo_counter(x, "connscope_capture_dropped_packets", "by=\"interface\"", v->if_dropped);
    }
    cs_expo_family(x, "connscope_tracked_connections", "gauge",
                   "TCP connections in the flow table now (open or closing).");
    cs_expo_u64(x, "connscope_tracked_connections", "", v->tcp_tracked);
    cs_expo_family(x, "connscope_tracked_udp_flows", "gauge", "UDP flows in the flow table now.");
    cs_expo_u64(x, "connscope_tracked_udp_flows", "", v->udp_tracked);
    cs_expo_family(x, "connscope_resident_memory_bytes", "gauge", "Resident memory of connscope.");
    cs_expo_u64(x, "connscope_resident_memory_bytes", "", resident_bytes());
    cs_expo_family(x, "connscope_start_time_seconds", "gauge",
                   "When the capture started, seconds since the epoch.");
    expo_double(x, "connscope_start_time_seconds", "", v->start_s);
    g_string_free(l, TRUE);
}

void cs_metrics_live_render(cs_expo *x, const cs_live_view *v)
{
    live_servers(x, v->stats);
    live_http(x, v->stats);
    live_tls(x, v->stats);
    live_counters(x, v);
    cs_expo_end(x);
}
