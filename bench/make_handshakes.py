#!/usr/bin/env python3
"""make_handshakes.py - write a pcap of N TCP connections that open and never close.

Each connection is a three-way handshake (SYN, SYN/ACK, ACK; --packets 2 leaves out the ACK) between
a unique client 10.x.y.z:port and one of 1000 servers 192.0.{2..5}.n:80/443. Frames are
Ethernet/IPv4/TCP, 54 bytes, with correct IPv4 and TCP checksums, 1 microsecond apart, and the
handshakes of consecutive connections interleave (a connection's SYN/ACK and ACK come a few
connections later), so the analyser really holds every one of them at once.

Purpose: memory per tracked connection. Run the analyser with an idle timeout larger than the
capture (connscope --idle-timeout 1e9 --max-conns 2000000) so nothing is finalised before the end.

Usage: make_handshakes.py OUT.pcap [--conns 1000000] [--packets 3]
Python standard library only.
"""
import argparse
import struct
import sys

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # DLT_EN10MB, microseconds
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
REC = struct.Struct("<IIII")                     # ts_sec, ts_usec, caplen, len
IP = struct.Struct("!BBHHHBBH4s4s")              # 20 bytes, no options
TCP = struct.Struct("!HHIIBBHHH")                # 20 bytes, no options
FRAME_LEN = 14 + 20 + 20

SYN, ACK = 0x02, 0x10


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def frame(src, dst, sport, dport, seq, ack, flags, ipid):
    """src/dst are 32-bit ints. Checksums are computed from the 16-bit word sums directly."""
    ip_sum = (0x4500 + 40 + ipid + 0x4006 + (src >> 16) + (src & 0xFFFF) + (dst >> 16)
              + (dst & 0xFFFF))
    ip_ck = ~fold(ip_sum) & 0xFFFF
    win = 64240
    off_flags = (5 << 12) | flags
    tcp_sum = ((src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 6 + 20
               + sport + dport + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
               + off_flags + win)
    tcp_ck = ~fold(tcp_sum) & 0xFFFF
    return (ETH
            + IP.pack(0x45, 0, 40, ipid, 0x4000, 64, 6, ip_ck,
                      src.to_bytes(4, "big"), dst.to_bytes(4, "big"))
            + TCP.pack(sport, dport, seq, ack, 5 << 4, flags, win, tcp_ck, 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--conns", type=int, default=1000000)
    ap.add_argument("--packets", type=int, choices=(2, 3), default=3)
    a = ap.parse_args()
    if a.conns < 1 or a.conns > (1 << 24) * 256:
        sys.exit("--conns out of range")

    lag = 4  # the SYN/ACK and ACK of connection i go out after the SYN of connection i+lag
    t0 = 1700000000 * 1000000
    tick = [0]

    with open(a.out, "wb", buffering=1 << 22) as f:
        f.write(PCAP_HDR)

        def emit(data):
            t = t0 + tick[0]
            tick[0] += 1
            f.write(REC.pack(t // 1000000, t % 1000000, len(data), len(data)))
            f.write(data)

        def conn(i):
            # unique: client address from i >> 8 (24 bits), port from the low 8 bits
            cli = (10 << 24) | ((i >> 8) & 0xFFFFFF)
            cport = 32768 + (i & 0xFF) * 97
            srv_n = (i * 2654435761) % 1000
            srv = (192 << 24) | (0 << 16) | ((2 + srv_n // 250) << 8) | (srv_n % 250 + 1)
            sport = 443 if i & 3 else 80
            return cli, cport, srv, sport

        def syn(i):
            cli, cport, srv, sport = conn(i)
            emit(frame(cli, srv, cport, sport, (i * 7919) & 0xFFFFFFFF, 0, SYN, i & 0xFFFF))

        def rest(i):
            cli, cport, srv, sport = conn(i)
            cisn = (i * 7919) & 0xFFFFFFFF
            sisn = (i * 104729 + 12345) & 0xFFFFFFFF
            emit(frame(srv, cli, sport, cport, sisn, (cisn + 1) & 0xFFFFFFFF, SYN | ACK, 0))
            if a.packets == 3:
                emit(frame(cli, srv, cport, sport, (cisn + 1) & 0xFFFFFFFF,
                           (sisn + 1) & 0xFFFFFFFF, ACK, (i + 1) & 0xFFFF))

        for i in range(a.conns):
            syn(i)
            if i >= lag:
                rest(i - lag)
        for i in range(max(0, a.conns - lag), a.conns):
            rest(i)
    print(f"{a.out}: {a.conns} connections, {a.conns * a.packets} packets, "
          f"{24 + a.conns * a.packets * (16 + FRAME_LEN)} bytes")


if __name__ == "__main__":
    main()
