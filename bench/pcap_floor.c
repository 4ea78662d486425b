/* pcap_floor.c - the floor for any libpcap-based analyser: read every record of a capture with
 * pcap_open_offline + pcap_next_ex and do nothing but sum the captured lengths (and touch one byte
 * per packet, so the packet data is really read and the loop can't be optimised away).
 *
 * Build (from the repository root):  cc -O2 bench/pcap_floor.c -lpcap -o bench/out/pcap_floor
 * Usage:                             bench/out/pcap_floor [-b BYTES] FILE...
 *   -b BYTES  open the file with fopen + setvbuf(BYTES) + pcap_fopen_offline instead of
 *             pcap_open_offline, whose stdio stream reads 4 KiB per read() call: shows what a
 *             bigger input buffer would save an analyser built on libpcap.
 * Prints one line:                   packets=N bytes=B (B = sum of caplen)
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t bufsize = 0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-b") == 0) {
        bufsize = strtoul(argv[2], NULL, 0);
        first = 3;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [-b BYTES] FILE...\n", argv[0]);
        return 2;
    }
    uint64_t packets = 0, bytes = 0, check = 0;
    for (int i = first; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p;
        char *buf = NULL;
        if (bufsize > 0) {
            FILE *f = fopen(argv[i], "rb");
            if (f == NULL) {
                perror(argv[i]);
                return 1;
            }
            buf = malloc(bufsize); /* glibc ignores the size when setvbuf gets no buffer */
            if (buf == NULL || setvbuf(f, buf, _IOFBF, bufsize) != 0) {
                fprintf(stderr, "setvbuf(%zu) failed\n", bufsize);
                return 1;
            }
            p = pcap_fopen_offline(f, err); /* pcap_close closes f */
            if (p == NULL)
                fclose(f);
        } else {
            p = pcap_open_offline(argv[i], err);
        }
        if (p == NULL) {
            free(buf);
            fprintf(stderr, "%s: %s\n", argv[i], err);
            return 1;
        }
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc;
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            packets++;
            bytes += h->caplen;
            if (h->caplen > 0)
                check += data[h->caplen - 1];
        }
        if (rc == PCAP_ERROR) {
            fprintf(stderr, "%s: %s\n", argv[i], pcap_geterr(p));
            pcap_close(p);
            return 1;
        }
        pcap_close(p);
        free(buf);
    }
    printf("packets=%" PRIu64 " bytes=%" PRIu64 "\n", packets, bytes);
    /* keep `check` alive without printing noise */
    return check == UINT64_MAX ? 3 : 0;
}
