#!/usr/bin/env python3
"""Send pipelined HTTP/1.1 requests in a single write and read until the server closes.

usage: pipeline.py HOST PORT    (the raw response bytes are written to stdout)
"""
import socket, sys

host, port = sys.argv[1], int(sys.argv[2])
H = "Host: %s:%d\r\nUser-Agent: connscope-pipeline/1\r\n" % (host, port)
REQUESTS = (
    "GET /a.txt HTTP/1.1\r\n" + H + "\r\n" +
    "GET /b.txt HTTP/1.1\r\n" + H + "\r\n" +
    "HEAD /c.txt HTTP/1.1\r\n" + H + "\r\n" +
    "GET /204 HTTP/1.1\r\n" + H + "\r\n" +
    "GET /index.html HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n"
).encode()

s = socket.create_connection((host, port))
s.sendall(REQUESTS)                      # one send() => one TCP segment (len < MSS)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
s.close()
sys.stdout.buffer.write(buf)
