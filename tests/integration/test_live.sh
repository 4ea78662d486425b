#!/bin/bash
# test_live.sh - live capture on loopback (root only): a local HTTP server driven by curl while
# connscope -i lo runs; exact connection and request counts, the SIGINT final report, and the -w
# copy re-analysed offline giving the same numbers.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "live capture needs root (CAP_NET_RAW); run the suite as root to include it"
command -v curl >/dev/null || skip "curl not installed"
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/www"
echo hello > "$TMP/www/a.txt"
(cd "$TMP/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 --protocol HTTP/1.1 >/dev/null 2>&1) &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null && break; sleep 0.1; done

summary() { grep '"type":"summary"' "$1" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o["connections"], o["syn_attempts"], o["http_requests"], o["http_paired"], o["packets"])'; }

# 1. --duration: 3 curl runs of 2 URLs each (HTTP/1.1 keep-alive: 3 connections, 6 requests)
"$CONNSCOPE" -i lo -f "tcp port $PORT" --duration 3 --interval 1 --json -w "$TMP/live.pcap" \
    > "$TMP/live.json" 2> "$TMP/live.err" &
CS=$!
sleep 1
for _ in 1 2 3; do curl -s "http://127.0.0.1:$PORT/a.txt" "http://127.0.0.1:$PORT/a.txt" >/dev/null; done
wait $CS; rc=$?
[ $rc = 0 ] && pass "--duration run exits 0" || fail "--duration run exit $rc: $(cat "$TMP/live.err")"
got=$(summary "$TMP/live.json")
set -- $got
[ "$1 $2 $3 $4" = "3 3 6 6" ] && pass "live: 3 connections, 3 SYN attempts, 6 requests, 6 paired" ||
    fail "live counts (connections syn_attempts requests paired packets): $got, expected 3 3 6 6"
n=$(grep -c '"type":"interval"' "$TMP/live.json")
[ "$n" -ge 2 ] && pass "$n interval reports" || fail "only $n interval reports"
python3 - "$TMP/live.json" <<'PY' && pass "interval requests add up to the total" || fail "interval sums differ from the total"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
iv = [o for o in objs if o["type"] == "interval"]
tot = [o for o in objs if o["type"] == "summary"][0]
assert sum(o["http"]["requests"] for o in iv) == tot["http_requests"]
assert sum(o["conns_started"] for o in iv) == tot["connections_started"]
assert all(o["drops"] is not None for o in iv)
PY
off=$(summary <("$CONNSCOPE" --json "$TMP/live.pcap"))
[ "$off" = "$got" ] && pass "-w copy analysed offline gives the same numbers ($off)" ||
    fail "-w copy offline: $off, live: $got"

# 2. SIGINT: final report and exit 0
"$CONNSCOPE" -i lo -f "tcp port $PORT" > "$TMP/int.txt" 2>&1 &
CS=$!
sleep 1
curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null
sleep 0.5
kill -INT $CS
wait $CS; rc=$?
if [ $rc = 0 ] && grep -q "Connections per server" "$TMP/int.txt" && grep -q "127.0.0.1:$PORT  *1 " "$TMP/int.txt"; then
    pass "SIGINT prints the final report (1 connection) and exits 0"
else
    fail "SIGINT: exit $rc, report:"; cat "$TMP/int.txt"
fi

# 3. errors: one line, exit 2
"$CONNSCOPE" -i no-such-if0 2> "$TMP/e1"; rc=$?
[ $rc = 2 ] && grep -q "no-such-if0: no such interface" "$TMP/e1" && pass "missing interface: exit 2" || fail "missing interface: exit $rc $(cat "$TMP/e1")"
"$CONNSCOPE" -i lo -f 'tcp port' 2> "$TMP/e2"; rc=$?
[ $rc = 2 ] && grep -q "bad BPF filter 'tcp port'" "$TMP/e2" && pass "bad BPF: exit 2" || fail "bad BPF: exit $rc $(cat "$TMP/e2")"
if id nobody >/dev/null 2>&1 && command -v su >/dev/null; then
    cp "$CONNSCOPE" "$TMP/cs" && chmod 755 "$TMP" "$TMP/cs"
    su nobody -s /bin/sh -c "$TMP/cs -i lo --duration 1" 2> "$TMP/e3"; rc=$?
    [ $rc = 2 ] && grep -q "CAP_NET_RAW" "$TMP/e3" && pass "no permission: exit 2 naming CAP_NET_RAW" || fail "no permission: exit $rc $(cat "$TMP/e3")"
fi
finish
