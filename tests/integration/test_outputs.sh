#!/bin/bash
# test_outputs.sh - the output formats, on every capture of all_captures:
# * --json: every line is valid JSON (strict UTF-8, no NaN/Infinity, no raw control characters),
#   a JSON object with a "type"; exactly one "summary", and it is the last line;
# * --csv -E: a header, then one row per {"type":"conn"} and {"type":"http"} object of --json, in
#   the same order, every row with as many fields as the header (Python's csv module, so quoted
#   commas/newlines count right), every JSON field a column of the same name holding the same value
#   (number as number, true/false, null as an empty cell); --csv alone: the conn rows only;
# * the text report and --csv exit with the same status as --json (0, or 1 for a damaged file).
# And the text report of pcaps/http-keepalive.pcap must contain the expected rows of its
# "Connection starts" and "Connections per server" tables: hand-checked against tshark in
# tests/integration/data/http-keepalive.report-lines, and re-derived from tshark on every run.
. "$(dirname "$0")/lib.sh"
need_python
all_captures >"$TMP/caps"
[ -d "$CORPUS" ] || echo "note: no corpus at $CORPUS: checking the committed captures only"
KA="$PCAPS/http-keepalive.pcap"
if command -v tshark >/dev/null 2>&1 && [ -f "$KA" ]; then
    tshark -r "$KA" -T fields -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst \
        -e ipv6.dst -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin \
        -e tcp.flags.reset -e tcp.seq_raw -e tcp.len -e frame.time_epoch >"$TMP/ka.tshark" 2>/dev/null
else
    echo "note: tshark not installed: http-keepalive rows checked against the committed data only"
    : >"$TMP/ka.tshark"
fi

python3 - "$CONNSCOPE" "$SRCDIR" "$CORPUS" "$TMP/caps" "$KA" "$TMP/ka.tshark" <<'PY'
import csv, hashlib, io, json, os, statistics, subprocess, sys

connscope, srcdir, corpus, capsfile, ka, ka_tshark = sys.argv[1:7]
caps = [l.rstrip("\n") for l in open(capsfile) if l.strip()]
fails = 0
def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)

def name(path):
    if path.startswith(corpus + "/"):
        return "corpus:" + path[len(corpus) + 1:]
    if path.startswith(srcdir + "/"):
        return path[len(srcdir) + 1:]
    return path

def no_constants(c):
    raise ValueError("%s is not JSON" % c)

def run(*args):
    p = subprocess.run([connscope] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")

total_lines = total_rows = 0
for path in caps:
    n = name(path)
    rc, out, err = run("--json", path)
    if rc not in (0, 1):
        fail("%s: --json exit status %d: %s" % (n, rc, err.strip()))
        continue
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("%s: --json output is not UTF-8: %s" % (n, e))
        continue
    lines = text.split("\n")
    if lines[-1] != "":
        fail("%s: --json output does not end with a newline" % n)
    lines = lines[:-1]
    objs, bad = [], 0
    for k, line in enumerate(lines, 1):
        try:
            o = json.loads(line, parse_constant=no_constants)
            if not isinstance(o, dict) or not isinstance(o.get("type"), str):
                raise ValueError("not an object with a \"type\"")
            objs.append(o)
        except ValueError as e:
            bad += 1
            if bad <= 3:
                fail("%s: --json line %d is not valid: %s: %.200s" % (n, k, e, line))
    if bad:
        continue
    types = [o["type"] for o in objs]
    if types.count("summary") != 1 or types[-1] != "summary":
        fail("%s: --json must end with exactly one summary object (types: %s)" % (n, types[-3:]))
    conns = [o for o in objs if o["type"] == "conn"]
    total_lines += len(lines)

    crc, cout, cerr = run("--csv", "-E", path)
    if crc != rc:
        fail("%s: --csv exit status %d, --json %d" % (n, crc, rc))
    try:
        rows = list(csv.reader(io.StringIO(cout.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        fail("%s: --csv output unreadable: %s" % (n, e))
        continue
    if not rows:
        fail("%s: --csv printed nothing (no header)" % n)
        continue
    header, data = rows[0], rows[1:]
    recs = [o for o in objs if o["type"] in ("conn", "http")]
    if header[:1] != ["type"]:
        fail("%s: --csv header does not start with type: %s" % (n, header[:3]))
        continue
    wrong = [k for k, r in enumerate(data, 2) if len(r) != len(header)]
    if wrong:
        fail("%s: --csv rows %s have a number of fields other than the header's %d"
             % (n, wrong[:5], len(header)))
    elif len(data) != len(recs):
        fail("%s: --csv -E has %d data rows, --json %d conn+http objects" % (n, len(data), len(recs)))
    else:
        col = {h: i for i, h in enumerate(header)}
        bad = []
        for k, (r, o) in enumerate(zip(data, recs), 2):
            for key, v in o.items():
                if key not in col:
                    bad.append("line %d: JSON field %s is not a column" % (k, key))
                    continue
                cell = r[col[key]]
                if v is None:
                    same = cell == ""
                elif isinstance(v, bool):
                    same = cell == ("true" if v else "false")
                elif isinstance(v, int):
                    same = cell.lstrip("-").isdigit() and int(cell) == v
                elif isinstance(v, dict):  # an object (the tunnel): its JSON text in the cell
                    try:
                        same = json.loads(cell) == v
                    except ValueError:
                        same = False
                elif isinstance(v, float):
                    try:
                        same = float(cell) == v and "e" not in cell.lower()
                    except ValueError:
                        same = False
                else:
                    same = cell == v
                if not same:
                    bad.append("line %d (%s, stream %s): %s is %r in CSV, %r in JSON"
                               % (k, o["type"], o.get("stream"), key, cell, v))
            extra = [h for h, c in zip(header, r) if c != "" and h not in o]
            if extra:
                bad.append("line %d: CSV cells %s set but not in the JSON object" % (k, extra))
        if bad:
            fail("%s: --csv -E differs from --json: %s" % (n, "; ".join(bad[:4])))
        else:
            print("ok: %s: %d JSON lines (%d conn+http), CSV header + %d rows x %d fields, same "
                  "values" % (n, len(lines), len(recs), len(data), len(header)))
    crc2, cout2, _ = run("--csv", path)
    conn_only = [l for l in csv.reader(io.StringIO(cout2.decode("utf-8"), newline=""))]
    if crc2 != rc or len(conn_only) - 1 != len(conns) or any(r[0] != "conn" for r in conn_only[1:]):
        fail("%s: --csv without -E is not one conn row per JSON conn object" % n)
    total_rows += len(data)
    trc, tout, terr = run(path)
    if trc != rc:
        fail("%s: text report exit status %d, --json %d" % (n, trc, rc))
    elif not tout.startswith(b"connscope "):
        fail("%s: text report does not start with 'connscope ': %.80r" % (n, tout))

# ---- http-keepalive.pcap: expected table rows -------------------------------------------------
def fmt_bytes(v):
    if v < 1024:
        return "%dB" % v
    if v < 1024 * 1024:
        return "%.1fKB" % (v / 1024.0)
    return "%.1fMB" % (v / 1048576.0)

def fmt_dur(s):
    ns = round(s * 1e9)
    if ns < 1000000:
        return "%.0fus" % (ns / 1e3)
    if ns < 1000000000:
        return "%.1fms" % (ns / 1e6)
    return "%.2fs" % (ns / 1e9)

def rows_from_tshark(path):
    """The two tables' rows as tshark's fields give them (clean captures: no retransmissions)."""
    streams = {}
    for line in open(path):
        v = line.rstrip("\n").split("\t")
        if not v[0]:
            continue
        src = ("[%s]" % v[2] if v[2] else v[1]) + ":" + v[3]
        dst = ("[%s]" % v[5] if v[5] else v[4]) + ":" + v[6]
        streams.setdefault(v[0], []).append(dict(src=src, dst=dst, syn=v[7] == "1", ack=v[8] == "1",
            fin=v[9] == "1", rst=v[10] == "1", seq=v[11], len=int(v[12] or 0), t=float(v[13])))
    syn, srv = {}, {}
    for pk in streams.values():
        syns = [p for p in pk if p["syn"] and not p["ack"]]
        server = syns[0]["dst"] if syns else pk[0]["dst"]
        client = syns[0]["src"] if syns else pk[0]["src"]
        synack = any(p["syn"] and p["ack"] and p["src"] == server for p in pk)
        rst_srv = any(p["rst"] for p in pk)
        est = synack and any(p["ack"] and not p["syn"] and p["src"] == client for p in pk)
        closed = rst_srv or ({p["src"] for p in pk if p["fin"]} == {client, server})
        if syns:
            s = syn.setdefault(server, [0, 0, 0, 0, 0, 0])
            s[0] += len(syns)
            s[1] += 1
            s[2] += len(syns) - 1 if len({p["seq"] for p in syns}) == 1 else 0
            s[3] += 1 if synack else 0
            s[4] += 1 if not synack and rst_srv else 0
            s[5] += 1 if not synack and not rst_srv else 0
        r = srv.setdefault(server, dict(conns=0, est=0, ref=0, reset=0, open=0, cs=0, sc=0, d=[]))
        r["conns"] += 1
        r["est"] += est
        r["ref"] += 1 if syns and not synack and rst_srv else 0
        r["reset"] += 1 if rst_srv and (synack or not syns) else 0
        r["open"] += 0 if closed else 1
        r["cs"] += sum(p["len"] for p in pk if p["src"] == client)
        r["sc"] += sum(p["len"] for p in pk if p["src"] == server)
        r["d"].append(pk[-1]["t"] - pk[0]["t"])
    out = []
    for k, s in sorted(syn.items()):
        out.append(["syn", k] + [str(x) for x in s])
    for k, r in sorted(srv.items()):
        out.append(["server", k, str(r["conns"]), str(r["est"]), str(r["ref"]), str(r["reset"]),
                    str(r["open"]), fmt_bytes(r["cs"]), fmt_bytes(r["sc"]),
                    fmt_dur(statistics.median_low(r["d"])), fmt_dur(max(r["d"]))])
    return out

if os.path.exists(ka):
    data = os.path.join(srcdir, "tests/integration/data/http-keepalive.report-lines")
    committed, sha = [], None
    for line in open(data):
        if line.startswith("sha256 "):
            sha = line.split()[1]
        elif line.strip() and not line.startswith("#"):
            committed.append(line.split())
    actual_sha = hashlib.sha256(open(ka, "rb").read()).hexdigest()
    derived = rows_from_tshark(ka_tshark) if os.path.getsize(ka_tshark) else None
    if sha == actual_sha:
        expected, source = committed, "tests/integration/data/http-keepalive.report-lines"
        if derived is not None and derived != committed:
            fail("pcaps/http-keepalive.pcap: the committed expected rows %s differ from what tshark "
                 "gives now %s" % (committed, derived))
    elif derived is not None:
        expected, source = derived, "tshark (the capture is not the one the data file was made for)"
    else:
        expected, source = None, None
        print("note: pcaps/http-keepalive.pcap changed (sha256 %s) and tshark is missing: rows "
              "not checked" % actual_sha)
    if expected is not None:
        rc, out, err = run(ka)
        section, got = None, []
        for line in out.decode().splitlines():
            if line.startswith("Connection starts (SYN without ACK) per destination"):
                section = "syn"
            elif line.startswith("Connections per server"):
                section = "server"
            elif not line.startswith("  "):
                section = None
            elif section:
                got.append([section] + line.split())
        for row in expected:
            if row in got:
                print("ok: pcaps/http-keepalive.pcap text report has the %s row '%s' (expected "
                      "from %s)" % (row[0], " ".join(row[1:]), source))
            else:
                fail("pcaps/http-keepalive.pcap: text report lacks the %s row '%s' (expected from "
                     "%s); its %s rows: %s" % (row[0], " ".join(row[1:]), source, row[0],
                                              [" ".join(g[1:]) for g in got if g[0] == row[0]]))
else:
    print("note: %s not found: keep-alive report rows not checked" % ka)

print("%d captures: %d JSON lines, %d CSV rows, %d failure(s)"
      % (len(caps), total_lines, total_rows, fails))
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] || FAILS=$((FAILS + 1))
finish
