/* tls_decrypt.c - NSS key log reader, TLS key schedules (PRF, HKDF-Expand-Label) and record opening
 * (AES-GCM, ChaCha20-Poly1305, AES-CBC+HMAC) with OpenSSL EVP and the one-shot HMAC. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tls_decrypt.h"
#include "util.h"

/* ---- NSS key log --------------------------------------------------------------------------- */

struct cs_keylog {
    GHashTable *map;  /* kl_key -> kl_val */
    uint32_t skipped;
};

typedef struct kl_key {
    uint8_t label;
    uint8_t random[32];
} kl_key;

typedef struct kl_val {
    uint32_t len;
    uint8_t secret[CS_KEYLOG_SECRET_MAX];
} kl_val;

static const char *const kl_names[CS_KL_COUNT] = {
    "CLIENT_RANDOM",
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
};

static guint kl_hash(gconstpointer p)
{
    const kl_key *k = p;
    uint32_t h;
    memcpy(&h, k->random, 4); /* client randoms are random: their first bytes hash well */
    return h ^ (uint32_t)k->label * 0x9e3779b1u;
}

static gboolean kl_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(kl_key)) == 0;
}

/* Parses one line (not NUL-terminated, length n). Returns true if it was a key line it stored;
 * *ignorable is set for blank and comment lines. */
static bool parse_line(cs_keylog *kl, const char *s, size_t n, bool *ignorable)
{
    *ignorable = false;
    while (n > 0 && g_ascii_isspace(s[n - 1]))
        n--;
    while (n > 0 && g_ascii_isspace(*s)) {
        s++;
        n--;
    }
    if (n == 0 || s[0] == '#') {
        *ignorable = true;
        return false;
    }
    /* three whitespace-separated fields */
    const char *f[3];
    size_t fl[3];
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        while (i < n && g_ascii_isspace(s[i]))
            i++;
        f[k] = s + i;
        while (i < n && !g_ascii_isspace(s[i]))
            i++;
        fl[k] = (size_t)(s + i - f[k]);
        if (fl[k] == 0)
            return false;
    }
    while (i < n && g_ascii_isspace(s[i]))
        i++;
    if (i != n)
        return false;
    int label = -1;
    for (int k = 0; k < CS_KL_COUNT; k++)
        if (strlen(kl_names[k]) == fl[0] && memcmp(kl_names[k], f[0], fl[0]) == 0)
            label = k;
    if (label < 0 || fl[1] != 64 || fl[2] % 2 != 0 || fl[2] / 2 > CS_KEYLOG_SECRET_MAX)
        return false;
    kl_key key;
    memset(&key, 0, sizeof key);
    key.label = (uint8_t)label;
    kl_val val;
    memset(&val, 0, sizeof val);
    val.len = (uint32_t)(fl[2] / 2);
    if (!cs_unhex(f[1], 32, key.random) || !cs_unhex(f[2], val.len, val.secret))
        return false;
    if (label == CS_KL_CLIENT_RANDOM && val.len != 48)
        return false;
    g_hash_table_replace(kl->map, g_memdup2(&key, sizeof key), g_memdup2(&val, sizeof val));
    return true;
}

cs_keylog *cs_keylog_parse(const char *text, size_t len)
{
    cs_keylog *kl = g_new0(cs_keylog, 1);
    kl->map = g_hash_table_new_full(kl_hash, kl_equal, g_free, g_free);
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        bool ignorable;
        if (!parse_line(kl, text + i, end - i, &ignorable) && !ignorable)
            kl->skipped++;
        i = end + 1;
    }
    return kl;
}

/* Reads the whole file at path; a file that is not a regular one (a device, a pipe) fails once
 * more than `max` bytes came (g_file_get_contents would read /dev/zero until memory runs out).
 * Returns the bytes (caller frees) or NULL. */
static GByteArray *read_capped(const char *path, size_t max, GError **err)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (fp == NULL) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot open: %s", path,
                    g_strerror(e));
        return NULL;
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
        max = SIZE_MAX - 1; /* its size is what it is */
    GByteArray *b = g_byte_array_new();
    uint8_t buf[1 << 16];
    size_t n;
    while (b->len <= max && (n = fread(buf, 1, sizeof buf, fp)) > 0)
        g_byte_array_append(b, buf, (guint)n);
    int e = ferror(fp) ? errno : 0;
    fclose(fp);
    if (e != 0 || b->len > max) {
        if (e != 0)
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: read error: %s", path,
                        g_strerror(e));
        else
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "%s: not a regular file, and more than %u MiB came from it: not a key "
                        "log",
                        path, (unsigned)(max >> 20));
        g_byte_array_free(b, TRUE);
        return NULL;
    }
    return b;
}

cs_keylog *cs_keylog_load(const char *path, GError **err)
{
    GByteArray *text = read_capped(path, CS_KEYLOG_MAX_STREAM_BYTES, err);
    if (text == NULL)
        return NULL;
    cs_keylog *kl = cs_keylog_parse((const char *)text->data, text->len);
    g_byte_array_free(text, TRUE);
    if (cs_keylog_size(kl) == 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: no NSS key log lines (CLIENT_RANDOM, *_TRAFFIC_SECRET*) found", path);
        cs_keylog_free(kl);
        return NULL;
    }
    return kl;
}

uint32_t cs_keylog_size(const cs_keylog *kl)
{
    return kl != NULL ? g_hash_table_size(kl->map) : 0;
}

uint32_t cs_keylog_skipped(const cs_keylog *kl)
{
    return kl != NULL ? kl->skipped : 0;
}

bool cs_keylog_find(const cs_keylog *kl, cs_keylog_label label, const uint8_t client_random[32],
                    const uint8_t **secret, uint32_t *len)
{
    if (kl == NULL)
        return false;
    kl_key key;
    memset(&key, 0, sizeof key);
    key.label = (uint8_t)label;
    memcpy(key.random, client_random, 32);
    const kl_val *v = g_hash_table_lookup(kl->map, &key);
    if (v == NULL)
        return false;
    *secret = v->secret;
    *len = v->len;
    return true;
}

void cs_keylog_free(cs_keylog *kl)
{
    if (kl == NULL)
        return;
    g_hash_table_destroy(kl->map);
    g_free(kl);
}

/* ---- cipher suites ------------------------------------------------------------------------- */

#define GCM CS_BULK_AES_GCM
#define CHA CS_BULK_CHACHA
#define CBC CS_BULK_AES_CBC
#define NON CS_BULK_NONE
#define S1 CS_HASH_SHA1
#define S256 CS_HASH_SHA256
#define S384 CS_HASH_SHA384

/* Common suites (IANA TLS Cipher Suites registry). prf is the TLS 1.2 PRF / TLS 1.3 HKDF hash. */
static const cs_tls_suite suites[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL", NON, 0, 0, S256, false},
    {0x0001, "TLS_RSA_WITH_NULL_MD5", NON, 0, 0, S256, false},
    {0x0002, "TLS_RSA_WITH_NULL_SHA", NON, 0, 0, S256, false},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", NON, 16, 0, S256, false},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", NON, 16, 0, S256, false},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", NON, 24, 0, S256, false},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", NON, 24, 0, S256, false},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", NON, 24, 0, S256, false},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", CBC, 16, S1, S256, false},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", CBC, 16, S1, S256, false},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", CBC, 16, S1, S256, false},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", CBC, 32, S1, S256, false},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", CBC, 32, S1, S256, false},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", CBC, 32, S1, S256, false},
    {0x003b, "TLS_RSA_WITH_NULL_SHA256", NON, 0, 0, S256, false},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", CBC, 16, S256, S256, false},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", CBC, 32, S256, S256, false},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", CBC, 16, S256, S256, false},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", CBC, 32, S256, S256, false},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", GCM, 16, 0, S256, false},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", GCM, 32, 0, S384, false},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", GCM, 16, 0, S256, false},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", GCM, 32, 0, S384, false},
    {0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256", GCM, 16, 0, S256, false},
    {0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384", GCM, 32, 0, S384, false},
    {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", NON, 0, 0, S256, false},
    {0x1301, "TLS_AES_128_GCM_SHA256", GCM, 16, 0, S256, true},
    {0x1302, "TLS_AES_256_GCM_SHA384", GCM, 32, 0, S384, true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, true},
    {0x1304, "TLS_AES_128_CCM_SHA256", NON, 16, 0, S256, true},
    {0x1305, "TLS_AES_128_CCM_8_SHA256", NON, 16, 0, S256, true},
    {0x5600, "TLS_FALLBACK_SCSV", NON, 0, 0, S256, false},
    {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", NON, 16, 0, S256, false},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", NON, 24, 0, S256, false},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", CBC, 16, S1, S256, false},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", CBC, 32, S1, S256, false},
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", NON, 16, 0, S256, false},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", NON, 24, 0, S256, false},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", CBC, 16, S1, S256, false},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", CBC, 32, S1, S256, false},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", CBC, 16, S256, S256, false},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", CBC, 32, S384, S384, false},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", CBC, 16, S256, S256, false},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", CBC, 32, S384, S384, false},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", GCM, 16, 0, S256, false},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", GCM, 32, 0, S384, false},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", GCM, 16, 0, S256, false},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", GCM, 32, 0, S384, false},
    {0xc09c, "TLS_RSA_WITH_AES_128_CCM", NON, 16, 0, S256, false},
    {0xc09d, "TLS_RSA_WITH_AES_256_CCM", NON, 32, 0, S256, false},
    {0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", NON, 16, 0, S256, false},
    {0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", NON, 32, 0, S256, false},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, false},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, false},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, false},
    {0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, false},
    {0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", CHA, 32, 0, S256, false},
};

const cs_tls_suite *cs_tls_suite_find(uint16_t id)
{
    size_t lo = 0, hi = CS_ARRAY_LEN(suites);
    while (lo < hi) { /* the table is sorted by id */
        size_t mid = (lo + hi) / 2;
        if (suites[mid].id == id)
            return &suites[mid];
        if (suites[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- key schedules ------------------------------------------------------------------------- */

static const EVP_MD *md_of(cs_tls_hash h)
{
    switch (h) {
    case CS_HASH_SHA1:
        return EVP_sha1();
    case CS_HASH_SHA256:
        return EVP_sha256();
    case CS_HASH_SHA384:
        return EVP_sha384();
    default:
        return NULL;
    }
}

static uint32_t hash_len(cs_tls_hash h)
{
    return h == CS_HASH_SHA1 ? 20 : h == CS_HASH_SHA256 ? 32 : h == CS_HASH_SHA384 ? 48 : 0;
}

static bool hmac(const EVP_MD *md, const uint8_t *key, uint32_t key_len, const uint8_t *data,
                 size_t len, uint8_t *out)
{
    unsigned int n = 0;
    return HMAC(md, key, (int)key_len, data, len, out, &n) != NULL;
}

uint32_t cs_tls13_hkdf_label(uint8_t info[CS_HKDF_LABEL_MAX], uint32_t out_len, const char *label,
                             const uint8_t *context, uint32_t context_len)
{
    /* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> */
    size_t label_len = strlen(label);
    uint32_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(label_len + 6);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += (uint32_t)label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    return n + context_len;
}

bool cs_tls13_expand_label(cs_tls_hash h, const uint8_t *secret, uint32_t secret_len,
                           const char *label, const uint8_t *context, uint32_t context_len,
                           uint8_t *out, uint32_t out_len)
{
    const EVP_MD *md = md_of(h);
    size_t label_len = strlen(label);
    uint32_t hl = hash_len(h);
    if (md == NULL || out_len > 255 * hl || label_len + 6 > 255 || context_len > 255)
        return false;
    uint8_t info[CS_HKDF_LABEL_MAX];
    uint32_t n = cs_tls13_hkdf_label(info, out_len, label, context, context_len);
    /* HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(PRK, T(i-1) | info | i) */
    uint8_t buf[64 + sizeof info + 1];
    uint8_t t[64];
    uint32_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        memcpy(buf, t, t_len);
        memcpy(buf + t_len, info, n);
        buf[t_len + n] = i;
        if (!hmac(md, secret, secret_len, buf, t_len + n + 1, t))
            return false;
        t_len = hl;
        uint32_t take = MIN(hl, out_len - done);
        memcpy(out + done, t, take);
        done += take;
    }
    return true;
}

/* P_hash (RFC 5246 5): XORs (xor) or writes the expansion of secret over seed into out. */
static bool p_hash(const EVP_MD *md, uint32_t hl, const uint8_t *secret, uint32_t secret_len,
                   const uint8_t *seed, uint32_t seed_len, uint8_t *out, uint32_t out_len, bool xor)
{
    uint8_t a[64], buf[64 + 256], t[64];
    if (!hmac(md, secret, secret_len, seed, seed_len, a)) /* A(1) */
        return false;
    for (uint32_t done = 0; done < out_len;) {
        memcpy(buf, a, hl);
        memcpy(buf + hl, seed, seed_len);
        if (!hmac(md, secret, secret_len, buf, hl + seed_len, t))
            return false;
        uint32_t take = MIN(hl, out_len - done);
        for (uint32_t i = 0; i < take; i++)
            out[done + i] = xor ? (uint8_t)(out[done + i] ^ t[i]) : t[i];
        done += take;
        if (!hmac(md, secret, secret_len, a, hl, a)) /* A(i+1) */
            return false;
    }
    return true;
}

bool cs_tls_prf(cs_tls_hash h, const uint8_t *secret, uint32_t secret_len, const char *label,
                const uint8_t *seed, uint32_t seed_len, uint8_t *out, uint32_t out_len)
{
    size_t label_len = strlen(label);
    if (seed_len > 128 || label_len > 64)
        return false;
    uint8_t ls[64 + 128];
    memcpy(ls, label, label_len);
    memcpy(ls + label_len, seed, seed_len);
    uint32_t ls_len = (uint32_t)label_len + seed_len;
    if (h != CS_HASH_NONE) {
        const EVP_MD *md = md_of(h);
        return md != NULL && p_hash(md, hash_len(h), secret, secret_len, ls, ls_len, out, out_len,
                                    false);
    }
    /* TLS 1.0/1.1: P_MD5 over the first half of the secret xor P_SHA-1 over the second half */
    uint32_t half = (secret_len + 1) / 2;
    return p_hash(EVP_md5(), 16, secret, half, ls, ls_len, out, out_len, false) &&
           p_hash(EVP_sha1(), 20, secret + (secret_len - half), half, ls, ls_len, out, out_len,
                  true);
}

/* ---- record protection --------------------------------------------------------------------- */

static const EVP_CIPHER *cipher_of(const cs_tls_suite *s)
{
    switch (s->bulk) {
    case CS_BULK_AES_GCM:
        return s->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    case CS_BULK_CHACHA:
        return EVP_chacha20_poly1305();
    case CS_BULK_AES_CBC:
        return s->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    default:
        return NULL;
    }
}

/* Creates (once) the cipher context and loads the key. */
static bool rp_load_key(cs_tls_rp *rp)
{
    const EVP_CIPHER *cipher = cipher_of(rp->suite);
    if (cipher == NULL)
        return false;
    if (rp->ctx == NULL) {
        rp->ctx = EVP_CIPHER_CTX_new();
        if (rp->ctx == NULL)
            return false;
    } else {
        EVP_CIPHER_CTX_reset(rp->ctx);
    }
    if (EVP_DecryptInit_ex(rp->ctx, cipher, NULL, rp->key, NULL) != 1)
        return false;
    if (rp->suite->bulk == CS_BULK_AES_CBC)
        EVP_CIPHER_CTX_set_padding(rp->ctx, 0);
    return true;
}

static bool rp_derive13(cs_tls_rp *rp)
{
    cs_tls_hash h = (cs_tls_hash)rp->suite->prf;
    return cs_tls13_expand_label(h, rp->secret, rp->secret_len, "key", NULL, 0, rp->key,
                                 rp->key_len) &&
           cs_tls13_expand_label(h, rp->secret, rp->secret_len, "iv", NULL, 0, rp->iv, 12) &&
           rp_load_key(rp);
}

bool cs_tls_rp_init13(cs_tls_rp *rp, const cs_tls_suite *s, const uint8_t *secret,
                      uint32_t secret_len)
{
    rp->ready = false;
    if (s == NULL || !s->tls13 || s->bulk == CS_BULK_NONE || secret_len != hash_len(s->prf))
        return false;
    rp->suite = s;
    rp->version = 0x0304;
    rp->key_len = s->key_len;
    rp->iv_len = 12;
    rp->mac_len = 0;
    rp->etm = false;
    memcpy(rp->secret, secret, secret_len);
    rp->secret_len = (uint8_t)secret_len;
    rp->seq = 0;
    rp->ready = rp_derive13(rp);
    return rp->ready;
}

bool cs_tls_rp_update13(cs_tls_rp *rp)
{
    if (!rp->ready || rp->version != 0x0304)
        return false;
    uint8_t next[48];
    rp->ready = false;
    if (!cs_tls13_expand_label((cs_tls_hash)rp->suite->prf, rp->secret, rp->secret_len,
                               "traffic upd", NULL, 0, next, rp->secret_len))
        return false;
    memcpy(rp->secret, next, rp->secret_len);
    rp->seq = 0;
    rp->ready = rp_derive13(rp);
    return rp->ready;
}

bool cs_tls_rp_init12(cs_tls_rp *client, cs_tls_rp *server, const cs_tls_suite *s,
                      uint16_t version, bool etm, const uint8_t *master, uint32_t master_len,
                      const uint8_t client_random[32], const uint8_t server_random[32])
{
    client->ready = server->ready = false;
    if (s == NULL || s->tls13 || s->bulk == CS_BULK_NONE || version < 0x0301 || version > 0x0303)
        return false;
    if (s->bulk == CS_BULK_CHACHA && version != 0x0303)
        return false;
    if (s->bulk == CS_BULK_AES_GCM && version != 0x0303)
        return false;
    uint8_t mac_len = s->bulk == CS_BULK_AES_CBC ? (uint8_t)hash_len(s->mac) : 0;
    uint8_t iv_len = s->bulk == CS_BULK_AES_GCM ? 4 : s->bulk == CS_BULK_CHACHA ? 12 : 16;
    uint8_t block[2 * 48 + 2 * 32 + 2 * 16];
    uint32_t need = 2u * mac_len + 2u * s->key_len + 2u * iv_len;
    uint8_t seed[64];
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, client_random, 32);
    /* TLS 1.2 uses the suite's PRF hash; TLS 1.0/1.1 the MD5/SHA-1 PRF */
    cs_tls_hash prf = version == 0x0303 ? (cs_tls_hash)s->prf : CS_HASH_NONE;
    if (!cs_tls_prf(prf, master, master_len, "key expansion", seed, 64, block, need))
        return false;
    cs_tls_rp *rps[2] = {client, server};
    uint32_t off = 0;
    for (int i = 0; i < 2; i++) {
        rps[i]->suite = s;
        rps[i]->version = version;
        rps[i]->key_len = s->key_len;
        rps[i]->iv_len = iv_len;
        rps[i]->mac_len = mac_len;
        rps[i]->etm = etm && s->bulk == CS_BULK_AES_CBC;
        rps[i]->seq = 0;
        rps[i]->secret_len = 0;
    }
    memcpy(client->mac_key, block + off, mac_len);
    off += mac_len;
    memcpy(server->mac_key, block + off, mac_len);
    off += mac_len;
    memcpy(client->key, block + off, s->key_len);
    off += s->key_len;
    memcpy(server->key, block + off, s->key_len);
    off += s->key_len;
    memcpy(client->iv, block + off, iv_len);
    off += iv_len;
    memcpy(server->iv, block + off, iv_len);
    OPENSSL_cleanse(block, sizeof block);
    client->ready = rp_load_key(client);
    server->ready = client->ready && rp_load_key(server);
    client->ready = client->ready && server->ready;
    return client->ready;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* AEAD open: nonce, aad, ciphertext ct (ct_len) followed by the 16-byte tag; plaintext to out. */
static bool aead_open(cs_tls_rp *rp, const uint8_t *nonce, const uint8_t *aad, int aad_len,
                      const uint8_t *ct, uint32_t ct_len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = rp->ctx;
    uint8_t tag[16];
    int n = 0, m = 0;
    memcpy(tag, ct + ct_len, 16);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return false;
    if (EVP_DecryptUpdate(ctx, NULL, &n, aad, aad_len) != 1)
        return false;
    if (ct_len > 0 && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1)
        return false;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1)
        return false;
    return EVP_DecryptFinal_ex(ctx, out + n, &m) == 1;
}

static bool cbc_decrypt(cs_tls_rp *rp, const uint8_t *iv, const uint8_t *in, uint32_t len,
                        uint8_t *out)
{
    int n = 0, m = 0;
    if (EVP_DecryptInit_ex(rp->ctx, NULL, NULL, NULL, iv) != 1)
        return false;
    EVP_CIPHER_CTX_set_padding(rp->ctx, 0);
    return EVP_DecryptUpdate(rp->ctx, out, &n, in, (int)len) == 1 &&
           EVP_DecryptFinal_ex(rp->ctx, out + n, &m) == 1;
}

/* Checks the TLS CBC padding at the end of p[0..n) and returns the padding length + 1, 0 if bad. */
static uint32_t cbc_unpad(const uint8_t *p, uint32_t n)
{
    if (n == 0)
        return 0;
    uint32_t pad = p[n - 1];
    if (pad + 1 > n)
        return 0;
    for (uint32_t i = 0; i <= pad; i++)
        if (p[n - 1 - i] != pad)
            return 0;
    return pad + 1;
}

static void mac_header(uint8_t h[13], uint64_t seq, uint8_t type, uint16_t version, uint32_t len)
{
    put_be64(h, seq);
    h[8] = type;
    h[9] = (uint8_t)(version >> 8);
    h[10] = (uint8_t)version;
    h[11] = (uint8_t)(len >> 8);
    h[12] = (uint8_t)len;
}

static const uint8_t *open_cbc(cs_tls_rp *rp, uint64_t seq, const uint8_t hdr[5], const uint8_t *in,
                               uint32_t len, uint8_t *out, uint32_t *plen)
{
    const EVP_MD *md = md_of((cs_tls_hash)rp->suite->mac);
    uint16_t version = (uint16_t)(hdr[1] << 8 | hdr[2]);
    uint32_t ivl = rp->version >= 0x0302 ? 16 : 0; /* TLS 1.1+: explicit IV per record */
    uint32_t ml = rp->mac_len;
    uint8_t mac[64];
    if (rp->etm) {
        /* IV | C | MAC; MAC over seq | header(len = IV + C) | IV | C */
        if (len < ivl + 16 + ml || (len - ivl - ml) % 16 != 0)
            return NULL;
        uint32_t ivc = len - ml;
        mac_header(out, seq, hdr[0], version, ivc);
        memcpy(out + 13, in, ivc);
        if (!hmac(md, rp->mac_key, ml, out, 13 + ivc, mac) || CRYPTO_memcmp(mac, in + ivc, ml) != 0)
            return NULL;
        uint8_t *c = out + 13 + ivl;
        uint32_t n = ivc - ivl;
        if (!cbc_decrypt(rp, ivl ? in : rp->iv, in + ivl, n, c))
            return NULL;
        uint32_t pad = cbc_unpad(c, n);
        if (pad == 0)
            return NULL;
        if (ivl == 0)
            memcpy(rp->iv, in + ivc - 16, 16);
        *plen = n - pad;
        return c;
    }
    /* MAC-then-encrypt: IV | E(P | MAC | padding) */
    if (len < ivl + 16 || (len - ivl) % 16 != 0 || len - ivl < ml + 1)
        return NULL;
    uint32_t n = len - ivl;
    uint8_t *p = out + 13;
    if (!cbc_decrypt(rp, ivl ? in : rp->iv, in + ivl, n, p))
        return NULL;
    uint32_t pad = cbc_unpad(p, n);
    if (pad == 0 || pad + ml > n)
        return NULL;
    uint32_t pl = n - pad - ml;
    mac_header(out, seq, hdr[0], version, pl);
    if (!hmac(md, rp->mac_key, ml, out, 13 + pl, mac) || CRYPTO_memcmp(mac, p + pl, ml) != 0)
        return NULL;
    if (ivl == 0)
        memcpy(rp->iv, in + len - 16, 16);
    *plen = pl;
    return p;
}

const uint8_t *cs_tls_rp_open(cs_tls_rp *rp, uint64_t seq, const uint8_t hdr[5], const uint8_t *in,
                              uint32_t len, uint8_t *out, uint32_t *plen, uint8_t *type)
{
    if (!rp->ready || len > CS_TLS_RECORD_MAX)
        return NULL;
    uint8_t nonce[12], aad[13];
    *type = hdr[0];
    if (rp->version == 0x0304) {
        /* TLS 1.3 (RFC 8446 5.2, 5.3): aad = header, nonce = iv xor seq, inner type at the end */
        if (len < 17)
            return NULL;
        memcpy(nonce, rp->iv, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
        if (!aead_open(rp, nonce, hdr, 5, in, len - 16, out))
            return NULL;
        uint32_t n = len - 16;
        while (n > 0 && out[n - 1] == 0)
            n--;
        if (n == 0)
            return NULL;
        *type = out[n - 1];
        *plen = n - 1;
        return out;
    }
    uint16_t version = (uint16_t)(hdr[1] << 8 | hdr[2]);
    switch (rp->suite->bulk) {
    case CS_BULK_AES_GCM: {
        /* RFC 5288: explicit 8-byte nonce | C | tag */
        if (len < 24)
            return NULL;
        uint32_t pl = len - 24;
        memcpy(nonce, rp->iv, 4);
        memcpy(nonce + 4, in, 8);
        mac_header(aad, seq, hdr[0], version, pl);
        if (!aead_open(rp, nonce, aad, 13, in + 8, pl, out))
            return NULL;
        *plen = pl;
        return out;
    }
    case CS_BULK_CHACHA: {
        /* RFC 7905: nonce = iv xor seq, C | tag */
        if (len < 16)
            return NULL;
        uint32_t pl = len - 16;
        memcpy(nonce, rp->iv, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
        mac_header(aad, seq, hdr[0], version, pl);
        if (!aead_open(rp, nonce, aad, 13, in, pl, out))
            return NULL;
        *plen = pl;
        return out;
    }
    case CS_BULK_AES_CBC:
        return open_cbc(rp, seq, hdr, in, len, out, plen);
    default:
        return NULL;
    }
}

uint32_t cs_tls_rp_overhead(const cs_tls_rp *rp)
{
    if (!rp->ready)
        return 0;
    if (rp->version == 0x0304)
        return 17;
    switch (rp->suite->bulk) {
    case CS_BULK_AES_GCM:
        return 24;
    case CS_BULK_CHACHA:
        return 16;
    default:
        return (rp->version >= 0x0302 ? 16u : 0u) + rp->mac_len + 1;
    }
}

void cs_tls_rp_clear(cs_tls_rp *rp)
{
    if (rp->ctx != NULL)
        EVP_CIPHER_CTX_free(rp->ctx);
    OPENSSL_cleanse(rp, sizeof *rp);
    memset(rp, 0, sizeof *rp);
}

/* ---- digests ------------------------------------------------------------------------------- */

static void digest_hex(const EVP_MD *md, const void *p, size_t len, char *out)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(p, len, d, &n, md, NULL) != 1)
        n = 0;
    cs_hex(d, n, out);
}

void cs_tls_md5_hex(const void *p, size_t len, char out[33])
{
    digest_hex(EVP_md5(), p, len, out);
}

void cs_tls_sha256_hex(const void *p, size_t len, char out[65])
{
    digest_hex(EVP_sha256(), p, len, out);
}
