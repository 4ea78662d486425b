#!/bin/bash
# test_graphite.sh - --metrics graphite=HOST:PORT with --interval: a carbon receiver (a few lines
# of Python on TCP) gets one batch per interval, stamped with the interval's end in capture time,
# whose sums are the truth: tshark's SYN packets and HTTP requests offline, curl's requests live.
# A receiver that is not there at the start is reported, retried with backoff, and is never fatal.
. "$(dirname "$0")/lib.sh"
need_python
need_tshark
GPORT=$((20000 + RANDOM % 20000))
cat > "$TMP/recv.py" <<'PY'
import socket, sys, threading, time
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
out = open(sys.argv[2], "a", buffering=1)
def serve(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.write("%.3f %s\n" % (time.time(), line.decode()))
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
start_recv() { python3 "$TMP/recv.py" "$GPORT" "$1" & RECV=$!; for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$GPORT") 2>/dev/null && break; sleep 0.1; done; }
RECV=
trap 'kill $RECV $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT

# 1. offline: tcp-mixed.pcap (1.1 s) in intervals of 0.25 s; sums against tshark (Graphite's
# timestamps are whole seconds, so intervals this short share them: fine for the sums)
CAP="$PCAPS/tcp-mixed.pcap"
start_recv "$TMP/g1.txt"
"$CONNSCOPE" --json --interval 0.25 --metrics "graphite=127.0.0.1:$GPORT" "$CAP" >"$TMP/o1.json" 2>"$TMP/e1"; rc=$?
sleep 0.5
syn=$(tshark -r "$CAP" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number | wc -l)
pkts=$(tshark -r "$CAP" -T fields -e frame.number | wc -l)
python3 - "$TMP/g1.txt" "$TMP/o1.json" "$syn" "$pkts" <<'PY' && [ $rc = 0 ] && [ ! -s "$TMP/e1" ] ||
import json, sys, collections
lines = [l.split() for l in open(sys.argv[1])]
ivs = [o for o in map(json.loads, open(sys.argv[2])) if o["type"] == "interval"]
sums = collections.Counter()
for _, path, v, ts in lines:
    sums[path] += int(v)
syn, pkts = int(sys.argv[3]), int(sys.argv[4])
assert len(lines) % len(ivs) == 0 and len(lines) // len(ivs) >= 15, (len(lines), len(ivs))
assert sums["connscope.syn_pkts"] == syn, (sums["connscope.syn_pkts"], syn)
assert sums["connscope.packets"] == pkts, (sums["connscope.packets"], pkts)
print("ok: offline: %d batches for %d intervals, SYN packets %d and packets %d as tshark" % (
    len(lines) // (len(lines) // len(ivs)), len(ivs), syn, pkts))
PY
fail "offline per-interval batches: exit $rc $(cat "$TMP/e1")"
# one batch per interval: the same set of paths under each interval's end time
n_iv=$(grep -c '"type":"interval"' "$TMP/o1.json")
n_ts=$(awk '{print $4}' "$TMP/g1.txt" | sort -u | wc -l)
n_req=$(awk '$2 == "connscope.http.requests"' "$TMP/g1.txt" | wc -l)
[ "$n_req" = "$n_iv" ] && pass "one connscope.http.requests line per interval ($n_iv), $n_ts distinct timestamps (second resolution)" ||
    fail "$n_req http.requests lines for $n_iv intervals"
kill $RECV; wait $RECV 2>/dev/null

# 2. live, and the receiver comes up late: reported at the start, batches delivered after it is up
[ "$(id -u)" = 0 ] || { finish; }
command -v curl >/dev/null || { finish; }
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/www"; echo hi > "$TMP/www/a.txt"
(cd "$TMP/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 --protocol HTTP/1.1 >/dev/null 2>&1) &
SERVER=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null && break; sleep 0.1; done
"$CONNSCOPE" -q -i lo -f "tcp port $PORT" --interval 1 --duration 10 --json \
    --metrics "graphite=127.0.0.1:$GPORT" >"$TMP/o2.json" 2>"$TMP/e2" &
CS=$!
sleep 0.5
for _ in 1 2 3; do curl -s "http://127.0.0.1:$PORT/a.txt" "http://127.0.0.1:$PORT/a.txt" >/dev/null; done
sleep 1.5
start_recv "$TMP/g2.txt"
sleep 1
curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null
wait $CS; rc=$?
sleep 0.3
grep -q "graphite=127.0.0.1:$GPORT: cannot connect: Connection refused (retrying" "$TMP/e2" &&
    pass "unreachable receiver reported at the start" || fail "no start warning: $(cat "$TMP/e2")"
read -r req ivs < <(python3 - "$TMP/g2.txt" "$TMP/o2.json" <<'PY'
import json, sys
req = sum(int(l.split()[2]) for l in open(sys.argv[1]) if l.split()[1] == "connscope.http.requests")
ivs = sum(1 for o in map(json.loads, open(sys.argv[2])) if o["type"] == "interval")
print(req, ivs)
PY
)
n_req=$(awk '$2 == "connscope.http.requests"' "$TMP/g2.txt" | wc -l)
[ $rc = 0 ] && [ "$req" = 7 ] && [ "$n_req" = "$ivs" ] &&
    pass "live: exit 0; after the receiver came up every interval's batch arrived ($n_req for $ivs intervals), requests sum to curl's 7" ||
    fail "live graphite: exit $rc, requests $req (curl: 7), $n_req batches for $ivs intervals: $(cat "$TMP/e2")"
finish
