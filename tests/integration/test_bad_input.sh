#!/bin/bash
# test_bad_input.sh - exit status, exact stderr and report of connscope on bad or unusual input.
#
# Inputs: pcaps/bad/* (made by pcaps/tools/mkbad.py, described in pcaps/README.md; a file that is
# missing there is rebuilt here in $TMP the same way) and cases built on the fly: a missing file, a
# directory, a link type libpcap knows but connscope does not decode, a bad BPF filter, no file
# argument, --json with --csv, standard input ('-', redirected and piped), and time-merging: a
# capture split with `editcap -c N` and given in a shuffled order must give the same objects as the
# whole capture and as the mergecap'd parts.
# Exit status contract (README): 0 ok, 1 the analysis finished but an input had errors, 2 usage
# error or unreadable input. stderr is compared exactly; where the text includes libpcap's own
# explanation (in parentheses, worded by the libpcap version) it is written <libpcap> below and
# matches any text, and the actual line is printed.
. "$(dirname "$0")/lib.sh"
need_python
export LC_ALL=C # strerror() and libpcap messages in English
BAD="$PCAPS/bad"
GOOD="$PCAPS/http-keepalive.pcap"
[ -f "$GOOD" ] || GOOD="$PCAPS/tcp-mixed.pcap"
[ -f "$GOOD" ] || skip "no $PCAPS/http-keepalive.pcap or tcp-mixed.pcap to build cases from"
mkdir -p "$TMP/gen"

# bad_file NAME: pcaps/bad/NAME, or the same file rebuilt in $TMP/gen when it is not there.
bad_file() {
    local f="$BAD/$1" g="$TMP/gen/$1"
    if [ -f "$f" ]; then echo "$f"; return; fi
    case $1 in
        empty.pcap) : >"$g" ;;
        notapcap.pcap) printf 'This is not a pcap file.\nJust two lines of text.\n' >"$g" ;;
        truncated-header.pcap) head -c 12 "$GOOD" >"$g" ;;
        truncated.pcap | truncated-rechdr.pcap | unknown-linktype.pcap)
            python3 - "$GOOD" "$g" "$1" <<'PY'
import struct, sys
src, dst, kind = sys.argv[1:4]
d = open(src, "rb").read()
end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
pos, recs = 24, []
while pos + 16 <= len(d):
    incl = struct.unpack(end + "I", d[pos + 8:pos + 12])[0]
    recs.append((pos, incl))
    pos += 16 + incl
if kind == "truncated.pcap":        # records 1-3, then record 4's header and half its data
    p4, n4 = recs[3]
    out = d[:p4 + 16 + n4 // 2]
elif kind == "truncated-rechdr.pcap":  # records 1-4, then 8 bytes of record 5's header
    out = d[:recs[4][0] + 8]
else:                               # link type 147 (LINKTYPE_USER0), one record
    p1, n1 = recs[0]
    out = d[:20] + struct.pack(end + "I", 147) + d[p1:p1 + 16 + n1]
open(dst, "wb").write(out)
PY
            ;;
        snaplen.pcap) editcap -s 58 "$GOOD" "$g" >/dev/null 2>&1 ;;
        snaplen-100.pcap) editcap -s 100 "$GOOD" "$g" >/dev/null 2>&1 ;;
    esac
    echo "note: $f not found; using a copy rebuilt in $g" >&2
    echo "$g"
}

# expect NAME RC STDERR -- CMD...: runs CMD (stdin from $STDIN, default /dev/null), checks its
# exit status and its whole stderr (one <libpcap> wildcard allowed). stdout is left in $TMP/out.
expect() {
    local name=$1 rc_want=$2 err_want=$3
    shift 4
    "$@" <"${STDIN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"
    local rc=$? err ok=1
    err=$(cat "$TMP/err")
    if [ "$rc" -ne "$rc_want" ]; then
        fail "$name: exit status $rc, expected $rc_want"
        ok=0
    fi
    case $err_want in
        *'<libpcap>'*)
            local pre=${err_want%%<libpcap>*} post=${err_want#*<libpcap>}
            [[ $err == "$pre"*"$post" ]] || ok=0
            ;;
        *) [ "$err" = "$err_want" ] || ok=0 ;;
    esac
    if [ "$ok" -eq 1 ]; then
        local lines
        lines=$(printf '%s' "$err" | grep -c '')
        pass "$name: exit $rc, stderr: ${err%%$'\n'*}$([ "$lines" -gt 1 ] && echo " (+$((lines - 1)) line)")"
    elif [ "$err" != "$err_want" ]; then
        fail "$name: stderr is
    $err
expected
    $err_want"
    fi
}
stdout_empty() {
    [ -s "$TMP/out" ] && fail "$1: printed on stdout: $(head -c 200 "$TMP/out")" || pass "$1: nothing on stdout"
}
# json_check NAME PYTHON-EXPR...: each expression (over s = the summary object, objs = all
# objects of $TMP/out) must be true.
json_check() {
    local name=$1
    shift
    python3 - "$TMP/out" "$name" "$@" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
path, name, exprs = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    objs = [json.loads(l) for l in open(path)]
    s = [o for o in objs if o.get("type") == "summary"][-1]
except Exception as e:
    print("FAIL: %s: --json output unreadable: %s" % (name, e)); sys.exit(1)
bad = 0
for e in exprs:
    try:
        v = eval(e)
    except Exception as x:
        v = "error %r" % x
    if v is True:
        print("ok: %s: %s" % (name, e))
    else:
        bad += 1
        print("FAIL: %s: %s is not true (summary: anomalies %s, inputs %s, payload_cut_bytes %s)"
              % (name, e, s.get("anomalies"), s.get("inputs"), s.get("payload_cut_bytes")))
sys.exit(1 if bad else 0)
PY
}

echo "== unreadable input: exit 2, one line on stderr, nothing on stdout"
M="$TMP/no/such/file.pcap"
expect "missing file" 2 "connscope: $M: cannot open: No such file or directory" -- "$CONNSCOPE" "$M"
stdout_empty "missing file"
expect "missing file after a good one" 2 "connscope: $M: cannot open: No such file or directory" \
    -- "$CONNSCOPE" --json "$GOOD" "$M"
stdout_empty "missing file after a good one"
mkdir -p "$TMP/adir"
expect "directory" 2 "connscope: $TMP/adir: is a directory, not a capture file" -- "$CONNSCOPE" "$TMP/adir"
stdout_empty "directory"
F=$(bad_file empty.pcap)
expect "empty file" 2 "connscope: $F: empty file, not a pcap or pcapng capture" -- "$CONNSCOPE" "$F"
stdout_empty "empty file"
F=$(bad_file notapcap.pcap)
expect "not a capture" 2 "connscope: $F: not a pcap or pcapng capture (<libpcap>)" -- "$CONNSCOPE" "$F"
stdout_empty "not a capture"
F=$(bad_file truncated-header.pcap)
expect "file header cut short" 2 "connscope: $F: capture file header is cut short (<libpcap>)" \
    -- "$CONNSCOPE" "$F"
stdout_empty "file header cut short"

echo "== link types connscope does not decode: the message names the number and the name"
# 105 is LINKTYPE_IEEE802_11, which libpcap names; built from a good capture by patching the header.
python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read())
le = d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
d[20:24] = (105).to_bytes(4, "little" if le else "big")
open(sys.argv[2], "wb").write(d)' "$GOOD" "$TMP/gen/linktype105.pcap"
F="$TMP/gen/linktype105.pcap"
expect "link type 105" 2 "connscope: $F: unsupported link type 105 (IEEE802_11: 802.11)" -- "$CONNSCOPE" "$F"
stdout_empty "link type 105"
# 147 is LINKTYPE_USER0 ("USER0"; tshark/capinfos call it "USER 0"). libpcap's name table has
# no entry for it, but the user still needs the name to know what the file is.
F=$(bad_file unknown-linktype.pcap)
"$CONNSCOPE" "$F" >"$TMP/out" 2>"$TMP/err"
rc=$?
err=$(cat "$TMP/err")
if [ $rc -eq 2 ] && printf '%s\n' "$err" | grep -Eq "^connscope: $F: unsupported link type 147 \(.*USER ?0.*\)$"; then
    pass "link type 147: exit 2, stderr: $err"
else
    fail "link type 147 (LINKTYPE_USER0): exit $rc, stderr '$err'; expected exit 2 and
    connscope: $F: unsupported link type 147 (...USER0...)  -- the number and the link type's name"
fi
stdout_empty "link type 147"

echo "== usage errors: exit 2"
expect "bad BPF filter" 2 "connscope: bad BPF filter 'tcp port': <libpcap>" \
    -- "$CONNSCOPE" -f 'tcp port' "$GOOD"
stdout_empty "bad BPF filter"
# output files of the analytics are checked before anything is read
for opt in --summary-out --plot; do
    expect "$opt into a missing directory" 2 \
        "connscope: $opt: cannot write $TMP/nodir/x: No such file or directory
Try 'connscope --help' for more information." -- "$CONNSCOPE" "$opt" "$TMP/nodir/x" "$GOOD"
    stdout_empty "$opt into a missing directory"
done
expect "--metrics into a missing directory" 2 \
    "connscope: --metrics: cannot write $TMP/nodir/x: No such file or directory
Try 'connscope --help' for more information." -- "$CONNSCOPE" --metrics "prometheus=$TMP/nodir/x" "$GOOD"
expect "no file argument" 2 "connscope: no capture file given (or -i IFACE for a live capture)
Try 'connscope --help' for more information." -- "$CONNSCOPE"
stdout_empty "no file argument"
expect "--json --csv" 2 "connscope: --json and --csv cannot be combined
Try 'connscope --help' for more information." -- "$CONNSCOPE" --json --csv "$GOOD"
stdout_empty "--json --csv"
STDIN=$GOOD expect "stdin twice" 2 "connscope: standard input ('-') can be read only once" \
    -- "$CONNSCOPE" - -
stdout_empty "stdin twice"

echo "== damaged files: exit 1, the report is still printed, stderr names the file"
F=$(bad_file truncated.pcap)
expect "truncated mid-packet (text)" 1 \
    "connscope: $F: file ends in the middle of a packet after 3 complete packets (<libpcap>)" \
    -- "$CONNSCOPE" "$F"
if head -n 1 "$TMP/out" | grep -q '^connscope .*: 1 input, 3 packets' && grep -q 'file_truncated' "$TMP/out"; then
    pass "truncated mid-packet (text): report printed: $(head -n 1 "$TMP/out")"
else
    fail "truncated mid-packet (text): no report on stdout (first line: $(head -n 1 "$TMP/out"))"
fi
expect "truncated mid-packet (--json)" 1 \
    "connscope: $F: file ends in the middle of a packet after 3 complete packets (<libpcap>)" \
    -- "$CONNSCOPE" --json "$F"
json_check "truncated mid-packet (--json)" 's["inputs"][0]["status"] == "truncated"' \
    's["anomalies"].get("file_truncated") == 1' 's["packets"] == 3' \
    'len([o for o in objs if o["type"] == "conn"]) == 1'
F=$(bad_file truncated-rechdr.pcap)
expect "truncated in a record header" 1 \
    "connscope: $F: file ends in the middle of a packet after 4 complete packets (<libpcap>)" \
    -- "$CONNSCOPE" --json "$F"
json_check "truncated in a record header" 's["inputs"][0]["status"] == "truncated"' \
    's["anomalies"].get("file_truncated") == 1' 's["packets"] == 4'
if [ -f "$CORPUS/zeek/DERIVED__http__get.truncated-mid-record.pcap" ]; then
    F="$CORPUS/zeek/DERIVED__http__get.truncated-mid-record.pcap" # cut inside record 8 (MANIFEST)
    expect "corpus truncated file" 1 \
        "connscope: $F: file ends in the middle of a packet after 7 complete packets (<libpcap>)" \
        -- "$CONNSCOPE" --json "$F"
    json_check "corpus truncated file" 's["inputs"][0]["status"] == "truncated"' \
        's["anomalies"].get("file_truncated") == 1' 's["packets"] == 7'
fi
if [ -f "$BAD/hugecaplen.pcap" ]; then
    F="$BAD/hugecaplen.pcap" # records 1-3, then a 1 GiB record header (pcaps/README.md)
    expect "huge record length" 1 "connscope: $F: read error after 3 packets: <libpcap>" \
        -- "$CONNSCOPE" --json "$F"
    json_check "huge record length" 's["inputs"][0]["status"] == "error"' \
        's["anomalies"].get("file_read_error") == 1' 's["packets"] == 3'
fi

echo "== snaplen-cut captures: exit 0, cut payload counted (facts from pcaps/README.md)"
# snaplen.pcap: tcpdump -s 60 (caplen 58) of GET /a.txt and /b.txt on one connection: 12 frames,
# 4 carry payload (84, 241, 84, 248 bytes) and none of it was captured; every TCP header lost its
# options. snaplen-100.pcap: the same with -s 100, which keeps 34 payload bytes of each of the 4.
F=$(bad_file snaplen.pcap)
expect "snaplen 58" 0 "" -- "$CONNSCOPE" --json "$F"
json_check "snaplen 58" 's["anomalies"].get("tcp_payload_cut") == 4' \
    's["payload_cut_bytes"] == 84 + 241 + 84 + 248' 's["anomalies"].get("tcp_truncated_header") == 12' \
    's["inputs"][0]["status"] == "ok"'
F=$(bad_file snaplen-100.pcap)
expect "snaplen 100" 0 "" -- "$CONNSCOPE" --json "$F"
json_check "snaplen 100" 's["anomalies"].get("tcp_payload_cut") == 4' \
    's["payload_cut_bytes"] == 84 + 241 + 84 + 248 - 4 * 34' 's["inputs"][0]["status"] == "ok"'

# same_objects NAME A B: the JSON objects of outputs A and B are the same (order free; the
# summary's "inputs" list, which names the files, is left out).
same_objects() {
    python3 - "$@" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
name, a, b = sys.argv[1:4]
def load(p):
    objs = []
    for l in open(p):
        o = json.loads(l)
        if o.get("type") == "summary":
            o.pop("inputs", None)
        objs.append(o)
    conns = sorted((o for o in objs if o.get("type") == "conn"), key=lambda o: (o["stream"], o["ts"]))
    rest = sorted(json.dumps(o, sort_keys=True) for o in objs if o.get("type") != "conn")
    return conns, rest
ca, ra = load(a)
cb, rb = load(b)
if ca == cb and ra == rb:
    print("ok: %s: same %d conn objects (by stream) and %d other objects" % (name, len(ca), len(ra)))
    sys.exit(0)
for x, y in zip(ca, cb):
    if x != y:
        d = {k: (x.get(k), y.get(k)) for k in set(x) | set(y) if x.get(k) != y.get(k)}
        print("FAIL: %s: stream %s differs: %s" % (name, x.get("stream"), d))
        break
else:
    if len(ca) != len(cb):
        print("FAIL: %s: %d vs %d conn objects" % (name, len(ca), len(cb)))
    else:
        print("FAIL: %s: other objects differ: %s" % (name, sorted(set(ra) ^ set(rb))[:4]))
sys.exit(1)
PY
}

echo "== standard input: '-' gives the same objects as the file"
for F in "$GOOD" "$PCAPS/tcp-mixed.pcapng"; do
    [ -f "$F" ] || continue
    "$CONNSCOPE" --json "$F" >"$TMP/file.json" 2>/dev/null
    STDIN=$F expect "stdin redirect $(capname "$F")" 0 "" -- "$CONNSCOPE" --json -
    cp "$TMP/out" "$TMP/stdin.json"
    same_objects "connscope --json - < $(capname "$F") vs the file" "$TMP/file.json" "$TMP/stdin.json"
    cat "$F" | "$CONNSCOPE" --json - >"$TMP/pipe.json" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 0 ] || fail "cat $(capname "$F") | connscope --json -: exit status $rc: $(cat "$TMP/err")"
    same_objects "cat $(capname "$F") | connscope --json - vs the file" "$TMP/file.json" "$TMP/pipe.json"
done

echo "== several files are one time-ordered stream: split parts in any order = whole = mergecap"
if command -v editcap >/dev/null 2>&1 && command -v mergecap >/dev/null 2>&1; then
    n=0
    for W in "$PCAPS/tcp-mixed.pcap" "$CORPUS/zeek/http__concurrent-range-requests.pcap"; do
        [ -f "$W" ] || continue
        "$CONNSCOPE" --json "$W" >"$TMP/whole.json" 2>/dev/null
        total=$(capinfos -c -M -T -r "$W" | cut -f2)
        : >"$TMP/times"
        command -v tshark >/dev/null 2>&1 && tshark -r "$W" -T fields -e frame.time_epoch >"$TMP/times" 2>/dev/null
        for k in 2 3; do
            n=$((n + 1))
            d="$TMP/split$n"
            mkdir -p "$d"
            # parts of about total/k packets; a part boundary must not fall between two packets
            # with the same time, whose order would then be a tie (won by the file given first,
            # by design), so move it on by up to 10 packets
            per=$(awk -v n="$total" -v k="$k" '{ t[NR] = $1 }
                END { p0 = int((n + k - 1) / k)
                      for (p = p0; p < p0 + 10; p++) { ok = 1
                          for (b = p; b < NR; b += p) if (t[b] == t[b + 1]) ok = 0
                          if (ok) { print p; exit } }
                      print p0 }' "$TMP/times")
            [ -s "$TMP/times" ] || echo "note: no tshark: the split may fall between equal timestamps"
            editcap -c "$per" "$W" "$d/part.pcap" >/dev/null
            parts=("$d"/part_*.pcap)
            if [ ${#parts[@]} -eq 2 ]; then
                shuffled=("${parts[1]}" "${parts[0]}")
                order="part2 part1"
            else
                shuffled=("${parts[@]:2}" "${parts[0]}" "${parts[1]}")
                order="parts 3.. 1 2"
            fi
            "$CONNSCOPE" --json "${shuffled[@]}" >"$TMP/parts.json" 2>"$TMP/err"
            rc=$?
            [ $rc -eq 0 ] || fail "$(capname "$W") in ${#parts[@]} parts: exit status $rc: $(cat "$TMP/err")"
            mergecap -w "$d/merged.pcap" "${shuffled[@]}"
            "$CONNSCOPE" --json "$d/merged.pcap" >"$TMP/merged.json" 2>/dev/null
            desc="$(capname "$W") ($total packets) split in ${#parts[@]} by editcap -c $per, given as $order"
            same_objects "$desc vs the whole capture" "$TMP/whole.json" "$TMP/parts.json"
            same_objects "$desc vs mergecap of the parts" "$TMP/merged.json" "$TMP/parts.json"
            python3 - "$TMP/parts.json" "${shuffled[@]}" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
want = sys.argv[2:]
got = [i["path"] for i in s["inputs"]]
if got == want and all(i["status"] == "ok" for i in s["inputs"]):
    print("ok: summary inputs list the %d parts in command-line order, all ok" % len(got))
else:
    print("FAIL: summary inputs %s, expected the parts %s" % (s["inputs"], want))
    sys.exit(1)
PY
        done
    done
else
    echo "note: editcap/mergecap not installed: time-merge check skipped"
fi

finish
