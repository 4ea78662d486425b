/* tls_handshake.c - handshake message reassembly across records (or QUIC CRYPTO frames), zero copy
 * for messages that lie whole in one feed. Contracts in tls_handshake.h. */
#include <string.h>

#include <glib.h>

#include "tls_handshake.h"
#include "wire.h"

static void grow(cs_tls_msgs *m, uint32_t need)
{
    if (need <= m->cap)
        return;
    uint32_t n = m->cap ? m->cap : 1024;
    while (n < need)
        n *= 2;
    m->buf = g_realloc(m->buf, n);
    m->cap = n;
}

/* Adds up to 4 header bytes from p; returns how many were used. Once the header is whole, starts
 * the body (skipped when over max). */
static uint32_t take_header(cs_tls_msgs *m, const uint8_t *p, uint32_t len, uint32_t max,
                            const cs_tls_msg_sink *sink)
{
    uint32_t take = MIN(4u - m->hdr_len, len);
    memcpy(m->hdr + m->hdr_len, p, take);
    m->hdr_len = (uint8_t)(m->hdr_len + take);
    if (m->hdr_len < 4)
        return take;
    cs_wire h = cs_wire_make(m->hdr, 4);
    m->len = cs_wire_be24(&h, 1);
    m->have = 0;
    m->skip = m->len > max;
    if (m->skip) {
        if (sink->too_long != NULL)
            sink->too_long(sink->ctx, m->len);
    } else {
        grow(m, m->len);
    }
    return take;
}

void cs_tls_msgs_feed(cs_tls_msgs *m, const uint8_t *p, uint32_t len, uint32_t max,
                      const cs_tls_msg_sink *sink)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t off = 0;
    while (off < len) {
        if (m->hdr_len == 0 && len - off >= 4) {
            /* whole message in this feed: handed over in place */
            uint32_t ml = cs_wire_be24(&w, off + 1);
            if (len - off - 4 >= ml) {
                sink->message(sink->ctx, cs_wire_u8(&w, off), p + off + 4, ml);
                off += 4 + ml;
                continue;
            }
        }
        if (m->hdr_len < 4) {
            off += take_header(m, p + off, len - off, max, sink);
            if (m->hdr_len < 4)
                break;
        }
        uint32_t take = MIN(m->len - m->have, len - off);
        if (!m->skip && take > 0)
            memcpy(m->buf + m->have, p + off, take);
        m->have += take;
        off += take;
        if (m->have == m->len) {
            /* an empty message has a body too (never allocated: not NULL, which means skipped) */
            const uint8_t *body = m->skip ? NULL : m->buf != NULL ? m->buf : (const uint8_t *)"";
            m->hdr_len = 0;
            sink->message(sink->ctx, m->hdr[0], body, m->len);
            m->skip = false;
        }
    }
}

bool cs_tls_msgs_reset(cs_tls_msgs *m)
{
    bool was = m->hdr_len > 0;
    m->hdr_len = 0;
    m->skip = false;
    return was;
}

void cs_tls_msgs_free(cs_tls_msgs *m)
{
    g_free(m->buf);
    memset(m, 0, sizeof *m);
}
