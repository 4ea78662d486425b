/* gen_spec.h - connscope-gen's flow descriptions: one gen_row per CSV spec line or built-in
 * scenario, standing for `count` similar TCP connections, with the timing derived from it. */
#ifndef CS_GEN_SPEC_H
#define CS_GEN_SPEC_H

#include <stdio.h>

#include "common.h"

/* Times inside the generator are whole microseconds (the resolution of the pcap written). */
typedef int64_t gen_us;

typedef enum gen_proto { GEN_HTTP, GEN_HTTPS, GEN_TCP } gen_proto;

/* How a connection ends once its exchanges are over. */
typedef enum gen_close {
    GEN_CLOSE_FIN,  /* client FIN, server FIN/ACK, client ACK */
    GEN_CLOSE_SFIN, /* server FIN first */
    GEN_CLOSE_RST,  /* client RST */
    GEN_CLOSE_SRST, /* server RST */
    GEN_CLOSE_NONE  /* left open (still open at the end of the capture) */
} gen_close;

/* How far the handshake gets. */
typedef enum gen_hs {
    GEN_HS_FULL,     /* SYN, SYN/ACK, ACK, then data */
    GEN_HS_NOACK,    /* SYN, SYN/ACK, nothing else (half-open) */
    GEN_HS_NOANSWER  /* SYN (and syn_retries retransmissions), no answer */
} gen_hs;

/* Odd traffic a row can ask for (the --scenario generators set these). */
enum {
    GEN_F_NORESP = 1u << 0,    /* the server never answers requests (it only ACKs) */
    GEN_F_PARTIAL = 1u << 1,   /* requests stop before the end of their header block */
    GEN_F_OVERLAP = 1u << 2,   /* each response's first two segments arrive swapped, with a
                                  conflicting retransmission of different bytes in between */
    GEN_F_HUGECHUNK = 1u << 3, /* the response declares a chunk of 2^63-1 bytes, then closes */
    GEN_F_SPOOF = 1u << 4,     /* every connection from a new client address, random port */
    GEN_F_CPORT = 1u << 5,     /* the client port was given */
    GEN_F_HEAD = 1u << 6       /* method HEAD: responses have no body */
};

/* One spec line. Strings are owned by the row (freed by gen_spec_free). */
typedef struct gen_row {
    gen_us start;       /* absolute time of the first connection's SYN */
    gen_us every;       /* spacing of the repeated connections */
    gen_us duration;    /* requests spread over this long (0: back to back) */
    gen_us think;       /* server time from request end to response start */
    gen_us rtt;
    uint8_t family;     /* 4 or 6 */
    uint8_t proto;      /* gen_proto */
    uint8_t close;      /* gen_close */
    uint8_t hs;         /* gen_hs */
    cs_addr client, server;
    uint16_t cport, sport;
    uint16_t mss;
    uint32_t flags;     /* GEN_F_* */
    uint32_t requests;  /* per connection (plain tcp: client writes) */
    uint32_t pipeline;  /* requests outstanding at most */
    uint32_t syn_retries;
    uint32_t req_size;  /* request body bytes (plain tcp: bytes per write) */
    uint32_t req_last;  /* plain tcp: bytes of the last write */
    uint32_t resp_size; /* response body bytes */
    uint32_t chunk;     /* chunked response with chunks of this size; 0: Content-Length */
    uint32_t hdr_pad;   /* extra request header bytes (X-Pad lines) */
    uint32_t status;
    uint32_t loss_thr;  /* loss probability scaled to 2^32 */
    uint32_t reorder_thr;
    double loss, reorder;
    uint64_t count;
    char *method, *path, *host, *sni;
    int line;           /* spec line (0 for scenarios) */
    /* HTTP header text that is the same for every message of the row (gen_msg_prepare) */
    char *req_tail;     /* request line after the target, and the header lines */
    char *resp_head;    /* status line and header lines */
    uint32_t req_tail_len, resp_head_len;
    /* derived (gen_row_finish) */
    gen_us d_c;         /* capture -> client -> capture */
    gen_us d_s;         /* capture -> server -> capture */
    gen_us gap;         /* spacing of back-to-back segments */
    gen_us period;      /* time between flights of a window-limited transfer */
    uint32_t flight;    /* segments per flight */
    /* run state */
    uint64_t spawned;   /* connections started so far */
    uint32_t index;     /* position in the spec */
} gen_row;

/* Global settings that shape rows. */
typedef struct gen_cfg {
    gen_us base_time;    /* relative starts are added to this */
    double capture_point; /* 0 = at the client, 1 = at the server, 0.5 = midway */
    double link_mbps;    /* spacing of back-to-back segments */
    uint32_t window;     /* receive window in bytes (scaled by 2^7 on the wire) */
    uint16_t mss4, mss6;
    uint64_t seed;
} gen_cfg;

void gen_cfg_default(gen_cfg *cfg);

typedef struct gen_spec {
    gen_row *rows;
    uint32_t len, cap;
} gen_spec;

/* Fills a row with the defaults of a spec line (http GET, 1 request, rtt 10 ms, ...). */
void gen_row_default(gen_row *r);

/* Computes the derived timing of r from cfg and checks it; returns false and sets *err (a new
 * string) when the row cannot be generated. */
bool gen_row_finish(gen_row *r, const gen_cfg *cfg, char **err);

/* Appends a copy of r (taking ownership of its strings) to s. Can't fail. */
void gen_spec_add(gen_spec *s, const gen_row *r);

/* Reads a CSV spec (see doc/connscope-gen.md) from fp and appends its rows to s. Returns false
 * with *err set (a new string naming the file and line) on the first bad line; rows read before
 * it stay in s. */
bool gen_spec_read(gen_spec *s, FILE *fp, const char *name, const gen_cfg *cfg, char **err);

/* Frees every row's strings and the array; s is empty afterwards. */
void gen_spec_free(gen_spec *s);

/* Address a + off (IPv4: 32-bit wrap; IPv6: added to the whole 128-bit value). */
void gen_addr_add(cs_addr *out, const cs_addr *a, uint8_t family, uint32_t off);

/* Names of the built-in scenarios, NULL-terminated, and their one-line descriptions. */
extern const char *const gen_scenario_names[];
extern const char *const gen_scenario_help[];

/* Parameters of a --scenario run. */
typedef struct gen_scenario_opts {
    uint64_t count;
    double rate;           /* connections per second (0: the scenario's default) */
    double start;          /* seconds, relative to base time unless >= 1e8 */
    const char *target;    /* server ip:port */
    const char *source;    /* first client address */
    uint32_t requests;     /* 0: the scenario's default */
    uint32_t size;         /* 0: the scenario's default */
    double rtt;
} gen_scenario_opts;

/* Appends the rows of scenario `name` to s. Returns false with *err set for an unknown name or
 * a bad target/source address. */
bool gen_scenario_add(gen_spec *s, const char *name, const gen_scenario_opts *o,
                      const gen_cfg *cfg, char **err);

#endif
