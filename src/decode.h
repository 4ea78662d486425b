/* decode.h - the decoded view of one captured packet, shared by the decode_* files and the flow table.
 * Decoders fill a cs_pkt in place from the capture buffer: they never allocate and never copy payload. */
#ifndef CS_DECODE_H
#define CS_DECODE_H

#include "anomaly.h"
#include "common.h"

/* One raw packet as the capture source hands it over. `data` stays valid until the next packet. */
typedef struct cs_raw {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    cs_time_t ts;
    int dlt;          /* libpcap DLT_* of the file/interface it came from */
    uint32_t src_idx; /* index of the input it came from */
} cs_raw;

#define CS_TH_FIN 0x01
#define CS_TH_SYN 0x02
#define CS_TH_RST 0x04
#define CS_TH_PSH 0x08
#define CS_TH_ACK 0x10
#define CS_TH_URG 0x20
#define CS_TH_ECE 0x40
#define CS_TH_CWR 0x80

/* TCP options worth keeping (the rest are skipped). */
typedef struct cs_tcp_opts {
    uint16_t mss;
    uint8_t wscale;
    uint8_t sack_blocks; /* number of SACK blocks in this segment */
    bool has_mss;
    bool has_wscale;
    bool sack_perm;
    bool has_ts;
    uint32_t tsval;
    uint32_t tsecr;
} cs_tcp_opts;

/* What the decoder found in one packet. Fields past `proto` are valid only for TCP. */
typedef struct cs_pkt {
    cs_time_t ts;
    uint64_t frame;   /* 1-based number in the merged, time-ordered input */
    uint32_t caplen;
    uint32_t wirelen;
    uint8_t family;   /* 4 or 6 */
    uint8_t proto;    /* IP protocol number of the transport header */
    uint32_t ip_len;  /* IP datagram length from the IP header (header + payload) */
    cs_addr src;
    cs_addr dst;
    uint16_t sport;
    uint16_t dport;
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    uint8_t flags;
    uint8_t thl;          /* TCP header length in bytes */
    bool hdr_partial;     /* TCP header cut short: only ports/seq/ack/flags/window valid */
    bool base_ok;         /* may set Wireshark's sequence bases (IP length covers the header) */
    bool icmp_quote;      /* TCP header quoted inside an ICMP error: stream lookup only */
    cs_tcp_opts opt;
    const uint8_t *payload;
    uint32_t payload_len;  /* payload bytes captured */
    uint32_t payload_wire; /* payload bytes on the wire (from the IP length) */
    struct cs_defrag *defrag; /* set by cs_decode_ex: the fragment reassembler, or NULL */
    const uint8_t *l3;     /* start of the IP header (for checksums) */
    uint32_t l3_caplen;
} cs_pkt;

typedef enum cs_decode_result {
    CS_DEC_TCP,  /* pkt describes a TCP segment */
    CS_DEC_SKIP, /* not TCP (counted in cs_counters), nothing to do */
    CS_DEC_BAD   /* malformed or truncated before TCP (an anomaly was counted) */
} cs_decode_result;

/* True when connscope can decode link type `dlt`. */
bool cs_link_supported(int dlt);

/* Decodes raw into pkt (link, IP, TCP), counting packet classes and anomalies into c; IP fragments
 * are counted and skipped. Returns CS_DEC_TCP only when pkt holds a usable TCP segment. Never
 * reads outside raw; pkt need not be initialised. */
cs_decode_result cs_decode(const cs_raw *raw, cs_pkt *pkt, cs_counters *c);

/* The same, reassembling IP fragments with `defrag` (may be NULL): the packet that completes a
 * datagram decodes as its TCP segment, whose payload then lives in the reassembler's buffer until
 * its next use. */
cs_decode_result cs_decode_ex(const cs_raw *raw, cs_pkt *pkt, cs_counters *c,
                              struct cs_defrag *defrag);

/* Network layer entry (decode_ip.c): decodes an IPv4 or IPv6 packet of `len` captured bytes;
 * `wire_len` is its length on the wire (>= len); `version` is 4, 6, or 0 to take it from the
 * first nibble. */
cs_decode_result cs_decode_ip(const uint8_t *p, uint32_t len, uint32_t wire_len, int version,
                              cs_pkt *pkt, cs_counters *c);

/* Transport entry (decode_tcp.c): decodes a TCP header of `len` captured bytes whose IP payload
 * is `wire_len` bytes long. */
cs_decode_result cs_decode_tcp(const uint8_t *p, uint32_t len, uint32_t wire_len, cs_pkt *pkt,
                               cs_counters *c);

/* Verifies the TCP checksum of a fully captured segment. Returns true when it is correct or
 * cannot be checked (payload cut by the snaplen). */
bool cs_tcp_checksum_ok(const cs_pkt *pkt);

#endif
