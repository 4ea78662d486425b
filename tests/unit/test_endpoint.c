/* test_endpoint.c - cs_parse_addr_port, the one parser of "IP[:PORT]" text (--server, --client,
 * --host, connscope-gen's client/server columns and --target/--source): which forms it takes,
 * what it refuses, and the port it reports (-1: none). */
#include <arpa/inet.h>
#include <string.h>

#include "suites.h"
#include "util.h"

/* Parses text and checks the result against (family, address via inet_pton, port). */
static void expect(const char *text, uint8_t family, const char *addr, int32_t port)
{
    uint8_t fam = 0;
    cs_addr a, want;
    int32_t p = -2;
    memset(&want, 0, sizeof want);
    CU_ASSERT_EQUAL_FATAL(inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, want.b), 1);
    CU_ASSERT_TRUE(cs_parse_addr_port(text, &fam, &a, &p));
    CU_ASSERT_EQUAL(fam, family);
    CU_ASSERT_EQUAL(memcmp(&a, &want, sizeof a), 0);
    CU_ASSERT_EQUAL(p, port);
}

static void refuse(const char *text)
{
    uint8_t fam;
    cs_addr a;
    int32_t p;
    CU_ASSERT_FALSE(cs_parse_addr_port(text, &fam, &a, &p));
}

static void test_forms(void)
{
    expect("192.0.2.80", 4, "192.0.2.80", -1);
    expect("192.0.2.80:80", 4, "192.0.2.80", 80);
    expect("192.0.2.80:0", 4, "192.0.2.80", 0); /* callers that need a port refuse 0 themselves */
    expect("192.0.2.80:65535", 4, "192.0.2.80", 65535);
    expect("2001:db8::1", 6, "2001:db8::1", -1); /* bare IPv6: the colons are the address's */
    expect("[2001:db8::1]", 6, "2001:db8::1", -1);
    expect("[2001:db8::1]:443", 6, "2001:db8::1", 443);
    expect("::1", 6, "::1", -1);
    expect("[::ffff:192.0.2.1]:8080", 6, "::ffff:192.0.2.1", 8080);
}

static void test_refused(void)
{
    refuse("");
    refuse("192.0.2");
    refuse("192.0.2.80:");
    refuse("192.0.2.80:65536");
    refuse("192.0.2.80:123456");
    refuse("192.0.2.80:8o");
    refuse("192.0.2.80:+80");
    refuse("192.0.2.80:-1");
    refuse("host.example:80");
    refuse("[192.0.2.80]x");
    refuse("[2001:db8::1]:");
    refuse("[2001:db8::1");
    refuse("2001:db8::1:80:x");
    refuse("[2001:db8:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:80"); /* too long */
}

void suite_endpoint(void)
{
    static const cs_test_case cases[] = {
        {"forms", test_forms},
        {"refused", test_refused},
        {NULL, NULL},
    };
    cs_add_suite("endpoint", cases);
}
