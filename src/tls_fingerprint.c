/* tls_fingerprint.c - JA3/JA3S (MD5 of decimal field lists) and JA4 (SHA-256 of sorted hex lists)
 * from parsed hellos; digests through OpenSSL EVP (tls_decrypt.c). Contracts in tls_fingerprint.h. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tls_decrypt.h"
#include "tls_fingerprint.h"
#include "util.h"

static void join_dec16(GString *s, const uint16_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        g_string_append_printf(s, i ? "-%u" : "%u", v[i]);
}

char *cs_tls_ja3(const cs_tls_hello *h, char md5[33])
{
    GString *j = g_string_new(NULL);
    g_string_append_printf(j, "%u,", h->legacy_version);
    join_dec16(j, h->ciphers, h->n_ciphers);
    g_string_append_c(j, ',');
    join_dec16(j, h->exts, h->n_exts);
    g_string_append_c(j, ',');
    join_dec16(j, h->groups, h->n_groups);
    g_string_append_c(j, ',');
    for (uint32_t i = 0; i < h->n_formats; i++)
        g_string_append_printf(j, i ? "-%u" : "%u", h->formats[i]);
    cs_tls_md5_hex(j->str, j->len, md5);
    return g_string_free(j, FALSE);
}

char *cs_tls_ja3s(const cs_tls_hello *h, char md5[33])
{
    GString *j = g_string_new(NULL);
    g_string_append_printf(j, "%u,%u,", h->legacy_version, h->cipher);
    join_dec16(j, h->exts, h->n_exts);
    cs_tls_md5_hex(j->str, j->len, md5);
    return g_string_free(j, FALSE);
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The first 12 hex characters of SHA-256(s). */
static void hash12(const GString *s, char out[13])
{
    char hex[65];
    cs_tls_sha256_hex(s->str, s->len, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    case 0xfeff:
        return "d1";
    case 0xfefd:
        return "d2";
    case 0xfefc:
        return "d3";
    default:
        return "00";
    }
}

static bool alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

/* JA4 part a's ALPN: first and last character of the first value, their hex digits when either is
 * not alphanumeric, "00" without one. */
static void ja4_alpn(const cs_tls_hello *h, char alpn[3])
{
    alpn[0] = alpn[1] = '0';
    alpn[2] = '\0';
    if (!h->has_alpn || h->alpn1_len == 0)
        return;
    uint8_t f = h->alpn1_first, l = h->alpn1_last;
    if (alnum(f) && alnum(l)) {
        alpn[0] = (char)f;
        alpn[1] = (char)l;
    } else { /* the first and last digit of the value in hex */
        char hf[3], hl[3];
        alpn[0] = cs_hex(&f, 1, hf)[0];
        alpn[1] = cs_hex(&l, 1, hl)[1];
    }
}

/* Part b: the cipher suites sorted, "%04x" comma-joined, hashed ("000000000000" when none). */
static void ja4_ciphers(const cs_tls_hello *h, GString *s, char b[13])
{
    g_strlcpy(b, "000000000000", 13);
    if (h->n_ciphers == 0)
        return;
    uint16_t *sorted = g_memdup2(h->ciphers, h->n_ciphers * sizeof(uint16_t));
    qsort(sorted, h->n_ciphers, sizeof(uint16_t), cmp_u16);
    g_string_truncate(s, 0);
    for (uint32_t i = 0; i < h->n_ciphers; i++)
        g_string_append_printf(s, i ? ",%04x" : "%04x", sorted[i]);
    hash12(s, b);
    g_free(sorted);
}

/* Part c: the extensions without SNI and ALPN sorted, then "_" and the signature algorithms in
 * wire order, hashed ("000000000000" when no extension is left). */
static void ja4_extensions(const cs_tls_hello *h, GString *s, char c[13])
{
    g_strlcpy(c, "000000000000", 13);
    uint16_t *ext = g_new(uint16_t, h->n_exts + 1);
    uint32_t n_ext = 0;
    for (uint32_t i = 0; i < h->n_exts; i++)
        if (h->exts[i] != CS_TLS_EXT_SNI && h->exts[i] != CS_TLS_EXT_ALPN)
            ext[n_ext++] = h->exts[i];
    if (n_ext > 0) {
        qsort(ext, n_ext, sizeof(uint16_t), cmp_u16);
        g_string_truncate(s, 0);
        for (uint32_t i = 0; i < n_ext; i++)
            g_string_append_printf(s, i ? ",%04x" : "%04x", ext[i]);
        for (uint32_t i = 0; i < h->n_sigalgs; i++)
            g_string_append_printf(s, i ? ",%04x" : "_%04x", h->sigalgs[i]);
        hash12(s, c);
    }
    g_free(ext);
}

void cs_tls_ja4(const cs_tls_hello *h, char transport, char out[40])
{
    uint16_t v = h->legacy_version;
    if (h->n_versions > 0) {
        v = 0;
        for (uint32_t i = 0; i < h->n_versions; i++)
            v = MAX(v, h->versions[i]);
    }
    char alpn[3], b[13], c[13];
    GString *s = g_string_new(NULL);
    ja4_alpn(h, alpn);
    ja4_ciphers(h, s, b);
    ja4_extensions(h, s, c);
    g_string_free(s, TRUE);
    g_snprintf(out, 40, "%c%s%c%02u%02u%s_%s_%s", transport, ja4_version(v), h->has_sni ? 'd' : 'i',
               MIN(h->n_ciphers, 99u), MIN(h->n_exts, 99u), alpn, b, c);
}
