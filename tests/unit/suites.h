/* suites.h - the registration function of every CUnit suite, and a helper to add one.
 * Each test_<module>.c defines suite_<module>(), which adds its suite and tests to the registry. */
#ifndef CS_TEST_SUITES_H
#define CS_TEST_SUITES_H

#include <CUnit/CUnit.h>

void suite_decode(void);
void suite_reasm(void);
void suite_flow(void);
void suite_hist(void);
void suite_json(void);
void suite_hashidx(void);
void suite_http(void);
void suite_http2(void);
void suite_tls(void);
void suite_analytics(void);
void suite_stats(void);

/* Adds a suite named `name` with the NULL-terminated list of (name, function) pairs. */
typedef struct cs_test_case {
    const char *name;
    CU_TestFunc fn;
} cs_test_case;

static inline void cs_add_suite(const char *name, const cs_test_case *cases)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    for (; cases->name != NULL; cases++)
        CU_add_test(s, cases->name, cases->fn);
}

#endif
