/* suites.h - the registration function of every CUnit suite, and a helper to add one.
 * Each test_<module>.c defines suite_<module>(), which adds its suite and tests to the registry. */
#ifndef CS_TEST_SUITES_H
#define CS_TEST_SUITES_H

#include <CUnit/CUnit.h>
#include <string.h>

#include "common.h"

void suite_decode(void);
void suite_reasm(void);
void suite_defrag(void);
void suite_flow(void);
void suite_hist(void);
void suite_json(void);
void suite_hashidx(void);
void suite_http(void);
void suite_http2(void);
void suite_tls(void);
void suite_analytics(void);
void suite_endpoint(void);
void suite_stats(void);
void suite_util(void);
void suite_quic(void);
void suite_exsum(void);
void suite_tunnel(void);
void suite_metrics_expo(void);

/* Adds a suite named `name` with the NULL-terminated list of (name, function) pairs. */
typedef struct cs_test_case {
    const char *name;
    CU_TestFunc fn;
} cs_test_case;

/* The IPv4 address a.b.c.d. */
static inline cs_addr cs_test_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    cs_addr x;
    memset(&x, 0, sizeof x);
    x.b[0] = a;
    x.b[1] = b;
    x.b[2] = c;
    x.b[3] = d;
    return x;
}

static inline void cs_add_suite(const char *name, const cs_test_case *cases)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    for (; cases->name != NULL; cases++)
        CU_add_test(s, cases->name, cases->fn);
}

#endif
