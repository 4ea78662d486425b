/* exsum.h - the exchange summary of one connection: request/response counts, status classes, p50
 * and max of its timings, idle gaps, first request and last response; fed once per exchange by any
 * protocol parser (HTTP/1.x today), finished into a small value for the conn record. */
#ifndef CS_EXSUM_H
#define CS_EXSUM_H

#include "common.h"

/* ---- p50 and max of a series of durations (microseconds) ------------------------------------ */

#define CS_Q50_EXACT 8 /* values kept exactly before the histogram takes over */
/* Histogram bins: values below 16 us exactly, then 8 bins per power of two up to 2^32 us, then
 * one bin for everything above (see doc/design.md: the median is within 6.25% of the true one). */
#define CS_Q50_SUB_BITS 3
#define CS_Q50_BINS (16 + (32 - 4) * (1 << CS_Q50_SUB_BITS) + 1)

/* Zero-initialise to start (or cs_q50_clear). Holds the first CS_Q50_EXACT values exactly; the
 * next value moves them into a sparse histogram over CS_Q50_BINS fixed bins: only the bins that
 * hold values are stored, as a sorted array of 1-byte bin numbers and an array of counts of 1
 * byte, widened to 2 and then 4 bytes when a count would overflow. Its size is bounded by the
 * number of bins (241 bytes of bin numbers, counts of 241 x 1/2/4 bytes). */
typedef struct cs_q50 {
    uint64_t min, max; /* exact (valid when n > 0) */
    uint32_t n;        /* values added (stops at UINT32_MAX) */
    uint8_t width;     /* bytes per count: 0 while the values are exact, then 1, 2 or 4 */
    uint8_t len, cap;  /* histogram bins in use / allocated */
    uint32_t exact[CS_Q50_EXACT];
    uint8_t *ids; /* bin numbers, ascending */
    void *counts; /* count per stored bin, `width` bytes each */
} cs_q50;

/* Adds one value. Can't fail (aborts on OOM, like every GLib allocation). */
void cs_q50_add(cs_q50 *q, uint64_t us);

/* Nearest-rank median (the ceil(n/2)-th smallest value): exact while the values are held exactly
 * (at most CS_Q50_EXACT values, none of 2^32 us or more), else the middle of the histogram bin that
 * holds it, clamped to [min, max]. 0 when empty. */
uint64_t cs_q50_median(const cs_q50 *q);

/* Frees the histogram; q is empty again afterwards. Safe to call twice. */
void cs_q50_clear(cs_q50 *q);

/* The finished form of a cs_q50, for the records. */
typedef struct cs_q50r {
    uint64_t n;        /* 0: no value (p50 and max are then meaningless) */
    uint64_t p50, max; /* microseconds */
} cs_q50r;

void cs_q50_result(const cs_q50 *q, cs_q50r *out);

/* ---- per-connection exchange accumulator --------------------------------------------------- */

/* One exchange as a protocol parser reports it (times in ns, -1 when unknown). */
typedef struct cs_ex {
    bool has_request;     /* a request was seen (its start line at least) */
    bool has_response;    /* a final response was seen (its status line at least) */
    uint16_t status;      /* final status code (when has_response) */
    cs_time_t req_start;  /* first request byte */
    cs_time_t req_end;    /* last request byte, -1 if the request did not complete */
    cs_time_t resp_start; /* first byte of the final response */
    cs_time_t resp_end;   /* last response byte, -1 if the response did not complete */
} cs_ex;

/* Counts and timings of the exchanges of one connection. Zero-initialise, then cs_exacc_init. */
typedef struct cs_exacc {
    uint32_t requests, responses, paired, unanswered, orphans;
    uint32_t status_class[6]; /* [1]..[5]: 1xx..5xx final statuses, [0] other */
    cs_time_t first_req;      /* earliest request start, -1 */
    cs_time_t last_resp;      /* latest response end, -1 */
    cs_time_t busy_until;     /* end of the last complete exchange fed so far, -1 */
    bool open;                /* an exchange without a complete response came after it */
    cs_time_t idle_total, idle_max;
    cs_q50 ttfb, ttlb, total; /* us: request end -> first / last response byte; request start
                                     -> last response byte */
} cs_exacc;

void cs_exacc_init(cs_exacc *a);

/* Accounts one exchange. Exchanges must come in the order their requests started (HTTP/1.x
 * reports them so); an exchange without a request (an orphan response) may come anywhere.
 * Idle gap: a request that starts after the end of the last complete exchange before it (the later
 * of its last request byte and its last response byte), with no exchange lacking a complete
 * response in between (its end is unknown), adds (its start - that end) to the idle time.
 * Can't fail. */
void cs_exacc_add(cs_exacc *a, const cs_ex *x);

/* Frees what a owns; it can be initialised again. Safe to call twice. */
void cs_exacc_clear(cs_exacc *a);

/* The finished summary of one connection's exchanges (a plain value: copy freely). */
typedef struct cs_exsum {
    uint32_t requests, responses, paired, unanswered, orphans;
    uint32_t status_class[6];
    cs_q50r ttfb, ttlb, total;      /* us */
    cs_time_t idle_total, idle_max; /* ns; 0 when there was no idle gap */
    cs_time_t first_req, last_resp; /* ns, -1 when none */
} cs_exsum;

void cs_exacc_finish(const cs_exacc *a, cs_exsum *out);

#endif
