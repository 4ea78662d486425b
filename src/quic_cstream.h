/* quic_cstream.h - one QUIC CRYPTO stream (one direction, one packet number space) put back in
 * order across packets and out of order, and cut into whole TLS handshake messages. */
#ifndef CS_QUIC_CSTREAM_H
#define CS_QUIC_CSTREAM_H

#include "common.h"

#define CS_QUIC_CRANGES 16 /* separate received byte ranges kept; more is a cap hit */

typedef struct cs_quic_crange {
    uint32_t start, end; /* relative to base, end exclusive */
} cs_quic_crange;

/* Zero-initialised it is an empty stream at offset 0. */
typedef struct cs_quic_cstream {
    uint8_t *buf; /* bytes from `base` on; allocated while something is buffered */
    uint32_t buf_cap;
    uint64_t base; /* stream offset of buf[0]: every earlier byte was delivered */
    uint8_t nranges;
    bool dead; /* a message over the cap: the rest of the stream is ignored */
    cs_quic_crange ranges[CS_QUIC_CRANGES]; /* received bytes beyond base, sorted, disjoint */
    uint32_t messages;                      /* handshake messages delivered */
    uint64_t bytes;                         /* new bytes taken in */
    uint64_t dup_bytes;                     /* bytes received again (retransmissions) */
} cs_quic_cstream;

/* What one call ran into (a bit set; the caller counts them as anomalies). */
enum {
    CS_QCS_CAP = 1,      /* bytes beyond the per-stream cap, or too many ranges: dropped */
    CS_QCS_CONFLICT = 2, /* bytes received again with other values (the first copy is kept) */
    CS_QCS_TOO_LONG = 4  /* a handshake message longer than the cap: the stream is given up */
};

/* Receives a complete handshake message (4-byte header included). `msg` is valid during the call. */
typedef void (*cs_quic_msg_fn)(void *ctx, const uint8_t *msg, uint32_t len);

/* Adds `len` bytes of CRYPTO data at stream offset `off` and delivers, in order, every handshake
 * message that is now complete; bytes that arrive in order and complete messages are delivered
 * from p without a copy. At most `max_bytes` (> 4) beyond the delivered offset are buffered.
 * Returns the CS_QCS_* bits of what happened. Allocation: only when bytes must be buffered. */
unsigned cs_quic_cstream_add(cs_quic_cstream *cs, uint32_t max_bytes, uint64_t off,
                             const uint8_t *p, uint32_t len, cs_quic_msg_fn fn, void *ctx);

/* Bytes buffered now (waiting for a hole to fill or a message to complete). */
uint32_t cs_quic_cstream_pending(const cs_quic_cstream *cs);

/* Frees the buffer; the stream is then empty at its current offset. Safe to call twice. */
void cs_quic_cstream_clear(cs_quic_cstream *cs);

#endif
