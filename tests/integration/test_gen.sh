#!/bin/bash
# test_gen.sh - captures written by connscope-gen (specs in data/gen/ and the hostile scenarios) are
# valid (tshark) and connscope --json recovers the generator's ground truth (--truth) exactly.
#
# Per capture, connscope's JSON against the truth file:
# * summary: packets, connections, SYN packets and attempts; syn_dest per (dst_h, dst_p):
#   syn_pkts, attempts, answered_synack, unanswered;
# * conn per stream: endpoints, packets and payload bytes per side, missed bytes per side;
# * every HTTP exchange, found by (stream, uri): method, status, body lengths, outcome, gap flags,
#   and request_us/ttfb_us/ttlb_us/total_us equal to the truth's (computed by the generator from
#   the timestamps it wrote, with the time of a byte as doc/design.md defines it; a negative span
#   would be 0 as connscope clamps it).
#   With capture loss the rules of doc/design.md "Gaps" decide what connscope can know: lost body
#   bytes of a known length -> same exchange with request_gap/response_gap; lost framing in the
#   server's stream -> response_partial or response_lost_in_gap; a request that is entirely lost
#   may be missing (its response then shows up as no_request).
# * HTTPS connections: connscope's tls record names the truth's SNI.
# Deviations that are connscope bugs or limitations (reported, not fixed here) are listed as
# (The KNOWN cases found at first — ACK applied after the payload, no detection after a leading
# gap, timings skewed by the header cap — were fixed in connscope; the comparison is strict.)
# tshark: no malformed packet and no TCP analysis flag in loss-free captures; tcp conversations
# equal the truth's connections. Also: the output is reproducible and '-o -' streams the same pcap.
. "$(dirname "$0")/lib.sh"
GEN="$(dirname "$CONNSCOPE")/connscope-gen"
[ -x "$GEN" ] || skip "connscope-gen not built next to $CONNSCOPE"
need_python
DATA="$SRCDIR/tests/integration/data/gen"

# name | connscope-gen arguments
CASES="keepalive|--seed 7 $DATA/keepalive.csv
pipeline|--seed 7 $DATA/pipeline.csv
lossy|--seed 7 $DATA/lossy.csv
ipv6|--seed 7 $DATA/ipv6.csv
many|--seed 7 $DATA/many.csv
synflood|--synflood 2000 --target 192.0.2.80:80
synretry|--scenario synretry --count 50 --target [2001:db8::22]:22
halfopen|--scenario halfopen --count 20
pipeline-flood|--scenario pipeline-flood --count 3 --requests 500
huge-header|--scenario huge-header --count 2
huge-chunk|--scenario huge-chunk --count 2
overlap|--scenario overlap --count 10"
# captures without loss, reordering or retransmissions: tshark must flag nothing
CLEAN="keepalive pipeline ipv6"

while IFS='|' read -r name args; do
    # shellcheck disable=SC2086
    if ! "$GEN" -o "$TMP/$name.pcap" --truth "$TMP/$name.truth" $args 2>"$TMP/$name.err"; then
        fail "$name: connscope-gen $args: $(cat "$TMP/$name.err")"
        continue
    fi
    "$CONNSCOPE" --json "$TMP/$name.pcap" >"$TMP/$name.json" 2>"$TMP/$name.cserr" ||
        fail "$name: connscope exited $? ($(head -c 300 "$TMP/$name.cserr"))"
    echo "$name" >>"$TMP/names"
done <<<"$CASES"

python3 - "$TMP" <<'PY' || FAILS=$((FAILS + 1))
import json, os, sys
from collections import defaultdict

tmp = sys.argv[1]
HEADER_CAP = 256 * 1024  # connscope's default max_header_bytes
total_fail = 0

def load(path):
    out = defaultdict(list)
    with open(path) as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                out[o["type"]].append(o)
    return out

def clamp(v):
    return None if v is None else max(v, 0)

def compare(name, truth, cs):
    fails, known = [], []
    def check(cond, msg):
        if not cond:
            fails.append(msg)
    if not cs.get("summary"):
        return ["no summary line from connscope"], []
    ts, csum = truth["summary"][0], cs["summary"][0]
    for f in ("packets", "connections", "syn_pkts", "syn_attempts"):
        check(ts[f] == csum[f], "summary %s: truth %s, connscope %s" % (f, ts[f], csum[f]))
    key = lambda o: (o["dst_h"], o["dst_p"])
    td = {key(o): o for o in truth["syn_dest"]}
    cd = {key(o): o for o in cs["syn_dest"]}
    check(set(td) == set(cd), "syn_dest destinations: truth %s, connscope %s" % (sorted(td), sorted(cd)))
    for k in sorted(set(td) & set(cd)):
        for f in ("syn_pkts", "attempts", "answered_synack", "unanswered"):
            check(td[k][f] == cd[k][f], "syn_dest %s:%s %s: truth %s, connscope %s" % (k[0], k[1], f, td[k][f], cd[k][f]))
    tc = {o["stream"]: o for o in truth["conn"]}
    cc = {o["stream"]: o for o in cs["conn"]}
    check(set(tc) == set(cc), "streams: truth %d, connscope %d" % (len(tc), len(cc)))
    for s in sorted(set(tc) & set(cc)):
        for f in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "orig_pkts", "resp_pkts",
                  "orig_bytes", "resp_bytes", "orig_missed_bytes", "resp_missed_bytes"):
            check(tc[s][f] == cc[s][f], "stream %d %s: truth %s, connscope %s" % (s, f, tc[s][f], cc[s][f]))
    # HTTPS: the SNI of the ClientHello (when this connscope reports TLS)
    tls = {o["stream"]: o for o in cs.get("tls", [])}
    for s, t in tc.items():
        if t["proto"] == "https" and cs.get("tls"):
            check(s in tls and tls[s].get("server_name") == t["sni"],  # null: no SNI sent
                  "stream %d: tls server_name %s, truth sni %s" % (s, tls.get(s, {}).get("server_name"), t["sni"]))

    texch = defaultdict(list)
    for o in truth["http"]:
        texch[o["stream"]].append(o)
    cexch = defaultdict(list)
    for o in cs["http"]:
        cexch[o["stream"]].append(o)
    accounted = set()
    for s in sorted(texch):
        lst = sorted(texch[s], key=lambda o: o["trans_depth"])
        byuri = {o["uri"]: o for o in cexch.get(s, []) if o["uri"] is not None}
        first = lst[0]
        prev_framing = False
        for t in lst:
            nm = "stream %d %s" % (s, t["uri"])
            c = byuri.get(t["uri"])
            rql, rsl = t["request_lost_bytes"], t["response_lost_bytes"]
            if c is None:
                check(rql > 0, nm + ": not reported by connscope")
                prev_framing = t["response_lost_framing"]
                continue
            accounted.add(id(c))
            check(t["method"] == c["method"], "%s method: truth %s, connscope %s" % (nm, t["method"], c["method"]))
            if not t["request_complete"]:
                check(c["outcome"] == "request_partial", "%s: request never completed, outcome %s" % (nm, c["outcome"]))
            elif t["status_code"] is None:
                check(c["outcome"] == "no_response", "%s: no response sent, outcome %s" % (nm, c["outcome"]))
                check(c["request_body_len"] == t["request_body_len"], nm + ": request_body_len")
                if t["request_us"] is not None and not rql:
                    check(c["request_us"] == clamp(t["request_us"]), "%s request_us: truth %s, connscope %s" % (nm, t["request_us"], c["request_us"]))
            elif rsl and t["response_lost_framing"]:
                check(c["outcome"] in ("response_partial", "response_lost_in_gap"),
                      "%s: response framing lost, outcome %s" % (nm, c["outcome"]))
            else:
                if rsl:
                    check(c["response_gap"], nm + ": response bytes lost but response_gap false")
                if rql:
                    check(c["request_gap"] or c["outcome"] != "complete", nm + ": request bytes lost but not flagged")
                if not rql and not rsl:
                    check(not c["request_gap"] and not c["response_gap"], nm + ": gap flag without loss")
                want = "complete" if t["response_complete"] else "response_partial"
                check(c["outcome"] == want, "%s: outcome %s, expected %s" % (nm, c["outcome"], want))
                for f in ("status_code", "request_body_len", "response_body_len"):
                    check(t[f] == c[f], "%s %s: truth %s, connscope %s" % (nm, f, t[f], c[f]))
                timings = ("ttfb_us", "ttlb_us", "request_us", "total_us")
                for f in timings:
                    if t[f] is not None:  # null: that byte's packet was lost
                        check(clamp(t[f]) == c[f], "%s %s: truth %s, connscope %s" % (nm, f, t[f], c[f]))
            prev_framing = t["response_lost_framing"]
    for s, lst in cexch.items():
        lossy = s in tc and (tc[s]["orig_lost_segs"] or tc[s]["resp_lost_segs"])
        for o in lst:
            if id(o) not in accounted:
                check(lossy and o["outcome"] == "no_request",
                      "stream %d: connscope exchange %s %s not in the truth" % (s, o["uri"], o["outcome"]))
    # hostile traffic that must show as named anomalies
    anom = csum.get("anomalies", {})
    big = sum(1 for o in truth["http"] if o.get("request_header_len", 0) > HEADER_CAP)
    if big:
        check(anom.get("http_headers_too_long", 0) == big,
              "http_headers_too_long %s, truth %d header blocks over the cap" % (anom.get("http_headers_too_long"), big))
    if ts["overlaps"]:
        check(anom.get("reasm_overlap_conflict", 0) >= ts["overlaps"],
              "reasm_overlap_conflict %s, truth %d conflicting retransmissions" % (anom.get("reasm_overlap_conflict"), ts["overlaps"]))
    return fails, known

for name in open(os.path.join(tmp, "names")).read().split():
    truth = load(os.path.join(tmp, name + ".truth"))
    cs = load(os.path.join(tmp, name + ".json"))
    fails, known = compare(name, truth, cs)
    ts = truth["summary"][0]
    what = ("%d packets, %d connections, %d http exchanges, %d lost segments, %d reordered pairs"
            % (ts["packets"], ts["connections"], ts["http_exchanges"], ts["lost_segments"], ts["reordered_pairs"]))
    for k in known:
        print("KNOWN %s: %s" % (name, k))
    if fails:
        total_fail += 1
        print("FAIL: %s (%s): %d differences" % (name, what, len(fails)))
        for f in fails[:25]:
            print("    " + f)
    else:
        print("ok: %s: connscope recovers the truth (%s)" % (name, what))
sys.exit(1 if total_fail else 0)
PY

# tshark: valid packets, clean TCP analysis where nothing was lost, conversation counts
if command -v tshark >/dev/null 2>&1; then
    mkdir -p "$TMP/wsconfig"
    export WIRESHARK_CONFIG_DIR="$TMP/wsconfig"
    for name in $(cat "$TMP/names"); do
        f="$TMP/$name.pcap"
        conns=$(grep '"type":"summary"' "$TMP/$name.truth" | sed 's/.*"connections":\([0-9]*\).*/\1/')
        convs=$(tshark -r "$f" -q -z conv,tcp 2>/dev/null | grep -c '<->')
        [ "$convs" = "$conns" ] || fail "$name: tshark sees $convs tcp conversations, truth $conns"
        filter='_ws.malformed'
        case " $CLEAN " in *" $name "*) filter='_ws.malformed || tcp.analysis.flags && !tcp.analysis.window_update' ;; esac
        # the huge chunk size is deliberately beyond what tshark's HTTP dissector accepts
        [ "$name" = huge-chunk ] && filter='_ws.malformed && !http'
        bad=$(tshark -r "$f" -Y "$filter" 2>/dev/null | head -5)
        if [ -n "$bad" ]; then
            fail "$name: tshark flags packets ($filter):"
            echo "$bad"
        else
            pass "$name: tshark: $convs conversations, nothing matches '$filter'"
        fi
    done
else
    echo "note: tshark not installed: packet validity not checked"
fi

# reproducible, and streaming to stdout gives the same bytes
# shellcheck disable=SC2086
"$GEN" --seed 7 -o - "$DATA/lossy.csv" | cmp -s - "$TMP/lossy.pcap" &&
    pass "connscope-gen -o - writes the same pcap as -o FILE, run after run" ||
    fail "connscope-gen -o - differs from the earlier -o FILE run"
"$GEN" --seed 8 -o "$TMP/seed8.pcap" "$DATA/lossy.csv"
cmp -s "$TMP/seed8.pcap" "$TMP/lossy.pcap" && fail "--seed 8 gave the same capture as --seed 7"
finish
