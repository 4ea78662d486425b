/* tls_names.c - names of TLS versions, alerts, groups and handshake letters; GREASE values.
 * Contracts in tls_names.h. */
#include <glib.h>

#include "common.h"
#include "tls_names.h"

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
    } names[] = {{0, "close_notify"},
                 {10, "unexpected_message"},
                 {20, "bad_record_mac"},
                 {21, "decryption_failed"},
                 {22, "record_overflow"},
                 {30, "decompression_failure"},
                 {40, "handshake_failure"},
                 {41, "no_certificate"},
                 {42, "bad_certificate"},
                 {43, "unsupported_certificate"},
                 {44, "certificate_revoked"},
                 {45, "certificate_expired"},
                 {46, "certificate_unknown"},
                 {47, "illegal_parameter"},
                 {48, "unknown_ca"},
                 {49, "access_denied"},
                 {50, "decode_error"},
                 {51, "decrypt_error"},
                 {60, "export_restriction"},
                 {70, "protocol_version"},
                 {71, "insufficient_security"},
                 {80, "internal_error"},
                 {86, "inappropriate_fallback"},
                 {90, "user_canceled"},
                 {100, "no_renegotiation"},
                 {109, "missing_extension"},
                 {110, "unsupported_extension"},
                 {111, "certificate_unobtainable"},
                 {112, "unrecognized_name"},
                 {113, "bad_certificate_status_response"},
                 {114, "bad_certificate_hash_value"},
                 {115, "unknown_psk_identity"},
                 {116, "certificate_required"},
                 {120, "no_application_protocol"},
                 {121, "ech_required"}};
    for (size_t i = 0; i < CS_ARRAY_LEN(names); i++)
        if (names[i].d == desc)
            return names[i].n;
    g_snprintf(buf, 24, "unknown-%u", desc);
    return buf;
}

const char *cs_tls_group_name(uint16_t g, char buf[24])
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

char cs_tls_history_letter(uint8_t hs_type)
{
    switch (hs_type) {
    case 0:
        return 'h';
    case 1:
        return 'c';
    case 2:
        return 's';
    case 3:
        return 'v';
    case 4:
        return 't';
    case 5:
        return 'e';
    case 8:
        return 'o';
    case 11:
        return 'x';
    case 12:
        return 'k';
    case 13:
        return 'r';
    case 14:
        return 'n';
    case 15:
        return 'y';
    case 16:
        return 'g';
    case 20:
        return 'f';
    case 21:
        return 'w';
    case 22:
        return 'u';
    case 23:
        return 'a';
    case 24:
        return 'p';
    case 254:
        return 'm';
    default:
        return 'z';
    }
}

bool cs_tls_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}
