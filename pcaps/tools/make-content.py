#!/usr/bin/env python3
"""Create the deterministic web root used by make-captures.sh.

usage: make-content.py DIR
All content is generated from fixed data / a fixed PRNG seed, so sizes are stable.
"""
import os, random, sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)

def put(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

put("a.txt", b"alpha\n")                      # 6 bytes
put("b.txt", b"bravo bravo\n")                # 12 bytes
put("c.txt", b"charlie charlie charlie\n")    # 24 bytes
put("index.html", b"<html><body><h1>connscope test</h1></body></html>\n")  # 50 bytes
put("close.txt", b"this response closes the connection\n")               # 36 bytes

# big.txt: exactly 20000 bytes of numbered lines (multi-segment at MSS 1460)
lines = []
n = 0
while sum(len(l) for l in lines) < 20000:
    lines.append(b"line %05d abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n" % n)
    n += 1
big = b"".join(lines)[:19999] + b"\n"
put("big.txt", big)

# large.txt: ~60000 bytes of pseudo-random words (compresses to a few chunks with gzip)
rnd = random.Random(12345)
words = [w.encode() for w in (
    "tcp syn ack fin rst window segment sequence acknowledgement stream connection "
    "request response header body chunk pipeline keepalive latency retransmission "
    "capture packet frame ethernet vlan loopback nginx curl python socket buffer").split()]
out = bytearray()
while len(out) < 60000:
    line = b" ".join(rnd.choice(words) for _ in range(rnd.randint(5, 14)))
    out += line + b"\n"
put("large.txt", bytes(out[:59999]) + b"\n")

# body for POST tests: 2000 bytes
put("post-2000.bin", (b"0123456789abcdef" * 125))
put("post-5000.bin", (b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" * 157)[:5000])

# stored/s.txt (6000 bytes of numbered lines) and stored/s.txt.gz, a gzip member whose deflate
# blocks are "stored" (level 0, no compression), served as-is by nginx's gzip_static: zlib copies
# such a body out with memcpy, which ThreadSanitizer sees (the -j inflate buffer test needs that)
import gzip, io
os.makedirs(os.path.join(d, "stored"), exist_ok=True)
s = b"".join(b"stored line %04d abcdefghijklmnopqrstuvwxyz 0123456789\n" % i for i in range(200))[:5999] + b"\n"
put("stored/s.txt", s)
gz = io.BytesIO()
with gzip.GzipFile(filename="", fileobj=gz, mode="wb", compresslevel=0, mtime=0) as g:
    g.write(s)
put("stored/s.txt.gz", gz.getvalue())
