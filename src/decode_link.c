/* decode_link.c - link layers: Ethernet (+802.1Q/802.1ad tags, PPPoE, MPLS), Linux SLL/SLL2, NULL/LOOP, PPP,
 * raw IP. Finds the network protocol and hands IPv4/IPv6 to decode_ip.c; tunnels come back here for inner frames. */
#include <pcap/pcap.h>

#include "decode.h"
#include "wire.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_PPPOE_SESSION 0x8864
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848

bool cs_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_PPP:
    case DLT_PPP_SERIAL:
    case DLT_RAW:
    case 14: /* DLT_RAW on OpenBSD */
    case 101: /* LINKTYPE_RAW, should libpcap hand it through unmapped */
    case DLT_IPV4:
    case DLT_IPV6:
        return true;
    default:
        return false;
    }
}

/* Maps an ethertype to an IP version (4, 6) or 0 for anything else. */
static int ethertype_version(uint16_t type)
{
    if (type == ETH_IPV4)
        return 4;
    if (type == ETH_IPV6)
        return 6;
    return 0;
}

/* Maps a BSD address family value (either byte order) to an IP version or 0. */
static int null_family_version(uint32_t fam)
{
    if (fam > 0xffff) /* written in the other byte order */
        fam = __builtin_bswap32(fam);
    switch (fam) {
    case 2:
        return 4;
    case 10: /* Linux */
    case 24: /* NetBSD, OpenBSD, BSD/OS */
    case 28: /* FreeBSD, DragonFly */
    case 30: /* macOS */
        return 6;
    default:
        return 0;
    }
}

/* The link payload after an MPLS label stack (Wireshark's rule: explicit-null labels 0 and 2 name
 * IPv4 and IPv6; otherwise the first nibble decides, and anything but 4 or 6 is not decoded). */
static cs_decode_result decode_mpls(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                    cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t off = 0, label = 0;
    for (;;) {
        uint32_t e = cs_wire_be32(&w, off);
        if (w.trunc) {
            c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
            return CS_DEC_BAD;
        }
        off += 4;
        label = e >> 12;
        if (e & 0x100) /* bottom of stack */
            break;
    }
    int version = label == 0 ? 4 : label == 2 ? 6 : 0;
    return cs_decode_ip(p + off, len - off, wire - off, version, pkt, c);
}

cs_decode_result cs_decode_ppp(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                               cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t off = 0;
    if (cs_wire_u8(&w, 0) == 0xff && cs_wire_u8(&w, 1) == 0x03)
        off = 2;
    uint16_t proto = cs_wire_u8(&w, off);
    if (proto & 1) { /* protocol field compressed to one byte */
        off += 1;
    } else {
        proto = cs_wire_be16(&w, off);
        off += 2;
    }
    if (w.trunc) {
        c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if (proto != 0x0021 && proto != 0x0057) { /* LCP, CCP, compressed or encrypted data ... */
        c->non_ip++;
        return CS_DEC_SKIP;
    }
    return cs_decode_ip(p + off, len - off, wire - off, proto == 0x0021 ? 4 : 6, pkt, c);
}

cs_decode_result cs_decode_ethertype(uint16_t type, const uint8_t *p, uint32_t len, uint32_t wire,
                                     cs_pkt *pkt, cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t off = 0;
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        type = cs_wire_be16(&w, off + 2);
        off += 4;
        if (w.trunc) {
            c->anomalies[CS_ANOM_VLAN_TRUNCATED]++;
            return CS_DEC_BAD;
        }
    }
    if (type == ETH_PPPOE_SESSION) { /* 6-byte PPPoE header, then the PPP protocol */
        uint16_t ppp = cs_wire_be16(&w, off + 6);
        off += 8;
        type = ppp == 0x0021 ? ETH_IPV4 : ppp == 0x0057 ? ETH_IPV6 : 0;
    }
    if (w.trunc) {
        c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if (wire < len)
        wire = len;
    if (type == ETH_MPLS || type == ETH_MPLS_MC)
        return decode_mpls(p + off, len - off, wire - off, pkt, c);
    int version = ethertype_version(type);
    if (version == 0) {
        c->non_ip++;
        return CS_DEC_SKIP;
    }
    return cs_decode_ip(p + off, len - off, wire - off, version, pkt, c);
}

cs_decode_result cs_decode_ether(const uint8_t *p, uint32_t len, uint32_t wire, cs_pkt *pkt,
                                 cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    uint16_t type = cs_wire_be16(&w, 12);
    if (w.trunc || len < 14) {
        c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    return cs_decode_ethertype(type, p + 14, len - 14, wire > 14 ? wire - 14 : 0, pkt, c);
}

cs_decode_result cs_decode(const cs_raw *raw, cs_pkt *pkt, cs_counters *c)
{
    return cs_decode_ex(raw, pkt, c, NULL);
}

cs_decode_result cs_decode_ex(const cs_raw *raw, cs_pkt *pkt, cs_counters *c,
                              struct cs_defrag *defrag)
{
    pkt->defrag = defrag;
    pkt->tun_depth = 0;
    pkt->tunnel_id = 0;
    pkt->in_quote = false;
    cs_wire w = cs_wire_make(raw->data, raw->caplen);
    uint32_t off = 0;
    int version = -1; /* -1: unknown link payload, 0: take from IP header */

    c->packets++;
    c->bytes += raw->wirelen;
    c->cap_bytes += raw->caplen;
    pkt->ts = raw->ts;
    pkt->caplen = raw->caplen;
    pkt->wirelen = raw->wirelen;
    uint32_t wire = raw->wirelen > raw->caplen ? raw->wirelen : raw->caplen;

    switch (raw->dlt) {
    case DLT_EN10MB:
        return cs_decode_ether(raw->data, raw->caplen, wire, pkt, c);
    case DLT_LINUX_SLL:
        version = ethertype_version(cs_wire_be16(&w, 14));
        off = 16;
        break;
    case DLT_LINUX_SLL2:
        version = ethertype_version(cs_wire_be16(&w, 0));
        off = 20;
        break;
    case DLT_NULL:
        version = null_family_version(cs_wire_le32(&w, 0));
        off = 4;
        break;
    case DLT_LOOP:
        version = null_family_version(cs_wire_be32(&w, 0));
        off = 4;
        break;
    case DLT_PPP:
    case DLT_PPP_SERIAL:
        return cs_decode_ppp(raw->data, raw->caplen, wire, pkt, c);
    case DLT_IPV4:
        version = 4;
        break;
    case DLT_IPV6:
        version = 6;
        break;
    case DLT_RAW:
    case 14:  /* DLT_RAW on OpenBSD */
    case 101: /* LINKTYPE_RAW */
        version = 0;
        break;
    default: /* an interface of a mixed-link pcapng that connscope cannot decode */
        c->anomalies[CS_ANOM_LINK_UNSUPPORTED]++;
        return CS_DEC_SKIP;
    }
    if (w.trunc || !cs_wire_has(&w, off, 0)) {
        c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if (version < 0 || (version == 0 && off != 0)) {
        c->non_ip++;
        return CS_DEC_SKIP;
    }
    return cs_decode_ip(raw->data + off, raw->caplen - off, wire - off, version, pkt, c);
}
