/* wire.h - bounds-checked reads of network byte order fields from a captured buffer.
 * Every decoder reads through a cs_wire cursor; an out-of-range read sets a sticky flag, returns 0. */
#ifndef CS_WIRE_H
#define CS_WIRE_H

#include "common.h"

/* A view of captured bytes. `trunc` becomes true on the first read past `len` and stays true:
 * a decoder reads all the fields it needs, then checks the flag once. */
typedef struct cs_wire {
    const uint8_t *p;
    uint32_t len;
    bool trunc;
} cs_wire;

static inline cs_wire cs_wire_make(const uint8_t *p, uint32_t len)
{
    cs_wire w = {p, len, false};
    return w;
}

/* True when `n` bytes starting at `off` are inside the buffer. Does not set the flag. */
static inline bool cs_wire_has(const cs_wire *w, uint32_t off, uint32_t n)
{
    return off <= w->len && n <= w->len - off;
}

static inline uint8_t cs_wire_u8(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 1))) {
        w->trunc = true;
        return 0;
    }
    return w->p[off];
}

static inline uint16_t cs_wire_be16(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 2))) {
        w->trunc = true;
        return 0;
    }
    return (uint16_t)((w->p[off] << 8) | w->p[off + 1]);
}

static inline uint32_t cs_wire_be24(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 3))) {
        w->trunc = true;
        return 0;
    }
    return ((uint32_t)w->p[off] << 16) | ((uint32_t)w->p[off + 1] << 8) | w->p[off + 2];
}

static inline uint32_t cs_wire_be32(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 4))) {
        w->trunc = true;
        return 0;
    }
    return ((uint32_t)w->p[off] << 24) | ((uint32_t)w->p[off + 1] << 16) |
           ((uint32_t)w->p[off + 2] << 8) | w->p[off + 3];
}

static inline uint16_t cs_wire_le16(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 2))) {
        w->trunc = true;
        return 0;
    }
    return (uint16_t)(w->p[off] | (w->p[off + 1] << 8));
}

static inline uint32_t cs_wire_le32(cs_wire *w, uint32_t off)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, 4))) {
        w->trunc = true;
        return 0;
    }
    return (uint32_t)w->p[off] | ((uint32_t)w->p[off + 1] << 8) |
           ((uint32_t)w->p[off + 2] << 16) | ((uint32_t)w->p[off + 3] << 24);
}

/* Copies n bytes at off into out; on a short buffer zero-fills out and sets the flag. */
static inline void cs_wire_copy(cs_wire *w, uint32_t off, void *out, uint32_t n)
{
    if (CS_UNLIKELY(!cs_wire_has(w, off, n))) {
        w->trunc = true;
        __builtin_memset(out, 0, n);
        return;
    }
    __builtin_memcpy(out, w->p + off, n);
}

#endif
