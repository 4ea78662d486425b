#!/bin/bash
# test_metrics_live.sh - --metrics-listen scraped by a real Prometheus server (root only: live
# capture on lo). curl makes known requests to a local HTTP server while connscope captures; then
# Prometheus's HTTP API must give the connections and requests curl reports itself (num_connects,
# response codes), sane latency quantiles, and `promtool check metrics` must accept the endpoint's
# Prometheus text; the OpenMetrics variant (what Prometheus asks for) ends with # EOF.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "live capture needs root (CAP_NET_RAW); run the suite as root to include it"
command -v curl >/dev/null || skip "curl not installed"
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
    skip "prometheus not installed (apt-get install prometheus; tools/install-deps --test)"
PORT=$((20000 + RANDOM % 20000))
MPORT=$((20000 + RANDOM % 20000))
QPORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/www" "$TMP/prom"
echo hello > "$TMP/www/a.txt"
echo world > "$TMP/www/b.txt"
(cd "$TMP/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 --protocol HTTP/1.1 >/dev/null 2>&1) &
SERVER=$!
PIDS="$SERVER"
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null && break; sleep 0.1; done

"$CONNSCOPE" -q -i lo -f "tcp port $PORT" --close-linger 0 --metrics-listen "127.0.0.1:$MPORT" \
    >"$TMP/cs.out" 2>"$TMP/cs.err" &
CS=$!
PIDS="$PIDS $CS"
cat > "$TMP/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: connscope
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom" \
    --web.listen-address="127.0.0.1:$QPORT" >"$TMP/prom.log" 2>&1 &
PIDS="$PIDS $!"
API="http://127.0.0.1:$QPORT/api/v1/query"
# query EXPR: the value of a PromQL expression now ("" when it has no result)
query() { curl -s --get "$API" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null; }
for _ in $(seq 100); do [ "$(query 'up{job="connscope"}')" = 1 ] && break; sleep 0.2; done
[ "$(query 'up{job="connscope"}')" = 1 ] && pass "Prometheus scrapes connscope (up == 1)" ||
    { fail "Prometheus does not scrape connscope: $(tail -5 "$TMP/prom.log") $(cat "$TMP/cs.err")"; finish; }

# the known traffic: 4 curl runs, each 3 keep-alive requests on one connection (2 found, 1 not)
: > "$TMP/curl.out"
for _ in 1 2 3 4; do
    curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
        "http://127.0.0.1:$PORT/a.txt" "http://127.0.0.1:$PORT/b.txt" "http://127.0.0.1:$PORT/none" \
        >> "$TMP/curl.out"
done
read -r conns req ok notfound < <(awk '{n++; c+=$2; if ($1 ~ /^2/) o++; if ($1 ~ /^4/) f++}
    END {print c, n, o, f}' "$TMP/curl.out")
S="server=\"127.0.0.1:$PORT\""
for _ in $(seq 100); do
    [ "$(query "sum(connscope_connections_total{$S})")" = "$conns" ] &&
        [ "$(query "sum(connscope_http_requests_total{$S})")" = "$req" ] && break
    sleep 0.2
done
got="$(query "sum(connscope_connections_total{$S})") $(query "sum(connscope_http_requests_total{$S})")"
got="$got $(query "sum(connscope_http_responses_total{$S,code=\"2xx\"})") $(query "sum(connscope_http_responses_total{$S,code=\"4xx\"})")"
got="$got $(query "sum(connscope_syn_attempts_total{destination=\"127.0.0.1:$PORT\",outcome=\"answered\"})")"
[ "$got" = "$conns $req $ok $notfound $conns" ] &&
    pass "Prometheus API: $conns connections, $req requests ($ok 2xx, $notfound 4xx), $conns answered SYN attempts, as curl counted" ||
    fail "Prometheus API (connections requests 2xx 4xx answered): $got, curl: $conns $req $ok $notfound $conns"
python3 - "$(query 'histogram_quantile(0.5, connscope_http_ttfb_seconds_bucket)')" \
    "$(query 'histogram_quantile(0.99, connscope_http_total_seconds_bucket)')" \
    "$(query 'connscope_http_ttfb_seconds_count')" "$req" <<'PY' && pass "latency histograms: median ttfb and p99 total between 0 and 1 s on loopback, count = requests" || fail "latency histograms not sane: $*"
import sys
ttfb, total, count, req = sys.argv[1:5]
assert 0 < float(ttfb) < 1 and 0 < float(total) < 1 and float(ttfb) <= float(total), (ttfb, total)
assert int(float(count)) == int(req), (count, req)
PY

# the formats: Prometheus text through promtool, OpenMetrics by Accept
curl -s -D "$TMP/h1" "http://127.0.0.1:$MPORT/metrics" > "$TMP/m.prom"
promtool check metrics < "$TMP/m.prom" > "$TMP/check.out" 2>&1; rc=$?
[ $rc = 0 ] && [ ! -s "$TMP/check.out" ] && grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/h1" &&
    pass "promtool check metrics accepts the endpoint's text ($(grep -c '^connscope' "$TMP/m.prom") samples)" ||
    fail "promtool check metrics: exit $rc: $(head -5 "$TMP/check.out")"
curl -s -D "$TMP/h2" -H 'Accept: application/openmetrics-text; version=1.0.0' \
    "http://127.0.0.1:$MPORT/metrics" > "$TMP/m.om"
[ "$(tail -1 "$TMP/m.om")" = "# EOF" ] && grep -qi '^content-type: application/openmetrics-text' "$TMP/h2" &&
    grep -q '^# TYPE connscope_connections counter$' "$TMP/m.om" &&
    pass "Accept: application/openmetrics-text gets OpenMetrics (counter families without _total, # EOF)" ||
    fail "OpenMetrics: $(head -3 "$TMP/m.om"; tail -1 "$TMP/m.om")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")
[ "$code" = 404 ] && pass "other paths: 404" || fail "GET /other: $code"

# the capture goes on after scrapes and ends as always
kill -INT $CS; wait $CS; rc=$?
[ $rc = 0 ] && grep -q "127.0.0.1:$PORT  *$conns " "$TMP/cs.out" && pass "SIGINT: exit 0, final report with $conns connections" ||
    fail "final report: exit $rc: $(head -20 "$TMP/cs.out") $(cat "$TMP/cs.err")"
"$CONNSCOPE" -q -i lo --metrics-listen "127.0.0.1:$QPORT" --duration 1 2> "$TMP/busy.err"; rc=$?
[ $rc = 2 ] && grep -q "metrics-listen 127.0.0.1:$QPORT: cannot listen" "$TMP/busy.err" &&
    pass "a port in use: one message, exit 2" || fail "port in use: exit $rc: $(cat "$TMP/busy.err")"
"$CONNSCOPE" -q --metrics-listen 9 "$PCAPS/http-keepalive.pcap" 2> "$TMP/off.err"; rc=$?
[ $rc = 2 ] && grep -q "metrics-listen goes with a live capture" "$TMP/off.err" &&
    pass "--metrics-listen without -i: usage error" || fail "--metrics-listen offline: exit $rc $(cat "$TMP/off.err")"
finish
