/* anomaly.h - the named anomaly counters every layer increments, and the packet class counters.
 * One list (CS_ANOMALIES) gives each anomaly its JSON name and a one-line description for the report. */
#ifndef CS_ANOMALY_H
#define CS_ANOMALY_H

#include "common.h"

/* X(id, json_name, description). One line per anomaly, however long: kept out of clang-format,
 * which would rewrap the descriptions (tools/check-format). */
// clang-format off
#define CS_ANOMALIES(X)                                                                        \
    X(LINK_TRUNCATED, "link_truncated", "packet shorter than its link-layer header")         \
    X(VLAN_TRUNCATED, "vlan_truncated", "VLAN tag cut short")                                \
    X(IP_TRUNCATED, "ip_truncated", "IPv4/IPv6 header cut short by the snaplen")             \
    X(IP_BAD_VERSION, "ip_bad_version", "IP version field does not match the link type")     \
    X(IP_BAD_HLEN, "ip_bad_header_len", "IPv4 header length below 20 bytes")                 \
    X(IP_BAD_TOTLEN, "ip_bad_total_len", "IP length field inconsistent with the frame")      \
    X(IP_FRAGMENT, "ip_fragment", "IP fragment (reassembled when complete)")                \
    X(IP_FRAG_DROPPED, "ip_fragment_dropped", "IP fragment dropped (inconsistent, or over the cap)") \
    X(IP_FRAG_EVICT, "ip_fragment_evictions", "incomplete IP datagrams evicted (--max-frag-datagrams)") \
    X(IP_FRAG_OVERLAP_DIFF, "ip_fragment_overlap_conflict", "overlapping IP fragments with different bytes") \
    X(IPV6_BAD_EXT, "ipv6_bad_ext_header", "IPv6 extension header chain cut short")          \
    X(TUNNEL_TRUNCATED, "tunnel_truncated", "tunnel header (VXLAN, GENEVE, GRE, ERSPAN, Teredo) cut short") \
    X(TUNNEL_MALFORMED, "tunnel_malformed", "tunnel header with a bad version, flags or length") \
    X(TUNNEL_DEPTH, "tunnel_depth", "tunnels nested deeper than 4 layers (inner packet skipped)") \
    X(TUNNEL_TABLE_CAP, "tunnel_table_cap", "packets of tunnels beyond --max-keys (an '(other)' row)") \
    X(LINK_UNSUPPORTED, "link_unsupported", "pcapng packet of an interface with an unsupported link type") \
    X(UDP_TRUNCATED, "udp_truncated_header", "UDP header cut short by the snaplen")            \
    X(UDP_BAD_LEN, "udp_bad_length", "UDP length field below 8 or past the IP payload")       \
    X(TCP_TRUNCATED, "tcp_truncated_header", "TCP header cut short by the snaplen")          \
    X(TCP_BAD_DOFF, "tcp_bad_data_offset", "TCP data offset below 5 or past the IP payload")  \
    X(TCP_BAD_OPTION, "tcp_bad_option", "TCP option with a bad length")                      \
    X(TCP_PAYLOAD_CUT, "tcp_payload_cut", "TCP payload cut by the snaplen (bytes lost)")      \
    X(TCP_BAD_CHECKSUM, "tcp_bad_checksum", "TCP checksum wrong (only with --verify-checksums)") \
    X(TCP_BAD_FLAGS, "tcp_bad_flags", "TCP flag combination that is never valid (SYN+RST, none)") \
    X(REASM_GAP, "reasm_gap", "hole in a TCP byte stream that was skipped")                  \
    X(REASM_OOO_CAP, "reasm_ooo_cap", "out-of-order buffer full: data skipped as a gap")      \
    X(REASM_OVERLAP_DIFF, "reasm_overlap_conflict", "retransmission carrying different bytes") \
    X(FLOW_CAP_EVICT, "flow_cap_evictions", "connections evicted because --max-conns was hit") \
    X(FLOW_TOMB_EVICT, "flow_tombstone_evictions", "closed-connection records dropped (cap)")  \
    X(UDP_FLOW_CAP_EVICT, "udp_flow_cap_evictions", "UDP flows evicted because --max-udp-flows was hit") \
    X(UDP_TOMB_EVICT, "udp_tombstone_evictions", "ended UDP flows forgotten (--max-tombstones cap)") \
    X(TIME_BACKWARDS, "time_backwards", "packet timestamp earlier than the one before it")    \
    X(FILE_TRUNCATED, "file_truncated", "capture file ends in the middle of a packet")        \
    X(FILE_READ_ERROR, "file_read_error", "capture file read error")                         \
    X(PARALLEL_SPLIT, "parallel_split_connections", "-j: connections counted in parts across file groups") \
    X(HTTP_BAD_REQUEST_LINE, "http_bad_request_line", "HTTP request line that does not parse")  \
    X(HTTP_BAD_STATUS_LINE, "http_bad_status_line", "HTTP status line that does not parse")    \
    X(HTTP_BAD_HEADER, "http_bad_header_line", "HTTP header line without a colon")            \
    X(HTTP_CL_AND_TE, "http_content_length_and_chunked", "both Content-Length and Transfer-Encoding") \
    X(HTTP_BAD_CL, "http_bad_content_length", "Content-Length invalid or conflicting")       \
    X(HTTP_BAD_TE, "http_bad_transfer_encoding", "request Transfer-Encoding not ending in chunked") \
    X(HTTP_BAD_CHUNK, "http_bad_chunk", "chunk size line or chunk terminator invalid")        \
    X(HTTP_LINE_TOO_LONG, "http_line_too_long", "HTTP line longer than 64 KiB (skipped)")      \
    X(HTTP_HEADERS_TOO_LONG, "http_headers_too_long", "HTTP header block over the limit")     \
    X(HTTP_PENDING_CAP, "http_pending_cap", "outstanding requests over --http-max-pending")   \
    X(HTTP_GAP_DESYNC, "http_gap_desync", "capture gap broke HTTP framing (resynchronised)")  \
    X(HTTP_ORPHAN_RESPONSE, "http_response_without_request", "HTTP response with no request") \
    X(HTTP_GARBAGE, "http_non_http_bytes", "bytes skipped looking for an HTTP start line")  \
    X(TLS_BAD_RECORD, "tls_bad_record_header", "bad TLS record header (direction dropped)") \
    X(TLS_RECORD_TOO_LONG, "tls_record_too_long", "TLS record over 16 KiB + 2048 (skipped)") \
    X(TLS_HS_TOO_LONG, "tls_handshake_too_long", "TLS handshake message over 64 KiB (skipped)") \
    X(TLS_BAD_HANDSHAKE, "tls_bad_handshake", "TLS handshake message that does not parse")  \
    X(TLS_GAP_RESYNC, "tls_gap_resync", "capture gap in a TLS stream: records resynchronised") \
    X(TLS_GAP_LOST, "tls_gap_lost", "no TLS record boundary found after a gap: direction dropped") \
    X(TLS_TRUNCATED, "tls_truncated_record", "TLS stream ended inside a record")            \
    X(TLS_DECRYPT_FAILED, "tls_decrypt_failed", "TLS record did not open with the logged keys") \
    X(TLS_NO_KEYS, "tls_no_keys", "key log given but it has no secrets for this connection") \
    X(TLS_UNSUPPORTED_CIPHER, "tls_decrypt_unsupported", "cipher suite not decryptable here") \
    X(TLS_SSLV2_HELLO, "tls_sslv2_client_hello", "SSLv2-compatible ClientHello (skipped)") \
    X(TLS_PLAINTEXT_APPDATA, "tls_plaintext_app_data", "TLS application data before encryption") \
    X(TLS_RENEGOTIATION, "tls_renegotiation", "TLS renegotiation (not decrypted)")          \
    X(TLS_EARLY_DATA, "tls_early_data", "TLS 1.3 0-RTT early data (not decrypted)")       \
    X(QUIC_BAD_HEADER, "quic_bad_header", "QUIC long header whose lengths do not fit")     \
    X(QUIC_TRUNCATED, "quic_truncated", "QUIC datagram cut by the snaplen (rest not parsed)") \
    X(QUIC_DECRYPT_FAILED, "quic_decrypt_failed", "QUIC Initial packet that did not open")  \
    X(QUIC_BAD_FRAME, "quic_bad_frame", "QUIC frame running past its packet (rest skipped)") \
    X(QUIC_UNKNOWN_FRAME, "quic_unknown_frame", "QUIC frame of an unknown type (rest skipped)") \
    X(QUIC_FRAME_NOT_ALLOWED, "quic_frame_not_allowed", "QUIC frame not allowed at its level") \
    X(QUIC_CRYPTO_CAP, "quic_crypto_cap", "QUIC CRYPTO data beyond the buffer cap (dropped)") \
    X(QUIC_CRYPTO_CONFLICT, "quic_crypto_overlap_conflict", "QUIC CRYPTO bytes resent with other values") \
    X(QUIC_CRYPTO_TOO_LONG, "quic_crypto_message_too_long", "TLS message in QUIC CRYPTO over the cap (skipped)") \
    X(QUIC_RETRY_BAD_TAG, "quic_retry_bad_tag", "QUIC Retry whose integrity tag is wrong")    \
    X(QUIC_CONN_EVICT, "quic_conn_evictions", "QUIC connections evicted at --quic-max-conns") \
    X(H2_BAD_PREFACE, "http2_bad_preface", "HTTP/2 client connection preface wrong")          \
    X(H2_FRAME_SIZE, "http2_frame_size_error", "HTTP/2 frame over the peer's SETTINGS_MAX_FRAME_SIZE, or of a wrong length for its type") \
    X(H2_PROTOCOL, "http2_protocol_error", "HTTP/2 frame breaking a framing rule (stream id, padding, CONTINUATION, SETTINGS value)") \
    X(H2_STREAM_STATE, "http2_stream_state_error", "HTTP/2 frame on a stream whose state does not allow it (idle, reused id)") \
    X(H2_HPACK_ERROR, "http2_hpack_error", "HTTP/2 header block the HPACK decoder rejects (that direction's header context is lost)") \
    X(H2_UNDECODABLE, "http2_headers_undecodable", "HTTP/2 header block not decoded: the HPACK context was lost (gap, mid-connection start)") \
    X(H2_HEADERS_TOO_LONG, "http2_headers_too_long", "HTTP/2 header block over the limit (header context lost)") \
    X(H2_STREAM_CAP, "http2_stream_cap", "open HTTP/2 streams over --http-max-pending (oldest dropped)") \
    X(H2_GAP_DESYNC, "http2_gap_desync", "capture gap broke HTTP/2 framing (resynchronised on a frame header)")
// clang-format on

#define CS_ANOM_ENUM(id, name, desc) CS_ANOM_##id,
typedef enum cs_anomaly { CS_ANOMALIES(CS_ANOM_ENUM) CS_ANOM_COUNT } cs_anomaly;
#undef CS_ANOM_ENUM

/* The TLS anomalies are one block of the list, TLS_BAD_RECORD to TLS_EARLY_DATA (a TLS summary
 * counts them per kind): a new one goes inside it, or moves these bounds. A unit test checks that
 * exactly the names in the block start with "tls_". */
#define CS_ANOM_TLS_FIRST CS_ANOM_TLS_BAD_RECORD
#define CS_ANOM_TLS_LAST CS_ANOM_TLS_EARLY_DATA

/* Packet classes counted by the decoder, and the anomaly counts. A new field must also go into
 * COUNTER_FIELDS in anomaly.c (a static assertion there fails until it does). */
typedef struct cs_counters {
    uint64_t packets;     /* every packet handed to the decoder */
    uint64_t bytes;       /* wire length sum */
    uint64_t cap_bytes;   /* captured length sum */
    uint64_t non_ip;      /* link payload that is not IPv4/IPv6 (ARP, LLDP, ...) */
    uint64_t ipv4;
    uint64_t ipv6;
    uint64_t tcp;         /* TCP packets handed to the flow table */
    uint64_t udp;
    uint64_t icmp;
    uint64_t other_l4;
    uint64_t tunneled; /* packets with at least one tunnel layer peeled off */
    uint64_t anomalies[CS_ANOM_COUNT];
    uint64_t gap_bytes;      /* bytes skipped in reassembly gaps */
    uint64_t payload_cut_bytes; /* payload bytes lost to the snaplen */
} cs_counters;

/* Adds every counter of `from` into `into` (-j: merging the threads' counters). Can't fail. */
void cs_counters_add(cs_counters *into, const cs_counters *from);

/* Subtracts every counter of `from` from `into`, which must hold at least as much in each (an
 * interval's counts: the totals now minus the totals at its start). Can't fail. */
void cs_counters_sub(cs_counters *into, const cs_counters *from);

/* Returns the JSON name of anomaly `a`. Can't fail. */
const char *cs_anomaly_name(cs_anomaly a);
/* Returns the human description of anomaly `a`. Can't fail. */
const char *cs_anomaly_desc(cs_anomaly a);

#endif
