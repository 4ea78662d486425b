#!/usr/bin/env python3
"""A userspace tunnel endpoint for making real tunnelled captures where the kernel lacks the tunnel
driver (this machine's kernel has VXLAN built in, but no GRE, GENEVE, IPIP, SIT, ip6tnl or ERSPAN
modules). Stdlib only; run as root inside a network namespace.

  tunforward.py tun MODE LOCAL REMOTE DEV ADDR[/LEN] [ADDR6/LEN] [--key K] [--vni V]
      Creates TUN (L3 modes) or TAP (L2 modes) device DEV with the overlay address(es), then
      carries every packet the device sends to REMOTE in the encapsulation MODE, and writes every
      packet that arrives from REMOTE in it back to DEV: a point-to-point tunnel like the kernel's.
        gre      IPv4/IPv6 in GRE (RFC 2784/2890) over IPv4, key and sequence number with --key
        gretap   Ethernet in GRE (0x6558, transparent bridging) over IPv4
        ipip     IPv4 in IPv4 (IP protocol 4)
        sit      IPv6 in IPv4 (IP protocol 41, 6in4)
        ip6ip6   IPv6 in IPv6 (next header 41); LOCAL/REMOTE are IPv6
        ipip6    IPv4 in IPv6 (next header 4, 4in6); LOCAL/REMOTE are IPv6
        geneve   Ethernet in GENEVE (UDP 6081, protocol 0x6558) with one 8-byte option, --vni
  tunforward.py mirror MODE IFACE LOCAL COLLECTOR [--session S]
      Copies every frame sent or received on IFACE to COLLECTOR, as a switch's SPAN session does:
        erspan1  ERSPAN type I  (GRE 0x88be without sequence number, no ERSPAN header)
        erspan2  ERSPAN type II (GRE 0x88be with sequence number, 8-byte header, --session)
        erspan3  ERSPAN type III (GRE 0x22eb with sequence number, 12-byte header, --session)
  tunforward.py sink PROTO
      Holds a raw socket for IP protocol PROTO open (so the collector's kernel, which has no GRE
      handler, does not answer mirrored packets with ICMP protocol-unreachable).

The encapsulation bytes are written here (not by a kernel driver); the inner packets are the real
ones of the programs talking through DEV. Stops on SIGTERM/SIGINT.
"""

import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000
ETH_P_ALL = 0x0003
L2_MODES = {"gretap", "geneve"}


def open_tun(dev, tap):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", dev.encode(), (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True)


def gre_header(proto, key=None, seq=None):
    flags, extra = 0, b""
    if key is not None:
        flags |= 0x2000
        extra += struct.pack("!I", key)
    if seq is not None:
        flags |= 0x1000
        extra += struct.pack("!I", seq)
    return struct.pack("!HH", flags, proto) + extra


def gre_parse(data):
    """GRE header -> (protocol, payload) (checksum/key/sequence skipped by their flags)."""
    flags, proto = struct.unpack("!HH", data[:4])
    off = 4 + (4 if flags & 0xC000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0)
    return proto, data[off:]


class Tunnel:
    def __init__(self, mode, local, remote, key, vni):
        self.mode, self.local, self.remote, self.key, self.vni = mode, local, remote, key, vni or 0
        self.seq = 0
        v6 = mode in ("ip6ip6", "ipip6")
        proto = {"gre": 47, "gretap": 47, "ipip": 4, "sit": 41, "ip6ip6": 41, "ipip6": 4}.get(mode)
        if mode == "geneve":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local, 6081))
            self.strip_ip = False
        else:
            fam = socket.AF_INET6 if v6 else socket.AF_INET
            self.sock = socket.socket(fam, socket.SOCK_RAW, proto)
            self.sock.bind((local, 0))
            self.strip_ip = not v6  # IPv4 raw sockets receive the IP header, IPv6 ones do not

    def encap(self, pkt):
        m = self.mode
        if m == "gre":
            proto = 0x86DD if pkt[0] >> 4 == 6 else 0x0800
            self.seq += 1
            return gre_header(proto, self.key, self.seq if self.key is not None else None) + pkt
        if m == "gretap":
            return gre_header(0x6558, self.key) + pkt
        if m == "geneve":
            opt = struct.pack("!HBB", 0x0103, 0x80, 1) + b"conn"  # class, type, length 1 word
            return struct.pack("!BBHI", len(opt) // 4, 0, 0x6558, self.vni << 8) + opt + pkt
        return pkt  # ipip, sit, ip6ip6, ipip6: the packet itself is the payload

    def decap(self, data):
        if self.strip_ip:
            data = data[(data[0] & 0x0F) * 4:]
        m = self.mode
        if m in ("gre", "gretap"):
            _, data = gre_parse(data)
        elif m == "geneve":
            data = data[8 + (data[0] & 0x3F) * 4:]
        return data

    def send(self, payload):
        self.sock.sendto(payload, (self.remote, 6081 if self.mode == "geneve" else 0))


def run_tun(a):
    mode, local, remote, dev, addrs = a.args[0], a.args[1], a.args[2], a.args[3], a.args[4:]
    tap = mode in L2_MODES
    fd = open_tun(dev, tap)
    t = Tunnel(mode, local, remote, a.key, a.vni)
    ip("link", "set", dev, "mtu", "1400", "up")
    for ad in addrs:
        ip("addr", "add", ad, "dev", dev, *(["nodad"] if ":" in ad else []))
    loop([fd, t.sock.fileno()], lambda r: t.send(t.encap(os.read(fd, 65535))) if r == fd
         else os.write(fd, t.decap(t.sock.recv(65535))))


def run_mirror(a):
    mode, iface, local, collector = a.args[:4]
    snif = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    snif.bind((iface, 0))
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
    out.bind((local, 0))
    state = {"seq": 0}

    def copy(_):
        frame = snif.recv(65535)
        state["seq"] += 1
        s = state["seq"]
        if mode == "erspan1":
            payload = gre_header(0x88BE) + frame
        elif mode == "erspan2":
            hdr = struct.pack("!HHI", (1 << 12) | 0, a.session & 0x3FF, s & 0xFFFFF)
            payload = gre_header(0x88BE, seq=s) + hdr + frame
        else:
            ts = int(time.time() * 10000) & 0xFFFFFFFF  # 100 us granularity
            hdr = struct.pack("!HHIHH", (2 << 12) | 0, a.session & 0x3FF, ts, 0, (7 << 4) | 0)
            payload = gre_header(0x22EB, seq=s) + hdr + frame
        out.sendto(payload, (collector, 0))
    loop([snif.fileno()], copy)


def run_sink(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(a.args[0]))
    loop([s.fileno()], lambda _: s.recv(65535))


def loop(fds, handle):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop:
        try:
            ready, _, _ = select.select(fds, [], [], 0.2)
        except InterruptedError:
            continue
        for r in ready:
            try:
                handle(r)
            except OSError:
                pass


class Args:
    def __init__(self, argv):
        self.key = self.vni = None
        self.session = 0
        self.args = []
        it = iter(argv)
        for x in it:
            if x == "--key":
                self.key = int(next(it), 0)
            elif x == "--vni":
                self.vni = int(next(it), 0)
            elif x == "--session":
                self.session = int(next(it), 0)
            else:
                self.args.append(x)


def main(argv):
    if len(argv) < 2 or argv[1] not in ("tun", "mirror", "sink"):
        sys.exit(__doc__)
    a = Args(argv[2:])
    {"tun": run_tun, "mirror": run_mirror, "sink": run_sink}[argv[1]](a)


if __name__ == "__main__":
    main(sys.argv)
