/* source_pcapng.h - a small pcapng reader for the files libpcap refuses: interfaces of different link
 * types in one section (Wireshark, mergecap, dumpcap -i a -i b write them). Everything else goes to libpcap. */
#ifndef CS_SOURCE_PCAPNG_H
#define CS_SOURCE_PCAPNG_H

#include <stdio.h>

#include "common.h"

/* Largest block accepted (libpcap's limit too); a bigger one is a format error. */
#define CS_PCAPNG_MAX_BLOCK (16u << 20)

/* One packet: `data` (caplen bytes) stays valid until the next cs_pcapng_next call. */
typedef struct cs_pcapng_pkt {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    cs_time_t ts;   /* nanoseconds since the epoch (if_tsresol and if_tsoffset applied) */
    int dlt;        /* link type of its interface */
    uint32_t iface; /* interface index within its section */
} cs_pcapng_pkt;

typedef struct cs_pcapng cs_pcapng;

/* True when `head` (the first bytes of a file) is a pcapng section whose interfaces, as far as
 * they are described before the first packet, have more than one link type; *first_dlt is then
 * the first interface's. Reads only `head`. */
bool cs_pcapng_is_multilink(const uint8_t *head, size_t len, int *first_dlt);

/* Starts reading pcapng blocks from `fp` (positioned at the section header; not closed by the
 * reader). Returns NULL with a one-line reason in `err` when the first block is not a section
 * header. Can't fail otherwise (aborts on OOM). */
cs_pcapng *cs_pcapng_open(FILE *fp, char *err, size_t errlen);

/* Reads up to the next packet (enhanced, simple or obsolete packet block), taking in interface
 * and section headers on the way and skipping every other block. Returns 1 with *pkt filled,
 * 0 at a clean end of the file, -1 on a format error and -2 when the file ends inside a block
 * (a one-line reason is then in the reader's error, cs_pcapng_error). Every read is bounds-checked:
 * block lengths, option lengths, captured lengths, interface indices. */
int cs_pcapng_next(cs_pcapng *r, cs_pcapng_pkt *pkt);

/* Why the last cs_pcapng_next returned -1 or -2. */
const char *cs_pcapng_error(const cs_pcapng *r);

/* The distinct link types of the interfaces seen so far, in order of appearance (up to max). */
int cs_pcapng_link_types(const cs_pcapng *r, int *out, int max);

void cs_pcapng_free(cs_pcapng *r);

#endif
