/* tls_keys.c - TLS over TCP with a key log: the read keys of each direction and epoch, and trial
 * decryption (nearby sequence numbers after a gap, application keys during a TLS 1.3 handshake
 * whose Finished was lost). The record cryptography itself is tls_decrypt.c. */
#include <string.h>

#include <glib.h>

#include "tls_conn.h"

static void need_plain(cs_tls_conn *t)
{
    if (t->plain == NULL)
        t->plain = g_malloc(CS_TLS_PLAIN_BUF);
}

void tls_setup_keys(cs_tls_conn *t, const cs_tls_sink *sink, const cs_conn *c)
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
            tls_anomaly(t, sink, c, CS_ANOM_TLS_NO_KEYS);
            return;
        }
        t->keys_found = true;
        if (t->suite == NULL || t->suite->bulk == CS_BULK_NONE || !t->suite->tls13 ||
            t->sum.version != 0x0304) {
            t->unsupported = true;
            tls_anomaly(t, sink, c, CS_ANOM_TLS_UNSUPPORTED_CIPHER);
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
        tls_anomaly(t, sink, c, CS_ANOM_TLS_NO_KEYS);
        return;
    }
    t->keys_found = true;
    if (t->suite == NULL || t->suite->bulk == CS_BULK_NONE || t->suite->tls13 ||
        !cs_tls_rp_init12(&t->d[0].rp, &t->d[1].rp, t->suite, t->sum.version, t->ch_etm, sec, sl,
                          t->client_random, t->server_random)) {
        t->unsupported = true;
        tls_anomaly(t, sink, c, CS_ANOM_TLS_UNSUPPORTED_CIPHER);
        return;
    }
    need_plain(t);
}

void tls_enter_app_epoch(cs_tls_conn *t, int dir)
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
    uint64_t max = MIN((uint64_t)TLS_SEQ_TRIALS, d->lost_bytes / min_rec + 2);
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

const uint8_t *tls_open_record(cs_tls_conn *t, int dir, const uint8_t *hdr, const uint8_t *body,
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
