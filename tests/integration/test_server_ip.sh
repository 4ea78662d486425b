#!/bin/bash
# test_server_ip.sh - connections per server IP (all its ports):
# 1. pcaps/http-multiport.pcap against tshark: per destination address, the streams whose SYN went
#    to it, the ports, and the ones refused (answered by RST without SYN/ACK);
# 2. on every capture: each JSON server_ip record is the sum of the server records of its address
#    (every counter; ports = their number), the text roll-up row "ADDR (N ports)" appears exactly
#    for the addresses with several ports, and --by-ip prints the same numbers as server_ip;
# 3. summaries: `merge` of a capture's summary prints the run's server and server_ip records, and
#    the metrics (Prometheus and Graphite) carry the server_ip counts.
. "$(dirname "$0")/lib.sh"
need_python
need_tshark
export CONNSCOPE

# ---- 1. tshark -----------------------------------------------------------------------------------
MP="$PCAPS/http-multiport.pcap"
tshark -r "$MP" -Y "tcp.flags.syn==1" -T fields -e tcp.stream -e ip.src -e ip.dst -e tcp.srcport \
    -e tcp.dstport -e tcp.flags.ack 2>/dev/null >"$TMP/syn"
tshark -r "$MP" -Y "tcp.flags.reset==1" -T fields -e tcp.stream 2>/dev/null >"$TMP/rst"
"$CONNSCOPE" -q --json "$MP" | python3 -c '
import collections, json, sys
syn, synack = {}, set()
for line in open(sys.argv[1]):
    s, src, dst, sp, dp, ack = line.split()
    if ack == "0":
        syn[s] = (dst, dp)
    else:
        synack.add(s)
rst = {l.strip() for l in open(sys.argv[2])}
want = collections.defaultdict(lambda: {"conns": 0, "ports": set(), "refused": 0})
for s, (ip, port) in syn.items():
    w = want[ip]
    w["conns"] += 1
    w["ports"].add(port)
    w["refused"] += s in rst and s not in synack
got = {o["resp_h"]: o for o in map(json.loads, sys.stdin) if o["type"] == "server_ip"}
bad = [(ip, w, got.get(ip)) for ip, w in want.items()
       if ip not in got or (got[ip]["conns"], got[ip]["ports"], got[ip]["refused"]) !=
       (w["conns"], len(w["ports"]), w["refused"])]
if bad or set(got) != set(want):
    print("FAIL: http-multiport server_ip records differ from tshark: %s" % bad)
    sys.exit(1)
print("ok: http-multiport: server_ip conns/ports/refused as tshark: %s" % ", ".join(
      "%s %d on %d ports (%d refused)" % (ip, w["conns"], len(w["ports"]), w["refused"])
      for ip, w in sorted(want.items())))' "$TMP/syn" "$TMP/rst" || FAILS=$((FAILS + 1))
row=$("$CONNSCOPE" -q "$MP" | grep '^  127\.0\.0\.1 (3 ports)')
[ "$(echo $row | cut -d' ' -f1-8)" = "127.0.0.1 (3 ports) 4 3 1 0 0" ] &&
    pass "text: roll-up row '$(echo $row)'" || fail "text roll-up row: '$row'"
[ "$("$CONNSCOPE" -q "$MP" | grep -c '^  127\.0\.0\.2 (')" = 0 ] &&
    pass "text: no roll-up row for 127.0.0.2 (one port)" || fail "text: roll-up row for a one-port address"

# ---- 2. every capture ------------------------------------------------------------------------------
all_captures >"$TMP/caps"
python3 - "$TMP/caps" <<'PY' || FAILS=$((FAILS + 1))
import collections, json, os, re, subprocess, sys
cs = os.environ["CONNSCOPE"]
fails = checked = multi = 0
sum_keys = ("conns", "established", "refused", "reset", "open_at_end", "midstream", "orig_bytes",
            "resp_bytes", "orig_pkts", "resp_pkts")
def run(*a):
    return subprocess.run([cs, "-q"] + list(a), capture_output=True, text=True, errors="replace").stdout
for path in open(sys.argv[1]).read().split():
    objs = [json.loads(l) for l in run("--json", path).splitlines()]
    servers = [o for o in objs if o["type"] == "server"]
    ips = {o["resp_h"]: o for o in objs if o["type"] == "server_ip"}
    want = collections.defaultdict(lambda: collections.Counter())
    ports = collections.Counter()
    maxdur = collections.defaultdict(int)
    for s in servers:
        for k in sum_keys:
            want[s["resp_h"]][k] += s[k]
        ports[s["resp_h"]] += 1
        maxdur[s["resp_h"]] = max(maxdur[s["resp_h"]], s["duration_max_us"])
    bad = []
    if set(ips) != set(want):
        bad.append("addresses %s vs %s" % (sorted(ips), sorted(want)))
    for ip, w in want.items():
        o = ips.get(ip)
        if o is None:
            continue
        if any(o[k] != w[k] for k in sum_keys) or o["ports"] != ports[ip] or \
                o["duration_max_us"] != maxdur[ip]:
            bad.append("%s: %s vs sum of ports %s" % (ip, {k: o[k] for k in sum_keys}, dict(w)))
    text = run(path)
    rolled = set(re.findall(r"^  (\S+) \((\d+) ports\)", text, re.M))
    if rolled != {(ip, str(n)) for ip, n in ports.items() if n > 1}:
        bad.append("text roll-up rows %s, ports %s" % (rolled, dict(ports)))
    byip = run("--by-ip", path)
    # the rows of that section only (it ends at a blank line; later tables, such as QUIC's, have
    # numeric columns too)
    section = byip.split("Connections per server IP\n", 1)[1].split("\n\n")[0] \
        if "Connections per server IP\n" in byip else ""
    rows = re.findall(r"^  (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", section, re.M)
    if {r[0]: tuple(map(int, r[1:])) for r in rows} != {
            ip: (o["ports"], o["conns"], o["established"], o["refused"], o["reset"], o["open_at_end"])
            for ip, o in ips.items()} or "\nConnections per server\n" in byip:
        bad.append("--by-ip table %s" % rows)
    if '"type":"server"' in run("--by-ip", "--json", path):
        bad.append("--by-ip --json still writes server records")
    multi += sum(1 for n in ports.values() if n > 1)
    if bad:
        print("FAIL: %s: %s" % (path, "; ".join(bad)[:600]))
        fails += 1
    checked += 1
print("ok: %d captures: server_ip records are the sums of their ports' server records, the text "
      "roll-up rows are those of the %d addresses on several ports, --by-ip agrees" % (checked, multi)
      if not fails else "%d failure(s)" % fails)
sys.exit(1 if fails else 0)
PY

# ---- 3. summaries, merge, metrics ----------------------------------------------------------------
for f in "$MP" "$PCAPS/tcp-mixed.pcap" "$PCAPS/tcp-refused.pcap"; do
    "$CONNSCOPE" -q --json --summary-out "$TMP/s.json" --metrics "prometheus=$TMP/m.prom" \
        --metrics "graphite=$TMP/m.graphite" "$f" >"$TMP/run.json"
    "$CONNSCOPE" merge --json "$TMP/s.json" >"$TMP/merge.json"
    python3 - "$TMP/run.json" "$TMP/merge.json" "$TMP/m.prom" "$TMP/m.graphite" "$(capname "$f")" <<'PY' || FAILS=$((FAILS + 1))
import json, re, sys
run, merged = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
pick = lambda objs: [o for o in objs if o["type"] in ("server", "server_ip")]
bad = []
if pick(run) != pick(merged):
    bad.append("merge --json server/server_ip %s != run %s" % (pick(merged)[:2], pick(run)[:2]))
ips = {o["resp_h"]: o for o in run if o["type"] == "server_ip"}
prom = dict(re.findall(r'^connscope_server_ip_connections_total\{server_ip="([^"]+)",ports="\d+"\} (\d+) [0-9.]+$',
                       open(sys.argv[3]).read(), re.M))
if {k: int(v) for k, v in prom.items()} != {k: o["conns"] for k, o in ips.items()}:
    bad.append("prometheus %s" % prom)
graph = dict(re.findall(r"^connscope\.server_ip\.(\S+)\.conns_total (\d+) \d+$", open(sys.argv[4]).read(), re.M))
if {k: int(v) for k, v in graph.items()} != {k.replace(".", "_").replace(":", "_"): o["conns"] for k, o in ips.items()}:
    bad.append("graphite %s" % graph)
print(("FAIL: %s: %s" % (sys.argv[5], "; ".join(bad))) if bad else
      "ok: %s: merge of its summary writes the run's %d server/server_ip records; metrics carry %d server IPs"
      % (sys.argv[5], len(pick(run)), len(ips)))
sys.exit(1 if bad else 0)
PY
done
finish
