#!/usr/bin/env python3
"""connscope_dask.py - run connscope over many capture files on a Dask distributed cluster.

Map: each capture file is analysed by `connscope --summary-out` on a worker (files where the
workers can read them: a shared filesystem, or object storage through fsspec when it is installed:
any URL fsspec opens, copied to the worker's local disk first). Reduce: the summaries, in time
order of their first event, are merged by `connscope merge` as a tree (FAN_IN summaries per merge;
merging is associative and stitches the connections cut between files). The final merge writes
the report (text, or JSON lines with --json), the merged summary and any --metrics/--plot files.

Only the connscope binary analyses anything: this script schedules it.

Usage:
  connscope_dask.py [--scheduler ADDR | --local N] [--work-dir DIR] [--fan-in K]
                    [--connscope PATH] [--analysis-arg ARG ...] [--merge-arg ARG ...]
                    [--summary-out FILE] [--json] INPUT...

INPUT: capture files, directories (their *.pcap, *.pcapng, *.pcap.gz, *.pcap.zst files) or fsspec
URLs. --work-dir must be readable and writable by every worker at the same path (default: a new
directory under /tmp, which only a local cluster shares). --analysis-arg is given to every
`connscope` analysis (for instance --bucket=5m, --host=IP; they must be the same for all files),
--merge-arg to the final `connscope merge` (for instance --top=20, --metrics=prometheus=FILE).
Exit status: 0, or 1 when a task failed (its message is printed), 2 on a usage error.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

CAPTURE_GLOBS = ("*.pcap", "*.pcapng", "*.pcap.gz", "*.pcap.zst", "*.cap")


class ConnscopeError(Exception):
    pass


def _run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise ConnscopeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def summarise(connscope, analysis_args, source, out):
    """Worker task: `connscope --summary-out OUT SOURCE` (a URL is copied to local disk first).
    Returns OUT."""
    local, tmp = source, None
    if "://" in source:
        import fsspec  # only needed for URLs

        tmp = tempfile.mkdtemp(prefix="connscope-dask-")
        local = os.path.join(tmp, os.path.basename(source.rstrip("/")) or "input.pcap")
        with fsspec.open(source, "rb") as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst)
    try:
        _run([connscope] + list(analysis_args) + ["--summary-out", out, local])
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def merge(connscope, parts, out):
    """Worker task: `connscope merge --summary-out OUT PARTS...` (no report). Returns OUT."""
    _run([connscope, "merge", "--top", "1", "--summary-out", out] + list(parts))
    return out


def first_event(path):
    """(first_ts_ns, last_ts_ns) of a summary (its header is the first line), as connscope merge
    orders its inputs; summaries without events last."""
    with open(path) as f:
        head = f.readline().rstrip().rstrip(",")
    try:
        h = json.loads(head + "}")
    except ValueError:
        h = json.load(open(path))
    v, w = h.get("first_ts_ns"), h.get("last_ts_ns")
    return (v is None, v or 0, w or 0)


def expand(inputs):
    files = []
    for x in inputs:
        if "://" in x:
            files.append(x)
        elif os.path.isdir(x):
            found = set()
            for g in CAPTURE_GLOBS:
                found.update(glob.glob(os.path.join(x, g)))
            files.extend(sorted(found))
        else:
            files.append(x)
    return files


def tree_reduce(client, connscope, summaries, work, fan_in):
    """Merges the time-ordered summaries level by level, FAN_IN adjacent ones per merge task."""
    level, n = list(summaries), 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), fan_in):
            group = level[i:i + fan_in]
            if len(group) == 1:
                nxt.append(group[0])
                continue
            n += 1
            out = os.path.join(work, "merge-%04d.json" % n)
            nxt.append(client.submit(merge, connscope, group, out, pure=False))
        level = [f.result() if hasattr(f, "result") else f for f in nxt]
    return level[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    ap.add_argument("--local", type=int, default=2, help="workers of a local cluster (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="threads per local worker")
    ap.add_argument("--work-dir", help="shared directory for the summaries")
    ap.add_argument("--fan-in", type=int, default=8)
    ap.add_argument("--connscope", default=shutil.which("connscope") or "connscope")
    ap.add_argument("--analysis-arg", action="append", default=[])
    ap.add_argument("--merge-arg", action="append", default=[])
    ap.add_argument("--summary-out")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.fan_in < 2:
        ap.error("--fan-in must be at least 2")
    files = expand(a.inputs)
    if not files:
        ap.error("no capture files found")
    from dask.distributed import Client, LocalCluster

    work = a.work_dir or tempfile.mkdtemp(prefix="connscope-dask-")
    os.makedirs(work, exist_ok=True)
    cluster = None
    if a.scheduler:
        client = Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=a.local, threads_per_worker=a.threads, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    rc = 0
    try:
        futures = [client.submit(summarise, a.connscope, a.analysis_arg, f,
                                 os.path.join(work, "part-%05d.json" % i), pure=False)
                   for i, f in enumerate(files)]
        summaries = client.gather(futures)
        # files given in any order: the tree merges adjacent ranges of time
        summaries.sort(key=first_event)
        top = tree_reduce(client, a.connscope, summaries, work, a.fan_in)
        final = [a.connscope, "merge"] + a.merge_arg + (["--json"] if a.json else [])
        if a.summary_out:
            final += ["--summary-out", a.summary_out]
        r = subprocess.run(final + [top])
        rc = r.returncode
    except ConnscopeError as e:
        print("connscope_dask: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        if not a.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
