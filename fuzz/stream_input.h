/* stream_input.h - the input encoding shared by the stream-level fuzz targets (fuzz_http.c,
 * fuzz_tls.c): client and server bytes of one connection separated by control sequences.
 *
 * After the configuration byte the input is bytes of the client's stream, until FF FE <ctl> [args]:
 *   ctl & 7 == 0 / 1   what follows is client / server data
 *              2 / 3   gap in the client's / server's stream: length u8+1, or u32 when ctl & 8
 *              4 / 5   the client's / server's direction ended
 *              6       capture time jumps by u8 milliseconds
 *              7       the literal bytes FF FE in the current direction
 * Every control sequence also advances the time by 1 us. A direction that ended gets no more
 * events (the reassembly layer guarantees that). Header only: each target includes it once. */
#ifndef CS_FUZZ_STREAM_INPUT_H
#define CS_FUZZ_STREAM_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct fz_stream_ops {
    void *ctx;
    /* n > 0 bytes of one direction, valid during the call only */
    void (*data)(void *ctx, bool client, const uint8_t *p, size_t n, cs_time_t now);
    void (*gap)(void *ctx, bool client, uint32_t len, cs_time_t now);
    void (*end)(void *ctx, bool client, cs_time_t now);
} fz_stream_ops;

/* Decodes in[0..n) (after the configuration byte) into calls of ops, starting at time `now`.
 * ended[0] / ended[1] say on return whether the client / server direction ended. Returns the time
 * after the last event. */
static inline cs_time_t fz_stream_run(const uint8_t *in, size_t n, const fz_stream_ops *ops,
                                      cs_time_t now, bool ended[2])
{
    bool client = true;
    const uint8_t *p = in, *end = in + n;
    ended[0] = ended[1] = false;
    while (p < end) {
        const uint8_t *q = p;
        while (q < end && !(q[0] == 0xff && q + 1 < end && q[1] == 0xfe))
            q++;
        if (q > p && !ended[!client])
            ops->data(ops->ctx, client, p, (size_t)(q - p), now);
        if (q >= end)
            break;
        q += 2;
        uint8_t ctl = q < end ? *q++ : 0;
        now += 1000; /* 1 us per control sequence */
        switch (ctl & 7) {
        case 0:
        case 1:
            client = (ctl & 7) == 0;
            break;
        case 2:
        case 3: {
            bool side_client = (ctl & 7) == 2;
            uint32_t len;
            if (ctl & 8) {
                len = 0;
                for (int i = 0; i < 4; i++)
                    len = (len << 8) | (q < end ? *q++ : 0);
                if (len == 0)
                    len = 1;
            } else {
                len = (uint32_t)(q < end ? *q++ : 0) + 1;
            }
            if (!ended[!side_client])
                ops->gap(ops->ctx, side_client, len, now);
            break;
        }
        case 4:
        case 5: {
            bool side_client = (ctl & 7) == 4;
            if (!ended[!side_client]) {
                ended[!side_client] = true;
                ops->end(ops->ctx, side_client, now);
            }
            break;
        }
        case 6:
            now += (cs_time_t)(q < end ? *q++ : 0) * 1000000;
            break;
        case 7: {
            static const uint8_t ffe[2] = {0xff, 0xfe};
            if (!ended[!client])
                ops->data(ops->ctx, client, ffe, 2, now);
            break;
        }
        }
        p = q;
    }
    return now;
}

#endif
