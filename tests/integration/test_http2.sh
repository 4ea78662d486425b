#!/bin/bash
# test_http2.sh - HTTP/2 exchanges against three truths that are not connscope:
#  1. suricata-verify's http2-* tests (../shared/corpus2; their test.yaml expectations: stream ids,
#     methods, paths, statuses, lengths, counts, "no anomaly");
#  2. tshark on the same captures (h2_compare.py: every stream's method, path, statuses, body bytes,
#     RST_STREAM codes; follow --http's header blocks), with the key log for TLS ones;
#  3. the clients' own records of the captures made here (pcaps/http2/*.client.txt from curl -w,
#     *.client.har from nghttp), and hand-checked facts of the gap and mid-connection cases.
# Plus: HTTP/2 counted downstream exactly like HTTP/1.x (per-server version column, -A analytics,
# summaries + merge), and no exchange estimate for TLS HTTP/2 without keys.
. "$(dirname "$0")/lib.sh"
need_tshark
need_python
H2="$PCAPS/http2"
CORPUS2=${CORPUS2:-$SRCDIR/../shared/corpus2}
SV="$CORPUS2/suricata-verify"
CMP="$SRCDIR/tests/integration/h2_compare.py"

compare() { # compare CAPTURE ARGS...: h2_compare.py, one summary line
    local out
    if out=$(python3 "$CMP" "$CONNSCOPE" "$@" 2>&1); then
        pass "$(echo "$out" | tail -n 1)"
    else
        fail "tshark comparison of $1:"
        echo "$out" | grep -E 'DIFF|EXPECTED|Error|error' | head -20
    fi
}

# ---- 2. tshark, on the captures made here and on suricata-verify's -------------------------------
compare "$H2/h2-tls-nginx.pcap" --keylog "$H2/h2-tls-nginx.keylog" --tls-port 19543
compare "$H2/h2-tls12-parallel.pcap" --keylog "$H2/h2-tls12-parallel.keylog" --tls-port 19543
compare "$H2/h2c-nginx.pcap" --port 19544 --follow 0
compare "$H2/h2c-large.pcap" --port 19544 --follow 0
compare "$H2/h2c-features.pcap" --port 19545 --follow 0
compare "$H2/h2c-features.pcap" --port 19545 --follow 2 # h2c upgrade
compare "$H2/h2c-abort.pcap" --port 19545
compare "$H2/h2c-gap.pcap" --port 19544
if [ -d "$SV" ]; then
    compare "$SV/http2-basic__input.pcap" --port 3000 --follow 0
    compare "$SV/http2-bugfixes__input.pcap" --port 443 --follow 0
    compare "$SV/http2-compression-bug__input.pcap" --port 443
    compare "$SV/http2-long-frame__input.pcap" --port 8443
    compare "$SV/http2-doh2-tx-log__dns_over_https.pcap" --follow 0
    compare "$SV/http2-disabled__input.pcap" --follow 0
    compare "$SV/http2-deflate__http2_deflate.pcap"
    compare "$SV/http2-deflate-case__input.pcap"
    compare "$SV/bug-5780-01-http2-header__http2_multiple_headers.pcap"
    compare "$SV/http2-authority-mismatch__authority_and_host_2.pcap"
    compare "$SV/http2-userinfo-authority__http2_userinfo_in_authority_1.pcap"
    compare "$SV/http2-errorcode__input.pcap" --port 6233 --port 8888 \
        --expect-diff "0:1:exchange=gRPC through an HTTP CONNECT proxy: tshark does not dissect the tunnel"
fi

# ---- 1. suricata-verify's expectations (test.yaml) -----------------------------------------------
if [ -d "$SV" ]; then
    python3 - "$CONNSCOPE" "$SV" <<'PY' || FAILS=$((FAILS + 1))
import json, subprocess, sys
cs, sv = sys.argv[1], sys.argv[2]
fails = 0

def run(name):
    out = subprocess.run([cs, "-q", "--json", "%s/%s" % (sv, name)], capture_output=True, text=True,
                         check=True).stdout
    recs = [json.loads(l) for l in out.splitlines()]
    return ([r for r in recs if r["type"] == "http"], [r for r in recs if r["type"] == "conn"],
            [r for r in recs if r["type"] == "summary"][0])

def check(what, cond):
    global fails
    print(("ok: " if cond else "FAIL: ") + what)
    fails += not cond

def h2_anomalies(summary):
    return sum(v for k, v in summary["anomalies"].items() if k.startswith("http2_"))

# http2-basic / -files / -header / -tx-log / -window-index (one pcap): stream 1 is
# GET /doc/manual/html/index.html, length 22617, status 200, UA nghttp2/0.5.2-DEV,
# :authority localhost:3000, version 2; six files closed (six exchanges); no anomaly.
http, conns, summ = run("http2-basic__input.pcap")
s1 = [x for x in http if x.get("h2_stream_id") == 1]
check("http2-basic: stream 1 is the expected exchange",
      len(s1) == 1 and s1[0]["method"] == "GET" and s1[0]["uri"] == "/doc/manual/html/index.html"
      and s1[0]["status_code"] == 200 and s1[0]["response_body_len"] == 22617
      and s1[0]["user_agent"] == "nghttp2/0.5.2-DEV" and s1[0]["host"] == "localhost:3000"
      and s1[0]["version"] == "2")
check("http2-basic: 6 exchanges (6 files closed), all complete, no anomaly",
      len(http) == 6 and all(x["outcome"] == "complete" for x in http) and h2_anomalies(summ) == 0)
# http2-compression-bug: 7 http events (5 streams + the stream-0 settings events), no anomaly
http, conns, summ = run("http2-compression-bug__input.pcap")
check("http2-compression-bug: 5 request streams (7 events - 2 on stream 0), no HTTP/2 anomaly",
      len(http) == 5 and h2_anomalies(summ) == 0)
# http2-bugfixes: no anomaly in HTTP/2 parsing (4 requests: robots.txt, log_event, favicon, sw.js)
http, conns, summ = run("http2-bugfixes__input.pcap")
check("http2-bugfixes: 4 exchanges, no HTTP/2 anomaly", len(http) == 4 and h2_anomalies(summ) == 0)
# http2-disabled / http2-frames / http2-keywords2: the HTTP/1.1 request /robots.txt answered 101
http, conns, summ = run("http2-disabled__input.pcap")
up = [x for x in http if x["uri"] == "/robots.txt" and x["status_code"] == 101]
s1 = [x for x in http if x.get("h2_stream_id") == 1]
check("http2-disabled: /robots.txt upgraded (101), then its response on HTTP/2 stream 1",
      len(up) == 1 and up[0]["version"] == "1.1" and len(s1) == 1 and s1[0]["h2_upgrade"]
      and s1[0]["uri"] == "/robots.txt" and s1[0]["status_code"] == 200)
# http2-long-frame: the event url /malware/payload.exe and one long_frame anomaly
http, conns, summ = run("http2-long-frame__input.pcap")
check("http2-long-frame: /malware/payload.exe requested, the long DATA frame counted once",
      any(x["uri"] == "/malware/payload.exe" for x in http)
      and summ["anomalies"].get("http2_frame_size_error") == 1)
# http2-deflate / -deflate-case: http.length 30 (the transferred body), no anomaly
for name in ("http2-deflate__http2_deflate.pcap", "http2-deflate-case__input.pcap"):
    http, conns, summ = run(name)
    s1 = [x for x in http if x.get("h2_stream_id") == 1]
    check("%s: length 30, no anomaly" % name.split("__")[0],
          len(s1) == 1 and s1[0]["response_body_len"] == 30 and h2_anomalies(summ) == 0)
# with --http-decode-bodies: http2-deflate(-case) fileinfo.size 20 (the 30 bytes inflated);
# http2-bugfixes: the gzip body decodes to 639 bytes (the brotli one, 880, stays as sent: only
# gzip and deflate are inflated, as for HTTP/1.x)
def decoded(name, uri):
    out = subprocess.run([cs, "-q", "--json", "--http-decode-bodies", "%s/%s" % (sv, name)],
                         capture_output=True, text=True, check=True).stdout
    return [(x["response_body_len"], x["response_body_wire"]) for x in map(json.loads, out.splitlines())
            if x["type"] == "http" and x["uri"] == uri]
check("http2-deflate(-case) --http-decode-bodies: 20 bytes decoded from 30",
      decoded("http2-deflate__http2_deflate.pcap", "/")[-1] == (20, 30)
      and decoded("http2-deflate-case__input.pcap", "/")[-1] == (20, 30))
check("http2-bugfixes --http-decode-bodies: /robots.txt's gzip body decodes to 639 bytes",
      decoded("http2-bugfixes__input.pcap", "/robots.txt") == [(639, 331)])
# http2-errorcode: the client's error code INTERNAL_ERROR, twice (a direct and a proxied gRPC call)
http, conns, summ = run("http2-errorcode__input.pcap")
check("http2-errorcode: 2 connections whose client sent GOAWAY INTERNAL_ERROR",
      sum(1 for c in conns if c.get("orig_h2_goaway") == "INTERNAL_ERROR") == 2)
# http2-doh2-tx-log: streams 1, 3, 5 answered; 7 cancelled by the client (CANCEL) before its answer
http, conns, summ = run("http2-doh2-tx-log__dns_over_https.pcap")
got = sorted((x["h2_stream_id"], x["outcome"], x.get("h2_error")) for x in http)
check("http2-doh2: streams 1 3 5 complete, 7 reset by the client with CANCEL",
      got == [(1, "complete", None), (3, "complete", None), (5, "complete", None),
              (7, "reset", "CANCEL")])
sys.exit(1 if fails else 0)
PY
else
    echo "SKIP: $SV not found (set CORPUS2): suricata-verify expectations not checked"
fi

# ---- 3. the clients' records; gap and mid-connection facts; downstream --------------------------
python3 - "$CONNSCOPE" "$H2" "$TMP" <<'PY' || FAILS=$((FAILS + 1))
import collections, json, os, subprocess, sys
cs, h2, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
fails = 0

def check(what, cond):
    global fails
    print(("ok: " if cond else "FAIL: ") + what)
    fails += not cond

def run(name, *extra):
    args = [cs, "-q", "--json"] + list(extra)
    kl = "%s/%s.keylog" % (h2, name)
    if os.path.exists(kl) and "--no-keys" not in extra:
        args += ["--tls-keylog", kl]
    args = [a for a in args if a != "--no-keys"]
    out = subprocess.run(args + ["%s/%s.pcap" % (h2, name)], capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(l) for l in out.splitlines()]

def http(recs):
    return [r for r in recs if r["type"] == "http"]

def client_record(name):
    """(path, status, body bytes) of every exchange the clients completed."""
    rec = collections.Counter()
    txt = "%s/%s.client.txt" % (h2, name)
    if os.path.exists(txt):
        for line in open(txt):
            f = line.split()
            if len(f) == 5 and f[0] == "2" and f[1] != "000":
                rec[(f[4].split("/", 3)[3] if f[4].count("/") >= 3 else "", int(f[1]), int(f[2]))] += 1
    har = "%s/%s.client.har" % (h2, name)
    if os.path.exists(har):
        for e in json.load(open(har))["log"]["entries"]:
            url = e["request"]["url"]
            rec[(url.split("/", 3)[3], e["response"]["status"], e["response"]["content"]["size"])] += 1
    return rec

# Every exchange a client completed is one connscope exchange with the same path, final status and
# body size (nghttp's HAR and curl -w); requests the clients did not complete are listed apart.
for name, unfinished in [("h2-tls-nginx", 0), ("h2-tls12-parallel", 0), ("h2c-nginx", 0),
                         ("h2c-large", 0), ("h2c-features", 3), ("h2c-abort", 1)]:
    ex = http(run(name))
    mine = collections.Counter((x["uri"].lstrip("/"), x["status_code"], x["response_body_len"])
                               for x in ex if x["outcome"] in ("complete", "pushed")
                               and x.get("h2_stream_id"))
    want = client_record(name)
    if name == "h2c-abort":  # curl stopped at the Content-Length check: it counts 0 bytes
        want = collections.Counter()
    others = [(x["uri"], x["outcome"]) for x in ex
              if x["outcome"] not in ("complete", "pushed") or not x.get("h2_stream_id")]
    check("%s: %d exchanges equal the client's record%s" % (name, sum(want.values()),
          ", plus %s" % others if others else ""),
          mine == want and len(others) == unfinished)

# h2c-features, by hand: /hints has 103 then 200; /reset was cut by the server with INTERNAL_ERROR
# after 1000 body bytes; /refuse refused (REFUSED_STREAM, no response); /push promised /pushed.css;
# /trailers ends with a trailer block; /continue got 100; the upgraded /upgraded is two records
# (HTTP/1.1 101 and HTTP/2 stream 1); /goaway's connection ends with the server's GOAWAY.
recs = run("h2c-features")
ex = {(x["uri"], x.get("h2_stream_id") is not None): x for x in http(recs)}
g = lambda u, k, h2=True: ex.get((u, h2), {}).get(k)
check("h2c-features: 103 before /hints's 200", g("/hints", "info_code") == 103)
check("h2c-features: /reset reset by the server (INTERNAL_ERROR) after 1000 bytes",
      g("/reset", "outcome") == "reset" and g("/reset", "h2_error") == "INTERNAL_ERROR"
      and g("/reset", "h2_reset_by") == "resp" and g("/reset", "response_body_len") == 1000)
check("h2c-features: /refuse refused (REFUSED_STREAM), no response",
      g("/refuse", "outcome") == "reset" and g("/refuse", "h2_error") == "REFUSED_STREAM"
      and g("/refuse", "status_code") is None)
check("h2c-features: /pushed.css pushed on an even stream",
      g("/pushed.css", "outcome") == "pushed" and g("/pushed.css", "h2_pushed")
      and g("/pushed.css", "h2_stream_id") % 2 == 0)
check("h2c-features: /trailers has a trailer block", g("/trailers", "response_trailers") is True)
check("h2c-features: /continue got 100 Continue, request body 16 bytes",
      g("/continue", "info_code") == 100 and g("/continue", "request_body_len") == 16)
check("h2c-features: /upgraded is a 101 (HTTP/1.1) and stream 1 (HTTP/2, h2_upgrade)",
      g("/upgraded", "status_code", False) == 101 and g("/upgraded", "h2_upgrade") is True
      and g("/upgraded", "h2_stream_id") == 1)
conns = {r["stream"]: r for r in recs if r["type"] == "conn"}
check("h2c-features: the server sent GOAWAY NO_ERROR on the last connection",
      conns[3].get("resp_h2_goaway") == "NO_ERROR")
check("h2c-features: 7 streams on the nghttp connection, up to 7 open at once",
      conns[0]["h2_streams"] == 7 and conns[0]["h2_max_open_streams"] == 7)

# h2c-gap: the server's segment with the HEADERS of stream 15 (/index.html) was cut out (editcap).
# Framing of the server's side is found again; its HPACK context is lost: the later responses are
# counted with their bodies but their header blocks cannot be decoded (status unknown).
recs = run("h2c-gap")
ex = {x["uri"]: x for x in http(recs) if x["stream"] == 0}
summ = [r for r in recs if r["type"] == "summary"][0]
check("h2c-gap: /a.txt complete before the hole",
      ex["/a.txt"]["outcome"] == "complete" and not ex["/a.txt"]["headers_undecodable"])
check("h2c-gap: /index.html's response head lost in the gap",
      ex["/index.html"]["outcome"] == "response_lost_in_gap")
check("h2c-gap: /b.txt and /f1.txt complete, bodies 20000 and 7, headers undecodable",
      all(ex[u]["outcome"] == "complete" and ex[u]["headers_undecodable"] for u in ("/b.txt", "/f1.txt"))
      and ex["/b.txt"]["response_body_len"] == 20000 and ex["/f1.txt"]["response_body_len"] == 7)
check("h2c-gap: one http2_gap_desync, two http2_headers_undecodable",
      summ["anomalies"].get("http2_gap_desync") == 1
      and summ["anomalies"].get("http2_headers_undecodable") == 2)

# Joined mid-connection (h2c-nginx from frame 21: the nghttp connection's first 20 frames cut off;
# curl's later connection is whole): nothing is found by content on the joined connection;
# with --http2-port the frames are found and streams counted, every header block undecodable.
cut = os.path.join(tmp, "h2c-mid.pcap")
subprocess.run(["editcap", "-r", "%s/h2c-nginx.pcap" % h2, cut, "21-68"], check=True)
out = subprocess.run([cs, "-q", "--json", cut], capture_output=True, text=True, check=True).stdout
check("mid-connection without --http2-port: no exchange on the joined connection",
      not [l for l in out.splitlines() if '"type":"http"' in l and '"stream":0,' in l])
out = subprocess.run([cs, "-q", "--json", "--http2-port", "19544", cut], capture_output=True,
                     text=True, check=True).stdout
recs = [json.loads(l) for l in out.splitlines()]
c0 = [r for r in recs if r["type"] == "conn" and r["stream"] == 0][0]
ex = [x for x in http(recs) if x["stream"] == 0]
check("mid-connection with --http2-port: joined, streams counted, headers undecodable",
      c0.get("h2_midstream") is True and c0.get("h2_hpack_lost") is True and len(ex) >= 1
      and all(x["headers_undecodable"] or x["outcome"] == "no_request" for x in ex))

# TLS HTTP/2 without keys: connection-level counts only. TLS 1.2 shows ALPN h2 in the ServerHello:
# no estimate is made; TLS 1.3 hides the choice: the estimate is flagged as possibly HTTP/2.
tls = [r for r in run("h2-tls12-parallel", "--no-keys") if r["type"] == "tls"][0]
check("TLS 1.2 h2 without keys: no exchange estimate",
      tls["estimated_exchanges"] is None and tls["estimate"] == "not_made_http2" and tls["http2"])
tls = [r for r in run("h2-tls-nginx", "--no-keys") if r["type"] == "tls"][0]
check("TLS 1.3 without keys, h2 offered: estimate flagged may_be_http2",
      tls.get("estimate") == "may_be_http2")

# Downstream: -A analytics count HTTP/2 requests like HTTP/1.x; the per-server table has a version
# column; a summary of each half merges to the whole.
recs = run("h2c-features", "-A")
summ = [r for r in recs if r["type"] == "summary"][0]
an = [r for r in recs if r["type"] == "analytics"][0]
ex = http(recs)
n_req = sum(1 for x in ex if x["method"] and not x.get("h2_pushed"))
n_h2 = sum(1 for x in ex if x.get("h2_stream_id") and not x.get("h2_pushed"))
check("summary and -A count the HTTP/2 requests like HTTP/1.x ones (%d, %d of them HTTP/2; the push "
      "listed apart)" % (n_req, n_h2),
      summ["http_requests"] == n_req == an["requests"] == 11 and summ["http2_exchanges"] == n_h2 == 10
      and summ["http2_pushed"] == 1 and summ["http2_connections"] == 4)
servers = [r for r in recs if r["type"] == "http_server"]
check("http_server rows keyed by version: 1.x (the 101) and 2",
      sorted((r["version"], r["requests"]) for r in servers) == [("1.x", 1), ("2", 10)])
txt = subprocess.run([cs, "-q", "%s/h2c-features.pcap" % h2], capture_output=True, text=True,
                     check=True).stdout
check("text per-server table has a version column", "  version  requests" in txt
      and "10 exchanges over HTTP/2 on 4)" in txt)
# Summaries of two halves cut between connections merge to the whole's counts.
first = subprocess.run(["tshark", "-r", "%s/h2c-features.pcap" % h2, "-Y", "tcp.stream==1", "-T",
                        "fields", "-e", "frame.number"], capture_output=True, text=True,
                       check=True).stdout.split()[0]
sums = []
for i, (lo, hi) in enumerate(((1, int(first) - 1), (int(first), 10000))):
    p = os.path.join(tmp, "part%d.pcap" % i)
    subprocess.run(["editcap", "-r", "%s/h2c-features.pcap" % h2, p, "%d-%d" % (lo, hi)], check=True)
    s = os.path.join(tmp, "part%d.summary" % i)
    subprocess.run([cs, "-q", "--summary-out", s, p], capture_output=True, check=True)
    sums.append(s)
whole = os.path.join(tmp, "whole.summary")
subprocess.run([cs, "-q", "--summary-out", whole, "%s/h2c-features.pcap" % h2], capture_output=True,
               check=True)
def merged(files):
    out = subprocess.run([cs, "merge", "--json"] + files, capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(l) for l in out.splitlines() if '"type":"analytics"' in l][0]
m, w = merged(sums), merged([whole])
check("merge of two halves' summaries: %d requests, as the whole" % m["requests"],
      m["requests"] == w["requests"] == 11 and m["conns"] == w["conns"])
sys.exit(1 if fails else 0)
PY
finish
