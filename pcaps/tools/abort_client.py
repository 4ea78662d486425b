#!/usr/bin/env python3
"""Send one GET, read only the first N bytes of the response, then close() with the
rest still unread in the receive buffer: Linux answers such a close with a RST
(RFC 2525 section 2.17) instead of a FIN.

usage: abort_client.py HOST PORT PATH [N=100]
"""
import socket, sys, time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
s = socket.create_connection((host, port))
s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: connscope-abort/1\r\n\r\n"
           % (path, host, port)).encode())
got = b""
while len(got) < n:
    got += s.recv(n - len(got))
time.sleep(0.2)          # let more of the response arrive, unread
s.close()
