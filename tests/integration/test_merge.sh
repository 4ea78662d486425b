#!/bin/bash
# test_merge.sh - summaries (--summary-out) and `connscope merge`: analysing parts separately and
# merging their summaries gives exactly what one run over all the inputs gives.
#
# 1. Split points where no connection is open: a capture is cut (editcap -r) only after a frame at
#    which every tcp.stream (tshark's numbering, ICMP quotes included) has either ended or not yet
#    begun, so that no connection spans two parts. Then the merged summary must equal the whole
#    capture's summary in every aggregate (only "inputs" differs), and `connscope merge` must print
#    the analytics report of the whole run byte for byte.
# 2. Several capture files analysed as one time-ordered run (connscope A B C ...) against one
#    summary per file merged: the same equality.
# 3. Arbitrary split points (editcap -c): SYN packets per bucket are equal, and the merge stitches
#    each connection cut by the split back together: it reports as many stitches as tshark's
#    tcp.stream shows (stream, cut) crossings, and the whole run's connection count
#    (test_stitch.sh checks every count).
# 4. Re-bucketing: parts summarised with 1m buckets, merged with --bucket 5m, equal the whole
#    analysed with --bucket 5m.
# 5. Approximate top talkers: parts and merge with a small --max-keys: every listed count is within
#    [count - error, count] of the exact count, every unlisted key within the floor.
# 6. Refusals, exit status 2 with a clear message: another format version, another bin layout,
#    another bucket width, another --host, not JSON, not a summary, a missing file.
# CONNSCOPE_BENCH_CAPTURE may name a larger capture (e.g. one made by
# ../shared/bench/make-http-capture) to split as well; it is not made here.
. "$(dirname "$0")/lib.sh"
need_tshark
need_python
command -v editcap >/dev/null 2>&1 || skip "editcap not installed (it comes with tshark)"
export LC_ALL=C
CS=("$CONNSCOPE")
ANA=(-A --top 1000000 --bucket 1m --slow 100us,1ms,1s)

# same_summary A B: the two summaries are equal apart from "inputs" (prints the first difference);
# and "edges"/"stitch" (a merge keeps connections open at the end of a middle part as edges: a part
# merged later may continue them); with MASK_OPEN=1 also apart from server_conns[].open_at_end
# (see mask_open)
same_summary() {
    python3 - "$1" "$2" <<'PY'
import json, os, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    for k in ("inputs", "edges", "stitch"):
        d.pop(k, None)
    if os.environ.get("MASK_OPEN") == "1":
        for s in d.get("server_conns") or []:
            s.pop("open_at_end", None)
if a == b:
    sys.exit(0)
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("    first difference in %r: %.300s | %.300s" % (k, json.dumps(a.get(k)), json.dumps(b.get(k))))
        break
sys.exit(1)
PY
}

# analytics report of an analysis run: the text from the "Analytics:" line to the blank line
# before the connection states, then the run's "Connections per server" table (merge prints it
# from the summaries after the analytics sections)
report_of_run() {
    local t
    t=$(cat)
    printf '%s\n' "$t" | sed -n '/^Analytics: /,/^Connection states/p' | sed '$d' | sed '$d'
    printf '\n'
    printf '%s\n' "$t" | sed -n '/^Connections per server$/,/^$/p' | sed '$d'
}

# mask_open: blanks the "open at end" column of the connections-per-server table. A connection with
# no FIN or RST is "open at end" when the input it is analysed in ends before its idle timeout: in a
# part (a file of its own, a -j group) the SYN-only attempt of tcp-noanswer.pcap is; in one run over
# all the files, whose later files come minutes later, it expires idle first. Both are right for
# their input; every other count must still be equal.
mask_open() {
    python3 -c '
import re, sys
for line in sys.stdin:
    sys.stdout.write(re.sub(r"^(  \S+(?: \(\d+ ports\))?\s+\d+\s+\d+\s+\d+\s+\d+\s+)(\d+)",
                            lambda m: m.group(1) + "x" * len(m.group(2)), line))'
}

# clean_cuts FILE: frame numbers after which no tcp.stream is open, one per line
clean_cuts() {
    tshark -r "$1" -T fields -e tcp.stream 2>/dev/null | awk -F'\t' '
        { n++; m = split($1, a, ","); for (i = 1; i <= m; i++) { s = a[i]; if (!(s in f)) f[s] = n; l[s] = n } }
        END { for (s in f) { o[f[s]]++; c[l[s]]++ }
              for (k = 1; k < n; k++) { open += o[k] - c[k]; if (open == 0) print k } }'
}

# split_and_merge NAME FILE CUT... : parts cut after the given frames, merged vs whole
split_and_merge() {
    local name=$1 f=$2 d="$TMP/$1" i=0 from=1 parts=()
    shift 2
    mkdir -p "$d"
    local total
    total=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ { print $NF }')
    for cut in "$@" "$total"; do
        i=$((i + 1))
        editcap -r "$f" "$d/part$i.pcap" "$from-$cut" 2>/dev/null || { fail "$name: editcap failed"; return; }
        parts+=("$d/part$i.pcap")
        from=$((cut + 1))
    done
    "${CS[@]}" "${ANA[@]}" --summary-out "$d/whole.json" "$f" 2>/dev/null | report_of_run >"$d/whole.txt"
    local sums=()
    for p in "${parts[@]}"; do
        "${CS[@]}" "${ANA[@]}" --summary-out "$p.json" "$p" >/dev/null 2>&1
        sums+=("$p.json")
    done
    "${CS[@]}" merge -A --top 1000000 --slow 100us,1ms,1s --summary-out "$d/merged.json" "${sums[@]}" \
        >"$d/merged.txt" 2>"$d/merge.err" || { fail "$name: merge failed: $(cat "$d/merge.err")"; return; }
    if same_summary "$d/whole.json" "$d/merged.json"; then
        pass "$name: ${#parts[@]} parts cut after frames $* (no connection open): merged summary equals the whole capture's"
    else
        fail "$name: merged summary differs from the whole capture's"
    fi
    if cmp -s "$d/whole.txt" "$d/merged.txt"; then
        pass "$name: 'connscope merge' prints the whole run's analytics report ($(wc -l <"$d/merged.txt") lines)"
    else
        fail "$name: merged report differs from the whole run's:"
        diff "$d/whole.txt" "$d/merged.txt" | head -10 | sed 's/^/    /'
    fi
}

# ---- 1. clean split points ----------------------------------------------------------------------
SPLIT="$PCAPS/tcp-mixed.pcap"
[ -d "$CORPUS" ] && SPLIT="$SPLIT $CORPUS/zeek/wikipedia.pcap"
if [ -n "${CONNSCOPE_BENCH_CAPTURE:-}" ] && [ -f "$CONNSCOPE_BENCH_CAPTURE" ]; then
    SPLIT="$SPLIT $CONNSCOPE_BENCH_CAPTURE"
else
    echo "note: CONNSCOPE_BENCH_CAPTURE not set: no large capture split"
fi
for f in $SPLIT; do
    [ -f "$f" ] || continue
    mapfile -t cuts < <(clean_cuts "$f")
    n=$(capname "$f")
    if [ ${#cuts[@]} -eq 0 ]; then
        fail "$n: no frame without an open connection to cut at"
        continue
    fi
    # the clean cuts nearest one third and two thirds of the way (one when there is only one)
    last=${cuts[${#cuts[@]} - 1]}
    c1=$(printf '%s\n' "${cuts[@]}" | awk -v t=$((last / 3)) '{ d = $1 - t; d = d < 0 ? -d : d; if (NR == 1 || d < b) { b = d; v = $1 } } END { print v }')
    c2=$(printf '%s\n' "${cuts[@]}" | awk -v t=$((2 * last / 3)) '{ d = $1 - t; d = d < 0 ? -d : d; if (NR == 1 || d < b) { b = d; v = $1 } } END { print v }')
    if [ "$c1" = "$c2" ]; then
        split_and_merge "$(basename "$f" | tr . _)" "$f" "$c1"
    else
        split_and_merge "$(basename "$f" | tr . _)" "$f" "$c1" "$c2"
    fi
done

# ---- 2. many files as one run ------------------------------------------------------------------
# captures of separate traffic (the other committed ones re-encapsulate these: vlan, sll, null...)
files=()
for b in http-10 http-100-continue http-204 http-304 http-chunked http-close-delimited http-close \
    http-early-response http-head http-ipv6 http-keepalive http-multiseg http-pipelined \
    http-put-multiseg http-python tcp-mixed tcp-noanswer tcp-refused; do
    files+=("$PCAPS/$b.pcap")
done
# they must not share a connection (4-tuple), or one run joins them while the parts cannot
"${CS[@]}" --csv "${files[@]}" 2>/dev/null | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
keys = [(r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]) for r in rows]
dups = len(keys) - len(set(keys))
print("FAIL: the capture files share %d connections" % dups if dups else "ok: %d connections in %d files, no 4-tuple shared" % (len(keys), int(sys.argv[1])))
sys.exit(1 if dups else 0)' ${#files[@]} || FAILS=$((FAILS + 1))
d="$TMP/files"
mkdir -p "$d"
"${CS[@]}" "${ANA[@]}" --summary-out "$d/whole.json" "${files[@]}" 2>/dev/null | report_of_run >"$d/whole.txt"
sums=()
for f in "${files[@]}"; do
    "${CS[@]}" "${ANA[@]}" --summary-out "$d/$(basename "$f").json" "$f" >/dev/null 2>&1
    sums+=("$d/$(basename "$f").json")
done
"${CS[@]}" merge -A --top 1000000 --slow 100us,1ms,1s --summary-out "$d/merged.json" "${sums[@]}" >"$d/merged.txt"
file_sums=("${sums[@]}")
export MASK_OPEN=1 # tcp-noanswer's attempt: open at the end of its file, idle in the whole run
mask_open <"$d/whole.txt" >"$d/whole.m" && mv "$d/whole.m" "$d/whole.txt"
mask_open <"$d/merged.txt" >"$d/merged.m" && mv "$d/merged.m" "$d/merged.txt"
if same_summary "$d/whole.json" "$d/merged.json" && cmp -s "$d/whole.txt" "$d/merged.txt"; then
    pass "${#files[@]} committed captures: one summary per file merged equals one run over all files (summary and report)"
else
    fail "${#files[@]} committed captures: merged per-file summaries differ from one run over all files"
    diff "$d/whole.txt" "$d/merged.txt" | head -10 | sed 's/^/    /'
fi

# the same files on several threads (-j: one engine and one set of aggregates per group of files,
# added up like summaries): equal again, as no connection spans two files
if "${CS[@]}" --help 2>&1 | grep -q -- '--jobs'; then
    "${CS[@]}" "${ANA[@]}" -j 3 --summary-out "$d/parallel.json" "${files[@]}" 2>/dev/null |
        report_of_run | mask_open >"$d/parallel.txt"
    if same_summary "$d/whole.json" "$d/parallel.json" && cmp -s "$d/whole.txt" "$d/parallel.txt"; then
        pass "-j 3 over the ${#files[@]} files: the same summary and analytics report as one thread"
    else
        fail "-j 3 over the ${#files[@]} files differs from one thread"
        diff "$d/whole.txt" "$d/parallel.txt" | head -10 | sed 's/^/    /'
    fi
fi

# ---- 3. arbitrary split points -----------------------------------------------------------------
ARB="$PCAPS/tcp-mixed.pcap $PCAPS/http-keepalive.pcap"
[ -d "$CORPUS" ] && ARB="$ARB $CORPUS/zeek/http__methods.pcap $CORPUS/zeek/wikipedia.pcap"
for f in $ARB; do
    [ -f "$f" ] || continue
    n=$(capname "$f")
    d="$TMP/arb-$(basename "$f")"
    mkdir -p "$d"
    total=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ { print $NF }')
    chunk=$(((total + 2) / 3))
    editcap -c "$chunk" "$f" "$d/part.pcap" 2>/dev/null
    "${CS[@]}" "${ANA[@]}" --summary-out "$d/whole.json" "$f" >/dev/null 2>&1
    sums=()
    for p in "$d"/part_*; do
        "${CS[@]}" "${ANA[@]}" --summary-out "$p.json" "$p" >/dev/null 2>&1
        sums+=("$p.json")
    done
    "${CS[@]}" merge --summary-out "$d/merged.json" "${sums[@]}" >/dev/null
    # (stream, part) pairs minus streams: the records a split adds
    crossings=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | awk -F'\t' -v c=$chunk '
        $1 != "" { split($1, a, ","); seen[a[1] SUBSEP int((NR - 1) / c)] = 1; st[a[1]] = 1 }
        END { for (k in seen) n++; for (k in st) m++; print n - m }')
    python3 - "$d/whole.json" "$d/merged.json" "$crossings" "$n" "$chunk" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
w, m = (json.load(open(p)) for p in sys.argv[1:3])
crossings, name, chunk = int(sys.argv[3]), sys.argv[4], sys.argv[5]
syn = lambda s: {b["start_ns"]: b["syn_pkts"] for b in s["buckets"] if b["syn_pkts"]}
conns = lambda s: sum(b["conns"] for b in s["buckets"])
ok = True
if syn(w) != syn(m):
    print("FAIL: %s: SYN packets per bucket differ after an arbitrary split: %s / %s" % (name, syn(w), syn(m)))
    ok = False
if m["stitch"]["stitched"] != crossings or conns(m) != conns(w):
    print("FAIL: %s: merged %d connection records (whole %d), %d stitched for %d streams cut"
          % (name, conns(m), conns(w), m["stitch"]["stitched"], crossings))
    ok = False
if ok:
    print("ok: %s: cut every %s packets: SYNs per bucket equal, %d stitched for %d streams cut: %d records as the whole run"
          % (name, chunk, m["stitch"]["stitched"], crossings, conns(m)))
sys.exit(0 if ok else 1)
PY
done

# ---- 4. re-bucketing ----------------------------------------------------------------------------
d="$TMP/files"
"${CS[@]}" -A --top 1000000 --bucket 5m --slow 100us,1ms,1s --summary-out "$d/whole5.json" "${files[@]}" >/dev/null 2>&1
"${CS[@]}" merge --bucket 5m --summary-out "$d/merged5.json" "${file_sums[@]}" >/dev/null
if same_summary "$d/whole5.json" "$d/merged5.json"; then
    pass "1m summaries merged with --bucket 5m equal the files analysed with --bucket 5m"
else
    fail "re-bucketing 1m summaries to 5m differs from a 5m run"
fi
unset MASK_OPEN
"${CS[@]}" merge --bucket 90s "${file_sums[@]}" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc = 2 ] && grep -q "do not divide" "$TMP/err"; then
    pass "merge --bucket 90s of 1m summaries: exit 2, $(cat "$TMP/err" | head -1)"
else
    fail "merge --bucket 90s of 1m summaries: exit $rc: $(cat "$TMP/err")"
fi

# ---- 5. approximate top talkers -----------------------------------------------------------------
APX="$PCAPS/tcp-mixed.pcap"
[ -d "$CORPUS" ] && APX="$CORPUS/zeek/wikipedia.pcap"
if [ -n "${CONNSCOPE_BENCH_CAPTURE:-}" ] && [ -f "$CONNSCOPE_BENCH_CAPTURE" ]; then
    APX="$APX $CONNSCOPE_BENCH_CAPTURE"
fi
for f in $APX; do
    n=$(capname "$f")
    d="$TMP/apx-$(basename "$f")"
    mkdir -p "$d"
    total=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ { print $NF }')
    editcap -c $(((total + 2) / 3)) "$f" "$d/part.pcap" 2>/dev/null
    sums=()
    for p in "$d"/part_*; do
        "${CS[@]}" --max-keys 2 --summary-out "$p.json" "$p" >/dev/null 2>&1
        sums+=("$p.json")
    done
    rm -f "$d"/*.exact.json
    "${CS[@]}" merge --max-keys 2 --top 1000000 --json "${sums[@]}" >"$d/approx.json"
    # exact counts: the parts merged without a cap (each part exact with the default cap)
    sums=()
    for p in "$d"/part_*; do
        case $p in *.json) continue ;; esac
        "${CS[@]}" --summary-out "$p.exact.json" "$p" >/dev/null 2>&1
        sums+=("$p.exact.json")
    done
    "${CS[@]}" merge --top 1000000 --json "${sums[@]}" >"$d/exact.json"
    python3 - "$d/approx.json" "$d/exact.json" "$n" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
rows = lambda p: [o for o in map(json.loads, open(p)) if o["type"] == "top_talker"]
key = lambda o: (o["table"], o["client"], o.get("method"), o.get("path"))
approx, exact = rows(sys.argv[1]), {key(o): o["count"] for o in rows(sys.argv[2])}
name, bad, approx_tables = sys.argv[3], 0, set()
floors = {o["table"]: o["floor"] for o in approx}
listed = set()
for o in approx:
    listed.add(key(o))
    if o["approx"]:
        approx_tables.add(o["table"])
    t = exact.get(key(o), 0)
    if not o["count"] - o["error"] <= t <= o["count"]:
        print("FAIL: %s: %s: true %d outside [%d, %d]" % (name, key(o), t, o["count"] - o["error"], o["count"]))
        bad += 1
for k, t in exact.items():
    if k not in listed and t > floors.get(k[0], 0):
        print("FAIL: %s: %s not listed although it occurred %d times (floor %d)" % (name, k, t, floors.get(k[0], 0)))
        bad += 1
if not approx_tables:
    print("FAIL: %s: --max-keys 2 did not make any table approximate" % name)
    bad += 1
if not bad:
    print("ok: %s: 3 parts with --max-keys 2 merged: %s approximate, every count within its error, "
          "every unlisted key within the floor" % (name, ", ".join(sorted(approx_tables))))
sys.exit(1 if bad else 0)
PY
done

# ---- 6. refusals --------------------------------------------------------------------------------
d="$TMP/refuse"
mkdir -p "$d"
good="$TMP/files/http-keepalive.pcap.json"
expect_refusal() { # WHAT PATTERN FILE...
    local what=$1 pat=$2
    shift 2
    "${CS[@]}" merge "$@" >/dev/null 2>"$d/err"
    local rc=$?
    if [ $rc = 2 ] && grep -q -- "$pat" "$d/err"; then
        pass "refuses $what: exit 2: $(head -1 "$d/err")"
    else
        fail "$what: exit $rc (want 2), message: $(cat "$d/err") (want /$pat/)"
    fi
}
sed 's/"version":2,/"version":3,/' "$good" >"$d/v3.json"
expect_refusal "another format version" "version 3; this connscope reads versions 1 to 2" "$good" "$d/v3.json"
# version 1 (before server_conns) is read: its other aggregates merge, and the merge says that the
# connections per server are not complete rather than print a partial table
python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); d['version']=1; del d['server_conns']; json.dump(d,open(sys.argv[2],'w'))" "$good" "$d/v1.json"
if "${CS[@]}" merge "$good" "$d/v1.json" >"$d/v1.txt" 2>"$d/err" &&
    grep -q "not in every summary: summaries of format version 1 have none" "$d/v1.txt" &&
    "${CS[@]}" merge --summary-out "$d/v1m.json" "$good" "$d/v1.json" >/dev/null 2>&1 &&
    grep -q '"server_conns":null' "$d/v1m.json" &&
    [ "$("${CS[@]}" merge --json "$good" "$d/v1.json" | grep -c '"type":"server')" = 0 ]; then
    pass "a version 1 summary merges; the report and the merged summary say its connections per server are missing"
else
    fail "version 1 summary: exit/report: $(cat "$d/err"; head -c 300 "$d/v1.txt")"
fi
sed 's/sub64/sub32/' "$good" >"$d/layout.json"
expect_refusal "another bin layout" "layout .* differs" "$good" "$d/layout.json"
"${CS[@]}" --bucket 90s --summary-out "$d/90s.json" "$PCAPS/http-keepalive.pcap" >/dev/null
expect_refusal "a bucket width that does not divide the widest" "buckets of 1m, which do not divide" "$good" "$d/90s.json"
# without --bucket the widest width is used, whatever the order of the files
"${CS[@]}" --bucket 1h --summary-out "$d/1h.json" "$PCAPS/http-keepalive.pcap" >/dev/null
a1=$("${CS[@]}" merge --json "$good" "$d/1h.json" 2>/dev/null | grep '"type":"analytics"')
a2=$("${CS[@]}" merge --json "$d/1h.json" "$good" 2>/dev/null | grep '"type":"analytics"')
if [ -n "$a1" ] && [ "$a1" = "$a2" ] && [[ $a1 == *'"bucket_s":3600.'* ]]; then
    pass "1m and 1h summaries merge into 1h buckets in either order"
else
    fail "1m and 1h summaries: '$a1' vs '$a2'"
fi
# the same input in two summaries is counted twice, with a warning
if "${CS[@]}" merge "$good" "$good" 2>&1 >/dev/null | grep -q "both count input .*added twice"; then
    pass "a summary given twice: warning that its input is counted twice"
else
    fail "a summary given twice: no warning"
fi
"${CS[@]}" --host 127.0.0.1 --summary-out "$d/host.json" "$PCAPS/http-keepalive.pcap" >/dev/null
expect_refusal "another --host" "different --host" "$good" "$d/host.json"
expect_refusal "--host of the merge unlike the summaries'" "different --host" --host 10.0.0.1 "$good"
echo '{"format":' >"$d/broken.json"
expect_refusal "invalid JSON" "not valid JSON" "$d/broken.json"
echo '{"type":"summary"}' >"$d/other.json"
expect_refusal "JSON that is not a summary" "not a connscope summary" "$d/other.json"
python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); d['buckets'][0]['conns']=-1; json.dump(d,open(sys.argv[2],'w'))" "$good" "$d/neg.json"
expect_refusal "a negative count" "bad summary: field buckets\[0\].conns" "$d/neg.json"
expect_refusal "a missing file" "No such file" "$d/missing.json"
expect_refusal "no summary at all" "no summary given"
# merging a summary with itself doubles every count and is allowed
"${CS[@]}" merge --summary-out "$d/twice.json" "$good" "$good" >/dev/null &&
    python3 - "$good" "$d/twice.json" <<'PY' && pass "a summary merged with itself: every count doubled" || fail "self-merge"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ok = all(2 * x["conns"] == y["conns"] and 2 * x["requests"] == y["requests"]
         for x, y in zip(a["buckets"], b["buckets"]))
ok = ok and [2 * v for v in a["flow_pkts"]] == b["flow_pkts"]
ok = ok and all(2 * x[1] == y[1] for x, y in zip(a["top"]["client_requests"]["keys"], b["top"]["client_requests"]["keys"]))
sys.exit(0 if ok else 1)
PY
finish
