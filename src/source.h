/* source.h - capture input: offline files merged into one time-ordered packet stream, or a live interface.
 * The rest of the program sees only cs_raw packets and per-input status. */
#ifndef CS_SOURCE_H
#define CS_SOURCE_H

#include <signal.h>

#include <glib.h>

#include "decode.h"

typedef enum cs_input_state {
    CS_INPUT_OK,        /* read to its end */
    CS_INPUT_TRUNCATED, /* ended in the middle of a packet record */
    CS_INPUT_ERROR      /* read error after opening */
} cs_input_state;

/* What one input did. Owned by the source; valid until cs_source_free(). */
typedef struct cs_input {
    char *path;         /* as given ("-" for standard input, interface name when live) */
    int dlt;            /* link type (of the first interface when mixed_links) */
    bool mixed_links; /* a pcapng with interfaces of several link types (read by our own reader) */
    uint64_t packets;   /* packets read from it */
    cs_input_state state;
    char *message;      /* NULL, or why the input ended early */
} cs_input;

typedef struct cs_source cs_source;

/* Opens every path (a pcap or pcapng file, "-" for standard input; gzip or zstd compressed when
 * its magic bytes say so) and compiles `bpf` (may be NULL) against each (a pcapng with several
 * link types: against each link type as it is met). Returns NULL on the first input that cannot be opened, has an unsupported link type,
 * or rejects the filter; *err then holds one line naming the file and the problem, and nothing
 * stays open. Timestamps are read with nanosecond precision whatever the file holds. */
cs_source *cs_source_open_files(char *const *paths, int n, const char *bpf, GError **err);

/* Options of a live capture (see cs_source_open_live). */
typedef struct cs_live_opts {
    const char *iface;
    const char *bpf;
    int snaplen;
    bool promisc;
    int buffer_size; /* bytes, 0 for libpcap's default */
    int timeout_ms;
} cs_live_opts;

/* Sets o to the defaults (iface NULL, no filter): 262144 bytes per packet, promiscuous, a 64 MiB
 * kernel buffer (immediate mode uses fixed-size slots: libpcap's 2 MiB default drops bursts) and
 * reads that wait at most 200 ms, so that intervals and signals are serviced without traffic. */
void cs_live_opts_default(cs_live_opts *o);

/* Opens a live capture on an interface. Returns NULL with *err set (which interface, what is wrong,
 * and which capability is missing when it is a permission problem). */
cs_source *cs_source_open_live(const cs_live_opts *opts, GError **err);

/* Hands over the next packet in timestamp order across all inputs (ties: the earlier input first).
 * Returns 1 with *raw filled (valid until the next call), 0 when every input is exhausted, and -2
 * when a live capture's read timed out with nothing (call again). An input that fails mid-read is
 * marked in its cs_input and dropped; the others go on. */
int cs_source_next(cs_source *s, cs_raw *raw);

/* -j on one offline input: from now on a second thread reads the inputs (and decompresses,
 * filters) ahead of the caller, through a lock-free ring (source_pipe.h); cs_source_next() hands
 * out the same packets in the same order. cs_source_input() shows the packets handed out so far,
 * cs_source_progress() the reader's progress. Returns false (and changes nothing) for a live
 * source or one with -w, where reading ahead would change what is written. */
bool cs_source_start_reader(cs_source *s);

/* Stops and waits for the reader thread of cs_source_start_reader (no-op without one): read-ahead
 * packets are dropped, each input counts the packets handed out. cs_source_read() calls it when it
 * returns, cs_source_free() too. */
void cs_source_stop_reader(cs_source *s);

/* What cs_source_read() does with the packets, and between reads. */
typedef struct cs_read_sink {
    void *ctx;
    /* One packet; raw is valid during the call only. */
    void (*packet)(void *ctx, const cs_raw *raw);
    /* Optional (NULL: none): called after every read that was not the last, with timed_out set
     * when a live read returned nothing. Returns false to stop reading. */
    bool (*after)(void *ctx, bool timed_out);
} cs_read_sink;

/* The read loop of every run (the analysis, each -j worker, follow): hands every packet of s to
 * sink in order until the inputs end, *stop becomes non-zero (checked before each read; stop may
 * be NULL), max_packets were handed over (0: no limit) or sink->after returns false. Returns the
 * number of packets handed over. Inputs that fail are marked as cs_source_next() says. */
uint64_t cs_source_read(cs_source *s, const cs_read_sink *sink, const volatile sig_atomic_t *stop,
                        uint64_t max_packets);

/* Counts how each input ended into ctr (file_truncated, file_read_error; ctr may be NULL) and
 * prints each input's message to stderr as "connscope: MESSAGE". Returns true when an input had
 * a message (it ended in an error). */
bool cs_source_account(const cs_source *s, cs_counters *ctr);

/* Makes a live source's cs_source_next() return 0 at the next opportunity. Async-signal-safe. */
void cs_source_break(cs_source *s);

/* Number of inputs and their status. */
int cs_source_count(const cs_source *s);
const cs_input *cs_source_input(const cs_source *s, int i);

/* Offline progress: bytes of the input files consumed so far and their total size. Returns false
 * when it cannot tell (standard input, live capture). */
bool cs_source_progress(cs_source *s, uint64_t *done, uint64_t *total);

/* Kernel/libpcap counters of a live source; false for offline sources. */
bool cs_source_stats(cs_source *s, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);

/* Also writes every packet cs_source_next() hands out to `path` (pcap format, with the link type
 * and snaplen of the first input), starting path.1, path.2, ... when the current file passes
 * rotate_bytes (0: never) or has been open rotate_secs of capture time (0: never). Returns false
 * with *err set when the file cannot be created or the inputs have different link types. */
bool cs_source_write_to(cs_source *s, const char *path, uint64_t rotate_bytes, uint32_t rotate_secs,
                        GError **err);

/* -w: flushes the output and says whether every packet was written. Returns true when so (or
 * when there is no output). Otherwise writing stopped at the first failure (disk full, a closed
 * pipe, ...): returns false with *errnum the reason's errno and *err "FILE: cannot write: REASON
 * (the file is incomplete: ...)". */
bool cs_source_write_check(cs_source *s, int *errnum, GError **err);

/* -w: closes the current output file now and goes on in the next one (path.1, path.2, ...; for
 * SIGHUP). Returns false when there is no output file (none, standard output, writing already
 * stopped) or the next one cannot be opened (then writing stops, as on any write failure). */
bool cs_source_write_rotate(cs_source *s);

/* -w: the errno of the failure that stopped writing, 0 while every write succeeds. */
int cs_source_write_errno(const cs_source *s);

/* Prints the capture interfaces, one per line ("1.eth0 (description) [Up, Running]"), like
 * tcpdump -D. Returns false with *err set if they cannot be listed. */
bool cs_source_list_interfaces(FILE *out, GError **err);

/* Copies the read status (packets, state, message) of input j of `from` into input i of `to`
 * (for -j, where other sources read the files). */
void cs_source_copy_status(cs_source *to, int i, const cs_source *from, int j);

/* Closes every input and frees the source. NULL is fine. */
void cs_source_free(cs_source *s);

/* Does expr compile as a BPF filter (for Ethernet)? Used to tell a misplaced filter from a
 * missing file; names in it may be looked up as libpcap does. */
bool cs_bpf_compiles(const char *expr);

/* Human name of a link type, e.g. "EN10MB (Ethernet)". Returns a static or pcap-owned string. */
const char *cs_dlt_describe(int dlt, char *buf, size_t len);

#endif
