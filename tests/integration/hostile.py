#!/usr/bin/env python3
"""hostile.py - writes small crafted captures and large hostile floods for test_hostile.sh.

usage: hostile.py CASE OUT.pcap [N]

Every packet is Ethernet + IPv4 (or IPv6) + TCP with correct checksums, built with the stdlib-only
builders of pcaps/ws-edge/make_ws_edge.py, so the expected results can be computed by hand from
this file. Times are exact
microseconds from T0. Cases (N is the size of the floods):

  cl-list        Content-Length "4, 4" (RFC 9110 8.6: a list of identical values), then a second
                 exchange on the same connection
  cl-differ      Content-Length "4, 5": invalid framing, the rest of the response is close-delimited
  chunk-huge     a chunked request whose chunk size is ffffffffffffffff, then a second request
  req-bad-cl     a request with Content-Length "abc" and a body "hello", then a second request
  http09-status  "GET /x" (HTTP/0.9 request) answered by "HTTP/1.0 403 Forbidden" with a 5-byte
                 body and Content-Length, then the server closes
  ooo-request    a request in two segments, the second sent (and captured) 50 ms before the first
  title-ctl      a request whose method and target carry control characters (ESC, BEL)
  frag-flood     N one-byte first fragments of N different IPv4 datagrams (never completed)
  frag6-zero     N zero-length IPv6 fragments of N different datagrams
  frag-conflict  two TCP segments, each in two overlapping IPv4 fragments whose common bytes
                 differ (in order, and the higher offset first)
  sparse-ooo     one connection; the first data byte is lost and then N one-byte segments arrive
                 at every other sequence number in a shuffled order, then the lost byte
  contiguous     the same N one-byte segments, contiguous and in order (the cost baseline)
  ts-2262        (pcapng) an HTTP exchange and a SYN stamped in the last second before the year
                 2262 (9223372035.999 s), where int64 nanoseconds saturate
"""
import os
import random
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
# the packet builders of the ws-edge captures (TCP with correct checksums, IPv4/IPv6, Ethernet)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pcaps",
                                "ws-edge"))
from make_ws_edge import eth, ipv4, ipv6, tcp_seg  # noqa: E402

T0 = 1700000000 * 1000000  # microseconds
CLI, SRV = "10.1.0.1", "10.1.0.2"
CLI6, SRV6 = "2001:db8::1", "2001:db8::2"


def ipv4_pkt(src, dst, proto, payload, ident=1, frag_off=0, mf=False):
    """An Ethernet frame holding an IPv4 packet; frag_off in bytes."""
    return eth(ipv4(src, dst, proto, payload, ident=ident, mf=mf, frag_off=frag_off // 8), 0x0800)


def ipv6_pkt(src, dst, nh, payload):
    return eth(ipv6(src, dst, nh, payload), 0x86DD)


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

    def add(self, t_us, frame):
        t = T0 + t_us
        self.f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


class Conn:
    """One TCP connection; c2s/s2c send payload with the next sequence numbers unless told."""

    def __init__(self, w, sport=40000, dport=80, isn_c=1000, isn_s=5000):
        self.w, self.sport, self.dport = w, sport, dport
        self.cseq, self.sseq = isn_c + 1, isn_s + 1
        self.isn_c, self.isn_s = isn_c, isn_s

    def pkt(self, t, from_client, seq, ack, flags, payload=b""):
        if from_client:
            seg = tcp_seg(CLI, SRV, self.sport, self.dport, seq, ack, flags, payload)
            self.w.add(t, ipv4_pkt(CLI, SRV, 6, seg))
        else:
            seg = tcp_seg(SRV, CLI, self.dport, self.sport, seq, ack, flags, payload)
            self.w.add(t, ipv4_pkt(SRV, CLI, 6, seg))

    def handshake(self, t):
        self.pkt(t, True, self.isn_c, 0, 0x02)
        self.pkt(t + 100, False, self.isn_s, self.cseq, 0x12)
        self.pkt(t + 200, True, self.cseq, self.sseq, 0x10)

    def c2s(self, t, data, seq=None):
        s = self.cseq if seq is None else seq
        self.pkt(t, True, s, self.sseq, 0x18, data)
        if seq is None:
            self.cseq += len(data)

    def s2c(self, t, data):
        self.pkt(t, False, self.sseq, self.cseq, 0x18, data)
        self.sseq += len(data)

    def close(self, t):
        self.pkt(t, True, self.cseq, self.sseq, 0x11)
        self.pkt(t + 100, False, self.sseq, self.cseq + 1, 0x11)
        self.pkt(t + 200, True, self.cseq + 1, self.sseq + 1, 0x10)


def two_exchanges(w, first_req, first_resp, second_req=b"GET /two HTTP/1.1\r\nHost: h\r\n\r\n",
                  second_resp=b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"):
    c = Conn(w)
    c.handshake(0)
    c.c2s(1000, first_req)
    c.s2c(2000, first_resp)
    c.c2s(3000, second_req)
    c.s2c(4000, second_resp)
    c.close(5000)


def case_cl_list(w, n):
    two_exchanges(w, b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n",
                  b"HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\nbody")


def case_cl_differ(w, n):
    two_exchanges(w, b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n",
                  b"HTTP/1.1 200 OK\r\nContent-Length: 4, 5\r\n\r\nbody")


def case_chunk_huge(w, n):
    two_exchanges(w, b"POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"ffffffffffffffff\r\nhello",
                  b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def case_req_bad_cl(w, n):
    two_exchanges(w, b"POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\nhello",
                  b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def case_http09_status(w, n):
    c = Conn(w)
    c.handshake(0)
    c.c2s(1000, b"GET /x\r\n")
    c.s2c(2000, b"HTTP/1.0 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!")
    c.pkt(3000, False, c.sseq, c.cseq, 0x11)
    c.pkt(3100, True, c.cseq, c.sseq + 1, 0x11)
    c.pkt(3200, False, c.sseq + 1, c.cseq + 1, 0x10)


def case_ooo_request(w, n):
    c = Conn(w)
    c.handshake(0)
    a, b = b"GET /ooo HTTP/1.1\r\n", b"Host: h\r\n\r\n"
    c.c2s(1000, b, seq=c.cseq + len(a))   # the tail is captured first
    c.c2s(51000, a)                        # then the head, 50 ms later
    c.cseq += len(b)
    c.s2c(52000, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close(60000)


def case_title_ctl(w, n):
    c = Conn(w)
    c.handshake(0)
    c.c2s(1000, b"GET /a\x1b[2Jb\x07 HTTP/1.1\r\nHost: h\r\n\r\n")
    c.s2c(2000, b"HTTP/1.1 200 O\x1bK\r\nContent-Length: 0\r\n\r\n")
    c.close(3000)


def case_frag_flood(w, n):
    for i in range(n):
        # first fragment (offset 0, more fragments) of datagram i: one byte, never completed
        w.add(i, ipv4_pkt(CLI, SRV, 6, b"\x01", ident=i & 0xFFFF, mf=True)
              if i < 65536 else
              ipv4_pkt("10.2.%d.%d" % ((i >> 16) & 0xFF, 1), SRV, 6, b"\x01", ident=i & 0xFFFF,
                       mf=True))
    c = Conn(w, sport=40001)
    c.handshake(n + 10)
    c.c2s(n + 1000, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    c.s2c(n + 2000, b"HTTP/1.1 204 No Content\r\n\r\n")
    c.close(n + 3000)


def case_frag6_zero(w, n):
    for i in range(n):
        frag = struct.pack("!BBHI", 6, 0, 1, i)  # next header TCP, offset 0, M=1, id i, no data
        w.add(i, ipv6_pkt(CLI6, SRV6, 44, frag))


def case_frag_conflict(w, n):
    # Two SYNs with 16 bytes of data, each in two overlapping IPv4 fragments whose common bytes
    # [16, 24) differ: fragment 1 holds bytes [0, 24), fragment 2 bytes [16, 36) starting with
    # 8 'B's. Datagram 7 sends them in order, datagram 8 the second first. Wireshark takes each
    # byte from the fragment with the lowest offset: both segments carry 16 'A's and a good
    # checksum.
    for k, (ident, sport) in enumerate(((7, 40002), (8, 40003))):
        seg = tcp_seg(CLI, SRV, sport, 80, 1000, 0, 0x02, b"A" * 16)
        f1 = ipv4_pkt(CLI, SRV, 6, seg[:24], ident=ident, frag_off=0, mf=True)
        f2 = ipv4_pkt(CLI, SRV, 6, b"B" * 8 + seg[24:], ident=ident, frag_off=16, mf=False)
        first, second = (f1, f2) if k == 0 else (f2, f1)
        w.add(100 * k, first)
        w.add(100 * k + 10, second)


def case_ts_2262(path, n):
    """A pcapng (64-bit timestamps) whose packets are stamped after the year 2262, where connscope's
    int64 nanoseconds saturate: an HTTP exchange, then a SYN a second later."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", 1, 0, 262144))]
    mem = Writer.__new__(Writer)
    frames = []
    mem.add = lambda t, frame: frames.append((t, frame))
    c = Conn(mem)
    c.handshake(0)
    c.c2s(1000, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    c.s2c(2000, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c2 = Conn(mem, sport=40010)
    c2.pkt(1000000, True, 77, 0, 0x02)
    base = 9223372035 * 1000000 + 999000  # microseconds: the last second before the clamp
    for t, frame in frames:
        ts = base + t
        out.append(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                        len(frame)) + frame))
    with open(path, "wb") as f:
        f.write(b"".join(out))


def sparse(w, n, contiguous):
    c = Conn(w)
    c.handshake(0)
    base = c.cseq
    if contiguous:
        order = list(range(n))
        step = 1
    else:
        order = list(range(1, n + 1))
        random.Random(13).shuffle(order)
        step = 2
    for k, i in enumerate(order):
        c.c2s(1000 + k, b"x", seq=base + i * step)
    if not contiguous:
        c.c2s(1000 + n, b"x", seq=base)  # the lost first byte: everything drains
    c.cseq = base + (n * step + 1 if not contiguous else n)
    c.close(2000 + n)


CASES = {
    "cl-list": case_cl_list, "cl-differ": case_cl_differ, "chunk-huge": case_chunk_huge,
    "req-bad-cl": case_req_bad_cl, "http09-status": case_http09_status,
    "ooo-request": case_ooo_request, "title-ctl": case_title_ctl,
    "frag-flood": case_frag_flood, "frag6-zero": case_frag6_zero,
    "frag-conflict": case_frag_conflict,
    "sparse-ooo": lambda w, n: sparse(w, n, False),
    "contiguous": lambda w, n: sparse(w, n, True),
}

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "ts-2262":
        case_ts_2262(sys.argv[2], 0)
        sys.exit(0)
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        sys.exit("usage: hostile.py CASE OUT.pcap [N]; cases: ts-2262 " + " ".join(CASES))
    w = Writer(sys.argv[2])
    CASES[sys.argv[1]](w, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    w.close()
