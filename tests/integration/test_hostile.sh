#!/bin/bash
# test_hostile.sh - framing edges and costs under hostile input (issue 13), on captures crafted at
# test time by hostile.py (nothing large is committed). Expected values are computed by hand from
# the bytes hostile.py writes (its header describes each case); the fragment overlaps are also
# compared with tshark. Timings: a flood of 40,000 one-byte fragments of distinct datagrams and
# 200,000 sparse out-of-order one-byte segments must each be analysed in under 1 s (3 s under the
# sanitizers, whose build is detected from the binary).
. "$(dirname "$0")/lib.sh"
need_python
HOSTILE="$SRCDIR/tests/integration/hostile.py"
gen() { python3 "$HOSTILE" "$@" || fail "hostile.py $*"; }

# http_fields CAPTURE FIELD,FIELD...: one line per http record of `--json`, the fields' values
http_fields() {
    "$CONNSCOPE" --json "$1" | python3 -c '
import json, sys
keys = sys.argv[1].split(",")
for line in sys.stdin:
    o = json.loads(line)
    if o["type"] == "http":
        print(" ".join(str(o[k]) for k in keys))' "$2"
}

expect() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

# ---- HTTP framing edges -------------------------------------------------------------------------
gen cl-list "$TMP/cl-list.pcap"
expect "Content-Length: 4, 4 is one length; the next exchange pairs" \
    "/one 200 4 complete|/two 200 3 complete" \
    "$(http_fields "$TMP/cl-list.pcap" uri,status_code,response_body_len,outcome | paste -sd'|')"
gen cl-differ "$TMP/cl-differ.pcap"
expect "Content-Length: 4, 5 is a framing error; the next exchange still pairs" \
    "/one 200 framing_error|/two 200 complete" \
    "$(http_fields "$TMP/cl-differ.pcap" uri,status_code,outcome | paste -sd'|')"
for c in chunk-huge req-bad-cl; do
    gen $c "$TMP/$c.pcap"
    expect "$c: framing_error, resynchronised (no 'helloGET')" \
        "POST /one 400 framing_error|GET /two 200 complete" \
        "$(http_fields "$TMP/$c.pcap" method,uri,status_code,outcome | paste -sd'|')"
done
gen http09-status "$TMP/http09.pcap"
expect "HTTP/0.9 request answered by HTTP/1.0 403 keeps the status and framing" \
    "0.9 403 1.0 5 complete" \
    "$(http_fields "$TMP/http09.pcap" version,status_code,resp_version,response_body_len,outcome)"
gen ooo-request "$TMP/ooo.pcap"
# the head (frame 5, at +51 ms) fills the hole before the tail captured at +1 ms: the request ends
# at +51 ms; the response's first and last byte are at +52 ms
expect "request end = when its last byte became available in order; ttfb <= total" \
    "1700000000.051 1700000000.051 0 1000 1000 1000" \
    "$(http_fields "$TMP/ooo.pcap" request_start,request_end,request_us,ttfb_us,ttlb_us,total_us)"
gen title-ctl "$TMP/title.pcap"
"$CONNSCOPE" follow --http 0 "$TMP/title.pcap" >"$TMP/title.out" 2>&1
if grep -q '^=== exchange 1 of stream 0: GET /a\.\[2Jb\. -> 200 (complete) ===$' "$TMP/title.out" &&
    ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$TMP/title.out"; then
    pass "follow --http escapes control characters in the exchange title"
else
    fail "follow --http title: $(head -1 "$TMP/title.out" | cat -v)"
fi

# ---- IP fragments -------------------------------------------------------------------------------
gen frag-conflict "$TMP/fc.pcap"
if command -v tshark >/dev/null 2>&1; then
    for s in 0 1; do
        want=$(tshark -r "$TMP/fc.pcap" -Y "tcp.stream == $s" -T fields -e tcp.payload 2>/dev/null)
        got=$("$CONNSCOPE" follow --format raw $s "$TMP/fc.pcap" | od -An -tx1 | tr -d ' \n')
        expect "overlapping fragments, stream $s: bytes as tshark reassembles them" "$want" "$got"
    done
fi
out=$("$CONNSCOPE" --json --verify-checksums "$TMP/fc.pcap" | grep '"type":"summary"')
expect "conflicting overlaps counted, checksums good (the lower offset wins)" \
    '"ip_fragment":4,"ip_fragment_overlap_conflict":2' \
    "$(echo "$out" | grep -o '"ip_fragment":[0-9]*,"ip_fragment_overlap_conflict":[0-9]*' )$(echo "$out" | grep -o '"tcp_bad_checksum":[0-9]*')"

san=false
grep -q __asan_init "$CONNSCOPE" 2>/dev/null && san=true
limit=1.0
$san && limit=3.0
# timed RESULT-FILE CMD...: runs CMD, prints its CPU seconds (user + system)
timed() {
    local out=$1
    shift
    python3 - "$out" "$@" <<'PY'
import os, resource, subprocess, sys
with open(sys.argv[1], "wb") as f:
    rc = subprocess.call(sys.argv[2:], stdout=f)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %d" % (ru.ru_utime + ru.ru_stime, rc))
PY
}
under() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }

gen frag-flood "$TMP/flood.pcap" 40000
read -r secs rc < <(timed "$TMP/flood.json" "$CONNSCOPE" --json "$TMP/flood.pcap")
echo "40,000-fragment flood: ${secs}s CPU"
under "$secs" $limit && pass "40,000 one-byte fragments analysed in ${secs}s (< ${limit}s)" ||
    fail "40,000 one-byte fragments took ${secs}s (limit ${limit}s)"
expect "after the flood, the HTTP exchange is complete" "0 204 complete" \
    "$rc $(http_fields "$TMP/flood.pcap" status_code,outcome)"
grep -q '"ip_fragment":40000[,}]' "$TMP/flood.json" && ! grep -q ip_fragment_evictions "$TMP/flood.json" &&
    pass "40,000 pending datagrams fit under the default cap" || fail "flood anomalies: $(grep -o '"anomalies":{[^}]*}' "$TMP/flood.json")"
out=$("$CONNSCOPE" --json --max-frag-datagrams 1000 "$TMP/flood.pcap" | grep '"type":"summary"')
expect "--max-frag-datagrams 1000: the other 39,000 are evicted and counted" \
    '"ip_fragment_evictions":39000' "$(echo "$out" | grep -o '"ip_fragment_evictions":[0-9]*')"
gen frag6-zero "$TMP/zero6.pcap" 70000
out=$("$CONNSCOPE" --json "$TMP/zero6.pcap" | grep '"type":"summary"')
expect "70,000 zero-length IPv6 fragments count against the datagram cap (65,536)" \
    '"ip_fragment_evictions":4464' "$(echo "$out" | grep -o '"ip_fragment_evictions":[0-9]*')"

# ---- reassembly cost ----------------------------------------------------------------------------
gen sparse-ooo "$TMP/sparse.pcap" 200000
gen contiguous "$TMP/contig.pcap" 200000
read -r secs rc < <(timed "$TMP/sparse.json" "$CONNSCOPE" --json "$TMP/sparse.pcap")
read -r base rc2 < <(timed /dev/null "$CONNSCOPE" -q "$TMP/contig.pcap")
echo "200,000 sparse out-of-order segments: ${secs}s CPU; 200,000 contiguous: ${base}s"
under "$secs" $limit && pass "200,000 sparse out-of-order segments in ${secs}s (< ${limit}s)" ||
    fail "200,000 sparse out-of-order segments took ${secs}s (limit ${limit}s)"
# bytes base .. base+400000 were sent or are holes: 400,001 bytes of stream
grep -q '"orig_bytes":400001,' "$TMP/sparse.json" && pass "sparse stream: 400,001 bytes of sequence space" ||
    fail "sparse stream: $(grep -o '"orig_bytes":[0-9]*' "$TMP/sparse.json")"

# ---- the end of time, uids ----------------------------------------------------------------------
gen ts-2262 "$TMP/t2262.pcapng"
for args in "" "-A --interval 1" "--plot $TMP/p.svg"; do
    # shellcheck disable=SC2086
    "$CONNSCOPE" -q $args "$TMP/t2262.pcapng" >/dev/null 2>"$TMP/t2262.err"
    rc=$?
    [ $rc = 0 ] && ! grep -q "runtime error" "$TMP/t2262.err" && pass "timestamps at the 2262 clamp ($args)" ||
        fail "timestamps at the 2262 clamp ($args): rc $rc $(head -2 "$TMP/t2262.err")"
done

python3 - "$CONNSCOPE" "$PCAPS/tcp-mixed.pcap" "$TMP" <<'PY' || FAILS=$((FAILS + 1))
import json, re, shutil, subprocess, sys
cs, cap, tmp = sys.argv[1:4]
def records(*args):
    out = subprocess.run([cs, "--json", *args], stdout=subprocess.PIPE, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]
states = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}
a = records(cap)
conns = [o for o in a if o["type"] == "conn"]
uids = [o["uid"] for o in conns]
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok = ok and cond
check(len(set(uids)) == len(uids) and len(uids) > 1, "uids unique per conn record (%d)" % len(uids))
check(all(re.fullmatch(r"C[0-9A-Za-z]{7,}", u) and u not in states for u in uids),
      "uids are C + base62, never a conn_state")
check(all(o["uid"] in uids for o in a if o["type"] in ("http", "tls")),
      "http and tls records carry their connection's uid")
copy = tmp + "/renamed.pcap"
shutil.copy(cap, copy)
check([o["uid"] for o in records(copy) if o["type"] == "conn"] == uids,
      "the same input gives the same uids (also under another name)")
j = [o["uid"] for o in records("-j", "2", cap, copy) if o["type"] == "conn"]
check(len(j) == 2 * len(uids) and len(set(j)) == len(j), "-j 2 over the same file twice: unique uids")
sys.exit(0 if ok else 1)
PY
finish
