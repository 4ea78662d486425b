#!/usr/bin/env python3
"""Generate pcaps/tunnels/edge/: small hand-crafted captures of TCP and UDP inside every
encapsulation connscope decodes (VXLAN, GENEVE, GRE and its options, ERSPAN I/II/III, IP-in-IP,
MPLS, PPPoE, Teredo, nesting), of the same inner 4-tuple in different tunnels, and of malformed
tunnel headers. Stdlib only; output is deterministic (fixed timestamps, addresses, ISNs).

Usage:
  make_tunnel_edge.py [OUTDIR]             write CASE.pcap for every case
  make_tunnel_edge.py --expected [OUTDIR]  also write CASE.expected: the verbatim stdout of
        tshark -r CASE.pcap -T fields -e frame.number -e tcp.stream -e udp.stream
      (with the case's tshark decode-as arguments, if any; needs tshark in PATH)
  make_tunnel_edge.py --list               print case names and descriptions

OUTDIR defaults to the directory edge/ beside this script. Builders (Ethernet, IPv4/IPv6, TCP with
checksums) come from ../ws-edge/make_ws_edge.py.
"""

import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ws-edge"))
from make_ws_edge import (ACK, FIN, PSH, SYN, C4, S4, C6, S6, Frame, csum, eth, ip4_bytes,  # noqa: E402
                          ip6_bytes, ipv4, ipv6, tcp_seg, write_pcap)

# underlay (outer) addresses
O1, O2, O3 = "192.0.2.1", "192.0.2.2", "192.0.2.9"
O61, O62 = "2001:db8:ff::1", "2001:db8:ff::2"


# --------------------------------------------------------------------------
# building blocks: each returns bytes
# --------------------------------------------------------------------------

def udp(src, dst, sport, dport, payload, length=None):
    ln = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    if ":" in src:
        ph = ip6_bytes(src) + ip6_bytes(dst) + struct.pack("!IxxxB", len(seg), 17)
    else:
        ph = ip4_bytes(src) + ip4_bytes(dst) + struct.pack("!xBH", 17, len(seg))
    c = csum(ph + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def ip(src, dst, proto, payload):
    return ipv6(src, dst, proto, payload) if ":" in src else ipv4(src, dst, proto, payload)


def ethertype_of(src):
    return 0x86DD if ":" in src else 0x0800


def inner_tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    """An inner IP packet carrying one TCP segment."""
    return ip(src, dst, 6, tcp_seg(src, dst, sport, dport, seq, ack, flags, data))


def inner_udp(src, dst, sport, dport, data=b"x"):
    return ip(src, dst, 17, udp(src, dst, sport, dport, data))


def ether_of(inner_ip):
    """An Ethernet frame around an inner IP packet (version from its first nibble)."""
    return eth(inner_ip, 0x86DD if inner_ip[0] >> 4 == 6 else 0x0800)


def vxlan(vni, frame, flags=0x08):
    return struct.pack("!BBHI", flags, 0, 0, vni << 8) + frame


def geneve(vni, proto, payload, opts=b"", ver=0):
    assert len(opts) % 4 == 0
    return struct.pack("!BBHI", (ver << 6) | (len(opts) // 4), 0, proto, vni << 8) + opts + payload


def gre(proto, payload, key=None, seq=None, csum_on=False, routing=None, version=0, ack=None):
    flags = version
    body = b""
    if csum_on or routing is not None:
        flags |= (0x8000 if csum_on else 0) | (0x4000 if routing is not None else 0)
        body += struct.pack("!HH", 0, 0)
    if key is not None:
        flags |= 0x2000
        body += struct.pack("!I", key)
    if seq is not None:
        flags |= 0x1000
        body += struct.pack("!I", seq)
    if ack is not None:
        flags |= 0x0080
        body += struct.pack("!I", ack)
    if routing is not None:
        body += routing
    hdr = struct.pack("!HH", flags, proto) + body
    if csum_on:
        c = csum(hdr + payload)
        hdr = hdr[:4] + struct.pack("!H", c) + hdr[6:]
    return hdr + payload


def erspan2(session, frame, vlan=0):
    return struct.pack("!HHI", (1 << 12) | vlan, session & 0x3FF, 0) + frame


def erspan3(session, frame, o_flag=False):
    hdr = struct.pack("!HHIHH", (2 << 12), session & 0x3FF, 0x12345678, 0, 1 if o_flag else 0)
    if o_flag:
        hdr += b"\0" * 8
    return hdr + frame


def mpls(labels, payload):
    out = b""
    for i, lab in enumerate(labels):
        bos = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (lab << 12) | (bos << 8) | 64)
    return out + payload


def pppoe(session, ppp_proto, payload):
    return struct.pack("!BBHHH", 0x11, 0, session, len(payload) + 2, ppp_proto) + payload


def teredo(ipv6_pkt, origin=False, auth=False):
    out = b""
    if auth:
        out += struct.pack("!HBB", 1, 0, 0) + b"\x01" * 8 + b"\0"
    if origin:
        out += struct.pack("!HH4s", 0, 0xFFFF ^ 40000, bytes(b ^ 0xFF for b in ip4_bytes(O1)))
    return out + ipv6_pkt


def over_udp(src, dst, sport, dport, payload):
    return eth(ip(src, dst, 17, udp(src, dst, sport, dport, payload)), ethertype_of(src))


def over_ip(src, dst, proto, payload):
    return eth(ip(src, dst, proto, payload), ethertype_of(src))


# --------------------------------------------------------------------------
# inner conversations
# --------------------------------------------------------------------------

def handshake_ips(c, s, cp, sp, cisn=1000, sisn=5000, data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
    """Inner IP packets of a short TCP connection: handshake, one request, FIN both ways."""
    n = len(data)
    return [
        inner_tcp(c, s, cp, sp, cisn, 0, SYN),
        inner_tcp(s, c, sp, cp, sisn, cisn + 1, SYN | ACK),
        inner_tcp(c, s, cp, sp, cisn + 1, sisn + 1, ACK),
        inner_tcp(c, s, cp, sp, cisn + 1, sisn + 1, PSH | ACK, data),
        inner_tcp(s, c, sp, cp, sisn + 1, cisn + 1 + n, FIN | ACK),
        inner_tcp(c, s, cp, sp, cisn + 1 + n, sisn + 2, FIN | ACK),
    ]


def F(data, note):
    return Frame(data, None, note)


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def _same_tuple(wrap, label_a, label_b):
    """One handshake through tunnel a and b alike (interleaved), then a SYN with a new ISN in b
    and an ACK in a: whether the tunnels keep the inner 4-tuples apart."""
    f = []
    what = ["41000>80 SYN seq=1000", "80>41000 SYN|ACK seq=5000 ack=1001",
            "41000>80 ACK seq=1001 ack=5001"]
    for pkt, w in zip(handshake_ips(C4, S4, 41000, 80)[:3], what):
        f.append(F(wrap(pkt, "a"), label_a + ": " + w))
        f.append(F(wrap(pkt, "b"), label_b + ": " + w))
    f.append(F(wrap(inner_tcp(C4, S4, 41000, 80, 3000, 0, SYN), "b"),
               label_b + ": 41000>80 SYN seq=3000 (new ISN)"))
    f.append(F(wrap(inner_tcp(C4, S4, 41000, 80, 1001, 5001, ACK), "a"),
               label_a + ": 41000>80 ACK seq=1001 ack=5001"))
    return f


@case
def t01_same_tuple_vni():
    """The same inner 4-tuple in VXLAN VNI 100 and VNI 200 between the same VTEPs."""
    return _same_tuple(lambda p, w: over_udp(O1, O2, 50000, 4789,
                                             vxlan(100 if w == "a" else 200, ether_of(p))),
                       "vni 100", "vni 200")


@case
def t02_same_tuple_outer():
    """The same inner 4-tuple in VXLAN VNI 100 from two VTEPs (outer sources differ)."""
    return _same_tuple(lambda p, w: over_udp(O1 if w == "a" else O3, O2, 50000, 4789,
                                             vxlan(100, ether_of(p))),
                       "vtep 192.0.2.1", "vtep 192.0.2.9")


@case
def t03_same_tuple_gre_key():
    """The same inner 4-tuple in GRE key 1 and GRE key 2 between the same routers."""
    return _same_tuple(lambda p, w: over_ip(O1, O2, 47, gre(0x0800, p, key=1 if w == "a" else 2)),
                       "gre key 1", "gre key 2")


@case
def t04_plain_and_gre():
    """The same 4-tuple plain (no tunnel) and inside GRE."""
    return _same_tuple(lambda p, w: eth(p, 0x0800) if w == "a" else over_ip(O1, O2, 47, gre(0x0800, p)),
                       "plain", "gre")


@case
def t05_vxlan_geneve():
    """TCP in VXLAN, in GENEVE with options (Ethernet payload) and in GENEVE carrying IPv4
    directly; UDP inside VXLAN (two udp.stream values on one frame)."""
    f = []
    for p in handshake_ips(C4, S4, 41100, 80):
        f.append(F(over_udp(O1, O2, 51000, 4789, vxlan(7, ether_of(p))), "vxlan 7"))
    opts = struct.pack("!HBB", 0x0103, 0x80, 1) + b"\1\2\3\4"  # one 8-byte option
    for p in handshake_ips(C4, S4, 41101, 80):
        f.append(F(over_udp(O1, O2, 52000, 6081, geneve(8, 0x6558, ether_of(p), opts)),
                   "geneve 8 eth+opts"))
    for p in handshake_ips(C6, S6, 41102, 443):
        f.append(F(over_udp(O61, O62, 52001, 6081, geneve(9, 0x86DD, p)), "geneve 9 ipv6 over ipv6"))
    for i in range(2):
        f.append(F(over_udp(O1, O2, 51000, 4789, vxlan(7, ether_of(inner_udp(C4, S4, 5353, 53)))),
                   "vxlan udp"))
        f.append(F(over_udp(O2, O1, 51001, 4789, vxlan(7, ether_of(inner_udp(S4, C4, 53, 5353)))),
                   "vxlan udp reply"))
    return f


@case
def t06_gre_variants():
    """GRE with checksum+key+sequence, with routing entries (RFC 1701), IPv6 payload, Ethernet
    bridging (0x6558), MPLS payload, and PPTP's enhanced GRE with PPP (address/control and a
    compressed protocol field)."""
    f = []
    for p in handshake_ips(C4, S4, 41200, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x0800, p, key=0xdeadbeef, seq=7, csum_on=True)),
                   "gre csum+key+seq"))
    sre = struct.pack("!HBB", 0x0800, 0, 4) + ip4_bytes(O3) + struct.pack("!HBB", 0, 0, 0)
    for p in handshake_ips(C4, S4, 41201, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x0800, p, routing=sre)), "gre routing"))
    for p in handshake_ips(C6, S6, 41202, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x86DD, p)), "gre ipv6"))
    for p in handshake_ips(C4, S4, 41203, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x6558, ether_of(p), key=42)), "gretap key 42"))
    for p in handshake_ips(C4, S4, 41204, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x8847, mpls([16, 17], p))), "gre mpls"))
    for i, p in enumerate(handshake_ips(C4, S4, 41205, 80)):
        ppp = (b"\xff\x03\x00\x21" if i % 2 == 0 else b"\x21") + p
        key = struct.pack("!HH", len(ppp), 0x1234)
        f.append(F(over_ip(O1, O2, 47, gre(0x880B, ppp, key=struct.unpack("!I", key)[0], seq=i,
                                         version=1)), "pptp ppp"))
    return f


@case
def t07_erspan():
    """ERSPAN type I (GRE without sequence number), type II (session 5), type III (session 6,
    with and without the platform-specific subheader)."""
    f = []
    for p in handshake_ips(C4, S4, 41300, 80):
        f.append(F(over_ip(O1, O2, 47, gre(0x88BE, ether_of(p))), "erspan I"))
    for i, p in enumerate(handshake_ips(C4, S4, 41301, 80)):
        f.append(F(over_ip(O1, O2, 47, gre(0x88BE, erspan2(5, ether_of(p)), seq=i)), "erspan II"))
    for i, p in enumerate(handshake_ips(C4, S4, 41302, 80)):
        f.append(F(over_ip(O1, O2, 47, gre(0x22EB, erspan3(6, ether_of(p), o_flag=i % 2 == 1), seq=i)),
                   "erspan III"))
    return f


@case
def t08_ipip():
    """IPv4 in IPv4, IPv6 in IPv4 (6in4, sit), IPv4 in IPv6, IPv6 in IPv6."""
    f = []
    for p in handshake_ips(C4, S4, 41400, 80):
        f.append(F(over_ip(O1, O2, 4, p), "4in4"))
    for p in handshake_ips(C6, S6, 41401, 80):
        f.append(F(over_ip(O1, O2, 41, p), "6in4"))
    for p in handshake_ips(C4, S4, 41402, 80):
        f.append(F(over_ip(O61, O62, 4, p), "4in6"))
    for p in handshake_ips(C6, S6, 41403, 80):
        f.append(F(over_ip(O61, O62, 41, p), "6in6"))
    return f


@case
def t09_mpls_pppoe():
    """MPLS with two labels (IPv4, found by the first nibble), one label over IPv6, the IPv4
    explicit-null label; PPPoE session with IPv4 and IPv6."""
    f = []
    for p in handshake_ips(C4, S4, 41500, 80):
        f.append(F(eth(mpls([100, 200], p), 0x8847), "mpls 2 labels"))
    for p in handshake_ips(C6, S6, 41501, 80):
        f.append(F(eth(mpls([300], p), 0x8847), "mpls ipv6"))
    for p in handshake_ips(C4, S4, 41502, 80):
        f.append(F(eth(mpls([0], p), 0x8847), "mpls explicit null"))
    for p in handshake_ips(C4, S4, 41503, 80):
        f.append(F(eth(pppoe(0x1111, 0x0021, p), 0x8864), "pppoe ipv4"))
    for p in handshake_ips(C6, S6, 41504, 80):
        f.append(F(eth(pppoe(0x1111, 0x0057, p), 0x8864), "pppoe ipv6"))
    return f


@case
def t10_teredo():
    """Teredo (UDP 3544): IPv6 TCP plain, after an origin indication, after an authentication
    header; UDP 3544 from a low port is not Teredo."""
    f = []
    for i, p in enumerate(handshake_ips("2001:0:4137:9e50::1", S6, 41600, 80)):
        opt = [dict(), dict(origin=True), dict(auth=True)][i % 3]
        sport, dport = (40000, 3544) if i % 2 == 0 else (3544, 40000)
        src, dst = (O1, O2) if i % 2 == 0 else (O2, O1)
        f.append(F(over_udp(src, dst, sport, dport, teredo(p, **opt)), "teredo %s" % sorted(opt)))
    f.append(F(over_udp(O1, O2, 53, 3544, b"\x12\x34" + b"\0" * 10), "dns port 53 -> 3544"))
    return f


@case
def t11_nested():
    """Nesting: VXLAN inside GRE inside IPv4-in-IPv6 (3 tunnel layers), and QinQ inside VXLAN."""
    f = []
    for p in handshake_ips(C4, S4, 41700, 80):
        v = over_udp(O1, O2, 53000, 4789, vxlan(77, ether_of(p)))[14:]  # outer IPv4 of VXLAN
        g = ipv4(O3, O2, 47, gre(0x0800, v, key=5))
        f.append(F(over_ip(O61, O62, 4, g), "ipip/gre/vxlan"))
    for p in handshake_ips(C4, S4, 41701, 80):
        qinq = eth(struct.pack("!HHHH", 10, 0x8100, 20, 0x0800) + p, 0x88A8)  # S-tag 10, C-tag 20
        f.append(F(over_udp(O1, O2, 53001, 4789, vxlan(78, qinq)), "vxlan/qinq"))
    return f


@case
def t12_icmp_quotes():
    """ICMP port unreachable quoting a UDP datagram (plain and inside GRE), and UDP flows whose
    quoted header is the first sight of the tuple."""
    def icmp_err(src, dst, quoted):
        body = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
        return ipv4(src, dst, 1, body[:2] + struct.pack("!H", csum(body)) + body[4:])
    f = []
    q = inner_udp(C4, S4, 33000, 161, b"abcdefgh")
    f.append(F(eth(q, 0x0800), "udp"))
    f.append(F(eth(icmp_err(S4, C4, q), 0x0800), "icmp quoting it"))
    q2 = inner_udp(C4, S4, 33001, 162, b"abcdefgh")
    f.append(F(eth(icmp_err(S4, C4, q2), 0x0800), "icmp quoting a new tuple"))
    f.append(F(eth(q2, 0x0800), "the tuple itself"))
    f.append(F(over_ip(O1, O2, 47, gre(0x0800, icmp_err(S4, C4, inner_udp(C4, S4, 33002, 53)))),
               "gre/icmp quoting udp"))
    return f


@case
def t13_malformed():
    """Malformed and truncated encapsulation, each followed by a good packet: VXLAN header cut,
    GENEVE options past the end, GRE header cut, ERSPAN bad version, Teredo cut, UDP length 4,
    UDP length past the IP payload, four nested tunnels, five (over the depth cap of four; last,
    so that only its own frame differs from tshark's numbering)."""
    good = lambda port: F(over_udp(O1, O2, 10000 + port, 4789,
                                   vxlan(1, ether_of(inner_tcp(C4, S4, port, 80, 1, 0, SYN)))),
                          "good vxlan")
    f = []
    f.append(F(over_udp(O1, O2, 54000, 4789, b"\x08\0\0\0\0\0"), "vxlan header cut (6 bytes)"))
    f.append(good(41801))
    bad_geneve = struct.pack("!BBHI", 0x3F, 0, 0x6558, 1 << 8) + b"\0" * 16
    f.append(F(over_udp(O1, O2, 54001, 6081, bad_geneve), "geneve options past the end"))
    f.append(good(41802))
    f.append(F(over_ip(O1, O2, 47, struct.pack("!HH", 0x3000, 0x0800) + b"\0\0"), "gre key cut"))
    f.append(good(41803))
    bad_erspan = struct.pack("!HHI", 7 << 12, 1, 0) + ether_of(inner_tcp(C4, S4, 41899, 80, 1, 0, SYN))
    f.append(F(over_ip(O1, O2, 47, gre(0x88BE, bad_erspan, seq=1)), "erspan version 7"))
    f.append(good(41804))
    f.append(F(over_udp(O1, O2, 40000, 3544, b"\x00\x01\x05"), "teredo auth cut"))
    f.append(good(41805))
    f.append(F(eth(ipv4(O1, O2, 17, udp(O1, O2, 40001, 9999, b"abcd", length=4)), 0x0800),
               "udp length 4"))
    f.append(good(41806))
    f.append(F(eth(ipv4(O1, O2, 17, udp(O1, O2, 40002, 9999, b"abcd", length=200)), 0x0800),
               "udp length past the ip payload"))
    f.append(good(41807))
    p = inner_tcp(C4, S4, 41809, 80, 1, 0, SYN)
    for _ in range(4):
        p = ipv4(O1, O2, 4, p)
    f.append(F(eth(p, 0x0800), "4 nested ipip"))
    p = inner_tcp(C4, S4, 41808, 80, 1, 0, SYN)
    for _ in range(5):
        p = ipv4(O1, O2, 4, p)
    f.append(F(eth(p, 0x0800), "5 nested ipip (last: tshark numbers it, connscope stops at 4)"))
    return f


@case
def t14_vxlan_port_8472():
    """VXLAN on UDP 8472 (the Linux kernel's default port): connscope --vxlan-port 8472, tshark
    -d udp.port==8472,vxlan."""
    f = []
    for p in handshake_ips(C4, S4, 41900, 80):
        f.append(F(over_udp(O1, O2, 55000, 8472, vxlan(3, ether_of(p))), "vxlan 8472"))
    return f


TSHARK_ARGS = {"t14_vxlan_port_8472": ["-d", "udp.port==8472,vxlan"]}


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------

def main(argv):
    expected = "--expected" in argv
    if "--list" in argv:
        for fn in CASES:
            print("%-24s %s" % (fn.__name__, " ".join(fn.__doc__.split())))
        return 0
    args = [a for a in argv if not a.startswith("--")]
    outdir = args[0] if args else os.path.join(HERE, "edge")
    os.makedirs(outdir, exist_ok=True)
    for fn in CASES:
        name = fn.__name__
        frames = fn()
        pcap = os.path.join(outdir, name + ".pcap")
        write_pcap(pcap, frames)
        with open(os.path.join(outdir, name + ".notes"), "w") as fh:
            for i, fr in enumerate(frames):
                fh.write("%d\t%s\n" % (i + 1, fr.note))
        if expected:
            out = subprocess.run(
                ["tshark", "-r", pcap] + TSHARK_ARGS.get(name, []) +
                ["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "udp.stream"],
                check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
            with open(os.path.join(outdir, name + ".expected"), "wb") as fh:
                fh.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
