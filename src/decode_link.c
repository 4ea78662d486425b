/* decode_link.c - link layers: Ethernet (+802.1Q/802.1ad tags, PPPoE, MPLS), Linux SLL/SLL2, NULL/LOOP, raw IP.
 * Strips the link header, finds the network protocol and hands IPv4/IPv6 to decode_ip.c. */
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

cs_decode_result cs_decode(const cs_raw *raw, cs_pkt *pkt, cs_counters *c)
{
    return cs_decode_ex(raw, pkt, c, NULL);
}

cs_decode_result cs_decode_ex(const cs_raw *raw, cs_pkt *pkt, cs_counters *c,
                              struct cs_defrag *defrag)
{
    pkt->defrag = defrag;
    cs_wire w = cs_wire_make(raw->data, raw->caplen);
    uint32_t off = 0;
    int version = -1; /* -1: unknown link payload, 0: take from IP header */
    bool mpls = false;

    c->packets++;
    c->bytes += raw->wirelen;
    c->cap_bytes += raw->caplen;
    pkt->ts = raw->ts;
    pkt->caplen = raw->caplen;
    pkt->wirelen = raw->wirelen;

    switch (raw->dlt) {
    case DLT_EN10MB: {
        uint16_t type = cs_wire_be16(&w, 12);
        off = 14;
        while (!w.trunc && (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD)) {
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
        } else if (type == ETH_MPLS || type == ETH_MPLS_MC) {
            while (!w.trunc && !(cs_wire_u8(&w, off + 2) & 0x01)) /* until bottom of stack */
                off += 4;
            off += 4;
            version = 0; /* IP version from the first nibble */
            mpls = true;
            break;
        }
        version = ethertype_version(type);
        break;
    }
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
    case DLT_IPV4:
        version = 4;
        break;
    case DLT_IPV6:
        version = 6;
        break;
    default: /* DLT_RAW and its aliases */
        version = 0;
        break;
    }
    if (w.trunc || !cs_wire_has(&w, off, 0)) {
        c->anomalies[CS_ANOM_LINK_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    if (version < 0 || (version == 0 && off != 0 && !mpls)) {
        c->non_ip++;
        return CS_DEC_SKIP;
    }
    uint32_t wire = raw->wirelen > off ? raw->wirelen - off : 0;
    if (wire < raw->caplen - off)
        wire = raw->caplen - off;
    return cs_decode_ip(raw->data + off, raw->caplen - off, wire, version, pkt, c);
}
