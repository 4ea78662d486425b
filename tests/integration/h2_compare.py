#!/usr/bin/env python3
"""h2_compare.py - compares connscope's HTTP/2 exchanges with tshark's dissection of the same capture.

Usage: h2_compare.py CONNSCOPE PCAP [--keylog FILE --tls-port N] [--port N]...
                     [--expect-diff KEY=REASON]...

tshark (-T pdml, `-d tcp.port==N,http2` for each --port, `-d tcp.port==N,tls` and
`-o tls.keylog_file:` with --tls-port/--keylog) gives,
per (tcp.stream, HTTP/2 stream id): the request's :method and :path (from its HEADERS, or from the
PUSH_PROMISE that promised it), every :status the server sent (1xx and final), the DATA bytes each
side sent (padding excluded) and RST_STREAM codes. connscope --json gives its exchanges. Checked:
  - every tshark stream that carried a request or a response is one connscope exchange, and no
    connscope exchange is missing from tshark;
  - method and path equal (unless connscope says headers_undecodable);
  - the final status and the last 1xx equal; response and request body bytes equal;
  - a reset exchange has the RST_STREAM tshark saw, with the same error code.
A difference is allowed only when named with --expect-diff "TCPSTREAM:SID:FIELD=why" (FIELD one
of exchange, method, path, status, info, resp_body, req_body, reset); an allowed difference that
does not occur is an error too. Prints one line per exchange; exit 1 on an unexplained difference.
With --port, tshark also runs without `-d` and its streams fill in the connections the forced
decoding missed: tshark follows an h2c upgrade (HTTP/1.1 then 101) only when it starts as HTTP.
connscope gets nothing but the capture and the key log: it finds HTTP/2 by content.
With --follow TCPSTREAM, also `connscope follow --http TCPSTREAM PCAP`: the header lines it prints
for each HTTP/2 stream and side ("name: value", pseudo-headers included, PUSH_PROMISE fields under
the promised stream) equal tshark's http2.header name/value list, in order.
"""
import re
import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]


def fields(elem, name):
    return [f for f in elem.iter("field") if f.get("name") == name]


def child(elem, name):
    for f in elem:
        if f.get("name") == name:
            return f
    return None


def tshark_streams(pcap, keylog, ports, tls_ports):
    cmd = ["tshark", "-r", pcap, "-T", "pdml", "-Y", "http2"]
    for p in ports:
        cmd += ["-d", "tcp.port==%d,http2" % p]
    for p in tls_ports:
        cmd += ["-d", "tcp.port==%d,tls" % p]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    xml = subprocess.run(cmd, capture_output=True, check=True).stdout
    out = {}
    for pkt in ET.fromstring(xml).iter("packet"):
        tcp = [p for p in pkt if p.get("name") == "tcp"]
        if not tcp:
            continue
        tcp = tcp[-1]
        stream = int(child(tcp, "tcp.stream").get("show"))
        srcport = int(child(tcp, "tcp.srcport").get("show"))
        for h2 in [p for p in pkt if p.get("name") == "http2"]:
            for fr in fields(h2, "http2.stream"):
                t = child(fr, "http2.type")
                if t is None:
                    continue
                typ = int(t.get("show"))
                sid = int(child(fr, "http2.streamid").get("show"))
                length = int(child(fr, "http2.length").get("show"))
                hdrs = []
                for h in fields(fr, "http2.header"):
                    n, v = child(h, "http2.header.name"), child(h, "http2.header.value")
                    if n is not None:
                        hdrs.append((n.get("show"), v.get("show") if v is not None else ""))
                if typ == 5:
                    p = child(fr, "http2.push_promise.promised_stream_id")
                    sid = int(p.get("show"))
                rec = out.setdefault((stream, sid), {"method": None, "path": None, "statuses": [],
                                                     "data": {}, "rst": None, "ports": set(),
                                                     "hdr": {}})
                rec["ports"].add(srcport)
                rec["hdr"].setdefault(srcport, []).extend("%s: %s" % nv for nv in hdrs)
                d = dict(hdrs)
                if ":method" in d and rec["method"] is None:
                    rec["method"], rec["path"] = d[":method"], d.get(":path", d.get(":authority"))
                if ":status" in d:
                    rec["statuses"].append(int(d[":status"]))
                if typ == 0:
                    pad = child(fr, "http2.pad_length")
                    padded = pad is not None and pad.get("size") not in (None, "0")
                    n = length - (int(pad.get("show")) + 1 if padded else 0)
                    rec["data"][srcport] = rec["data"].get(srcport, 0) + n
                if typ == 3:
                    e = child(fr, "http2.rst_stream.error")
                    rec["rst"] = int(e.get("show"))
    return {k: v for k, v in out.items() if k[1] != 0 and (v["method"] or v["statuses"] or v["data"])}


def connscope_exchanges(connscope, pcap, keylog):
    cmd = [connscope, "-q", "--json"]
    if keylog:
        cmd += ["--tls-keylog", keylog]
    res = subprocess.run(cmd + [pcap], capture_output=True, check=True, text=True)
    out, server_port = {}, {}
    for line in res.stdout.splitlines():
        o = json.loads(line)
        if o["type"] == "conn":
            server_port[o["stream"]] = o["id.resp_p"]
        if o["type"] == "http" and o.get("h2_stream_id"):
            out[(o["stream"], o["h2_stream_id"])] = o
    return out, server_port


def compare_follow(a, ts, sport, cs):
    """follow --http's header lines per (stream id, side) against tshark's; returns differences.
    The server's blocks of a stream the client had reset are not shown (they came after it)."""
    out = subprocess.run([a.connscope, "follow", "--http", str(a.follow), a.pcap], capture_output=True,
                         text=True, errors="replace", check=True).stdout
    got, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^(>>>|<<<) .* \(HTTP/2 stream (\d+)\)$", line)
        if m:
            cur = got.setdefault((int(m.group(2)), m.group(1) == ">>>"), [])
        elif line.startswith(("===", "---", ">>>", "<<<")):
            cur = None
        elif cur is not None:
            cur.append(line)
    bad = compared = 0
    srv = sport.get(a.follow)
    for (stream, sid), t in sorted(ts.items()):
        if stream != a.follow:
            continue
        for port, want in t["hdr"].items():
            if not want:
                continue
            key = (sid, port != srv)
            c = cs.get((stream, sid), {})
            if port == srv and c.get("outcome") == "reset" and c.get("h2_reset_by") == "orig" \
                    and key not in got:
                continue
            compared += 1
            if got.get(key) != want:
                bad += 1
                print("  DIFF follow stream %d %s: tshark %s, connscope %s"
                      % (sid, "client" if key[1] else "server", want, got.get(key)))
    print("  follow --http %d: %d header blocks compared with tshark, %d differ"
          % (a.follow, compared, bad))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("connscope")
    ap.add_argument("pcap")
    ap.add_argument("--keylog")
    ap.add_argument("--port", type=int, action="append", default=[])
    ap.add_argument("--tls-port", type=int, action="append", default=[])
    ap.add_argument("--expect-diff", action="append", default=[])
    ap.add_argument("--follow", type=int)
    a = ap.parse_args()
    allowed = {}
    for e in a.expect_diff:
        k, _, why = e.partition("=")
        allowed[k] = why
    ts = tshark_streams(a.pcap, a.keylog, a.port, a.tls_port)
    if a.port:
        seen = {k[0] for k in ts}
        for k, v in tshark_streams(a.pcap, a.keylog, [], a.tls_port).items():
            if k[0] not in seen:
                ts[k] = v
    cs, sport = connscope_exchanges(a.connscope, a.pcap, a.keylog)
    used, bad = set(), 0

    def differ(key, field, msg):
        nonlocal bad
        name = "%d:%d:%s" % (key[0], key[1], field)
        if name in allowed:
            used.add(name)
            print("  allowed %s: %s (%s)" % (name, msg, allowed[name]))
        else:
            bad += 1
            print("  DIFF %s: %s" % (name, msg))

    for key in sorted(set(ts) | set(cs)):
        t, c = ts.get(key), cs.get(key)
        if t is None or c is None:
            differ(key, "exchange", "only in " + ("connscope" if t is None else "tshark"))
            continue
        srv = sport.get(key[0])
        undecodable = c.get("headers_undecodable")
        final = [s for s in t["statuses"] if s >= 200 or s == 101]
        info = [s for s in t["statuses"] if 100 <= s < 200 and s != 101]
        print("%4d %5d %-6s %-40s %s %s" % (key[0], key[1], c["method"], (c["uri"] or "-")[:40],
                                            c["status_code"], c["outcome"]))
        if not undecodable and not c.get("h2_upgrade"):
            if t["method"] != c["method"]:
                differ(key, "method", "tshark %s, connscope %s" % (t["method"], c["method"]))
            if t["path"] != c["uri"]:
                differ(key, "path", "tshark %s, connscope %s" % (t["path"], c["uri"]))
        reset = c["outcome"] == "reset"
        if reset:
            code = c.get("h2_error")
            if t["rst"] is None or ERRORS[t["rst"]] != code:
                differ(key, "reset", "tshark RST_STREAM %s, connscope %s" % (t["rst"], code))
            continue  # frames after the reset are not counted by connscope
        if not undecodable and (final[-1] if final else None) != c["status_code"]:
            differ(key, "status", "tshark %s, connscope %s" % (t["statuses"], c["status_code"]))
        if not undecodable and (info[-1] if info else None) != c["info_code"]:
            differ(key, "info", "tshark %s, connscope %s" % (t["statuses"], c["info_code"]))
        resp = t["data"].get(srv, 0)
        req = sum(v for p, v in t["data"].items() if p != srv)
        if resp != c["response_body_len"]:
            differ(key, "resp_body", "tshark %d, connscope %d" % (resp, c["response_body_len"]))
        if req != c["request_body_len"] and not c.get("h2_upgrade"):
            differ(key, "req_body", "tshark %d, connscope %d" % (req, c["request_body_len"]))
    if a.follow is not None:
        bad += compare_follow(a, ts, sport, cs)
    for name in sorted(set(allowed) - used):
        bad += 1
        print("  EXPECTED DIFF DID NOT OCCUR: %s (%s)" % (name, allowed[name]))
    print("%s: %d tshark streams, %d connscope exchanges, %d unexplained difference%s"
          % (a.pcap, len(ts), len(cs), bad, "" if bad == 1 else "s"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
