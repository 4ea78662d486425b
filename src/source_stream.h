/* source_stream.h - the byte stream under a capture reader: a file or standard input, decompressed
 * when its first bytes are a gzip or zstd header, with a look at the first bytes before reading. */
#ifndef CS_SOURCE_STREAM_H
#define CS_SOURCE_STREAM_H

#include <stdio.h>

#include <glib.h>

#include "common.h"

/* How the bytes are stored. */
typedef enum cs_stream_kind {
    CS_STREAM_PLAIN,
    CS_STREAM_GZIP, /* RFC 1952, concatenated members too */
    CS_STREAM_ZSTD  /* RFC 8878 frames */
} cs_stream_kind;

typedef struct cs_stream {
    FILE *fp; /* what a reader reads: the decompressed bytes from the start */
    cs_stream_kind kind;
    uint64_t size;       /* size of the file itself, 0 when unknown (a pipe) */
    const uint8_t *head; /* the first head_len decompressed bytes (for a format check) */
    size_t head_len;
    /* private */
    bool direct;       /* fp is the file itself (a plain regular file): no decoder between */
    char *iobuf;       /* stdio buffer of fp when direct */
    uint8_t *head_buf; /* head when direct */
    struct zstate *z;  /* the decoder behind fp when not direct */
} cs_stream;

/* Opens `path` ("-": standard input) and looks at up to `peek` of its first (decompressed)
 * bytes, which fp still yields from the start. The kind is decided by the magic bytes, never by
 * the name. Returns false with *err set (the path and the system's or decoder's reason) when the
 * file cannot be opened or read; nothing stays open then. */
bool cs_stream_open(cs_stream *s, const char *path, size_t peek, GError **err);

/* Bytes of the file itself consumed so far (compressed bytes for a compressed stream); 0 for
 * standard input. Only while fp is open. */
uint64_t cs_stream_consumed(const cs_stream *s);

/* fp (and the file under a decoder) will be used by one thread only, the one reading: stdio
 * stops locking them on every call (glibc locks once a process has a second thread). */
void cs_stream_one_thread(cs_stream *s);

/* The decoder's complaint when fp reported an error or ended early ("gzip: invalid block type",
 * "zstd: truncated frame"), or NULL. Valid until cs_stream_close. */
const char *cs_stream_error(const cs_stream *s);

/* Name of a kind ("gzip", "zstd", "plain"). Static string. */
const char *cs_stream_kind_name(cs_stream_kind k);

/* Closes fp (when the reader has not: pass closed = true after pcap_close) and frees the state. */
void cs_stream_close(cs_stream *s, bool closed);

#endif
