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
# ---- -j 2 on one file: a reader thread fills a ring (src/source_pipe.c) and the analysis takes
# the packets from it in order, so every output equals the one-thread run byte for byte. The ring
# is made small (CONNSCOPE_PIPE_RING, 64 KiB) so that it wraps many times and a packet of more
# than a quarter of it goes through the separate-allocation path.
mergecap -F pcap -a -w "$TMP/rep.pcap" $(for i in 1 2 3 4 5 6 7 8 9 10; do echo "$PCAPS/tcp-mixed.pcap"; done)
python3 - "$TMP/big.pcap" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def frame(sport, dport, seq, flags, payload):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + tcp
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    pkts = [frame(40000, 80, 1000, 0x02, b''), frame(40000, 80, 1001, 0x18, b'x' * 40000),
            frame(40001, 80, 5000, 0x02, b''), frame(40000, 80, 41001, 0x18, b'y' * 20000)]
    for i, p in enumerate(pkts):
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(p), len(p)) + p)
PY
tls_kl="$PCAPS/tls/tls13-aes128gcm.keylog"
same=0
for f in "$PCAPS/tcp-mixed.pcap" "$PCAPS/http-dumpcap.pcapng" "$PCAPS/compressed/tcp-mixed.pcap.gz" \
         "$PCAPS/http-gzip-stored.pcap" "$PCAPS/tls/tls13-aes128gcm.pcap" "$TMP/rep.pcap" "$TMP/big.pcap"; do
    kl=(); [ "${f#*tls13}" != "$f" ] && kl=(--tls-keylog "$tls_kl")
    for mode in "-C -E" "--json" "--csv -E" "-A --json"; do
        # shellcheck disable=SC2086 # mode is several options
        "$CONNSCOPE" -q $mode "${kl[@]}" "$f" > "$TMP/one.out" 2> "$TMP/one.err"; rc1=$?
        # shellcheck disable=SC2086
        CONNSCOPE_PIPE_RING=65536 "$CONNSCOPE" -q -j 2 $mode "${kl[@]}" "$f" > "$TMP/two.out" 2> "$TMP/two.err"; rc2=$?
        if [ $rc1 = $rc2 ] && cmp -s "$TMP/one.out" "$TMP/two.out" && cmp -s "$TMP/one.err" "$TMP/two.err"; then
            same=$((same + 1))
        else
            fail "-j 2 $mode ${f##*/}: differs from one thread (exit $rc1/$rc2): $(diff "$TMP/one.out" "$TMP/two.out" | head -3)"
        fi
    done
done
if command -v strace >/dev/null; then # the comparisons above mean something only if -j 2 made a thread
    strace -f -e trace=clone,clone3 -o "$TMP/st1" "$CONNSCOPE" -q "$TMP/rep.pcap" > /dev/null 2>&1
    strace -f -e trace=clone,clone3 -o "$TMP/st2" "$CONNSCOPE" -q -j 2 "$TMP/rep.pcap" > /dev/null 2>&1
    t1=$(grep -c 'clone' "$TMP/st1"); t2=$(grep -c 'clone' "$TMP/st2")
    # (ThreadSanitizer adds a thread of its own once the program has a second one)
    [ "$t2" -gt "$t1" ] && pass "-j 2 on one file starts a thread that -j 1 does not ($t2 against $t1 clone calls)" ||
        fail "-j 2 on one file: $t2 clone calls, -j 1 $t1"
fi
[ $same = 28 ] && pass "-j 2 on one file: text, JSON, CSV and -A of 7 captures byte-identical to one thread (28 runs)"
CONNSCOPE_PIPE_RING=65536 "$CONNSCOPE" -q -j 2 --json -r "$PCAPS/tcp-mixed.pcap" tcp port 80 > "$TMP/f2.json"
"$CONNSCOPE" -q --json -r "$PCAPS/tcp-mixed.pcap" tcp port 80 > "$TMP/f1.json"
cmp -s "$TMP/f1.json" "$TMP/f2.json" && pass "-j 2 with a BPF filter: byte-identical" || fail "-j 2 with a BPF filter differs"
# against tshark: the capture's frames and bytes (the 40000- and 20000-byte frames went around the
# ring), and on the repeated capture every conn record's stream has tshark's tcp.stream ports
read -r tp tb <<< "$(tshark -r "$TMP/big.pcap" -T fields -e frame.len 2>/dev/null | awk '{n++; b+=$1} END {print n, b}')"
CONNSCOPE_PIPE_RING=65536 "$CONNSCOPE" -q -j 2 --json "$TMP/big.pcap" > "$TMP/big.json"
got=$(python3 -c 'import json,sys
recs=[json.loads(l) for l in open(sys.argv[1])]
s=[r for r in recs if r["type"]=="summary"][0]
print(s["packets"], sum(r["orig_wire_bytes"]+r["resp_wire_bytes"] for r in recs if r["type"]=="conn"))' "$TMP/big.json")
[ "$got" = "$tp $tb" ] && pass "-j 2, ring of 64 KiB: $tp packets, $tb bytes as tshark (two frames above a quarter of the ring)" ||
    fail "-j 2 big frames: packets/bytes $got, tshark $tp $tb"
tshark -r "$TMP/rep.pcap" -Y tcp -T fields -e tcp.stream -e tcp.srcport -e tcp.dstport 2>/dev/null > "$TMP/rep.tsv"
CONNSCOPE_PIPE_RING=65536 "$CONNSCOPE" -q -j 2 --json "$TMP/rep.pcap" > "$TMP/rep.json"
python3 - "$TMP/rep.tsv" "$TMP/rep.json" <<'PY' && pass "-j 2 on the repeated capture: every conn record's stream has tshark's tcp.stream ports" || fail "-j 2 stream numbers differ from tshark's"
import json, sys
ws = {}
for line in open(sys.argv[1]):
    st, a, b = line.split()
    ws.setdefault(int(st), set()).add(frozenset((int(a), int(b))))
recs = [json.loads(l) for l in open(sys.argv[2])]
conns = [r for r in recs if r["type"] == "conn"]
bad = [r["stream"] for r in conns if frozenset((r["id.orig_p"], r["id.resp_p"])) not in ws.get(r["stream"], set())]
streams = {r["stream"] for r in conns}
sys.exit(0 if conns and not bad and streams == set(ws) else 1)
PY
finish
