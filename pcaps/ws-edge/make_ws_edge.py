#!/usr/bin/env python3
"""Generate the ws-edge pcaps: small hand-crafted captures that probe how
Wireshark/tshark 4.0 assigns tcp.stream (see doc/wireshark-stream-rules.md).

Stdlib only.  Output is deterministic (fixed timestamps, addresses, ISNs).

Usage:
  make_ws_edge.py [OUTDIR]             write CASE.pcap for every case
  make_ws_edge.py --expected [OUTDIR]  also run
        tshark -r CASE.pcap -T fields -e frame.number -e tcp.stream
      and write its stdout verbatim to CASE.expected
  make_ws_edge.py --list               print case names and descriptions

OUTDIR defaults to the directory holding this script.
"""

import os
import struct
import subprocess
import sys

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

C4, S4, R4 = "10.0.0.1", "10.0.0.2", "10.0.0.254"   # client, server, router
C6, S6, R6 = "2001:db8::1", "2001:db8::2", "2001:db8::fe"
MAC_C = bytes.fromhex("020000000001")
MAC_S = bytes.fromhex("020000000002")


# --------------------------------------------------------------------------
# packet building
# --------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4_bytes(a):
    return bytes(int(x) for x in a.split("."))


def ip6_bytes(a):
    head, _, tail = a.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    words = h + [0] * (8 - len(h) - len(t)) + t
    return struct.pack("!8H", *words)


def is_v6(a):
    return ":" in a


def tcp_seg(src, dst, sport, dport, seq, ack, flags, data=b"", doff=5,
            opts=b"", win=65535):
    """TCP header + payload with a correct checksum.  doff is the raw
    4-bit data-offset field; opts are appended verbatim (the caller keeps
    doff consistent with them, or deliberately not)."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, (doff & 0xF) << 4, flags & 0xFF,
                      win, 0, 0) + opts
    seg = hdr + data
    if is_v6(src):
        ph = ip6_bytes(src) + ip6_bytes(dst) + struct.pack("!IxxxB", len(seg), 6)
    else:
        ph = ip4_bytes(src) + ip4_bytes(dst) + struct.pack("!xBH", 6, len(seg))
    c = csum(ph + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, proto, payload, ident=1, mf=False, frag_off=0,
         total_len=None, ttl=64):
    tl = 20 + len(payload) if total_len is None else total_len
    fl = (0x2000 if mf else 0) | (frag_off & 0x1FFF)
    if not mf and frag_off == 0:
        fl |= 0x4000                      # DF on unfragmented packets
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, ident, fl, ttl, proto, 0,
                      ip4_bytes(src), ip4_bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hlim,
                       ip6_bytes(src), ip6_bytes(dst)) + payload


def eth(payload, ethertype, vlan=None, src=MAC_C, dst=MAC_S):
    if vlan is not None:
        return dst + src + struct.pack("!HHH", 0x8100, vlan & 0xFFF,
                                       ethertype) + payload
    return dst + src + struct.pack("!H", ethertype) + payload


def icmp4_unreach(quoted):
    body = struct.pack("!BBHI", 3, 3, 0, 0) + quoted     # port unreachable
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def icmp6_unreach(src, dst, quoted):
    body = struct.pack("!BBHI", 1, 4, 0, 0) + quoted     # port unreachable
    ph = ip6_bytes(src) + ip6_bytes(dst) + struct.pack("!IxxxB", len(body), 58)
    return body[:2] + struct.pack("!H", csum(ph + body)) + body[4:]


def flag_str(flags):
    names = [(SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"),
             (URG, "URG"), (ACK, "ACK")]
    return "|".join(n for b, n in names if flags & b) or "none"


class Frame:
    def __init__(self, data, orig_len=None, note=""):
        self.data = data
        self.orig_len = len(data) if orig_len is None else orig_len
        self.note = note
        self.gap = 0          # extra seconds of idle time before this frame


def T(src, dst, sport, dport, seq, ack, flags, data=b"", vlan=None,
      note="", cut=None, ip_total_len=None, doff=5, opts=b""):
    """One TCP frame over Ethernet/IPv4 or Ethernet/IPv6.
    cut: keep only this many bytes of the TCP header/segment in the
    captured data (orig_len stays the full length, as with a snaplen)."""
    seg = tcp_seg(src, dst, sport, dport, seq, ack, flags, data, doff, opts)
    desc = "%d>%d %s seq=%d" % (sport, dport, flag_str(flags), seq)
    if flags & ACK:
        desc += " ack=%d" % ack
    if data:
        desc += " len=%d" % len(data)
    if vlan is not None:
        desc += " vlan=%d" % vlan
    note = desc + (" -- " + note if note else "")
    if is_v6(src):
        ip = ipv6(src, dst, 6, seg)
        fr = eth(ip, 0x86DD, vlan)
        hl = 14 + (4 if vlan is not None else 0) + 40
    else:
        ip = ipv4(src, dst, 6, seg, total_len=ip_total_len)
        fr = eth(ip, 0x0800, vlan)
        hl = 14 + (4 if vlan is not None else 0) + 20
    if cut is not None:
        return Frame(fr[:hl + cut], len(fr), note)
    return Frame(fr, None, note)


def handshake(c, s, cp, sp, cisn, sisn, vlan=None):
    return [
        T(c, s, cp, sp, cisn, 0, SYN, vlan=vlan),
        T(s, c, sp, cp, sisn, cisn + 1, SYN | ACK, vlan=vlan),
        T(c, s, cp, sp, cisn + 1, sisn + 1, ACK, vlan=vlan),
    ]


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def c01_reuse_after_fin():
    """Full connection closed with FIN/FIN/ACK, then a SYN on the same
    4-tuple with a new ISN."""
    f = handshake(C4, S4, 40001, 80, 1000, 5000)
    f += [
        T(C4, S4, 40001, 80, 1001, 5001, PSH | ACK, b"GET /\r\n\r\n"),
        T(S4, C4, 80, 40001, 5001, 1011, ACK),
        T(C4, S4, 40001, 80, 1011, 5001, FIN | ACK),
        T(S4, C4, 80, 40001, 5001, 1012, FIN | ACK),
        T(C4, S4, 40001, 80, 1012, 5002, ACK, note="last ACK"),
    ]
    f += handshake(C4, S4, 40001, 80, 2000, 7000)
    f += [T(C4, S4, 40001, 80, 2001, 7001, FIN | ACK)]
    return f


@case
def c02_reuse_after_rst():
    """Connection aborted by RST, then a SYN on the same 4-tuple with a
    new ISN."""
    f = handshake(C4, S4, 40002, 80, 1000, 5000)
    f += [
        T(C4, S4, 40002, 80, 1001, 5001, PSH | ACK, b"hello"),
        T(S4, C4, 80, 40002, 5001, 1006, RST | ACK),
    ]
    f += handshake(C4, S4, 40002, 80, 3000, 9000)
    return f


@case
def c03_reuse_while_open():
    """New SYN (new ISN) on a 4-tuple whose connection is still open; then
    late packets that belong to the old connection."""
    f = handshake(C4, S4, 40003, 80, 1000, 5000)
    f += [T(C4, S4, 40003, 80, 1001, 5001, PSH | ACK, b"abc")]
    f += handshake(C4, S4, 40003, 80, 2000, 8000)
    f += [
        T(S4, C4, 80, 40003, 5001, 1004, PSH | ACK, b"old", note="late pkt of OLD conn"),
        T(C4, S4, 40003, 80, 1004, 5004, FIN | ACK, note="FIN of OLD conn"),
        T(C4, S4, 40003, 80, 2001, 8001, PSH | ACK, b"new", note="data of NEW conn"),
    ]
    return f


@case
def c04_syn_retrans_same_isn():
    """SYN retransmitted twice with the same ISN, then the handshake."""
    return [
        T(C4, S4, 40004, 80, 1000, 0, SYN),
        T(C4, S4, 40004, 80, 1000, 0, SYN, note="SYN retrans"),
        T(C4, S4, 40004, 80, 1000, 0, SYN, note="SYN retrans"),
    ] + handshake(C4, S4, 40004, 80, 1000, 5000)[1:]


@case
def c05_reverse_syn_new_seq():
    """After a handshake, the former server sends a pure SYN with a seq
    different from its own ISN (reverse-direction reuse)."""
    f = handshake(C4, S4, 40005, 80, 1000, 5000)
    f += [
        T(S4, C4, 80, 40005, 9000, 0, SYN, note="SYN from server, new seq"),
        T(C4, S4, 40005, 80, 3000, 9001, SYN | ACK, note="SYN/ACK from client"),
        T(S4, C4, 80, 40005, 9001, 3001, ACK),
        T(C4, S4, 40005, 80, 1001, 5001, PSH | ACK, b"x", note="late pkt of first conn"),
    ]
    return f


@case
def c06_reverse_syn_same_seq():
    """After a handshake, the former server sends a pure SYN whose seq
    equals its own ISN (from its SYN/ACK)."""
    f = handshake(C4, S4, 40006, 80, 1000, 5000)
    f += [
        T(S4, C4, 80, 40006, 5000, 0, SYN, note="SYN from server, seq == server ISN"),
        T(C4, S4, 40006, 80, 1001, 5001, ACK),
    ]
    return f


@case
def c07_synack_diff_seq():
    """Two SYN/ACKs with different seq for one SYN; then pure SYNs from the
    server side with the second and the first SYN/ACK seq."""
    return [
        T(C4, S4, 40007, 80, 1000, 0, SYN),
        T(S4, C4, 80, 40007, 5000, 1001, SYN | ACK, note="SYN/ACK seq 5000"),
        T(S4, C4, 80, 40007, 6000, 1001, SYN | ACK, note="SYN/ACK seq 6000"),
        T(C4, S4, 40007, 80, 1001, 6001, ACK),
        T(S4, C4, 80, 40007, 6000, 0, SYN, note="pure SYN from server seq 6000"),
        T(S4, C4, 80, 40007, 5000, 0, SYN, note="pure SYN from server seq 5000"),
        T(C4, S4, 40007, 80, 1001, 6001, ACK),
    ]


@case
def c08_midstream_then_syn():
    """Capture starts mid-connection (no SYN); later SYNs from the client:
    first with seq == first_seq-1 (the implied base_seq), then another."""
    return [
        T(C4, S4, 40008, 80, 100000, 200000, PSH | ACK, b"0123456789", note="mid-stream data"),
        T(S4, C4, 80, 40008, 200000, 100010, ACK),
        T(C4, S4, 40008, 80, 99999, 0, SYN, note="SYN seq == 100000-1"),
        T(C4, S4, 40008, 80, 42, 0, SYN, note="SYN seq 42"),
        T(S4, C4, 80, 40008, 777, 43, SYN | ACK),
        T(C4, S4, 40008, 80, 43, 778, ACK),
    ]


@case
def c09_midstream_rev_syn():
    """Capture starts mid-connection with one client packet carrying
    ACK=200000; the server (never seen sending) then sends pure SYNs:
    seq 199999 (== ack-1) and seq 555."""
    return [
        T(C4, S4, 40009, 80, 100000, 200000, PSH | ACK, b"0123456789", note="mid-stream data"),
        T(S4, C4, 80, 40009, 199999, 0, SYN, note="server SYN seq == 200000-1"),
        T(S4, C4, 80, 40009, 555, 0, SYN, note="server SYN seq 555"),
        T(C4, S4, 40009, 80, 100010, 200000, ACK, note="client ACK"),
    ]


def _trunc_case(n):
    mss = dict(doff=6, opts=b"\x02\x04\x05\xb4")   # 24-byte header
    def fn():
        return [
            T(C4, S4, 41001, 80, 1000, 0, SYN, note="full SYN, tuple A", **mss),
            T(C4, S4, 41002, 80, 7000, 0, SYN, cut=n, note="SYN tuple B, TCP cut to %d bytes" % n, **mss),
            T(C4, S4, 41003, 80, 3000, 0, SYN, note="full SYN, tuple C", **mss),
            T(C4, S4, 41002, 80, 7000, 0, SYN, note="full SYN tuple B, same seq 7000", **mss),
            T(C4, S4, 41001, 80, 8000, 0, SYN, cut=n, note="SYN tuple A new seq 8000, cut to %d" % n, **mss),
            T(S4, C4, 80, 41001, 5000, 1001, SYN | ACK, note="SYN/ACK tuple A", **mss),
            T(C4, S4, 41002, 80, 7001, 0, ACK, b"payload", cut=n, note="ACK+data tuple B, cut to %d" % n),
        ]
    fn.__name__ = "c10_trunc_%02d" % n
    fn.__doc__ = ("Snaplen-truncated TCP headers (24-byte SYN headers with an "
                  "MSS option): caplen keeps only the first %d bytes of the TCP "
                  "segment; orig_len is the full length." % n)
    return fn


for _n in (8, 12, 14, 15, 16, 19, 20):
    case(_trunc_case(_n))


@case
def c11_bad_doff():
    """TCP data offset < 5 (bogus header length): does it get a stream,
    does it set base_seq, can a bogus SYN start a new stream?"""
    return [
        T(C4, S4, 41101, 80, 1000, 0, SYN, doff=4, note="SYN doff=4 new tuple"),
        T(C4, S4, 41101, 80, 1000, 0, SYN, note="SYN doff=5 same seq"),
        T(C4, S4, 41101, 80, 2000, 0, SYN, note="SYN doff=5 seq 2000"),
        T(C4, S4, 41101, 80, 3000, 0, SYN, doff=0, note="SYN doff=0 seq 3000"),
        T(S4, C4, 80, 41101, 5000, 3001, SYN | ACK),
        T(C4, S4, 41102, 80, 1, 1, ACK, doff=1, note="ACK doff=1 new tuple"),
        T(C4, S4, 41103, 80, 1, 0, SYN, note="SYN new tuple"),
    ]


@case
def c12_short_segment():
    """First SYN has data offset 8 (32 bytes) but the IP total length only
    covers 20 bytes of TCP ('short segment'): base_seq is not recorded."""
    return [
        T(C4, S4, 41201, 80, 1000, 0, SYN, doff=8, note="SYN doff=8, only 20 TCP bytes in IP"),
        T(C4, S4, 41201, 80, 2000, 0, SYN, note="SYN seq 2000"),
        T(C4, S4, 41201, 80, 3000, 0, SYN, note="SYN seq 3000"),
    ]


def _icmp4(quoted, note):
    return Frame(eth(ipv4(R4, C4, 1, icmp4_unreach(quoted)), 0x0800,
                     src=MAC_S, dst=MAC_C), None, note)


@case
def c13_icmp4_unreach():
    """ICMPv4 destination-unreachable quoting TCP headers of various
    lengths, of a known tuple, of an unknown tuple, and quoting a SYN
    with a new seq on a known tuple."""
    f = handshake(C4, S4, 41301, 80, 1000, 5000)

    def q(sport, seq, flags, nbytes, ack=0):
        seg = tcp_seg(C4, S4, sport, 80, seq, ack, flags)
        return ipv4(C4, S4, 6, seg)[:20 + nbytes]

    f += [
        _icmp4(q(41301, 1001, ACK, 8, 5001), "ICMP unreach quoting 41301>80 ACK, 8 TCP bytes"),
        _icmp4(q(41301, 1001, ACK, 15, 5001), "ICMP unreach quoting 41301>80 ACK, 15 TCP bytes"),
        _icmp4(q(41301, 1001, ACK, 16, 5001), "ICMP unreach quoting 41301>80 ACK, 16 TCP bytes"),
        _icmp4(q(41301, 1001, ACK, 20, 5001), "ICMP unreach quoting 41301>80 ACK, 20 TCP bytes"),
        _icmp4(q(41302, 4242, SYN, 20), "ICMP unreach quoting 41302>80 SYN seq=4242 (tuple unseen so far), 20 TCP bytes"),
        T(C4, S4, 41302, 80, 4000, 0, SYN, note="real SYN"),
        T(C4, S4, 41302, 80, 4500, 0, SYN, note="real SYN"),
        _icmp4(q(41301, 7777, SYN, 20), "ICMP unreach quoting 41301>80 SYN seq=7777, 20 TCP bytes"),
        T(C4, S4, 41301, 80, 1001, 5001, ACK, note="real ACK"),
    ]
    return f


@case
def c14_icmp6_unreach():
    """ICMPv6 destination-unreachable quoting a whole TCP packet and an
    8-byte TCP fragment."""
    f = handshake(C6, S6, 41401, 80, 1000, 5000)
    full = ipv6(C6, S6, 6, tcp_seg(C6, S6, 41401, 80, 1001, 5001, PSH | ACK, b"data"))
    short = full[:40 + 8]
    f += [
        Frame(eth(ipv6(R6, C6, 58, icmp6_unreach(R6, C6, full)), 0x86DD,
                  src=MAC_S, dst=MAC_C), None, "ICMPv6 unreach quoting whole 41401>80 PSH|ACK packet"),
        Frame(eth(ipv6(R6, C6, 58, icmp6_unreach(R6, C6, short)), 0x86DD,
                  src=MAC_S, dst=MAC_C), None, "ICMPv6 unreach quoting 41401>80, 8 TCP bytes"),
        Frame(eth(ipv6(R6, C6, 58, icmp6_unreach(
            R6, C6, ipv6(C6, S6, 6, tcp_seg(C6, S6, 41402, 80, 1, 0, SYN))
        )), 0x86DD, src=MAC_S, dst=MAC_C), None, "ICMPv6 unreach quoting 41402>80 SYN (tuple unseen)"),
        T(C6, S6, 41403, 80, 1, 0, SYN, note="SYN new tuple"),
    ]
    return f


def _frags(src, dst, seg, ident, split, order=(0, 1), cut_first=None, notes=("", "")):
    """IPv4-fragment a TCP segment at byte 'split' (multiple of 8)."""
    p1 = ipv4(src, dst, 6, seg[:split], ident=ident, mf=True, frag_off=0)
    p2 = ipv4(src, dst, 6, seg[split:], ident=ident, mf=False, frag_off=split // 8)
    frs = [eth(p1, 0x0800), eth(p2, 0x0800)]
    out = []
    for i in order:
        fr = frs[i]
        if i == 0 and cut_first is not None:
            out.append(Frame(fr[:cut_first], len(fr), notes[i]))
        else:
            out.append(Frame(fr, None, notes[i]))
    return out


@case
def c15_ipv4_frag():
    """IPv4-fragmented TCP segments (ip.defragment on by default)."""
    f = handshake(C4, S4, 41501, 80, 1000, 5000)
    data = bytes(range(40))
    seg1 = tcp_seg(C4, S4, 41501, 80, 1001, 5001, PSH | ACK, data)
    f += _frags(C4, S4, seg1, 0x100, 24, notes=("41501>80 PSH|ACK seq=1001 len=40: frag 1/2 (has TCP hdr)", "frag 2/2 (completes reassembly)"))
    f += [T(S4, C4, 80, 41501, 5001, 1041, ACK)]
    seg2 = tcp_seg(C4, S4, 41501, 80, 1041, 5001, PSH | ACK, data)
    f += _frags(C4, S4, seg2, 0x101, 24, order=(1, 0),
                notes=("frag 1/2 (has TCP hdr, arrives last, completes reassembly)", "41501>80 PSH|ACK seq=1041 len=40: frag 2/2 (arrives first)"))
    seg3 = tcp_seg(C4, S4, 41502, 80, 1, 1, PSH | ACK, data)
    f += _frags(C4, S4, seg3, 0x102, 24, order=(0,), notes=("41502>80 PSH|ACK: lone first frag (tuple unseen), never completed", ""))
    f += [T(C4, S4, 41503, 80, 1, 0, SYN, note="SYN new tuple")]
    seg4 = tcp_seg(C4, S4, 41501, 80, 1081, 5001, PSH | ACK, data)
    f += _frags(C4, S4, seg4, 0x103, 24, order=(0,), cut_first=14 + 20 + 20,
                notes=("41501>80 PSH|ACK seq=1081: first frag, truncated by snaplen to the 20-byte TCP header (not reassembled)", ""))
    seg5 = tcp_seg(C4, S4, 41501, 80, 90000, 0, SYN, data)
    f += _frags(C4, S4, seg5, 0x104, 24, notes=("41501>80 SYN seq=90000 len=40: frag 1/2", "frag 2/2 (completes reassembly)"))
    f += [T(S4, C4, 80, 41501, 5001, 1081, ACK)]
    return f


@case
def c16_ipv6_reuse():
    """IPv6: close with FIN, reuse with new ISN, then reuse with old ISN."""
    f = handshake(C6, S6, 41601, 443, 1000, 5000)
    f += [
        T(C6, S6, 41601, 443, 1001, 5001, FIN | ACK),
        T(S6, C6, 443, 41601, 5001, 1002, FIN | ACK),
        T(C6, S6, 41601, 443, 1002, 5002, ACK),
    ]
    f += handshake(C6, S6, 41601, 443, 2000, 6000)
    f += [T(C6, S6, 41601, 443, 1000, 0, SYN, note="SYN with the first ISN again")]
    return f


@case
def c17_vlan_same_tuple():
    """Same 4-tuple on VLAN 10 and VLAN 20 (conversation keys ignore VLAN):
    same ISN first, then a different ISN on VLAN 20."""
    f = []
    a = handshake(C4, S4, 41701, 80, 1000, 5000, vlan=10)
    b = handshake(C4, S4, 41701, 80, 1000, 5000, vlan=20)
    for x, y in zip(a, b):
        f += [x, y]
    f += [
        T(C4, S4, 41701, 80, 2000, 0, SYN, vlan=20, note="VLAN 20 SYN new ISN"),
        T(C4, S4, 41701, 80, 1001, 5001, ACK, vlan=10, note="VLAN 10 ACK"),
    ]
    return f


@case
def c18_simultaneous_open():
    """Simultaneous open: two pure SYNs crossing, then two SYN/ACKs."""
    return [
        T(C4, S4, 41801, 41802, 1000, 0, SYN, note="SYN A->B"),
        T(S4, C4, 41802, 41801, 5000, 0, SYN, note="SYN B->A"),
        T(S4, C4, 41802, 41801, 5000, 1001, SYN | ACK, note="SYN/ACK B->A"),
        T(C4, S4, 41801, 41802, 1000, 5001, SYN | ACK, note="SYN/ACK A->B"),
        T(C4, S4, 41801, 41802, 1001, 5001, ACK),
    ]


@case
def c19_syn_flag_combos():
    """SYN without ACK but with FIN / RST / PSH|URG set, each with a new seq."""
    f = handshake(C4, S4, 41901, 80, 1000, 5000)
    f += [
        T(C4, S4, 41901, 80, 2000, 0, SYN | FIN, note="SYN|FIN new seq"),
        T(C4, S4, 41901, 80, 3000, 0, SYN | RST, note="SYN|RST new seq"),
        T(C4, S4, 41901, 80, 4000, 0, SYN | PSH | URG, note="SYN|PSH|URG new seq"),
        T(C4, S4, 41901, 80, 5000, 5001, SYN | ACK | RST, note="SYN|ACK|RST new seq"),
        T(C4, S4, 41901, 80, 4001, 0, ACK),
    ]
    return f


@case
def c20_syn_same_isn_after_close():
    """Connection closed with FIN, then a SYN with exactly the old ISN (==
    base_seq), then a SYN/ACK with a new server ISN."""
    f = handshake(C4, S4, 42001, 80, 1000, 5000)
    f += [
        T(C4, S4, 42001, 80, 1001, 5001, FIN | ACK),
        T(S4, C4, 80, 42001, 5001, 1002, FIN | ACK),
        T(C4, S4, 42001, 80, 1002, 5002, ACK),
        T(C4, S4, 42001, 80, 1000, 0, SYN, note="SYN old ISN 1000"),
        T(S4, C4, 80, 42001, 9000, 1001, SYN | ACK, note="SYN/ACK new ISN 9000"),
        T(C4, S4, 42001, 80, 1001, 9001, ACK),
    ]
    return f


@case
def c21_ipv4_tso_zero_len():
    """IPv4 total length 0 (TSO): ip.tso_support is on by default, so TCP
    is still dissected."""
    return [
        T(C4, S4, 42101, 80, 1000, 0, SYN, ip_total_len=0, note="SYN, ip.len=0"),
        T(S4, C4, 80, 42101, 5000, 1001, SYN | ACK),
    ]


@case
def c22_same_endpoints():
    """src == dst address and port ('land'): both directions share one flow
    state, so a SYN/ACK overwrites the SYN's base_seq."""
    return [
        T(C4, C4, 42201, 42201, 100, 0, SYN, note="SYN seq 100"),
        T(C4, C4, 42201, 42201, 200, 101, SYN | ACK, note="SYN/ACK seq 200"),
        T(C4, C4, 42201, 42201, 100, 0, SYN, note="SYN seq 100 again"),
    ]


@case
def c23_interleaved_many():
    """Several interleaved connections: index order is order of first
    packet, whatever its flags."""
    return [
        T(S4, C4, 80, 42301, 5000, 1001, ACK, note="tuple X mid-stream (server first)"),
        T(C4, S4, 42302, 80, 1000, 0, SYN, note="tuple Y SYN"),
        T(C4, S4, 42301, 80, 1001, 5000, ACK, note="tuple X client"),
        T(C4, S4, 42303, 80, 1000, 0, FIN | ACK, note="tuple Z FIN only"),
        T(S4, C4, 80, 42302, 5000, 1001, SYN | ACK, note="tuple Y SYN/ACK"),
        T(C4, S4, 42303, 80, 1000, 0, RST, note="tuple Z RST"),
    ]


def _ipv6_frag(src, dst, seg, ident, split, order=(0, 1), notes=("", "")):
    """IPv6-fragment a TCP segment at byte 'split' (multiple of 8)."""
    def fh(off, m):
        return struct.pack("!BBHI", 6, 0, (off // 8) << 3 | (1 if m else 0), ident)
    frs = [eth(ipv6(src, dst, 44, fh(0, True) + seg[:split]), 0x86DD),
           eth(ipv6(src, dst, 44, fh(split, False) + seg[split:]), 0x86DD)]
    return [Frame(frs[i], None, notes[i]) for i in order]


@case
def c24_ipv6_frag():
    """IPv6-fragmented TCP segments (ipv6.defragment on by default)."""
    f = handshake(C6, S6, 42401, 80, 1000, 5000)
    data = bytes(range(40))
    seg1 = tcp_seg(C6, S6, 42401, 80, 1001, 5001, PSH | ACK, data)
    f += _ipv6_frag(C6, S6, seg1, 0x200, 24, notes=("42401>80 PSH|ACK seq=1001 len=40: frag 1/2 (has TCP hdr)", "frag 2/2 (completes reassembly)"))
    seg2 = tcp_seg(C6, S6, 42402, 80, 1, 1, PSH | ACK, data)
    f += _ipv6_frag(C6, S6, seg2, 0x201, 24, order=(0,), notes=("42402>80 PSH|ACK: lone first frag (tuple unseen), never completed", ""))
    f += [T(C6, S6, 42403, 80, 1, 0, SYN, note="SYN new tuple")]
    return f


# SNMPv2c GetRequest for sysDescr.0, community "public"
SNMP_GET = bytes.fromhex("302602010104067075626c6963a019020101020100020100"
                         "300e300c06082b060102010101000500")


@case
def c25_snmp_tcp_split():
    """SNMP over TCP port 161: the SNMP dissector creates its own
    conversation on the same 4-tuple, which the TCP dissector then finds
    (an application-dissector side effect, not a TCP rule)."""
    f = handshake(C4, S4, 42501, 161, 1000, 5000)
    n = len(SNMP_GET)
    f += [
        T(C4, S4, 42501, 161, 1001, 5001, PSH | ACK, SNMP_GET, note="SNMP GetRequest"),
        T(S4, C4, 161, 42501, 5001, 1001 + n, ACK),
        T(C4, S4, 42501, 161, 1001 + n, 5001, PSH | ACK, SNMP_GET, note="SNMP GetRequest"),
        T(S4, C4, 161, 42501, 5001, 1001 + 2 * n, FIN | ACK),
    ]
    return f


@case
def c26_vnc_heur_split():
    """VNC on a non-VNC port: the VNC heuristic dissector creates a new
    conversation on the same 4-tuple when it sees the 'RFB 003.008' banner
    (an application-dissector side effect, not a TCP rule)."""
    f = handshake(C4, S4, 42601, 5999, 1000, 5000)
    rfb = b"RFB 003.008\n"
    f += [
        T(S4, C4, 5999, 42601, 5001, 1001, PSH | ACK, rfb, note="server RFB banner"),
        T(C4, S4, 42601, 5999, 1001, 5013, ACK),
        T(C4, S4, 42601, 5999, 1001, 5013, PSH | ACK, rfb, note="client RFB banner"),
        T(S4, C4, 5999, 42601, 5013, 1013, ACK),
    ]
    return f


def _gap(frame, seconds):
    frame.gap = seconds
    return frame


@case
def c27_time_gap():
    """Idle gaps of one day: same ISN after close and a plain ACK after a
    gap (no time-based rule exists), then a new ISN."""
    f = handshake(C4, S4, 42701, 80, 1000, 5000)
    f += [
        T(C4, S4, 42701, 80, 1001, 5001, FIN | ACK),
        T(S4, C4, 80, 42701, 5001, 1002, FIN | ACK),
        T(C4, S4, 42701, 80, 1002, 5002, ACK),
        _gap(T(C4, S4, 42701, 80, 1000, 0, SYN, note="+1 day: SYN old ISN"), 86400),
        _gap(T(C4, S4, 42701, 80, 1001, 5001, ACK, note="+1 day: ACK"), 86400),
        _gap(T(C4, S4, 42701, 80, 4000, 0, SYN, note="+1 day: SYN new ISN"), 86400),
    ]
    return f


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------

def write_pcap(path, frames):
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        extra = 0
        for i, fr in enumerate(frames):
            extra += fr.gap
            ts = (1700000000 + extra) * 1000000 + i * 1000
            fh.write(struct.pack("<IIII", ts // 1000000, ts % 1000000,
                                 len(fr.data), fr.orig_len))
            fh.write(fr.data)


def main(argv):
    expected = "--expected" in argv
    if "--list" in argv:
        for fn in CASES:
            print("%-28s %s" % (fn.__name__, " ".join(fn.__doc__.split())))
        return 0
    args = [a for a in argv if not a.startswith("--")]
    outdir = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    for fn in CASES:
        name = fn.__name__
        frames = fn()
        pcap = os.path.join(outdir, name + ".pcap")
        write_pcap(pcap, frames)
        if expected:
            out = subprocess.run(
                ["tshark", "-r", pcap, "-T", "fields",
                 "-e", "frame.number", "-e", "tcp.stream"],
                check=True, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL).stdout
            with open(os.path.join(outdir, name + ".expected"), "wb") as fh:
                fh.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
