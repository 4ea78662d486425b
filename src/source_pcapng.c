/* source_pcapng.c - pcapng block reader (section, interface, enhanced/simple/obsolete packet blocks;
 * the rest skipped) with per-interface link types and timestamp resolution/offset; every read checked. */
#include <string.h>

#include <glib.h>

#include "source_pcapng.h"
#include "wire.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_PB 2u /* obsolete packet block */
#define BT_SPB 3u
#define BT_EPB 6u
#define BOM 0x1A2B3C4Du
#define MAX_IFACES 65536u /* interfaces per section (a bound on memory, far above real files) */

typedef struct iface {
    int dlt;
    uint32_t snaplen;
    uint8_t tsresol;  /* if_tsresol: bit 7 set = 2^-n, else 10^-n */
    int64_t tsoffset; /* if_tsoffset, seconds */
} iface;

struct cs_pcapng {
    FILE *fp;
    bool be;        /* the section is big-endian */
    GArray *ifaces; /* iface, of the current section */
    uint8_t *buf;   /* the current block */
    uint32_t cap;
    int types[16]; /* distinct link types seen */
    int ntypes;
    char err[160];
};

static uint32_t rd32(const cs_pcapng *r, cs_wire *w, uint32_t off)
{
    return r->be ? cs_wire_be32(w, off) : cs_wire_le32(w, off);
}

static uint16_t rd16(const cs_pcapng *r, cs_wire *w, uint32_t off)
{
    return r->be ? cs_wire_be16(w, off) : cs_wire_le16(w, off);
}

/* LINKTYPE_RAW (101) is DLT_RAW (12) to libpcap's filter compiler and to connscope alike. */
static int linktype_dlt(uint16_t lt)
{
    return lt == 101 ? 12 : lt;
}

/* Walks the options of a block body at [off, end) and takes an interface's if_tsresol and
 * if_tsoffset. Options past `end` are a format error (false). */
static bool idb_options(const cs_pcapng *r, cs_wire *w, uint32_t off, uint32_t end, iface *ifc)
{
    while (off + 4 <= end) {
        uint16_t code = rd16(r, w, off);
        uint32_t len = rd16(r, w, off + 2);
        if (code == 0) /* opt_endofopt */
            break;
        uint32_t padded = (len + 3) & ~3u;
        if (padded > end - off - 4)
            return false;
        if (code == 9 && len >= 1)
            ifc->tsresol = cs_wire_u8(w, off + 4);
        else if (code == 14 && len >= 8) {
            uint64_t hi = rd32(r, w, off + 4), lo = rd32(r, w, off + 8);
            ifc->tsoffset = (int64_t)(r->be ? (hi << 32 | lo) : (lo << 32 | hi));
        }
        off += 4 + padded;
    }
    return !w->trunc;
}

/* Timestamp units of an interface to nanoseconds since the epoch (saturating near the year
 * 2262, as the rest of connscope does). */
static cs_time_t to_ns(const iface *ifc, uint64_t units)
{
    unsigned n = ifc->tsresol & 0x7f;
    __int128 ns;
    if (ifc->tsresol & 0x80) {
        ns = n >= 120 ? 0 : ((__int128)units * 1000000000) >> n;
    } else if (n <= 9) {
        __int128 mul = 1;
        for (unsigned i = n; i < 9; i++)
            mul *= 10;
        ns = (__int128)units * mul;
    } else {
        __int128 div = 1;
        for (unsigned i = 9; i < n && i < 40; i++)
            div *= 10;
        ns = (__int128)units / div;
    }
    ns += (__int128)ifc->tsoffset * 1000000000;
    const __int128 lim = INT64_MAX - CS_NS_PER_S;
    if (ns > lim)
        ns = lim;
    if (ns < -lim)
        ns = -lim;
    return (cs_time_t)ns;
}

static void note_type(cs_pcapng *r, int dlt)
{
    for (int i = 0; i < r->ntypes; i++)
        if (r->types[i] == dlt)
            return;
    if (r->ntypes < (int)CS_ARRAY_LEN(r->types))
        r->types[r->ntypes++] = dlt;
}

static int fail(cs_pcapng *r, int rc, const char *what)
{
    g_strlcpy(r->err, what, sizeof r->err);
    return rc;
}

/* Reads one whole block into r->buf. Returns its length, 0 at a clean end, -1/-2 as
 * cs_pcapng_next. A section header sets the byte order first. */
static int64_t read_block(cs_pcapng *r, uint32_t *type)
{
    uint8_t hdr[12];
    size_t got = fread(hdr, 1, 8, r->fp);
    if (got == 0 && feof(r->fp))
        return 0;
    if (got < 8)
        return fail(r, -2, "the file ends inside a block header");
    cs_wire w = cs_wire_make(hdr, sizeof hdr);
    uint32_t t = cs_wire_le32(&w, 0);
    if (t == BT_SHB) {
        if (fread(hdr + 8, 1, 4, r->fp) < 4)
            return fail(r, -2, "the file ends inside a section header");
        uint32_t bom = cs_wire_le32(&w, 8);
        if (bom != BOM && bom != __builtin_bswap32(BOM))
            return fail(r, -1, "section header with a bad byte-order magic");
        r->be = bom != BOM;
        g_array_set_size(r->ifaces, 0); /* a new section: interfaces start over */
    } else {
        t = rd32(r, &w, 0);
    }
    uint32_t len = rd32(r, &w, 4);
    if (len < 12 || len % 4 != 0 || len > CS_PCAPNG_MAX_BLOCK)
        return fail(r, -1, "block length below 12, not a multiple of 4, or over 16 MiB");
    if (r->cap < len) {
        r->cap = len;
        r->buf = g_realloc(r->buf, r->cap);
    }
    uint32_t have = t == BT_SHB ? 12 : 8;
    memcpy(r->buf, hdr, have);
    if (fread(r->buf + have, 1, len - have, r->fp) < len - have)
        return fail(r, -2, "the file ends inside a block");
    cs_wire b = cs_wire_make(r->buf, len);
    if (rd32(r, &b, len - 4) != len)
        return fail(r, -1, "block's trailing length differs from its leading length");
    *type = t;
    return len;
}

/* Takes in an interface description block of `len` bytes. */
static int add_iface(cs_pcapng *r, uint32_t len)
{
    cs_wire w = cs_wire_make(r->buf, len);
    if (len < 20)
        return fail(r, -1, "interface description block shorter than 20 bytes");
    if (r->ifaces->len >= MAX_IFACES)
        return fail(r, -1, "more than 65536 interfaces in one section");
    iface ifc = {.dlt = linktype_dlt(rd16(r, &w, 8)), .snaplen = rd32(r, &w, 12), .tsresol = 6};
    if (!idb_options(r, &w, 16, len - 4, &ifc))
        return fail(r, -1, "interface description option runs past its block");
    g_array_append_val(r->ifaces, ifc);
    note_type(r, ifc.dlt);
    return 1;
}

/* Fills pkt from a packet block (enhanced, simple, obsolete) of `len` bytes. */
static int packet(cs_pcapng *r, uint32_t type, uint32_t len, cs_pcapng_pkt *pkt)
{
    cs_wire w = cs_wire_make(r->buf, len);
    uint32_t if_id, caplen, wirelen, data_off;
    uint64_t units = 0;
    if (type == BT_SPB) {
        if_id = 0;
        wirelen = rd32(r, &w, 8);
        data_off = 12;
        caplen = len >= 16 && len - 16 < wirelen ? len - 16 : wirelen;
    } else {
        bool epb = type == BT_EPB;
        if_id = epb ? rd32(r, &w, 8) : rd16(r, &w, 8);
        units = (uint64_t)rd32(r, &w, 12) << 32 | rd32(r, &w, 16);
        caplen = rd32(r, &w, 20);
        wirelen = rd32(r, &w, 24);
        data_off = 28;
    }
    if (w.trunc || len < data_off + 4)
        return fail(r, -1, "packet block shorter than its fixed fields");
    if (caplen > len - data_off - 4)
        return fail(r, -1, "packet block's captured length runs past the block");
    if (if_id >= r->ifaces->len)
        return fail(r, -1, "packet block names an interface that was not described");
    const iface *ifc = &g_array_index(r->ifaces, iface, if_id);
    if (type == BT_SPB && ifc->snaplen > 0 && caplen > ifc->snaplen)
        caplen = ifc->snaplen;
    pkt->data = r->buf + data_off;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->ts = type == BT_SPB ? 0 : to_ns(ifc, units);
    pkt->dlt = ifc->dlt;
    pkt->iface = if_id;
    return 1;
}

int cs_pcapng_next(cs_pcapng *r, cs_pcapng_pkt *pkt)
{
    for (;;) {
        uint32_t type = 0;
        int64_t len = read_block(r, &type);
        if (len <= 0)
            return (int)len;
        int rc = 0;
        if (type == BT_IDB)
            rc = add_iface(r, (uint32_t)len);
        else if (type == BT_EPB || type == BT_SPB || type == BT_PB)
            return packet(r, type, (uint32_t)len, pkt);
        if (rc < 0)
            return rc;
    }
}

cs_pcapng *cs_pcapng_open(FILE *fp, char *err, size_t errlen)
{
    cs_pcapng *r = g_new0(cs_pcapng, 1);
    r->fp = fp;
    r->ifaces = g_array_new(FALSE, FALSE, sizeof(iface));
    uint32_t type = 0;
    int64_t len = read_block(r, &type);
    if (len <= 0 || type != BT_SHB) {
        g_strlcpy(err, len < 0 ? r->err : "not a pcapng section header", errlen);
        cs_pcapng_free(r);
        return NULL;
    }
    return r;
}

const char *cs_pcapng_error(const cs_pcapng *r)
{
    return r->err;
}

int cs_pcapng_link_types(const cs_pcapng *r, int *out, int max)
{
    int n = r->ntypes < max ? r->ntypes : max;
    memcpy(out, r->types, sizeof(int) * (size_t)n);
    return n;
}

void cs_pcapng_free(cs_pcapng *r)
{
    if (r == NULL)
        return;
    g_array_free(r->ifaces, TRUE);
    g_free(r->buf);
    g_free(r);
}

bool cs_pcapng_is_multilink(const uint8_t *head, size_t len, int *first_dlt)
{
    cs_wire w = cs_wire_make(head, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (cs_wire_le32(&w, 0) != BT_SHB)
        return false;
    uint32_t bom = cs_wire_le32(&w, 8);
    if (w.trunc || (bom != BOM && bom != __builtin_bswap32(BOM)))
        return false;
    cs_pcapng r = {.be = bom != BOM};
    int first = -1;
    bool multi = false;
    uint32_t off = 0;
    for (;;) {
        uint32_t type = rd32(&r, &w, off);
        uint32_t blen = rd32(&r, &w, off + 4);
        if (w.trunc || blen < 12 || blen % 4 != 0 || blen > w.len - off)
            break; /* the head ends (or the file is broken: libpcap will say so) */
        if (type == BT_EPB || type == BT_SPB || type == BT_PB || (type == BT_SHB && off > 0))
            break;
        if (type == BT_IDB && blen >= 20) {
            int dlt = linktype_dlt(rd16(&r, &w, off + 8));
            if (first < 0)
                first = dlt;
            else if (dlt != first)
                multi = true;
        }
        off += blen;
    }
    *first_dlt = first;
    return multi;
}
