/* exsum.c - per-connection exchange summary: exact-then-histogram medians (fixed memory per
 * connection, error bound in doc/design.md) and the counts and idle gaps of one connection. */
#include <glib.h>
#include <string.h>

#include "exsum.h"

/* ---- cs_q50 -------------------------------------------------------------------------------- */

#define SUB (1u << CS_Q50_SUB_BITS)
#define TOP_BIN (CS_Q50_BINS - 1) /* values of 2^32 us and more */

static uint32_t q50_bin(uint64_t v)
{
    if (v < 16)
        return (uint32_t)v;
    if (v >> 32)
        return TOP_BIN;
    int e = 63 - __builtin_clzll(v); /* 4 .. 31 */
    uint32_t sub = (uint32_t)(v >> (e - CS_Q50_SUB_BITS)) - SUB;
    return 16 + (uint32_t)(e - 4) * SUB + sub;
}

/* The middle of bin b (b < TOP_BIN). */
static uint64_t q50_bin_mid(uint32_t b)
{
    if (b < 16)
        return b;
    uint32_t k = b - 16;
    int e = 4 + (int)(k / SUB);
    uint64_t width = UINT64_C(1) << (e - CS_Q50_SUB_BITS);
    uint64_t low = (SUB + k % SUB) * width;
    return low + (width - 1) / 2;
}

static uint32_t count_at(const cs_q50 *q, uint32_t i)
{
    switch (q->width) {
    case 1:
        return ((const uint8_t *)q->counts)[i];
    case 2:
        return ((const uint16_t *)q->counts)[i];
    default:
        return ((const uint32_t *)q->counts)[i];
    }
}

static void count_set(cs_q50 *q, uint32_t i, uint32_t v)
{
    switch (q->width) {
    case 1:
        ((uint8_t *)q->counts)[i] = (uint8_t)v;
        break;
    case 2:
        ((uint16_t *)q->counts)[i] = (uint16_t)v;
        break;
    default:
        ((uint32_t *)q->counts)[i] = v;
    }
}

/* Counts twice as wide (2, then 4 bytes): a count is about to overflow. */
static void widen(cs_q50 *q)
{
    cs_q50 wide = *q;
    wide.width = q->width == 1 ? 2 : 4;
    wide.counts = g_malloc((size_t)q->cap * wide.width);
    for (uint32_t i = 0; i < q->len; i++)
        count_set(&wide, i, count_at(q, i));
    g_free(q->counts);
    q->counts = wide.counts;
    q->width = wide.width;
}

static void q50_bin_add(cs_q50 *q, uint64_t v)
{
    uint32_t b = q50_bin(v), lo = 0, hi = q->len;
    while (lo < hi) { /* the position of bin b among the stored ones */
        uint32_t mid = (lo + hi) / 2;
        if (q->ids[mid] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < q->len && q->ids[lo] == b) {
        uint32_t c = count_at(q, lo);
        if ((q->width == 1 && c == UINT8_MAX) || (q->width == 2 && c == UINT16_MAX))
            widen(q);
        count_set(q, lo, c + 1); /* cs_q50_add stops at UINT32_MAX values: no overflow */
        return;
    }
    if (q->len == q->cap) {
        q->cap = (uint8_t)MIN(q->cap * 2u, (unsigned)CS_Q50_BINS);
        q->ids = g_realloc(q->ids, q->cap);
        q->counts = g_realloc(q->counts, (size_t)q->cap * q->width);
    }
    memmove(q->ids + lo + 1, q->ids + lo, q->len - lo);
    memmove((uint8_t *)q->counts + (size_t)(lo + 1) * q->width,
            (uint8_t *)q->counts + (size_t)lo * q->width, (size_t)(q->len - lo) * q->width);
    q->ids[lo] = (uint8_t)b;
    count_set(q, lo, 1);
    q->len++;
}

void cs_q50_add(cs_q50 *q, uint64_t us)
{
    if (q->n == UINT32_MAX)
        return;
    if (q->n == 0 || us < q->min)
        q->min = us;
    if (q->n == 0 || us > q->max)
        q->max = us;
    if (q->width == 0 && q->n < CS_Q50_EXACT && us <= UINT32_MAX) {
        q->exact[q->n++] = (uint32_t)us;
        return;
    }
    if (q->width == 0) { /* spill the exact values into the histogram */
        q->width = 1;
        q->cap = 8;
        q->ids = g_malloc(q->cap);
        q->counts = g_malloc(q->cap);
        for (uint32_t i = 0; i < q->n; i++)
            q50_bin_add(q, q->exact[i]);
    }
    q50_bin_add(q, us);
    q->n++;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

uint64_t cs_q50_median(const cs_q50 *q)
{
    if (q->n == 0)
        return 0;
    if (q->width == 0) {
        uint32_t v[CS_Q50_EXACT];
        memcpy(v, q->exact, (size_t)q->n * sizeof v[0]);
        qsort(v, (size_t)q->n, sizeof v[0], cmp_u32);
        return v[(q->n + 1) / 2 - 1];
    }
    uint64_t rank = ((uint64_t)q->n + 1) / 2, seen = 0;
    for (uint32_t i = 0; i < q->len; i++) {
        seen += count_at(q, i);
        if (seen < rank)
            continue;
        if (q->ids[i] == TOP_BIN)
            return q->max;
        uint64_t v = q50_bin_mid(q->ids[i]);
        return v < q->min ? q->min : v > q->max ? q->max : v;
    }
    return q->max;
}

void cs_q50_clear(cs_q50 *q)
{
    g_free(q->ids);
    g_free(q->counts);
    memset(q, 0, sizeof *q);
}

void cs_q50_result(const cs_q50 *q, cs_q50r *out)
{
    out->n = q->n;
    out->p50 = cs_q50_median(q);
    out->max = q->n > 0 ? q->max : 0;
}

/* ---- cs_exacc ------------------------------------------------------------------------------ */

void cs_exacc_init(cs_exacc *a)
{
    memset(a, 0, sizeof *a);
    a->first_req = a->last_resp = a->busy_until = -1;
}

/* Microseconds from `from` to `to` (0 if `to` is earlier), -1 if either is unknown. */
static int64_t span_us(cs_time_t from, cs_time_t to)
{
    if (from < 0 || to < 0)
        return -1;
    return to >= from ? (to - from) / CS_NS_PER_US : 0;
}

static void add_span(cs_q50 *q, cs_time_t from, cs_time_t to)
{
    int64_t us = span_us(from, to);
    if (us >= 0)
        cs_q50_add(q, (uint64_t)us);
}

void cs_exacc_add(cs_exacc *a, const cs_ex *x)
{
    if (x->has_request) {
        a->requests++;
        if (x->has_response)
            a->paired++;
        else
            a->unanswered++;
    } else if (x->has_response) {
        a->orphans++;
    }
    if (x->has_response) {
        a->responses++;
        a->status_class[x->status >= 100 && x->status < 600 ? x->status / 100 : 0]++;
    }
    if (x->has_request && x->req_start >= 0) {
        if (a->first_req < 0 || x->req_start < a->first_req)
            a->first_req = x->req_start;
        if (a->busy_until >= 0 && !a->open && x->req_start > a->busy_until) {
            cs_time_t idle = x->req_start - a->busy_until;
            a->idle_total += idle;
            if (idle > a->idle_max)
                a->idle_max = idle;
        }
    }
    if (x->has_request && x->has_response) {
        add_span(&a->ttfb, x->req_end, x->resp_start);
        add_span(&a->ttlb, x->req_end, x->resp_end);
        add_span(&a->total, x->req_start, x->resp_end);
    }
    if (x->resp_end > a->last_resp)
        a->last_resp = x->resp_end;
    if (x->has_response && x->resp_end >= 0) {
        /* complete: it ended with its last response byte, or its last request byte if later */
        cs_time_t end = MAX(x->req_end, x->resp_end);
        if (end > a->busy_until)
            a->busy_until = end;
        a->open = false;
    } else if (x->has_request) {
        a->open = true; /* no end known: the next request's wait is not idle time */
    }
}

void cs_exacc_clear(cs_exacc *a)
{
    cs_q50_clear(&a->ttfb);
    cs_q50_clear(&a->ttlb);
    cs_q50_clear(&a->total);
}

void cs_exacc_finish(const cs_exacc *a, cs_exsum *out)
{
    memset(out, 0, sizeof *out);
    out->requests = a->requests;
    out->responses = a->responses;
    out->paired = a->paired;
    out->unanswered = a->unanswered;
    out->orphans = a->orphans;
    memcpy(out->status_class, a->status_class, sizeof out->status_class);
    cs_q50_result(&a->ttfb, &out->ttfb);
    cs_q50_result(&a->ttlb, &out->ttlb);
    cs_q50_result(&a->total, &out->total);
    out->idle_total = a->idle_total;
    out->idle_max = a->idle_max;
    out->first_req = a->first_req;
    out->last_resp = a->last_resp;
}
