#!/usr/bin/env python3
# http_compare.py - compares connscope's HTTP exchanges with third-party truth: Zeek http.log
# baselines, tshark's requests and http.time, and the hand-written truth of the committed captures.
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


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "zeek":
        sys.exit(cmd_zeek(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if mode == "truth":
        sys.exit(cmd_truth(sys.argv[2], sys.argv[3]))
    if mode == "tshark":
        sys.exit(cmd_tshark(sys.argv[2], " ".join(sys.argv[3:])))
    sys.exit(2)
