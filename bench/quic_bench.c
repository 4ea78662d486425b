/* quic_bench.c - throughput of the QUIC layer alone (src/quic_conn.c and below) on a capture: a
 * minimal Ethernet/IPv4/IPv6/UDP reader hands every UDP payload to cs_quic_datagram() with a
 * per-4-tuple consumer pointer (the UDP flow table's role, a GHashTable here).
 *
 * build: cc -O2 -std=gnu11 -Isrc $(pkg-config --cflags glib-2.0) bench/quic_bench.c libconnscope.a \
 *        $(pkg-config --libs glib-2.0 libpcap libcrypto zlib) -lm -o /tmp/quic_bench
 * run:   taskset -c 1 /tmp/quic_bench FILE.pcap   (prints MB/s of capture bytes, connections, RSS) */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>

#include "quic_conn.h"

typedef struct key {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
} key;

static guint khash(gconstpointer p)
{
    const uint8_t *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(key); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean keq(gconstpointer x, gconstpointer y)
{
    return memcmp(x, y, sizeof(key)) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: quic_bench FILE.pcap\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    FILE *fp = fopen(argv[1], "rb");
    static char iobuf[1 << 20]; /* as src/source_pcap.c: a 1 MiB stdio buffer */
    if (fp != NULL)
        setvbuf(fp, iobuf, _IOFBF, sizeof iobuf);
    pcap_t *pc = fp != NULL ? pcap_fopen_offline(fp, err) : NULL;
    if (pc == NULL || pcap_datalink(pc) != DLT_EN10MB) {
        fprintf(stderr, "quic_bench: %s\n", pc == NULL ? err : "Ethernet captures only");
        return 1;
    }
    cs_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    cs_quic_cfg cfg;
    cs_quic_cfg_default(&cfg);
    cs_quic_table *q = cs_quic_new(&cfg, NULL, &cnt);
    GHashTable *flows = g_hash_table_new_full(khash, keq, g_free, g_free);
    struct pcap_pkthdr *h;
    const u_char *p;
    uint64_t bytes = 0, dgrams = 0, quic = 0;
    double t = now_s();
    while (pcap_next_ex(pc, &h, &p) == 1) {
        bytes += h->caplen;
        uint32_t off = 14, len = h->caplen;
        if (len < 14)
            continue;
        uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
        while (et == 0x8100 && len >= off + 4) {
            et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
            off += 4;
        }
        key k;
        memset(&k, 0, sizeof k);
        uint8_t fam;
        uint32_t u;
        if (et == 0x0800 && len >= off + 20 && p[off + 9] == 17) {
            fam = 4;
            memcpy(k.a, p + off + 12, 4);
            memcpy(k.b, p + off + 16, 4);
            u = off + (p[off] & 15u) * 4;
        } else if (et == 0x86dd && len >= off + 40 && p[off + 6] == 17) {
            fam = 6;
            memcpy(k.a, p + off + 8, 16);
            memcpy(k.b, p + off + 24, 16);
            u = off + 40;
        } else {
            continue;
        }
        if (len < u + 8)
            continue;
        uint16_t sp = (uint16_t)(p[u] << 8 | p[u + 1]), dp = (uint16_t)(p[u + 2] << 8 | p[u + 3]);
        cs_addr src, dst;
        memcpy(src.b, k.a, 16);
        memcpy(dst.b, k.b, 16);
        k.pa = sp;
        k.pb = dp;
        if (memcmp(k.a, k.b, 16) > 0 || (memcmp(k.a, k.b, 16) == 0 && sp > dp)) {
            uint8_t tmp[16];
            memcpy(tmp, k.a, 16), memcpy(k.a, k.b, 16), memcpy(k.b, tmp, 16);
            k.pa = dp, k.pb = sp;
        }
        void **slot = g_hash_table_lookup(flows, &k);
        if (slot == NULL) {
            slot = g_new0(void *, 1);
            g_hash_table_insert(flows, g_memdup2(&k, sizeof k), slot);
        }
        cs_time_t ts = (cs_time_t)h->ts.tv_sec * CS_NS_PER_S + h->ts.tv_usec * CS_NS_PER_US;
        cs_quic_dgram d = {fam, &src,      &dst,        sp,
                           dp,  p + u + 8, len - u - 8, h->len > u + 8 ? h->len - u - 8 : 0,
                           ts,  slot,      false};
        dgrams++;
        quic += cs_quic_datagram(q, &d, NULL, NULL);
        cs_quic_expire(q, ts);
    }
    cs_quic_flush(q);
    double el = now_s() - t;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const cs_quic_stats *st = cs_quic_get_stats(q);
    printf("%.1f MB in %.3f s: %.0f MB/s; %lu UDP datagrams (%lu QUIC), %lu connections, peak %u "
           "open, %lu key derivations, max RSS %ld KB\n",
           bytes / 1e6, el, bytes / 1e6 / el, (unsigned long)dgrams, (unsigned long)quic,
           (unsigned long)st->conns, cs_quic_peak(q), (unsigned long)st->initial_keys,
           ru.ru_maxrss);
    cs_quic_free(q);
    g_hash_table_destroy(flows);
    pcap_close(pc);
    return 0;
}
