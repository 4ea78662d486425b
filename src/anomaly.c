/* anomaly.c - names and descriptions of the anomaly counters declared in anomaly.h.
 * The table is generated from the single CS_ANOMALIES list so names never drift from ids. */
#include "anomaly.h"

#define CS_ANOM_NAME(id, name, desc) name,
#define CS_ANOM_DESC(id, name, desc) desc,
static const char *const anom_names[] = {CS_ANOMALIES(CS_ANOM_NAME)};
static const char *const anom_descs[] = {CS_ANOMALIES(CS_ANOM_DESC)};

/* The scalar fields of cs_counters, for the field-by-field operations below. */
#define COUNTER_FIELDS(X)                                                                          \
    X(packets)                                                                                     \
    X(bytes)                                                                                       \
    X(cap_bytes)                                                                                   \
    X(non_ip)                                                                                      \
    X(ipv4)                                                                                        \
    X(ipv6)                                                                                        \
    X(tcp)                                                                                         \
    X(udp)                                                                                         \
    X(icmp)                                                                                        \
    X(other_l4)                                                                                    \
    X(tunneled)                                                                                    \
    X(gap_bytes)                                                                                   \
    X(payload_cut_bytes)
#define COUNT_ONE(f) +1
_Static_assert(sizeof(cs_counters) ==
                   sizeof(uint64_t) * (0 COUNTER_FIELDS(COUNT_ONE) + CS_ANOM_COUNT),
               "a cs_counters field is missing from COUNTER_FIELDS");
#undef COUNT_ONE

void cs_counters_add(cs_counters *into, const cs_counters *from)
{
#define ADD_ONE(f) into->f += from->f;
    COUNTER_FIELDS(ADD_ONE)
#undef ADD_ONE
    for (int i = 0; i < CS_ANOM_COUNT; i++)
        into->anomalies[i] += from->anomalies[i];
}

void cs_counters_sub(cs_counters *into, const cs_counters *from)
{
#define SUB_ONE(f) into->f -= from->f;
    COUNTER_FIELDS(SUB_ONE)
#undef SUB_ONE
    for (int i = 0; i < CS_ANOM_COUNT; i++)
        into->anomalies[i] -= from->anomalies[i];
}

const char *cs_anomaly_name(cs_anomaly a)
{
    return (unsigned)a < CS_ANOM_COUNT ? anom_names[a] : "unknown";
}

const char *cs_anomaly_desc(cs_anomaly a)
{
    return (unsigned)a < CS_ANOM_COUNT ? anom_descs[a] : "unknown";
}
