#!/bin/bash
# test_merge_stream.sh - `connscope merge` streams its inputs: memory is the result's, not the
# inputs', and merging is associative (a merge of partial merges equals the merge of all parts, in
# any order of the files on the command line).
# 1. A synthetic 40k-bucket summary (bench/make_summary.py, 12 MB) merged with --summary-out: the
#    output is the input (every bucket, count and histogram read and written back exactly), and
#    the peak RSS stays under 48 MB (the whole file held in memory as a parse tree took about 27x
#    its size).
# 2. Associativity: the summaries of 6 pieces of tcp-mixed.pcap and of the corpus' wikipedia.pcap
#    (editcap -c), merged as ((1 2) (3 (4 5 6))) and in reversed file order, equal the flat merge.
. "$(dirname "$0")/lib.sh"
need_python
command -v editcap >/dev/null 2>&1 || skip "editcap not installed (it comes with tshark)"
export LC_ALL=C

# same_json A B [KEYS_TO_DROP...]: equal JSON documents apart from the named top-level members;
# when B's merge stitched a connection inexactly, also apart from histogram min/max (a half taken
# back out leaves an extreme known to its bin only, which depends on the order of the merges)
same_json() {
    python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not ("bins" in x and k in ("min", "max"))}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
if (b.get("stitch") or {}).get("inexact"):
    a, b = strip(a), strip(b)
for d in (a, b):
    for k in sys.argv[3:]:
        d.pop(k, None)
    d["inputs"] = sorted(d.get("inputs", []))  # the same files (order: time, events-less ones last)
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print("    first difference in %r: %.200s | %.200s" % (k, json.dumps(a.get(k)), json.dumps(b.get(k))))
            break
    sys.exit(1)
PY
}

# rss_kb CMD...: runs CMD (output discarded) and prints its peak RSS in KiB; fails with its status
rss_kb() {
    python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
}

# ---- 1. memory and a byte-exact round trip -------------------------------------------------------
big="$TMP/big.json"
python3 "$SRCDIR/bench/make_summary.py" "$big" --buckets 40000 || fail "make_summary.py failed"
if kb=$(rss_kb "$CONNSCOPE" merge --top 1 --max-keys 100000 --summary-out "$TMP/big-out.json" "$big"); then
    if same_json "$big" "$TMP/big-out.json" generator inputs; then
        pass "40000-bucket summary ($(($(wc -c <"$big") / 1024)) KiB) merged alone: written back equal"
    else
        fail "40000-bucket summary merged alone differs from its input"
    fi
    # AddressSanitizer's shadow memory and quarantine inflate RSS: the limit holds for normal builds
    limit=49152
    grep -q __asan_init "$CONNSCOPE" 2>/dev/null && limit=$((limit * 3))
    if [ "$kb" -lt "$limit" ]; then
        pass "... with a peak RSS of $kb KiB (< $((limit / 1024)) MiB)"
    else
        fail "merging a $(($(wc -c <"$big") / 1024)) KiB summary took $kb KiB of RSS (limit $((limit / 1024)) MiB)"
    fi
else
    fail "merge of the 40000-bucket summary failed"
fi

# ---- 2. associativity ---------------------------------------------------------------------------
ASSOC="$PCAPS/tcp-mixed.pcap"
[ -d "$CORPUS" ] && ASSOC="$ASSOC $CORPUS/zeek/wikipedia.pcap"
ANA=(-A --top 1000000 --bucket 1m)
for f in $ASSOC; do
    [ -f "$f" ] || continue
    n=$(capname "$f")
    d="$TMP/$(basename "$f")"
    mkdir -p "$d"
    total=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ { print $NF }')
    editcap -c $(((total + 5) / 6)) "$f" "$d/p.pcap" >/dev/null 2>&1 || { fail "$n: editcap failed"; continue; }
    s=()
    for p in "$d"/p_*.pcap; do
        "$CONNSCOPE" "${ANA[@]}" --summary-out "$p.json" "$p" >/dev/null 2>&1 || fail "$n: $p failed"
        s+=("$p.json")
    done
    if [ ${#s[@]} -ne 6 ]; then
        fail "$n: expected 6 pieces, got ${#s[@]}"
        continue
    fi
    M=("$CONNSCOPE" merge --top 1 --summary-out)
    "${M[@]}" "$d/flat.json" "${s[@]}" >/dev/null &&
        "${M[@]}" "$d/a.json" "${s[0]}" "${s[1]}" >/dev/null &&
        "${M[@]}" "$d/b.json" "${s[3]}" "${s[4]}" "${s[5]}" >/dev/null &&
        "${M[@]}" "$d/c.json" "${s[2]}" "$d/b.json" >/dev/null &&
        "${M[@]}" "$d/tree.json" "$d/c.json" "$d/a.json" >/dev/null &&
        "${M[@]}" "$d/rev.json" "${s[5]}" "${s[4]}" "${s[3]}" "${s[2]}" "${s[1]}" "${s[0]}" >/dev/null ||
        { fail "$n: a merge failed"; continue; }
    if same_json "$d/flat.json" "$d/tree.json" generator; then
        pass "$n: 6 pieces merged as ((1 2) (3 (4 5 6))) equal the flat merge"
    else
        fail "$n: the tree merge differs from the flat merge"
    fi
    if same_json "$d/flat.json" "$d/rev.json" generator; then
        pass "$n: the pieces given in reverse order merge to the same summary"
    else
        fail "$n: reversed order gives another summary"
    fi
done
finish
