/* test_json.c - CUnit suite for src/json.c: string escaping (control characters, invalid UTF-8),
 * nesting and separators, numbers, time stamps. Registered by test_main.c through suite_json(). */
#include <CUnit/CUnit.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "report_record.h"
#include "suites.h"

/* Escapes s[0..n) and compares the literal written with `want`. */
static void check_esc(const char *s, size_t n, const char *want)
{
    GString *out = g_string_new("prefix:"); /* cs_json_escape appends */
    cs_json_escape(out, s, n);
    CU_ASSERT_STRING_EQUAL(out->str + 7, want);
    CU_ASSERT(strncmp(out->str, "prefix:", 7) == 0);
    g_string_free(out, TRUE);
}

#define ESC(lit, want) check_esc(lit, sizeof(lit) - 1, want)

static void test_escape_ascii(void)
{
    ESC("", "\"\"");
    ESC("plain text 123", "\"plain text 123\"");
    ESC("a\"b", "\"a\\\"b\"");
    ESC("back\\slash", "\"back\\\\slash\"");
    ESC("\\\"", "\"\\\\\\\"\"");
    ESC("/", "\"/\"");
    ESC("line\nret\rtab\t", "\"line\\nret\\rtab\\t\"");
    ESC("\x01", "\"\\u0001\"");
    ESC("\b\f", "\"\\u0008\\u000c\"");
    ESC("\x1f\x20", "\"\\u001f \"");
    ESC("a\x00" "b", "\"a\\u0000b\""); /* an embedded NUL is data, not the end */
    ESC("\x7f", "\"\\u007f\"");
    ESC("~\x7f~", "\"~\\u007f~\"");
}

static void test_escape_utf8_valid(void)
{
    ESC("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9 */
    ESC("\xc2\x80", "\"\xc2\x80\"");                       /* U+0080, smallest 2-byte */
    ESC("\xdf\xbf", "\"\xdf\xbf\"");                       /* U+07FF */
    ESC("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");               /* U+0800, smallest 3-byte */
    ESC("\xe2\x82\xac", "\"\xe2\x82\xac\"");               /* U+20AC euro */
    ESC("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");               /* U+D7FF, just below surrogates */
    ESC("\xee\x80\x80", "\"\xee\x80\x80\"");               /* U+E000, just above */
    ESC("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");               /* U+FFFF */
    ESC("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");       /* U+10000 */
    ESC("\xf0\x9d\x84\x9e", "\"\xf0\x9d\x84\x9e\"");       /* U+1D11E */
    ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");       /* U+10FFFF, the last */
    ESC("x\xc3\xa9\"\xe2\x82\xac", "\"x\xc3\xa9\\\"\xe2\x82\xac\"");
}

static void test_escape_utf8_invalid(void)
{
    /* every byte of an invalid sequence becomes the 4 characters \xNN, written escaped as \\xNN */
    ESC("\x80", "\"\\\\x80\"");                              /* lone continuation byte */
    ESC("a\xbf" "b", "\"a\\\\xbfb\"");
    ESC("\xc0\x80", "\"\\\\xc0\\\\x80\"");                   /* overlong NUL */
    ESC("\xc1\xbf", "\"\\\\xc1\\\\xbf\"");                   /* overlong 2-byte */
    ESC("\xe0\x80\x80", "\"\\\\xe0\\\\x80\\\\x80\"");        /* overlong 3-byte */
    ESC("\xe0\x9f\xbf", "\"\\\\xe0\\\\x9f\\\\xbf\"");        /* overlong U+07FF */
    ESC("\xf0\x80\x80\x80", "\"\\\\xf0\\\\x80\\\\x80\\\\x80\""); /* overlong 4-byte */
    ESC("\xed\xa0\x80", "\"\\\\xed\\\\xa0\\\\x80\"");        /* surrogate U+D800 */
    ESC("\xed\xbf\xbf", "\"\\\\xed\\\\xbf\\\\xbf\"");        /* surrogate U+DFFF */
    ESC("\xf4\x90\x80\x80", "\"\\\\xf4\\\\x90\\\\x80\\\\x80\""); /* U+110000 */
    ESC("\xf5\x80", "\"\\\\xf5\\\\x80\"");
    ESC("\xfe\xff", "\"\\\\xfe\\\\xff\"");
    /* truncated sequences: at the end, and followed by ASCII */
    ESC("ab\xe2\x82", "\"ab\\\\xe2\\\\x82\"");
    ESC("\xf0\x9d\x84", "\"\\\\xf0\\\\x9d\\\\x84\"");
    ESC("\xc3", "\"\\\\xc3\"");
    ESC("\xe2\x82" "A", "\"\\\\xe2\\\\x82A\"");
    /* a valid character right after an invalid byte survives */
    ESC("\xff\xc3\xa9", "\"\\\\xff\xc3\xa9\"");
    /* the length bounds the input: a valid sequence cut by len is invalid */
    check_esc("\xe2\x82\xac", 2, "\"\\\\xe2\\\\x82\"");
}

static void test_document_nesting(void)
{
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "a", "x");
    cs_json_int(&j, "b", -1);
    cs_json_uint(&j, "c", UINT64_MAX);
    cs_json_arr_begin(&j, "d");
    cs_json_int(&j, NULL, 1);
    cs_json_int(&j, NULL, INT64_MIN);
    cs_json_uint(&j, NULL, 3);
    cs_json_obj_begin(&j, NULL);
    cs_json_bool(&j, "t", true);
    cs_json_null(&j, "n");
    cs_json_obj_end(&j);
    cs_json_arr_begin(&j, NULL);
    cs_json_arr_end(&j);
    cs_json_obj_begin(&j, NULL);
    cs_json_obj_end(&j);
    cs_json_arr_end(&j);
    cs_json_obj_begin(&j, "e");
    cs_json_obj_end(&j);
    cs_json_arr_begin(&j, "f");
    cs_json_arr_end(&j);
    cs_json_str(&j, "q\"k", NULL);
    cs_json_strn(&j, "s", "ab\0c", 4);
    cs_json_bool(&j, "u", false);
    cs_json_obj_end(&j);
    CU_ASSERT_STRING_EQUAL(out->str,
                           "{\"a\":\"x\",\"b\":-1,\"c\":18446744073709551615,"
                           "\"d\":[1,-9223372036854775808,3,{\"t\":true,\"n\":null},[],{}],"
                           "\"e\":{},\"f\":[],\"q\\\"k\":null,\"s\":\"ab\\u0000c\",\"u\":false}\n");
    /* a second top-level object goes on its own line, without a separator */
    cs_json_obj_begin(&j, NULL);
    cs_json_obj_begin(&j, "x");
    cs_json_arr_begin(&j, "y");
    cs_json_arr_begin(&j, NULL);
    cs_json_uint(&j, NULL, 0);
    cs_json_arr_end(&j);
    cs_json_arr_begin(&j, NULL);
    cs_json_uint(&j, NULL, 1);
    cs_json_uint(&j, NULL, 2);
    cs_json_arr_end(&j);
    cs_json_arr_end(&j);
    cs_json_int(&j, "z", 0);
    cs_json_obj_end(&j);
    cs_json_int(&j, "w", 7);
    cs_json_obj_end(&j);
    const char *second = "{\"x\":{\"y\":[[0],[1,2]],\"z\":0},\"w\":7}\n";
    CU_ASSERT(g_str_has_suffix(out->str, second));
    CU_ASSERT(g_str_has_suffix(out->str, "false}\n{\"x\""
                                         ":{\"y\":[[0],[1,2]],\"z\":0},\"w\":7}\n"));
    g_string_free(out, TRUE);

    /* init appends to what the string already holds */
    out = g_string_new("head ");
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_obj_end(&j);
    CU_ASSERT_STRING_EQUAL(out->str, "head {}\n");
    g_string_free(out, TRUE);
}

static void test_doubles(void)
{
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_double(&j, "a", 1.5, 3);
    cs_json_double(&j, "b", 1234.5678, 2);
    cs_json_double(&j, "c", -0.25, 1); /* -0.25 is exact: rounds to even, -0.2 */
    cs_json_double(&j, "d", 42.0, 0);
    cs_json_double(&j, "e", 1e20, 0);
    cs_json_double(&j, "f", NAN, 3);
    cs_json_double(&j, "g", INFINITY, 3);
    cs_json_double(&j, "h", -INFINITY, 0);
    cs_json_double(&j, "i", 0.000001, 6);
    cs_json_obj_end(&j);
    CU_ASSERT_STRING_EQUAL(out->str, "{\"a\":1.500,\"b\":1234.57,\"c\":-0.2,\"d\":42,"
                                     "\"e\":100000000000000000000,\"f\":null,\"g\":null,"
                                     "\"h\":null,\"i\":0.000001}\n");
    g_string_free(out, TRUE);
}

/* main() calls setlocale(LC_ALL, ""): a locale with a decimal comma must not leak into JSON.
 * Runs only where such a locale is installed (it is no failure when none is). */
static void test_doubles_locale(void)
{
    static const char *const locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE",
                                       "nl_NL.UTF-8", "ru_RU.UTF-8"};
    char *old = g_strdup(setlocale(LC_NUMERIC, NULL));
    bool found = false;
    for (size_t i = 0; i < CS_ARRAY_LEN(locs) && !found; i++)
        found = setlocale(LC_NUMERIC, locs[i]) != NULL;
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_double(&j, "d", 0.5, 3);
    cs_json_obj_end(&j);
    setlocale(LC_NUMERIC, old);
    CU_ASSERT_STRING_EQUAL(out->str, "{\"d\":0.500}\n");
    g_string_free(out, TRUE);
    g_free(old);
    (void)found;
}

static void test_time(void)
{
    static const struct {
        cs_time_t ns;
        const char *want;
    } cases[] = {
        {INT64_C(5000001000), "5.000001"},
        {INT64_C(5000000999), "5.000000"}, /* below a microsecond is cut, not rounded */
        {INT64_C(1700000000123456789), "1700000000.123456"},
        {INT64_C(1700000000000000000), "1700000000.000000"},
        {0, "0.000000"},
        {999, "0.000000"},
        {1000, "0.000001"},
        {INT64_C(999999999), "0.999999"},
        {INT64_C(-1500000000), "-1.500000"},
        {INT64_C(-1000), "-0.000001"},
        {INT64_C(12000100000), "12.000100"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        GString *out = g_string_new(NULL);
        cs_json j;
        cs_json_init(&j, out);
        cs_json_obj_begin(&j, NULL);
        cs_json_time(&j, "ts", cases[i].ns);
        cs_json_obj_end(&j);
        char *want = g_strdup_printf("{\"ts\":%s}\n", cases[i].want);
        CU_ASSERT_STRING_EQUAL(out->str, want);
        g_free(want);
        g_string_free(out, TRUE);
    }
}

/* Integers written by hand against printf, at every digit-count boundary and for a run of small
 * values, each appended to one growing string (the writer reserves room before every value). */
static void test_integers_printf(void)
{
    GString *out = g_string_new(NULL);
    GString *want = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_arr_begin(&j, NULL);
    g_string_append_c(want, '[');
    bool first = true;
    for (uint64_t v = 0; v < 20000; v += 1 + v / 97) {
        uint64_t vs[] = {v, v * 1000003u};
        for (size_t k = 0; k < 2; k++) {
            cs_json_uint(&j, NULL, vs[k]);
            cs_json_int(&j, NULL, -(int64_t)vs[k]);
            g_string_append_printf(want, "%s%" G_GUINT64_FORMAT ",%" G_GINT64_FORMAT,
                                   first ? "" : ",", vs[k], -(int64_t)vs[k]);
            first = false;
        }
    }
    for (uint64_t p = 1; p != 0 && p <= UINT64_MAX / 10; p *= 10) {
        uint64_t vs[] = {p - 1, p, p + 1, p * 10 - 1};
        for (size_t k = 0; k < 4; k++) {
            cs_json_uint(&j, NULL, vs[k]);
            g_string_append_printf(want, ",%" G_GUINT64_FORMAT, vs[k]);
        }
    }
    cs_json_arr_end(&j);
    g_string_append_c(want, ']');
    CU_ASSERT_EQUAL(out->len, want->len);
    CU_ASSERT_STRING_EQUAL(out->str, want->str);
    CU_ASSERT_EQUAL(strlen(out->str), out->len); /* terminated where its length says */
    g_string_free(out, TRUE);
    g_string_free(want, TRUE);
}

/* Keys and strings: the plain ones copied as they are, any that needs escaping escaped. */
static void test_keys_and_strings(void)
{
    GString *out = g_string_new(NULL);
    cs_json j;
    cs_json_init(&j, out);
    cs_json_obj_begin(&j, NULL);
    cs_json_str(&j, "plain", "v");
    cs_json_str(&j, "t\tab", "caf\xc3\xa9");
    cs_json_uint(&j, "\xff", 1);
    cs_json_bool(&j, "q\"", true);
    cs_json_arr_begin(&j, "a\\b");
    cs_json_str(&j, NULL, "\xc3");
    cs_json_arr_end(&j);
    cs_json_time(&j, "\x7f", 1000);
    cs_json_obj_end(&j);
    CU_ASSERT_STRING_EQUAL(out->str, "{\"plain\":\"v\",\"t\\tab\":\"caf\xc3\xa9\",\"\\\\xff\":1,"
                                     "\"q\\\"\":true,\"a\\\\b\":[\"\\\\xc3\"],"
                                     "\"\\u007f\":0.000001}\n");
    g_string_free(out, TRUE);
}

/* The conn and http records pass their field names as keys that need no escaping
 * (CS_JSON_KEY_PLAIN): every name is printable ASCII without '"' or '\\'. */
static void test_record_keys_plain(void)
{
    GPtrArray *lists[] = {cs_rec_conn_fields(), cs_rec_http_fields()};
    for (size_t l = 0; l < CS_ARRAY_LEN(lists); l++) {
        CU_ASSERT(lists[l]->len > 20);
        for (guint i = 0; i < lists[l]->len; i++) {
            const unsigned char *k = g_ptr_array_index(lists[l], i);
            CU_ASSERT(k[0] != '\0');
            for (size_t c = 0; k[c] != '\0'; c++)
                CU_ASSERT(k[c] >= 0x20 && k[c] < 0x7f && k[c] != '"' && k[c] != '\\');
        }
        g_ptr_array_free(lists[l], TRUE);
    }
}

void suite_json(void)
{
    static const cs_test_case cases[] = {
        {"escape_ascii", test_escape_ascii},
        {"escape_utf8_valid", test_escape_utf8_valid},
        {"escape_utf8_invalid", test_escape_utf8_invalid},
        {"document_nesting", test_document_nesting},
        {"doubles", test_doubles},
        {"doubles_locale", test_doubles_locale},
        {"time", test_time},
        {"integers_printf", test_integers_printf},
        {"keys_and_strings", test_keys_and_strings},
        {"record_keys_plain", test_record_keys_plain},
        {NULL, NULL},
    };
    cs_add_suite("json", cases);
}
