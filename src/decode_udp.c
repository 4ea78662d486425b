/* decode_udp.c - UDP header: ports, length checks as Wireshark makes them, payload bounds; datagrams
 * to a tunnel port (VXLAN, GENEVE, Teredo) go on to decode_tunnel.c. */
#include "decode.h"
#include "wire.h"

cs_decode_result cs_decode_udp(const uint8_t *p, uint32_t len, uint32_t wire_len, cs_pkt *pkt,
                               cs_counters *c)
{
    cs_wire w = cs_wire_make(p, len);
    pkt->sport = cs_wire_be16(&w, 0);
    pkt->dport = cs_wire_be16(&w, 2);
    uint32_t ulen = cs_wire_be16(&w, 4);
    pkt->icmp_quote = false;
    pkt->payload = NULL;
    pkt->payload_len = pkt->payload_wire = 0;
    if (w.trunc || len < 8) {
        c->anomalies[CS_ANOM_UDP_TRUNCATED]++;
        return CS_DEC_BAD;
    }
    c->udp++;
    if (ulen == 0 && pkt->family == 6)
        ulen = wire_len; /* IPv6 jumbogram (RFC 2675) or a TSO capture: the IP length rules */
    if (ulen < 8) {
        /* Wireshark stops here: no conversation, no udp.stream */
        c->anomalies[CS_ANOM_UDP_BAD_LEN]++;
        return CS_DEC_BAD;
    }
    if (ulen > wire_len) {
        /* past the IP payload: Wireshark complains but keeps the datagram (not in quotes, where
         * the IP payload is cut by design) */
        if (!pkt->in_quote)
            c->anomalies[CS_ANOM_UDP_BAD_LEN]++;
        ulen = wire_len;
    }
    pkt->payload_wire = ulen - 8;
    pkt->payload = p + 8;
    pkt->payload_len = len - 8 < pkt->payload_wire ? len - 8 : pkt->payload_wire;
    if (!pkt->in_quote)
        return cs_decode_udp_tunnel(pkt->payload, pkt->payload_len, pkt->payload_wire, pkt, c);
    return CS_DEC_UDP;
}
