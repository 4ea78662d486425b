/* quic.h - QUIC packets on the wire (RFC 8999, RFC 9000 sections 12, 16, 17, 19; RFC 9369): long and
 * short headers read through cs_wire, coalesced packets split, protection removed, frames walked. */
#ifndef CS_QUIC_H
#define CS_QUIC_H

#include "common.h"
#include "quic_crypto.h"
#include "wire.h"

#define CS_QUIC_MAX_CID 20 /* longest connection ID in v1 and v2 (RFC 9000 17.2) */

/* The kind of one packet. */
typedef enum cs_quic_ptype {
    CS_QPT_INITIAL,
    CS_QPT_0RTT,
    CS_QPT_HANDSHAKE,
    CS_QPT_RETRY,
    CS_QPT_VN,      /* Version Negotiation (long header, version 0) */
    CS_QPT_UNKNOWN, /* long header of a version we cannot read past the invariant fields */
    CS_QPT_SHORT    /* short header (1-RTT) */
} cs_quic_ptype;

/* What the header of one packet says. Pointers point into the datagram. */
typedef struct cs_quic_hdr {
    uint8_t type;               /* cs_quic_ptype */
    uint8_t first;              /* first byte as sent (protected bits still masked) */
    bool fixed_bit;             /* 0x40 of the first byte */
    uint8_t dcid_len, scid_len; /* short header: dcid_len is what the caller said */
    uint32_t version;           /* long headers */
    const cs_quic_version *ver; /* NULL when unknown (and for short headers) */
    const uint8_t *dcid, *scid;
    const uint8_t *token; /* Initial: its token; Retry: the retry token */
    uint32_t token_len;
    uint32_t pn_offset; /* Initial, 0-RTT, Handshake, short: offset of the packet number */
    uint32_t len;       /* bytes of this packet; coalesced packets follow it */
} cs_quic_hdr;

typedef enum cs_quic_hresult {
    CS_QH_OK,
    CS_QH_TRUNC, /* a field lies past the captured bytes */
    CS_QH_BAD    /* a length field does not fit (CID over 20 bytes in a known version, Length past
                  * the datagram, Initial too short to sample, VN list not whole versions) */
} cs_quic_hresult;

/* Parses the header of the packet at p (the `len` bytes left in the datagram). For a short header
 * `short_dcid_len` is the connection ID length the receiver expects (the header does not say).
 * On CS_QH_OK fills h; h->len is how far the next coalesced packet starts. Never reads outside p. */
cs_quic_hresult cs_quic_parse_header(const uint8_t *p, uint32_t len, uint8_t short_dcid_len,
                                     cs_quic_hdr *h);

/* True when the datagram at p could start a QUIC connection: a long header whose version is
 * known, or Version Negotiation, with connection IDs no longer than 20 bytes. Can't fail. */
bool cs_quic_looks_like_long(const uint8_t *p, uint32_t len);

/* Reads a variable-length integer (RFC 9000 16) at *off through w and advances *off. A truncated
 * one sets w->trunc and returns 0. */
uint64_t cs_quic_varint(cs_wire *w, uint32_t *off);

/* The full packet number from its `nbits` low bits `truncated`, given the largest packet number
 * received in the space so far (`largest`, or UINT64_MAX for none) (RFC 9000 A.3). */
uint64_t cs_quic_pn_decode(uint64_t largest, uint64_t truncated, unsigned nbits);

/* An opened packet: its frames and number. */
typedef struct cs_quic_plain {
    const uint8_t *payload; /* the frames (inside the caller's `out` buffer) */
    uint32_t len;
    uint64_t pn;
    uint8_t first; /* the first byte with header protection removed */
} cs_quic_plain;

/* Removes header protection and opens the payload of the packet `pkt` whose header is h (h->len
 * bytes, h->pn_offset set) with keys k; `largest` as for cs_quic_pn_decode. `out` must hold h->len
 * bytes. Returns false when the packet is too short to sample or does not authenticate (res is
 * then undefined). No allocation. */
bool cs_quic_unprotect(cs_quic_crypto *qc, const cs_quic_keys *k, const uint8_t *pkt,
                       const cs_quic_hdr *h, uint64_t largest, uint8_t *out, cs_quic_plain *res);

/* ---- frames -------------------------------------------------------------------------------- */

/* Encryption levels: which frames are allowed (RFC 9000 12.4, table 3). */
typedef enum cs_quic_level { CS_QL_INITIAL, CS_QL_HANDSHAKE, CS_QL_0RTT, CS_QL_1RTT } cs_quic_level;

/* Where the frames of an opened packet go; each callback may be NULL. Data pointers are valid
 * during the call only. */
typedef struct cs_quic_frame_sink {
    void *ctx;
    void (*crypto)(void *ctx, uint64_t offset, const uint8_t *p, uint32_t len);
    /* CONNECTION_CLOSE: `app` for type 0x1d; `frame_type` is 0 for 0x1d */
    void (*close)(void *ctx, bool app, uint64_t error, uint64_t frame_type, const uint8_t *reason,
                  uint32_t reason_len);
    void (*stream)(void *ctx, uint64_t id, uint64_t offset, const uint8_t *p, uint32_t len,
                   bool fin);
    void (*new_cid)(void *ctx, const uint8_t *cid, uint8_t len);
} cs_quic_frame_sink;

/* What walking the frames found (a counter for each outcome is kept by the caller). */
typedef enum cs_quic_fresult {
    CS_QF_OK,
    CS_QF_NOT_ALLOWED, /* a frame type not allowed at this level was skipped by its length */
    CS_QF_UNKNOWN,     /* a frame type with no known length rule: the rest was skipped */
    CS_QF_BAD          /* a frame's fields run past the payload or break a rule: the rest skipped */
} cs_quic_fresult;

/* Walks the frames of an opened payload at level `lvl`: PADDING, PING, ACK, CRYPTO and
 * CONNECTION_CLOSE everywhere; the other RFC 9000 and RFC 9221 frames by their length rules.
 * Calls the sink for CRYPTO, CONNECTION_CLOSE, STREAM and NEW_CONNECTION_ID. Returns the worst
 * outcome seen. Never reads outside p. */
cs_quic_fresult cs_quic_frames(const uint8_t *p, uint32_t len, cs_quic_level lvl,
                               const cs_quic_frame_sink *sink);

#endif
