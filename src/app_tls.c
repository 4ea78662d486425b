/* app_tls.c - TLS per connection: records reassembled across segments, handshake messages across
 * records, hellos and fingerprints, key-log decryption, gap resync, the exchange estimate. */
#include <string.h>

#include <glib.h>

#include "app_tls.h"
#include "wire.h"

#define HS_MAX (64 * 1024)       /* largest handshake message kept (longer: skipped, counted) */
#define RESYNC_MAX (64 * 1024)   /* bytes searched for a record header after a gap */
#define SEQ_TRIALS 1024          /* sequence numbers tried to reopen records after a gap */
#define HISTORY_MAX 100          /* Zeek's SSL::max_ssl_history_length */

enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23, CT_HEARTBEAT = 24 };

enum {
    HS_HELLO_REQUEST = 0, HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_SESSION_TICKET = 4,
    HS_ENCRYPTED_EXTENSIONS = 8, HS_CERTIFICATE = 11, HS_SERVER_KEY_EXCHANGE = 12,
    HS_FINISHED = 20, HS_KEY_UPDATE = 24
};

enum { EXT_SNI = 0, EXT_GROUPS = 10, EXT_POINT_FORMATS = 11, EXT_SIGALGS = 13, EXT_ALPN = 16,
       EXT_ETM = 22, EXT_SESSION_TICKET = 35, EXT_PSK = 41, EXT_EARLY_DATA = 42,
       EXT_VERSIONS = 43, EXT_KEY_SHARE = 51 };

enum dstate { D_START, D_SSL2, D_RECORDS, D_RESYNC, D_STOPPED };
enum epoch { EP_CLEAR, EP_HANDSHAKE, EP_APP };

/* SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* One direction's record and handshake reassembly, and its read protection. */
typedef struct tdir {
    uint8_t state;          /* enum dstate */
    uint8_t hdr[5];         /* record header being assembled / of the current record */
    uint8_t hdr_len;
    bool skipping;          /* current record body not buffered (over the cap) */
    bool lost;              /* current record lost bytes in a gap */
    bool at_gap_edge;       /* D_RESYNC: the next byte is the first after a gap */
    bool ccs;               /* TLS <= 1.2: ChangeCipherSpec sent, later records protected */
    bool seen_protected;    /* a protected record was sent (TLS 1.3 estimate without keys) */
    bool dec_lost;          /* decryption gave up on this direction (renegotiation) */
    bool seq_unknown;       /* after a gap: next sequence number found by trial */
    bool fail_reported;     /* decrypt failure anomaly raised once per direction */
    bool hs_decrypted;      /* the handshake bytes being assembled came from decrypted records */
    uint8_t alt_tries;      /* TLS 1.3: records tried with application keys in the handshake */
    uint8_t fail_streak;    /* records that failed every trial while the sequence was unknown */
    uint8_t epoch;          /* TLS 1.3: enum epoch of the read keys */
    uint16_t rec_version;   /* record-layer version of the latest record (resync plausibility) */
    uint32_t body_len, body_have;
    uint8_t *buf;           /* record body (records spanning segments); grows up to the cap */
    uint32_t buf_cap;
    uint8_t hs_hdr[4];
    uint8_t hs_hdr_len;
    bool hs_skip;           /* current handshake message over HS_MAX: skipped */
    uint32_t hs_len, hs_have;
    uint8_t *hs;            /* handshake message spanning records */
    uint32_t hs_cap;
    uint32_t resync_scanned;
    uint64_t lost_bytes;    /* bytes lost since the last record opened (bounds seq trials) */
    cs_tls_rp rp;           /* read protection (keys of the current epoch) */
} tdir;

struct cs_tls_conn {
    const cs_tls_cfg *cfg;
    tdir d[2];              /* [0] client, [1] server */
    uint8_t client_random[32], server_random[32];
    uint8_t ch_sid[32];
    uint8_t ch_sid_len;
    bool have_client_random;
    bool ch_ticket;         /* ClientHello carried a non-empty session ticket */
    bool ch_etm;            /* ClientHello offered encrypt_then_mac */
    bool ch_early_data;     /* ClientHello offered early data (0-RTT) */
    bool tls13;             /* TLS 1.3 (or a draft) negotiated */
    bool zccs[2];           /* Zeek: CCS seen per side (TLS <= 1.2) */
    bool z_client_app;      /* Zeek TLS 1.3 established heuristic */
    uint8_t z_server_app;
    uint8_t n_client_hellos;
    int8_t last_app_dir;    /* exchange estimate: side of the last application record, -1 */
    cs_time_t last_client_app_ts;
    cs_q50 turn_q;          /* estimated turn times (us), for their median */
    const cs_tls_suite *suite;
    uint8_t *plain;         /* decryption output, CS_TLS_PLAIN_BUF bytes, allocated with keys */
    cs_tls_rp alt;          /* scratch read state for trial decryption with the next keys */
    bool keys_found;
    bool unsupported;
    bool early_reported;
    uint64_t dec_missing;   /* protected records not tried: no key for them (partial key log) */
    cs_tls_summary sum;     /* ja3/ja3s owned here; copied out by cs_tls_finish */
};

/* ---- anomalies ----------------------------------------------------------------------------- */

#define TLS_ANOM_ID(id, name, desc) CS_ANOM_##id,
static const int tls_anom_ids[] = {CS_TLS_ANOMALIES(TLS_ANOM_ID)};
#undef TLS_ANOM_ID
#define TLS_ANOM_NAME(id, name, desc) name,
static const char *const tls_anom_names[] = {CS_TLS_ANOMALIES(TLS_ANOM_NAME)};
#undef TLS_ANOM_NAME

G_STATIC_ASSERT(CS_ARRAY_LEN(tls_anom_ids) == CS_TLS_ANOM_KINDS);

int cs_tls_anomaly_id(int i)
{
    return i >= 0 && i < CS_TLS_ANOM_KINDS ? tls_anom_ids[i] : -1;
}

const char *cs_tls_anomaly_name(int a)
{
    for (int i = 0; i < CS_TLS_ANOM_KINDS; i++)
        if (tls_anom_ids[i] == a)
            return tls_anom_names[i];
    return NULL;
}

static void anomaly(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int a)
{
    t->sum.anomalies++;
    for (int i = 0; i < CS_TLS_ANOM_KINDS; i++)
        if (tls_anom_ids[i] == a)
            t->sum.anomaly_count[i]++;
#ifdef CS_ANOM_HAVE_TLS
    if (sink->anomaly != NULL)
        sink->anomaly(sink->ctx, c, (cs_anomaly)a);
#else
    /* local stand-ins lie past CS_ANOM_COUNT: never handed to the run's counters */
    if (a < (int)CS_ANOM_COUNT && sink->anomaly != NULL)
        sink->anomaly(sink->ctx, c, (cs_anomaly)a);
#endif
}

/* ---- names --------------------------------------------------------------------------------- */

const char *cs_tls_dec_status_name(cs_tls_dec_status s)
{
    static const char *const names[] = {"none", "ok", "failed", "no_keys", "partial",
                                        "unsupported"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
}

const char *cs_tls_version_name(uint16_t v, char buf[24])
{
    switch (v) {
    case 0x0002:
        return "SSLv2";
    case 0x0300:
        return "SSLv3";
    case 0x0301:
        return "TLSv10";
    case 0x0302:
        return "TLSv11";
    case 0x0303:
        return "TLSv12";
    case 0x0304:
        return "TLSv13";
    default:
        if (v >> 8 == 0x7f)
            g_snprintf(buf, 24, "TLSv13-draft%u", v & 0xffu);
        else
            g_snprintf(buf, 24, "unknown-%u", v);
        return buf;
    }
}

const char *cs_tls_alert_name(uint8_t desc, char buf[24])
{
    static const struct {
        uint8_t d;
        const char *n;
    } names[] = {{0, "close_notify"}, {10, "unexpected_message"}, {20, "bad_record_mac"},
                 {21, "decryption_failed"}, {22, "record_overflow"},
                 {30, "decompression_failure"}, {40, "handshake_failure"},
                 {41, "no_certificate"}, {42, "bad_certificate"},
                 {43, "unsupported_certificate"}, {44, "certificate_revoked"},
                 {45, "certificate_expired"}, {46, "certificate_unknown"},
                 {47, "illegal_parameter"}, {48, "unknown_ca"}, {49, "access_denied"},
                 {50, "decode_error"}, {51, "decrypt_error"}, {60, "export_restriction"},
                 {70, "protocol_version"}, {71, "insufficient_security"},
                 {80, "internal_error"}, {86, "inappropriate_fallback"},
                 {90, "user_canceled"}, {100, "no_renegotiation"}, {109, "missing_extension"},
                 {110, "unsupported_extension"}, {111, "certificate_unobtainable"},
                 {112, "unrecognized_name"}, {113, "bad_certificate_status_response"},
                 {114, "bad_certificate_hash_value"}, {115, "unknown_psk_identity"},
                 {116, "certificate_required"}, {120, "no_application_protocol"},
                 {121, "ech_required"}};
    for (size_t i = 0; i < CS_ARRAY_LEN(names); i++)
        if (names[i].d == desc)
            return names[i].n;
    g_snprintf(buf, 24, "unknown-%u", desc);
    return buf;
}

static const char *group_name(uint16_t g, char buf[24])
{
    switch (g) {
    case 23:
        return "secp256r1";
    case 24:
        return "secp384r1";
    case 25:
        return "secp521r1";
    case 29:
        return "x25519";
    case 30:
        return "x448";
    case 256:
        return "ffdhe2048";
    case 257:
        return "ffdhe3072";
    case 258:
        return "ffdhe4096";
    case 4588:
        return "X25519MLKEM768";
    case 25497:
        return "X25519Kyber768Draft00";
    default:
        g_snprintf(buf, 24, "0x%04x", g);
        return buf;
    }
}

static bool is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ---- creation / teardown ------------------------------------------------------------------- */

cs_tls_conn *cs_tls_new(const cs_tls_cfg *cfg)
{
    cs_tls_conn *t = g_new0(cs_tls_conn, 1);
    t->cfg = cfg;
    t->last_app_dir = -1;
    t->sum.client_hello_ts = t->sum.server_hello_ts = -1;
    t->sum.first_app_ts[0] = t->sum.first_app_ts[1] = -1;
    t->sum.handshake_ns = -1;
    t->sum.alert_level = t->sum.alert_desc = -1;
    t->sum.turn_min = t->sum.turn_max = t->sum.turn_sum = -1;
    return t;
}

void cs_tls_free(cs_tls_conn *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        cs_tls_rp_clear(&t->d[i].rp);
        g_free(t->d[i].buf);
        g_free(t->d[i].hs);
    }
    cs_tls_rp_clear(&t->alt);
    g_free(t->plain);
    g_free(t->sum.ja3);
    g_free(t->sum.ja3s);
    cs_q50_clear(&t->turn_q);
    g_free(t);
}

void cs_tls_summary_clear(cs_tls_summary *sum)
{
    g_free(sum->ja3);
    g_free(sum->ja3s);
    memset(sum, 0, sizeof *sum);
}

/* ---- small helpers ------------------------------------------------------------------------- */

static void history_add(cs_tls_conn *t, int dir, char server_letter)
{
    size_t n = strlen(t->sum.history);
    if (n < HISTORY_MAX && n + 1 < sizeof t->sum.history) {
        t->sum.history[n] = dir == 0 ? g_ascii_toupper(server_letter) : server_letter;
        t->sum.history[n + 1] = '\0';
    }
}

static char hs_letter(uint8_t type)
{
    switch (type) {
    case 0: return 'h';
    case 1: return 'c';
    case 2: return 's';
    case 3: return 'v';
    case 4: return 't';
    case 5: return 'e';
    case 8: return 'o';
    case 11: return 'x';
    case 12: return 'k';
    case 13: return 'r';
    case 14: return 'n';
    case 15: return 'y';
    case 16: return 'g';
    case 20: return 'f';
    case 21: return 'w';
    case 22: return 'u';
    case 23: return 'a';
    case 24: return 'p';
    case 254: return 'm';
    default: return 'z';
    }
}

/* Copies len bytes of wire text into a fixed buffer, NUL-terminated (NUL bytes become '?'). */
static void copy_text(char *dst, size_t cap, const uint8_t *src, uint32_t len)
{
    size_t n = MIN((size_t)len, cap - 1);
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] != 0 ? (char)src[i] : '?';
    dst[n] = '\0';
}

static void grow(uint8_t **buf, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return;
    uint32_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    *buf = g_realloc(*buf, n);
    *cap = n;
}

/* ---- application data accounting and the exchange estimate --------------------------------- */

static void app_record(cs_tls_conn *t, int dir, uint32_t wire_len, cs_time_t ts)
{
    cs_tls_summary *s = &t->sum;
    s->app_records[dir]++;
    s->app_bytes[dir] += wire_len;
    if (s->first_app_ts[dir] < 0)
        s->first_app_ts[dir] = ts;
    if (dir == 0) {
        t->last_client_app_ts = ts;
        t->last_app_dir = 0;
        return;
    }
    if (t->last_app_dir == 0) {
        cs_time_t turn = ts - t->last_client_app_ts;
        s->estimated_exchanges++;
        if (s->turn_min < 0 || turn < s->turn_min)
            s->turn_min = turn;
        if (turn > s->turn_max)
            s->turn_max = turn;
        s->turn_sum = (s->turn_sum < 0 ? 0 : s->turn_sum) + turn;
        if (s->n_turns < CS_TLS_MAX_TURNS)
            s->turns[s->n_turns++] = turn;
        cs_q50_add(&t->turn_q, turn > 0 ? (uint64_t)(turn / CS_NS_PER_US) : 0);
    }
    t->last_app_dir = 1;
}

static void plaintext_gap(const cs_tls_sink *sink, const cs_conn *c, int dir, uint32_t len,
                          cs_time_t ts)
{
    if (sink->plaintext_gap != NULL && len > 0)
        sink->plaintext_gap(sink->ctx, c, dir == 0, len, ts);
}

/* Zeek's `established`: TLS <= 1.2, a record from an encrypted side while both sides sent CCS;
 * TLS 1.3, its script heuristic on application-data records (client data, then two server
 * records). Called for every record before its content is handled. */
static void zeek_established(cs_tls_conn *t, int dir, uint8_t type)
{
    if (t->sum.established)
        return;
    if (!t->tls13) {
        if (t->d[dir].ccs && t->zccs[0] && t->zccs[1])
            t->sum.established = true;
        return;
    }
    if (type != CT_APP || !t->sum.server_hello)
        return;
    if (dir == 0) {
        t->z_client_app = true;
        return;
    }
    if (t->z_client_app && t->z_server_app == 0)
        return; /* Zeek: something went wrong in the handshake, no verdict */
    if (!t->z_client_app && t->z_server_app == 0)
        t->z_server_app = 1;
    else if (t->z_client_app && t->z_server_app == 1)
        t->z_server_app = 2;
    else if (t->z_client_app && t->z_server_app == 2)
        t->sum.established = true;
}

/* ---- alerts -------------------------------------------------------------------------------- */

static void alert_seen(cs_tls_conn *t, int dir, const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t n = 0;
    for (uint32_t off = 0; off + 2 <= len && n < 16; off += 2, n++) {
        uint8_t level = cs_wire_u8(&w, off), desc = cs_wire_u8(&w, off + 1);
        char buf[24];
        if (t->sum.alert_desc < 0) {
            t->sum.alert_level = level;
            t->sum.alert_desc = desc;
            t->sum.alert_from_client = dir == 0;
        }
        g_strlcpy(t->sum.last_alert, cs_tls_alert_name(desc, buf), sizeof t->sum.last_alert);
    }
    t->sum.alerts[dir] += n > 0 ? n : 1;
}

/* ---- fingerprints -------------------------------------------------------------------------- */

/* What the ClientHello fingerprints need, GREASE already removed. Arrays owned (g_free). */
typedef struct hello_lists {
    uint16_t *ciphers, *exts, *groups, *sigalgs, *versions;
    uint8_t *formats;
    uint32_t n_ciphers, n_exts, n_groups, n_sigalgs, n_versions, n_formats;
    const uint8_t *alpn1; /* first ALPN value (points into the message) */
    uint32_t alpn1_len;
    bool has_alpn, has_sni;
} hello_lists;

static void hello_lists_free(hello_lists *h)
{
    g_free(h->ciphers);
    g_free(h->exts);
    g_free(h->groups);
    g_free(h->sigalgs);
    g_free(h->versions);
    g_free(h->formats);
}

static void join_dec16(GString *s, const uint16_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        g_string_append_printf(s, i ? "-%u" : "%u", v[i]);
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static void hash12(GString *s, char out[13])
{
    char hex[65];
    cs_tls_sha256_hex(s->str, s->len, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
    }
}

static bool alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

/* JA4 (FoxIO spec, technical_details/JA4.md) for TLS over TCP. */
static void make_ja4(const hello_lists *h, uint16_t legacy_version, char out[40])
{
    uint16_t v = legacy_version;
    if (h->n_versions > 0) {
        v = 0;
        for (uint32_t i = 0; i < h->n_versions; i++)
            v = MAX(v, h->versions[i]);
    }
    char alpn[3] = "00";
    if (h->has_alpn && h->alpn1_len > 0) {
        uint8_t f = h->alpn1[0], l = h->alpn1[h->alpn1_len - 1];
        if (alnum(f) && alnum(l)) {
            alpn[0] = (char)f;
            alpn[1] = (char)l;
        } else {
            static const char hex[] = "0123456789abcdef";
            alpn[0] = hex[f >> 4];
            alpn[1] = hex[l & 15];
        }
    }
    char b[13] = "000000000000", cc[13] = "000000000000";
    GString *s = g_string_new(NULL);
    if (h->n_ciphers > 0) {
        uint16_t *sorted = g_memdup2(h->ciphers, h->n_ciphers * sizeof(uint16_t));
        qsort(sorted, h->n_ciphers, sizeof(uint16_t), cmp_u16);
        for (uint32_t i = 0; i < h->n_ciphers; i++)
            g_string_append_printf(s, i ? ",%04x" : "%04x", sorted[i]);
        hash12(s, b);
        g_free(sorted);
    }
    uint16_t *ext = g_new(uint16_t, h->n_exts + 1);
    uint32_t n_ext = 0;
    for (uint32_t i = 0; i < h->n_exts; i++)
        if (h->exts[i] != EXT_SNI && h->exts[i] != EXT_ALPN)
            ext[n_ext++] = h->exts[i];
    if (n_ext > 0) {
        qsort(ext, n_ext, sizeof(uint16_t), cmp_u16);
        g_string_truncate(s, 0);
        for (uint32_t i = 0; i < n_ext; i++)
            g_string_append_printf(s, i ? ",%04x" : "%04x", ext[i]);
        for (uint32_t i = 0; i < h->n_sigalgs; i++)
            g_string_append_printf(s, i ? ",%04x" : "_%04x", h->sigalgs[i]);
        hash12(s, cc);
    }
    g_free(ext);
    g_string_free(s, TRUE);
    g_snprintf(out, 40, "t%s%c%02u%02u%s_%s_%s", ja4_version(v), h->has_sni ? 'd' : 'i',
               MIN(h->n_ciphers, 99u), MIN(h->n_exts, 99u), alpn, b, cc);
}

/* ---- hello parsing ------------------------------------------------------------------------- */

/* Reads a list of n16 big-endian uint16 at off (GREASE dropped) into a new array. */
static uint16_t *read_u16s(cs_wire *w, uint32_t off, uint32_t bytes, uint32_t *n)
{
    uint16_t *v = g_new(uint16_t, bytes / 2 + 1);
    *n = 0;
    for (uint32_t i = 0; i + 1 < bytes; i += 2) {
        uint16_t x = cs_wire_be16(w, off + i);
        if (!is_grease(x))
            v[(*n)++] = x;
    }
    return v;
}

static void parse_client_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                               const uint8_t *p, uint32_t len)
{
    cs_tls_summary *s = &t->sum;
    cs_wire w = cs_wire_make(p, len);
    hello_lists h;
    memset(&h, 0, sizeof h);
    uint16_t legacy = cs_wire_be16(&w, 0);
    cs_wire_copy(&w, 2, t->client_random, 32);
    uint8_t sid_len = cs_wire_u8(&w, 34);
    if (w.trunc || sid_len > 32) {
        anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
        return;
    }
    t->have_client_random = true;
    s->client_version = legacy;
    t->ch_sid_len = sid_len;
    cs_wire_copy(&w, 35, t->ch_sid, sid_len);
    uint32_t off = 35 + sid_len;
    uint32_t cs_len = cs_wire_be16(&w, off);
    if (!cs_wire_has(&w, off + 2, cs_len))
        w.trunc = true;
    else
        h.ciphers = read_u16s(&w, off + 2, cs_len, &h.n_ciphers);
    off += 2 + cs_len;
    off += 1 + (uint32_t)cs_wire_u8(&w, off); /* compression methods */
    uint32_t ext_end = off;
    if (!w.trunc && off < len) {
        uint32_t ext_len = cs_wire_be16(&w, off);
        off += 2;
        ext_end = off + ext_len;
        if (ext_end > len) {
            w.trunc = true;
            ext_end = len;
        }
        h.exts = g_new(uint16_t, ext_len / 4 + 1);
    }
    GString *alpns = g_string_new(NULL);
    while (!w.trunc && off + 4 <= ext_end) {
        uint16_t type = cs_wire_be16(&w, off);
        uint32_t el = cs_wire_be16(&w, off + 2);
        uint32_t e = off + 4;
        if (e + el > ext_end) {
            w.trunc = true;
            break;
        }
        cs_wire x = cs_wire_make(p + e, el);
        if (!is_grease(type))
            h.exts[h.n_exts++] = type;
        switch (type) {
        case EXT_SNI: {
            h.has_sni = true;
            uint32_t list = cs_wire_be16(&x, 0);
            for (uint32_t o = 2; o + 3 <= MIN(list + 2, el);) {
                uint8_t nt = cs_wire_u8(&x, o);
                uint32_t nl = cs_wire_be16(&x, o + 1);
                if (!cs_wire_has(&x, o + 3, nl))
                    break;
                if (nt == 0 && s->server_name[0] == '\0') {
                    copy_text(s->server_name, sizeof s->server_name, p + e + o + 3, nl);
                    break;
                }
                o += 3 + nl;
            }
            break;
        }
        case EXT_ALPN: {
            h.has_alpn = true;
            uint32_t list = MIN((uint32_t)cs_wire_be16(&x, 0) + 2, el);
            for (uint32_t o = 2; o < list;) {
                uint32_t pl = cs_wire_u8(&x, o);
                if (o + 1 + pl > list)
                    break;
                if (o == 2) {
                    h.alpn1 = p + e + o + 1;
                    h.alpn1_len = pl;
                }
                if (alpns->len > 0)
                    g_string_append_c(alpns, ',');
                g_string_append_len(alpns, (const char *)p + e + o + 1, pl);
                o += 1 + pl;
            }
            break;
        }
        case EXT_GROUPS: {
            uint32_t l = MIN((uint32_t)cs_wire_be16(&x, 0), el - MIN(el, 2u));
            g_free(h.groups);
            h.groups = read_u16s(&x, 2, l, &h.n_groups);
            break;
        }
        case EXT_POINT_FORMATS: {
            uint32_t l = MIN((uint32_t)cs_wire_u8(&x, 0), el - MIN(el, 1u));
            g_free(h.formats);
            h.formats = g_new(uint8_t, l + 1);
            h.n_formats = 0;
            for (uint32_t i = 0; i < l; i++)
                h.formats[h.n_formats++] = cs_wire_u8(&x, 1 + i);
            break;
        }
        case EXT_SIGALGS: {
            uint32_t l = MIN((uint32_t)cs_wire_be16(&x, 0), el - MIN(el, 2u));
            g_free(h.sigalgs);
            h.sigalgs = read_u16s(&x, 2, l, &h.n_sigalgs);
            break;
        }
        case EXT_VERSIONS: {
            uint32_t l = MIN((uint32_t)cs_wire_u8(&x, 0), el - MIN(el, 1u));
            g_free(h.versions);
            h.versions = read_u16s(&x, 1, l, &h.n_versions);
            s->n_offered_versions = 0;
            for (uint32_t i = 0; i < h.n_versions && i < CS_TLS_MAX_VERSIONS; i++)
                s->offered_versions[s->n_offered_versions++] = h.versions[i];
            break;
        }
        case EXT_SESSION_TICKET:
            t->ch_ticket = el > 0;
            break;
        case EXT_ETM:
            t->ch_etm = true;
            break;
        case EXT_EARLY_DATA:
            t->ch_early_data = true;
            break;
        default:
            break;
        }
        off = e + el;
    }
    if (w.trunc)
        anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
    copy_text(s->alpn_offered, sizeof s->alpn_offered, (const uint8_t *)alpns->str,
              (uint32_t)alpns->len);
    g_string_free(alpns, TRUE);

    /* JA3 = SSLVersion,Ciphers,Extensions,EllipticCurves,EcPointFormats (decimal, GREASE out) */
    GString *j = g_string_new(NULL);
    g_string_append_printf(j, "%u,", legacy);
    join_dec16(j, h.ciphers, h.n_ciphers);
    g_string_append_c(j, ',');
    join_dec16(j, h.exts, h.n_exts);
    g_string_append_c(j, ',');
    join_dec16(j, h.groups, h.n_groups);
    g_string_append_c(j, ',');
    for (uint32_t i = 0; i < h.n_formats; i++)
        g_string_append_printf(j, i ? "-%u" : "%u", h.formats[i]);
    g_free(s->ja3);
    cs_tls_md5_hex(j->str, j->len, s->ja3_md5);
    s->ja3 = g_string_free(j, FALSE);
    make_ja4(&h, legacy, s->ja4);
    hello_lists_free(&h);
}

static void setup_keys(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c);

static void parse_server_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                               const uint8_t *p, uint32_t len)
{
    cs_tls_summary *s = &t->sum;
    cs_wire w = cs_wire_make(p, len);
    uint16_t legacy = cs_wire_be16(&w, 0);
    uint8_t random[32];
    cs_wire_copy(&w, 2, random, 32);
    /* TLS 1.3 drafts before -22 have no session id and no compression method */
    bool early_draft = legacy >> 8 == 0x7f && (legacy & 0xff) < 22;
    uint8_t sid_len = early_draft ? 0 : cs_wire_u8(&w, 34);
    uint8_t sid[32];
    if (sid_len > 32)
        w.trunc = true;
    else
        cs_wire_copy(&w, 35, sid, sid_len);
    uint32_t off = early_draft ? 34u : 35u + sid_len;
    uint16_t cipher = cs_wire_be16(&w, off);
    off += early_draft ? 2 : 3; /* cipher, compression method */
    if (w.trunc) {
        anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
        return;
    }
    bool hrr = memcmp(random, hrr_random, 32) == 0;
    uint16_t selected = 0, group = 0;
    bool psk = false, etm = false;
    char alpn[64] = "";
    GString *exts = g_string_new(NULL);
    uint32_t ext_end = off;
    if (off + 2 <= len) {
        ext_end = off + 2 + cs_wire_be16(&w, off);
        off += 2;
        if (ext_end > len) {
            w.trunc = true;
            ext_end = len;
        }
    }
    uint32_t n_ext = 0;
    while (off + 4 <= ext_end) {
        uint16_t type = cs_wire_be16(&w, off);
        uint32_t el = cs_wire_be16(&w, off + 2);
        uint32_t e = off + 4;
        if (e + el > ext_end) {
            w.trunc = true;
            break;
        }
        cs_wire x = cs_wire_make(p + e, el);
        if (!is_grease(type))
            g_string_append_printf(exts, n_ext++ ? "-%u" : "%u", type);
        switch (type) {
        case EXT_VERSIONS:
            selected = cs_wire_be16(&x, 0);
            break;
        case EXT_ALPN:
            if (el >= 3 && cs_wire_u8(&x, 2) + 3u <= el)
                copy_text(alpn, sizeof alpn, p + e + 3, cs_wire_u8(&x, 2));
            break;
        case EXT_PSK:
            psk = true;
            break;
        case EXT_KEY_SHARE:
            group = cs_wire_be16(&x, 0);
            break;
        case EXT_ETM:
            etm = true;
            break;
        default:
            break;
        }
        off = e + el;
    }
    if (w.trunc)
        anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
    /* JA3S = SSLVersion,Cipher,Extensions */
    g_free(s->ja3s);
    s->ja3s = g_strdup_printf("%u,%u,%s", legacy, cipher, exts->str);
    cs_tls_md5_hex(s->ja3s, strlen(s->ja3s), s->ja3s_md5);
    g_string_free(exts, TRUE);
    if (hrr) {
        s->hello_retry = true;
        return;
    }
    if (s->server_hello) {
        anomaly(t, sink, c, CS_ANOM_TLS_RENEGOTIATION);
        return;
    }
    s->server_hello = true;
    memcpy(t->server_random, random, 32);
    s->version = selected != 0 ? selected : legacy;
    t->tls13 = s->version == 0x0304 || s->version >> 8 == 0x7f;
    char buf[24];
    g_strlcpy(s->version_name, cs_tls_version_name(s->version, buf), sizeof s->version_name);
    s->cipher = cipher;
    t->suite = cs_tls_suite_find(cipher);
    if (t->suite != NULL)
        g_strlcpy(s->cipher_name, t->suite->name, sizeof s->cipher_name);
    else
        g_snprintf(s->cipher_name, sizeof s->cipher_name, "0x%04x", cipher);
    if (alpn[0] != '\0')
        g_strlcpy(s->next_protocol, alpn, sizeof s->next_protocol);
    if (group != 0)
        g_strlcpy(s->curve, group_name(group, buf), sizeof s->curve);
    if (t->tls13) {
        if (psk) {
            s->resumed = true;
            s->resumed_how = CS_TLS_RES_PSK;
        }
    } else if (sid_len > 0 && sid_len == t->ch_sid_len && memcmp(sid, t->ch_sid, sid_len) == 0) {
        s->resumed = true;
        s->resumed_how = t->ch_ticket ? CS_TLS_RES_TICKET : CS_TLS_RES_SESSION_ID;
    }
    t->ch_etm = t->ch_etm && etm;
    setup_keys(t, sink, c);
}

/* TLS 1.2 ServerKeyExchange: the named curve of an ECDHE suite (Zeek's `curve`). */
static void parse_server_key_exchange(cs_tls_conn *t, const uint8_t *p, uint32_t len)
{
    if (t->suite == NULL || strstr(t->suite->name, "_ECDHE_") == NULL)
        return;
    cs_wire w = cs_wire_make(p, len);
    if (cs_wire_u8(&w, 0) == 3) { /* named_curve */
        uint16_t g = cs_wire_be16(&w, 1);
        char buf[24];
        if (!w.trunc)
            g_strlcpy(t->sum.curve, group_name(g, buf), sizeof t->sum.curve);
    }
}

/* TLS 1.3 EncryptedExtensions (seen only when decrypting): the chosen ALPN. */
static void parse_encrypted_extensions(cs_tls_conn *t, const uint8_t *p, uint32_t len)
{
    cs_wire w = cs_wire_make(p, len);
    uint32_t end = MIN((uint32_t)cs_wire_be16(&w, 0) + 2, len);
    for (uint32_t off = 2; off + 4 <= end;) {
        uint16_t type = cs_wire_be16(&w, off);
        uint32_t el = cs_wire_be16(&w, off + 2);
        if (off + 4 + el > end)
            break;
        if (type == EXT_ALPN && el >= 3 && cs_wire_u8(&w, off + 6) + 3u <= el)
            copy_text(t->sum.next_protocol, sizeof t->sum.next_protocol, p + off + 7,
                      cs_wire_u8(&w, off + 6));
        off += 4 + el;
    }
}

/* SSLv2-compatible ClientHello (RFC 5246 E.2): version, cipher specs; challenge = client random. */
static void parse_sslv2_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                              const uint8_t *p, uint32_t len, cs_time_t ts)
{
    cs_wire w = cs_wire_make(p, len);
    cs_tls_summary *s = &t->sum;
    anomaly(t, sink, c, CS_ANOM_TLS_SSLV2_HELLO);
    s->sslv2_hello = true;
    s->records[0]++;
    if (cs_wire_u8(&w, 0) != 1)
        return;
    uint16_t version = cs_wire_be16(&w, 1);
    uint32_t spec_len = cs_wire_be16(&w, 3), sid_len = cs_wire_be16(&w, 5);
    uint32_t ch_len = cs_wire_be16(&w, 7);
    uint32_t off = 9 + spec_len + sid_len;
    if (w.trunc || ch_len < 16 || ch_len > 32 || !cs_wire_has(&w, off, ch_len))
        return;
    memset(t->client_random, 0, 32);
    memcpy(t->client_random + 32 - ch_len, p + off, ch_len);
    t->have_client_random = true;
    s->client_hello = true;
    s->client_version = version;
    s->client_hello_ts = ts;
    t->n_client_hellos++;
    history_add(t, 0, 'c');
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void need_plain(cs_tls_conn *t)
{
    if (t->plain == NULL)
        t->plain = g_malloc(CS_TLS_PLAIN_BUF);
}

/* After the ServerHello: looks the client random up in the key log and prepares read states. */
static void setup_keys(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c)
{
    const cs_keylog *kl = t->cfg != NULL ? t->cfg->keylog : NULL;
    if (kl == NULL || !t->have_client_random)
        return;
    const uint8_t *sec;
    uint32_t sl;
    if (t->tls13) {
        bool any = cs_keylog_find(kl, CS_KL_CLIENT_HS, t->client_random, &sec, &sl) ||
                   cs_keylog_find(kl, CS_KL_SERVER_HS, t->client_random, &sec, &sl) ||
                   cs_keylog_find(kl, CS_KL_CLIENT_AP0, t->client_random, &sec, &sl) ||
                   cs_keylog_find(kl, CS_KL_SERVER_AP0, t->client_random, &sec, &sl);
        if (!any) {
            anomaly(t, sink, c, CS_ANOM_TLS_NO_KEYS);
            return;
        }
        t->keys_found = true;
        if (t->suite == NULL || t->suite->bulk == CS_BULK_NONE || !t->suite->tls13 ||
            t->sum.version != 0x0304) {
            t->unsupported = true;
            anomaly(t, sink, c, CS_ANOM_TLS_UNSUPPORTED_CIPHER);
            return;
        }
        need_plain(t);
        static const cs_keylog_label hs[2] = {CS_KL_CLIENT_HS, CS_KL_SERVER_HS};
        for (int i = 0; i < 2; i++) {
            t->d[i].epoch = EP_HANDSHAKE;
            if (cs_keylog_find(kl, hs[i], t->client_random, &sec, &sl))
                cs_tls_rp_init13(&t->d[i].rp, t->suite, sec, sl);
        }
        return;
    }
    if (!cs_keylog_find(kl, CS_KL_CLIENT_RANDOM, t->client_random, &sec, &sl)) {
        anomaly(t, sink, c, CS_ANOM_TLS_NO_KEYS);
        return;
    }
    t->keys_found = true;
    if (t->suite == NULL || t->suite->bulk == CS_BULK_NONE || t->suite->tls13 ||
        !cs_tls_rp_init12(&t->d[0].rp, &t->d[1].rp, t->suite, t->sum.version, t->ch_etm, sec, sl,
                          t->client_random, t->server_random)) {
        t->unsupported = true;
        anomaly(t, sink, c, CS_ANOM_TLS_UNSUPPORTED_CIPHER);
        return;
    }
    need_plain(t);
}

/* TLS 1.3: the read keys of direction dir move to the application traffic secret. */
static void enter_app_epoch(cs_tls_conn *t, int dir)
{
    tdir *d = &t->d[dir];
    const uint8_t *sec;
    uint32_t sl;
    d->epoch = EP_APP;
    if (cs_keylog_find(t->cfg->keylog, dir == 0 ? CS_KL_CLIENT_AP0 : CS_KL_SERVER_AP0,
                       t->client_random, &sec, &sl))
        cs_tls_rp_init13(&d->rp, t->suite, sec, sl);
    else
        d->rp.ready = false;
}

/* Tries to open a record with the current keys at sequence numbers from rp->seq on (only rp->seq
 * unless a gap made it unknown). On success advances the sequence number. */
static const uint8_t *try_open(cs_tls_conn *t, tdir *d, cs_tls_rp *rp, const uint8_t *hdr,
                               const uint8_t *body, uint32_t len, uint32_t *plen, uint8_t *type)
{
    if (!rp->ready)
        return NULL;
    const uint8_t *pt = cs_tls_rp_open(rp, rp->seq, hdr, body, len, t->plain, plen, type);
    if (pt != NULL) {
        rp->seq++;
        return pt;
    }
    if (!d->seq_unknown)
        return NULL;
    uint32_t min_rec = 5 + cs_tls_rp_overhead(rp);
    uint64_t max = MIN((uint64_t)SEQ_TRIALS, d->lost_bytes / min_rec + 2);
    /* TLS 1.2 GCM: the explicit nonce is the sequence number in most implementations */
    if (rp->version != 0x0304 && rp->suite->bulk == CS_BULK_AES_GCM && len >= 8) {
        uint64_t nseq = 0;
        for (int i = 0; i < 8; i++)
            nseq = nseq << 8 | body[i];
        if (nseq > rp->seq && nseq - rp->seq <= max) {
            pt = cs_tls_rp_open(rp, nseq, hdr, body, len, t->plain, plen, type);
            if (pt != NULL) {
                rp->seq = nseq + 1;
                return pt;
            }
        }
    }
    for (uint64_t k = 1; k <= max; k++) {
        pt = cs_tls_rp_open(rp, rp->seq + k, hdr, body, len, t->plain, plen, type);
        if (pt != NULL) {
            rp->seq += k + 1;
            return pt;
        }
    }
    return NULL;
}

/* Opens a protected record of direction dir; TLS 1.3 in the handshake epoch also tries the
 * application keys (Finished lost in a gap, or only application secrets logged). */
static const uint8_t *open_record(cs_tls_conn *t, int dir, const uint8_t *hdr, const uint8_t *body,
                                  uint32_t len, uint32_t *plen, uint8_t *type)
{
    tdir *d = &t->d[dir];
    if (d->dec_lost || t->plain == NULL)
        return NULL;
    const uint8_t *pt = try_open(t, d, &d->rp, hdr, body, len, plen, type);
    if (pt == NULL && t->tls13 && d->epoch == EP_HANDSHAKE) {
        const uint8_t *sec;
        uint32_t sl;
        if (d->alt_tries < (d->rp.ready ? 8 : 64) &&
            cs_keylog_find(t->cfg->keylog, dir == 0 ? CS_KL_CLIENT_AP0 : CS_KL_SERVER_AP0,
                           t->client_random, &sec, &sl) &&
            cs_tls_rp_init13(&t->alt, t->suite, sec, sl)) {
            /* the first application record is number 0; allow a few lost in a gap */
            d->alt_tries++;
            bool unknown = d->seq_unknown;
            uint64_t lost = d->lost_bytes;
            d->seq_unknown = true;
            d->lost_bytes = 16 * 22;
            pt = try_open(t, d, &t->alt, hdr, body, len, plen, type);
            d->seq_unknown = unknown;
            d->lost_bytes = lost;
            if (pt != NULL) {
                cs_tls_rp tmp = d->rp;
                d->rp = t->alt;
                t->alt = tmp;
                d->epoch = EP_APP;
            }
        }
    }
    if (pt != NULL) {
        d->seq_unknown = false;
        d->lost_bytes = 0;
        d->fail_streak = 0;
    } else if (d->seq_unknown && ++d->fail_streak >= 4) {
        d->dec_lost = true; /* lost track after a gap: stop spending trials on this direction */
    }
    return pt;
}

/* ---- handshake messages -------------------------------------------------------------------- */

static void on_handshake(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                         uint8_t type, const uint8_t *body, uint32_t len, cs_time_t ts,
                         bool decrypted)
{
    cs_tls_summary *s = &t->sum;
    bool hrr = false;
    if (type == HS_SERVER_HELLO && body != NULL && len >= 34 &&
        memcmp(body + 2, hrr_random, 32) == 0)
        hrr = true;
    if (!decrypted)
        history_add(t, dir, hrr ? 'j' : hs_letter(type));
    switch (type) {
    case HS_CLIENT_HELLO:
        if (dir != 0)
            break;
        t->n_client_hellos++;
        if (t->n_client_hellos == 1 && body != NULL) {
            s->client_hello = true;
            s->client_hello_ts = ts;
            parse_client_hello(t, sink, c, body, len);
        } else if (t->n_client_hellos > 1 && !(s->hello_retry && !s->server_hello)) {
            anomaly(t, sink, c, CS_ANOM_TLS_RENEGOTIATION);
        }
        break;
    case HS_SERVER_HELLO:
        if (dir != 1 || body == NULL)
            break;
        if (!hrr && !s->server_hello)
            s->server_hello_ts = ts;
        parse_server_hello(t, sink, c, body, len);
        break;
    case HS_NEW_SESSION_TICKET:
        if (dir == 1)
            s->ticket_issued = true;
        break;
    case HS_ENCRYPTED_EXTENSIONS:
        if (dir == 1 && body != NULL)
            parse_encrypted_extensions(t, body, len);
        break;
    case HS_SERVER_KEY_EXCHANGE:
        if (dir == 1 && body != NULL)
            parse_server_key_exchange(t, body, len);
        break;
    case HS_FINISHED:
        if (t->tls13 && decrypted && t->d[dir].epoch == EP_HANDSHAKE)
            enter_app_epoch(t, dir);
        break;
    case HS_KEY_UPDATE:
        if (t->tls13 && decrypted)
            cs_tls_rp_update13(&t->d[dir].rp);
        break;
    default:
        break;
    }
}

static void hs_reset(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, tdir *d)
{
    if (d->hs_hdr_len > 0)
        anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
    d->hs_hdr_len = 0;
    d->hs_skip = false;
}

/* Feeds the body of a handshake record (plaintext or decrypted): messages may span records and a
 * record may hold several. */
static void hs_feed(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                    const uint8_t *p, uint32_t len, cs_time_t ts, bool decrypted)
{
    tdir *d = &t->d[dir];
    if (d->hs_decrypted != decrypted) {
        hs_reset(t, sink, c, d); /* a message cannot span a change of keys */
        d->hs_decrypted = decrypted;
    }
    uint32_t off = 0;
    while (off < len) {
        if (d->hs_hdr_len == 0 && len - off >= 4) {
            /* whole message in this record: parse in place */
            uint32_t ml = (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
            if (len - off - 4 >= ml) {
                on_handshake(t, sink, c, dir, p[off], p + off + 4, ml, ts, decrypted);
                off += 4 + ml;
                continue;
            }
        }
        if (d->hs_hdr_len < 4) {
            uint32_t take = MIN(4u - d->hs_hdr_len, len - off);
            memcpy(d->hs_hdr + d->hs_hdr_len, p + off, take);
            d->hs_hdr_len = (uint8_t)(d->hs_hdr_len + take);
            off += take;
            if (d->hs_hdr_len < 4)
                break;
            d->hs_len = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 | d->hs_hdr[3];
            d->hs_have = 0;
            d->hs_skip = d->hs_len > HS_MAX;
            if (d->hs_skip) {
                t->sum.hs_cap_hits++;
                anomaly(t, sink, c, CS_ANOM_TLS_HS_TOO_LONG);
            } else {
                grow(&d->hs, &d->hs_cap, d->hs_len);
            }
        }
        uint32_t take = MIN(d->hs_len - d->hs_have, len - off);
        if (!d->hs_skip && take > 0)
            memcpy(d->hs + d->hs_have, p + off, take);
        d->hs_have += take;
        off += take;
        if (d->hs_have == d->hs_len) {
            d->hs_hdr_len = 0;
            on_handshake(t, sink, c, dir, d->hs_hdr[0], d->hs_skip ? NULL : d->hs, d->hs_len, ts,
                         decrypted);
            d->hs_skip = false;
        }
    }
}

/* ---- records ------------------------------------------------------------------------------- */

/* Content of a record that was opened with the keys. */
static void decrypted_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                             uint8_t type, const uint8_t *pt, uint32_t plen, uint32_t wire_len,
                             cs_time_t ts)
{
    t->sum.dec_records++;
    switch (type) {
    case CT_APP:
        app_record(t, dir, wire_len, ts);
        t->sum.plain_bytes[dir] += plen;
        if (plen > 0 && sink->plaintext != NULL)
            sink->plaintext(sink->ctx, c, dir == 0, pt, plen, ts);
        break;
    case CT_HANDSHAKE:
        hs_feed(t, sink, c, dir, pt, plen, ts, true);
        break;
    case CT_ALERT:
        alert_seen(t, dir, pt, plen);
        break;
    case CT_CCS:
        /* renegotiation under encryption: the next keys are not in the key log */
        t->d[dir].dec_lost = true;
        anomaly(t, sink, c, CS_ANOM_TLS_RENEGOTIATION);
        break;
    default:
        break;
    }
}

/* A protected record (TLS <= 1.2 after CCS; TLS 1.3 application_data). body is NULL when its
 * bytes were not kept (gap, over the cap). */
static void protected_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                             const uint8_t *hdr, const uint8_t *body, uint32_t len, cs_time_t ts)
{
    tdir *d = &t->d[dir];
    uint8_t type = hdr[0];
    bool keyed = t->plain != NULL && !d->dec_lost &&
                 (d->rp.ready || (t->tls13 && d->epoch == EP_HANDSHAKE));
    if (!t->sum.server_hello && dir == 0 && type == CT_APP) {
        /* 0-RTT early data before the ServerHello (its keys are not used here) */
        if (!t->early_reported)
            anomaly(t, sink, c, CS_ANOM_TLS_EARLY_DATA);
        t->early_reported = true;
        keyed = false;
    }
    if (keyed && body != NULL) {
        uint32_t plen = 0;
        uint8_t inner = 0;
        const uint8_t *pt = open_record(t, dir, hdr, body, len, &plen, &inner);
        if (pt != NULL) {
            d->seen_protected = true;
            decrypted_record(t, sink, c, dir, inner, pt, plen, len, ts);
            return;
        }
        t->sum.dec_failed++;
        if (!d->fail_reported) {
            d->fail_reported = true;
            anomaly(t, sink, c, CS_ANOM_TLS_DECRYPT_FAILED);
        }
    } else if (keyed && d->rp.ready && !d->seq_unknown) {
        d->rp.seq++; /* one whole record lost: numbering stays known */
    } else if (!keyed && body != NULL && t->keys_found && !t->unsupported &&
               t->sum.server_hello) {
        t->dec_missing++; /* no key for this direction/epoch, or decryption lost track */
    }
    /* not opened: account for it by what the header shows */
    bool app;
    if (t->tls13 || (!t->sum.server_hello && type == CT_APP && !d->ccs)) {
        /* without keys TLS 1.3 hides the inner type: the server's flight before the client's first
         * protected record is handshake, the client's first protected record is its Finished */
        app = dir == 0 ? d->seen_protected : t->d[0].seen_protected;
        if (app && t->tls13 && len == 2 + 1 + 16) {
            /* 19 bytes is an encrypted alert (2 bytes, inner type, AEAD tag): not data */
            app = false;
            t->sum.alerts[dir]++;
        }
        if (!t->sum.server_hello)
            app = true; /* early data */
    } else {
        app = type == CT_APP;
        if (type == CT_ALERT)
            t->sum.alerts[dir]++;
    }
    d->seen_protected = true;
    if (app) {
        app_record(t, dir, len, ts);
        if (keyed && !d->dec_lost)
            plaintext_gap(sink, c, dir, len - MIN(len, cs_tls_rp_overhead(&d->rp)), ts);
    }
}

/* ChangeCipherSpec starts protection in TLS <= 1.2; in TLS 1.3 (also after a HelloRetryRequest,
 * before the real ServerHello) it is a compatibility no-op. */
static bool ccs_starts_encryption(const cs_tls_conn *t)
{
    if (t->tls13 || t->sum.hello_retry)
        return false;
    if (t->sum.server_hello)
        return true;
    for (int i = 0; i < t->sum.n_offered_versions; i++) /* ServerHello not seen */
        if (t->sum.offered_versions[i] == 0x0304)
            return false;
    return true;
}

static void process_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                           const uint8_t *hdr, const uint8_t *body, uint32_t len, cs_time_t ts)
{
    tdir *d = &t->d[dir];
    uint8_t type = hdr[0];
    t->sum.records[dir]++;
    d->rec_version = (uint16_t)(hdr[1] << 8 | hdr[2]);
    zeek_established(t, dir, type);
    if (d->ccs || type == CT_APP) {
        if (type == CT_APP && !d->ccs && !t->tls13 && t->sum.server_hello) {
            /* TLS <= 1.2 application data before ChangeCipherSpec */
            anomaly(t, sink, c, CS_ANOM_TLS_PLAINTEXT_APPDATA);
            history_add(t, dir, 'd');
            app_record(t, dir, len, ts);
            return;
        }
        protected_record(t, sink, c, dir, hdr, body, len, ts);
        return;
    }
    if (body == NULL) {
        if (type == CT_HANDSHAKE)
            hs_reset(t, sink, c, d);
        return;
    }
    switch (type) {
    case CT_CCS:
        history_add(t, dir, 'i');
        if (ccs_starts_encryption(t)) {
            d->ccs = true;
            t->zccs[dir] = true;
            if (d->rp.ready)
                d->rp.seq = 0;
        }
        break;
    case CT_ALERT:
        history_add(t, dir, 'l');
        alert_seen(t, dir, body, len);
        break;
    case CT_HANDSHAKE:
        hs_feed(t, sink, c, dir, body, len, ts, false);
        break;
    case CT_HEARTBEAT:
        history_add(t, dir, 'b');
        break;
    default:
        history_add(t, dir, 'q');
        break;
    }
}

/* Record header check: 0 invalid, 1 fine, 2 valid but longer than the cap. */
static int header_ok(const uint8_t *h)
{
    if (h[0] < CT_CCS || h[0] > CT_HEARTBEAT || h[1] != 3 || h[2] > 4)
        return 0;
    uint32_t len = (uint32_t)h[3] << 8 | h[4];
    return len > CS_TLS_RECORD_MAX ? 2 : 1;
}

/* Stricter check used to find a record boundary after a gap. */
static bool header_plausible(const tdir *d, const uint8_t *h)
{
    uint16_t v = (uint16_t)(h[1] << 8 | h[2]);
    uint32_t len = (uint32_t)h[3] << 8 | h[4];
    if (h[0] < CT_ALERT || h[0] > CT_APP || len == 0 || len > CS_TLS_RECORD_MAX)
        return false;
    if (d->rec_version != 0)
        return v == d->rec_version;
    return v >= 0x0300 && v <= 0x0303;
}

static void stop_dir(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir, int a)
{
    t->d[dir].state = D_STOPPED;
    t->sum.stopped[dir] = true;
    if (a >= 0)
        anomaly(t, sink, c, a);
}

/* D_RECORDS: consumes bytes of records; returns how many were used. */
static uint32_t records(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                        const uint8_t *p, uint32_t len, cs_time_t ts)
{
    tdir *d = &t->d[dir];
    if (d->hdr_len == 0 && len >= 5 && header_ok(p) == 1) {
        uint32_t bl = (uint32_t)p[3] << 8 | p[4];
        if (len - 5 >= bl) { /* whole record in this chunk: zero copy */
            process_record(t, sink, c, dir, p, p + 5, bl, ts);
            return 5 + bl;
        }
    }
    uint32_t used = 0;
    if (d->hdr_len < 5) {
        uint32_t take = MIN(5u - d->hdr_len, len);
        memcpy(d->hdr + d->hdr_len, p, take);
        d->hdr_len = (uint8_t)(d->hdr_len + take);
        used = take;
        if (d->hdr_len < 5)
            return used;
        int ok = header_ok(d->hdr);
        if (ok == 0) {
            stop_dir(t, sink, c, dir, CS_ANOM_TLS_BAD_RECORD);
            return len;
        }
        d->body_len = (uint32_t)d->hdr[3] << 8 | d->hdr[4];
        d->body_have = 0;
        d->skipping = ok == 2;
        d->lost = false;
        if (d->skipping) {
            t->sum.record_cap_hits++;
            anomaly(t, sink, c, CS_ANOM_TLS_RECORD_TOO_LONG);
        } else {
            grow(&d->buf, &d->buf_cap, d->body_len);
        }
    }
    uint32_t take = MIN(d->body_len - d->body_have, len - used);
    if (!d->skipping && !d->lost && take > 0)
        memcpy(d->buf + d->body_have, p + used, take);
    d->body_have += take;
    used += take;
    if (d->body_have == d->body_len) {
        bool whole = !d->skipping && !d->lost;
        d->hdr_len = 0;
        process_record(t, sink, c, dir, d->hdr, whole ? d->buf : NULL, d->body_len, ts);
        d->skipping = d->lost = false;
    }
    return used;
}

/* D_RESYNC: looks for a plausible record header; returns the bytes skipped before it (the caller
 * then parses records from there) or len when none was found in this chunk. */
static uint32_t resync(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                       const uint8_t *p, uint32_t len)
{
    tdir *d = &t->d[dir];
    bool edge = d->at_gap_edge;
    d->at_gap_edge = false;
    for (uint32_t i = 0; i + 5 <= len; i++) {
        if (!header_plausible(d, p + i))
            continue;
        uint32_t end = i + 5 + ((uint32_t)p[i + 3] << 8 | p[i + 4]);
        /* confirm by the next header when it is in this chunk */
        if (!(edge && i == 0) && end + 5 <= len && !header_plausible(d, p + end))
            continue;
        d->state = D_RECORDS;
        d->hdr_len = 0;
        d->lost_bytes += i;
        t->sum.resyncs++;
        anomaly(t, sink, c, CS_ANOM_TLS_GAP_RESYNC);
        return i;
    }
    d->resync_scanned += len;
    d->lost_bytes += len;
    if (d->resync_scanned > RESYNC_MAX)
        stop_dir(t, sink, c, dir, CS_ANOM_TLS_GAP_LOST);
    return len;
}

void cs_tls_data(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                 const uint8_t *p, uint32_t len, cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    uint32_t off = 0;
    while (off < len) {
        switch (d->state) {
        case D_STOPPED:
            return;
        case D_START:
            /* an SSLv2 record header has the high bit set; TLS content types are 20..24 */
            d->state = dir == 0 && (p[off] & 0x80) ? D_SSL2 : D_RECORDS;
            break;
        case D_SSL2: {
            if (d->hdr_len < 2) {
                uint32_t take = MIN(2u - d->hdr_len, len - off);
                memcpy(d->hdr + d->hdr_len, p + off, take);
                d->hdr_len = (uint8_t)(d->hdr_len + take);
                off += take;
                if (d->hdr_len < 2)
                    break;
                d->body_len = (uint32_t)(d->hdr[0] & 0x7f) << 8 | d->hdr[1];
                d->body_have = 0;
                grow(&d->buf, &d->buf_cap, d->body_len);
            }
            uint32_t take = MIN(d->body_len - d->body_have, len - off);
            if (take > 0)
                memcpy(d->buf + d->body_have, p + off, take);
            d->body_have += take;
            off += take;
            if (d->body_have == d->body_len) {
                parse_sslv2_hello(t, sink, c, d->buf, d->body_len, ts);
                d->hdr_len = 0;
                d->state = D_RECORDS;
            }
            break;
        }
        case D_RESYNC:
            off += resync(t, sink, c, dir, p + off, len - off);
            break;
        default:
            off += records(t, sink, c, dir, p + off, len - off, ts);
            break;
        }
    }
}

void cs_tls_gap(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                uint32_t len, cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    if (d->state == D_STOPPED || len == 0)
        return;
    t->sum.gaps[dir]++;
    t->sum.gap_bytes[dir] += len;
    hs_reset(t, sink, c, d);
    if (d->state == D_RECORDS && d->hdr_len == 5) {
        uint32_t rem = d->body_len - d->body_have;
        d->lost = true;
        if (len < rem) { /* the hole is inside the current record: framing kept */
            d->body_have += len;
            return;
        }
        /* the record ends in (or at the end of) the hole: counted, not read */
        d->hdr_len = 0;
        process_record(t, sink, c, dir, d->hdr, NULL, d->body_len, ts);
        d->lost = d->skipping = false;
        if (len == rem)
            return;
        len -= rem;
    }
    if (d->rp.ready && !d->dec_lost && (d->ccs || t->tls13))
        plaintext_gap(sink, c, dir, len, ts);
    /* framing lost: find the next record header */
    d->state = D_RESYNC;
    d->hdr_len = 0;
    d->resync_scanned = 0;
    d->at_gap_edge = true;
    d->seq_unknown = true;
    d->lost_bytes += len;
}

void cs_tls_end(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, bool from_client,
                cs_time_t ts)
{
    int dir = from_client ? 0 : 1;
    tdir *d = &t->d[dir];
    (void)ts;
    if ((d->state == D_RECORDS || d->state == D_SSL2) && d->hdr_len > 0) {
        anomaly(t, sink, c, CS_ANOM_TLS_TRUNCATED);
        d->hdr_len = 0;
    }
    if (d->state != D_STOPPED)
        d->state = D_STOPPED;
}

void cs_tls_finish(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, cs_tls_summary *sum)
{
    (void)sink;
    (void)c;
    cs_tls_summary *s = &t->sum;
    cs_time_t first = -1;
    for (int i = 0; i < 2; i++)
        if (s->first_app_ts[i] >= 0 && (first < 0 || s->first_app_ts[i] < first))
            first = s->first_app_ts[i];
    s->handshake_ns = first >= 0 && s->client_hello_ts >= 0 ? first - s->client_hello_ts : -1;
    if (t->cfg == NULL || t->cfg->keylog == NULL)
        s->dec_status = CS_TLS_DEC_NONE;
    else if (!t->keys_found)
        s->dec_status = CS_TLS_DEC_NO_KEYS;
    else if (t->unsupported)
        s->dec_status = CS_TLS_DEC_UNSUPPORTED;
    else if (s->dec_records == 0 && (s->dec_failed > 0 || t->dec_missing > 0))
        s->dec_status = CS_TLS_DEC_FAILED;
    else if (s->dec_failed > 0 || t->dec_missing > 0 ||
             ((s->gaps[0] || s->gaps[1]) && s->dec_records > 0))
        s->dec_status = CS_TLS_DEC_PARTIAL;
    else
        s->dec_status = CS_TLS_DEC_OK;
    s->turn_p50_us = cs_q50_median(&t->turn_q);
    if (sum == NULL)
        return;
    *sum = *s;
    sum->ja3 = g_strdup(s->ja3);
    sum->ja3s = g_strdup(s->ja3s);
}

int cs_tls_detect(const uint8_t *p, uint32_t len)
{
    if (len < 1)
        return -1;
    if (p[0] == 0x16) {
        if (len >= 2 && p[1] != 0x03)
            return 0;
        if (len >= 3 && p[2] > 0x04)
            return 0;
        if (len < 6)
            return -1;
        return p[5] == 0x01 ? 1 : 0;
    }
    if (p[0] & 0x80) {
        /* SSLv2 record: 2-byte length, msg type 1 (CLIENT-HELLO), version 0x0002 or 0x03xx */
        if (len < 4)
            return -1;
        return p[2] == 0x01 && (p[3] == 0x00 || p[3] == 0x03) ? 1 : 0;
    }
    return 0;
}
