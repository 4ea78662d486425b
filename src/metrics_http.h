/* metrics_http.h - the --metrics-listen endpoint: libmicrohttpd serves GET /metrics on its own
 * threads; the capture thread renders the exposition at a safe point between two reads when a
 * scrape asks for it, and hands it over under a short lock (it never waits for a scraper). */
#ifndef CS_METRICS_HTTP_H
#define CS_METRICS_HTTP_H

#include <glib.h>

#include "metrics_expo.h"

typedef struct cs_metrics_http cs_metrics_http;

/* Listens on "[ADDR:]PORT" (ADDR: an IPv4 or bracketed IPv6 address, default every IPv4 and IPv6
 * address; PORT 1-65535) and starts serving. Returns NULL with *err set ("--metrics-listen SPEC:
 * REASON") when the value is invalid or the address cannot be bound. */
cs_metrics_http *cs_metrics_http_start(const char *spec, GError **err);

/* For the capture thread, between reads: true when a scrape waits for a fresh exposition (one
 * atomic load: call it as often as you like). */
bool cs_metrics_http_wanted(cs_metrics_http *m);

/* For the capture thread: renders v in the formats waiting scrapes asked for and hands the text
 * over to them. Takes the lock only to swap the buffers. */
void cs_metrics_http_publish(cs_metrics_http *m, const cs_live_view *v);

/* Stops serving (waits for the server threads) and frees m. NULL is fine. */
void cs_metrics_http_stop(cs_metrics_http *m);

#endif
