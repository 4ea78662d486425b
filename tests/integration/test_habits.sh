#!/bin/bash
# test_habits.sh - what tcpdump and tshark users type: -r FILE (repeatable) with the BPF filter as
# the words after the options, a hint when a filter is given where files go, -n/-nn, -s 0, -w -
# (the pcap on standard output, the report on standard error) and --stream N naming no stream.
# Truth: tcpdump's own packet count for the same file and filter, capinfos for the files, tshark
# reading what -w - wrote; exit statuses and messages as the man page states them.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v capinfos >/dev/null || skip "capinfos not installed (apt-get install tshark)"
CAP="$PCAPS/tcp-mixed.pcap"
KA="$PCAPS/http-keepalive.pcap"

# run NAME RC -- CMD...: runs CMD (stdout $TMP/out, stderr $TMP/err) and checks its exit status.
run() {
    local name=$1 want=$2
    shift 3
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    local rc=$?
    [ "$rc" = "$want" ] && pass "$name: exit $rc" ||
        fail "$name: exit $rc, expected $want (stderr: $(head -2 "$TMP/err"))"
}
summary() { python3 -c 'import json,sys
o=[json.loads(l) for l in open(sys.argv[1])][-1]
print(o["packets"], len(o["inputs"]), o["connections"])' "$1"; }
err_has() {
    grep -qF -- "$2" "$TMP/err" && pass "$1: stderr says: $2" ||
        fail "$1: stderr lacks '$2': $(head -2 "$TMP/err")"
}

echo "== -r FILE, then the BPF filter as the remaining words (tcpdump -r FILE EXPR)"
for expr in "tcp port 18081" "tcp dst port 18080 and tcp[13] & 2 != 0" "not host 127.0.0.2"; do
    want=$(tcpdump -n -r "$CAP" $expr 2>/dev/null | wc -l)
    # shellcheck disable=SC2086 # the expression is meant to split into words, as users type it
    run "-r FILE $expr" 0 -- "$CONNSCOPE" -q --json -r "$CAP" $expr
    read -r got _ _ <<<"$(summary "$TMP/out")"
    [ "$got" = "$want" ] && pass "-r FILE $expr: $got packets, as tcpdump -r FILE $expr" ||
        fail "-r FILE $expr: $got packets, tcpdump counts $want"
    "$CONNSCOPE" -q --json -f "$expr" "$CAP" >"$TMP/f.json" 2>/dev/null
    cmp -s "$TMP/out" "$TMP/f.json" && pass "-r FILE $expr: the same output as -f '$expr' FILE" ||
        fail "-r FILE $expr: differs from -f '$expr' FILE"
done
"$CONNSCOPE" -q -r "$CAP" not host 127.0.0.2 >"$TMP/t.txt" 2>&1
grep -qx 'filter: not host 127.0.0.2' "$TMP/t.txt" && pass "the text report shows the filter made of the words" ||
    fail "the text report does not show 'filter: not host 127.0.0.2'"

echo "== -r is repeatable; the files are one time-ordered input"
run "-r A -r B" 0 -- "$CONNSCOPE" -q --json -r "$CAP" -r "$KA"
read -r got n _ <<<"$(summary "$TMP/out")"
want=$(($(capinfos -c -M -T -r "$CAP" | cut -f2) + $(capinfos -c -M -T -r "$KA" | cut -f2)))
[ "$got $n" = "$want 2" ] && pass "-r A -r B: 2 inputs, $got packets (capinfos: $want)" ||
    fail "-r A -r B: $n inputs, $got packets, capinfos $want"
run "-r A B.pcap" 2 -- "$CONNSCOPE" -q -r "$CAP" "$KA"
err_has "-r A B.pcap" "'$KA' is a capture file: give every file with -r"
run "-r A -f EXPR plus trailing words" 2 -- "$CONNSCOPE" -q -r "$CAP" -f "tcp" port 80
err_has "-f and trailing words" "give the BPF filter with -f or after the options, not both"
run "-r A -i lo" 2 -- "$CONNSCOPE" -q -r "$CAP" -i lo
err_has "-r with -i" "give either capture files or -i IFACE, not both"

echo "== a filter where the files go gets a hint (tcpdump's habit without -r)"
run "FILE tcp port 80" 2 -- "$CONNSCOPE" -q "$CAP" tcp port 80
err_has "FILE tcp port 80" "'tcp port 80' is not a file but a BPF filter: give it with -f 'tcp port 80', or read the files with -r (connscope -r FILE tcp port 80)"
run "tcp port 80 (no file)" 2 -- "$CONNSCOPE" -q tcp port 80
err_has "tcp port 80 (no file)" "give it with -f 'tcp port 80'"
run "FILE missing.pcap" 2 -- "$CONNSCOPE" -q "$CAP" "$TMP/missing.pcap"
err_has "FILE missing.pcap (no hint: not a filter)" "$TMP/missing.pcap: cannot open"
grep -q "BPF filter" "$TMP/err" && fail "a missing file was taken for a filter" || pass "a missing file is not taken for a filter"
run "FILE tcp port nonsense" 2 -- "$CONNSCOPE" -q "$CAP" tcp port nonsense
grep -q "BPF filter" "$TMP/err" && fail "an expression libpcap rejects got the hint" || pass "an expression libpcap rejects gets no hint: $(head -1 "$TMP/err")"

echo "== -n, -nn, -s 0"
"$CONNSCOPE" -q -C "$CAP" >"$TMP/plain.txt" 2>&1
for n in -n -nn "-n -n"; do
    # shellcheck disable=SC2086
    run "$n" 0 -- "$CONNSCOPE" -q -C $n "$CAP"
    cmp -s "$TMP/out" "$TMP/plain.txt" && pass "$n: the same report as without" || fail "$n changed the report"
done
run "-s 0 (files: accepted)" 0 -- "$CONNSCOPE" -q -s 0 "$CAP"
run "-s 10" 2 -- "$CONNSCOPE" -q -s 10 "$CAP"
err_has "-s 10" "-s takes 0 (the default) or at least 64 bytes"
if [ "$(id -u)" = 0 ] && "$CONNSCOPE" -q --json -i lo -s 65535 --duration 0.2 >/dev/null 2>&1; then
    run "-i lo -s 0 --duration 0.3" 0 -- "$CONNSCOPE" -q --json -i lo -s 0 --duration 0.3
else
    echo "note: no live capture here (not root, or lo cannot be opened): -i lo -s 0 not tried"
fi

echo "== -w -: the pcap on standard output, the report on standard error"
run "-w - FILE" 0 -- "$CONNSCOPE" -q -w - "$CAP"
mv "$TMP/out" "$TMP/w.pcap"
want=$(capinfos -c -M -T -r "$CAP" | cut -f2)
got=$(tshark -r "$TMP/w.pcap" 2>&1 >"$TMP/tshark.out" | grep -v '^Running as user' >"$TMP/tshark.err"; wc -l <"$TMP/tshark.out")
[ "$got" = "$want" ] && [ ! -s "$TMP/tshark.err" ] && pass "-w -: tshark reads $got frames from standard output, no error" ||
    fail "-w -: tshark read $got frames of $want ($(head -1 "$TMP/tshark.err"))"
cmp -s <(tshark -r "$TMP/w.pcap" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) \
    <(tshark -r "$CAP" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) &&
    pass "-w -: every frame's time and length as in the input" || fail "-w -: frames differ from the input"
err_has "-w -: the report" "connscope 0.1.0: 1 input, $want packets"
run "-w - --json" 0 -- "$CONNSCOPE" -q --json -w - "$CAP"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/err" 2>/dev/null &&
    pass "-w - --json: standard error holds the JSON lines" || fail "-w - --json: standard error is not JSON lines"
run "-w - --stream-list" 2 -- "$CONNSCOPE" -q -w - --stream-list "$CAP"
err_has "-w - --stream-list" "-w - and --stream-list both write to standard output"
run "-w - --rotate-mb 1" 2 -- "$CONNSCOPE" -q -w - --rotate-mb 1 "$CAP"
run "-w - --metrics prometheus" 2 -- "$CONNSCOPE" -q -w - --metrics prometheus "$CAP"

echo "== --stream N that does not exist: exit 1, as connscope follow"
streams=$("$CONNSCOPE" -q --json "$CAP" | tail -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["streams"])')
last=$((streams - 1))
run "--stream $last (the last one)" 0 -- "$CONNSCOPE" -q --json --stream $last "$CAP"
run "--stream $streams" 1 -- "$CONNSCOPE" -q --json --stream "$streams" "$CAP"
err_has "--stream $streams" "connscope: no TCP stream $streams in the input"
tail -1 "$TMP/out" | grep -q '"type":"summary"' && pass "--stream $streams: the (empty) report is still written" ||
    fail "--stream $streams: no summary"
run "follow $streams (the same contract)" 1 -- "$CONNSCOPE" follow "$streams" "$CAP"
run "-j 2 --stream 99" 1 -- "$CONNSCOPE" -q -j 2 --stream 99 "$CAP" "$KA"
run "-j 2 --stream 0" 0 -- "$CONNSCOPE" -q -j 2 --stream 0 "$CAP" "$KA"
finish
