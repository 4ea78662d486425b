/* decode_tcp.c - TCP header and options (MSS, window scale, SACK, timestamps), payload bounds, checksum.
 * A header cut by the snaplen still yields ports, sequence numbers and flags when those were captured. */
#include "decode.h"
#include "wire.h"

/* Parses the option bytes [20, thl) of the header at w. Counts one anomaly on a bad length. */
static void parse_options(cs_wire *w, uint32_t thl, cs_tcp_opts *o, cs_counters *c)
{
    uint32_t off = 20;
    while (off < thl) {
        uint8_t kind = cs_wire_u8(w, off);
        if (kind == 0) /* end of option list */
            break;
        if (kind == 1) { /* no-op */
            off++;
            continue;
        }
        if (off + 1 >= thl) {
            c->anomalies[CS_ANOM_TCP_BAD_OPTION]++;
            break;
        }
        uint8_t olen = cs_wire_u8(w, off + 1);
        if (olen < 2 || off + olen > thl) {
            c->anomalies[CS_ANOM_TCP_BAD_OPTION]++;
            break;
        }
        switch (kind) {
        case 2:
            if (olen == 4) {
                o->has_mss = true;
                o->mss = cs_wire_be16(w, off + 2);
            }
            break;
        case 3:
            if (olen == 3) {
                o->has_wscale = true;
                o->wscale = cs_wire_u8(w, off + 2);
            }
            break;
        case 4:
            o->sack_perm = true;
            break;
        case 5:
            o->sack_blocks = (uint8_t)((olen - 2) / 8);
            break;
        case 8:
            if (olen == 10) {
                o->has_ts = true;
                o->tsval = cs_wire_be32(w, off + 2);
                o->tsecr = cs_wire_be32(w, off + 6);
            }
            break;
        default:
            break;
        }
        off += olen;
    }
}

cs_decode_result cs_decode_tcp(const uint8_t *p, uint32_t len, uint32_t wire_len, cs_pkt *pkt,
                               cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);

    __builtin_memset(&pkt->opt, 0, sizeof pkt->opt);
    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->payload_wire = 0;
    pkt->hdr_partial = false;
    pkt->win = 0;
    pkt->thl = 0;
    pkt->base_ok = false;
    pkt->icmp_quote = false;

    pkt->sport = cs_wire_be16(&w, 0);
    pkt->dport = cs_wire_be16(&w, 2);
    pkt->seq = cs_wire_be32(&w, 4);
    pkt->ack = cs_wire_be32(&w, 8);
    uint8_t doff = cs_wire_u8(&w, 12) >> 4;
    pkt->flags = cs_wire_u8(&w, 13);
    pkt->win = cs_wire_be16(&w, 14); /* Wireshark needs these 16 bytes to track the stream */
    if (w.trunc) {
        c->anomalies[CS_ANOM_TCP_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    c->tcp++;
    uint32_t thl = (uint32_t)doff * 4;
    /* Wireshark records sequence bases unless the IP length ends inside the TCP header. */
    pkt->base_ok = doff < 5 || thl <= wire_len;
    if (doff < 5 || thl > wire_len) {
        c->anomalies[CS_ANOM_TCP_BAD_DOFF]++;
        pkt->hdr_partial = true;
        return CS_DEC_TCP;
    }
    pkt->thl = (uint8_t)thl;
    pkt->payload_wire = wire_len - thl;
    if (len < thl) {
        c->anomalies[CS_ANOM_TCP_TRUNCATED]++;
        pkt->hdr_partial = true;
        if (pkt->payload_wire > 0) {
            c->anomalies[CS_ANOM_TCP_PAYLOAD_CUT]++;
            c->payload_cut_bytes += pkt->payload_wire;
        }
        return CS_DEC_TCP;
    }
    parse_options(&w, thl, &pkt->opt, c);
    pkt->payload = p + thl;
    pkt->payload_len = len - thl;
    if (pkt->payload_len > pkt->payload_wire)
        pkt->payload_len = pkt->payload_wire;
    if (pkt->payload_len < pkt->payload_wire) {
        c->anomalies[CS_ANOM_TCP_PAYLOAD_CUT]++;
        c->payload_cut_bytes += pkt->payload_wire - pkt->payload_len;
    }
    return CS_DEC_TCP;
}

/* Adds 16-bit big-endian words of p[0..n) to sum (odd trailing byte padded with zero). */
static uint64_t sum16(const uint8_t *p, uint32_t n, uint64_t sum)
{
    uint32_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
    if (i < n)
        sum += (uint32_t)(p[i] << 8);
    return sum;
}

bool cs_tcp_checksum_ok(const cs_pkt *pkt)
{
    if (pkt->hdr_partial || pkt->payload_len < pkt->payload_wire || pkt->payload == NULL)
        return true;
    const uint8_t *seg = pkt->payload - pkt->thl;
    uint32_t seglen = pkt->thl + pkt->payload_wire;
    uint64_t sum = 0;
    uint32_t alen = pkt->family == 4 ? 4 : 16;
    sum = sum16(pkt->src.b, alen, sum);
    sum = sum16(pkt->dst.b, alen, sum);
    sum += 6; /* protocol */
    sum += seglen & 0xffff;
    sum += seglen >> 16;
    sum = sum16(seg, seglen, sum);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}
