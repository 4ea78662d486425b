/* gen_msg.h - the application bytes connscope-gen sends: HTTP/1.1 requests and responses, TLS 1.3
 * records and opaque writes, each readable at any offset without building the whole message. */
#ifndef CS_GEN_MSG_H
#define CS_GEN_MSG_H

#include "gen_spec.h"

enum { GEN_C = 0, GEN_S = 1 }; /* side: client, server; direction d = bytes sent by side d */

/* Shape of one message. */
typedef struct gen_msginfo {
    uint32_t len; /* bytes on the wire */
    uint32_t hdr; /* HTTP: bytes of the header block including its empty line; else 0 */
} gen_msginfo;

/* Messages the side sends in one connection, and how many of them come before the first
 * request/response (TLS handshake messages). Message pre+i is request (response) i. */
uint32_t gen_msg_count(const gen_row *r, int side);
uint32_t gen_msg_pre(const gen_row *r, int side);

/* Shape of message idx of `side` in connection number `serial` of row r. Can't fail. */
void gen_msg_info(const gen_row *r, uint32_t serial, int side, uint32_t idx, gen_msginfo *mi);

/* Copies bytes [off, off+n) of that message (n <= mi->len - off) to out. Can't fail. */
void gen_msg_fill(const gen_row *r, uint32_t serial, int side, uint32_t idx,
                  const gen_msginfo *mi, uint32_t off, uint32_t n, uint8_t *out);

/* Whether bytes [off, off+n) of the message hold framing (HTTP header block, chunk-size lines,
 * chunk CRLFs, the last chunk) rather than only body data. */
bool gen_msg_framing(const gen_row *r, int side, uint32_t idx, const gen_msginfo *mi, uint32_t off,
                     uint32_t n);

/* The request target of request i (0-based) of connection `serial`, into buf. Returns buf. */
char *gen_msg_uri(const gen_row *r, uint32_t serial, uint32_t i, char *buf, size_t len);

/* Body length a parser reports for request / response i (decoded, without chunk framing). */
uint64_t gen_msg_req_body(const gen_row *r, uint32_t i);
uint64_t gen_msg_resp_body(const gen_row *r);

/* Formats the header text every message of r shares (r->req_tail, r->resp_head), replacing any
 * earlier one. Can't fail. */
void gen_msg_prepare(gen_row *r);

/* Checks that every message of a row and each direction's total fit the generator's 32-bit
 * counters; returns false with *err set (a new string) otherwise. */
bool gen_msg_check(const gen_row *r, char **err);

/* A 64-bit mix of the arguments (splitmix64 finaliser): the generator's only source of
 * "randomness", so that a run is reproducible from its seed. */
static inline uint64_t gen_hash(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
