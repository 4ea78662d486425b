/* common.h - types and helpers shared by every layer of connscope.
 * Time is kept as signed 64-bit nanoseconds since the epoch (cs_time_t) everywhere inside. */
#ifndef CS_COMMON_H
#define CS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t cs_time_t; /* nanoseconds since 1970-01-01 UTC */

#define CS_NS_PER_US INT64_C(1000)
#define CS_NS_PER_MS INT64_C(1000000)
#define CS_NS_PER_S INT64_C(1000000000)

#define CS_LIKELY(x) __builtin_expect(!!(x), 1)
#define CS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* t + d, saturating at the ends of cs_time_t (the year 2262 and 1677): times read from a damaged
 * capture are clamped near those ends, and a deadline computed from them must not wrap. */
static inline cs_time_t cs_time_add(cs_time_t t, cs_time_t d)
{
    cs_time_t r;
    if (__builtin_add_overflow(t, d, &r))
        return d > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* An IPv4 or IPv6 address. IPv4 lives in the first 4 bytes, the rest is zero. */
typedef struct cs_addr {
    uint8_t b[16];
} cs_addr;

/* Formats addr (family 4 or 6) into buf (at least 46 bytes). Returns buf. Can't fail. */
char *cs_addr_str(const cs_addr *addr, int family, char *buf, size_t len);

/* Signed distance from sequence number b to a in 32-bit serial arithmetic (RFC 1982):
 * positive when a is after b. Correct across the 2^32 wrap for distances below 2^31. */
static inline int32_t cs_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

#endif
