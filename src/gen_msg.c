/* gen_msg.c - message bytes for connscope-gen: HTTP/1.1 headers are formatted on demand, bodies,
 * chunk framing, header padding and TLS records are computed from the offset, never buffered. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "gen_msg.h"

#define PAT_LEN 4096u /* power of two */

static uint8_t pat_txt[PAT_LEN]; /* body bytes: letters and digits */
static uint8_t pat_bin[PAT_LEN]; /* "encrypted" bytes */
static bool pat_ready;

static void pat_init(void)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (uint32_t i = 0; i < PAT_LEN; i++) {
        uint64_t h = gen_hash(0x5eed, i);
        pat_txt[i] = (uint8_t)alnum[h % 62];
        pat_bin[i] = (uint8_t)(h >> 32);
    }
    pat_ready = true;
}

/* Copies n bytes of pattern p starting at position x (wrapping). */
static void pat_copy(const uint8_t *p, uint64_t x, uint32_t n, uint8_t *out)
{
    if (!pat_ready)
        pat_init();
    while (n > 0) {
        uint32_t o = (uint32_t)(x & (PAT_LEN - 1));
        uint32_t take = PAT_LEN - o < n ? PAT_LEN - o : n;
        memcpy(out, p + o, take);
        out += take;
        x += take;
        n -= take;
    }
}

/* Copies [off, off+n) of the constant string s (length slen) to out when out is not NULL;
 * returns the bytes taken (at most n, at most what is left of s). */
static uint32_t take_str(const char *s, uint32_t slen, uint32_t off, uint32_t n, uint8_t *out)
{
    uint32_t take = slen - off < n ? slen - off : n;
    if (out != NULL)
        memcpy(out, s + off, take);
    return take;
}

static uint32_t hexlen(uint64_t v)
{
    uint32_t n = 1;
    while (v >= 16) {
        v >>= 4;
        n++;
    }
    return n;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

#define PAD_LINE 128u /* "X-Pad: " + filler + CRLF */

static const char *reason(uint32_t status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static bool bodyless(const gen_row *r)
{
    return r->status == 204 || r->status == 304 || (r->flags & GEN_F_HEAD) != 0;
}

/* Writes the decimal digits of v at p; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* The request target into p (room for 3 * strlen(path) + 32 bytes: each "{c}"/"{i}" becomes at
 * most 10 digits); returns the end. */
static char *put_uri(const gen_row *r, uint32_t serial, uint32_t i, char *p)
{
    for (const char *s = r->path; *s != '\0'; s++) {
        if (s[0] == '{' && (s[1] == 'c' || s[1] == 'i') && s[2] == '}') {
            p = put_u32(p, s[1] == 'c' ? serial : i + 1);
            s += 2;
        } else {
            *p++ = *s;
        }
    }
    return p;
}

char *gen_msg_uri(const gen_row *r, uint32_t serial, uint32_t i, char *buf, size_t len)
{
    char tmp[1400];
    size_t n = (size_t)(put_uri(r, serial, i, tmp) - tmp);
    if (n >= len)
        n = len - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

uint64_t gen_msg_req_body(const gen_row *r, uint32_t i)
{
    if (r->flags & GEN_F_PARTIAL)
        return 0;
    return i + 1 == r->requests ? r->req_last : r->req_size;
}

uint64_t gen_msg_resp_body(const gen_row *r)
{
    if (r->status == 204 || r->status == 304 || (r->flags & GEN_F_HEAD))
        return 0;
    return r->resp_size;
}

/* Request header lines before the padding, into buf (>= 2048 bytes); returns their length. */
static uint32_t req_prefix(const gen_row *r, uint32_t serial, uint32_t i, char *buf)
{
    char *p = buf;
    size_t ml = strlen(r->method);
    memcpy(p, r->method, ml);
    p += ml;
    *p++ = ' ';
    p = put_uri(r, serial, i, p);
    memcpy(p, r->req_tail, r->req_tail_len);
    return (uint32_t)(p - buf) + r->req_tail_len;
}

static uint32_t resp_prefix(const gen_row *r, char *buf)
{
    memcpy(buf, r->resp_head, r->resp_head_len);
    return r->resp_head_len;
}

void gen_msg_prepare(gen_row *r)
{
    GString *s = g_string_new(NULL);
    uint64_t body = gen_msg_req_body(r, 0);
    g_string_printf(s, " HTTP/1.1\r\nHost: %s\r\nUser-Agent: connscope-gen/1.0\r\nAccept: */*\r\n",
                    r->host);
    if (body > 0)
        g_string_append_printf(s, "Content-Type: application/octet-stream\r\nContent-Length: "
                                  "%llu\r\n", (unsigned long long)body);
    g_free(r->req_tail);
    r->req_tail_len = (uint32_t)s->len;
    r->req_tail = g_string_free(s, FALSE);

    s = g_string_new(NULL);
    g_string_printf(s, "HTTP/1.1 %u %s\r\nServer: connscope-gen/1.0\r\n"
                    "Content-Type: application/octet-stream\r\n", r->status, reason(r->status));
    if (r->status == 204 || r->status == 304)
        ;
    else if (r->chunk > 0 || (r->flags & GEN_F_HUGECHUNK))
        g_string_append(s, "Transfer-Encoding: chunked\r\n");
    else
        g_string_append_printf(s, "Content-Length: %u\r\n", r->resp_size);
    g_free(r->resp_head);
    r->resp_head_len = (uint32_t)s->len;
    r->resp_head = g_string_free(s, FALSE);
}

static const char huge_chunk_line[] = "7fffffffffffffff\r\n";

/* Wire length of the response body. */
static uint64_t resp_body_wire(const gen_row *r)
{
    if (bodyless(r))
        return 0;
    uint64_t L = r->resp_size;
    if (r->flags & GEN_F_HUGECHUNK)
        return sizeof huge_chunk_line - 1 + L;
    if (r->chunk == 0)
        return L;
    uint64_t c = r->chunk, nfull = L / c, rem = L % c;
    return nfull * (hexlen(c) + 4 + c) + (rem ? hexlen(rem) + 4 + rem : 0) + 5;
}

/* Walks [off, off+n) of a chunked body of L data bytes in chunks of c: copies the bytes to out
 * (when not NULL) and returns whether any framing byte is in the range. */
static bool chunked_walk(uint64_t L, uint32_t c, uint32_t salt, uint32_t off, uint32_t n,
                         uint8_t *out)
{
    bool framing = false;
    uint32_t hlc = hexlen(c);
    uint64_t unit = (uint64_t)hlc + 4 + c;
    uint64_t nfull = L / c, rem = L % c;
    uint64_t full_bytes = nfull * unit;
    uint64_t rem_bytes = rem ? hexlen(rem) + 4 + rem : 0;
    char line[24];
    while (n > 0) {
        uint64_t j, u, cs;
        uint32_t take;
        if (off < full_bytes) {
            j = off / unit;
            u = off % unit;
            cs = c;
        } else if (off < full_bytes + rem_bytes) {
            j = nfull;
            u = off - full_bytes;
            cs = rem;
        } else {
            take = take_str("0\r\n\r\n", 5, (uint32_t)(off - full_bytes - rem_bytes), n, out);
            framing = true;
            goto next;
        }
        uint32_t hl = hexlen(cs) + 2;
        if (u < hl) {
            snprintf(line, sizeof line, "%llx\r\n", (unsigned long long)cs);
            take = take_str(line, hl, (uint32_t)u, n, out);
            framing = true;
        } else if (u < hl + cs) {
            uint64_t d = u - hl;
            take = (uint32_t)(cs - d < n ? cs - d : n);
            if (out != NULL)
                pat_copy(pat_txt, salt + j * c + d, take, out);
        } else {
            take = take_str("\r\n", 2, (uint32_t)(u - hl - cs), n, out);
            framing = true;
        }
    next:
        off += take;
        n -= take;
        if (out != NULL)
            out += take;
    }
    return framing;
}

/* Copies / checks [off, off+n) of a header block made of `pre` (plen bytes), npad pad lines and,
 * unless `cut`, the empty line. */
static void header_fill(const char *pre, uint32_t plen, uint32_t npad, uint32_t off, uint32_t n,
                        uint8_t *out)
{
    while (n > 0) {
        uint32_t take;
        if (off < plen) {
            take = take_str(pre, plen, off, n, out);
        } else if (off < plen + npad * PAD_LINE) {
            uint32_t u = (off - plen) % PAD_LINE;
            if (u < 7) {
                take = take_str("X-Pad: ", 7, u, n, out);
            } else if (u < PAD_LINE - 2) {
                take = PAD_LINE - 2 - u < n ? PAD_LINE - 2 - u : n;
                pat_copy(pat_txt, off, take, out);
            } else {
                take = take_str("\r\n", 2, u - (PAD_LINE - 2), n, out);
            }
        } else {
            take = take_str("\r\n", 2, off - plen - npad * PAD_LINE, n, out);
        }
        off += take;
        n -= take;
        out += take;
    }
}

/* ---- TLS 1.3 records (no cryptography: the "encrypted" bytes are a fixed pattern) ------------ */

#define TLS_MAX_PLAIN 16384u
#define TLS_OVERHEAD 22u /* record header 5 + inner content type 1 + AEAD tag 16 */
#define TLS_SERVER_ENC 2500u /* encrypted extensions, certificate, verify, finished */

static uint32_t put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static void put_random(uint8_t *p, uint64_t a, uint64_t b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)(gen_hash(a, b + i / 8) >> (8 * (i % 8)));
}

/* ClientHello record (with SNI and ALPN http/1.1) into buf (>= 1024 bytes); returns its length. */
static uint32_t tls_client_hello(const gen_row *r, uint32_t serial, uint8_t *buf)
{
    uint32_t sni = (uint32_t)strlen(r->sni);
    uint8_t *p = buf + 9; /* after record (5) and handshake (4) headers */
    *p++ = 3, *p++ = 3;
    put_random(p, serial, 1, 32), p += 32;
    *p++ = 32;
    put_random(p, serial, 2, 32), p += 32;
    static const uint8_t suites[] = {0, 6, 0x13, 1, 0x13, 2, 0x13, 3, 1, 0};
    memcpy(p, suites, sizeof suites), p += sizeof suites;
    uint8_t *ext_len = p;
    p += 2;
    if (sni > 0) { /* server_name */
        p += put16(p, 0), p += put16(p, sni + 5), p += put16(p, sni + 3);
        *p++ = 0;
        p += put16(p, sni);
        memcpy(p, r->sni, sni), p += sni;
    }
    static const uint8_t fixed[] = {
        0, 0x0a, 0, 4, 0, 2, 0, 0x1d,                          /* supported_groups x25519 */
        0, 0x0d, 0, 8, 0, 6, 4, 3, 8, 4, 4, 1,                 /* signature_algorithms */
        0, 0x2b, 0, 3, 2, 3, 4,                                /* supported_versions 1.3 */
        0, 0x2d, 0, 2, 1, 1,                                   /* psk_key_exchange_modes */
        0, 0x10, 0, 11, 0, 9, 8, 'h', 't', 't', 'p', '/', '1', '.', '1', /* ALPN */
        0, 0x33, 0, 0x26, 0, 0x24, 0, 0x1d, 0, 0x20};          /* key_share x25519 + 32 */
    memcpy(p, fixed, sizeof fixed), p += sizeof fixed;
    put_random(p, serial, 3, 32), p += 32;
    put16(ext_len, (uint32_t)(p - ext_len - 2));
    uint32_t hs = (uint32_t)(p - buf - 9);
    buf[0] = 0x16, buf[1] = 3, buf[2] = 1;
    put16(buf + 3, hs + 4);
    buf[5] = 1, buf[6] = 0;
    put16(buf + 7, hs);
    return (uint32_t)(p - buf);
}

/* ServerHello + ChangeCipherSpec + the header of the encrypted handshake record, into buf. */
static uint32_t tls_server_head(uint32_t serial, uint8_t *buf)
{
    uint8_t *p = buf;
    static const uint8_t h[] = {0x16, 3, 3, 0, 122, 2, 0, 0, 118, 3, 3};
    memcpy(p, h, sizeof h), p += sizeof h;
    put_random(p, serial, 4, 32), p += 32;
    *p++ = 32;
    put_random(p, serial, 2, 32), p += 32; /* legacy session id echoed */
    static const uint8_t m[] = {0x13, 1, 0, 0, 46, 0, 0x2b, 0, 2, 3, 4,
                                0, 0x33, 0, 0x24, 0, 0x1d, 0, 0x20};
    memcpy(p, m, sizeof m), p += sizeof m;
    put_random(p, serial, 5, 32), p += 32;
    static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1, 0x17, 3, 3};
    memcpy(p, ccs, sizeof ccs), p += sizeof ccs;
    p += put16(p, TLS_SERVER_ENC);
    return (uint32_t)(p - buf);
}

static const uint8_t tls_client_fin_head[] = {0x14, 3, 3, 0, 1, 1, 0x17, 3, 3, 0, 53};

/* Wire length of application data records carrying `plain` bytes. */
static uint64_t tls_app_len(uint64_t plain)
{
    uint64_t full = plain / TLS_MAX_PLAIN, rem = plain % TLS_MAX_PLAIN;
    return full * (TLS_MAX_PLAIN + TLS_OVERHEAD) + (rem ? rem + TLS_OVERHEAD : 0);
}

/* Copies [off, off+n) of application data records carrying `plain` bytes. */
static void tls_app_fill(uint64_t plain, uint32_t salt, uint32_t off, uint32_t n, uint8_t *out)
{
    const uint32_t unit = TLS_MAX_PLAIN + TLS_OVERHEAD;
    while (n > 0) {
        uint32_t j = off / unit, u = off % unit, take;
        uint64_t left = plain - (uint64_t)j * TLS_MAX_PLAIN;
        uint32_t rec = (uint32_t)(left < TLS_MAX_PLAIN ? left : TLS_MAX_PLAIN) + TLS_OVERHEAD - 5;
        if (u < 5) {
            uint8_t h[5] = {0x17, 3, 3, (uint8_t)(rec >> 8), (uint8_t)rec};
            take = take_str((const char *)h, 5, u, n, out);
        } else {
            take = rec + 5 - u < n ? rec + 5 - u : n;
            pat_copy(pat_bin, salt + off, take, out);
        }
        off += take;
        n -= take;
        out += take;
    }
}

/* ---- messages -------------------------------------------------------------------------------- */

uint32_t gen_msg_pre(const gen_row *r, int side)
{
    if (r->proto != GEN_HTTPS)
        return 0;
    return side == GEN_C ? 2 : 1;
}

uint32_t gen_msg_count(const gen_row *r, int side)
{
    if (r->hs != GEN_HS_FULL)
        return 0;
    uint32_t pre = gen_msg_pre(r, side);
    if (side == GEN_S && (r->flags & GEN_F_NORESP))
        return r->proto == GEN_HTTPS ? pre : 0;
    return pre + r->requests;
}

/* Shape of the plain HTTP message (request i / response i). */
static void http_info(const gen_row *r, uint32_t serial, int side, uint32_t i, gen_msginfo *mi)
{
    char buf[2048];
    if (side == GEN_C) {
        uint32_t npad = (r->hdr_pad + PAD_LINE - 1) / PAD_LINE;
        uint32_t pre = req_prefix(r, serial, i, buf);
        if (r->flags & GEN_F_PARTIAL) {
            mi->hdr = mi->len = pre + npad * PAD_LINE;
            return;
        }
        mi->hdr = pre + npad * PAD_LINE + 2;
        mi->len = mi->hdr + (uint32_t)gen_msg_req_body(r, i);
    } else {
        mi->hdr = resp_prefix(r, buf) + 2;
        mi->len = mi->hdr + (uint32_t)resp_body_wire(r);
    }
}

static void http_fill(const gen_row *r, uint32_t serial, int side, uint32_t i,
                      const gen_msginfo *mi, uint32_t off, uint32_t n, uint8_t *out)
{
    char buf[2048];
    if (off < mi->hdr) {
        uint32_t take = mi->hdr - off < n ? mi->hdr - off : n;
        if (side == GEN_C) {
            uint32_t npad = (r->hdr_pad + PAD_LINE - 1) / PAD_LINE;
            /* the prefix is shorter than 2048 bytes: beyond that only its length is needed */
            uint32_t plen = off < 2048 ? req_prefix(r, serial, i, buf)
                                       : mi->hdr - npad * PAD_LINE -
                                             ((r->flags & GEN_F_PARTIAL) ? 0 : 2);
            header_fill(buf, plen, npad, off, take, out);
        } else {
            uint32_t plen = resp_prefix(r, buf);
            header_fill(buf, plen, 0, off, take, out);
        }
        off += take;
        n -= take;
        out += take;
    }
    if (n == 0)
        return;
    uint32_t b = off - mi->hdr;
    if (side == GEN_C) {
        pat_copy(pat_txt, 0x100 + (uint64_t)i * 7 + b, n, out);
    } else if (r->flags & GEN_F_HUGECHUNK) {
        uint32_t hl = sizeof huge_chunk_line - 1;
        if (b < hl) {
            uint32_t take = take_str(huge_chunk_line, hl, b, n, out);
            b += take;
            n -= take;
            out += take;
        }
        pat_copy(pat_txt, 0x200 + b - hl, n, out);
    } else if (r->chunk > 0) {
        chunked_walk(r->resp_size, r->chunk, 0x200, b, n, out);
    } else {
        pat_copy(pat_txt, 0x200 + (uint64_t)b, n, out);
    }
}

void gen_msg_info(const gen_row *r, uint32_t serial, int side, uint32_t idx, gen_msginfo *mi)
{
    mi->hdr = 0;
    if (r->proto == GEN_TCP) {
        if (side == GEN_C)
            mi->len = idx + 1 == r->requests ? r->req_last : r->req_size;
        else
            mi->len = r->resp_size;
        return;
    }
    if (r->proto == GEN_HTTP) {
        http_info(r, serial, side, idx, mi);
        return;
    }
    uint8_t buf[2048];
    gen_msginfo plain;
    if (side == GEN_C && idx == 0) {
        mi->len = tls_client_hello(r, serial, buf);
    } else if (side == GEN_C && idx == 1) {
        mi->len = sizeof tls_client_fin_head + 53;
    } else if (side == GEN_S && idx == 0) {
        mi->len = tls_server_head(serial, buf) + TLS_SERVER_ENC;
    } else {
        http_info(r, serial, side, idx - gen_msg_pre(r, side), &plain);
        mi->len = (uint32_t)tls_app_len(plain.len);
    }
}

void gen_msg_fill(const gen_row *r, uint32_t serial, int side, uint32_t idx,
                  const gen_msginfo *mi, uint32_t off, uint32_t n, uint8_t *out)
{
    uint8_t buf[2048];
    uint32_t salt = side == GEN_C ? 0x100 : 0x200;
    if (r->proto == GEN_TCP) {
        pat_copy(pat_txt, salt + (uint64_t)idx * 13 + off, n, out);
        return;
    }
    if (r->proto == GEN_HTTP) {
        http_fill(r, serial, side, idx, mi, off, n, out);
        return;
    }
    if (side == GEN_C && idx == 0) {
        tls_client_hello(r, serial, buf);
        memcpy(out, buf + off, n);
    } else if (side == GEN_C && idx == 1) {
        uint32_t hl = sizeof tls_client_fin_head;
        if (off < hl) {
            uint32_t take = take_str((const char *)tls_client_fin_head, hl, off, n, out);
            off += take, n -= take, out += take;
        }
        pat_copy(pat_bin, salt + off, n, out);
    } else if (side == GEN_S && idx == 0) {
        uint32_t hl = tls_server_head(serial, buf);
        if (off < hl) {
            uint32_t take = take_str((const char *)buf, hl, off, n, out);
            off += take, n -= take, out += take;
        }
        pat_copy(pat_bin, salt + off, n, out);
    } else {
        gen_msginfo plain;
        http_info(r, serial, side, idx - gen_msg_pre(r, side), &plain);
        tls_app_fill(plain.len, salt + idx, off, n, out);
    }
}

bool gen_msg_framing(const gen_row *r, int side, uint32_t idx, const gen_msginfo *mi, uint32_t off,
                     uint32_t n)
{
    (void)idx;
    if (r->proto != GEN_HTTP || n == 0)
        return false;
    if (off < mi->hdr)
        return true;
    if (side == GEN_C)
        return false;
    uint32_t b = off - mi->hdr;
    if (r->flags & GEN_F_HUGECHUNK)
        return b < sizeof huge_chunk_line - 1;
    if (r->chunk > 0)
        return chunked_walk(r->resp_size, r->chunk, 0, b, n, NULL);
    return false;
}

bool gen_msg_check(const gen_row *r, char **err)
{
    char buf[2048];
    uint64_t npad = (r->hdr_pad + PAD_LINE - 1) / PAD_LINE;
    uint64_t req = req_prefix(r, 0xffffffffu, r->requests, buf) + npad * PAD_LINE + 2 +
                   (r->req_size > r->req_last ? r->req_size : r->req_last);
    uint64_t resp = resp_prefix(r, buf) + 2 + resp_body_wire(r);
    if (r->proto == GEN_HTTPS) {
        req = tls_app_len(req);
        resp = tls_app_len(resp) + 4096;
    }
    if (req * r->requests + 4096 >= UINT32_MAX || resp * r->requests >= UINT32_MAX) {
        *err = g_strdup("a connection may send at most 4 GiB each way: fewer requests or "
                        "smaller sizes");
        return false;
    }
    return true;
}
