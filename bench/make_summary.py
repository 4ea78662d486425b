#!/usr/bin/env python3
"""make_summary.py - writes a synthetic connscope summary (format version 2) with N one-minute
buckets, for measuring `connscope merge` (memory and time per bucket of input).

Usage: bench/make_summary.py OUT.json [--buckets N] [--start NS] [--seed S]

Every bucket has a few connections, requests, status classes and two latency histograms of a
few bins each (about 270 bytes per bucket line, as a busy minute of a real run writes). The
histogram bins are valid bins of the layout (low edges), so the file reads back.
"""
import argparse
import json
import random

LAYOUT = "hist=loglin/exact128/sub64;pkts=1,3,10,100,1000;bytes=0,100,1000,10000,100000,1000000,10000000"


def bin_low(v):
    if v < 128:
        return v
    e = v.bit_length() - 1
    w = 1 << (e - 6)
    return v & ~(w - 1)


def hist(rng, n):
    vals = [rng.choice((rng.randint(20, 127), rng.randint(128, 5000000))) for _ in range(n)]
    bins = {}
    for v in vals:
        b = bin_low(v)
        bins[b] = bins.get(b, 0) + 1
    if not vals:
        return '{"n":0,"bins":[]}'
    return '{"n":%d,"min":%d,"max":%d,"sum":%d,"bins":[%s]}' % (
        n, min(vals), max(vals), sum(vals),
        ",".join("[%d,%d]" % (k, bins[k]) for k in sorted(bins)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--buckets", type=int, default=200000)
    ap.add_argument("--start", type=int, default=1700000000 * 10**9 // (60 * 10**9) * 60 * 10**9)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    width = 60 * 10**9
    first = a.start
    last = a.start + (a.buckets - 1) * width
    with open(a.out, "w") as f:
        f.write('{"format":"connscope-summary","version":2,"layout":"%s","generator":"make_summary.py",'
                '"bucket_ns":%d,"host":null,"max_keys":100000,"first_ts_ns":%d,"last_ts_ns":%d,'
                '"flow_pkts":[0,0,0,%d,0,0],"flow_bytes":[0,0,0,%d,0,0,0,0],"inputs":["synthetic"],'
                '"untimed":{"conns":0,"syn_pkts":0,"requests":0,"status_class":[0,0,0,0,0,0],'
                '"unanswered":0,"orphans":0,"bytes_c2s":0,"bytes_s2c":0,"ttfb_us":{"n":0,"bins":[]},'
                '"total_us":{"n":0,"bins":[]}},\n"buckets":[' % (LAYOUT, width, first, last, a.buckets, a.buckets))
        for i in range(a.buckets):
            r = rng.randint(1, 2)
            f.write('%s\n  {"start_ns":%d,"conns":1,"syn_pkts":1,"requests":%d,"status_class":[0,0,%d,0,0,0],'
                    '"unanswered":0,"orphans":0,"bytes_c2s":%d,"bytes_s2c":%d,"ttfb_us":%s,"total_us":%s}'
                    % ("," if i else "", a.start + i * width, r, r, rng.randint(100, 999),
                       rng.randint(1000, 99999), hist(rng, r), hist(rng, r)))
        f.write('\n  ],\n"servers":[],\n"server_conns":[\n  {"addr":"10.0.0.1","port":80,"conns":%d,'
                '"established":%d,"refused":0,"reset":0,"open_at_end":0,"midstream":0,"bytes_c2s":0,'
                '"bytes_s2c":0,"pkts_c2s":0,"pkts_s2c":0,"duration_us":{"n":0,"bins":[]},'
                '"rtt_us":{"n":0,"bins":[]}}\n  ],\n"top":{\n' % (a.buckets, a.buckets))
        f.write('"client_requests":{"approx":false,"floor":0,"total":0,"evictions":0,"keys":[]},\n'
                '"client_conns":{"approx":false,"floor":0,"total":0,"evictions":0,"keys":[]},\n'
                '"client_request":{"approx":false,"floor":0,"total":0,"evictions":0,"keys":[]}},\n'
                '"streams":%d,"stitch":{"stitched":0,"inexact":0,"http_cut":0},\n"edges":[]\n}\n' % a.buckets)


if __name__ == "__main__":
    main()
