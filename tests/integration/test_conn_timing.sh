#!/bin/bash
# test_conn_timing.sh - the per-connection exchange summary of the conn record (and of the text
# report) against truth that is not connscope's:
# 1. pcaps/http-keepalive.pcap: every field computed by hand from the frame times tshark lists
#    (frames 4/6, 8/9, 10/11, 12/13 are the four GETs and their one-segment answers);
# 2. the hand-written exchanges of data/http_truth.tsv: counts, status classes, ttfb and ttlb
#    p50/max per connection from the truth's frames;
# 3. tshark, per tcp.stream, on the committed and corpus HTTP captures: the number of requests and
#    the nearest-rank median and the max of http.time (= ttlb) per stream; the streams where
#    tshark is known to be wrong are listed with the reason (2. and test_http_truth.sh, or the
#    Zeek baselines of test_http_zeek.sh, hold their truth);
# 4. on every capture: the conn records' requests, responses, paired and status classes add up to
#    the summary's and to the http records'; connections without HTTP have no http_* field;
# 5. TLS: the conn record's SNI is tshark's, its estimate equals the tls record's.
. "$(dirname "$0")/lib.sh"
need_python
need_tshark
export CONNSCOPE

# ---- 1. by hand ---------------------------------------------------------------------------------
KA="$PCAPS/http-keepalive.pcap"
"$CONNSCOPE" -q --json "$KA" | python3 -c '
import json, sys
c = [o for o in map(json.loads, sys.stdin) if o["type"] == "conn"][0]
# frame times (us after .107000): requests 110, 795+1000, 227+2000, 473+2000;
# responses 985, 61+2000, 300+2000, 512+2000 (tshark -r pcaps/http-keepalive.pcap)
want = {"http_requests": 4, "http_responses": 4, "http_paired": 4, "http_unanswered": 0,
        "http_orphan_responses": 0, "http_status_2xx": 4, "http_status_4xx": 0,
        "http_ttfb_p50_us": 73, "http_ttfb_max_us": 875,    # 875 266 73 39: the 2nd smallest
        "http_ttlb_p50_us": 73, "http_ttlb_max_us": 875,    # one segment each: ttlb = ttfb
        "http_total_p50_us": 73, "http_total_max_us": 875,  # one segment each: total = ttfb
        "http_idle_max_us": 810.0,                          # 1795 - 985
        "http_idle_total_us": 1149.0,                       # 810 + (2227-2061) + (2473-2300)
        "http_first_request_ts": 1795572033.107110, "http_last_response_ts": 1795572033.109512}
bad = {k: (c.get(k), v) for k, v in want.items() if c.get(k) != v}
print(("FAIL: http-keepalive conn record (got, hand): %s" % bad) if bad else
      "ok: http-keepalive conn record: %d fields as computed by hand from the frames" % len(want))
sys.exit(1 if bad else 0)' || FAILS=$((FAILS + 1))
row=$("$CONNSCOPE" -C "$KA" | sed -n '/^HTTP per connection/,/^$/p' | awk '$1 == "0"')
exp="0 127.0.0.1:18080 4 4 0 0 0 4 0 0 0 73us 875us 73us 875us 810us +88us +2.5ms"
[ "$(echo $row)" = "$exp" ] && pass "-C 'HTTP per connection' row: $exp" ||
    fail "-C 'HTTP per connection' row '$(echo $row)', expected '$exp'"
"$CONNSCOPE" --csv "$KA" | python3 -c '
import csv, sys
r = list(csv.DictReader(sys.stdin))[0]
ok = r["http_ttfb_p50_us"] == "73" and r["http_idle_max_us"] == "810.000" and r["tls_server_name"] == ""
print("ok: CSV conn row: ttfb p50 73, idle max 810.000, empty TLS cell" if ok else "FAIL: CSV row %s" % r)
sys.exit(0 if ok else 1)' || FAILS=$((FAILS + 1))

# ---- 2. the hand-written truth ------------------------------------------------------------------
python3 "$(dirname "$0")/http_compare.py" conntruth "$(dirname "$0")/data/http_truth.tsv" "$PCAPS" ||
    FAILS=$((FAILS + 1))

# ---- 3. tshark per stream -------------------------------------------------------------------------
known() { # capture name -> "STREAM:reason" arguments for http_compare.py conn
    case "$1" in
    pcaps/http-close-delimited.pcap)
        echo "0:tshark times a close-delimited response at the FIN (truth: 2.)"
        echo "1:tshark times a close-delimited response at the FIN (truth: 2.)" ;;
    pcaps/http-early-response.pcap) echo "0:tshark places the request at the end of its body and leaves the early response unpaired (truth: 2.)" ;;
    pcaps/http-lost-request-segment.pcap) echo "0:tshark loses the PUT whose body has a hole (truth: 2.)" ;;
    pcaps/http-lost-segment.pcap) echo "0:tshark gives no http.time to the response with a lost segment (truth: 2.)" ;;
    pcaps/http-pipelined.pcap) echo "0:tshark swallows the 204 as the body of the HEAD response (truth: 2.)" ;;
    corpus:arkime/http-tcp-seq-issue.pcap) echo "0:tshark (default preferences) finds no HTTP in the out-of-order request" ;;
    corpus:pcapplusplus/three_http_streams.pcap) echo "1:close-delimited response: tshark times it at the FIN" ;;
    corpus:pcapplusplus/unidirectional_tcp_stream_with_missing_packet.pcap) echo "0:one direction with a missing packet: tshark loses the second request" ;;
    corpus:suricata-verify/firewall__ruletype-firewall-88-default-accept-tx-pipeline__input.pcap) echo "0:pipelined: tshark gives http.time to the first response only" ;;
    corpus:suricata-verify/http-protocol-nodup__input.pcap) echo "0:40 pipelined requests: tshark gives http.time to 3 responses" ;;
    corpus:suricata-verify/http-gap-beyond-body__input.pcap | corpus:suricata-verify/http-gap-simple__input.pcap | corpus:zeek/http__entity_gap.pcap)
        echo "0:capture gap: tshark gives no http.time to the responses it cannot reassemble" ;;
    corpus:zeek/http__concurrent-range-requests.pcap) echo "1:tshark does not reassemble the third 206 response (Zeek's http.log has it)" ;;
    corpus:zeek/http__http-single-conn-22.pcap) echo "0:port 22: tshark dissects SSH, not HTTP" ;;
    corpus:zeek/http__no-version.pcap) echo "0:HTTP/0.9 request: tshark does not count it" ;;
    corpus:zeek/http__http_09.pcap) for s in 0 1 3; do echo "$s:HTTP/0.9 request: tshark does not count it"; done ;;
    corpus:zeek/http__methods.pcap)
        for s in 1 3; do echo "$s:'OPTIONS' alone on the request line: tshark counts a request, connscope a response without request (as test_http_zeek.sh)"; done ;;
    esac
}
TSHARK_FIELDS="$TSHARK_FIELDS http.request.method http.time"
export TSHARK_FIELDS
mapfile -t caps < <(all_captures)
tshark_fields "$TMP/ts" "${caps[@]}"
n=0
for i in "${!caps[@]}"; do
    f=${caps[$i]}
    fields="$TMP/ts/$((i + 1)).fields"
    # HTTP/2: tshark's http.* fields are HTTP/1.x only; test_http2.sh compares every HTTP/2 stream
    # (requests, statuses, timings) with tshark's http2.* fields
    case "$f" in */pcaps/http2/*) continue ;; esac
    # only captures where connscope or tshark sees HTTP
    "$CONNSCOPE" -q --json "$f" 2>/dev/null | grep -q '"type":"http"' ||
        awk -F'\t' -v c="$(tshark_col http.request.method)" '$c != "" { f = 1 } END { exit !f }' "$fields" ||
        continue
    n=$((n + 1))
    mapfile -t k < <(known "$(capname "$f")")
    CAPNAME=$(capname "$f") TSHARK_FIELDS_FILE=$fields python3 "$(dirname "$0")/http_compare.py" \
        conn "$f" "${k[@]}" | tee "$TMP/conn.out"
    grep -q '^FAIL' "$TMP/conn.out" && FAILS=$((FAILS + 1))
done
[ "$n" -gt 40 ] && pass "$n HTTP captures compared with tshark per stream" || fail "only $n HTTP captures found"

# ---- 4. sums, absent fields ----------------------------------------------------------------------
all_captures >"$TMP/caps"
python3 - "$TMP/caps" <<'PY' || FAILS=$((FAILS + 1))
import collections, json, os, subprocess, sys
fails = checked = nonhttp = 0
for path in open(sys.argv[1]).read().split():
    out = subprocess.run([os.environ["CONNSCOPE"], "-q", "--json", path], capture_output=True,
                         text=True, errors="replace").stdout
    objs = [json.loads(l) for l in out.splitlines()]
    conns = [o for o in objs if o["type"] == "conn"]
    http = [o for o in objs if o["type"] == "http"]
    summ = [o for o in objs if o["type"] == "summary"][0]
    s = collections.Counter()
    for c in conns:
        if "http_requests" not in c:
            if any(k.startswith("http_") for k in c) or c["service"] == "http":
                print("FAIL: %s stream %d: no HTTP, but http fields or service http" % (path, c["stream"]))
                fails += 1
            nonhttp += 1
            continue
        for k in ("requests", "responses", "paired", "orphan_responses"):
            s[k] += c["http_" + k]
        for k in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"):
            s[k] += c["http_status_" + k]
        if c["http_ttfb_max_us"] is not None and c["http_ttfb_p50_us"] > c["http_ttfb_max_us"]:
            print("FAIL: %s stream %d: ttfb p50 above max" % (path, c["stream"]))
            fails += 1
    want = {"requests": summ["http_requests"], "responses": summ["http_responses"],
            "paired": summ["http_paired"], "orphan_responses": summ["http_orphan_responses"]}
    http = [h for h in http if not h.get("h2_pushed")]  # HTTP/2 pushes: no client request
    want2 = {"requests": sum(1 for h in http if h["method"] is not None),
             "responses": sum(1 for h in http if h["status_code"] is not None)}
    cls = collections.Counter()
    for h in http:
        if h["status_code"] is not None:
            sc = h["status_code"]
            cls["%dxx" % (sc // 100) if 100 <= sc < 600 else "other"] += 1
    bad = {k: (s[k], v) for k, v in list(want.items()) + list(want2.items()) if s[k] != v}
    bad.update({k: (s[k], cls[k]) for k in ("1xx", "2xx", "3xx", "4xx", "5xx", "other") if s[k] != cls[k]})
    if bad:
        print("FAIL: %s: per-connection sums differ from the summary / http records: %s" % (path, bad))
        fails += 1
    checked += 1
print("ok: %d captures: per-connection requests, responses, paired, orphans and status classes add "
      "up to the summary and the http records; %d connections without HTTP have no http_* field"
      % (checked, nonhttp) if not fails else "%d failure(s)" % fails)
sys.exit(1 if fails else 0)
PY

# ---- 5. TLS on the conn record ---------------------------------------------------------------------
for f in "$PCAPS"/tls/*.pcap "$CORPUS"/zeek/tls__*.pcap; do
    [ -f "$f" ] || continue
    tshark -r "$f" -Y tls.handshake.type==1 -T fields -e tcp.stream \
        -e tls.handshake.extensions_server_name 2>/dev/null >"$TMP/sni"
    "$CONNSCOPE" -q --json "$f" | python3 -c '
import json, sys
sni = {}
for line in open(sys.argv[1]):
    s, n = (line.rstrip("\n").split("\t") + [""])[:2]
    sni.setdefault(int(s), n)
objs = [json.loads(l) for l in sys.stdin]
tls = {o["stream"]: o for o in objs if o["type"] == "tls"}
bad = []
for c in (o for o in objs if o["type"] == "conn" and "tls_server_name" in o):
    t = tls[c["stream"]]
    if (c["tls_server_name"] or "") != sni.get(c["stream"], ""):
        bad.append("stream %d SNI %r, tshark %r" % (c["stream"], c["tls_server_name"], sni.get(c["stream"])))
    n = c["tls_estimated_exchanges"]
    if n != t["estimated_exchanges"]:
        bad.append("stream %d estimate %d, tls record %d" % (c["stream"], n, t["estimated_exchanges"]))
    if n == 0 and (c["tls_estimated_turn_p50_us"], c["tls_estimated_turn_max_us"]) != (None, None):
        bad.append("stream %d: turn times without an exchange" % c["stream"])
    if n > 0 and (c["tls_estimated_turn_max_us"] != int(t["estimated_turn_max_us"]) or
                  (n <= 2 and c["tls_estimated_turn_p50_us"] != int(t["estimated_turn_min_us"]))):
        bad.append("stream %d turn p50/max %s/%s, tls record min/max %s/%s" % (c["stream"],
                   c["tls_estimated_turn_p50_us"], c["tls_estimated_turn_max_us"],
                   t["estimated_turn_min_us"], t["estimated_turn_max_us"]))
print(("FAIL: %s: %s" % (sys.argv[2], "; ".join(bad))) if bad else
      "ok: %s: %d TLS conn records: SNI as tshark, estimate and turn max as the tls record"
      % (sys.argv[2], len(tls)))
sys.exit(1 if bad else 0)' "$TMP/sni" "$(capname "$f")" || FAILS=$((FAILS + 1))
done
finish
