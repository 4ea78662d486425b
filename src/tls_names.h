/* tls_names.h - names of TLS protocol values as Zeek and the IANA registries spell them: versions,
 * alert descriptions, key-exchange groups, handshake message letters; and GREASE (RFC 8701). */
#ifndef CS_TLS_NAMES_H
#define CS_TLS_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Zeek-style version name: "SSLv2", "SSLv3", "TLSv10" .. "TLSv13", "TLSv13-draft23"; any other
 * value is written to buf as "unknown-N". Returns a static string or buf. Can't fail. */
const char *cs_tls_version_name(uint16_t v, char buf[24]);

/* Alert description name ("handshake_failure"); an unlisted one is written to buf as
 * "unknown-N". Returns a static string or buf. Can't fail. */
const char *cs_tls_alert_name(uint8_t desc, char buf[24]);

/* Named group ("x25519", "secp256r1", "X25519MLKEM768"); an unlisted one is written to buf as
 * "0x001d"-style hex. Returns a static string or buf. Can't fail. */
const char *cs_tls_group_name(uint16_t g, char buf[24]);

/* Zeek's ssl_history letter of a handshake message type ('c' ClientHello, 's' ServerHello, ...;
 * 'z' for an unknown type). The server's letter; the client's is its upper case. */
char cs_tls_history_letter(uint8_t hs_type);

/* True for a GREASE value (RFC 8701: 0x0a0a, 0x1a1a, ..., 0xfafa), which fingerprints skip. */
bool cs_tls_is_grease(uint16_t v);

#endif
