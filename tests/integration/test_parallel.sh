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
# One file per group, files of 10 packets: connections run through several groups, and a middle
# group both joins one without its SYN and still has it open at its end. Every extra record must
# still be counted as a split connection (the serial run has c1 records).
mkdir "$TMP/small"
editcap -c 10 "$CAP" "$TMP/small/p.pcap" >/dev/null
ns=$(ls "$TMP"/small/p_* | wc -l)
"$CONNSCOPE" -q -j "$ns" --json "$TMP"/small/p_* > "$TMP/js.json" 2>/dev/null
read -r _ _ _ _ cs xs <<< "$(summary "$TMP/js.json")"
[ "$cs" = $((c1 + xs)) ] && [ "$xs" -gt 0 ] &&
    pass "-j $ns over $ns files of 10 packets: $cs records = $c1 connections + $xs split across groups" ||
    fail "-j $ns over $ns files of 10 packets: $cs records, serial $c1, split $xs"
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

# --http-decode-bodies on several threads: every worker inflates bodies at the same time. Each
# response of http-gzip-stored.pcap is stored/s.txt.gz: 6023 bytes of gzip (stored deflate
# blocks) decoding to the 6000 bytes of stored/s.txt (pcaps/README.md). Under ThreadSanitizer
# (.ci/run, configure --enable-tsan) a buffer shared by the workers is reported as a data race and
# the run exits non-zero; this checks the exit status and stderr as well as the numbers.
mkdir "$TMP/gz"
editcap -c 18 "$PCAPS/http-gzip-stored.pcap" "$TMP/gz/part.pcap" >/dev/null
ngz=$(ls "$TMP"/gz/part_* | wc -l)
[ "$ngz" = 4 ] && pass "http-gzip-stored.pcap split into its 4 connections" || fail "split into $ngz files, expected 4"
for j in 2 4; do
    "$CONNSCOPE" -q -j $j --json --http-decode-bodies "$TMP"/gz/part_* > "$TMP/gz.json" 2> "$TMP/gz.err"
    rc=$?
    [ $rc = 0 ] && [ ! -s "$TMP/gz.err" ] && pass "-j $j --http-decode-bodies: exit 0, nothing on stderr" ||
        fail "-j $j --http-decode-bodies: exit $rc, stderr: $(head -3 "$TMP/gz.err")"
    got=$(python3 -c 'import json,sys
print(" ".join("%d/%d" % (o["response_body_len"], o["response_body_wire"]) for o in map(json.loads, open(sys.argv[1])) if o["type"] == "http"))' "$TMP/gz.json")
    [ "$got" = "6000/6023 6000/6023 6000/6023 6000/6023" ] &&
        pass "-j $j --http-decode-bodies: 4 responses of 6023 bytes decoded to 6000 each" ||
        fail "-j $j --http-decode-bodies: decoded/wire $got, expected 6000/6023 four times"
done
"$CONNSCOPE" -q -j 4 -C -E --http-decode-bodies "$TMP"/gz/part_* "$PCAPS"/http-*.pcap > "$TMP/gzt.txt" 2> "$TMP/gzt.err"
rc=$?
[ $rc = 0 ] && [ ! -s "$TMP/gzt.err" ] && pass "-j 4 text report (rows through the shared writer): exit 0, nothing on stderr" ||
    fail "-j 4 text report: exit $rc, stderr: $(head -3 "$TMP/gzt.err")"
finish
