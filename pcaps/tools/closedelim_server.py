#!/usr/bin/env python3
"""Tiny http.server-based origin whose responses have NO Content-Length: the body
ends when the server closes the connection (RFC 9112 section 6.3 rule 8).

usage: closedelim_server.py HOST PORT
  GET /v10 -> "HTTP/1.0 200 OK", 3000-byte body, close
  GET /v11 -> "HTTP/1.1 200 OK" + "Connection: close", 2500-byte body, close
"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path == "/v11":
            self.protocol_version = "HTTP/1.1"
            body = b"".join(b"v11 line %04d ..............................\n" % i for i in range(60))[:2500]
        else:
            body = b"".join(b"v10 line %04d ..............................\n" % i for i in range(70))[:3000]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *a):
        pass


HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
