#!/bin/bash
# test_stitch.sh - boundary stitching: a capture cut at random packets into 2-16 pieces (editcap),
# each piece summarised, the summaries merged as a random tree of `connscope merge` runs, equals
# one run over the whole capture on every count (connections, SYN packets, bytes, flow classes,
# connections per server with their histograms, top clients), and the stream count and the stream
# indices of the connections left at the edges equal tshark's tcp.stream. What the merge reports
# as not exact ("inexact", "http_cut") is the only thing allowed to differ (stitch_check.py).
# Over every committed capture and a few of the corpus (a fixed seed: the same cuts every run).
. "$(dirname "$0")/lib.sh"
need_tshark
need_python
command -v editcap >/dev/null 2>&1 || skip "editcap not installed (it comes with tshark)"
caps=()
while read -r f; do
    case $f in */bad/*) continue ;; esac
    caps+=("$f")
done < <(find "$PCAPS" -maxdepth 1 -name '*.pcap' | sort)
for c in zeek/wikipedia.pcap zeek/http__concurrent-range-requests.pcap zeek/http__get-without-fins.pcap; do
    [ -f "$CORPUS/$c" ] && caps+=("$CORPUS/$c")
done
out=$(python3 "$SRCDIR/tests/integration/stitch_check.py" "$CONNSCOPE" "$TMP" 19 1 "${caps[@]}")
rc=$?
printf '%s\n' "$out" | sed "s|$SRCDIR/||; s|$CORPUS/|corpus:|"
[ $rc -eq 0 ] || FAILS=$((FAILS + $(printf '%s\n' "$out" | grep -c '^FAIL')))
n=$(printf '%s\n' "$out" | grep -c '^ok')
echo "$n captures cut and stitched exactly (or with what is not exact reported)"
finish
