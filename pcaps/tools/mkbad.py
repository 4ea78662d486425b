#!/usr/bin/env python3
"""Derive malformed captures for pcaps/bad/ from a good classic pcap.

usage: mkbad.py GOOD.pcap OUTDIR
Writes:
  truncated.pcap         file ends in the middle of packet data of record 4
  truncated-header.pcap  only the first 12 bytes of the 24-byte global header
  truncated-rechdr.pcap  records 1-4 complete, then 8 of the 16 bytes of record 5's header
  unknown-linktype.pcap  valid header with linktype 147 (LINKTYPE_USER0), one packet
                         (the bytes of record 4 of GOOD, an Ethernet frame)
  hugecaplen.pcap        records 1-3 complete, then a record header claiming
                         incl_len = orig_len = 0x40000000 (1 GiB) followed by 64 bytes
"""
import os, struct, sys
sys.path.insert(0, os.path.dirname(__file__))
import pcapfile

good, out = sys.argv[1], sys.argv[2]
raw = open(good, "rb").read()
p = pcapfile.read(good)
e = p.endian

# byte offsets of each record header
offs, off = [], 24
for r in p.records:
    offs.append(off)
    off += 16 + len(r[3])

def w(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print("%-24s %6d bytes" % (name, len(data)))

r4 = offs[3]
w("truncated.pcap", raw[:r4 + 16 + len(p.records[3][3]) // 2])
w("truncated-header.pcap", raw[:12])
w("truncated-rechdr.pcap", raw[:offs[4] + 8])
u = pcapfile.Pcap(e, p.magic, p.snaplen, 147, [p.records[3]])
pcapfile.write(os.path.join(out, "unknown-linktype.pcap"), u)
print("%-24s %6d bytes" % ("unknown-linktype.pcap", os.path.getsize(os.path.join(out, "unknown-linktype.pcap"))))
sec, frac = p.records[3][0], p.records[3][1]
w("hugecaplen.pcap", raw[:offs[3]] + struct.pack(e + "IIII", sec, frac, 0x40000000, 0x40000000) + b"\0" * 64)
print("truncated.pcap cut at byte %d (record 4 data starts at %d, %d bytes long)"
      % (r4 + 16 + len(p.records[3][3]) // 2, r4 + 16, len(p.records[3][3])))
