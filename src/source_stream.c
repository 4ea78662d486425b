/* source_stream.c - opens a capture file or standard input as a stdio stream of its (decompressed) bytes:
 * gzip through zlib, zstd through libzstd, picked by the magic bytes; a cookie FILE replays what was peeked. */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>
#include <zstd.h>

#include "source_stream.h"

#define UNDER_BUFFER                                                                               \
    (1u << 20) /* stdio buffer of the file itself: a syscall per MiB, not per 4 KiB */
#define COOKIE_BUFFER (1u << 16) /* stdio buffer of the decoded stream */
#define IN_CHUNK (1u << 16)      /* compressed bytes fed to the decoder at a time */

/* The decoder behind a cookie FILE. */
struct zstate {
    FILE *under;
    char *under_buf;
    cs_stream_kind kind;
    uint8_t raw[4]; /* the magic bytes already read from `under`, fed first */
    size_t raw_len, raw_pos;
    uint8_t *out_head; /* decoded bytes produced for the peek, served first */
    size_t out_len, out_pos;
    uint8_t *in; /* compressed input */
    size_t in_len, in_pos;
    bool in_eof;
    bool done;       /* no more output (end, or an error in `err`) */
    bool member_end; /* gzip: a member ended; more input starts another */
    z_stream zs;
    ZSTD_DStream *zd;
    size_t zret; /* last ZSTD_decompressStream result (0: at a frame end) */
    char err[160];
};

const char *cs_stream_kind_name(cs_stream_kind k)
{
    return k == CS_STREAM_GZIP ? "gzip" : k == CS_STREAM_ZSTD ? "zstd" : "plain";
}

/* Copies up to n of the bytes of from[*pos..len) to out and moves *pos. Returns the count. */
static size_t replay(const uint8_t *from, size_t len, size_t *pos, uint8_t *out, size_t n)
{
    size_t got = len - *pos < n ? len - *pos : n;
    memcpy(out, from + *pos, got);
    *pos += got;
    return got;
}

/* Reads raw bytes: the replayed magic first, then the file. */
static size_t raw_read(struct zstate *z, uint8_t *buf, size_t n)
{
    size_t got = replay(z->raw, z->raw_len, &z->raw_pos, buf, n);
    if (got < n)
        got += fread(buf + got, 1, n - got, z->under);
    return got;
}

/* Makes sure compressed input is available. Returns false at the end of the file. */
static bool fill_in(struct zstate *z)
{
    if (z->in_pos < z->in_len)
        return true;
    if (z->in_eof)
        return false;
    z->in_len = raw_read(z, z->in, IN_CHUNK);
    z->in_pos = 0;
    if (z->in_len == 0) {
        z->in_eof = true;
        if (ferror(z->under))
            snprintf(z->err, sizeof z->err, "%s: read error: %s", cs_stream_kind_name(z->kind),
                     g_strerror(errno));
        return false;
    }
    return true;
}

static size_t gzip_produce(struct zstate *z, uint8_t *buf, size_t n)
{
    z->zs.next_out = buf;
    z->zs.avail_out = (uInt)n;
    while (z->zs.avail_out > 0) {
        if (!fill_in(z)) {
            if (!z->member_end && z->err[0] == '\0')
                snprintf(z->err, sizeof z->err,
                         "gzip: the file ends in the middle of compressed data");
            z->done = true;
            break;
        }
        if (z->member_end) { /* another member follows (gzip -c a b > c) */
            inflateReset(&z->zs);
            z->member_end = false;
        }
        z->zs.next_in = z->in + z->in_pos;
        z->zs.avail_in = (uInt)(z->in_len - z->in_pos);
        int rc = inflate(&z->zs, Z_NO_FLUSH);
        z->in_pos = z->in_len - z->zs.avail_in;
        if (rc == Z_STREAM_END) {
            z->member_end = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(z->err, sizeof z->err, "gzip: %s",
                     z->zs.msg != NULL ? z->zs.msg : "corrupt data");
            z->done = true;
            break;
        }
    }
    return n - z->zs.avail_out;
}

static size_t zstd_produce(struct zstate *z, uint8_t *buf, size_t n)
{
    ZSTD_outBuffer out = {buf, n, 0};
    while (out.pos < out.size) {
        if (!fill_in(z)) {
            if (z->zret != 0 && z->err[0] == '\0')
                snprintf(z->err, sizeof z->err, "zstd: the file ends in the middle of a frame");
            z->done = true;
            break;
        }
        ZSTD_inBuffer in = {z->in, z->in_len, z->in_pos};
        z->zret = ZSTD_decompressStream(z->zd, &out, &in);
        z->in_pos = in.pos;
        if (ZSTD_isError(z->zret)) {
            snprintf(z->err, sizeof z->err, "zstd: %s", ZSTD_getErrorName(z->zret));
            z->done = true;
            break;
        }
    }
    return out.pos;
}

/* Decoded bytes into buf, up to n; 0 at the end (or after an error, which `err` names). */
static size_t produce(struct zstate *z, uint8_t *buf, size_t n)
{
    if (z->done || n == 0)
        return 0;
    switch (z->kind) {
    case CS_STREAM_GZIP:
        return gzip_produce(z, buf, n);
    case CS_STREAM_ZSTD:
        return zstd_produce(z, buf, n);
    default: {
        size_t got = raw_read(z, buf, n);
        if (got < n) {
            if (ferror(z->under))
                snprintf(z->err, sizeof z->err, "read error: %s", g_strerror(errno));
            z->done = true;
        }
        return got;
    }
    }
}

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    struct zstate *z = cookie;
    size_t got = replay(z->out_head, z->out_len, &z->out_pos, (uint8_t *)buf, n);
    if (got < n)
        got += produce(z, (uint8_t *)buf + got, n - got);
    if (got == 0 && z->err[0] != '\0') {
        errno = EIO;
        return -1;
    }
    return (ssize_t)got;
}

/* Frees what cookie_close left (the buffers and the error text). */
static void zstate_free(struct zstate *z)
{
    g_free(z->in);
    g_free(z->out_head);
    g_free(z);
}

/* Cookie close: closes the file itself and ends the decoder (the reader's fclose or pcap_close
 * comes here); the buffers and the error text stay until zstate_free. */
static int cookie_close(void *cookie)
{
    struct zstate *z = cookie;
    int rc = z->under != NULL ? fclose(z->under) : 0;
    g_free(z->under_buf);
    z->under_buf = NULL;
    z->under = NULL;
    if (z->kind == CS_STREAM_GZIP)
        inflateEnd(&z->zs);
    if (z->zd != NULL)
        ZSTD_freeDStream(z->zd);
    z->zd = NULL;
    z->kind = CS_STREAM_PLAIN;
    z->done = true;
    return rc;
}

static bool open_error(GError **err, const char *path, const char *what)
{
    g_set_error(err, g_quark_from_static_string("connscope"), 2, "%s: %s", path, what);
    return false;
}

bool cs_stream_open(cs_stream *s, const char *path, size_t peek, GError **err)
{
    memset(s, 0, sizeof *s);
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        gchar *why = g_strdup_printf("cannot open: %s", g_strerror(errno));
        open_error(err, path, why);
        g_free(why);
        return false;
    }
    struct stat st;
    bool regular = !is_stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (regular)
        s->size = (uint64_t)st.st_size;
    char *ubuf = NULL;
    if (!is_stdin) {
        ubuf = g_malloc(UNDER_BUFFER);
        setvbuf(f, ubuf, _IOFBF, UNDER_BUFFER);
    }
    uint8_t magic[4];
    size_t n = fread(magic, 1, sizeof magic, f);
    s->kind = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? CS_STREAM_GZIP
              : n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
                      magic[3] == 0xfd
                  ? CS_STREAM_ZSTD
                  : CS_STREAM_PLAIN;
    if (s->kind == CS_STREAM_PLAIN && regular && fseek(f, 0, SEEK_SET) == 0) {
        /* the common case: the reader reads the file itself, no copy in between */
        s->head_buf = g_malloc(peek > 0 ? peek : 1);
        s->head_len = fread(s->head_buf, 1, peek, f);
        s->head = s->head_buf;
        s->fp = f;
        s->iobuf = ubuf;
        s->direct = true;
        if (fseek(f, 0, SEEK_SET) != 0) {
            cs_stream_close(s, false);
            return open_error(err, path, "cannot seek back to the start");
        }
        return true;
    }
    struct zstate *z = g_new0(struct zstate, 1);
    z->under = f;
    z->under_buf = ubuf;
    z->kind = s->kind;
    memcpy(z->raw, magic, n);
    z->raw_len = n;
    z->in = g_malloc(IN_CHUNK);
    if (z->kind == CS_STREAM_GZIP && inflateInit2(&z->zs, 15 + 16) != Z_OK) {
        z->kind = CS_STREAM_PLAIN;
        cookie_close(z);
        zstate_free(z);
        return open_error(err, path, "cannot start the gzip decoder");
    }
    if (z->kind == CS_STREAM_ZSTD) {
        z->zd = ZSTD_createDStream();
        z->zret = 1;
    }
    z->out_head = g_malloc(peek > 0 ? peek : 1);
    z->out_len = produce(z, z->out_head, peek);
    cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
    s->fp = fopencookie(z, "rb", io);
    if (s->fp == NULL) {
        cookie_close(z);
        zstate_free(z);
        return open_error(err, path, "cannot open a decoding stream");
    }
    setvbuf(s->fp, NULL, _IOFBF, COOKIE_BUFFER);
    s->z = z;
    s->head = z->out_head;
    s->head_len = z->out_len;
    return true;
}

uint64_t cs_stream_consumed(const cs_stream *s)
{
    FILE *u = s->direct ? s->fp : s->z != NULL ? s->z->under : NULL;
    if (u == NULL || u == stdin)
        return 0;
    long pos = ftell(u);
    return pos > 0 ? (uint64_t)pos : 0;
}

void cs_stream_one_thread(cs_stream *s)
{
    FILE *u = s->direct ? NULL : s->z != NULL ? s->z->under : NULL;
    if (s->fp != NULL)
        __fsetlocking(s->fp, FSETLOCKING_BYCALLER);
    if (u != NULL)
        __fsetlocking(u, FSETLOCKING_BYCALLER);
}

const char *cs_stream_error(const cs_stream *s)
{
    return s->z != NULL && s->z->err[0] != '\0' ? s->z->err : NULL;
}

void cs_stream_close(cs_stream *s, bool closed)
{
    if (!closed && s->fp != NULL)
        fclose(s->fp); /* a cookie's close closes the file itself */
    if (s->z != NULL)
        zstate_free(s->z);
    g_free(s->iobuf);
    g_free(s->head_buf);
    memset(s, 0, sizeof *s);
}
