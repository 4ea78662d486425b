#!/bin/bash
# test_daemon.sh - daemon habits of a live capture (root only): -Z drops privileges before any -w
# file is opened (rotated files belong to the user), a -w write failure is exit 2, SIGPIPE on
# standard output stops the capture (final report on stderr, -w file valid), SIGHUP starts the next
# -w file, and contrib/connscope.service passes `systemd-analyze verify` and runs as an unprivileged
# user holding only CAP_NET_RAW and CAP_NET_ADMIN (emulated with setpriv's ambient capabilities).
# Truth: the connections curl made, counted per file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "live capture needs root (CAP_NET_RAW); run the suite as root to include it"
command -v curl >/dev/null || skip "curl not installed"
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/www"
echo hello > "$TMP/www/a.txt"
(cd "$TMP/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null && break; sleep 0.1; done
get() { curl -s "http://127.0.0.1:$PORT/a.txt" >/dev/null; }
conns() { "$CONNSCOPE" --json "$1" 2>/dev/null | grep '"type":"summary"' |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["connections"])'; }
# waits until the capture is open: its -w file ($2) exists (created after the capture opened)
wait_open() { for _ in $(seq 40); do [ -e "$2" ] && break; sleep 0.05; done; sleep 0.2; }
chmod 755 "$TMP"

# 1. -Z before -w: every file, the rotated ones too, is created by the user
if id nobody >/dev/null 2>&1; then
    mkdir "$TMP/zdir" && chown nobody "$TMP/zdir"
    "$CONNSCOPE" -q -i lo -f "tcp port $PORT" -Z nobody -w "$TMP/zdir/z.pcap" --rotate-seconds 1 \
        --duration 3.5 >/dev/null 2>"$TMP/z.err" &
    CS=$!
    wait_open $CS "$TMP/zdir/z.pcap"
    for _ in 1 2 3; do get; sleep 1; done
    wait $CS; rc=$?
    owners=$(stat -c %U "$TMP"/zdir/* | sort -u | tr '\n' ' ')
    nfiles=$(ls "$TMP/zdir" | wc -l)
    total=0
    for f in "$TMP"/zdir/*; do total=$((total + $(conns "$f"))); done
    [ $rc = 0 ] && [ "$owners" = "nobody " ] && [ "$nfiles" -ge 3 ] && [ "$total" = 3 ] &&
        pass "-Z nobody -w --rotate-seconds 1: $nfiles files, all owned by nobody, 3 connections in all" ||
        fail "-Z rotation: exit $rc, owners '$owners', $nfiles files, $total connections: $(cat "$TMP/z.err")"
    mkdir "$TMP/rootdir" && chmod 755 "$TMP/rootdir"
    "$CONNSCOPE" -q -i lo -Z nobody -w "$TMP/rootdir/z.pcap" --duration 1 >/dev/null 2>"$TMP/z2.err"; rc=$?
    [ $rc = 2 ] && grep -q "rootdir/z.pcap: cannot write" "$TMP/z2.err" && [ ! -e "$TMP/rootdir/z.pcap" ] &&
        pass "-Z nobody -w into a directory nobody cannot write: refused at start, exit 2" ||
        fail "-Z into root's directory: exit $rc: $(cat "$TMP/z2.err")"
fi

# 2. a -w write failure is reported and exits 2
"$CONNSCOPE" -q -i lo -f "tcp port $PORT" -w /dev/full --duration 1.5 >/dev/null 2>"$TMP/full.err" &
CS=$!
sleep 0.5; get
wait $CS; rc=$?
[ $rc = 2 ] && grep -q "/dev/full: cannot write: No space left on device" "$TMP/full.err" &&
    pass "-w /dev/full: one message, exit 2" || fail "-w /dev/full: exit $rc: $(cat "$TMP/full.err")"

# 3. SIGPIPE: the reader of the report goes away; the capture stops, the final report goes to
# stderr, the -w file is complete, and connscope ends by SIGPIPE as `| head` expects
( "$CONNSCOPE" -i lo -f "tcp port $PORT" --json --interval 0.5 -w "$TMP/pipe.pcap" 2>"$TMP/pipe.err"
  echo $? > "$TMP/pipe.rc" ) | { IFS= read -r _; sleep 1.5; } &
PIPE=$!
wait_open 0 "$TMP/pipe.pcap"
get; get
wait $PIPE
for _ in $(seq 40); do [ -s "$TMP/pipe.rc" ] && break; sleep 0.1; done
rc=$(cat "$TMP/pipe.rc" 2>/dev/null)
sum=$(grep '"type":"summary"' "$TMP/pipe.err" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["connections"])' 2>/dev/null)
[ "$rc" = 141 ] && grep -q "standard output closed: capture stopped" "$TMP/pipe.err" && [ "$sum" = 2 ] &&
    [ "$(conns "$TMP/pipe.pcap")" = 2 ] &&
    pass "SIGPIPE: capture stopped, final report (2 connections) on stderr, -w file has both, exit by SIGPIPE" ||
    fail "SIGPIPE: exit '$rc', summary connections '$sum', -w: $(conns "$TMP/pipe.pcap"): $(head -c 300 "$TMP/pipe.err")"

# 4. SIGHUP: the next -w file
mkdir "$TMP/hup"
"$CONNSCOPE" -q -i lo -f "tcp port $PORT" -w "$TMP/hup/h.pcap" >/dev/null 2>"$TMP/hup.err" &
CS=$!
wait_open $CS "$TMP/hup/h.pcap"
get; sleep 0.3; kill -HUP $CS; sleep 0.3
get; get; sleep 0.3; kill -HUP $CS; sleep 0.3
kill -INT $CS; wait $CS; rc=$?
got="$(conns "$TMP/hup/h.pcap") $(conns "$TMP/hup/h.pcap.1") $(conns "$TMP/hup/h.pcap.2")"
[ $rc = 0 ] && [ "$got" = "1 2 0" ] && pass "SIGHUP twice: h.pcap, h.pcap.1, h.pcap.2 hold 1, 2, 0 connections" ||
    fail "SIGHUP: exit $rc, connections per file '$got' (expected 1 2 0): $(cat "$TMP/hup.err")"

# 5. the systemd unit: verified, and its capability set is enough for a capture as nobody
UNIT="$SRCDIR/contrib/connscope.service"
if command -v systemd-analyze >/dev/null; then
    mkdir "$TMP/unit"
    sed "s#/usr/local/bin/connscope#$CONNSCOPE#" "$UNIT" > "$TMP/unit/connscope.service"
    systemd-analyze verify --man=no "$TMP/unit/connscope.service" > "$TMP/unit.out" 2>&1; rc=$?
    [ $rc = 0 ] && [ ! -s "$TMP/unit.out" ] && pass "contrib/connscope.service: systemd-analyze verify is silent" ||
        fail "systemd-analyze verify: exit $rc: $(cat "$TMP/unit.out")"
else
    echo "note: systemd-analyze not installed: contrib/connscope.service not verified"
fi
caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd,)
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    cp "$CONNSCOPE" "$TMP/cs" && chmod 755 "$TMP/cs" && mkdir "$TMP/dyn" && chown nobody "$TMP/dyn"
    setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all,$caps \
        --ambient-caps=-all,$caps --bounding-set=-all,$caps \
        "$TMP/cs" -q --json -i lo -f "tcp port $PORT" -w "$TMP/dyn/d.pcap" --duration 1.5 \
        >"$TMP/dyn.json" 2>"$TMP/dyn.err" &
    CS=$!
    wait_open $CS "$TMP/dyn/d.pcap"; get
    wait $CS; rc=$?
    [ $rc = 0 ] && [ "$(conns "$TMP/dyn/d.pcap")" = 1 ] &&
        pass "as nobody with only the unit's ambient capabilities ($caps): live capture and -w work" ||
        fail "ambient capabilities $caps: exit $rc: $(cat "$TMP/dyn.err")"
fi
finish
