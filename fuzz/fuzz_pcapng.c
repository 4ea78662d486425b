/* fuzz_pcapng.c - libFuzzer target: the own pcapng reader (source_pcapng.c) and its multi-link check,
 * and the decompressing stream under every capture reader (source_stream.c).
 *
 * Input: a file as is. It is read three ways:
 *   - cs_pcapng_is_multilink() on the first bytes (as source_pcap.c looks at a file's head);
 *   - cs_pcapng_open()/cs_pcapng_next() to the end, from a memory stream of exactly its bytes;
 *   - cs_stream_open() on a memfd holding it (gzip and zstd inputs are decompressed), then the
 *     pcapng reader on the stream's FILE, as source_pcap.c does for a mixed-link file.
 * Checks: every packet's bytes are readable (ASan), wirelen >= caplen, caplen within the 16 MiB
 * block cap, the link type one of the interfaces', the return codes only 1/0/-1/-2 with an error
 * text for -1/-2; at most as many packets as 12-byte blocks fit; the stream's head is within the
 * peek size; everything is freed (LeakSanitizer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source_pcapng.h"
#include "source_stream.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pcapng: invariant failed: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads every packet of a pcapng on fp; returns the number read. */
static size_t read_all(FILE *fp, size_t max_packets)
{
    char err[160] = "";
    cs_pcapng *r = cs_pcapng_open(fp, err, sizeof err);
    if (r == NULL) {
        CHECK(err[0] != '\0');
        return 0;
    }
    size_t n = 0;
    for (;;) {
        cs_pcapng_pkt pk;
        int rc = cs_pcapng_next(r, &pk);
        CHECK(rc == 1 || rc == 0 || rc == -1 || rc == -2);
        if (rc != 1) {
            if (rc < 0)
                CHECK(cs_pcapng_error(r)[0] != '\0');
            break;
        }
        n++;
        CHECK(n <= max_packets);
        CHECK(pk.wirelen >= pk.caplen);
        CHECK(pk.caplen <= CS_PCAPNG_MAX_BLOCK);
        volatile uint8_t acc = 0;
        for (uint32_t i = 0; i < pk.caplen; i++)
            acc ^= pk.data[i];
        (void)acc;
        int types[16];
        int nt = cs_pcapng_link_types(r, types, 16);
        bool known = nt == 16; /* more than 16 types: the list is cut */
        for (int i = 0; i < nt; i++)
            known |= types[i] == pk.dlt;
        CHECK(known);
    }
    cs_pcapng_free(r);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20))
        return 0;
    int first = 0;
    (void)cs_pcapng_is_multilink(data, size, &first);

    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    FILE *fp = fmemopen(copy, size ? size : 1, "rb");
    if (fp != NULL) {
        if (size == 0)
            fgetc(fp); /* fmemopen cannot make an empty stream: consume the one byte */
        read_all(fp, size / 12 + 1);
        fclose(fp);
    }
    free(copy);

    int fd = memfd_create("fuzz_pcapng", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cs_stream st;
    GError *err = NULL;
    if (cs_stream_open(&st, path, 4096, &err)) {
        CHECK(st.head_len <= 4096);
        if (st.kind == CS_STREAM_PLAIN)
            CHECK(st.head_len == (size < 4096 ? size : 4096) &&
                  memcmp(st.head, data, st.head_len) == 0);
        read_all(st.fp, (size_t)1 << 26);
        (void)cs_stream_error(&st);
        cs_stream_close(&st, false);
    } else {
        CHECK(err != NULL);
        g_error_free(err);
    }
    close(fd);
    return 0;
}
