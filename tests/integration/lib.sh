# lib.sh - shared helpers for the integration tests (sourced, not run).
# Each test prints what it compares; exit 0 pass, 1 fail, 77 skip (automake convention).
set -u
: "${CONNSCOPE:?CONNSCOPE must point at the connscope binary}"
: "${SRCDIR:?SRCDIR must point at the source tree}"
: "${CORPUS:=$SRCDIR/../shared/corpus}"
# canonical paths (make check passes CORPUS as .../main/../shared/corpus), so that captures can be
# named relative to them (capname) and known differences listed by name
SRCDIR=$(cd "$SRCDIR" && pwd -P) || exit 99
[ -d "$CORPUS" ] && CORPUS=$(cd "$CORPUS" && pwd -P)
PCAPS="$SRCDIR/pcaps"
FAILS=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
need_tshark() { command -v tshark >/dev/null 2>&1 || skip "tshark not installed (apt-get install tshark)"; }
# All captures: the committed ones and the shared third-party corpus when present.
all_captures() {
    find "$PCAPS" -name '*.pcap' -o -name '*.pcapng' | grep -v '/bad/' | sort
    [ -d "$CORPUS" ] && find "$CORPUS" -name '*.pcap' -o -name '*.pcapng' | sort
    return 0
}
finish() {
    if [ "$FAILS" -gt 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
    exit 0
}

# ---- helpers added for test_streams / test_syn_counts / test_zeek_conn / test_outputs ----------
# Short name of a capture for messages and known-difference lists: "pcaps/..." for the committed
# captures, "corpus:SOURCE/NAME" for the third-party corpus.
capname() {
    case "$1" in
        "$CORPUS"/*) echo "corpus:${1#"$CORPUS"/}" ;;
        "$SRCDIR"/*) echo "${1#"$SRCDIR"/}" ;;
        *) echo "$1" ;;
    esac
}
need_python() { command -v python3 >/dev/null 2>&1 || skip "python3 not installed"; }

# tshark per-frame fields for many captures at once: tshark_fields OUTDIR FILE...
# For the i-th FILE (from 1) writes OUTDIR/i.fields, exactly what
#     tshark -r FILE -T fields -e F1 -e F2 ...      (F1... = $TSHARK_FIELDS, default preferences)
# prints, and OUTDIR/i.rc with that tshark's exit status (its stderr is in OUTDIR/i.err).
# Why not simply one tshark per capture: tshark needs ~0.6 s of CPU just to start, so 150 captures
# cost 90+ s. Instead the captures are concatenated (mergecap -a) and dissected by one tshark; a
# capture's lines are then exactly its own tshark output (frame numbers and tcp.stream shifted by
# what came before) PROVIDED no earlier capture in that run left state its packets can find: TCP
# state lives in conversations keyed by the endpoint pair, IP reassembly in a table keyed by
# addresses and IP id. So a capture's lines are kept only if none of its endpoint pairs occurs in
# an earlier capture of the run (over-estimated: each TCP header's ports with every source x
# destination address of its frame, which covers quoted ICMP headers and tunnels), it has no IP
# fragments while an earlier one had some, its first stream is the expected shifted 0 and its
# frame numbers are in sequence; the other captures go to the next run. Captures that capinfos
# cannot count fully (truncated, unreadable), a single leftover, and everything left when a merge
# or the frame count check fails get a plain per-capture tshark run. On the 149 captures of the
# tree and corpus this gives byte-identical output to 149 plain runs, in 8 runs instead.
# TSHARK_BATCH=0 forces plain per-capture runs (slow; for checking the batching itself).
TSHARK_FIELDS="frame.number tcp.stream tcp.flags.syn tcp.flags.ack ip.src ip.dst ipv6.src ipv6.dst tcp.srcport tcp.dstport icmp.type icmpv6.type ip.flags.mf ip.frag_offset ipv6.fraghdr.ident frame.protocols"
tshark_fields() {
    need_tshark
    need_python
    command -v mergecap >/dev/null 2>&1 && command -v capinfos >/dev/null 2>&1 ||
        skip "mergecap/capinfos not installed (they come with tshark: apt-get install tshark)"
    local out=$1
    shift
    mkdir -p "$out" "$TMP/wsconfig"
    WIRESHARK_CONFIG_DIR="$TMP/wsconfig" python3 - "$out" "${TSHARK_BATCH:-1}" "$TSHARK_FIELDS" "$@" <<'PY'
import os, subprocess, sys
out, batch, fields, files = sys.argv[1], sys.argv[2] != "0", sys.argv[3].split(), sys.argv[4:]
col = {f: i for i, f in enumerate(fields)}
targs = ["-T", "fields"] + [a for f in fields for a in ("-e", f)]
runs = 0

def tshark(path, errf):
    global runs
    runs += 1
    p = subprocess.run(["tshark", "-r", path] + targs, stdout=subprocess.PIPE, stderr=errf)
    return p.returncode, p.stdout.decode("utf-8", "replace").splitlines(keepends=True)

def save(i, lines, rc, err=b""):
    with open(os.path.join(out, "%d.fields" % (i + 1)), "w") as f:
        f.writelines(lines)
    with open(os.path.join(out, "%d.rc" % (i + 1)), "w") as f:
        f.write("%d\n" % rc)
    with open(os.path.join(out, "%d.err" % (i + 1)), "wb") as f:
        f.write(err)

def solo(i):
    with open(os.path.join(out, "%d.err" % (i + 1)), "wb") as ef:
        rc, lines = tshark(files[i], ef)
    with open(os.path.join(out, "%d.fields" % (i + 1)), "w") as f:
        f.writelines(lines)
    with open(os.path.join(out, "%d.rc" % (i + 1)), "w") as f:
        f.write("%d\n" % rc)

def vals(row, name):
    v = row[col[name]] if col[name] < len(row) else ""
    return v.split(",") if v else []

def state_keys(rows):
    """(endpoint pairs, has IP fragments) of one capture's frames."""
    pairs, frag = set(), False
    for r in rows:
        if any(x not in ("0", "False") for x in vals(r, "ip.flags.mf")) or \
           any(x != "0" for x in vals(r, "ip.frag_offset")) or vals(r, "ipv6.fraghdr.ident"):
            frag = True
        srcs = vals(r, "ip.src") + vals(r, "ipv6.src")
        dsts = vals(r, "ip.dst") + vals(r, "ipv6.dst")
        for sp, dp in zip(vals(r, "tcp.srcport"), vals(r, "tcp.dstport")):
            pairs.update(tuple(sorted([(s, sp), (d, dp)])) for s in srcs for d in dsts)
    return pairs, frag

counts = {}
if batch:
    p = subprocess.run(["capinfos", "-T", "-r", "-c", "-M"] + files, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    bad = p.stderr.decode("utf-8", "replace")
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        name, _, n = line.rpartition("\t")
        if name and n.isdigit() and '"%s"' % name not in bad:
            counts[name] = int(n)
pending = [i for i in range(len(files)) if files[i] in counts]
todo_solo = [i for i in range(len(files)) if files[i] not in counts]
while len(pending) > 1:
    merged = os.path.join(out, "merged.pcapng")
    m = subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", merged] + [files[i] for i in pending],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if m.returncode != 0:
        break
    with open(os.devnull, "wb") as dn:
        rc, lines = tshark(merged, dn)
    os.unlink(merged)
    if rc != 0 or len(lines) != sum(counts[files[i]] for i in pending):
        break
    seen_pairs, seen_frag, pos, offset, left = set(), False, 0, 0, []
    for i in pending:
        n = counts[files[i]]
        rows = [l.rstrip("\n").split("\t") for l in lines[pos:pos + n]]
        pairs, frag = state_keys(rows)
        streams = [int(s) for r in rows for s in vals(r, "tcp.stream")]
        ok = pairs.isdisjoint(seen_pairs) and not (frag and seen_frag) and \
            (not streams or min(streams) == offset) and \
            all(int(r[0]) == pos + k + 1 for k, r in enumerate(rows))
        if ok:
            res = []
            for k, r in enumerate(rows):
                r = list(r)
                r[0] = str(k + 1)
                if r[1]:
                    r[1] = ",".join(str(int(s) - offset) for s in r[1].split(","))
                res.append("\t".join(r) + "\n")
            save(i, res, 0)
        else:
            left.append(i)
        seen_pairs |= pairs
        seen_frag |= frag
        if streams:
            offset = max(offset, max(streams) + 1)
        pos += n
    pending = left
for i in todo_solo + pending:
    solo(i)
print("tshark: %d captures dissected in %d tshark runs (captures concatenated when they cannot "
      "interact; see tshark_fields in lib.sh)" % (len(files), runs))
PY
}
# tshark_col NAME: 1-based column of field NAME in tshark_fields output (for awk/cut).
tshark_col() { echo "$TSHARK_FIELDS" | tr ' ' '\n' | awk -v n="$1" '$0 == n { print NR; exit }'; }
