#!/usr/bin/env python3
"""make-seeds.py - builds the seed corpora of the fuzz targets from the test captures.

Usage: fuzz/make-seeds.py [--out DIR] [--connscope PATH] [CAPTURE_DIR...]
Defaults: --out fuzz/out/seeds, --connscope ./connscope, capture dirs pcaps/ and ../shared/corpus/.

Writes one directory per target (stdlib Python 3 only; file names are content hashes):
  pipeline/  every capture file as is (files over 256 KiB cut to their first 256 KiB)
  decode/    single packets in fuzz_decode's format: [link type index][wire length byte][bytes],
             and per file one sequence of its first packets (up to 16 KiB) for fragment reassembly
  http/      reassembled TCP streams of the HTTP connections in fuzz_http's format, rebuilt from
             `connscope follow --format hex` (data chunks in delivery order, gaps, ends), plus a
             few hand-written exchanges for the framing rules
  reasm/     hand-written operation sequences in fuzz_reasm's format
  http2/     reassembled TCP streams of the HTTP/2 connections of suricata-verify's http2-* captures
             (../shared/corpus2) and pcaps/http2/ in fuzz_http2's format (the http format): prior
             knowledge streams as they are, h2c upgrades cut after the 101 (upgrade bit), each also
             split in 3-byte pieces, with small limits, and with its first 100 bytes cut (joined
             mid-connection)
  tls/       reassembled TCP streams of the TLS connections in fuzz_tls's format (the http format);
             those of pcaps/tls/ (which have a .keylog) with the key log bit, whole and split
  hello/     the cleartext handshake bytes of each side of those connections (the bodies of the
             handshake records before ChangeCipherSpec) in fuzz_hello's format, whole and in
             3-byte pieces
  summary/   files written by `connscope -A --summary-out` on a dozen captures and option sets
The formats are described at the top of each fuzz_*.c file.
"""
import argparse
import hashlib
import json
import os
import re
import gzip
import struct
import subprocess
import sys

# link types in fuzz_decode.c's dlts[] order (pcap LINKTYPE_ values; 12 and 101 are both raw IP)
DECODE_DLTS = [1, 113, 276, 0, 108, 12, 14, 101, 228, 229, 9]
PIPELINE_MAX = 256 * 1024
DECODE_PER_FILE = 40
HTTP_STREAMS_PER_FILE = 12
HTTP_MAX = 256 * 1024


def write_seed(d, data):
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- capture files --------------------------------------------------------------------------

def read_packets(path):
    """Yields (linktype, caplen bytes, orig_len) for a pcap or pcapng file; stops quietly on
    anything malformed (the bad captures are seeds for the pipeline, not here)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
        off = 24
        while off + 16 <= len(data):
            _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
            off += 16
            if incl > 262144 or off + incl > len(data):
                return
            yield linktype, data[off:off + incl], orig
            off += incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        e = "<"
        links = []
        off = 0
        while off + 12 <= len(data):
            btype = struct.unpack(e + "I", data[off:off + 4])[0]
            if btype == 0x0A0D0D0A:
                bom = data[off + 8:off + 12]
                e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
            if blen < 12 or off + blen > len(data):
                return
            body = data[off + 8:off + blen - 4]
            if btype == 1 and len(body) >= 2:  # IDB
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:  # EPB
                ifid, _, _, cap, orig = struct.unpack(e + "IIIII", body[:20])
                if ifid < len(links) and 20 + cap <= len(body):
                    yield links[ifid], body[20:20 + cap], orig
            elif btype == 3 and len(body) >= 4 and links:  # SPB
                orig = struct.unpack(e + "I", body[:4])[0]
                yield links[0], body[4:4 + orig], orig
            off += blen


def decode_seeds(path, out):
    n = 0
    seen = set()
    for linktype, pkt, orig in read_packets(path):
        if linktype not in DECODE_DLTS or n >= DECODE_PER_FILE:
            continue
        key = (linktype, len(pkt), pkt[:48])
        if key in seen:
            continue
        seen.add(key)
        wire = 0
        if orig > len(pkt):
            wire = 0x80 + min(127, (orig - len(pkt) + 96) // 97)
        write_seed(out, bytes([DECODE_DLTS.index(linktype), wire]) + pkt)
        n += 1
    # one packet sequence per file (fragment reassembly needs several packets): the first ones
    seq = bytearray()
    first = None
    for linktype, pkt, orig in read_packets(path):
        if linktype not in DECODE_DLTS or (first is not None and linktype != first):
            continue
        first = linktype
        wire = 0x80 + min(127, (orig - len(pkt) + 96) // 97) if orig > len(pkt) else 0
        seq += struct.pack(">HB", len(pkt), wire) + pkt
        if len(seq) > 16384:
            break
    if first is not None:
        write_seed(out, bytes([0x80 | DECODE_DLTS.index(first), 0]) + bytes(seq))
        n += 1
    return n


# ---- QUIC datagrams -------------------------------------------------------------------------

QUIC_VERSIONS = {1, 0x6b3343cf} | set(range(0xff000017, 0xff000023))
QUIC_PER_FILE = 60


def udp_payloads(path):
    """Yields (src, sport, dst, dport, payload) for the UDP datagrams of a capture (Ethernet with
    VLAN tags, Linux cooked v1/v2, raw IP, BSD loopback; IPv6 without extension headers)."""
    for linktype, pkt, _ in read_packets(path):
        off, etype = None, None
        if linktype == 1 and len(pkt) >= 14:
            off, etype = 14, struct.unpack(">H", pkt[12:14])[0]
            while etype in (0x8100, 0x88A8) and len(pkt) >= off + 4:
                etype, off = struct.unpack(">H", pkt[off + 2:off + 4])[0], off + 4
        elif linktype == 113 and len(pkt) >= 16:
            off, etype = 16, struct.unpack(">H", pkt[14:16])[0]
        elif linktype == 276 and len(pkt) >= 20:
            off, etype = 20, struct.unpack(">H", pkt[0:2])[0]
        elif linktype in (101, 12, 14, 228, 229):
            off = 0
        elif linktype in (0, 108) and len(pkt) >= 4:
            off = 4
        if off is None or len(pkt) < off + 20:
            continue
        ver = pkt[off] >> 4
        if ver == 4 and etype in (None, 0x0800):
            ihl = (pkt[off] & 15) * 4
            if pkt[off + 9] != 17 or len(pkt) < off + ihl + 8:
                continue
            src, dst, u = pkt[off + 12:off + 16], pkt[off + 16:off + 20], off + ihl
        elif ver == 6 and etype in (None, 0x86DD) and len(pkt) >= off + 48:
            if pkt[off + 6] != 17:
                continue
            src, dst, u = pkt[off + 8:off + 24], pkt[off + 24:off + 40], off + 40
        else:
            continue
        sport, dport, ulen = struct.unpack(">HHH", pkt[u:u + 6])
        yield src, sport, dst, dport, pkt[u + 8:u + max(8, ulen)]


def quic_seeds(path, out):
    """One seed per capture with QUIC in it: its first datagrams as raw-datagram operations
    (direction from the first sender), once with roomy caps and once with tight ones."""
    ops = bytearray()
    client = None
    n = 0
    found = False
    for src, sport, dst, dport, payload in udp_payloads(path):
        if len(payload) >= 5 and payload[0] & 0x80:
            found = found or struct.unpack(">I", payload[1:5])[0] in QUIC_VERSIONS
        if client is None:
            client = (src, sport)
        op = 0x00 if (src, sport) == client else 0x08
        ops += bytes([op]) + struct.pack(">H", len(payload)) + payload
        n += 1
        if n >= QUIC_PER_FILE or len(ops) > 60000:
            break
    if found:
        write_seed(out, b"\x0f" + bytes(ops))
        write_seed(out, b"\x04" + bytes(ops[:8000]))
    return 2 if found else 0


# RFC 9001 A.2: the CRYPTO frame of the client's Initial (a ClientHello for example.com)
RFC9001_CRYPTO = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c"
    "00000413011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a000800"
    "06001d0017001800100007000504616c706e000500050100000000003300260024001d00209370b2c9"
    "caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e"
    "0403050306030203080408050806002d00020101001c00024001003900320408ffffffffffffffff05"
    "048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff")


def quic_handwritten(out):
    """Protected Initials (operations 2 and 3) whose frames carry the RFC ClientHello whole and
    in out-of-order pieces, a server answer, a Handshake header, short headers, time and flow
    ends."""
    hello = RFC9001_CRYPTO[4:]

    def crypto(off, data):
        return bytes([0x06, 0x40 | off >> 8, off & 255, 0x40 | len(data) >> 8, len(data) & 255]) + data

    def initial(op, ids, pn, frames):
        return bytes([op, ids, pn]) + struct.pack(">H", len(frames)) + frames
    whole = initial(0x02, 0x00, 0, RFC9001_CRYPTO)
    parts = initial(0x02, 0x00, 1, crypto(120, hello[120:])) + initial(0x02, 0x00, 0, crypto(0, hello[:120]))
    server_hello = bytes.fromhex("0200000056030300") + bytes(82)  # ServerHello-shaped body
    answer = initial(0x03, 0x1c, 0, bytes([2, 0, 0, 0, 0]) + crypto(0, server_hello))
    close = initial(0x03, 0x1c, 1, bytes([0x1c, 0x0a, 0x00, 0x00]))
    hs = bytes([0x06, 0x01, 10]) + b"handshake!"
    shorts = bytes([0x0f, 4]) + b"abcd" + bytes([0x47, 4]) + b"efgh"
    for conf in (0x0f, 0x00, 0x05):
        write_seed(out, bytes([conf]) + whole + answer + hs + shorts)
        write_seed(out, bytes([conf]) + parts + answer + close + bytes([0x04, 90]))
        write_seed(out, bytes([conf]) + whole + initial(0x22, 0x01, 2, RFC9001_CRYPTO) +
                   bytes([0x05 | 0x08]) + shorts)


def pcapng_seeds(path, out):
    """fuzz_pcapng: every pcapng as is (cut to 256 KiB), and gzip/zstd copies of the small ones
    (the stream decoders); pcap files only compressed."""
    with open(path, "rb") as f:
        data = f.read(PIPELINE_MAX)
    n = 0
    if path.endswith(".pcapng"):
        write_seed(out, data)
        n += 1
    if len(data) <= 16384:
        write_seed(out, gzip.compress(data, mtime=0))
        n += 1
        try:
            z = subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                               check=True).stdout
            write_seed(out, z)
            n += 1
        except (OSError, subprocess.CalledProcessError):
            pass
    return n


def pipeline_seed(path, out):
    with open(path, "rb") as f:
        data = f.read(PIPELINE_MAX)
    write_seed(out, data)


# ---- HTTP streams ---------------------------------------------------------------------------

CTL = b"\xff\xfe"


def esc(b):
    return b.replace(CTL, CTL + b"\x07")


HDR = re.compile(r"^(>>>|<<<) .* (client|server) .*, (\d+) bytes")
GAP = re.compile(r"^=== .* gap: (\d+) bytes missing from the (client|server)")
END = re.compile(r"^=== .* (client|server) finished")


def follow_events(connscope, stream, path):
    """Runs `connscope follow --format hex` and returns [(kind, side, payload)] in delivery order."""
    try:
        txt = subprocess.run([connscope, "follow", "--format", "hex", str(stream), path],
                             capture_output=True, timeout=60).stdout.decode("latin-1")
    except (subprocess.TimeoutExpired, OSError):
        return []
    events = []
    cur = None
    for line in txt.splitlines():
        m = HDR.match(line)
        if m:
            cur = bytearray()
            events.append(("data", m.group(2), cur))
            continue
        m = GAP.match(line)
        if m:
            events.append(("gap", m.group(2), int(m.group(1))))
            cur = None
            continue
        m = END.match(line)
        if m:
            events.append(("end", m.group(1), None))
            cur = None
            continue
        if cur is not None and re.match(r"^[0-9a-f]{8}  ", line):
            hexpart = line[10:59]
            cur.extend(bytes.fromhex(hexpart.replace(" ", "")))
    return events


def handshake_bytes(events, side):
    """The bodies of the first plaintext handshake records one side sent, concatenated."""
    stream = bytearray()
    for kind, who, val in events:
        if kind != "data" or who != side:
            if kind != "data" and who == side:
                break
            continue
        stream += val
        if len(stream) > 65536:
            break
    out = bytearray()
    off = 0
    while off + 5 <= len(stream) and stream[off] == 22:
        n = stream[off + 3] << 8 | stream[off + 4]
        out += stream[off + 5: off + 5 + n]
        off += 5 + n
    return bytes(out)


def encode_http(events, conf=0):
    out = bytearray([conf])
    side = "client"
    for kind, who, val in events:
        if kind == "data":
            out += CTL + (b"\x00" if who == "client" else b"\x01")
            out += esc(bytes(val))
        elif kind == "gap":
            out += CTL + (b"\x0a" if who == "client" else b"\x0b") + struct.pack(">I", val)
        elif kind == "end":
            out += CTL + (b"\x04" if who == "client" else b"\x05")
        if len(out) > HTTP_MAX:
            break
    return bytes(out)


def http_streams(connscope, path):
    """Stream indices of the connections connscope sees HTTP on (and up to two others)."""
    try:
        res = subprocess.run([connscope, "--json", path], capture_output=True, timeout=120)
    except (subprocess.TimeoutExpired, OSError):
        return [], []
    http, other = [], []
    for line in res.stdout.decode("utf-8", "replace").splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") != "conn":
            continue
        if o.get("service") == "http" or o.get("http_requests"):
            http.append(o["stream"])
        elif o.get("orig_bytes", 0) + o.get("resp_bytes", 0) > 0:
            other.append(o["stream"])
    return http[:HTTP_STREAMS_PER_FILE], other[:2]


HANDWRITTEN_HTTP = [
    # (conf, [(side, bytes) | ("gap", side, n) | ("end", side)])
    (0, [("c", b"GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n\r\n"),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]),
    (0, [("c", b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n"),
         ("s", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
               b"3\r\nabc\r\n0\r\n\r\n")]),
    (0, [("c", b"HEAD / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\nGET /y HTTP/1.0\r\n\r\n"),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n"
               b"HTTP/1.0 200 OK\r\n\r\nclose-delimited body"), ("end", "s")]),
    (0, [("c", b"CONNECT host:443 HTTP/1.1\r\n\r\n"), ("s", b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01")]),
    (0, [("c", b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
         ("s", b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00")]),
    (0, [("c", b"GET /old\r\n"), ("s", b"<html>raw 0.9 body</html>"), ("end", "s")]),
    (1, [("c", b"GET /z HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n"),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 26\r\n\r\n"
               b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00")]),
    (0, [("c", b"GET /1 HTTP/1.1\r\n\r\n"), ("gap", "c", 300), ("c", b"GET /3 HTTP/1.1\r\n\r\n"),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01"), ("gap", "s", 8),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), ("gap", "s", 50),
         ("s", b"junk\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")]),
    (2, [("c", b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"),
         ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 3)]),
    (0x10, [("c", b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"zz\r\n"), ("s", b"HTTP/1.1 400 Bad Request\r\nContent-Length: x\r\n\r\n")]),
    (0x0c, [("c", b"ody of a request\r\nGET /late HTTP/1.1\r\n\r\n"),
            ("s", b"nse body\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]),
]


H2_CAPTURE_DIRS = ["pcaps/http2", "../shared/corpus2/suricata-verify"]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def drop_prefix(events, side, n):
    """The events with the first n data bytes of `side` removed."""
    out = []
    for kind, who, val in events:
        if kind == "data" and who == side and n > 0:
            cut = min(n, len(val))
            n -= cut
            val = bytes(val[cut:])
            if not val:
                continue
        out.append((kind, who, val))
    return out


def side_bytes(events, side):
    return b"".join(bytes(v) for k, w, v in events if k == "data" and w == side)


def http2_seeds(connscope, out):
    """Seeds for fuzz_http2 from the streams that carry HTTP/2 in cleartext."""
    n = 0
    for d in H2_CAPTURE_DIRS:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".pcap", ".pcapng")) or ("http2" not in name and d != H2_CAPTURE_DIRS[0]):
                continue
            path = os.path.join(d, name)
            http, other = http_streams(connscope, path)
            for st in sorted(set(http + other)):
                ev = follow_events(connscope, st, path)
                client, server = side_bytes(ev, "client"), side_bytes(ev, "server")
                k = client.find(PREFACE)
                if k < 0:
                    continue
                conf = 0
                if k > 0:  # h2c upgrade: start after the request and after the 101's header block
                    m = server.find(b" 101 ")
                    e = server.find(b"\r\n\r\n", m) if m >= 0 else -1
                    if e < 0:
                        continue
                    ev = drop_prefix(drop_prefix(ev, "client", k), "server", e + 4)
                    conf = 0x04
                for c in (conf, conf | 0x08 | 0x30, conf | 0x02):
                    write_seed(out, encode_http(ev, c))
                    n += 1
                write_seed(out, encode_http(drop_prefix(drop_prefix(ev, "client", 100), "server", 100), 0x01))
                n += 1
    return n


def tls_streams(connscope, path):
    """Stream indices of the connections connscope parses as TLS."""
    try:
        res = subprocess.run([connscope, "--json", path], capture_output=True, timeout=120)
    except (subprocess.TimeoutExpired, OSError):
        return []
    out = []
    for line in res.stdout.decode("utf-8", "replace").splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "tls":
            out.append(o["stream"])
    return out[:HTTP_STREAMS_PER_FILE]


# Summary seeds: `connscope -A --summary-out` over a dozen varied captures and option sets (HTTP,
# TLS, IPv6, refused/unanswered connections, gaps; one and several inputs; --host, --bucket,
# --max-keys), so every section of the format is present with real values.
SUMMARY_RUNS = [
    ["pcaps/http-keepalive.pcap"],
    ["--bucket", "1s", "pcaps/http-pipelined.pcap", "pcaps/http-100-continue.pcap"],
    ["--host", "127.0.0.1", "pcaps/tcp-mixed.pcap"],
    ["--bucket", "1h", "pcaps/http-ipv6.pcap", "pcaps/tcp-refused.pcap"],
    ["--max-keys", "2", "pcaps/http-python.pcap", "pcaps/http-close.pcap"],
    ["--bucket", "1h", "--host", "127.0.0.1", "pcaps/tls/tls13-resume.pcap",
     "pcaps/tls/tls12-aes128gcm.pcap"],
    ["--bucket", "1d", "pcaps/tcp-noanswer.pcap", "pcaps/http-lost-segment.pcap"],
    ["--bucket", "30s", "pcaps/http-loop-ipv6.pcap", "pcaps/http-vlan-ipv6.pcap"],
    ["../shared/corpus/zeek/wikipedia.pcap"],
    ["../shared/corpus/zeek/http__methods.pcap"],
    ["--bucket", "5m", "../shared/corpus/zeek/http__1000-requests-one-dropped-response.pcap"],
    ["--host", "172.16.133.54", "../shared/corpus/pcapplusplus/examples__tcp-reassembly.pcap"],
    ["../shared/corpus/suricata-verify/http-gap-simple__input.pcap",
     "../shared/corpus/arkime/tls13.pcap", "../shared/corpus/illustrated-tls13/capture.pcap"],
]


def summary_seeds(connscope, out):
    n = 0
    for i, args in enumerate(SUMMARY_RUNS):
        if not all(os.path.exists(a) for a in args if a.endswith((".pcap", ".pcapng"))):
            continue
        path = os.path.join(out, "run-%d.json" % i)
        os.makedirs(out, exist_ok=True)
        try:
            subprocess.run([connscope, "-q", "-A", "--summary-out", path] + args, capture_output=True,
                           timeout=120)
        except (subprocess.TimeoutExpired, OSError):
            continue
        if os.path.exists(path):
            data = open(path, "rb").read()
            os.remove(path)
            write_seed(out, data)
            n += 1
    return n


def encode_handwritten(conf, evs):
    events = []
    for ev in evs:
        if ev[0] in ("c", "s"):
            events.append(("data", "client" if ev[0] == "c" else "server", ev[1]))
        elif ev[0] == "gap":
            events.append(("gap", "client" if ev[1] == "c" else "server", ev[2]))
        else:
            events.append(("end", "client" if ev[1] == "c" else "server", None))
    return encode_http(events, conf)


# ---- reassembly -----------------------------------------------------------------------------

def reasm_seeds(out):
    def seg(off, length, fin=False, corrupt=False, cut=0, absolute=None):
        op = (0x08 if fin else 0) | (0x10 if corrupt else 0)
        if absolute is not None:
            op |= 0x20
            arg = struct.pack(">I", absolute)
        else:
            arg = struct.pack(">h", off)
        if length > 255:
            op |= 0x40
            ln = struct.pack(">H", length)
        else:
            ln = bytes([length])
        return bytes([op]) + arg + ln + bytes([cut])

    def ack(off):
        return bytes([4]) + struct.pack(">h", off)

    head = lambda isn, lim: struct.pack(">I", isn) + bytes([lim])
    seqs = [
        head(1000, 7) + seg(0, 100) + seg(0, 100) + seg(0, 50, fin=True) + bytes([5]),
        head(1000, 7) + seg(200, 100) + seg(100, 100) + seg(0, 100) + bytes([5]),
        head(0xFFFFFF00, 7) + seg(0, 200) + seg(100, 200) + seg(0, 100, fin=True),
        head(5, 2) + seg(10, 80) + seg(100, 80) + seg(300, 200) + ack(600) + bytes([5]),
        head(5, 3) + seg(0, 1000, cut=0xc8) + seg(50, 60) + seg(40, 100, corrupt=True) + bytes([5]),
        head(77, 7) + seg(10, 10) + seg(5, 20) + seg(0, 30, corrupt=True) + ack(100) + bytes([6, 0, 40]) +
        seg(0, 10) + bytes([7, 0, 0]) + seg(0, 10, fin=True) + bytes([5]),
        head(1, 1) + seg(100, 0, fin=True) + seg(0, 100) + ack(101) + bytes([5]),
        head(0, 0) + seg(0, 3000) + seg(5000, 3000) + seg(2000, 1000) + ack(20000) + bytes([5]),
    ]
    for s in seqs:
        write_seed(out, s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="fuzz/out/seeds")
    ap.add_argument("--connscope", default="./connscope")
    ap.add_argument("dirs", nargs="*", default=["pcaps", "../shared/corpus"])
    a = ap.parse_args()

    files = []
    for d in a.dirs:
        for root, _, names in os.walk(d):
            for n in sorted(names):
                if n.endswith((".pcap", ".pcapng", ".cap")):
                    files.append(os.path.join(root, n))
    files.sort()
    counts = {"pipeline": 0, "decode": 0, "http": 0, "http2": 0, "reasm": 0, "tls": 0, "hello": 0, "summary": 0,
              "quic": 0,
              "pcapng": 0}
    have_cs = os.access(a.connscope, os.X_OK)
    if not have_cs:
        print("make-seeds: %s not found: no HTTP stream seeds from captures" % a.connscope, file=sys.stderr)
    for f in files:
        pipeline_seed(f, os.path.join(a.out, "pipeline"))
        counts["pipeline"] += 1
        counts["pcapng"] += pcapng_seeds(f, os.path.join(a.out, "pcapng"))
        try:
            counts["decode"] += decode_seeds(f, os.path.join(a.out, "decode"))
            counts["quic"] += quic_seeds(f, os.path.join(a.out, "quic"))
        except (struct.error, OSError):
            pass
        if have_cs:
            http, other = http_streams(a.connscope, f)
            for st in http:
                ev = follow_events(a.connscope, st, f)
                if ev:
                    write_seed(os.path.join(a.out, "http"), encode_http(ev, 0))
                    counts["http"] += 1
            for st in other:  # non-HTTP bytes: the framer starts in resynchronisation
                ev = follow_events(a.connscope, st, f)
                if ev:
                    write_seed(os.path.join(a.out, "http"), encode_http(ev, 0x0c)[:16384])
                    counts["http"] += 1
            # TLS streams; those of the committed TLS captures with the key log (config 0x01)
            keyed = os.path.exists(f[: f.rfind(".")] + ".keylog")
            for st in tls_streams(a.connscope, f):
                ev = follow_events(a.connscope, st, f)
                if ev:
                    write_seed(os.path.join(a.out, "tls"), encode_http(ev, 0x01 if keyed else 0))
                    counts["tls"] += 1
                    if keyed:  # and cut into 3-byte pieces: records and handshakes split
                        write_seed(os.path.join(a.out, "tls"), encode_http(ev, 0x31))
                        counts["tls"] += 1
                    for side in ("client", "server"):
                        hs = handshake_bytes(ev, side)
                        if hs:
                            write_seed(os.path.join(a.out, "hello"), b"\x00\x00" + hs)
                            write_seed(os.path.join(a.out, "hello"), b"\x03\x00" + hs)
                            counts["hello"] += 2
    for conf, evs in HANDWRITTEN_HTTP:
        write_seed(os.path.join(a.out, "http"), encode_handwritten(conf, evs))
        counts["http"] += 1
    if have_cs:
        counts["summary"] = summary_seeds(a.connscope, os.path.join(a.out, "summary"))
        counts["http2"] = http2_seeds(a.connscope, os.path.join(a.out, "http2"))
    quic_handwritten(os.path.join(a.out, "quic"))
    counts["quic"] += len(os.listdir(os.path.join(a.out, "quic")))
    reasm_seeds(os.path.join(a.out, "reasm"))
    counts["reasm"] = len(os.listdir(os.path.join(a.out, "reasm")))
    print("make-seeds: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())) + " (before dedup)")


if __name__ == "__main__":
    main()
