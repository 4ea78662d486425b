/* util.h - formatting helpers for reports: addresses, endpoints, durations, sizes, timestamps.
 * Each writes into a caller buffer and returns it; none allocates. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <inttypes.h>
#include <time.h>

#include "common.h"

/* "1.2.3.4:80" or "[::1]:80". */
char *cs_endpoint_str(const cs_addr *addr, int family, uint16_t port, char *buf, size_t len);
/* "850us", "12.3ms", "4.56s", "12.0min"; "-" for a negative value. */
char *cs_fmt_duration(cs_time_t ns, char *buf, size_t len);
/* "512B", "1.5KB", "3.2MB", "1.10GB" (binary units). */
char *cs_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "2024-01-02 03:04:05.123456" in UTC. */
char *cs_fmt_time(cs_time_t ns, char *buf, size_t len);

#endif
