/* tls_fingerprint.h - JA3, JA3S (Salesforce) and JA4 (FoxIO) fingerprints of parsed hellos
 * (tls_hello.h), for TLS over TCP and for QUIC alike. */
#ifndef CS_TLS_FINGERPRINT_H
#define CS_TLS_FINGERPRINT_H

#include "tls_hello.h"

/* JA3 of a ClientHello: "SSLVersion,Ciphers,Extensions,EllipticCurves,EcPointFormats" in decimal,
 * GREASE excluded. Returns the string (owned by the caller, g_free) and writes its MD5 in hex to
 * md5. Can't fail. */
char *cs_tls_ja3(const cs_tls_hello *ch, char md5[33]);

/* JA3S of a ServerHello (or HelloRetryRequest): "SSLVersion,Cipher,Extensions". Same ownership. */
char *cs_tls_ja3s(const cs_tls_hello *sh, char md5[33]);

/* JA4 of a ClientHello (FoxIO technical_details/JA4.md), e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1".
 * `transport` is its first character: 't' for TLS over TCP, 'q' for QUIC, 'd' for DTLS. Can't
 * fail. */
void cs_tls_ja4(const cs_tls_hello *ch, char transport, char out[40]);

#endif
