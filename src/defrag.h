/* defrag.h - IPv4 and IPv6 fragment reassembly, as Wireshark does by default, so that TCP carried in
 * fragments is decoded (on the frame that completes the datagram) and numbered like tshark does. */
#ifndef CS_DEFRAG_H
#define CS_DEFRAG_H

#include "anomaly.h"
#include "common.h"

typedef struct cs_defrag cs_defrag;

/* Default caps (--max-frag-datagrams, and the fixed byte cap and timeout). */
#define CS_DEFRAG_MAX_BYTES (64u << 20)
#define CS_DEFRAG_MAX_DATAGRAMS 65536u
#define CS_DEFRAG_TIMEOUT (60 * CS_NS_PER_S)

/* Creates an empty reassembler holding at most max_bytes (fragment data and bookkeeping) and at
 * most max_datagrams incomplete datagrams (a new one evicts the oldest: ip_fragment_evictions);
 * datagrams not completed within `timeout` of capture time after their first fragment are
 * dropped. Can't fail (aborts on OOM). */
cs_defrag *cs_defrag_new(uint32_t max_bytes, uint32_t max_datagrams, cs_time_t timeout);

/* One fragment: the datagram is identified by (family, src, dst, id, proto); `offset` is the byte
 * offset of `data` in the datagram's payload, `more` the more-fragments flag. Returns the complete
 * payload (transport header first) when this fragment completes it, with its length in *out_len;
 * the buffer stays valid until the next call. Returns NULL otherwise (fragment kept, or dropped
 * and counted when it is inconsistent or over the memory cap). Overlaps are resolved as Wireshark
 * does: a byte comes from the fragment with the lowest offset that carries it (among equal
 * offsets, the first to arrive); differing copies count ip_fragment_overlap_conflict.
 * Costs O(log n) amortised in the fragments held for the datagram, plus its own length. */
const uint8_t *cs_defrag_add(cs_defrag *d, uint8_t family, const cs_addr *src, const cs_addr *dst,
                             uint32_t id, uint8_t proto, uint32_t offset, bool more,
                             const uint8_t *data, uint32_t len, cs_time_t ts, uint32_t *out_len,
                             cs_counters *c);

/* Frees every held fragment and the reassembler. NULL is fine. */
void cs_defrag_free(cs_defrag *d);

#endif
