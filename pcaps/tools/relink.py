#!/usr/bin/env python3
"""Convert an Ethernet (DLT_EN10MB) classic pcap to another link type.

usage: relink.py IN.pcap OUT.pcap {null|loop|raw} [--af6 N] [--big-endian]
  null : LINKTYPE_NULL (0)   4-byte address family in the byte order of the file
         (the writing host's order; little-endian unless --big-endian)
  loop : LINKTYPE_LOOP (108) 4-byte address family, always network (big-endian) order
  raw  : LINKTYPE_RAW (101)  no link header, packet starts with the IPv4/IPv6 header
Address families: IPv4 = 2; IPv6 = --af6 (default 24 = BSD AF_INET6; 28 = FreeBSD, 30 = Darwin).
--big-endian writes the whole pcap file big-endian (as a big-endian host would).
Any 802.1Q/802.1ad tags are stripped with the Ethernet header.
"""
import struct, sys, os
sys.path.insert(0, os.path.dirname(__file__))
import pcapfile

args = sys.argv[1:]
big = "--big-endian" in args
if big:
    args.remove("--big-endian")
af6 = 24
if "--af6" in args:
    i = args.index("--af6"); af6 = int(args[i + 1]); del args[i:i + 2]
src, dst, kind = args
LT = {"null": 0, "loop": 108, "raw": 101}[kind]

p = pcapfile.read(src)
if p.linktype != 1:
    raise SystemExit("input must be DLT_EN10MB")
p.endian = ">" if big else "<"
recs = []
for sec, frac, orig, d in p.records:
    off = 12
    et, = struct.unpack("!H", d[off:off + 2])
    while et in (0x8100, 0x88A8, 0x9100):
        off += 4
        et, = struct.unpack("!H", d[off:off + 2])
    hdr_len = off + 2
    payload = d[hdr_len:]
    af = {0x0800: 2, 0x86DD: af6}[et]
    if kind == "null":
        link = struct.pack(p.endian + "I", af)
    elif kind == "loop":
        link = struct.pack("!I", af)
    else:
        link = b""
    recs.append((sec, frac, orig - hdr_len + len(link), link + payload))
p.records = recs
p.linktype = LT
pcapfile.write(dst, p)
