/* source_read.c - the one read loop (analysis run, -j workers, follow) and the accounting of how
 * each input ended; both work on any cs_source through cs_source_next() and cs_source_input(). */
#include <stdio.h>

#include "source.h"

uint64_t cs_source_read(cs_source *s, const cs_read_sink *sink, const volatile sig_atomic_t *stop,
                        uint64_t max_packets)
{
    uint64_t n = 0;
    cs_raw raw;
    while (stop == NULL || !*stop) {
        int rc = cs_source_next(s, &raw);
        if (rc == 0)
            break;
        if (rc > 0) {
            sink->packet(sink->ctx, &raw);
            if (++n == max_packets)
                break;
        }
        if (sink->after != NULL && !sink->after(sink->ctx, rc < 0))
            break;
    }
    cs_source_stop_reader(s);
    return n;
}

bool cs_source_account(const cs_source *s, cs_counters *ctr)
{
    bool errors = false;
    for (int i = 0; i < cs_source_count(s); i++) {
        const cs_input *in = cs_source_input(s, i);
        if (ctr != NULL && in->state == CS_INPUT_TRUNCATED)
            ctr->anomalies[CS_ANOM_FILE_TRUNCATED]++;
        else if (ctr != NULL && in->state == CS_INPUT_ERROR)
            ctr->anomalies[CS_ANOM_FILE_READ_ERROR]++;
        if (in->message != NULL) {
            fprintf(stderr, "connscope: %s\n", in->message);
            errors = true;
        }
    }
    return errors;
}
