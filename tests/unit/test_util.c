/* test_util.c - CUnit suite for src/util.c: the duration, time and hex formats, the duration and
 * --host parsers. Registered through suite_util() (test_main.c). Expected strings are worked out by
 * hand in the comments, hex from RFC 4648's test vectors. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "suites.h"
#include "util.h"

#define CS_AN_MAX_SLOW 8 /* as report.h */

/* cs_fmt_duration: three significant digits below 10 minutes (as before), then whole seconds in
 * m/s, h/m/s, d/h (issue 13: "4320.0min" was hard to read). */
static void test_fmt_duration(void)
{
    static const struct {
        cs_time_t ns;
        const char *want;
    } cases[] = {
        {-1, "-"},
        {0, "0us"},
        {850 * CS_NS_PER_US, "850us"},
        {12300 * CS_NS_PER_US, "12.3ms"},
        {4560 * CS_NS_PER_MS, "4.56s"},
        {599990 * CS_NS_PER_MS, "599.99s"},
        {600 * CS_NS_PER_S, "10m00s"},
        {(12 * 60 + 5) * CS_NS_PER_S + 499 * CS_NS_PER_MS, "12m05s"},    /* rounded down */
        {(59 * 60 + 59) * CS_NS_PER_S + 500 * CS_NS_PER_MS, "1h00m00s"}, /* rounded up */
        {4166 * CS_NS_PER_S, "1h09m26s"}, /* 4166 = 3600 + 9 * 60 + 26 */
        {(23 * 3600 + 59 * 60 + 59) * CS_NS_PER_S, "23h59m59s"},
        {3 * 86400 * CS_NS_PER_S + 8 * CS_NS_PER_MS, "3d00h"},     /* pcaps/ws-edge/c27_time_gap */
        {(2 * 86400 + 3 * 3600 + 59 * 60) * CS_NS_PER_S, "2d03h"}, /* hours: cut, not rounded */
        {INT64_MAX, "106751d23h"}, /* 9223372036.854775807 s: no overflow at the 2262 clamp */
    };
    char b[32];
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        cs_fmt_duration(cases[i].ns, b, sizeof b);
        if (strcmp(b, cases[i].want) != 0)
            fprintf(stderr, "\ncs_fmt_duration(%lld) = %s, want %s\n", (long long)cases[i].ns, b,
                    cases[i].want);
        CU_ASSERT_STRING_EQUAL(b, cases[i].want);
    }
}

/* cs_fmt_time_short: microseconds only when not a whole second; 1700000000 s is
 * 2023-11-14 22:13:20 UTC. */
static void test_fmt_time(void)
{
    char b[40];
    CU_ASSERT_STRING_EQUAL(cs_fmt_time(1700000000 * CS_NS_PER_S + 5000, b, sizeof b),
                           "2023-11-14 22:13:20.000005");
    CU_ASSERT_STRING_EQUAL(cs_fmt_time_short(1700000000 * CS_NS_PER_S, b, sizeof b),
                           "2023-11-14 22:13:20");
    CU_ASSERT_STRING_EQUAL(cs_fmt_time_short(1700000000 * CS_NS_PER_S + 5000, b, sizeof b),
                           "2023-11-14 22:13:20.000005");
    CU_ASSERT_STRING_EQUAL(cs_fmt_time(-1, b, sizeof b), "-");
}

/* RFC 4648 section 10 (base16, lowercase here): "" "f" "fo" ... "foobar". */
static void test_hex(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const hex[] = {"",         "66",         "666f",        "666f6f",
                                      "666f6f62", "666f6f6261", "666f6f626172"};
    char out[16];
    uint8_t back[8];
    for (size_t i = 0; i < CS_ARRAY_LEN(plain); i++) {
        size_t n = strlen(plain[i]);
        CU_ASSERT_STRING_EQUAL(cs_hex((const uint8_t *)plain[i], n, out), hex[i]);
        CU_ASSERT_TRUE(cs_unhex(hex[i], n, back));
        CU_ASSERT_EQUAL(memcmp(back, plain[i], n), 0);
    }
    const uint8_t hi[2] = {0x00, 0xff};
    CU_ASSERT_STRING_EQUAL(cs_hex(hi, 2, out), "00ff");
    CU_ASSERT_TRUE(cs_unhex("00FF", 2, back)); /* either case */
    CU_ASSERT(back[0] == 0 && back[1] == 0xff);
    CU_ASSERT_FALSE(cs_unhex("0g", 1, back));
    CU_ASSERT_FALSE(cs_unhex("g", 1, back)); /* stops at the bad digit: the NUL is not read */
}

static void test_host_filter(void)
{
    cs_host_filter f;
    memset(&f, 0, sizeof f);
    CU_ASSERT_FALSE(cs_host_filter_parse(&f, "10.0.0"));
    CU_ASSERT_FALSE(cs_host_filter_parse(&f, "host.example"));
    CU_ASSERT_FALSE(f.on);
    CU_ASSERT_TRUE(cs_host_filter_parse(&f, "2001:db8::1"));
    CU_ASSERT_EQUAL(f.family, 6);
    CU_ASSERT_TRUE(cs_host_filter_parse(&f, "10.0.0.100"));
    CU_ASSERT_EQUAL(f.family, 4);
    cs_addr a = cs_test_ip4(10, 0, 0, 1), b = cs_test_ip4(10, 0, 0, 100),
            c = cs_test_ip4(10, 0, 0, 2);
    CU_ASSERT_TRUE(cs_host_filter_match(&f, 4, &a, &b));
    CU_ASSERT_TRUE(cs_host_filter_match(&f, 4, &b, &a));
    CU_ASSERT_FALSE(cs_host_filter_match(&f, 4, &a, &c));
    CU_ASSERT_FALSE(cs_host_filter_match(&f, 6, &a, &b));
}

static void test_parse_duration(void)
{
    cs_time_t ns = 0;
    CU_ASSERT_TRUE(cs_parse_duration("90", false, &ns));
    CU_ASSERT_EQUAL(ns, 90 * CS_NS_PER_S);
    CU_ASSERT_TRUE(cs_parse_duration("15m", false, &ns));
    CU_ASSERT_EQUAL(ns, 900 * CS_NS_PER_S);
    CU_ASSERT_TRUE(cs_parse_duration("1h", false, &ns));
    CU_ASSERT_EQUAL(ns, 3600 * CS_NS_PER_S);
    CU_ASSERT_TRUE(cs_parse_duration("2d", false, &ns));
    CU_ASSERT_EQUAL(ns, 2 * 86400 * CS_NS_PER_S);
    CU_ASSERT_FALSE(cs_parse_duration("250ms", false, &ns));
    CU_ASSERT_TRUE(cs_parse_duration("250ms", true, &ns));
    CU_ASSERT_EQUAL(ns, 250 * CS_NS_PER_MS);
    const char *bad[] = {"", "0", "0s", "-1h", "1.5h", "h", "1x", "1 h", "99999999999999999999d"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        ns = 7;
        CU_ASSERT_FALSE(cs_parse_duration(bad[i], true, &ns));
        CU_ASSERT_EQUAL(ns, 7);
    }
}

static void test_parse_slow(void)
{
    uint64_t us[CS_AN_MAX_SLOW];
    int n = 0;
    CU_ASSERT_TRUE(cs_parse_durations_us("10s,1s,250ms,1s", CS_AN_MAX_SLOW, us, &n));
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(us[0], 250000);
    CU_ASSERT_EQUAL(us[1], 1000000);
    CU_ASSERT_EQUAL(us[2], 10000000);
    CU_ASSERT_FALSE(cs_parse_durations_us("1s,", CS_AN_MAX_SLOW, us, &n));
    CU_ASSERT_FALSE(cs_parse_durations_us("fast", CS_AN_MAX_SLOW, us, &n));
    CU_ASSERT_FALSE(cs_parse_durations_us("1s,2s,3s,4s,5s,6s,7s,8s,9s", CS_AN_MAX_SLOW, us, &n));
}

static void test_fmt_width(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(cs_fmt_duration_exact(3600 * CS_NS_PER_S, b, sizeof b), "1h");
    CU_ASSERT_STRING_EQUAL(cs_fmt_duration_exact(90 * CS_NS_PER_S, b, sizeof b), "90s");
    CU_ASSERT_STRING_EQUAL(cs_fmt_duration_exact(86400 * CS_NS_PER_S, b, sizeof b), "1d");
    CU_ASSERT_STRING_EQUAL(cs_fmt_duration_exact(250 * CS_NS_PER_MS, b, sizeof b), "250ms");
}

/* IPv4 addresses (formatted by hand) against inet_ntop, for every value of each byte. */
static void test_addr_str_ipv4(void)
{
    char got[64], want[INET_ADDRSTRLEN];
    cs_addr a;
    memset(&a, 0, sizeof a);
    for (unsigned v = 0; v < 256; v++) {
        for (int pos = 0; pos < 4; pos++) {
            for (int k = 0; k < 4; k++)
                a.b[k] = (uint8_t)(k == pos ? v : 255 - v / (unsigned)(k + 1));
            inet_ntop(AF_INET, a.b, want, sizeof want);
            CU_ASSERT_STRING_EQUAL(cs_addr_str(&a, 4, got, sizeof got), want);
        }
    }
    memset(&a, 0, sizeof a);
    a.b[15] = 1;
    CU_ASSERT_STRING_EQUAL(cs_addr_str(&a, 6, got, sizeof got), "::1");
}

void suite_util(void)
{
    static const cs_test_case cases[] = {{"durations to read (us .. d)", test_fmt_duration},
                                         {"times, whole seconds short", test_fmt_time},
                                         {"hex both ways (RFC 4648 vectors)", test_hex},
                                         {"host filter", test_host_filter},
                                         {"duration values", test_parse_duration},
                                         {"slow thresholds", test_parse_slow},
                                         {"exact durations (bucket widths)", test_fmt_width},
                                         {"IPv4 addresses as inet_ntop", test_addr_str_ipv4},
                                         {NULL, NULL}};
    cs_add_suite("util", cases);
}
