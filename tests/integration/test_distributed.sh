#!/bin/bash
# test_distributed.sh - the recipes of doc/distributed.md: a capture cut into 8 pieces (editcap -c),
# the pieces given in shuffled order,
# 1. analysed by GNU parallel (--sshlogin :, the local host) and merged by `connscope merge`;
# 2. analysed and merged as a tree by contrib/dask/connscope_dask.py on a Dask LocalCluster of 2
#    worker processes (fan-in 3: a tree of merges) when python3-distributed is installed;
# each equal to one connscope process over the whole capture on every count (stitch_check.py's
# comparison: what the merge reports as not exact is all that may differ).
. "$(dirname "$0")/lib.sh"
need_python
command -v editcap >/dev/null 2>&1 || skip "editcap not installed (it comes with tshark)"
CAP="$PCAPS/tcp-mixed.pcap"
[ -f "$CORPUS/zeek/wikipedia.pcap" ] && CAP="$CORPUS/zeek/wikipedia.pcap"
ANA=(-A --top 1000000 --bucket 1m --slow 100us,1ms,1s)
d="$TMP/pieces"
mkdir -p "$d"
total=$(capinfos -c -M "$CAP" 2>/dev/null | awk '/Number of packets/ { print $NF }')
editcap -c $(((total + 7) / 8)) "$CAP" "$d/piece.pcap" >/dev/null 2>&1
n=$(ls "$d"/piece_*.pcap | wc -l)
[ "$n" -eq 8 ] || fail "expected 8 pieces of $(capname "$CAP"), got $n"
"$CONNSCOPE" "${ANA[@]}" --summary-out "$TMP/whole.json" "$CAP" >/dev/null 2>&1 || fail "whole run failed"

# compare WHOLE MERGED: every count equal (stitch_check.py's rules)
compare() {
    python3 - "$1" "$2" "$SRCDIR/tests/integration" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
from stitch_check import normalise, first_diff
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
st = b["stitch"]
p = first_diff(normalise(a, st["inexact"], st["http_cut"]), normalise(b, st["inexact"], st["http_cut"]))
if p or a["streams"] != b["streams"]:
    print("    differs at %s (streams %d / %d)" % (p, a["streams"], b["streams"]))
    sys.exit(1)
print("    %d connections stitched, %d streams" % (st["stitched"], b["streams"]))
PY
}

# ---- 1. GNU parallel ------------------------------------------------------------------------------
if command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
    mkdir -p "$TMP/gp" && cd "$TMP/gp" || exit 99
    # the recipe of doc/distributed.md, on the local host (--sshlogin :), files in shuffled order
    ls "$d"/piece_*.pcap | shuf |
        parallel --will-cite --sshlogin 2/: --transferfile {} --return {/.}.json --cleanup \
            "$CONNSCOPE" "${ANA[@]}" --summary-out {/.}.json {} >/dev/null 2>&1
    if [ "$(ls *.json 2>/dev/null | wc -l)" -ne 8 ]; then
        fail "GNU parallel: expected 8 summaries, got $(ls *.json 2>/dev/null | wc -l)"
    elif "$CONNSCOPE" merge --summary-out "$TMP/gp-merged.json" $(ls *.json | shuf) >/dev/null 2>&1 &&
        compare "$TMP/whole.json" "$TMP/gp-merged.json"; then
        pass "GNU parallel recipe: 8 pieces of $(capname "$CAP") summarised in parallel and merged equal the whole run"
    else
        fail "GNU parallel recipe: the merged summary differs from the whole run"
    fi
    cd "$TMP" || exit 99
else
    echo "note: GNU parallel not installed: recipe not tested"
fi

# ---- 2. Dask LocalCluster -------------------------------------------------------------------------
# python3-distributed is Debian's: the system python when another python3 comes first in PATH
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import dask.distributed' 2>/dev/null; then
        PY=$p
        break
    fi
done
if [ -n "$PY" ]; then
    if timeout 300 "$PY" "$SRCDIR/contrib/dask/connscope_dask.py" --local 2 --fan-in 3 \
        --connscope "$CONNSCOPE" $(printf -- '--analysis-arg=%s ' "${ANA[@]}") \
        --summary-out "$TMP/dask.json" $(ls "$d"/piece_*.pcap | shuf) >"$TMP/dask.txt" 2>"$TMP/dask.err" &&
        compare "$TMP/whole.json" "$TMP/dask.json"; then
        pass "Dask LocalCluster (2 worker processes, fan-in 3): 8 pieces in shuffled order equal the whole run ($(wc -l <"$TMP/dask.txt") report lines)"
    else
        fail "Dask LocalCluster: $(tail -3 "$TMP/dask.err")"
    fi
else
    echo "note: python3-distributed not installed: Dask driver not tested"
fi
finish
