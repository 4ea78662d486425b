/* fuzz_decode.c - libFuzzer target: cs_decode() / cs_decode_ex() (link, IP, tunnels, TCP and UDP
 * decoders and IP fragment reassembly) on arbitrary bytes.
 *
 * Single packet (input[0] < 0x80):
 *   [0]   selects the link type (index into dlts[], modulo its length)
 *   [1]   selects the wire length: 0 = the captured length; 0x80 + k = captured length + 97 k (cut
 *         by the snaplen); 1..0x7f = captured length minus that (a bogus record, wire < caplen)
 *   [2..] the captured packet bytes, decoded with cs_decode()
 * Packet sequence (input[0] >= 0x80), all decoded with cs_decode_ex() and one fragment reassembler:
 *   [0]   0x80 | link type index
 *   [1]   reassembler limits: bits 0-1 select max_bytes (64 MiB, 64 KiB, 4096, 100),
 *         bit 2 a 1 ms timeout instead of 60 s, bits 3-4 max_datagrams (65536, 3, 1, 0)
 *   then records [length u16 big endian][wire length byte as above][length bytes], 1 ms apart
 * Every packet is copied into a heap buffer of exactly its captured size so that ASan catches any
 * read past it. Checks the invariants decode.h promises for a CS_DEC_TCP result; the reassembler
 * must free everything (LeakSanitizer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"

static const int dlts[] = {
    1,   /* DLT_EN10MB */
    113, /* DLT_LINUX_SLL */
    276, /* DLT_LINUX_SLL2 */
    0,   /* DLT_NULL */
    108, /* DLT_LOOP */
    12,  /* DLT_RAW */
    14,  /* DLT_RAW (OpenBSD) */
    101, /* LINKTYPE_RAW */
    228, /* DLT_IPV4 */
    229, /* DLT_IPV6 */
    9,   /* DLT_PPP */
};

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_decode: invariant failed: %s (line %d)\n", #cond, __LINE__);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool inside(const uint8_t *base, uint32_t size, const uint8_t *p, uint32_t n)
{
    return p >= base && p <= base + size && n <= (uint32_t)(base + size - p);
}

static uint32_t wire_len(uint32_t caplen, uint8_t w)
{
    if (w >= 0x80)
        return caplen + (uint32_t)(w - 0x80) * 97u; /* cut by the snaplen */
    if (w > 0)
        return caplen > w ? caplen - w : 0; /* a record whose wire length is below its caplen */
    return caplen;
}

/* Decodes one packet from an exact-size copy and checks the result. */
static void one(int dlt, const uint8_t *data, uint32_t caplen, uint8_t w, cs_time_t ts,
                cs_defrag *defrag, cs_counters *ctr)
{
    uint8_t *buf = malloc(caplen ? caplen : 1);
    memcpy(buf, data, caplen);
    cs_raw raw = {.data = buf, .caplen = caplen, .wirelen = wire_len(caplen, w), .ts = ts, .dlt = dlt};
    cs_pkt pkt;
    memset(&pkt, 0xa5, sizeof pkt); /* the decoder must not depend on a zeroed pkt */
    uint64_t packets = ctr->packets;
    uint64_t anomalies[CS_ANOM_COUNT];
    memcpy(anomalies, ctr->anomalies, sizeof anomalies);

    cs_decode_result r = defrag != NULL ? cs_decode_ex(&raw, &pkt, ctr, defrag)
                                        : cs_decode(&raw, &pkt, ctr);
    CHECK(r == CS_DEC_TCP || r == CS_DEC_UDP || r == CS_DEC_SKIP || r == CS_DEC_BAD);
    CHECK(ctr->packets == packets + 1);
    CHECK(pkt.tun_depth <= CS_TUN_MAX_DEPTH);
    for (uint8_t i = 0; i < pkt.tun_depth; i++) {
        CHECK(pkt.tun[i].type > CS_TUN_NONE && pkt.tun[i].type < CS_TUN_COUNT);
        CHECK(pkt.tun[i].family == 4 || pkt.tun[i].family == 6);
        CHECK(pkt.tun[i].port == 0 || pkt.tun[i].port == pkt.tun[i].sport ||
              pkt.tun[i].port == pkt.tun[i].dport);
    }
    if (r == CS_DEC_UDP) {
        CHECK(pkt.family == 4 || pkt.family == 6);
        CHECK(pkt.proto == 17);
        CHECK(pkt.payload_len <= pkt.payload_wire);
        if (pkt.icmp_quote)
            CHECK(pkt.payload_len == 0 && pkt.payload_wire == 0);
        if (pkt.payload_len > 0)
            CHECK(inside(buf, caplen, pkt.payload, pkt.payload_len) || defrag != NULL);
        volatile uint8_t acc = 0;
        for (uint32_t i = 0; i < pkt.payload_len; i++)
            acc ^= pkt.payload[i];
        (void)acc;
    }
    if (r == CS_DEC_TCP) {
        CHECK(pkt.family == 4 || pkt.family == 6);
        CHECK(pkt.proto == 6);
        CHECK(pkt.payload_len <= pkt.payload_wire);
        /* the payload is in the packet, or (reassembled datagram) in the reassembler's buffer */
        bool in_pkt = pkt.payload != NULL && inside(buf, caplen, pkt.payload, pkt.payload_len);
        if (pkt.payload_len > 0)
            CHECK(pkt.payload != NULL && (in_pkt || defrag != NULL));
        if (pkt.icmp_quote)
            CHECK(pkt.payload_len == 0 && pkt.payload_wire == 0 && !pkt.base_ok);
        if (!pkt.hdr_partial) {
            CHECK(pkt.thl >= 20 && pkt.thl <= 60);
            CHECK(pkt.payload != NULL);
            if (in_pkt)
                CHECK(inside(buf, caplen, pkt.payload - pkt.thl, pkt.thl));
        }
        CHECK(pkt.l3 != NULL && inside(buf, caplen, pkt.l3, pkt.l3_caplen));
        /* Reads every payload byte (ASan checks the range) and the whole segment for the sum. */
        volatile uint8_t acc = 0;
        for (uint32_t i = 0; i < pkt.payload_len; i++)
            acc ^= pkt.payload[i];
        (void)acc;
        (void)cs_tcp_checksum_ok(&pkt);
    }
    /* One packet cannot count more than a few anomalies of one kind. */
    for (int i = 0; i < CS_ANOM_COUNT; i++)
        CHECK(ctr->anomalies[i] - anomalies[i] <= 4 + CS_TUN_MAX_DEPTH);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 20))
        return 0;
    int dlt = dlts[(data[0] & 0x7f) % (sizeof dlts / sizeof dlts[0])];
    CHECK(cs_link_supported(dlt));
    cs_counters ctr;
    memset(&ctr, 0, sizeof ctr);
    if (data[0] < 0x80) {
        one(dlt, data + 2, (uint32_t)(size - 2), data[1], 1, NULL, &ctr);
        return 0;
    }
    static const uint32_t max_bytes[] = {64u << 20, 64u << 10, 4096, 100};
    static const uint32_t max_dgs[] = {CS_DEFRAG_MAX_DATAGRAMS, 3, 1, 0};
    cs_defrag *d = cs_defrag_new(max_bytes[data[1] & 3], max_dgs[(data[1] >> 3) & 3],
                                 (data[1] & 4) ? CS_NS_PER_MS : 60 * CS_NS_PER_S);
    size_t off = 2;
    cs_time_t ts = 1700000000 * CS_NS_PER_S;
    while (off + 3 <= size) {
        uint32_t len = (uint32_t)(data[off] << 8 | data[off + 1]);
        uint8_t w = data[off + 2];
        off += 3;
        if (len > size - off)
            len = (uint32_t)(size - off);
        one(dlt, data + off, len, w, ts, d, &ctr);
        off += len;
        ts += CS_NS_PER_MS;
    }
    cs_defrag_free(d);
    return 0;
}
