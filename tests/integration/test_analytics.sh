#!/bin/bash
# test_analytics.sh - the analytics aggregates (-A: top talkers, activity per bucket, latency per
# server, flow profile; --host) against tallies computed independently from tshark's per-frame
# fields with awk, sort and uniq, on every capture of all_captures (committed and corpus).
#
# tshark side (one batched pass, tshark_fields in lib.sh), per capture, buckets of 1 minute:
#   syn        frames with tcp.flags.syn=1, ack=0 (not quoted in ICMP) per bucket
#   req        http.request frames per bucket of their first segment (tcp.segment), per client
#              (req_client) and per (client, method, URI up to '?') (req_pair)
#   status     http.response.code (not 100/102/103) per status class, in the bucket of the request
#              named by http.request_in (of the response's first segment when it has none)
#   conn       tcp.stream values per bucket of their first frame; conn_client: the source of the
#              stream's first SYN, else the destination of its first SYN/ACK
#   flow_pkts  streams by frames; flow_bytes / bytes / bytes_all: streams by payload bytes counted
#              by sequence space per direction (from ISN+1, or the first data byte, to the highest
#              byte sent or acknowledged), split c2s/s2c by the client above
#   lat        per server: ttfb = request frame -> first segment of its response, total = first
#              segment of the request -> response frame; the p50/p90/p99 connscope must print are
#              computed here exactly (the middle of the hist.h bin of the nearest-rank value,
#              clamped to min/max), max must be equal, and each --slow count must lie within the
#              bounds connscope prints.
# connscope side: --json -A --top 1000000 --bucket 1m, turned into the same lines. Responses that
# connscope saw cut (gap, RST, end of capture: outcome not complete, or response_gap) are taken out
# of its status tally: tshark reports a response only once its body is complete.
# Differences that are not the analytics' to fix are listed in KNOWN with the reason and printed.
. "$(dirname "$0")/lib.sh"
need_tshark
need_python
W=60
SLOW_US=100,1000,10000,100000
TSHARK_FIELDS="frame.number tcp.stream _ws.col.No. frame.time_epoch frame.protocols ip.src ip.dst ipv6.src ipv6.dst tcp.srcport tcp.dstport tcp.flags.syn tcp.flags.ack tcp.flags.fin icmp.type icmpv6.type ip.flags.mf ip.frag_offset ipv6.fraghdr.ident tcp.len tcp.seq tcp.ack tcp.segment http.request.method http.request.uri http.response.code http.request_in"
all_captures >"$TMP/caps"
[ -d "$CORPUS" ] || echo "note: no corpus at $CORPUS: checking the committed captures only"
mapfile -t caps <"$TMP/caps"
tshark_fields "$TMP/ts" "${caps[@]}"

# capture -> "categories|reason" (categories allowed to differ)
declare -A KNOWN=(
    [pcaps/http-lost-request-segment.pcap]="req req_client req_pair|tshark loses the PUT whose body has a hole (truth: 2 requests, test_http_truth.sh)"
    [pcaps/http-pipelined.pcap]="status|tshark swallows the 204 as the body of the HEAD response"
    [pcaps/http2/h2c-abort.pcap]="req req_client req_pair status|HTTP/2: the tshark fields here are HTTP/1 ones (http.*); HTTP/2 exchanges are checked against tshark's http2.* in test_http2.sh"
    [pcaps/http2/h2c-features.pcap]="req req_client req_pair status|HTTP/2: the tshark fields here are HTTP/1 ones (http.*); HTTP/2 exchanges are checked against tshark's http2.* in test_http2.sh"
    [pcaps/http2/h2c-gap.pcap]="req req_client req_pair status|HTTP/2: the tshark fields here are HTTP/1 ones (http.*); HTTP/2 exchanges are checked against tshark's http2.* in test_http2.sh"
    [pcaps/http2/h2c-large.pcap]="req req_client req_pair status|HTTP/2: the tshark fields here are HTTP/1 ones (http.*); HTTP/2 exchanges are checked against tshark's http2.* in test_http2.sh"
    [pcaps/http2/h2c-nginx.pcap]="req req_client req_pair status|HTTP/2: the tshark fields here are HTTP/1 ones (http.*); HTTP/2 exchanges are checked against tshark's http2.* in test_http2.sh"
    [pcaps/ws-edge/c03_reuse_while_open.pcap]="bytes bytes_all flow_bytes|crafted sequence numbers (port reuse while open): tshark's relative sequence numbers wrap"
    [pcaps/ws-edge/c05_reverse_syn_new_seq.pcap]="bytes bytes_all flow_bytes|crafted sequence numbers (reverse SYN with a new ISN): tshark's relative sequence numbers wrap"
    [pcaps/ws-edge/c07_synack_diff_seq.pcap]="bytes bytes_all flow_bytes|crafted sequence numbers (SYN/ACK with another ISN)"
    [pcaps/ws-edge/c10_trunc_16.pcap]="bytes bytes_all flow_bytes|TCP header cut at 16 bytes: no data offset, tshark's sequence numbers are not relative"
    [pcaps/ws-edge/c10_trunc_19.pcap]="bytes bytes_all flow_bytes|TCP header cut at 19 bytes"
    [pcaps/ws-edge/c10_trunc_20.pcap]="bytes bytes_all flow_bytes|TCP header cut at 20 bytes"
    [pcaps/ws-edge/c11_bad_doff.pcap]="syn bytes_all flow_bytes|TCP data offset < 5: tshark stops before the flags and the payload (test_syn_counts.sh)"
    [pcaps/ws-edge/c15_ipv4_frag.pcap]="bytes bytes_all flow_bytes|crafted fragments whose sequence numbers make tshark's relative sequence numbers wrap"
    [pcaps/ws-edge/c25_snmp_tcp_split.pcap]="conn flow_pkts flow_bytes|Wireshark's SNMP dissector splits the conversation into another stream (design.md)"
    [pcaps/ws-edge/c26_vnc_heur_split.pcap]="conn flow_pkts flow_bytes req req_client req_pair|Wireshark's VNC heuristic splits the conversation (design.md); tshark then sees no HTTP"
    [pcaps/tunnels/edge/t13_malformed.pcap]="conn conn_client syn flow_pkts flow_bytes|a SYN under five nested IP-in-IP headers: connscope decodes four tunnel layers at most (tunnel_depth), tshark goes on"
    [pcaps/ws-edge/c27_time_gap.pcap]="conn conn_client flow_pkts flow_bytes|a silence longer than --idle-timeout ends the connection record: the later packets are a new record of the same tcp.stream"
    [corpus:arkime/http-tcp-seq-issue.pcap]="req req_client req_pair|tshark dissects no request (the sequence-number issue the capture is named after); Arkime asserts the POST (test_http_counts.sh)"
    [corpus:pcapplusplus/unidirectional_tcp_stream_with_missing_packet.pcap]="req req_client req_pair|one direction with a lost segment: tshark's reassembly stops at the hole, the second POST is not dissected"
    [corpus:suricata-verify/bug-7264-tcp-3whs-ack-data-tls-01__input.pcap]="conn conn_client flow_pkts flow_bytes bytes bytes_all|a packet after the close linger is a continuation record (resumed, uid suffix r) of the same tcp.stream"
    [corpus:suricata-verify/http-gap-beyond-body__input.pcap]="status|tshark dissects no response after the gap; connscope pairs /3 with its 200"
    [corpus:zeek/http__concurrent-range-requests.pcap]="status|tshark reports 2 of the 3 complete 206 responses"
    [corpus:zeek/http__http-single-conn-22.pcap]="req req_client req_pair status|tshark does not dissect this connection as HTTP"
    [corpus:zeek/http__http_09.pcap]="req req_client req_pair status|HTTP/0.9 simple requests: tshark does not dissect them, connscope reports them as Zeek does"
    [corpus:zeek/http__methods.pcap]="req req_client req_pair status|odd methods and request lines: connscope follows Zeek (test_http_zeek.sh), tshark splits them differently"
    [corpus:zeek/http__no-version.pcap]="req req_client req_pair status|a request line without version: tshark does not dissect it, connscope (as Zeek) does"
    [corpus:zeek/http__zero-length-bodies-with-drops.pcap]="status req_pair|after the drops tshark pairs responses with other requests"
)
# the exchanges are the same, tshark's frames time them differently
# latency not compared (the exchange sets agree, the times are measured differently)
declare -A KNOWN_LAT=(
    [pcaps/http-early-response.pcap]="tshark places the request at the end of its body"
    [pcaps/http-100-continue.pcap]="tshark places the request at the end of its body"
    [corpus:zeek/http__zero-length-bodies-with-drops.pcap]="after the drops tshark pairs responses with other requests (the same number of pairs)"
)

cat >"$TMP/tally.awk" <<'AWK'
# tally.awk - analytics tallies of one capture from its tshark fields (columns as TSHARK_FIELDS in
# test_analytics.sh). Prints tab-separated lines "KIND<TAB>KEY...<TAB>COUNT", one per key:
#   syn BUCKET N            SYN-without-ACK packets (not quoted in ICMP) per bucket
#   req BUCKET N            HTTP requests per bucket of their first segment
#   status BUCKET CLASS N   final responses (not 100/102/103) per bucket of their request
#   req_client IP N         requests per client (ip.src of the request)
#   req_pair IP METHOD PATH N  requests per (client, method, path without query)
#   conn BUCKET N           TCP streams per bucket of their first frame
#   conn_client IP N        streams per client: source of the first SYN, else destination of the
#                           first SYN/ACK, else "?"
#   flow_pkts CLASS N       streams by frames (ICMP quotes left out)
#   flow_bytes CLASS N      streams by summed tcp.len
#   bytes BUCKET DIR N      tcp.len per bucket of the stream's first frame, c2s/s2c
# and, into the file LAT, one line "lat SERVER ttfb|total MICROSECONDS" per paired exchange.
# -v: W bucket width (seconds), FIELDS the tshark field names in column order, HOST (optional) an
# address: only SYNs, exchanges and streams with HOST as an endpoint count (as --host).
BEGIN {
    FS = "\t"; OFS = "\t"
    n = split(FIELDS, names, " ")
    for (i = 1; i <= n; i++) F[names[i]] = i
}
function bucket(t,    s) { s = t; sub(/\..*/, "", s); return int(s / W) * W }
function mine(a, b) { return HOST == "" || a == HOST || b == HOST }
# microseconds from a to b ("sec.fraction" strings), truncated like connscope's ns / 1000
function us(a, b,    sa, sb, fa, fb) {
    sa = a; sub(/\..*/, "", sa); fa = substr(a, length(sa) + 2) "000000000"
    sb = b; sub(/\..*/, "", sb); fb = substr(b, length(sb) + 2) "000000000"
    d = int(((sb - sa) * 1000000000 + (substr(fb, 1, 9) - substr(fa, 1, 9))) / 1000)
    return d < 0 ? 0 : d   # connscope's spans are never negative
}
# time of the last byte of a PDU reassembled in this frame: the last of its segments (tcp.segment)
# that carried data (the reassembling frame may be a bare FIN: a close-delimited body ends earlier)
function lastdata(seg, abs, t,    n, sg, i) {
    if (seg == "" || plen[abs] > 0) return t
    n = split(seg, sg, ",")
    for (i = n; i >= 1; i--) if (plen[sg[i]] > 0) return time[sg[i]]
    return t
}
function isset(v) { return v != "" && v != "0" && v != "False" }
function cls(n, ub, k,    i) { for (i = 1; i <= k; i++) if (n <= ub[i]) return i - 1; return k }
{
    fr = $F["frame.number"]; st = $F["tcp.stream"]; abs = $F["_ws.col.No."]; t = $F["frame.time_epoch"]
    time[abs] = t; plen[abs] = $F["tcp.len"] + 0
    src = $F["ip.src"] != "" ? $F["ip.src"] : $F["ipv6.src"]
    dst = $F["ip.dst"] != "" ? $F["ip.dst"] : $F["ipv6.dst"]
    sport = $F["tcp.srcport"]; dport = $F["tcp.dstport"]; sub(/,.*/, "", sport); sub(/,.*/, "", dport)
    icmp = $F["icmp.type"] != "" || $F["icmpv6.type"] != ""
    if (icmp) {
        sub(/,.*/, "", src); sub(/,.*/, "", dst)   # the ICMP error's own addresses
    } else {
        # tunnels: the innermost IP header's addresses (the last ip or ipv6 layer)
        np = split($F["frame.protocols"], pr, ":"); inner = "ip"
        for (i = np; i >= 1; i--) if (pr[i] == "ip" || pr[i] == "ipv6") { inner = pr[i]; break }
        f4 = inner == "ipv6" ? "ipv6" : "ip"
        n4 = split($F[f4 ".src"], as, ","); split($F[f4 ".dst"], ad, ",")
        if (n4 > 0) { src = as[n4]; dst = ad[n4] }
    }
    syn = isset($F["tcp.flags.syn"]); ack = isset($F["tcp.flags.ack"])
    # (a SYN in fragments counts once, in the frame that completes the datagram: tshark shows its
    # TCP header there, and connscope reassembles IP fragments as Wireshark does)
    if (syn && !ack && !icmp && st != "" && mine(src, dst)) out["syn\t" bucket(t)]++
    sflow = index($F["frame.protocols"], ":sflow:") > 0  # TCP headers sampled in sFlow: not packets of a stream
    if (st != "" && !icmp && !sflow) {
        split(st, ss, ","); s = ss[1]
        if (!(s in first)) { first[s] = t; order[++ns] = s; ends[s] = src SUBSEP dst }
        pkts[s]++
        if (syn && !ack && !(s in client)) { client[s] = src; csport[s] = sport }
        if (syn && ack && !(s in client2)) { client2[s] = dst; csport2[s] = dport }
        # payload bytes by sequence space: from ISN+1 (a SYN seen) or the first data byte, to the
        # highest byte sent (retransmissions once, holes counted, as connscope's bytes)
        d = src SUBSEP sport; ln = $F["tcp.len"] + 0; sq = $F["tcp.seq"] + 0
        if (syn) { lo[s, d] = sq + 1; dirs[s, d] = 1 }
        if (ln > 0) {
            if (!((s, d) in lo) || sq < lo[s, d]) lo[s, d] = sq
            if (!((s, d) in hi) || sq + ln > hi[s, d]) hi[s, d] = sq + ln
            dirs[s, d] = 1
        }
        if (isset($F["tcp.flags.fin"]) && !((s, d) in fin)) fin[s, d] = sq + ln
        # bytes the peer acknowledged were sent although not captured (ACK of a FIN: not a byte)
        if (ack && $F["tcp.ack"] != "") {
            o = dst SUBSEP dport
            if (!((s, o) in ackhi) || $F["tcp.ack"] + 0 > ackhi[s, o]) ackhi[s, o] = $F["tcp.ack"] + 0
        }
    }
    seg = $F["tcp.segment"]
    if ($F["http.request.method"] != "" && mine(src, dst)) {     # requests in this frame
        nm = split($F["http.request.method"], m, ","); nu = split($F["http.request.uri"], u, ",")
        start = t
        if (seg != "") { split(seg, sg, ","); start = time[sg[1]] }
        for (i = 1; i <= nm; i++) {
            b = bucket(i == 1 ? start : t)
            out["req\t" b]++
            out["req_client\t" src]++
            p = nu == nm ? u[i] : "?"
            sub(/[?#].*/, "", p)
            out["req_pair\t" src "\t" m[i] "\t" p]++
            reqb[abs, i] = b
            reqt0[abs, i] = i == 1 ? start : t
        }
        reqt1[abs] = lastdata(seg, abs, t); reqsrv[abs] = dst ":" dport
        nreq[abs] = nm
    }
    if ($F["http.response.code"] != "" && mine(src, dst)) {      # responses in this frame
        nc = split($F["http.response.code"], c, ","); nr = split($F["http.request_in"], r, ",")
        rstart = t
        if (seg != "") { split(seg, sg, ","); rstart = time[sg[1]] }
        for (i = 1; i <= nc; i++) {
            if (c[i] == 100 || c[i] == 102 || c[i] == 103) continue
            k = c[i] >= 100 && c[i] < 600 ? int(c[i] / 100) : 0
            b = bucket(rstart)
            if (i <= nr && r[i] != "") {
                ra = r[i]; j = 1
                # several requests in the request frame: the first not yet answered
                while ((ra, j) in answered && j < nreq[ra]) j++
                answered[ra, j] = 1
                if ((ra, j) in reqb) {
                    b = reqb[ra, j]
                    # latency of the pair: ttfb from the request's last frame to the response's
                    # first, total from the request's first to the response's last
                    print "lat", reqsrv[ra], "ttfb", us(reqt1[ra], rstart) > LAT
                    print "lat", reqsrv[ra], "total", us(reqt0[ra, j], lastdata(seg, abs, t)) > LAT
                }
            }
            out["status\t" b "\t" k]++
        }
    }
}
END {
    pu[1] = 1; pu[2] = 3; pu[3] = 10; pu[4] = 100; pu[5] = 1000
    bu[1] = 0; bu[2] = 100; bu[3] = 1000; bu[4] = 10000; bu[5] = 100000; bu[6] = 1000000; bu[7] = 10000000
    for (k in ackhi) dirs[k] = 1
    for (k in dirs) {                    # bytes per stream and direction
        split(k, q, SUBSEP)
        h = (k in hi) ? hi[k] : ((k in lo) ? lo[k] : 0)
        if ((k in ackhi) && (k in lo)) {
            a = (k in fin) && ackhi[k] > fin[k] ? fin[k] : ackhi[k]
            if (a > h) h = a
        }
        nb = (k in lo) && h > lo[k] ? h - lo[k] : 0
        tot[q[1]] += nb
        dbytes[k] = nb
    }
    for (k = 1; k <= ns; k++) {
        s = order[k]; b = bucket(first[s])
        split(ends[s], e2, SUBSEP)
        if (!mine(e2[1], e2[2])) continue
        out["conn\t" b]++
        if (s in client) { cl = client[s]; cp = csport[s] }
        else if (s in client2) { cl = client2[s]; cp = csport2[s] }
        else { cl = "?"; cp = "" }
        out["conn_client\t" cl]++
        out["flow_pkts\t" cls(pkts[s], pu, 5)]++
        out["flow_bytes\t" cls(tot[s] + 0, bu, 7)]++
        out["bytes_all\t" b] += tot[s]
        if (cl == "?")
            unknown++
        c2s = dbytes[s, cl, cp] + 0
        dirb[b "\tc2s"] += c2s
        dirb[b "\ts2c"] += tot[s] - c2s
    }
    if (unknown > 0)
        out["unknown_clients"] = unknown
    else
        for (k in dirb) out["bytes\t" k] = dirb[k]
    for (k in out) if (out[k] > 0) printf "%s\t%.0f\n", k, out[k]
}
AWK

cat >"$TMP/pct.awk" <<'AWK'
# pct.awk - from "lat SERVER ttfb|total US" lines sorted by server, metric and value: per (server,
# metric) the count, the p50/p90/p99 connscope must print (the middle of the hist.h bin holding the
# nearest-rank value, clamped to min/max), the max, and how many values exceed each threshold of
# SLOW (comma-separated microseconds):
#   lat SERVER METRIC N P50 P90 P99 MAX
#   slow SERVER total THRESHOLD COUNT
BEGIN { FS = OFS = "\t"; ns = split(SLOW, thr, ",") }
function binmid(v,    e, w, low) {
    if (v < 128) return v
    e = 0; while (2 ^ (e + 1) <= v) e++
    w = 2 ^ (e - 6); low = int(v / w) * w
    return low + int((w - 1) / 2)
}
function rank(q, n,    r) { r = q * n / 100; if (r > int(r)) r = int(r) + 1; return r < 1 ? 1 : r }
function clamp(v, lo, hi) { return v < lo ? lo : v > hi ? hi : v }
function flush(    n, i, k) {
    n = cnt; if (n == 0) return
    printf "lat\t%s\t%s\t%d", key1, key2, n
    split("50 90 99", qs, " ")
    for (i = 1; i <= 3; i++) printf "\t%d", clamp(binmid(v[rank(qs[i], n)]), v[1], v[n])
    printf "\t%d\n", v[n]
    if (key2 == "total")
        for (k = 1; k <= ns; k++) {
            c = 0; for (i = 1; i <= n; i++) if (v[i] > thr[k]) c++
            print "slow", key1, key2, thr[k], c
        }
    cnt = 0
}
{ if ($2 != key1 || $3 != key2) { flush(); key1 = $2; key2 = $3 }; v[++cnt] = $4 + 0 }
END { flush() }
AWK

cat >"$TMP/cs_tally.py" <<'PY'
# cs_tally.py W LIST - the same tallies as tally.awk from connscope's analytics JSON lines: LIST has
# lines "IN<TAB>OUT<TAB>HOST" (HOST may be empty: --host given to connscope); writes OUT sorted.
import collections, json, sys
W = int(sys.argv[1])
LABELS = {"packets": ["1", "2-3", "4-10", "11-100", "101-1000", ">1000"],
          "bytes": ["0", "1-100", "101-1000", "1001-10000", "10001-100000", "100001-1000000",
                    "1000001-10000000", ">10000000"]}

def tally(path, host):
    out, cut = [], collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        o = json.loads(line)
        t = o.get("type")
        if t == "activity":
            b = int(o["start"])
            for k, v in (("syn", o["syn_pkts"]), ("req", o["requests"]), ("conn", o["conns"])):
                if v:
                    out.append("%s\t%d\t%d" % (k, b, v))
            for c, v in enumerate(o["status_class"]):
                if v:
                    out.append("status\t%d\t%d\t%d" % (b, c, v))
            if o["bytes_c2s"] + o["bytes_s2c"]:
                out.append("bytes_all\t%d\t%d" % (b, o["bytes_c2s"] + o["bytes_s2c"]))
            for d in ("c2s", "s2c"):
                if o["bytes_" + d]:
                    out.append("bytes\t%d\t%s\t%d" % (b, d, o["bytes_" + d]))
        elif t == "http" and o["status_code"] is not None and \
                (o["outcome"] not in ("complete", "no_request") or o["response_gap"]) and \
                (not host or host in (o["id.orig_h"], o["id.resp_h"])):
            # a response whose body was cut (gap, RST, end of capture): tshark does not report it
            st = o["request_start"] if o["request_start"] is not None else o["response_start"]
            c = o["status_code"] // 100 if 100 <= o["status_code"] < 600 else 0
            cut["status\t%d\t%d" % (int(st) // W * W, c)] += 1
        elif t == "top_talker":
            if o["table"] == "client_requests":
                out.append("req_client\t%s\t%d" % (o["client"], o["count"]))
            elif o["table"] == "client_conns":
                out.append("conn_client\t%s\t%d" % (o["client"], o["count"]))
            else:
                out.append("req_pair\t%s\t%s\t%s\t%d" % (o["client"], o["method"], o["path"], o["count"]))
        elif t == "flow_profile" and o["conns"]:
            out.append("flow_%s\t%d\t%d" % ("pkts" if o["by"] == "packets" else "bytes",
                                            LABELS[o["by"]].index(o["class"]), o["conns"]))
        elif t == "latency":
            srv = "%s:%d" % (o["server"], o["port"])
            for m in ("ttfb", "total"):
                h = o[m + "_us"]
                if h["n"]:
                    out.append("lat\t%s\t%s\t%d\t%d\t%d\t%d\t%d" % (srv, m, h["n"], h["p50"], h["p90"], h["p99"], h["max"]))
            for sl in o["slow"]:
                out.append("slow\t%s\ttotal\t%d\t%d\t%d" % (srv, sl["over_us"], sl["min"], sl["max"]))
    res = []
    for l in out:
        if l.startswith("status\t"):
            k, v = l.rsplit("\t", 1)
            n = int(v) - cut.pop(k, 0)
            if n:
                res.append("%s\t%d" % (k, n))
        else:
            res.append(l)
    res += ["%s\t%d" % (k, -v) for k, v in cut.items()]  # cut responses not in the tally: a bug
    return sorted(res)

for spec in open(sys.argv[2]):
    inp, outp, host = spec.rstrip("\n").split("\t")
    with open(outp, "w") as f:
        f.write("".join(l + "\n" for l in tally(inp, host)))
PY

# The batched tshark pass must give the HTTP fields a plain run gives (it is checked for the TCP
# fields in lib.sh): compare on captures with pipelined, multi-segment and IPv6 exchanges.
for c in pcaps/http-pipelined.pcap pcaps/http-multiseg.pcap pcaps/http-ipv6.pcap corpus:zeek/http__pipelined-requests.pcap; do
    case $c in corpus:*) f=$CORPUS/${c#corpus:} ;; *) f=$SRCDIR/$c ;; esac
    [ -f "$f" ] || continue
    i=$(grep -nxF "$f" "$TMP/caps" | cut -d: -f1)
    args=()
    for x in $TSHARK_FIELDS; do args+=(-e "$x"); done
    tshark -r "$f" -T fields "${args[@]}" 2>/dev/null >"$TMP/solo"
    # the batched run numbers frames from the start of the concatenation: _ws.col.No.,
    # tcp.segment and http.request_in are shifted by the frames before the capture
    awk -F'\t' -v OFS='\t' -v FIELDS="$TSHARK_FIELDS" '
        BEGIN { n = split(FIELDS, nm, " "); for (i = 1; i <= n; i++) F[nm[i]] = i }
        { off = $F["_ws.col.No."] - $1; $F["_ws.col.No."] = $1
          for (c = 1; c <= n; c++) if (nm[c] == "tcp.segment" || nm[c] == "http.request_in") {
              m = split($c, v, ","); x = ""
              for (j = 1; j <= m; j++) x = x (j > 1 ? "," : "") (v[j] - off)
              $c = x } } 1' "$TMP/ts/$i.fields" >"$TMP/batched"
    if cmp -s "$TMP/batched" "$TMP/solo"; then
        pass "$c: batched tshark fields equal a plain run's"
    else
        fail "$c: batched tshark fields differ from a plain run's"
    fi
done

export LC_ALL=C
# pass 1: tallies of both sides (one python for all captures: it is slow to start)
: >"$TMP/list"
for i in "${!caps[@]}"; do
    k=$((i + 1))
    : >"$TMP/l.$k"
    awk -v W=$W -v LAT="$TMP/l.$k" -v FIELDS="$TSHARK_FIELDS" -f "$TMP/tally.awk" "$TMP/ts/$k.fields" |
        sort >"$TMP/t.$k"
    "$CONNSCOPE" --json -A --top 1000000 --bucket 1m --slow 100us,1ms,10ms,100ms "${caps[$i]}" \
        >"$TMP/j.$k" 2>/dev/null
    rc=$?
    [ $rc -le 1 ] || fail "$(capname "${caps[$i]}"): connscope exit status $rc"
    printf '%s\t%s\t\n' "$TMP/j.$k" "$TMP/c.$k" >>"$TMP/list"
done
# --host narrows every aggregate: the same tallies restricted to one address
HOSTS="pcaps/tcp-mixed.pcap=127.0.0.2 pcaps/tcp-mixed.pcap=127.0.0.1
corpus:zeek/http__methods.pcap=128.2.6.136 corpus:zeek/wikipedia.pcap=208.80.152.2
corpus:zeek/wikipedia.pcap=208.80.152.118"
h=0
for c in $HOSTS; do
    cap=${c%=*} host=${c#*=}
    case $cap in corpus:*) f=$CORPUS/${cap#corpus:} ;; *) f=$SRCDIR/$cap ;; esac
    [ -f "$f" ] || continue
    h=$((h + 1))
    k=$(grep -nxF "$f" "$TMP/caps" | cut -d: -f1)
    awk -v W=$W -v LAT=/dev/null -v HOST="$host" -v FIELDS="$TSHARK_FIELDS" -f "$TMP/tally.awk" \
        "$TMP/ts/$k.fields" | sort >"$TMP/th.$h"
    "$CONNSCOPE" --json -A --top 1000000 --bucket 1m --host "$host" "$f" >"$TMP/jh.$h" 2>/dev/null
    printf '%s\t%s\t%s\n' "$TMP/jh.$h" "$TMP/ch.$h" "$host" >>"$TMP/list"
done
python3 "$TMP/cs_tally.py" $W "$TMP/list" || fail "cs_tally.py failed"

# Categories of the lines that differ between two tally files (none: empty).
differing() { diff "$1" "$2" | awk -F'\t' '/^[<>] / { print substr($1, 3) }' | sort -u | grep -v '^lat$\|^slow$'; }

# pass 2: compare
compared=0 known=0 latn=0
for i in "${!caps[@]}"; do
    f=${caps[$i]}
    n=$(capname "$f")
    k=$((i + 1))
    [ "$(cat "$TMP/ts/$k.rc")" = 0 ] || { echo "note: $n: tshark failed, not compared"; continue; }
    allowed=${KNOWN[$n]:-}
    unknown=$(grep -c '^unknown_clients' "$TMP/t.$k")
    for cat in $(differing "$TMP/t.$k" "$TMP/c.$k"); do
        # without a known client for every stream, c2s/s2c and clients cannot be told here
        [ "$unknown" -gt 0 ] && case $cat in bytes | conn_client | unknown_clients) continue ;; esac
        [[ " ${allowed%%|*} " == *" $cat "* ]] && continue
        fail "$n: $cat differs from tshark (< tshark, > connscope):"
        diff <(grep "^$cat	" "$TMP/t.$k") <(grep "^$cat	" "$TMP/c.$k") | grep '^[<>]' | head -8 |
            sed 's/^/    /'
    done
    compared=$((compared + 1))
    if [ -n "$allowed" ]; then
        known=$((known + 1))
        echo "known: $n: ${allowed%%|*} may differ: ${allowed#*|}"
    fi
    # latency per server, where both sides paired the same number of exchanges
    [ -s "$TMP/l.$k" ] || continue
    if [ -n "${KNOWN_LAT[$n]:-}" ]; then
        echo "known: $n: latency not compared: ${KNOWN_LAT[$n]}"
        continue
    fi
    sort -t'	' -k2,2 -k3,3 -k4,4n "$TMP/l.$k" | awk -v SLOW=$SLOW_US -f "$TMP/pct.awk" >"$TMP/lt"
    if ! cmp -s <(grep '^lat	' "$TMP/lt" | cut -f2-4 | sort) <(grep '^lat	' "$TMP/c.$k" | cut -f2-4); then
        echo "note: $n: latency not compared: tshark and connscope paired different exchanges"
        continue
    fi
    if ! diff <(grep '^lat	' "$TMP/lt" | sort) <(grep '^lat	' "$TMP/c.$k") >"$TMP/d"; then
        fail "$n: latency percentiles/max differ (< expected from tshark, > connscope):"
        grep '[<>]' "$TMP/d" | sed 's/^/    /'
    fi
    # every true slow count within connscope's [min, max]
    join -t'	' <(awk -F'\t' '$1 == "slow" { print $2 ":" $4 "\t" $5 }' "$TMP/lt" | sort) \
        <(awk -F'\t' '$1 == "slow" { print $2 ":" $4 "\t" $5 "\t" $6 }' "$TMP/c.$k" | sort) |
        awk -F'\t' -v n="$n" '$2 < $3 || $2 > $4 { print "FAIL: " n ": " $1 ": " $2 " exchanges slower, connscope says " $3 "-" $4; bad = 1 } END { exit bad }' ||
        FAILS=$((FAILS + 1))
    latn=$((latn + 1))
done
pass "$compared captures compared with tshark ($known with known differences); latency on $latn"

h=0
for c in $HOSTS; do
    cap=${c%=*} host=${c#*=}
    case $cap in corpus:*) f=$CORPUS/${cap#corpus:} ;; *) f=$SRCDIR/$cap ;; esac
    [ -f "$f" ] || continue
    h=$((h + 1))
    allowed=${KNOWN[$cap]:-}
    bad=0
    for cat in $(differing "$TMP/th.$h" "$TMP/ch.$h"); do
        [[ " unknown_clients bytes conn_client ${allowed%%|*} " == *" $cat "* ]] && continue
        bad=1
        fail "$cap --host $host: $cat differs from tshark:"
        diff <(grep "^$cat	" "$TMP/th.$h") <(grep "^$cat	" "$TMP/ch.$h") | grep '^[<>]' | head -8 |
            sed 's/^/    /'
    done
    [ $bad = 0 ] && pass "$cap --host $host: $(grep -vc '^lat\|^slow' "$TMP/ch.$h") tally lines as tshark's"
done

# ---- metrics and plot of a run over several captures (minutes apart: empty buckets between) ----
M="$TMP/metrics"
mkdir -p "$M"
mfiles=("$PCAPS/http-keepalive.pcap" "$PCAPS/http-pipelined.pcap" "$PCAPS/http-100-continue.pcap"
    "$PCAPS/tcp-mixed.pcap" "$PCAPS/tcp-refused.pcap")
"$CONNSCOPE" --bucket 1m --metrics graphite="$M/g.txt" --metrics prometheus="$M/p.txt" \
    --summary-out "$M/s.json" --plot "$M/plot.svg" --json -A "${mfiles[@]}" >"$M/run.json" 2>"$M/err" ||
    fail "metrics run: exit $?: $(cat "$M/err")"
python3 - "$M" <<'PY' || FAILS=$((FAILS + 1))
import json, re, sys, collections, xml.etree.ElementTree as ET
d = sys.argv[1]
s = json.load(open(d + "/s.json"))
act = [o for o in map(json.loads, open(d + "/run.json")) if o["type"] == "activity"]
tot = lambda k: sum(b[k] for b in s["buckets"])
w = s["bucket_ns"] // 10**9
starts = [b["start_ns"] // 10**9 for b in s["buckets"]]
want_ts = list(range(min(starts), max(starts) + w, w))  # every bucket, empty ones too
bad = []
# graphite: "path value timestamp", one value per metric and bucket, sums = totals
g = collections.defaultdict(dict)
for line in open(d + "/g.txt"):
    m = re.fullmatch(r"(connscope(?:\.[a-z0-9_]+)+) (\d+) (\d+)\n", line)
    if not m:
        bad.append("graphite line %r" % line)
        continue
    if int(m.group(3)) in g[m.group(1)]:
        bad.append("graphite: %s twice at %s" % (m.group(1), m.group(3)))
    g[m.group(1)][int(m.group(3))] = int(m.group(2))
for path, key in (("connscope.conns", "conns"), ("connscope.syn_pkts", "syn_pkts"),
                  ("connscope.http.requests", "requests"), ("connscope.bytes.c2s", "bytes_c2s")):
    if sorted(g[path]) != want_ts:
        bad.append("graphite %s: timestamps %s, want every bucket %s" % (path, sorted(g[path]), want_ts))
    if sum(g[path].values()) != tot(key):
        bad.append("graphite %s sums to %d, summary %d" % (path, sum(g[path].values()), tot(key)))
if sum(sum(g["connscope.http.status." + c].values()) for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")) != \
        sum(sum(b["status_class"]) for b in s["buckets"]):
    bad.append("graphite status classes do not sum to the responses")
# prometheus (OpenMetrics): HELP and TYPE before each family's samples; each series in one run of
# lines, a point at every bucket boundary (the first start with 0, then every bucket's end), values
# cumulative (never down), the last one the summary's total; # EOF at the end
fam, helped, series, done = None, set(), collections.OrderedDict(), set()
lines = open(d + "/p.txt").read().split("\n")
if lines[-2:] != ["# EOF", ""]:
    bad.append("prometheus: no # EOF at the end")
for line in lines[:-2]:
    m = re.fullmatch(r"# (HELP|TYPE) (\w+) (.+)", line)
    if m:
        fam = m.group(2)
        helped.add((m.group(1), fam))
        continue
    m = re.fullmatch(r'(\w+)(\{(?:\w+="[^"]*",?)+\})? ([0-9.e+-]+) ([0-9]+\.[0-9]{3})', line)
    if not m:
        bad.append("prometheus line %r" % line)
        continue
    name, labels, v, ts = m.group(1), m.group(2) or "", float(m.group(3)), float(m.group(4))
    if not name.startswith(fam) or ("TYPE", fam) not in helped or ("HELP", fam) not in helped:
        bad.append("prometheus %s without HELP/TYPE" % name)
    key = (name, labels)
    if key in done:
        bad.append("prometheus series %s%s not in one run of lines" % key)
    for k in list(series):
        if k != key and not k[0].startswith(fam.split("_bucket")[0]):
            done.add(k)
    series.setdefault(key, []).append((ts, v))
for (name, labels), pts in series.items():
    ts = [t for t, _ in pts]
    vals = [v for _, v in pts]
    if ts != sorted(set(ts)) or vals != sorted(vals):
        bad.append("prometheus %s%s: timestamps or values not increasing" % (name, labels))
    if name.startswith("connscope_server_ip"):
        continue
    if [int(t) for t in ts] != want_ts + [max(starts) + w] or vals[0] != 0:
        bad.append("prometheus %s%s: points at %s, first %s" % (name, labels, ts[:3], vals[0]))
last = lambda name, labels="": series[(name, labels)][-1][1]
for name, key in (("connscope_connections_total", "conns"), ("connscope_syn_packets_total", "syn_pkts"),
                  ("connscope_http_requests_total", "requests")):
    if last(name) != tot(key):
        bad.append("prometheus %s ends at %s, summary %d" % (name, last(name), tot(key)))
if last("connscope_http_ttfb_seconds_count") != sum(b["ttfb_us"]["n"] for b in s["buckets"]) or \
        last("connscope_http_ttfb_seconds_bucket", '{le="+Inf"}') != last("connscope_http_ttfb_seconds_count"):
    bad.append("prometheus ttfb _count does not end at the exchanges")
# plot: well-formed SVG, one bar segment per non-zero (bucket, class), 4 points per bucket with latency
svg = ET.parse(d + "/plot.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
segs = sum(1 for r in svg.iter(ns + "rect") if r.find(ns + "title") is not None)
want = sum((sum(b["status_class"][1:4]) > 0) + (b["status_class"][4] > 0) + (b["status_class"][5] > 0) +
           (b["status_class"][0] > 0) + (b["unanswered"] > 0) for b in act)
if segs != want:
    bad.append("plot: %d bar segments, want %d" % (segs, want))
pts = sum(1 for _ in svg.iter(ns + "circle"))
if pts != 4 * sum(1 for b in act if b["ttfb_us"]["n"] and b["total_us"]["n"]):
    bad.append("plot: %d points" % pts)
texts = " ".join(t.text or "" for t in svg.iter(ns + "text"))
for want_text in ("exchanges", "latency (log scale)", "ttfb p50", "total p99", "time (UTC)"):
    if want_text not in texts:
        bad.append("plot: no %r" % want_text)
for b in bad:
    print("FAIL: " + b)
if not bad:
    print("ok: %d buckets (%d empty): graphite counters sum to the summary's totals, prometheus ones "
          "are cumulative and end there; "
          "plot with %d bar segments and %d points" % (len(want_ts), len(want_ts) - len(starts), segs, pts))
sys.exit(1 if bad else 0)
PY
# the OpenMetrics file backfills into Prometheus's TSDB; read back, the last SYN-packet and
# connection counts are tshark's over the same captures
if command -v promtool >/dev/null 2>&1; then
    if promtool tsdb create-blocks-from openmetrics "$M/p.txt" "$M/tsdb" >"$M/bf.out" 2>&1; then
        mkdir -p "$M/tsdb/wal" # promtool tsdb dump opens a WAL; the backfilled blocks have none
        promtool tsdb dump --match='{__name__=~"connscope_(syn_packets|connections)_total"}' "$M/tsdb" \
            >"$M/dump.txt" 2>&1
        got=$(python3 - "$M/dump.txt" <<'PY'
import re, sys
last = {}
for line in open(sys.argv[1]):
    m = re.match(r'\{__name__="(\w+)"\} (\S+) (\d+)', line)
    if m and int(m.group(3)) >= last.get(m.group(1), (0, -1))[1]:
        last[m.group(1)] = (float(m.group(2)), int(m.group(3)))
print("%d %d" % (last["connscope_syn_packets_total"][0], last["connscope_connections_total"][0]))
PY
)
        want=$(for f in "${mfiles[@]}"; do
            tshark -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number | wc -l
            tshark -r "$f" -T fields -e tcp.stream | sort -un | grep -c .
        done | paste -sd' ' | awk '{print $1 + $3 + $5 + $7 + $9, $2 + $4 + $6 + $8 + $10}')
        [ "$got" = "$want" ] &&
            pass "promtool backfills the OpenMetrics file; read back: $got SYN packets and connections, as tshark" ||
            fail "backfilled SYN packets and connections: $got, tshark: $want"
    else
        fail "promtool tsdb create-blocks-from openmetrics: $(tail -3 "$M/bf.out")"
    fi
else
    echo "note: promtool not installed: OpenMetrics backfill not tried"
fi
if command -v rsvg-convert >/dev/null 2>&1; then
    if rsvg-convert -o "$M/plot.png" "$M/plot.svg" 2>"$M/err" && [ -s "$M/plot.png" ]; then
        pass "the plot renders with rsvg-convert ($(wc -c <"$M/plot.png") bytes of PNG)"
    else
        fail "rsvg-convert cannot render the plot: $(cat "$M/err")"
    fi
else
    echo "note: rsvg-convert not installed (librsvg2-bin): the plot is not rendered"
fi
# graphite over TCP: a listener receives exactly the file's lines
python3 - "$M/recv.txt" >"$M/port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(20)
c, _ = s.accept()
with open(sys.argv[1], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
PY
lp=$!
for _ in $(seq 50); do [ -s "$M/port" ] && break; sleep 0.1; done
"$CONNSCOPE" --bucket 1m --metrics graphite=127.0.0.1:"$(cat "$M/port")" "${mfiles[@]}" >/dev/null 2>"$M/err"
rc=$?
wait $lp
if [ $rc = 0 ] && cmp -s "$M/recv.txt" "$M/g.txt"; then
    pass "--metrics graphite=127.0.0.1:PORT: the carbon listener received the $(wc -l <"$M/g.txt") lines of the file"
else
    fail "--metrics graphite=127.0.0.1:PORT: exit $rc, $(cat "$M/err"), received $(wc -l <"$M/recv.txt" 2>/dev/null) lines"
fi
"$CONNSCOPE" --metrics graphite=127.0.0.1:1 "${mfiles[0]}" >/dev/null 2>"$M/err"
rc=$?
if [ $rc = 2 ] && grep -q "cannot connect" "$M/err"; then
    pass "an unreachable carbon receiver: exit 2: $(cat "$M/err")"
else
    fail "an unreachable carbon receiver: exit $rc: $(cat "$M/err")"
fi
# graphite to standard output: only metric lines there, the report on standard error
"$CONNSCOPE" --bucket 1m --metrics graphite "${mfiles[@]}" >"$M/stdout" 2>"$M/stderr"
if cmp -s "$M/stdout" "$M/g.txt" && grep -q '^connscope ' "$M/stderr"; then
    pass "--metrics graphite: the metrics alone on standard output, the report on standard error"
else
    fail "--metrics graphite to standard output"
fi
finish
