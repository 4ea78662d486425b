/* quic.c - QUIC packet headers, packet numbers, protection removal and frame walking; every field
 * is read through cs_wire (tcpdump's model), nothing here allocates or keeps state. */
#include <string.h>

#include "quic.h"
#include "wire.h"

uint64_t cs_quic_varint(cs_wire *w, uint32_t *off)
{
    uint8_t b = cs_wire_u8(w, *off);
    uint32_t n = 1u << (b >> 6);
    if (w->trunc || !cs_wire_has(w, *off, n)) {
        w->trunc = true;
        *off = w->len;
        return 0;
    }
    uint64_t v = b & 0x3fu;
    for (uint32_t i = 1; i < n; i++)
        v = (v << 8) | cs_wire_u8(w, *off + i);
    *off += n;
    return v;
}

uint64_t cs_quic_pn_decode(uint64_t largest, uint64_t truncated, unsigned nbits)
{
    uint64_t expected = largest == UINT64_MAX ? 0 : largest + 1;
    uint64_t win = UINT64_C(1) << nbits;
    uint64_t hwin = win / 2;
    uint64_t mask = win - 1;
    uint64_t candidate = (expected & ~mask) | truncated;
    if (candidate + hwin <= expected && candidate < (UINT64_C(1) << 62) - win)
        return candidate + win;
    if (candidate > expected + hwin && candidate >= win)
        return candidate - win;
    return candidate;
}

/* Long header packet type bits (0x30) to a cs_quic_ptype for v1-like versions and for v2. */
static cs_quic_ptype long_type(uint8_t first, const cs_quic_version *ver)
{
    static const uint8_t v1[4] = {CS_QPT_INITIAL, CS_QPT_0RTT, CS_QPT_HANDSHAKE, CS_QPT_RETRY};
    static const uint8_t v2[4] = {CS_QPT_RETRY, CS_QPT_INITIAL, CS_QPT_0RTT, CS_QPT_HANDSHAKE};
    unsigned t = (first >> 4) & 3u;
    return (cs_quic_ptype)(ver->kind == CS_QVK_V2 ? v2[t] : v1[t]);
}

/* The fields after the connection IDs of a known version (off at the first of them). */
static cs_quic_hresult long_rest(cs_wire *w, uint32_t off, cs_quic_hdr *h)
{
    if (h->type == CS_QPT_RETRY) {
        /* Retry: token to the end of the datagram, then (draft 25 on) a 16-byte integrity tag */
        uint32_t tag = h->ver->retry_tag ? 16 : 0;
        if (w->len < off + tag)
            return CS_QH_BAD;
        h->token = w->p + off;
        h->token_len = w->len - off - tag;
        h->len = w->len;
        return CS_QH_OK;
    }
    if (h->type == CS_QPT_INITIAL) {
        uint64_t tlen = cs_quic_varint(w, &off);
        if (w->trunc)
            return CS_QH_TRUNC;
        if (tlen > w->len - off)
            return CS_QH_BAD;
        h->token = w->p + off;
        h->token_len = (uint32_t)tlen;
        off += (uint32_t)tlen;
    }
    uint64_t plen = cs_quic_varint(w, &off);
    if (w->trunc)
        return CS_QH_TRUNC;
    /* The Length covers packet number and payload; header protection samples 16 bytes 4 bytes
     * after the packet number's start (RFC 9001 5.4.2), so anything shorter is not a packet. */
    if (plen > w->len - off || plen < 20)
        return CS_QH_BAD;
    h->pn_offset = off;
    h->len = off + (uint32_t)plen;
    return CS_QH_OK;
}

cs_quic_hresult cs_quic_parse_header(const uint8_t *p, uint32_t len, uint8_t short_dcid_len,
                                     cs_quic_hdr *h)
{
    cs_wire w = cs_wire_make(p, len);
    memset(h, 0, sizeof *h);
    h->first = cs_wire_u8(&w, 0);
    h->fixed_bit = (h->first & 0x40) != 0;
    if (w.trunc)
        return CS_QH_TRUNC;
    if ((h->first & 0x80) == 0) {
        h->type = CS_QPT_SHORT;
        h->dcid_len = short_dcid_len;
        if (!cs_wire_has(&w, 1, short_dcid_len))
            return CS_QH_TRUNC;
        h->dcid = p + 1;
        h->pn_offset = 1u + short_dcid_len;
        h->len = len;
        return CS_QH_OK;
    }
    h->version = cs_wire_be32(&w, 1);
    h->dcid_len = cs_wire_u8(&w, 5);
    uint32_t off = 6u + h->dcid_len;
    h->scid_len = cs_wire_u8(&w, off);
    off += 1u + h->scid_len;
    if (w.trunc || !cs_wire_has(&w, 0, off))
        return CS_QH_TRUNC;
    const cs_quic_version *ver = cs_quic_version_find(h->version);
    if (ver != NULL && (h->dcid_len > CS_QUIC_MAX_CID || h->scid_len > CS_QUIC_MAX_CID))
        return CS_QH_BAD; /* before the IDs are set: a caller never sees IDs over 20 bytes here */
    h->dcid = p + 6;
    h->scid = p + 7 + h->dcid_len;
    if (h->version == 0) {
        h->type = CS_QPT_VN;
        h->len = len;
        return (len - off) % 4 == 0 ? CS_QH_OK : CS_QH_BAD;
    }
    if (ver == NULL) {
        h->type = CS_QPT_UNKNOWN; /* RFC 8999 allows connection IDs of up to 255 bytes */
        h->len = len;
        return CS_QH_OK;
    }
    h->ver = ver;
    h->type = (uint8_t)long_type(h->first, h->ver);
    return long_rest(&w, off, h);
}

bool cs_quic_looks_like_long(const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    uint8_t first = cs_wire_u8(&w, 0);
    uint32_t version = cs_wire_be32(&w, 1);
    uint8_t dcil = cs_wire_u8(&w, 5);
    uint8_t scil = cs_wire_u8(&w, 6u + dcil);
    if (w.trunc || (first & 0x80) == 0 || dcil > CS_QUIC_MAX_CID || scil > CS_QUIC_MAX_CID)
        return false;
    return version == 0 || cs_quic_version_find(version) != NULL;
}

bool cs_quic_unprotect(cs_quic_crypto *qc, const cs_quic_keys *k, const uint8_t *pkt,
                       const cs_quic_hdr *h, uint64_t largest, uint8_t *out, cs_quic_plain *res)
{
    uint32_t pn_off = h->pn_offset;
    if (h->len < pn_off + 4 + 16)
        return false;
    uint8_t mask[5];
    if (!cs_quic_hp_mask(qc, k, pkt + pn_off + 4, mask))
        return false;
    bool is_long = (pkt[0] & 0x80) != 0;
    uint8_t first = (uint8_t)(pkt[0] ^ (mask[0] & (is_long ? 0x0f : 0x1f)));
    uint32_t pn_len = (first & 3u) + 1;
    /* the unprotected header is the associated data (RFC 9001 5.3) */
    memcpy(out, pkt, pn_off + pn_len);
    out[0] = first;
    uint64_t truncated = 0;
    for (uint32_t i = 0; i < pn_len; i++) {
        out[pn_off + i] = (uint8_t)(pkt[pn_off + i] ^ mask[1 + i]);
        truncated = (truncated << 8) | out[pn_off + i];
    }
    uint32_t hdr_len = pn_off + pn_len;
    uint64_t pn = cs_quic_pn_decode(largest, truncated, 8 * pn_len);
    uint8_t *plain = out + hdr_len;
    if (!cs_quic_aead_open(qc, k, pn, out, hdr_len, pkt + hdr_len, h->len - hdr_len, plain))
        return false;
    res->payload = plain;
    res->len = h->len - hdr_len - 16;
    res->pn = pn;
    res->first = first;
    return true;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* Frame types allowed in Initial and Handshake packets (RFC 9000 12.4, table 3). */
static bool allowed(uint64_t type, cs_quic_level lvl)
{
    if (lvl == CS_QL_1RTT)
        return true;
    bool basic = type <= 0x03 || type == 0x06 || type == 0x1c; /* PADDING PING ACK CRYPTO CC */
    if (lvl != CS_QL_0RTT)
        return basic;
    /* 0-RTT: everything except ACK, CRYPTO, HANDSHAKE_DONE, NEW_TOKEN, PATH_RESPONSE, RETIRE_CID */
    return !(type == 0x02 || type == 0x03 || type == 0x06 || type == 0x1e || type == 0x07 ||
             type == 0x1b || type == 0x19);
}

/* Skips `n` varints. */
static void skip_varints(cs_wire *w, uint32_t *off, int n)
{
    for (int i = 0; i < n; i++)
        (void)cs_quic_varint(w, off);
}

/* Reads a length-prefixed byte run: sets data and dlen; false when it does not fit. */
static bool bytes_at(cs_wire *w, uint32_t *off, uint64_t n, const uint8_t **data, uint32_t *dlen)
{
    if (w->trunc || n > w->len - *off) {
        w->trunc = true;
        return false;
    }
    *data = w->p + *off;
    *dlen = (uint32_t)n;
    *off += (uint32_t)n;
    return true;
}

static void ack_frame(cs_wire *w, uint32_t *off, uint64_t type)
{
    skip_varints(w, off, 2); /* largest acknowledged, delay */
    uint64_t ranges = cs_quic_varint(w, off);
    skip_varints(w, off, 1); /* first range */
    for (uint64_t i = 0; i < ranges && !w->trunc; i++)
        skip_varints(w, off, 2);
    if (type == 0x03)
        skip_varints(w, off, 3); /* ECN counts */
}

static void crypto_frame(cs_wire *w, uint32_t *off, const cs_quic_frame_sink *s)
{
    uint64_t coff = cs_quic_varint(w, off);
    uint64_t clen = cs_quic_varint(w, off);
    const uint8_t *data = NULL;
    uint32_t dlen = 0;
    if (!bytes_at(w, off, clen, &data, &dlen) || coff + clen > (UINT64_C(1) << 62)) {
        w->trunc = true;
        return;
    }
    if (s->crypto != NULL)
        s->crypto(s->ctx, coff, data, dlen);
}

static void close_frame(cs_wire *w, uint32_t *off, uint64_t type, const cs_quic_frame_sink *s)
{
    uint64_t err = cs_quic_varint(w, off);
    uint64_t ftype = type == 0x1c ? cs_quic_varint(w, off) : 0;
    uint64_t rlen = cs_quic_varint(w, off);
    const uint8_t *reason = NULL;
    uint32_t n = 0;
    if (bytes_at(w, off, rlen, &reason, &n) && s->close != NULL)
        s->close(s->ctx, type == 0x1d, err, ftype, reason, n);
}

static void stream_frame(cs_wire *w, uint32_t *off, uint64_t type, const cs_quic_frame_sink *s)
{
    uint64_t id = cs_quic_varint(w, off);
    uint64_t soff = (type & 0x04) ? cs_quic_varint(w, off) : 0;
    uint64_t slen = (type & 0x02) ? cs_quic_varint(w, off) : (uint64_t)(w->len - *off);
    const uint8_t *data = NULL;
    uint32_t dlen = 0;
    if (w->trunc || *off > w->len || !bytes_at(w, off, slen, &data, &dlen))
        return;
    if (s->stream != NULL)
        s->stream(s->ctx, id, soff, data, dlen, (type & 0x01) != 0);
}

static void new_cid_frame(cs_wire *w, uint32_t *off, const cs_quic_frame_sink *s)
{
    skip_varints(w, off, 2); /* sequence number, retire prior to */
    uint8_t n = cs_wire_u8(w, *off);
    *off += 1;
    const uint8_t *cid = NULL, *token = NULL;
    uint32_t cid_len = 0, token_len = 0;
    if (n < 1 || n > CS_QUIC_MAX_CID) {
        w->trunc = true;
        return;
    }
    if (bytes_at(w, off, n, &cid, &cid_len) && bytes_at(w, off, 16, &token, &token_len) &&
        s->new_cid != NULL)
        s->new_cid(s->ctx, cid, n);
}

/* Parses the frame body of `type` at *off. Returns false for a type with no known length rule. */
static bool frame_body(cs_wire *w, uint32_t *off, uint64_t type, const cs_quic_frame_sink *s)
{
    const uint8_t *d;
    uint32_t dl;
    if (type >= 0x08 && type <= 0x0f) {
        stream_frame(w, off, type, s);
        return true;
    }
    switch (type) {
    case 0x00: /* PADDING: runs of zeros */
        while (*off < w->len && cs_wire_u8(w, *off) == 0)
            (*off)++;
        return true;
    case 0x01:
    case 0x1e: /* PING, HANDSHAKE_DONE */
        return true;
    case 0x02:
    case 0x03:
        ack_frame(w, off, type);
        return true;
    case 0x04: /* RESET_STREAM: id, error, final size */
        skip_varints(w, off, 3);
        return true;
    case 0x05:
    case 0x11:
    case 0x15: /* STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED */
        skip_varints(w, off, 2);
        return true;
    case 0x06:
        crypto_frame(w, off, s);
        return true;
    case 0x07: /* NEW_TOKEN */
        (void)bytes_at(w, off, cs_quic_varint(w, off), &d, &dl);
        return true;
    case 0x10:
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x16:
    case 0x17:
    case 0x19:
        skip_varints(w, off, 1); /* MAX_DATA, MAX_STREAMS, (STREAMS_)BLOCKED, RETIRE_CID */
        return true;
    case 0x18:
        new_cid_frame(w, off, s);
        return true;
    case 0x1a:
    case 0x1b: /* PATH_CHALLENGE, PATH_RESPONSE: 8 bytes */
        (void)bytes_at(w, off, 8, &d, &dl);
        return true;
    case 0x1c:
    case 0x1d:
        close_frame(w, off, type, s);
        return true;
    case 0x30: /* DATAGRAM without length (RFC 9221): to the end */
        *off = w->len;
        return true;
    case 0x31:
        (void)bytes_at(w, off, cs_quic_varint(w, off), &d, &dl);
        return true;
    default:
        return false;
    }
}

cs_quic_fresult cs_quic_frames(const uint8_t *p, uint32_t len, cs_quic_level lvl,
                               const cs_quic_frame_sink *sink)
{
    static const cs_quic_frame_sink none = {0};
    const cs_quic_frame_sink *s = sink != NULL ? sink : &none;
    cs_wire w = cs_wire_make(p, len);
    cs_quic_fresult res = CS_QF_OK;
    uint32_t off = 0;
    while (off < len) {
        uint64_t type = cs_quic_varint(&w, &off);
        if (w.trunc)
            return CS_QF_BAD;
        if (!allowed(type, lvl))
            res = CS_QF_NOT_ALLOWED;
        if (!frame_body(&w, &off, type, s))
            return CS_QF_UNKNOWN;
        if (w.trunc)
            return CS_QF_BAD;
    }
    return res;
}
