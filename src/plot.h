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

/* Writes the SVG to path through cs_output_write() (a symlink, device node or file mode stays as
 * it is). Returns false with *err set when the file cannot be written. */
bool cs_plot_write(const cs_analytics *a, const char *path, const char *subtitle, GError **err);

#endif
