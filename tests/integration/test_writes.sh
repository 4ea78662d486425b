#!/bin/bash
# test_writes.sh - every write is checked: a report, JSON, CSV, -w, follow or merge that cannot be
# written (/dev/full, a full file system) prints one line naming the output and exits 2; the files
# of --summary-out, --metrics and --plot are still written when standard output closes early
# (| head), and are written through their path as tcpdump -w writes (a symlink stays a symlink, a
# fifo or device node is written, a mode-600 file keeps its mode); --tls-keylog from a file that
# is not a regular one is capped (/dev/zero is refused after 64 MiB).
# Truth: the kernel (/dev/full fails every write with ENOSPC; a 64 KiB tmpfs fills up), stat(1)
# for file types and modes, and the same outputs written by a run whose standard output is fine.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
GEN="$(dirname "$CONNSCOPE")/connscope-gen"
KA="$PCAPS/http-keepalive.pcap"
CAP="$PCAPS/tcp-mixed.pcap"

# one_line NAME RC WANT: the command's exit status is RC and its stderr is the one line WANT
# (stderr in $TMP/err).
one_line() {
    local name=$1 rc=$2 want=$3 got lines
    got=$(cat "$TMP/err")
    lines=$(grep -c '' "$TMP/err")
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [ "$got" = "$want" ]; then
        pass "$name: exit 2, one line: $got"
    else
        fail "$name: exit $rc, $lines line(s) on stderr: $(head -3 "$TMP/err"); expected exit 2 and: $want"
    fi
}

echo "== standard output on /dev/full: exit 2 and one line naming it"
# stdout_full NAME RC PROG ON_STDERR: exit 2, and stderr's last line names standard output; it is
# the only line unless the report itself goes to stderr (ON_STDERR=1). The reason is the errno
# when stdio still has it, else "write error" (an explicit fflush that failed drops it), as
# coreutils says.
stdout_full() {
    local name=$1 rc=$2 prog=$3 on_stderr=$4 last lines
    last=$(tail -1 "$TMP/err")
    lines=$(grep -c '' "$TMP/err")
    if [ "$rc" = 2 ] && { [ "$on_stderr" = 1 ] || [ "$lines" = 1 ]; } &&
        [[ $last =~ ^"$prog: standard output: "("No space left on device"|"write error")$ ]]; then
        pass "$name: exit 2, $( [ "$on_stderr" = 1 ] && echo "after the report on stderr, ")one line: $last"
    else
        fail "$name: exit $rc, $lines line(s) on stderr, last: $last"
    fi
}
if [ -c /dev/full ]; then
    "$CONNSCOPE" -q --summary-out "$TMP/ka.json" "$KA" >/dev/null 2>&1
    while IFS='|' read -r name on_stderr args; do
        prog=connscope
        case $args in follow*) prog="connscope follow" ;; merge*) prog="connscope merge" ;; esac
        # shellcheck disable=SC2086 # args are words
        "$CONNSCOPE" $args >/dev/full 2>"$TMP/err"
        stdout_full "$name" $? "$prog" "$on_stderr"
    done <<EOF
text report|0|-q $KA
text report -C -E|0|-q -C -E $KA
--json|0|-q --json $KA
--csv|0|-q --csv $KA
--stream-list|1|-q --stream-list $KA
-j 2 --json|0|-q -j 2 --json $KA $CAP
-j 2 text|0|-q -j 2 $KA $CAP
--metrics prometheus (standard output)|1|-q --metrics prometheus $KA
--summary-out -|1|-q --summary-out - $KA
follow|0|follow 0 $KA
follow --http|0|follow --http 0 $KA
merge|0|merge $TMP/ka.json
merge --json|0|merge --json $TMP/ka.json
EOF
    "$CONNSCOPE" -q -w /dev/full "$KA" >/dev/null 2>"$TMP/err"
    one_line "-w /dev/full" $? "connscope: /dev/full: cannot write: No space left on device (the file is incomplete: writing stopped there)"
    "$CONNSCOPE" -q -w - "$KA" >/dev/full 2>"$TMP/err"
    rc=$?
    grep -v '^connscope 0.1.0\|^time span\|^$\|^ \|^[A-Z]' "$TMP/err" >"$TMP/err2"; mv "$TMP/err2" "$TMP/err"
    one_line "-w - on /dev/full (the report is on stderr)" $rc "connscope: standard output: cannot write: No space left on device (the file is incomplete: writing stopped there)"
    # never --plot /dev/full itself: a connscope that renames over its output would replace the
    # machine's /dev/full; a private node with the same device number shows the same
    if [ "$(id -u)" = 0 ] && mknod "$TMP/full" c 1 7 2>/dev/null; then
        "$CONNSCOPE" -q --plot "$TMP/full" "$KA" >/dev/null 2>"$TMP/err"
        one_line "--plot on a full device" $? "connscope: --plot: cannot write $TMP/full: No space left on device"
        [ -c "$TMP/full" ] && pass "--plot on a full device: still a character device" ||
            fail "--plot replaced the device node"
    fi
else
    echo "note: no /dev/full character device: those cases not run"
fi

echo "== -w on a full file system (a 64 KiB tmpfs)"
mkdir "$TMP/small"
trap 'umount "$TMP/small" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k tmpfs "$TMP/small" 2>/dev/null; then
    ins=("$PCAPS"/http-gzip-stored.pcap "$CAP" "$PCAPS"/http-chunked.pcap "$PCAPS"/http-python.pcap)
    total=$("$CONNSCOPE" -q --json "${ins[@]}" | tail -1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["packets"])')
    "$CONNSCOPE" -q -w "$TMP/small/out.pcap" "${ins[@]}" >"$TMP/out" 2>"$TMP/err"
    one_line "-w on a full tmpfs" $? "connscope: $TMP/small/out.pcap: cannot write: No space left on device (the file is incomplete: writing stopped there)"
    got=$(capinfos -c -M -T -r "$TMP/small/out.pcap" 2>/dev/null | cut -f2)
    [ -n "$got" ] && [ "$got" -lt "$total" ] && pass "-w on a full tmpfs: the file holds $got of $total packets, and the exit status says so" ||
        fail "-w on a full tmpfs: file holds '$got' of $total packets"
    grep -q '^connscope 0.1.0' "$TMP/out" && pass "-w on a full tmpfs: the report is still printed" || fail "no report"
    umount "$TMP/small"
else
    echo "note: not root or no tmpfs mount: the full-disk case is not run (the /dev/full ones are)"
fi

echo "== --summary-out, --metrics, --plot are written when standard output closes early"
if [ -x "$GEN" ]; then
    "$GEN" --synflood 3000 -o "$TMP/flood.pcap" 2>/dev/null
    outs() { echo --summary-out "$1/s.json" --metrics "prometheus=$1/m.prom" --plot "$1/p.svg" --bucket 1s; }
    mkdir "$TMP/ref" "$TMP/pipe"
    # shellcheck disable=SC2046
    "$CONNSCOPE" -q -C $(outs "$TMP/ref") "$TMP/flood.pcap" >"$TMP/ref/report" 2>/dev/null
    [ "$(wc -c <"$TMP/ref/report")" -gt 300000 ] && pass "the report is $(wc -c <"$TMP/ref/report") bytes (more than the pipe and stdio buffers)" ||
        fail "report too small to close the pipe early"
    # shellcheck disable=SC2046
    "$CONNSCOPE" -q -C $(outs "$TMP/pipe") "$TMP/flood.pcap" 2>"$TMP/err" | head -1 >/dev/null
    rc=${PIPESTATUS[0]}
    [ "$rc" = 141 ] && pass "| head -1: connscope ends by SIGPIPE as before (status 141), after its files" ||
        fail "| head -1: status $rc, expected 141 (SIGPIPE)"
    [ ! -s "$TMP/err" ] && pass "| head -1: nothing on stderr" || fail "| head -1: stderr: $(head -2 "$TMP/err")"
    for f in s.json m.prom p.svg; do
        cmp -s "$TMP/ref/$f" "$TMP/pipe/$f" && pass "| head -1: $f written, equal to the run with a full report" ||
            fail "| head -1: $f missing or different"
    done
    "$CONNSCOPE" -q -C "$TMP/flood.pcap" 2>/dev/null | head -1 >/dev/null
    rc=${PIPESTATUS[0]}
    [ "$rc" = 141 ] && pass "| head -1 without files: SIGPIPE (status 141)" || fail "| head -1 without files: status $rc"
    "$CONNSCOPE" merge --plot "$TMP/pipe/mp.svg" "$TMP/ref/s.json" "$TMP/ref/s.json" 2>/dev/null | head -1 >/dev/null
    [ -s "$TMP/pipe/mp.svg" ] && pass "merge | head -1: --plot written" || fail "merge | head -1: no plot"
else
    echo "note: connscope-gen not built next to $CONNSCOPE: the early-close cases are not run"
fi

echo "== the files are written through their path (as tcpdump -w)"
"$CONNSCOPE" -q --summary-out "$TMP/s.ref" --metrics "prometheus=$TMP/m.ref" --plot "$TMP/p.ref" --bucket 1s "$KA" >/dev/null 2>&1
for opt in summary-out metrics plot; do
    ref="$TMP/${opt:0:1}.ref"
    val() { [ "$opt" = metrics ] && echo "prometheus=$1" || echo "$1"; }
    # a symlink stays a symlink, and its target gets the content
    : >"$TMP/$opt.target"
    ln -s "$TMP/$opt.target" "$TMP/$opt.link"
    "$CONNSCOPE" -q --"$opt" "$(val "$TMP/$opt.link")" --bucket 1s "$KA" >/dev/null 2>&1
    [ -L "$TMP/$opt.link" ] && cmp -s "$TMP/$opt.target" "$ref" &&
        pass "--$opt SYMLINK: still a symlink, its target written" || fail "--$opt SYMLINK: replaced or target not written"
    # a mode-600 file keeps its mode
    echo old >"$TMP/$opt.600"
    chmod 600 "$TMP/$opt.600"
    "$CONNSCOPE" -q --"$opt" "$(val "$TMP/$opt.600")" --bucket 1s "$KA" >/dev/null 2>&1
    [ "$(stat -c %a "$TMP/$opt.600")" = 600 ] && cmp -s "$TMP/$opt.600" "$ref" &&
        pass "--$opt on a mode-600 file: mode 600 kept, content written" ||
        fail "--$opt on a mode-600 file: mode $(stat -c %a "$TMP/$opt.600")"
    # a fifo is written into, not replaced
    mkfifo "$TMP/$opt.fifo"
    timeout 20 cat "$TMP/$opt.fifo" >"$TMP/$opt.fromfifo" &
    reader=$!
    timeout 20 "$CONNSCOPE" -q --"$opt" "$(val "$TMP/$opt.fifo")" --bucket 1s "$KA" >/dev/null 2>&1
    wait $reader
    [ -p "$TMP/$opt.fifo" ] && cmp -s "$TMP/$opt.fromfifo" "$ref" &&
        pass "--$opt FIFO: still a fifo, the reader got the content" || fail "--$opt FIFO: replaced or not written"
    # a device node is written, not replaced (root: a private copy of /dev/null)
    if [ "$(id -u)" = 0 ] && mknod "$TMP/$opt.dev" c 1 3 2>/dev/null; then
        "$CONNSCOPE" -q --"$opt" "$(val "$TMP/$opt.dev")" --bucket 1s "$KA" >/dev/null 2>&1
        [ -c "$TMP/$opt.dev" ] && pass "--$opt DEVICE: still a character device" || fail "--$opt DEVICE: replaced"
    fi
done

echo "== --tls-keylog from a file that is not a regular one is capped"
# a pipe that gives 100 MiB of zeros stands for /dev/zero (which an uncapped reader would read
# until memory runs out: not something to run in a test)
mkfifo "$TMP/zero.fifo"
timeout 60 sh -c 'head -c 100M /dev/zero >"$1"' sh "$TMP/zero.fifo" 2>/dev/null &
"$CONNSCOPE" -q --tls-keylog "$TMP/zero.fifo" "$KA" >/dev/null 2>"$TMP/err"
one_line "--tls-keylog FIFO of 100 MiB" $? "connscope: $TMP/zero.fifo: not a regular file, and more than 64 MiB came from it: not a key log"
wait
mkfifo "$TMP/kl.fifo"
timeout 60 sh -c 'cat "$1" >"$2"' sh "$PCAPS/tls/tls12-chacha.keylog" "$TMP/kl.fifo" &
"$CONNSCOPE" -q --json --tls-keylog "$TMP/kl.fifo" "$PCAPS/tls/tls12-chacha.pcap" >"$TMP/fifo.json" 2>"$TMP/err"
rc=$?
"$CONNSCOPE" -q --json --tls-keylog "$PCAPS/tls/tls12-chacha.keylog" "$PCAPS/tls/tls12-chacha.pcap" >"$TMP/file.json" 2>/dev/null
[ $rc = 0 ] && cmp -s "$TMP/fifo.json" "$TMP/file.json" &&
    pass "--tls-keylog FIFO: a key log that ends is read whole (output as from the file)" ||
    fail "--tls-keylog FIFO: exit $rc, $(head -1 "$TMP/err")"
finish
