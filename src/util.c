/* util.c - small formatting helpers shared by the report writers (addresses, times, sizes).
 * Nothing here is on the per-packet path. */
#include <arpa/inet.h>
#include <stdio.h>

#include "util.h"

char *cs_addr_str(const cs_addr *addr, int family, char *buf, size_t len)
{
    if (family == 0) {
        snprintf(buf, len, "(other)");
        return buf;
    }
    if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr->b, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

char *cs_endpoint_str(const cs_addr *addr, int family, uint16_t port, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];
    if (family == 0) { /* the entry that collects keys beyond --max-keys */
        snprintf(buf, len, "(other)");
        return buf;
    }
    cs_addr_str(addr, family, a, sizeof a);
    if (family == 6)
        snprintf(buf, len, "[%s]:%u", a, port);
    else
        snprintf(buf, len, "%s:%u", a, port);
    return buf;
}

char *cs_fmt_duration(cs_time_t ns, char *buf, size_t len)
{
    double v = (double)ns;
    if (ns < 0)
        snprintf(buf, len, "-");
    else if (ns < 1000 * CS_NS_PER_US)
        snprintf(buf, len, "%.0fus", v / 1e3);
    else if (ns < 1000 * CS_NS_PER_MS)
        snprintf(buf, len, "%.1fms", v / 1e6);
    else if (ns < 600 * CS_NS_PER_S)
        snprintf(buf, len, "%.2fs", v / 1e9);
    else
        snprintf(buf, len, "%.1fmin", v / 6e10);
    return buf;
}

char *cs_fmt_bytes(uint64_t n, char *buf, size_t len)
{
    if (n < 1024)
        snprintf(buf, len, "%" PRIu64 "B", n);
    else if (n < 1024 * 1024)
        snprintf(buf, len, "%.1fKB", (double)n / 1024.0);
    else if (n < UINT64_C(1024) * 1024 * 1024)
        snprintf(buf, len, "%.1fMB", (double)n / (1024.0 * 1024.0));
    else
        snprintf(buf, len, "%.2fGB", (double)n / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

char *cs_fmt_time(cs_time_t ns, char *buf, size_t len)
{
    time_t sec = (time_t)(ns / CS_NS_PER_S);
    long us = (long)((ns % CS_NS_PER_S) / CS_NS_PER_US);
    struct tm tm;
    if (ns < 0 || gmtime_r(&sec, &tm) == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }
    size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ld", us);
    return buf;
}
