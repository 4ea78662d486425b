/* test_metrics_expo.c - CUnit suite for src/metrics_expo.c: label escaping of wire strings, the
 * server label, family lines in both formats, and histogram buckets against hand-counted values.
 * Registered by test_main.c through suite_metrics_expo(). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "metrics_expo.h"
#include "suites.h"

static void test_label_escaping(void)
{
    GString *l = g_string_new(NULL);
    cs_expo_label(l, "host", "a\"b\\c\nd");
    cs_expo_label(l, "sni", "x\xff"); /* invalid UTF-8 from the wire becomes U+FFFD */
    CU_ASSERT_STRING_EQUAL(l->str, "host=\"a\\\"b\\\\c\\nd\",sni=\"x\xef\xbf\xbd\"");
    g_string_free(l, TRUE);
}

static void test_server_label(void)
{
    char buf[64];
    cs_addr a = cs_test_ip4(10, 0, 0, 1), v6;
    memset(&v6, 0, sizeof v6);
    v6.b[15] = 1;
    CU_ASSERT_STRING_EQUAL(cs_expo_server(buf, 4, &a, 80), "10.0.0.1:80");
    CU_ASSERT_STRING_EQUAL(cs_expo_server(buf, 6, &v6, 443), "[::1]:443");
    CU_ASSERT_STRING_EQUAL(cs_expo_server(buf, 0, &a, 0), "other");
}

static void test_families(void)
{
    GString *s = g_string_new(NULL);
    cs_expo prom = {.out = s, .om = false, .ts = ""};
    cs_expo_family(&prom, "connscope_x", "counter", "X.");
    cs_expo_counter(&prom, "connscope_x", "a=\"1\"", 5);
    CU_ASSERT_STRING_EQUAL(s->str, "# HELP connscope_x_total X.\n# TYPE connscope_x_total counter\n"
                                   "connscope_x_total{a=\"1\"} 5\n");
    g_string_truncate(s, 0);
    cs_expo om = {.out = s, .om = true, .ts = " 12.500"};
    cs_expo_family(&om, "connscope_x", "counter", "X.");
    cs_expo_counter(&om, "connscope_x", "", 5);
    cs_expo_end(&om);
    CU_ASSERT_STRING_EQUAL(s->str, "# HELP connscope_x X.\n# TYPE connscope_x counter\n"
                                   "connscope_x_total 5 12.500\n# EOF\n");
    g_string_free(s, TRUE);
}

/* 50 us, 100 us (on the first bound: counted under it), 101 us, 3 ms, 2 s: cumulative counts by
 * hand for le = 0.0001, 0.00025, ..., 2.5 s, +Inf. */
static void test_histogram_buckets(void)
{
    cs_hist h;
    memset(&h, 0, sizeof h);
    static const uint64_t v[] = {50, 100, 101, 3000, 2000000};
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
        cs_hist_add(&h, v[i], 1);
    GString *s = g_string_new(NULL);
    cs_expo x = {.out = s, .om = false, .ts = ""};
    cs_expo_hist(&x, "t_seconds", "", &h);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"0.0001\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"0.00025\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"0.0025\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"0.005\"} 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"1\"} 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"2.5\"} 5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_bucket{le=\"+Inf\"} 5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_sum 2.003251\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "t_seconds_count 5\n"));
    g_string_free(s, TRUE);
    cs_hist_clear(&h);
}

void suite_metrics_expo(void)
{
    static const cs_test_case tests[] = {{"label escaping", test_label_escaping},
                                         {"server label", test_server_label},
                                         {"families", test_families},
                                         {"histogram buckets", test_histogram_buckets},
                                         {NULL, NULL}};
    cs_add_suite("metrics_expo", tests);
}
