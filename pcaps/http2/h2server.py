#!/usr/bin/python3
"""h2server.py - a small cleartext HTTP/2 server (Debian python3-h2) for the HTTP/2 test captures:
the responses nginx does not give. Prior knowledge and `Upgrade: h2c` (RFC 7540 3.2) both work.

Usage: /usr/bin/python3 h2server.py PORT

Paths (any method):
  /hints      103 Early Hints (link: </s.css>), then 200 with a 40-byte body
  /continue   100 Continue when the request says `expect: 100-continue`, then 200 once the body came
  /reset      200 headers and 1000 body bytes, then RST_STREAM(INTERNAL_ERROR): the response is cut
  /refuse     RST_STREAM(REFUSED_STREAM) at once, no response
  /push       PUSH_PROMISE of /pushed.css on the request's stream, then both responses
  /trailers   200, a body, then a trailer block (grpc-status: 0) that ends the stream
  /slow       200, then 10 x 100 body bytes 50 ms apart
  /goaway     200, then GOAWAY(NO_ERROR, last stream = this one) and close
  /bigcl      200 announcing content-length 100000, then 1000-byte DATA frames 20 ms apart
  anything else: 200 with "hello from h2server\\n"
"""
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions


def respond(conn, sock, lock, sid, path, expect, body_done):
    def send(fn, *a, **k):
        with lock:
            fn(*a, **k)
            sock.sendall(conn.data_to_send())

    if path == "/hints":
        send(conn.send_headers, sid, [(":status", "103"), ("link", "</s.css>; rel=preload")])
        time.sleep(0.01)
        send(conn.send_headers, sid, [(":status", "200"), ("content-type", "text/plain")])
        send(conn.send_data, sid, b"early hints came before this 200 body\n\n\n", end_stream=True)
    elif path == "/continue":
        if expect:
            send(conn.send_headers, sid, [(":status", "100")])
        body_done.wait(2)
        send(conn.send_headers, sid, [(":status", "200")])
        send(conn.send_data, sid, b"got it\n", end_stream=True)
    elif path == "/reset":
        send(conn.send_headers, sid, [(":status", "200"), ("content-length", "100000")])
        send(conn.send_data, sid, b"x" * 1000)
        time.sleep(0.01)
        send(conn.reset_stream, sid, error_code=h2.errors.ErrorCodes.INTERNAL_ERROR)
    elif path == "/refuse":
        send(conn.reset_stream, sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
    elif path == "/push":
        pid = conn.get_next_available_stream_id()
        send(conn.push_stream, sid, pid, [(":method", "GET"), (":scheme", "http"),
                                          (":authority", "h2.connscope.test"),
                                          (":path", "/pushed.css")])
        send(conn.send_headers, sid, [(":status", "200"), ("content-type", "text/html")])
        send(conn.send_data, sid, b"<link rel=stylesheet href=/pushed.css>\n", end_stream=True)
        send(conn.send_headers, pid, [(":status", "200"), ("content-type", "text/css")])
        send(conn.send_data, pid, b"body { color: teal }\n", end_stream=True)
    elif path == "/trailers":
        send(conn.send_headers, sid, [(":status", "200"), ("content-type", "application/grpc")])
        send(conn.send_data, sid, b"\x00\x00\x00\x00\x05hello")
        send(conn.send_headers, sid, [("grpc-status", "0"), ("grpc-message", "OK")],
             end_stream=True)
    elif path == "/slow":
        send(conn.send_headers, sid, [(":status", "200")])
        for i in range(10):
            time.sleep(0.05)
            send(conn.send_data, sid, b"s" * 100, end_stream=(i == 9))
    elif path == "/bigcl":
        send(conn.send_headers, sid, [(":status", "200"), ("content-length", "100000")])
        for _ in range(100):
            time.sleep(0.02)
            send(conn.send_data, sid, b"b" * 1000)
    elif path == "/goaway":
        send(conn.send_headers, sid, [(":status", "200")])
        send(conn.send_data, sid, b"bye\n", end_stream=True)
        send(conn.close_connection, error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=sid)
        return "close"
    else:
        send(conn.send_headers, sid, [(":status", "200"), ("content-type", "text/plain")])
        send(conn.send_data, sid, b"hello from h2server\n", end_stream=True)
    return None


def read_upgrade(sock, first):
    """An HTTP/1.1 request asking for h2c: returns (path, HTTP2-Settings value) after the 101."""
    buf = first
    while b"\r\n\r\n" not in buf:
        more = sock.recv(65536)
        if not more:
            return None, None
        buf += more
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    path = head[0].split(" ")[1]
    settings = ""
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "http2-settings":
            settings = v.strip()
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    return path, settings


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    lock = threading.Lock()
    first = sock.recv(65536)
    done = {}
    if first.startswith(b"PRI * HTTP/2.0"):
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        data = first
    else:
        path, settings = read_upgrade(sock, first)
        if path is None:
            return
        conn.initiate_upgrade_connection(settings)
        sock.sendall(conn.data_to_send())
        ev = threading.Event()
        ev.set()
        threading.Thread(target=respond, args=(conn, sock, lock, 1, path, False, ev)).start()
        data = sock.recv(65536)
    paths = {}
    while data:
        with lock:
            events = conn.receive_data(data)
            sock.sendall(conn.data_to_send())
        for e in events:
            if isinstance(e, h2.events.RequestReceived):
                h = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                     for k, v in e.headers}
                ev = threading.Event()
                done[e.stream_id] = ev
                if e.stream_ended:
                    ev.set()
                paths[e.stream_id] = (h.get(":path", "/"), h.get("expect") == "100-continue", ev)
                start(conn, sock, lock, e.stream_id, paths)
            elif isinstance(e, h2.events.DataReceived):
                with lock:
                    conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                    sock.sendall(conn.data_to_send())
            elif isinstance(e, h2.events.StreamEnded):
                if e.stream_id in done:
                    done[e.stream_id].set()
            elif isinstance(e, h2.events.ConnectionTerminated):
                return
        try:
            data = sock.recv(65536)
        except OSError:
            return


def start(conn, sock, lock, sid, paths):
    path, expect, ev = paths[sid]

    def run():
        try:
            if respond(conn, sock, lock, sid, path, expect, ev) == "close":
                time.sleep(0.05)
                sock.close()
        except (OSError, h2.exceptions.ProtocolError, h2.exceptions.StreamClosedError):
            pass
    threading.Thread(target=run, daemon=True).start()


def main():
    port = int(sys.argv[1])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=lambda: (serve(s), s.close()), daemon=True).start()


if __name__ == "__main__":
    main()
