#!/usr/bin/env python3
# http_compare.py - compares connscope's HTTP exchanges, and the per-connection summaries of the conn
# records, with third-party truth: Zeek http.log baselines, tshark's requests and http.time, and the
# hand-written truth of the committed captures.
import collections, json, os, subprocess, sys

CONNSCOPE = os.environ["CONNSCOPE"]


def connscope_http(capture, *opts):
    out = subprocess.run([CONNSCOPE, "--json", *opts, capture], capture_output=True, text=True).stdout
    return [o for o in map(json.loads, out.splitlines()) if o["type"] == "http"]


def norm(v):
    return "-" if v in (None, "", "-", "(empty)") else str(v)


def zeek_rows(path):
    fields, rows = None, []
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif fields is None and (line.startswith("ts\t") or line.startswith("uid\t")):
            fields = line.split("\t")
        elif line and not line.startswith("#"):
            rows.append(dict(zip(fields, line.split("\t"))))
    return rows


def cmd_zeek(capture, baseline, adjust):
    """Multiset of (method, uri, status_code, response_body_len) equals the baseline's rows, after the
    documented adjustments: lines '-zeek|m|u|s|l' (row Zeek has and connscope rightly does not) and
    '+ours|m|u|s|l' (row connscope has and Zeek does not)."""
    z = zeek_rows(baseline)
    keys = [k for k in ("method", "uri", "status_code", "response_body_len") if not z or k in z[0]]
    zs = collections.Counter(tuple(norm(r.get(k)) for k in keys) for r in z)
    for a in adjust:
        sign, row = a[0], tuple(a[1:].split("|")[1:])
        if sign == "-":
            zs[row] -= 1
        else:
            zs[row] += 1
    zs += collections.Counter()
    cs = collections.Counter(tuple(norm(o.get(k)) for k in keys)
                             for o in connscope_http(capture, "--http-decode-bodies"))
    if zs == cs:
        print("ok: %s: %d exchanges match the Zeek baseline%s" % (
            os.path.basename(capture), sum(cs.values()), " (adjusted: %s)" % "; ".join(adjust) if adjust else ""))
        return 0
    print("FAIL: %s differs from the Zeek baseline on %s:" % (os.path.basename(capture), keys))
    for k in sorted(set(zs) | set(cs)):
        if zs[k] != cs[k]:
            print("    zeek=%d connscope=%d %s" % (zs[k], cs[k], k))
    return 1


def frame_times(capture):
    out = subprocess.run(["tshark", "-r", capture, "-T", "fields", "-e", "frame.number",
                          "-e", "frame.time_epoch"], capture_output=True, text=True).stdout
    # integer microseconds, exact
    t = {}
    for line in out.splitlines():
        n, e = line.split("\t")
        sec, _, frac = e.partition(".")
        t[int(n)] = int(sec) * 1000000 + int((frac + "000000000")[:6])
    return t


def cmd_truth(truth_file, pcaps):
    rows = collections.defaultdict(list)
    for line in open(truth_file):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        rows[f[0]].append(f)
    fails = 0
    for cap, want in rows.items():
        path = os.path.join(pcaps, cap)
        got = {(o["stream"], o["trans_depth"]): o for o in connscope_http(path)}
        t = frame_times(path)
        if len(got) != len(want):
            print("FAIL: %s: %d exchanges, truth has %d" % (cap, len(got), len(want)))
            fails += 1
        for w in want:
            o = got.get((int(w[1]), int(w[2])))
            if o is None:
                print("FAIL: %s stream %s depth %s missing" % (cap, w[1], w[2]))
                fails += 1
                continue
            have = [norm(o["method"]), norm(o["uri"]), norm(o["status_code"]), norm(o["info_code"]),
                    norm(o["response_body_len"]), o["outcome"]]
            if have != w[3:9]:
                print("FAIL: %s %s/%s: connscope %s, truth %s" % (cap, w[1], w[2], have, w[3:9]))
                fails += 1
            req_end, rs, re_ = int(w[9]), int(w[10]), int(w[11])
            exp_ttfb = max(0, t[rs] - t[req_end])
            exp_ttlb = max(0, t[re_] - t[req_end])
            if abs(o["ttfb_us"] - exp_ttfb) > 1 or abs(o["ttlb_us"] - exp_ttlb) > 1:
                print("FAIL: %s %s/%s: ttfb/ttlb %s/%s us, frames say %s/%s" % (
                    cap, w[1], w[2], o["ttfb_us"], o["ttlb_us"], exp_ttfb, exp_ttlb))
                fails += 1
        if not fails:
            print("ok: %s: %d exchanges and their ttfb/ttlb match the truth" % (cap, len(want)))
    return 1 if fails else 0


def cmd_tshark(capture, skip_times):
    """(stream, method, uri) multiset equals tshark's http.request list, and per stream each tshark
    http.time is one of connscope's ttlb values (within 1 us)."""
    out = subprocess.run(["tshark", "-r", capture, "-Y", "http.request", "-T", "fields", "-e",
                          "tcp.stream", "-e", "http.request.method", "-e", "http.request.uri"],
                         capture_output=True, text=True).stdout
    ts = collections.Counter()
    for line in out.splitlines():
        s, m, u = line.split("\t")
        for mm, uu in zip(m.split(","), u.split(",")):
            ts[(int(s), mm, uu)] += 1
    ex = connscope_http(capture)
    cs = collections.Counter((o["stream"], o["method"], o["uri"]) for o in ex if o["method"])
    rc = 0
    if ts != cs:
        print("FAIL: %s requests differ from tshark:" % os.path.basename(capture))
        for k in sorted(set(ts) | set(cs)):
            if ts[k] != cs[k]:
                print("    tshark=%d connscope=%d %s" % (ts[k], cs[k], k))
        rc = 1
    if skip_times:
        print("ok: %s: %d requests as tshark (http.time not compared: %s)" % (
            os.path.basename(capture), sum(cs.values()), skip_times))
        return rc
    out = subprocess.run(["tshark", "-r", capture, "-Y", "http.time", "-T", "fields", "-e",
                          "tcp.stream", "-e", "http.time"], capture_output=True, text=True).stdout
    mine = collections.defaultdict(list)
    for o in ex:
        if o["ttlb_us"] is not None:
            mine[o["stream"]].append(o["ttlb_us"])
    n = 0
    for line in out.splitlines():
        s, tm = line.split("\t")
        for x in tm.split(","):
            n += 1
            sec, _, frac = x.partition(".")
            us = int(sec) * 1000000 + int((frac + "000000")[:6])
            if not any(abs(us - m) <= 1 for m in mine[int(s)]):
                print("FAIL: %s stream %s: tshark http.time %s us not among connscope ttlb %s" % (
                    os.path.basename(capture), s, us, mine[int(s)]))
                rc = 1
    if rc == 0:
        print("ok: %s: %d requests and %d http.time values as tshark" % (
            os.path.basename(capture), sum(cs.values()), n))
    return rc


def connscope_records(capture, *opts):
    out = subprocess.run([CONNSCOPE, "--json", *opts, capture], capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def median_low(values):
    """Nearest-rank median: the ceil(n/2)-th smallest value (connscope's definition)."""
    v = sorted(values)
    return v[(len(v) + 1) // 2 - 1]


def close_enough(got, want, n):
    """Exact (1 us) for up to 8 values, within 1/16 beyond (the documented bound)."""
    return abs(got - want) <= 1 or (n > 8 and abs(got - want) <= want / 16.0 + 1)


def tshark_us(x):
    sec, _, frac = x.partition(".")
    return int(sec) * 1000000 + int((frac + "000000")[:6])


def cmd_conn(capture, known):
    """Per tcp.stream: tshark's http.request count equals the conn record's http_requests, and
    the nearest-rank median and the max of tshark's http.time values equal http_ttlb_p50_us and
    http_ttlb_max_us. `known`: 'STREAM:reason' entries not compared (tshark known wrong)."""
    skip = {int(k.split(":", 1)[0]): k.split(":", 1)[1] for k in known}
    if os.environ.get("TSHARK_FIELDS_FILE"):  # batched by tshark_fields (lib.sh)
        cols = os.environ["TSHARK_FIELDS"].split()
        pick = [cols.index(c) for c in ("tcp.stream", "http.request.method", "http.time")]
        lines = [[v[i] for i in pick] for v in (l.rstrip("\n").split("\t")
                 for l in open(os.environ["TSHARK_FIELDS_FILE"]))]
    else:
        out = subprocess.run(["tshark", "-r", capture, "-T", "fields", "-e", "tcp.stream", "-e",
                              "http.request.method", "-e", "http.time"],
                             capture_output=True, text=True).stdout
        lines = [l.split("\t") for l in out.splitlines()]
    reqs, times = collections.Counter(), collections.defaultdict(list)
    for s, m, tm in lines:
        if not s:
            continue
        s = int(s.split(",")[0])
        if m:
            reqs[s] += len(m.split(","))
        if tm:
            times[s] += [tshark_us(x) for x in tm.split(",")]
    conns = {}
    for o in connscope_records(capture):
        if o["type"] == "conn" and "http_requests" in o:
            c = conns.setdefault(o["stream"], dict(o))
            if c is not o and o["resumed"]:  # a resumed record: add its requests
                c["http_requests"] += o["http_requests"]
    name = os.environ.get("CAPNAME", os.path.basename(capture))
    rc, checked = 0, 0
    for s in sorted(set(reqs) | set(times) | set(conns)):
        if s in skip:
            print("known: %s stream %d not compared: %s" % (name, s, skip[s]))
            continue
        c = conns.get(s, {})
        if c.get("http_requests", 0) != reqs[s]:
            print("FAIL: %s stream %d: http_requests %s, tshark %d requests" % (
                name, s, c.get("http_requests"), reqs[s]))
            rc = 1
        t = times[s]
        p50, mx = c.get("http_ttlb_p50_us"), c.get("http_ttlb_max_us")
        if not t:
            if p50 is not None and reqs[s]:
                print("FAIL: %s stream %d: ttlb p50 %s, tshark has no http.time" % (name, s, p50))
                rc = 1
            continue
        if p50 is None or not close_enough(p50, median_low(t), len(t)) or abs(mx - max(t)) > 1:
            print("FAIL: %s stream %d: ttlb p50/max %s/%s us, tshark http.time p50/max %d/%d "
                  "(%d values)" % (name, s, p50, mx, median_low(t), max(t), len(t)))
            rc = 1
        checked += 1
    if rc == 0:
        print("ok: %s: %d streams: requests and http.time p50/max per stream as tshark (%d with "
              "times)" % (name, len(set(reqs) | set(conns)), checked))
    return rc


def cmd_conntruth(truth_file, pcaps):
    """Per connection of the hand-written truth (data/http_truth.tsv): the conn record's request,
    response and status-class counts are those of the truth rows, and its ttfb/ttlb p50 and max
    are those of the frame times of the truth's frames (nearest-rank median, 1 us)."""
    rows = collections.defaultdict(list)
    for line in open(truth_file):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        rows[(f[0], int(f[1]))].append(f)
    fails = 0
    for (cap, stream), want in sorted(rows.items()):
        path = os.path.join(pcaps, cap)
        t = frame_times(path)
        conn = [o for o in connscope_records(path) if o["type"] == "conn" and o["stream"] == stream]
        if len(conn) != 1:
            print("FAIL: %s stream %d: %d conn records" % (cap, stream, len(conn)))
            fails += 1
            continue
        c = conn[0]
        reqs = sum(1 for w in want if w[3] != "-")
        resps = sum(1 for w in want if w[5] != "-")
        classes = collections.Counter("http_status_%sxx" % w[5][0] for w in want if w[5] != "-")
        ttfb = [max(0, t[int(w[10])] - t[int(w[9])]) for w in want]
        ttlb = [max(0, t[int(w[11])] - t[int(w[9])]) for w in want]
        exp = {"http_requests": reqs, "http_responses": resps,
               "http_ttfb_p50_us": median_low(ttfb), "http_ttfb_max_us": max(ttfb),
               "http_ttlb_p50_us": median_low(ttlb), "http_ttlb_max_us": max(ttlb)}
        for k in ("1", "2", "3", "4", "5"):
            exp["http_status_%sxx" % k] = classes["http_status_%sxx" % k]
        bad = [(k, c.get(k), v) for k, v in exp.items()
               if c.get(k) is None or abs(c[k] - v) > (1 if k.endswith("_us") else 0)]
        if bad:
            print("FAIL: %s stream %d: conn record %s, truth %s" % (
                cap, stream, {k: g for k, g, _ in bad}, {k: v for k, _, v in bad}))
            fails += 1
        else:
            print("ok: %s stream %d: %d requests, ttfb p50/max %d/%d us, ttlb p50/max %d/%d us as "
                  "the truth's frames" % (cap, stream, reqs, exp["http_ttfb_p50_us"],
                                          exp["http_ttfb_max_us"], exp["http_ttlb_p50_us"],
                                          exp["http_ttlb_max_us"]))
    return 1 if fails else 0


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "zeek":
        sys.exit(cmd_zeek(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if mode == "truth":
        sys.exit(cmd_truth(sys.argv[2], sys.argv[3]))
    if mode == "tshark":
        sys.exit(cmd_tshark(sys.argv[2], " ".join(sys.argv[3:])))
    if mode == "conntruth":
        sys.exit(cmd_conntruth(sys.argv[2], sys.argv[3]))
    if mode == "conn":
        sys.exit(cmd_conn(sys.argv[2], sys.argv[3:]))
    sys.exit(2)
