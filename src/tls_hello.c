/* tls_hello.c - ClientHello, ServerHello and HelloRetryRequest parsing from one complete
 * handshake message, every field read through cs_wire. Contracts in tls_hello.h. */
#include <string.h>

#include <glib.h>

#include "tls_hello.h"
#include "tls_names.h"
#include "wire.h"

/* SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

bool cs_tls_is_hello_retry(const uint8_t *body, uint32_t len)
{
    return body != NULL && len >= 34 && memcmp(body + 2, hrr_random, 32) == 0;
}

void cs_tls_hello_clear(cs_tls_hello *h)
{
    g_free(h->exts);
    g_free(h->ciphers);
    g_free(h->groups);
    g_free(h->sigalgs);
    g_free(h->versions);
    g_free(h->formats);
    memset(h, 0, sizeof *h);
}

/* Copies len bytes of wire text into a fixed buffer, NUL-terminated (NUL bytes become '?'). */
static void copy_text(char *dst, size_t cap, const uint8_t *src, uint32_t len)
{
    size_t n = MIN((size_t)len, cap - 1);
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] != 0 ? (char)src[i] : '?';
    dst[n] = '\0';
}

/* Reads the big-endian uint16 values in [off, off + bytes) (GREASE dropped) into a new array. */
static uint16_t *read_u16s(cs_wire *w, uint32_t off, uint32_t bytes, uint32_t *n)
{
    uint16_t *v = g_new(uint16_t, bytes / 2 + 1);
    *n = 0;
    for (uint32_t i = 0; i + 1 < bytes; i += 2) {
        uint16_t x = cs_wire_be16(w, off + i);
        if (!cs_tls_is_grease(x))
            v[(*n)++] = x;
    }
    return v;
}

/* ---- ClientHello extensions ------------------------------------------------------------------ */

/* server_name: the first host_name entry (RFC 6066 3). */
static void ch_sni(cs_tls_hello *h, cs_wire *x)
{
    uint32_t el = x->len;
    uint32_t list = cs_wire_be16(x, 0);
    h->has_sni = true;
    for (uint32_t o = 2; o + 3 <= MIN(list + 2, el);) {
        uint8_t nt = cs_wire_u8(x, o);
        uint32_t nl = cs_wire_be16(x, o + 1);
        if (!cs_wire_has(x, o + 3, nl))
            break;
        if (nt == 0 && h->server_name[0] == '\0') {
            copy_text(h->server_name, sizeof h->server_name, x->p + o + 3, nl);
            break;
        }
        o += 3 + nl;
    }
}

/* application_layer_protocol_negotiation: every value into the offered list; the first value's
 * ends for JA4. */
static void ch_alpn(cs_tls_hello *h, cs_wire *x, GString *alpns)
{
    uint32_t el = x->len;
    uint32_t list = MIN((uint32_t)cs_wire_be16(x, 0) + 2, el);
    h->has_alpn = true;
    for (uint32_t o = 2; o < list;) {
        uint32_t pl = cs_wire_u8(x, o);
        if (o + 1 + pl > list)
            break;
        if (o == 2) {
            h->alpn1_len = pl;
            h->alpn1_first = pl > 0 ? cs_wire_u8(x, o + 1) : 0;
            h->alpn1_last = pl > 0 ? cs_wire_u8(x, o + pl) : 0;
        }
        if (alpns->len > 0)
            g_string_append_c(alpns, ',');
        g_string_append_len(alpns, (const char *)x->p + o + 1, pl);
        o += 1 + pl;
    }
}

/* A list of uint16 behind a length prefix of pfx (1 or 2) bytes, cut to the extension. */
static uint16_t *ch_u16_list(cs_wire *x, uint32_t pfx, uint16_t *old, uint32_t *n)
{
    uint32_t el = x->len;
    uint32_t declared = pfx == 2 ? cs_wire_be16(x, 0) : cs_wire_u8(x, 0);
    g_free(old);
    return read_u16s(x, pfx, MIN(declared, el - MIN(el, pfx)), n);
}

static void ch_point_formats(cs_tls_hello *h, cs_wire *x)
{
    uint32_t el = x->len;
    uint32_t l = MIN((uint32_t)cs_wire_u8(x, 0), el - MIN(el, 1u));
    g_free(h->formats);
    h->formats = g_new(uint8_t, l + 1);
    h->n_formats = 0;
    for (uint32_t i = 0; i < l; i++)
        h->formats[h->n_formats++] = cs_wire_u8(x, 1 + i);
}

static void ch_extension(cs_tls_hello *h, uint16_t type, cs_wire *x, GString *alpns)
{
    switch (type) {
    case CS_TLS_EXT_SNI:
        ch_sni(h, x);
        break;
    case CS_TLS_EXT_ALPN:
        ch_alpn(h, x, alpns);
        break;
    case CS_TLS_EXT_GROUPS:
        h->groups = ch_u16_list(x, 2, h->groups, &h->n_groups);
        break;
    case CS_TLS_EXT_POINT_FORMATS:
        ch_point_formats(h, x);
        break;
    case CS_TLS_EXT_SIGALGS:
        h->sigalgs = ch_u16_list(x, 2, h->sigalgs, &h->n_sigalgs);
        break;
    case CS_TLS_EXT_VERSIONS:
        h->versions = ch_u16_list(x, 1, h->versions, &h->n_versions);
        break;
    case CS_TLS_EXT_SESSION_TICKET:
        h->ticket = x->len > 0;
        break;
    case CS_TLS_EXT_ETM:
        h->etm = true;
        break;
    case CS_TLS_EXT_EARLY_DATA:
        h->early_data = true;
        break;
    default:
        break;
    }
}

/* ---- ClientHello ----------------------------------------------------------------------------- */

/* Cipher suites and compression methods after the session id; returns the offset after them. */
static uint32_t ch_suites(cs_tls_hello *h, cs_wire *w, uint32_t off)
{
    uint32_t cs_len = cs_wire_be16(w, off);
    if (!cs_wire_has(w, off + 2, cs_len))
        w->trunc = true;
    else
        h->ciphers = read_u16s(w, off + 2, cs_len, &h->n_ciphers);
    off += 2 + cs_len;
    off += 1 + (uint32_t)cs_wire_u8(w, off); /* compression methods */
    if (off > w->len)
        w->trunc = true; /* the list is cut short */
    return off;
}

/* The extension block from off (absent: nothing); a cut block sets w->trunc and stops. */
static void ch_extensions(cs_tls_hello *h, cs_wire *w, uint32_t off)
{
    uint32_t len = w->len, ext_end = off;
    if (!w->trunc && off < len) {
        uint32_t ext_len = cs_wire_be16(w, off);
        off += 2;
        ext_end = off + ext_len;
        if (ext_end > len) {
            w->trunc = true;
            ext_end = len;
        }
        h->exts = g_new(uint16_t, ext_len / 4 + 1);
    }
    GString *alpns = g_string_new(NULL);
    while (!w->trunc && off + 4 <= ext_end) {
        uint16_t type = cs_wire_be16(w, off);
        uint32_t el = cs_wire_be16(w, off + 2);
        uint32_t e = off + 4;
        if (e + el > ext_end) {
            w->trunc = true;
            break;
        }
        cs_wire x = cs_wire_make(w->p + e, el);
        if (!cs_tls_is_grease(type))
            h->exts[h->n_exts++] = type;
        ch_extension(h, type, &x, alpns);
        off = e + el;
    }
    copy_text(h->alpn, sizeof h->alpn, (const uint8_t *)alpns->str, (uint32_t)alpns->len);
    g_string_free(alpns, TRUE);
}

static bool parse_client_hello(cs_tls_hello *h, const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    h->legacy_version = cs_wire_be16(&w, 0);
    cs_wire_copy(&w, 2, h->random, 32);
    uint8_t sid_len = cs_wire_u8(&w, 34);
    if (w.trunc || sid_len > 32)
        return false;
    h->session_id_len = sid_len;
    cs_wire_copy(&w, 35, h->session_id, sid_len);
    uint32_t off = ch_suites(h, &w, 35 + sid_len);
    ch_extensions(h, &w, off);
    h->truncated = w.trunc;
    return true;
}

/* ---- ServerHello ----------------------------------------------------------------------------- */

static void sh_extension(cs_tls_hello *h, uint16_t type, cs_wire *x)
{
    uint32_t el = x->len;
    switch (type) {
    case CS_TLS_EXT_VERSIONS:
        h->selected_version = cs_wire_be16(x, 0);
        break;
    case CS_TLS_EXT_ALPN: /* exactly one protocol: list length, length, name */
        if (el >= 3 && cs_wire_u8(x, 2) + 3u <= el) {
            copy_text(h->alpn, 64, x->p + 3, cs_wire_u8(x, 2));
            h->has_alpn = true;
        }
        break;
    case CS_TLS_EXT_PSK:
        h->psk = true;
        break;
    case CS_TLS_EXT_KEY_SHARE: /* ServerHello: one entry; HelloRetryRequest: the group alone */
        h->key_share_group = cs_wire_be16(x, 0);
        break;
    case CS_TLS_EXT_ETM:
        h->etm = true;
        break;
    default:
        break;
    }
}

static bool parse_server_hello(cs_tls_hello *h, const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    uint16_t legacy = cs_wire_be16(&w, 0);
    h->legacy_version = legacy;
    cs_wire_copy(&w, 2, h->random, 32);
    /* TLS 1.3 drafts before -22 have no session id and no compression method */
    bool early_draft = legacy >> 8 == 0x7f && (legacy & 0xff) < 22;
    uint8_t sid_len = early_draft ? 0 : cs_wire_u8(&w, 34);
    if (sid_len > 32)
        w.trunc = true;
    else
        cs_wire_copy(&w, 35, h->session_id, sid_len);
    h->session_id_len = sid_len <= 32 ? sid_len : 0;
    uint32_t off = early_draft ? 34u : 35u + sid_len;
    h->cipher = cs_wire_be16(&w, off);
    off += early_draft ? 2 : 3; /* cipher, compression method */
    if (w.trunc)
        return false;
    h->retry = memcmp(h->random, hrr_random, 32) == 0;
    uint32_t ext_end = off;
    if (off + 2 <= len) {
        ext_end = off + 2 + cs_wire_be16(&w, off);
        off += 2;
        if (ext_end > len) {
            w.trunc = true;
            ext_end = len;
        }
    }
    h->exts = g_new(uint16_t, (ext_end - MIN(ext_end, off)) / 4 + 1);
    while (off + 4 <= ext_end) {
        uint16_t type = cs_wire_be16(&w, off);
        uint32_t el = cs_wire_be16(&w, off + 2);
        uint32_t e = off + 4;
        if (e + el > ext_end) {
            w.trunc = true;
            break;
        }
        cs_wire x = cs_wire_make(p + e, el);
        if (!cs_tls_is_grease(type))
            h->exts[h->n_exts++] = type;
        sh_extension(h, type, &x);
        off = e + el;
    }
    h->truncated = w.trunc;
    return true;
}

/* ---- EncryptedExtensions (TLS 1.3, seen only when decrypting) -------------------------------- */

static bool parse_encrypted_extensions(cs_tls_hello *h, const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t end = MIN((uint32_t)cs_wire_be16(&w, 0) + 2, len);
    h->exts = g_new(uint16_t, end / 4 + 1);
    for (uint32_t off = 2; off + 4 <= end;) {
        uint16_t type = cs_wire_be16(&w, off);
        uint32_t el = cs_wire_be16(&w, off + 2);
        if (off + 4 + el > end) {
            h->truncated = true;
            break;
        }
        cs_wire x = cs_wire_make(p + off + 4, el);
        if (!cs_tls_is_grease(type))
            h->exts[h->n_exts++] = type;
        if (type == CS_TLS_EXT_ALPN)
            sh_extension(h, type, &x);
        off += 4 + el;
    }
    return true;
}

bool cs_tls_hello_parse(uint8_t type, const uint8_t *body, uint32_t len, cs_tls_hello *h)
{
    memset(h, 0, sizeof *h);
    h->type = type;
    if (type == CS_TLS_HS_CLIENT_HELLO)
        return parse_client_hello(h, body, len);
    if (type == CS_TLS_HS_SERVER_HELLO)
        return parse_server_hello(h, body, len);
    if (type == CS_TLS_HS_ENCRYPTED_EXTENSIONS)
        return parse_encrypted_extensions(h, body, len);
    return false;
}

bool cs_tls_sslv2_hello_parse(const uint8_t *p, uint32_t len, cs_tls_hello *h)
{
    cs_wire w = cs_wire_make(p, len);
    memset(h, 0, sizeof *h);
    h->type = CS_TLS_HS_CLIENT_HELLO;
    if (cs_wire_u8(&w, 0) != 1) /* msg_type CLIENT-HELLO */
        return false;
    uint16_t version = cs_wire_be16(&w, 1);
    uint32_t spec_len = cs_wire_be16(&w, 3), sid_len = cs_wire_be16(&w, 5);
    uint32_t ch_len = cs_wire_be16(&w, 7);
    uint32_t off = 9 + spec_len + sid_len;
    if (w.trunc || ch_len < 16 || ch_len > 32 || !cs_wire_has(&w, off, ch_len))
        return false;
    h->legacy_version = version;
    cs_wire_copy(&w, off, h->random + 32 - ch_len, ch_len); /* the challenge, right-aligned */
    return true;
}
