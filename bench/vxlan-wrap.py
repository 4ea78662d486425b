#!/usr/bin/env python3
"""vxlan-wrap.py IN.pcap OUT.pcap [--vni N] - wraps every Ethernet frame of a classic pcap in
VXLAN, as a VTEP or a cloud traffic mirror (AWS VPC Traffic Mirroring) delivers it: outer Ethernet,
IPv4 (VTEP 10.200.0.1 <-> 10.200.0.2, the direction following the inner IPv4/IPv6 source), UDP from a
source port hashed from the inner addresses and ports (49152-65535, as Linux does) to 4789, VXLAN
with the I flag and VNI (default 100). 50 bytes are added to each frame (caplen and wire length).
Stdlib only; streams the file (constant memory). Used by bench/README.md's tunnel benchmark.
"""
import struct
import sys
import zlib

VTEP = (bytes([10, 200, 0, 1]), bytes([10, 200, 0, 2]))
MAC = (bytes.fromhex("020000c80001"), bytes.fromhex("020000c80002"))


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def inner_key(frame):
    """(direction 0/1, 32-bit flow hash) from the inner Ethernet/IP/ports."""
    et = frame[12:14]
    off = 14
    while et in (b"\x81\x00", b"\x88\xa8") and len(frame) >= off + 4:
        et = frame[off + 2:off + 4]
        off += 4
    if et == b"\x08\x00" and len(frame) >= off + 24:
        ihl = (frame[off] & 15) * 4
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        ports = frame[off + ihl:off + ihl + 4]
    elif et == b"\x86\xdd" and len(frame) >= off + 44:
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        ports = frame[off + 40:off + 44]
    else:
        return 0, 0
    lo, hi = sorted([src + ports[:2], dst + ports[2:4]])
    return (0 if src < dst else 1), zlib.crc32(lo + hi)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    vni = int(argv[argv.index("--vni") + 1]) if "--vni" in argv else 100
    with open(argv[1], "rb") as fin, open(argv[2], "wb") as fout:
        hdr = fin.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        snap, link = struct.unpack(e + "II", hdr[16:24])
        if link & 0x0FFFFFFF != 1:
            sys.exit("vxlan-wrap: input must be Ethernet (link type 1)")
        fout.write(hdr[:16] + struct.pack(e + "II", snap + 50, link))
        ident = 0
        while True:
            rec = fin.read(16)
            if len(rec) < 16:
                break
            sec, frac, incl, orig = struct.unpack(e + "IIII", rec)
            frame = fin.read(incl)
            d, h = inner_key(frame)
            src, dst = VTEP[d], VTEP[1 - d]
            udp_len = 8 + 8 + orig
            ident = (ident + 1) & 0xFFFF
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident, 0x4000, 64, 17, 0,
                             src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            udp = struct.pack("!HHHH", 49152 + h % 16384, 4789, udp_len, 0)
            vx = struct.pack("!BBHI", 0x08, 0, 0, vni << 8)
            eth = MAC[1 - d] + MAC[d] + b"\x08\x00"
            out = eth + ip + udp + vx + frame
            fout.write(struct.pack(e + "IIII", sec, frac, incl + 50, orig + 50) + out)


if __name__ == "__main__":
    main(sys.argv)
