/* plot.h - an SVG picture of a run's activity: HTTP exchanges per time bucket (stacked by status
 * class) above the time-to-first-byte percentiles (p50, p90, p99) and the p99 of the total exchange
 * time per bucket on a logarithmic axis; shared UTC time axis, ticks, labels and legends. */
#ifndef CS_PLOT_H
#define CS_PLOT_H

#include <glib.h>

#include "analytics.h"

/* Appends the SVG document to out. `subtitle` (may be NULL) is printed under the title (e.g. the
 * input names). Can't fail. */
void cs_plot_svg(const cs_analytics *a, const char *subtitle, GString *out);

/* --plot without --bucket: the analytics start with buckets of CS_PLOT_AUTO_FIRST and widen along
 * 100us, 1ms, 10ms, 100ms, 1s, 10s, 1m whenever their events span more than CS_PLOT_AUTO_BUCKETS
 * buckets, so that a capture of a few milliseconds gets bars of its own and a long one the
 * default 1m. Call after adding events; O(1) unless it widens (at most six times a run). */
#define CS_PLOT_AUTO_FIRST (100 * CS_NS_PER_US)
#define CS_PLOT_AUTO_BUCKETS 300
void cs_plot_auto_bucket(cs_analytics *a);

/* Re-buckets a to `width` (a multiple of its bucket width): every aggregate is kept, events are
 * added into the wider buckets. Can't fail (aborts on OOM). */
void cs_plot_rebucket(cs_analytics *a, cs_time_t width);

/* Writes the SVG to path through cs_output_write() (a symlink, device node or file mode stays as
 * it is). Returns false with *err set when the file cannot be written. */
bool cs_plot_write(const cs_analytics *a, const char *path, const char *subtitle, GError **err);

#endif
