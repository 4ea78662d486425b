#!/usr/bin/env python3
"""synflood.py - sends TCP SYNs from many spoofed loopback sources (127.0.0.0/8) to a port, for
measuring connscope's memory under a SYN flood (raw socket, root only).

usage: synflood.py PORT [--pps N] [--seconds S] [--sources N]
"""
import argparse, random, socket, struct, time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--pps", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--sources", type=int, default=1000000)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    end = time.time() + a.seconds
    sent, batch = 0, max(1, a.pps // 100)
    rnd = random.Random(1)
    while time.time() < end:
        t0 = time.time()
        for _ in range(batch):
            n = rnd.randrange(a.sources)
            src = "127.%d.%d.%d" % ((n >> 16) & 255, (n >> 8) & 255, (n & 255) or 1)
            s.sendto(syn(src, "127.0.0.1", 1024 + rnd.randrange(60000), a.port, rnd.getrandbits(32)),
                     ("127.0.0.1", 0))
            sent += 1
        dt = time.time() - t0
        if dt < 0.01:
            time.sleep(0.01 - dt)
    print("sent %d SYNs" % sent)


if __name__ == "__main__":
    main()
