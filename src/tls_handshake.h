/* tls_handshake.h - splits a TLS handshake byte stream into whole messages (type, 24-bit length,
 * body): the bodies of handshake records over TCP, or QUIC's in-order CRYPTO data. A message may
 * span many feeds and a feed may hold many messages; a message over the cap is skipped, counted. */
#ifndef CS_TLS_HANDSHAKE_H
#define CS_TLS_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

/* Reassembly state of one direction. Zero-initialise; release with cs_tls_msgs_free(). */
typedef struct cs_tls_msgs {
    uint8_t hdr[4];     /* header of the message being assembled */
    uint8_t hdr_len;    /* 0: between messages */
    bool skip;          /* the current message is over the cap: its body is not kept */
    uint32_t len, have; /* its body length, and how much of it arrived */
    uint8_t *buf;       /* its body so far (grown up to the cap) */
    uint32_t cap;
} cs_tls_msgs;

/* Where whole messages go. `message` gets each one in order: body[0..len) is valid during the
 * call only, and NULL when the message was skipped (over the cap). `too_long` is told when a
 * message header announces more than the cap (before its body arrives). */
typedef struct cs_tls_msg_sink {
    void *ctx;
    void (*message)(void *ctx, uint8_t type, const uint8_t *body, uint32_t len);
    void (*too_long)(void *ctx, uint32_t len);
} cs_tls_msg_sink;

/* Feeds p[0..len). A message that lies whole in p is handed over in place (no copy, whatever its
 * length); one that spans feeds is copied, unless its length is over max (then skipped). Can't
 * fail. */
void cs_tls_msgs_feed(cs_tls_msgs *m, const uint8_t *p, uint32_t len, uint32_t max,
                      const cs_tls_msg_sink *sink);

/* Drops a message in progress (the stream is broken: capture gap, change of keys). Returns true
 * when one was in progress. */
bool cs_tls_msgs_reset(cs_tls_msgs *m);

/* Frees the buffer and zeroes m. Safe to call twice. */
void cs_tls_msgs_free(cs_tls_msgs *m);

#endif
