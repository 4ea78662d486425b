/* tls_record.c - TLS record framing per direction: records reassembled across TCP segments (zero
 * copy when whole in one), the SSLv2-compatible hello record, gaps (framing kept inside a record,
 * else resynchronised on a plausible header), and content detection. Headers read through cs_wire.
 * Whole records go to tls_process_record() (app_tls.c). */
#include <string.h>

#include <glib.h>

#include "tls_conn.h"
#include "wire.h"

static void grow(uint8_t **buf, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return;
    uint32_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    *buf = g_realloc(*buf, n);
    *cap = n;
}

/* Adds header bytes from p until d->hdr holds `want`; returns how many were used. */
static uint32_t take_header(tdir *d, const uint8_t *p, uint32_t len, uint8_t want)
{
    uint32_t take = MIN((uint32_t)(want - d->hdr_len), len);
    memcpy(d->hdr + d->hdr_len, p, take);
    d->hdr_len = (uint8_t)(d->hdr_len + take);
    return take;
}

/* Adds body bytes from p (kept unless `keep` is false); returns how many were used. */
static uint32_t take_body(tdir *d, const uint8_t *p, uint32_t len, bool keep)
{
    uint32_t take = MIN(d->body_len - d->body_have, len);
    if (keep && take > 0)
        memcpy(d->buf + d->body_have, p, take);
    d->body_have += take;
    return take;
}

/* The body length of the 5-byte record header h. */
static uint32_t record_len(const uint8_t *h)
{
    cs_wire w = cs_wire_make(h, 5);
    return cs_wire_be16(&w, 3);
}

/* Record header check: 0 invalid, 1 fine, 2 valid but longer than the cap. */
static int header_ok(const uint8_t *h)
{
    cs_wire w = cs_wire_make(h, 5);
    uint8_t type = cs_wire_u8(&w, 0), major = cs_wire_u8(&w, 1), minor = cs_wire_u8(&w, 2);
    if (type < CT_CCS || type > CT_HEARTBEAT || major != 3 || minor > 4)
        return 0;
    return cs_wire_be16(&w, 3) > CS_TLS_RECORD_MAX ? 2 : 1;
}

/* Stricter check used to find a record boundary after a gap. */
static bool header_plausible(const tdir *d, const uint8_t *h)
{
    cs_wire w = cs_wire_make(h, 5);
    uint8_t type = cs_wire_u8(&w, 0);
    uint16_t v = cs_wire_be16(&w, 1);
    uint32_t len = cs_wire_be16(&w, 3);
    if (type < CT_ALERT || type > CT_APP || len == 0 || len > CS_TLS_RECORD_MAX)
        return false;
    if (d->rec_version != 0)
        return v == d->rec_version;
    return v >= 0x0300 && v <= 0x0303;
}

static void stop_dir(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                     cs_anomaly a)
{
    t->d[dir].state = D_STOPPED;
    t->sum.stopped[dir] = true;
    tls_anomaly(t, sink, c, a);
}

/* The record header is whole in d->hdr: checks it and starts the body. Returns false when the
 * header is invalid (the direction is then stopped). */
static bool start_body(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir)
{
    tdir *d = &t->d[dir];
    int ok = header_ok(d->hdr);
    if (ok == 0) {
        stop_dir(t, sink, c, dir, CS_ANOM_TLS_BAD_RECORD);
        return false;
    }
    d->body_len = record_len(d->hdr);
    d->body_have = 0;
    d->skipping = ok == 2;
    d->lost = false;
    if (d->skipping) {
        t->sum.record_cap_hits++;
        tls_anomaly(t, sink, c, CS_ANOM_TLS_RECORD_TOO_LONG);
    } else {
        grow(&d->buf, &d->buf_cap, d->body_len);
    }
    return true;
}

/* D_RECORDS: consumes bytes of records; returns how many were used. */
static uint32_t records(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                        const uint8_t *p, uint32_t len, cs_time_t ts)
{
    tdir *d = &t->d[dir];
    if (d->hdr_len == 0 && len >= 5 && header_ok(p) == 1) {
        uint32_t bl = record_len(p);
        if (len - 5 >= bl) { /* whole record in this chunk: zero copy */
            tls_process_record(t, sink, c, dir, p, p + 5, bl, ts);
            return 5 + bl;
        }
    }
    uint32_t used = 0;
    if (d->hdr_len < 5) {
        used = take_header(d, p, len, 5);
        if (d->hdr_len < 5)
            return used;
        if (!start_body(t, sink, c, dir))
            return len;
    }
    used += take_body(d, p + used, len - used, !d->skipping && !d->lost);
    if (d->body_have == d->body_len) {
        bool whole = !d->skipping && !d->lost;
        d->hdr_len = 0;
        tls_process_record(t, sink, c, dir, d->hdr, whole ? d->buf : NULL, d->body_len, ts);
        d->skipping = d->lost = false;
    }
    return used;
}

/* D_RESYNC: looks for a plausible record header; returns the bytes skipped before it (the caller
 * then parses records from there) or len when none was found in this chunk. */
static uint32_t resync(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                       const uint8_t *p, uint32_t len)
{
    tdir *d = &t->d[dir];
    bool edge = d->at_gap_edge;
    d->at_gap_edge = false;
    for (uint32_t i = 0; i + 5 <= len; i++) {
        if (!header_plausible(d, p + i))
            continue;
        uint32_t end = i + 5 + record_len(p + i);
        /* confirm by the next header when it is in this chunk */
        if (!(edge && i == 0) && end + 5 <= len && !header_plausible(d, p + end))
            continue;
        d->state = D_RECORDS;
        d->hdr_len = 0;
        d->lost_bytes += i;
        t->sum.resyncs++;
        tls_anomaly(t, sink, c, CS_ANOM_TLS_GAP_RESYNC);
        return i;
    }
    d->resync_scanned += len;
    d->lost_bytes += len;
    if (d->resync_scanned > TLS_RESYNC_MAX)
        stop_dir(t, sink, c, dir, CS_ANOM_TLS_GAP_LOST);
    return len;
}

/* D_SSL2: the one SSLv2-format record a client may start with (2-byte header, high bit set);
 * returns the bytes used. */
static uint32_t sslv2_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                             const uint8_t *p, uint32_t len, cs_time_t ts)
{
    tdir *d = &t->d[0];
    uint32_t used = 0;
    if (d->hdr_len < 2) {
        used = take_header(d, p, len, 2);
        if (d->hdr_len < 2)
            return used;
        cs_wire h = cs_wire_make(d->hdr, 2);
        d->body_len = cs_wire_be16(&h, 0) & 0x7fff;
        d->body_have = 0;
        grow(&d->buf, &d->buf_cap, d->body_len);
    }
    used += take_body(d, p + used, len - used, true);
    if (d->body_have == d->body_len) {
        tls_sslv2_hello(t, sink, c, d->buf, d->body_len, ts);
        d->hdr_len = 0;
        d->state = D_RECORDS;
    }
    return used;
}

void cs_tls_data(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                 const uint8_t *p, uint32_t len, cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    uint32_t off = 0;
    while (off < len) {
        switch (d->state) {
        case D_STOPPED:
            return;
        case D_START:
            /* an SSLv2 record header has the high bit set; TLS content types are 20..24 */
            d->state = dir == 0 && (p[off] & 0x80) ? D_SSL2 : D_RECORDS;
            break;
        case D_SSL2:
            off += sslv2_record(t, sink, c, p + off, len - off, ts);
            break;
        case D_RESYNC:
            off += resync(t, sink, c, dir, p + off, len - off);
            break;
        default:
            off += records(t, sink, c, dir, p + off, len - off, ts);
            break;
        }
    }
}

void cs_tls_gap(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                uint32_t len, cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    if (d->state == D_STOPPED || len == 0)
        return;
    t->sum.gaps[dir]++;
    t->sum.gap_bytes[dir] += len;
    tls_hs_reset(t, sink, c, dir);
    if (d->state == D_RECORDS && d->hdr_len == 5) {
        uint32_t rem = d->body_len - d->body_have;
        d->lost = true;
        if (len < rem) { /* the hole is inside the current record: framing kept */
            d->body_have += len;
            return;
        }
        /* the record ends in (or at the end of) the hole: counted, not read */
        d->hdr_len = 0;
        tls_process_record(t, sink, c, dir, d->hdr, NULL, d->body_len, ts);
        d->lost = d->skipping = false;
        if (len == rem)
            return;
        len -= rem;
    }
    if (d->rp.ready && !d->dec_lost && (d->ccs || t->tls13))
        tls_plaintext_gap(sink, c, dir, len, ts);
    /* framing lost: find the next record header */
    d->state = D_RESYNC;
    d->hdr_len = 0;
    d->resync_scanned = 0;
    d->at_gap_edge = true;
    d->seq_unknown = true;
    d->lost_bytes += len;
}

void cs_tls_end(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    (void)ts;
    if ((d->state == D_RECORDS || d->state == D_SSL2) && d->hdr_len > 0) {
        tls_anomaly(t, sink, c, CS_ANOM_TLS_TRUNCATED);
        d->hdr_len = 0;
    }
    d->state = D_STOPPED;
}

int cs_tls_detect(const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    if (len < 1)
        return -1;
    uint8_t first = cs_wire_u8(&w, 0);
    if (first == 0x16) {
        if (len >= 2 && cs_wire_u8(&w, 1) != 0x03)
            return 0;
        if (len >= 3 && cs_wire_u8(&w, 2) > 0x04)
            return 0;
        if (len < 6)
            return -1;
        return cs_wire_u8(&w, 5) == 0x01 ? 1 : 0;
    }
    if (first & 0x80) {
        /* SSLv2 record: 2-byte length, msg type 1 (CLIENT-HELLO), version 0x0002 or 0x03xx */
        if (len < 4)
            return -1;
        uint8_t type = cs_wire_u8(&w, 2), major = cs_wire_u8(&w, 3);
        return type == 0x01 && (major == 0x00 || major == 0x03) ? 1 : 0;
    }
    return 0;
}
