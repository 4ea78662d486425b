/* plot.c - the SVG picture: stacked bars of HTTP exchanges per bucket, latency percentile lines
 * on a log axis, both against one UTC time axis with "nice" ticks (1-2-5 counts, whole units). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "plot.h"
#include "util.h"

#define W 1000.0
#define H 735.0
#define LEFT 90.0
#define RIGHT 45.0
#define PLOT_W (W - LEFT - RIGHT)
#define A_TOP 100.0 /* panel A: exchanges per bucket */
#define A_H 220.0
#define B_TOP 415.0 /* panel B: latency */
#define B_H 220.0

#define FONT "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""

typedef struct series {
    const char *label;
    const char *color;
    const char *dash; /* stroke-dasharray or NULL */
} series;

/* stacked bar segments, bottom to top */
/* The end of the bucket starting at `start`, saturated at the end of time (the year 2262, where
 * capture timestamps saturate): start + width would overflow there. */
static cs_time_t bucket_end(cs_time_t start, cs_time_t width)
{
    return start > INT64_MAX - width ? INT64_MAX : start + width;
}

static const series bars[] = {{"1xx-3xx", "#4e79a7", NULL},
                              {"4xx", "#f28e2b", NULL},
                              {"5xx", "#e15759", NULL},
                              {"other status", "#b07aa1", NULL},
                              {"no response", "#bab0ac", NULL}};
static const series lines[] = {{"ttfb p50", "#59a14f", NULL},
                               {"ttfb p90", "#f28e2b", NULL},
                               {"ttfb p99", "#e15759", NULL},
                               {"total p99", "#4e79a7", "6,4"}};
#define N_BARS 5
#define N_LINES 4

typedef struct pt {
    cs_time_t start;
    uint64_t seg[N_BARS];
    uint64_t sum;
    bool has_lat;
    double lat[N_LINES]; /* microseconds */
} pt;

static void collect(const cs_an_bucket *b, void *ctx)
{
    GArray *pts = ctx;
    pt p;
    memset(&p, 0, sizeof p);
    p.start = b->start;
    p.seg[0] = b->status_class[1] + b->status_class[2] + b->status_class[3];
    p.seg[1] = b->status_class[4];
    p.seg[2] = b->status_class[5];
    p.seg[3] = b->status_class[0];
    p.seg[4] = b->unanswered;
    for (int i = 0; i < N_BARS; i++)
        p.sum += p.seg[i];
    if (b->ttfb_us.n > 0 && b->total_us.n > 0) {
        p.has_lat = true;
        p.lat[0] = (double)cs_hist_percentile(&b->ttfb_us, 50);
        p.lat[1] = (double)cs_hist_percentile(&b->ttfb_us, 90);
        p.lat[2] = (double)cs_hist_percentile(&b->ttfb_us, 99);
        p.lat[3] = (double)cs_hist_percentile(&b->total_us, 99);
    }
    g_array_append_val(pts, p);
}

static void esc(GString *out, const char *s)
{
    gchar *e = g_markup_escape_text(s, -1);
    g_string_append(out, e);
    g_free(e);
}

static void text(GString *out, double x, double y, const char *anchor, const char *extra,
                 const char *s)
{
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor,
                           extra != NULL ? extra : "");
    esc(out, s);
    g_string_append(out, "</text>\n");
}

/* A 1-2-5 step giving about `want` intervals over [0, max]. */
static double nice_step(double max, int want)
{
    double raw = max / want;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* "100us", "2ms", "10s": a tick of the latency axis (whole microseconds). */
static void fmt_tick(double us, char *buf, size_t len)
{
    cs_fmt_duration_exact((cs_time_t)llround(us) * CS_NS_PER_US, buf, len);
}

/* Legend items in one row ending at x_right, baseline y. */
static void legend(GString *out, const series *s, int n, bool as_lines, double x_right, double y)
{
    double x = x_right;
    for (int i = n - 1; i >= 0; i--) {
        double w = 7.0 * (double)strlen(s[i].label) + 26;
        x -= w;
        if (as_lines) {
            g_string_append_printf(out,
                                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                   "stroke=\"%s\" stroke-width=\"2.5\"%s%s%s/>\n",
                                   x, y - 4, x + 16, y - 4, s[i].color,
                                   s[i].dash ? " stroke-dasharray=\"" : "",
                                   s[i].dash ? s[i].dash : "", s[i].dash ? "\"" : "");
        } else {
            g_string_append_printf(out,
                                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
                                   "fill=\"%s\"/>\n",
                                   x + 2, y - 10, s[i].color);
        }
        g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" %s>", x + 20, y,
                               FONT);
        esc(out, s[i].label);
        g_string_append(out, "</text>\n");
    }
}

typedef struct xaxis {
    cs_time_t t0, t1; /* ns */
    int64_t step;     /* ns between ticks */
} xaxis;

static double X(const xaxis *ax, cs_time_t t)
{
    return LEFT + PLOT_W * (double)(t - ax->t0) / (double)(ax->t1 - ax->t0);
}

/* The smallest step (from 100 us to 50 years, in whole units) giving at most 8 intervals. */
static void choose_ticks(xaxis *ax)
{
    static const int64_t sub[] = {100000,   200000,   500000,   1000000,   2000000,   5000000,
                                  10000000, 20000000, 50000000, 100000000, 200000000, 500000000};
    static const int64_t steps[] = {1,    2,    5,     10,    15,    30,     60,     120,
                                    300,  600,  900,   1800,  3600,  7200,   10800,  21600,
                                    43200, 86400, 172800, 604800, 2592000, 31536000,
                                    63072000, 157680000, 315360000, 630720000, 1576800000};
    double span = (double)(ax->t1 - ax->t0);
    ax->step = steps[CS_ARRAY_LEN(steps) - 1] * CS_NS_PER_S;
    for (size_t i = 0; i < CS_ARRAY_LEN(sub) + CS_ARRAY_LEN(steps); i++) {
        int64_t st = i < CS_ARRAY_LEN(sub) ? sub[i] : steps[i - CS_ARRAY_LEN(sub)] * CS_NS_PER_S;
        if (span / (double)st <= 8) {
            ax->step = st;
            break;
        }
    }
}

/* The label of the tick at t (ns): the time of day, with milliseconds or microseconds for steps
 * below a second; the date alone for steps of a day or more. On an axis spanning more than a day
 * with steps shorter than a day, the first tick and the first of each new day also carry the
 * date ("03-14 06:00"). `prev_day` is the day of the previous tick (-1 before the first). */
static void tick_label(const xaxis *ax, cs_time_t t, int64_t *prev_day, char *lab, size_t len)
{
    int64_t s = t / CS_NS_PER_S, frac = t % CS_NS_PER_S;
    if (frac < 0) {
        s--;
        frac += CS_NS_PER_S;
    }
    time_t tt = (time_t)s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int64_t step_s = ax->step / CS_NS_PER_S;
    int64_t day = (s - (s % 86400 + 86400) % 86400) / 86400;
    bool dated = ax->t1 - ax->t0 > 86400 * CS_NS_PER_S && step_s < 86400 && day != *prev_day;
    *prev_day = day;
    const char *fmt = step_s < 60         ? (dated ? "%m-%d %H:%M:%S" : "%H:%M:%S")
                      : step_s < 86400    ? (dated ? "%m-%d %H:%M" : "%H:%M")
                      : step_s < 2592000  ? "%m-%d"
                      : step_s < 31536000 ? "%Y-%m"
                                          : "%Y";
    size_t n = strftime(lab, len, fmt, &tm);
    if (ax->step < CS_NS_PER_MS)
        snprintf(lab + n, len - n, ".%06" G_GINT64_FORMAT, (gint64)(frac / CS_NS_PER_US));
    else if (ax->step < CS_NS_PER_S)
        snprintf(lab + n, len - n, ".%03" G_GINT64_FORMAT, (gint64)(frac / CS_NS_PER_MS));
}

/* Vertical grid lines and time labels under a panel. */
static void x_ticks(GString *out, const xaxis *ax, double top, double h)
{
    /* the first multiple of the step at or after t0 (floor division: times before 1970 too) */
    cs_time_t first = ax->t0 / ax->step * ax->step;
    if (first < ax->t0)
        first += ax->step;
    int64_t prev_day = INT64_MIN;
    for (cs_time_t t = first; t <= ax->t1; t = cs_time_add(t, ax->step)) {
        double x = X(ax, t);
        char lab[48];
        tick_label(ax, t, &prev_day, lab, sizeof lab);
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#e3e3e3\"/>\n"
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#333\"/>\n",
                               x, top, x, top + h, x, top + h, x, top + h + 5);
        text(out, x, top + h + 19, "middle", "font-size=\"12\" fill=\"#333\" " FONT, lab);
        if (t > INT64_MAX - ax->step)
            break;
    }
}

static void frame(GString *out, double top, double h)
{
    g_string_append_printf(out,
                           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"none\" stroke=\"#333\"/>\n",
                           LEFT, top, PLOT_W, h);
}

static void y_label(GString *out, double top, double h, const char *s)
{
    g_string_append_printf(out,
                           "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" "
                           "text-anchor=\"middle\" font-size=\"13\" %s>",
                           22.0, top + h / 2, FONT);
    esc(out, s);
    g_string_append(out, "</text>\n");
}

static void panel_title(GString *out, double top, const char *s)
{
    g_string_append_printf(out,
                           "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\" %s>",
                           LEFT, top - 12, FONT);
    esc(out, s);
    g_string_append(out, "</text>\n");
}

/* The SVG header, the title and the subtitle. */
static void plot_head(GString *out, const cs_analytics *a, const char *subtitle, const char *w)
{
    g_string_append_printf(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\">\n"
        "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
        W, H, W, H);
    g_string_append_printf(
        out, "<text x=\"%.1f\" y=\"30\" font-size=\"18\" font-weight=\"bold\" %s>", LEFT, FONT);
    g_string_append_printf(out, "connscope: HTTP exchanges and latency per %s bucket", w);
    if (a->cfg.host.on) {
        char ip[64];
        g_string_append_printf(out, " (host %s)",
                               cs_addr_str(&a->cfg.host.addr, a->cfg.host.family, ip, sizeof ip));
    }
    g_string_append(out, "</text>\n");
    if (subtitle != NULL && *subtitle) {
        gchar *s = g_utf8_make_valid(subtitle, -1);
        if (g_utf8_strlen(s, -1) > 120) {
            gchar *cut = g_utf8_substring(s, 0, 117);
            g_free(s);
            s = g_strconcat(cut, "...", NULL);
            g_free(cut);
        }
        text(out, LEFT, 52, "start", "font-size=\"13\" fill=\"#555\" " FONT, s);
        g_free(s);
    }
}

/* Panel A: exchanges per bucket, stacked by status class. */
static void panel_exchanges(GString *out, const GArray *pts, const xaxis *ax, cs_time_t bucket,
                            const char *w)
{
    char buf[256], t0[40];
    uint64_t maxsum = 0, total = 0;
    for (guint i = 0; i < pts->len; i++) {
        const pt *p = &g_array_index(pts, pt, i);
        if (p->sum > maxsum)
            maxsum = p->sum;
        total += p->sum;
    }
    double ystep = nice_step(maxsum > 0 ? (double)maxsum : 1, 5);
    if (ystep < 1)
        ystep = 1;
    double ymax = ceil((maxsum > 0 ? (double)maxsum : 1) / ystep) * ystep;
    snprintf(buf, sizeof buf, "HTTP exchanges per %s bucket (%" G_GUINT64_FORMAT " in all)", w,
             (guint64)total);
    panel_title(out, A_TOP, buf);
    legend(out, bars, N_BARS, false, LEFT + PLOT_W, A_TOP - 12);
    for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
        double y = A_TOP + A_H - A_H * v / ymax;
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#e3e3e3\"/>\n"
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#333\"/>\n",
                               LEFT, y, LEFT + PLOT_W, y, LEFT - 5, y, LEFT, y);
        snprintf(t0, sizeof t0, "%.0f", v);
        text(out, LEFT - 8, y + 4, "end", "font-size=\"12\" " FONT, t0);
    }
    x_ticks(out, ax, A_TOP, A_H);
    y_label(out, A_TOP, A_H, "exchanges");
    for (guint i = 0; i < pts->len; i++) {
        const pt *p = &g_array_index(pts, pt, i);
        double x0 = X(ax, p->start), x1 = X(ax, bucket_end(p->start, bucket));
        double gap = x1 - x0 > 4 ? 1 : 0, base = 0;
        if (x1 - x0 < 1.5) /* a bucket narrower than a pixel stays visible */
            x1 = x0 + 1.5;
        for (int s = 0; s < N_BARS; s++) {
            if (p->seg[s] == 0)
                continue;
            double yb = A_TOP + A_H - A_H * base / ymax;
            double yt = A_TOP + A_H - A_H * (base + (double)p->seg[s]) / ymax;
            g_string_append_printf(out,
                                   "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                                   "fill=\"%s\"><title>%" G_GUINT64_FORMAT " %s</title></rect>\n",
                                   x0 + gap / 2, yt, x1 - x0 - gap, yb - yt, bars[s].color,
                                   (guint64)p->seg[s], bars[s].label);
            base += (double)p->seg[s];
        }
    }
    frame(out, A_TOP, A_H);
}

/* The log scale of panel B: decades dlo .. dhi of microseconds. */
typedef struct ylog {
    double dlo, dhi;
} ylog;

static double y_log(const ylog *y, double v)
{
    return B_TOP + B_H - B_H * (log10(v < 1 ? 1 : v) - y->dlo) / (y->dhi - y->dlo);
}

/* Panel B's grid: a labelled line per decade, and at 2x and 5x when there are few decades. */
static void latency_grid(GString *out, const ylog *yl)
{
    char t0[40];
    double dlo = yl->dlo, dhi = yl->dhi;
    for (double d = dlo; d <= dhi + 0.5; d++) {
        double v = pow(10, d), y = y_log(yl, v);
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#d0d0d0\"/>\n"
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#333\"/>\n",
                               LEFT, y, LEFT + PLOT_W, y, LEFT - 5, y, LEFT, y);
        fmt_tick(v, t0, sizeof t0);
        text(out, LEFT - 8, y + 4, "end", "font-size=\"12\" " FONT, t0);
        for (int m = 2; m <= 5 && d < dhi && dhi - dlo <= 5; m += 3) {
            double ym = y_log(yl, v * m);
            g_string_append_printf(out,
                                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                   "stroke=\"#efefef\"/>\n"
                                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                   "stroke=\"#333\"/>\n",
                                   LEFT, ym, LEFT + PLOT_W, ym, LEFT - 3, ym, LEFT, ym);
            if (dhi - dlo <= 2) { /* few decades: label 2x and 5x too */
                fmt_tick(v * m, t0, sizeof t0);
                text(out, LEFT - 8, ym + 4, "end", "font-size=\"11\" fill=\"#555\" " FONT, t0);
            }
        }
    }
}

/* Panel B's lines: one per percentile series, broken across buckets without exchanges. */
static void latency_lines(GString *out, const GArray *pts, const xaxis *ax, cs_time_t bucket,
                          const ylog *yl)
{
    for (int s = 0; s < N_LINES; s++) {
        GString *path = g_string_new(NULL);
        bool pen = false;
        for (guint i = 0; i < pts->len; i++) {
            const pt *p = &g_array_index(pts, pt, i);
            /* no line across a bucket without exchanges (or one not drawn) */
            if (i > 0 && bucket_end(g_array_index(pts, pt, i - 1).start, bucket) != p->start)
                pen = false;
            if (!p->has_lat) {
                pen = false;
                continue;
            }
            double x = (X(ax, p->start) + X(ax, bucket_end(p->start, bucket))) / 2;
            g_string_append_printf(path, "%s%.2f,%.2f ", pen ? "L" : "M", x, y_log(yl, p->lat[s]));
            pen = true;
            g_string_append_printf(out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n",
                                   x, y_log(yl, p->lat[s]), lines[s].color);
        }
        g_string_append_printf(out,
                               "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                               "stroke-linejoin=\"round\"%s%s%s/>\n",
                               path->str, lines[s].color,
                               lines[s].dash ? " stroke-dasharray=\"" : "",
                               lines[s].dash ? lines[s].dash : "", lines[s].dash ? "\"" : "");
        g_string_free(path, TRUE);
    }
}

/* Panel B: latency percentiles, log scale. */
static void panel_latency(GString *out, const GArray *pts, const xaxis *ax, cs_time_t bucket,
                          const char *w)
{
    char buf[256];
    double lo = INFINITY, hi = 0;
    for (guint i = 0; i < pts->len; i++) {
        const pt *p = &g_array_index(pts, pt, i);
        for (int s = 0; p->has_lat && s < N_LINES; s++) {
            double v = p->lat[s] < 1 ? 1 : p->lat[s];
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
    }
    snprintf(buf, sizeof buf, "HTTP latency per %s bucket", w);
    panel_title(out, B_TOP, buf);
    legend(out, lines, N_LINES, true, LEFT + PLOT_W, B_TOP - 12);
    y_label(out, B_TOP, B_H, "latency (log scale)");
    x_ticks(out, ax, B_TOP, B_H);
    if (hi == 0) {
        text(out, LEFT + PLOT_W / 2, B_TOP + B_H / 2, "middle",
             "font-size=\"15\" fill=\"#777\" " FONT,
             "no paired HTTP exchanges");
    } else {
        ylog yl = {.dlo = floor(log10(lo)), .dhi = ceil(log10(hi))};
        if (yl.dhi <= yl.dlo)
            yl.dhi = yl.dlo + 1;
        latency_grid(out, &yl);
        latency_lines(out, pts, ax, bucket, &yl);
    }
    frame(out, B_TOP, B_H);
}

void cs_plot_svg(const cs_analytics *a, const char *subtitle, GString *out)
{
    GArray *pts = g_array_new(FALSE, FALSE, sizeof(pt));
    bool all = cs_analytics_each_bucket(a, CS_AN_MAX_ZERO_FILL, collect, pts);
    char w[32], t0[40], t1[40], buf[256];
    cs_fmt_duration_exact(a->cfg.bucket, w, sizeof w);
    plot_head(out, a, subtitle, w);
    if (pts->len == 0) {
        frame(out, A_TOP, A_H);
        frame(out, B_TOP, B_H);
        text(out, LEFT + PLOT_W / 2, A_TOP + A_H / 2, "middle", "font-size=\"16\" fill=\"#777\"",
             "no events in the capture");
        g_string_append(out, "</svg>\n");
        g_array_free(pts, TRUE);
        return;
    }
    xaxis ax;
    ax.t0 = g_array_index(pts, pt, 0).start;
    ax.t1 = bucket_end(g_array_index(pts, pt, pts->len - 1).start, a->cfg.bucket);
    choose_ticks(&ax);
    snprintf(buf, sizeof buf, "time (UTC): %s to %s%s", cs_fmt_time_short(ax.t0, t0, sizeof t0),
             cs_fmt_time_short(ax.t1, t1, sizeof t1),
             all ? "" : " (too many buckets: only those with events are drawn)");
    text(out, LEFT + PLOT_W / 2, B_TOP + B_H + 44, "middle", "font-size=\"13\" " FONT, buf);
    panel_exchanges(out, pts, &ax, a->cfg.bucket, w);
    panel_latency(out, pts, &ax, a->cfg.bucket, w);
    text(out, LEFT, H - 26, "start", "font-size=\"11\" fill=\"#666\" " FONT,
         "ttfb: request end to first response byte; total: request start to last response byte "
         "(paired exchanges).");
    text(out, LEFT, H - 12, "start", "font-size=\"11\" fill=\"#666\" " FONT,
         "Percentiles are within 0.8% of the true value (fixed histogram bins). Buckets without "
         "exchanges have no bar and no point.");
    g_string_append(out, "</svg>\n");
    g_array_free(pts, TRUE);
}

void cs_plot_rebucket(cs_analytics *a, cs_time_t width)
{
    cs_analytics_cfg cfg = a->cfg;
    cfg.bucket = width;
    cs_analytics *wide = cs_analytics_new(&cfg);
    cs_analytics_merge(wide, a); /* aligns every bucket to the wider width */
    cs_analytics tmp = *a;       /* a keeps its address: the caller's pointers stay valid */
    *a = *wide;
    *wide = tmp;
    cs_analytics_free(wide);
}

void cs_plot_auto_bucket(cs_analytics *a)
{
    static const cs_time_t ladder[] = {100 * CS_NS_PER_US, CS_NS_PER_MS, 10 * CS_NS_PER_MS,
                                       100 * CS_NS_PER_MS, CS_NS_PER_S,  10 * CS_NS_PER_S,
                                       60 * CS_NS_PER_S};
    if (a->first_ts > a->last_ts) /* no event yet */
        return;
    cs_time_t span = a->last_ts - a->first_ts, width = a->cfg.bucket;
    for (size_t i = 0; i + 1 < CS_ARRAY_LEN(ladder); i++)
        if (width == ladder[i] && span / CS_PLOT_AUTO_BUCKETS >= width)
            width = ladder[i + 1];
    if (width != a->cfg.bucket)
        cs_plot_rebucket(a, width);
}

bool cs_plot_write(const cs_analytics *a, const char *path, const char *subtitle, GError **err)
{
    GString *s = g_string_new(NULL);
    cs_plot_svg(a, subtitle, s);
    /* through the path, not g_file_set_contents: that renames a new file over it, which replaces
     * a symlink or a device node and resets the mode */
    bool ok = cs_output_write("--plot", path, s->str, s->len, err);
    g_string_free(s, TRUE);
    return ok;
}
