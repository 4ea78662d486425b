#!/usr/bin/env python3
"""Insert VLAN tags into every frame of an Ethernet (DLT_EN10MB) classic pcap.

usage: vlan.py IN.pcap OUT.pcap TPID:VID[:PCP] [TPID:VID[:PCP] ...]
Tags are given outermost first and inserted after the source MAC, e.g.
    vlan.py in.pcap out.pcap 0x88a8:200 0x8100:100     # 802.1ad S-tag 200 + 802.1Q C-tag 100
Both caplen and orig_len grow by 4 bytes per tag.
"""
import struct, sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
import pcapfile

src, dst, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
tags = b""
for s in specs:
    parts = s.split(":")
    tpid, vid = int(parts[0], 0), int(parts[1], 0)
    pcp = int(parts[2], 0) if len(parts) > 2 else 0
    tags += struct.pack("!HH", tpid, (pcp << 13) | vid)

p = pcapfile.read(src)
if p.linktype != 1:
    raise SystemExit("input must be DLT_EN10MB")
p.records = [(s, f, o + len(tags), d[:12] + tags + d[12:]) for s, f, o, d in p.records]
pcapfile.write(dst, p)
