#!/bin/bash
# test_parallel.sh - -j N on a capture split into files: SYN and HTTP totals equal the one-thread
# run, and connections that continue from one group of files into the next are detected (each
# adds exactly one record, and the run says how many).
. "$(dirname "$0")/lib.sh"
command -v editcap >/dev/null || skip "editcap not installed (apt-get install tshark)"
CAP="$PCAPS/tcp-mixed.pcap"
editcap -c 40 "$CAP" "$TMP/part.pcap" >/dev/null
n=$(ls "$TMP"/part_* | wc -l)
[ "$n" -ge 2 ] || skip "capture too small to split"
summary() { tail -1 "$1" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o["packets"], o["syn_pkts"], o["http_requests"], o["http_paired"], o["connections"], o["anomalies"].get("parallel_split_connections", 0))'; }
"$CONNSCOPE" --json "$TMP"/part_* > "$TMP/j1.json"
"$CONNSCOPE" -j 2 --json "$TMP"/part_* > "$TMP/j2.json" 2> "$TMP/j2.err"
read -r p1 s1 r1 a1 c1 x1 <<< "$(summary "$TMP/j1.json")"
read -r p2 s2 r2 a2 c2 x2 <<< "$(summary "$TMP/j2.json")"
[ "$p1 $s1 $r1 $a1" = "$p2 $s2 $r2 $a2" ] && pass "-j 2: packets, SYNs, requests, pairs equal the serial run ($p1 $s1 $r1 $a1)" ||
    fail "-j 2 totals $p2 $s2 $r2 $a2, serial $p1 $s1 $r1 $a1"
[ "$c2" = $((c1 + x2)) ] && pass "-j 2: $c2 records = $c1 connections + $x2 detected as split across groups" ||
    fail "-j 2: $c2 records, serial $c1, split $x2"
if [ "$x2" -gt 0 ]; then
    grep -q "from one group of files into the next" "$TMP/j2.err" && pass "split connections reported on stderr" || fail "no split warning"
fi
n1=$(grep -c '"type":"conn"' "$TMP/j1.json"); n2=$(grep -c '"type":"conn"' "$TMP/j2.json")
[ "$n2" = "$c2" ] && pass "-j 2 writes one conn line per record ($n2)" || fail "-j 2 conn lines $n2, records $c2"
"$CONNSCOPE" -j 2 --csv "$TMP"/part_* > "$TMP/j2.csv"
[ "$(grep -c '^type,' "$TMP/j2.csv")" = 1 ] && pass "-j 2 --csv has one header" || fail "-j 2 --csv headers: $(grep -c '^type,' "$TMP/j2.csv")"
"$CONNSCOPE" -j 2 --csv -E "$TMP"/part_* > "$TMP/j2e.csv"
h2=$(grep -c '^http,' "$TMP/j2e.csv"); hj=$(grep -c '"type":"http"' "$TMP/j2.json")
[ "$(grep -c '^type,' "$TMP/j2e.csv")" = 1 ] && [ "$h2" = "$hj" ] && [ "$hj" -gt 0 ] &&
    pass "-j 2 --csv -E: one header and $h2 http rows (as --json's http objects)" ||
    fail "-j 2 --csv -E: $(grep -c '^type,' "$TMP/j2e.csv") headers, $h2 http rows, JSON $hj"
"$CONNSCOPE" -j 2 -i lo 2>/dev/null; [ $? = 2 ] && pass "-j with -i is a usage error" || fail "-j with -i accepted"
finish
