/* anomaly.c - names and descriptions of the anomaly counters declared in anomaly.h.
 * The table is generated from the single CS_ANOMALIES list so names never drift from ids. */
#include "anomaly.h"

#define CS_ANOM_NAME(id, name, desc) name,
#define CS_ANOM_DESC(id, name, desc) desc,
static const char *const anom_names[] = {CS_ANOMALIES(CS_ANOM_NAME)};
static const char *const anom_descs[] = {CS_ANOMALIES(CS_ANOM_DESC)};

const char *cs_anomaly_name(cs_anomaly a)
{
    return (unsigned)a < CS_ANOM_COUNT ? anom_names[a] : "unknown";
}

const char *cs_anomaly_desc(cs_anomaly a)
{
    return (unsigned)a < CS_ANOM_COUNT ? anom_descs[a] : "unknown";
}
