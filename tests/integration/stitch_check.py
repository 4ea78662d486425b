#!/usr/bin/env python3
"""stitch_check.py - property test of boundary stitching (used by test_stitch.sh).

For each capture: cut it at random packet positions into 2-16 pieces (editcap -r), summarise each
piece (connscope --summary-out), merge the summaries in a random binary tree (connscope merge of
merges, random order on each command line), and compare with the summary of one run over the whole
capture. The truth for the stream count is tshark's tcp.stream numbering of the whole capture.

Every count must be equal: connections, SYN packets, bytes per bucket, flow-profile classes,
connections per server (established, refused, reset, mid-stream, open at end, bytes, packets,
duration and RTT histogram bins), top clients by connections, and the stream count; the stream
index of every connection left at an edge of the merge equals tshark's. What the merge reports as not exact may differ, and
only that: with "inexact" > 0, histogram min/max/sum and the last event time; with "http_cut" > 0, the HTTP fields (requests,
status classes, unanswered, orphans, latency histograms, latency per server, request tables).

Usage: stitch_check.py CONNSCOPE WORKDIR SEED TRIALS CAPTURE...
Prints one line per capture and trial; exit 1 on any unreported difference.
"""
import json
import os
import random
import subprocess
import sys

ANA = ["-A", "--top", "1000000", "--bucket", "1m", "--slow", "100us,1ms,1s"]
HTTP_BUCKET = {"requests", "status_class", "unanswered", "orphans", "ttfb_us", "total_us"}


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:3]), r.returncode, r.stderr.strip()))


def packets(cap):
    out = subprocess.run(["capinfos", "-c", "-M", cap], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Number of packets" in line:
            return int(line.split()[-1])
    return 0


def tshark_streams(cap):
    out = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True).stdout
    ids = set()
    for line in out.split():
        for s in line.split(","):
            if s:
                ids.add(int(s))
    return max(ids) + 1 if ids else 0


def tshark_stream_at(cap):
    """(frozenset of the two endpoints, first packet time in ns) -> tcp.stream, for every frame:
    tshark's numbering, the truth for the stream indices of the merged edges."""
    out = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-E", "separator=/t", "-e",
                          "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                          "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.stream"],
                         capture_output=True, text=True).stdout
    at = {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 8 or not f[7] or not f[3]:
            continue
        sec, _, frac = f[0].partition(".")
        ns = int(sec) * 10**9 + int((frac + "000000000")[:9])
        src = (f[1].split(",")[-1] or f[2].split(",")[-1], int(f[3].split(",")[-1]))
        dst = (f[4].split(",")[-1] or f[5].split(",")[-1], int(f[6].split(",")[-1]))
        at.setdefault((frozenset((src, dst)), ns), int(f[7].split(",")[-1]))
    return at


def strip_extremes(x):
    if isinstance(x, dict):
        if "bins" in x and "n" in x:
            return {k: v for k, v in x.items() if k not in ("min", "max", "sum")}
        return {k: strip_extremes(v) for k, v in x.items()}
    if isinstance(x, list):
        return [strip_extremes(v) for v in x]
    return x


def normalise(d, inexact, http_cut):
    d = dict(d)
    # the edges of a merged range also hold connections open at the end of a middle piece and
    # begun with a SYN near the start of one (they may still continue across pieces merged
    # later): their stream indices are checked against tshark's instead
    for k in ("inputs", "generator", "stitch", "edges"):
        d.pop(k, None)
    if http_cut:
        d["buckets"] = [{k: v for k, v in b.items() if k not in HTTP_BUCKET} for b in d["buckets"]]
        d["untimed"] = {k: v for k, v in d["untimed"].items() if k not in HTTP_BUCKET}
        d.pop("servers", None)
        for t in ("client_requests", "client_request"):
            d["top"].pop(t, None)
    if inexact:
        d = strip_extremes(d)
        d.pop("last_ts_ns", None)  # a half's end counted as an event time
    # buckets emptied by taking a half back out are kept by the merge with zero counts
    d["buckets"] = [b for b in d["buckets"] if any(v for k, v in b.items() if k != "start_ns" and not isinstance(v, dict)) or b.get("ttfb_us", {}).get("n")]
    return d


def first_diff(a, b, path=""):
    if type(a) != type(b):
        return path
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return path + "." + k
            p = first_diff(a[k], b[k], path + "." + k)
            if p:
                return p
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return path + "[len %d vs %d]" % (len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            p = first_diff(x, y, "%s[%d]" % (path, i))
            if p:
                return p
        return None
    return None if a == b else path


def tree_merge(cs, rng, items, work, tag):
    """Merges the summaries `items` (in time order) as a random binary tree of `connscope merge`
    runs over adjacent ranges; each command line lists its two parts in random order."""
    n = [0]

    def go(lo, hi):
        if hi - lo == 1:
            return items[lo]
        mid = rng.randint(lo + 1, hi - 1)
        left, right = go(lo, mid), go(mid, hi)
        n[0] += 1
        out = os.path.join(work, "%s-m%d.json" % (tag, n[0]))
        parts = [left, right]
        rng.shuffle(parts)
        run([cs, "merge", "--top", "1", "--summary-out", out] + parts)
        return out

    return go(0, len(items))


def check(cs, work, rng, cap, trial):
    total = packets(cap)
    if total < 4:
        return True, "too few packets"
    k = rng.randint(2, min(16, total))
    cuts = sorted(rng.sample(range(1, total), k - 1))
    tag = "%s-%d" % (os.path.basename(cap), trial)
    whole = os.path.join(work, tag + "-whole.json")
    run([cs] + ANA + ["--summary-out", whole, cap])
    sums = []
    bounds = [0] + cuts + [total]
    for i in range(k):
        piece = os.path.join(work, "%s-p%d.pcap" % (tag, i))
        run(["editcap", "-r", cap, piece, "%d-%d" % (bounds[i] + 1, bounds[i + 1])])
        s = piece + ".json"
        run([cs] + ANA + ["--summary-out", s, piece])
        sums.append(s)
    merged = tree_merge(cs, rng, sums, work, tag)
    a, b = json.load(open(whole)), json.load(open(merged))
    st = b["stitch"]
    da = normalise(a, st["inexact"], st["http_cut"])
    db = normalise(b, st["inexact"], st["http_cut"])
    truth = tshark_streams(cap)
    msg = "%d pieces (cuts after %s), stitched %d, inexact %d, http_cut %d" % (
        k, ",".join(map(str, cuts)) if len(cuts) <= 6 else "%d frames" % len(cuts),
        st["stitched"], st["inexact"], st["http_cut"])
    if b["streams"] != truth:
        return False, msg + ": merged stream count %d, tshark %d" % (b["streams"], truth)
    p = first_diff(da, db)
    if p:
        return False, msg + ": differs at %s" % p
    at = tshark_stream_at(cap)
    for e in b["edges"]:
        key = (frozenset(((e["addr"][0], e["port"][0]), (e["addr"][1], e["port"][1]))), e["start_ns"])
        if at.get(key) != e["stream"]:
            return False, msg + ": edge %s:%d-%s:%d at %d has stream %d, tshark %s" % (
                e["addr"][0], e["port"][0], e["addr"][1], e["port"][1], e["start_ns"], e["stream"], at.get(key))
    return True, msg + ", %d streams and the %d edges' stream indices as tshark" % (truth, len(b["edges"]))


def main():
    cs, work, seed, trials = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    bad = 0
    for cap in sys.argv[5:]:
        for t in range(trials):
            try:
                ok, msg = check(cs, work, rng, cap, t)
            except RuntimeError as e:
                ok, msg = False, str(e)
            print("%s: %s %s" % ("ok" if ok else "FAIL", os.environ.get("CAPNAME_" + str(hash(cap)), cap), msg))
            bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
