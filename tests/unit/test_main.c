/* test_main.c - runs every CUnit suite of connscope (one suite file per module).
 * Exit status is non-zero when any assertion failed, so `make check` reports it. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "suites.h"

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite_decode();
    suite_reasm();
    suite_defrag();
    suite_flow();
    suite_hist();
    suite_json();
    suite_hashidx();
    suite_http();
    suite_http2();
    suite_tls();
    suite_analytics();
    suite_endpoint();
    suite_stats();
    suite_util();
    suite_quic();
    suite_exsum();
    suite_tunnel();
    suite_metrics_expo();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
