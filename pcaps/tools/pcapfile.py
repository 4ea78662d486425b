"""Minimal classic-pcap reader/writer (stdlib only) shared by the tools in this directory."""
import struct

MAGIC_US = 0xA1B2C3D4   # microsecond timestamps
MAGIC_NS = 0xA1B23C4D   # nanosecond timestamps


class Pcap:
    def __init__(self, endian="<", magic=MAGIC_US, snaplen=262144, linktype=1, records=None):
        self.endian, self.magic, self.snaplen, self.linktype = endian, magic, snaplen, linktype
        self.records = records if records is not None else []   # [(ts_sec, ts_frac, orig_len, data)]


def read(path):
    with open(path, "rb") as f:
        buf = f.read()
    for e in ("<", ">"):
        magic, = struct.unpack(e + "I", buf[:4])
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    _, vmaj, vmin, _, _, snaplen, linktype = struct.unpack(e + "IHHiIII", buf[:24])
    p = Pcap(e, magic, snaplen, linktype & 0x0FFFFFFF)
    off = 24
    while off + 16 <= len(buf):
        sec, frac, incl, orig = struct.unpack(e + "IIII", buf[off:off + 16])
        off += 16
        p.records.append((sec, frac, orig, buf[off:off + incl]))
        off += incl
    return p


def write(path, p):
    e = p.endian
    out = [struct.pack(e + "IHHiIII", p.magic, 2, 4, 0, 0, p.snaplen, p.linktype)]
    for sec, frac, orig, data in p.records:
        out.append(struct.pack(e + "IIII", sec, frac, len(data), orig))
        out.append(data)
    with open(path, "wb") as f:
        f.write(b"".join(out))
