/* app_tls.c - TLS over TCP, one connection: what its records carry (handshake messages to the
 * hello parser and fingerprints, alerts, ChangeCipherSpec, application data), Zeek's history and
 * `established`, decryption hand-off, the exchange estimate, the summary. Record framing is
 * tls_record.c, trial decryption tls_keys.c, hello parsing tls_hello.c, fingerprints
 * tls_fingerprint.c, handshake message reassembly tls_handshake.c, names tls_names.c. */
#include <string.h>

#include <glib.h>

#include "tls_conn.h"
#include "tls_fingerprint.h"
#include "tls_hello.h"
#include "tls_names.h"
#include "wire.h"

#define HISTORY_MAX 100 /* Zeek's SSL::max_ssl_history_length */

/* ---- anomalies, names ------------------------------------------------------------------------ */

void tls_anomaly(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, cs_anomaly a)
{
    t->sum.anomalies++;
    if (a >= CS_ANOM_TLS_FIRST && a <= CS_ANOM_TLS_LAST)
        t->sum.anomaly_count[a - CS_ANOM_TLS_FIRST]++;
    if (sink->anomaly != NULL)
        sink->anomaly(sink->ctx, c, a);
}

uint32_t cs_tls_anomaly_count(const cs_tls_summary *s, cs_anomaly a)
{
    return a >= CS_ANOM_TLS_FIRST && a <= CS_ANOM_TLS_LAST ? s->anomaly_count[a - CS_ANOM_TLS_FIRST]
                                                           : 0;
}

const char *cs_tls_dec_status_name(cs_tls_dec_status s)
{
    static const char *const names[] = {"none", "ok", "failed", "no_keys", "partial",
                                        "unsupported"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
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
        cs_tls_msgs_free(&t->d[i].hs);
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

/* ---- history, application data, the exchange estimate, Zeek's established ------------------ */

static void history_add(cs_tls_conn *t, int dir, char server_letter)
{
    size_t n = strlen(t->sum.history);
    if (n < HISTORY_MAX && n + 1 < sizeof t->sum.history) {
        t->sum.history[n] = dir == 0 ? g_ascii_toupper(server_letter) : server_letter;
        t->sum.history[n + 1] = '\0';
    }
}

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

void tls_plaintext_gap(const cs_tls_sink *sink, const cs_conn *c, int dir, uint32_t len,
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

/* ---- hellos: parsed facts into the summary ------------------------------------------------- */

/* Parses a hello or EncryptedExtensions into h, counting a malformed one (tls_bad_handshake).
 * Returns false, h cleared, when it holds no facts. */
static bool parse_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, uint8_t type,
                        const uint8_t *p, uint32_t len, cs_tls_hello *h)
{
    if (!cs_tls_hello_parse(type, p, len, h)) {
        tls_anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
        cs_tls_hello_clear(h);
        return false;
    }
    if (h->truncated)
        tls_anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
    return true;
}

static void client_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                         const uint8_t *p, uint32_t len)
{
    cs_tls_summary *s = &t->sum;
    cs_tls_hello h;
    if (!parse_hello(t, sink, c, CS_TLS_HS_CLIENT_HELLO, p, len, &h))
        return;
    memcpy(t->client_random, h.random, 32);
    t->have_client_random = true;
    s->client_version = h.legacy_version;
    t->ch_sid_len = h.session_id_len;
    memcpy(t->ch_sid, h.session_id, sizeof t->ch_sid);
    g_strlcpy(s->server_name, h.server_name, sizeof s->server_name);
    s->n_offered_versions = 0;
    for (uint32_t i = 0; i < h.n_versions && i < CS_TLS_MAX_VERSIONS; i++)
        s->offered_versions[s->n_offered_versions++] = h.versions[i];
    t->ch_ticket = h.ticket;
    t->ch_etm = h.etm;
    t->ch_early_data = h.early_data;
    g_strlcpy(s->alpn_offered, h.alpn, sizeof s->alpn_offered);
    g_free(s->ja3);
    s->ja3 = cs_tls_ja3(&h, s->ja3_md5);
    cs_tls_ja4(&h, 't', s->ja4);
    cs_tls_hello_clear(&h);
}

/* The negotiated facts of a ServerHello (not a HelloRetryRequest), then the keys. */
static void server_hello_facts(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                               const cs_tls_hello *h)
{
    cs_tls_summary *s = &t->sum;
    char buf[24];
    s->server_hello = true;
    memcpy(t->server_random, h->random, 32);
    s->version = h->selected_version != 0 ? h->selected_version : h->legacy_version;
    t->tls13 = s->version == 0x0304 || s->version >> 8 == 0x7f;
    g_strlcpy(s->version_name, cs_tls_version_name(s->version, buf), sizeof s->version_name);
    s->cipher = h->cipher;
    t->suite = cs_tls_suite_find(h->cipher);
    if (t->suite != NULL)
        g_strlcpy(s->cipher_name, t->suite->name, sizeof s->cipher_name);
    else
        g_snprintf(s->cipher_name, sizeof s->cipher_name, "0x%04x", h->cipher);
    if (h->alpn[0] != '\0')
        g_strlcpy(s->next_protocol, h->alpn, sizeof s->next_protocol);
    if (h->key_share_group != 0)
        g_strlcpy(s->curve, cs_tls_group_name(h->key_share_group, buf), sizeof s->curve);
    if (t->tls13) {
        if (h->psk) {
            s->resumed = true;
            s->resumed_how = CS_TLS_RES_PSK;
        }
    } else if (h->session_id_len > 0 && h->session_id_len == t->ch_sid_len &&
               memcmp(h->session_id, t->ch_sid, h->session_id_len) == 0) {
        s->resumed = true;
        s->resumed_how = t->ch_ticket ? CS_TLS_RES_TICKET : CS_TLS_RES_SESSION_ID;
    }
    t->ch_etm = t->ch_etm && h->etm;
    tls_setup_keys(t, sink, c);
}

static void server_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c,
                         const uint8_t *p, uint32_t len)
{
    cs_tls_summary *s = &t->sum;
    cs_tls_hello h;
    if (!parse_hello(t, sink, c, CS_TLS_HS_SERVER_HELLO, p, len, &h))
        return;
    g_free(s->ja3s);
    s->ja3s = cs_tls_ja3s(&h, s->ja3s_md5);
    if (h.retry)
        s->hello_retry = true;
    else if (s->server_hello)
        tls_anomaly(t, sink, c, CS_ANOM_TLS_RENEGOTIATION);
    else
        server_hello_facts(t, sink, c, &h);
    cs_tls_hello_clear(&h);
}

/* TLS 1.3 EncryptedExtensions (seen only when decrypting): the chosen ALPN. */
static void encrypted_extensions(cs_tls_conn *t, const uint8_t *p, uint32_t len)
{
    cs_tls_hello h;
    if (cs_tls_hello_parse(CS_TLS_HS_ENCRYPTED_EXTENSIONS, p, len, &h) && h.has_alpn)
        g_strlcpy(t->sum.next_protocol, h.alpn, sizeof t->sum.next_protocol);
    cs_tls_hello_clear(&h);
}

static void parse_server_key_exchange(cs_tls_conn *t, const uint8_t *p, uint32_t len)
{
    if (t->suite == NULL || strstr(t->suite->name, "_ECDHE_") == NULL)
        return;
    cs_wire w = cs_wire_make(p, len);
    if (cs_wire_u8(&w, 0) == 3) { /* named_curve */
        uint16_t g = cs_wire_be16(&w, 1);
        char buf[24];
        if (!w.trunc)
            g_strlcpy(t->sum.curve, cs_tls_group_name(g, buf), sizeof t->sum.curve);
    }
}

void tls_sslv2_hello(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, const uint8_t *p,
                     uint32_t len, cs_time_t ts)
{
    cs_tls_summary *s = &t->sum;
    cs_tls_hello h;
    tls_anomaly(t, sink, c, CS_ANOM_TLS_SSLV2_HELLO);
    s->sslv2_hello = true;
    s->records[0]++;
    if (cs_tls_sslv2_hello_parse(p, len, &h)) {
        memcpy(t->client_random, h.random, 32);
        t->have_client_random = true;
        s->client_hello = true;
        s->client_version = h.legacy_version;
        s->client_hello_ts = ts;
        t->n_client_hellos++;
        history_add(t, 0, 'c');
    }
    cs_tls_hello_clear(&h);
}

/* ---- handshake messages -------------------------------------------------------------------- */

/* Where tls_handshake.c hands whole messages of one direction. */
typedef struct hs_ctx {
    cs_tls_conn *t;
    const cs_tls_sink *sink;
    const cs_conn *c;
    int dir;
    cs_time_t ts;
    bool decrypted;
} hs_ctx;

static void on_client_hello(const hs_ctx *x, const uint8_t *body, uint32_t len)
{
    cs_tls_conn *t = x->t;
    cs_tls_summary *s = &t->sum;
    if (x->dir != 0)
        return;
    t->n_client_hellos++;
    if (t->n_client_hellos == 1 && body != NULL) {
        s->client_hello = true;
        s->client_hello_ts = x->ts;
        client_hello(t, x->sink, x->c, body, len);
    } else if (t->n_client_hellos > 1 && !(s->hello_retry && !s->server_hello)) {
        tls_anomaly(t, x->sink, x->c, CS_ANOM_TLS_RENEGOTIATION);
    }
}

static void on_message(void *ctx, uint8_t type, const uint8_t *body, uint32_t len)
{
    const hs_ctx *x = ctx;
    cs_tls_conn *t = x->t;
    int dir = x->dir;
    bool hrr = type == CS_TLS_HS_SERVER_HELLO && cs_tls_is_hello_retry(body, len);
    if (!x->decrypted)
        history_add(t, dir, hrr ? 'j' : cs_tls_history_letter(type));
    switch (type) {
    case CS_TLS_HS_CLIENT_HELLO:
        on_client_hello(x, body, len);
        break;
    case CS_TLS_HS_SERVER_HELLO:
        if (dir != 1 || body == NULL)
            break;
        if (!hrr && !t->sum.server_hello)
            t->sum.server_hello_ts = x->ts;
        server_hello(t, x->sink, x->c, body, len);
        break;
    case CS_TLS_HS_NEW_SESSION_TICKET:
        if (dir == 1)
            t->sum.ticket_issued = true;
        break;
    case CS_TLS_HS_ENCRYPTED_EXTENSIONS:
        if (dir == 1 && body != NULL)
            encrypted_extensions(t, body, len);
        break;
    case CS_TLS_HS_SERVER_KEY_EXCHANGE:
        if (dir == 1 && body != NULL)
            parse_server_key_exchange(t, body, len);
        break;
    case CS_TLS_HS_FINISHED:
        if (t->tls13 && x->decrypted && t->d[dir].epoch == EP_HANDSHAKE)
            tls_enter_app_epoch(t, dir);
        break;
    case CS_TLS_HS_KEY_UPDATE:
        if (t->tls13 && x->decrypted)
            cs_tls_rp_update13(&t->d[dir].rp);
        break;
    default:
        break;
    }
}

static void on_message_too_long(void *ctx, uint32_t len)
{
    const hs_ctx *x = ctx;
    (void)len;
    x->t->sum.hs_cap_hits++;
    tls_anomaly(x->t, x->sink, x->c, CS_ANOM_TLS_HS_TOO_LONG);
}

void tls_hs_reset(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir)
{
    if (cs_tls_msgs_reset(&t->d[dir].hs))
        tls_anomaly(t, sink, c, CS_ANOM_TLS_BAD_HANDSHAKE);
}

/* Feeds the body of a handshake record (plaintext or decrypted): messages may span records and a
 * record may hold several. */
static void hs_feed(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
                    const uint8_t *p, uint32_t len, cs_time_t ts, bool decrypted)
{
    tdir *d = &t->d[dir];
    if (d->hs_decrypted != decrypted) {
        tls_hs_reset(t, sink, c, dir); /* a message cannot span a change of keys */
        d->hs_decrypted = decrypted;
    }
    hs_ctx x = {.t = t, .sink = sink, .c = c, .dir = dir, .ts = ts, .decrypted = decrypted};
    cs_tls_msg_sink ms = {.ctx = &x, .message = on_message, .too_long = on_message_too_long};
    cs_tls_msgs_feed(&d->hs, p, len, TLS_HS_MAX, &ms);
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
        tls_anomaly(t, sink, c, CS_ANOM_TLS_RENEGOTIATION);
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
            tls_anomaly(t, sink, c, CS_ANOM_TLS_EARLY_DATA);
        t->early_reported = true;
        keyed = false;
    }
    if (keyed && body != NULL) {
        uint32_t plen = 0;
        uint8_t inner = 0;
        const uint8_t *pt = tls_open_record(t, dir, hdr, body, len, &plen, &inner);
        if (pt != NULL) {
            d->seen_protected = true;
            decrypted_record(t, sink, c, dir, inner, pt, plen, len, ts);
            return;
        }
        t->sum.dec_failed++;
        if (!d->fail_reported) {
            d->fail_reported = true;
            tls_anomaly(t, sink, c, CS_ANOM_TLS_DECRYPT_FAILED);
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
            tls_plaintext_gap(sink, c, dir, len - MIN(len, cs_tls_rp_overhead(&d->rp)), ts);
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

void tls_process_record(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c, int dir,
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
            tls_anomaly(t, sink, c, CS_ANOM_TLS_PLAINTEXT_APPDATA);
            history_add(t, dir, 'd');
            app_record(t, dir, len, ts);
            return;
        }
        protected_record(t, sink, c, dir, hdr, body, len, ts);
        return;
    }
    if (body == NULL) {
        if (type == CT_HANDSHAKE)
            tls_hs_reset(t, sink, c, dir);
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

/* ---- the end ------------------------------------------------------------------------------- */

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
