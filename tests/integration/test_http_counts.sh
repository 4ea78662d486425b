#!/bin/bash
# test_http_counts.sh - HTTP facts that Suricata (suricata-verify test.yaml), Arkime (session JSON) and
# nDPI (.out) assert for their corpus captures: number of exchanges, methods, URLs and status codes.
. "$(dirname "$0")/lib.sh"
[ -d "$CORPUS" ] || skip "corpus not found at $CORPUS"
python3 - "$CONNSCOPE" "$CORPUS" <<'PY' || FAILS=1
import collections, json, subprocess, sys
cs, corpus = sys.argv[1], sys.argv[2]
def http(f):
    out = subprocess.run([cs, "--json", corpus + "/" + f], capture_output=True, text=True).stdout
    return [o for o in map(json.loads, out.splitlines()) if o["type"] == "http"]
# capture -> list of (method, uri or None for any, status or None for any) that must each be present,
# and the exact number of exchanges
expect = {
    "suricata-verify/http-protocol-nodup__input.pcap": (40, []),   # count: 40 http events, HTTP/1.1
    "suricata-verify/http-gap-simple__input.pcap": (3, [("GET", "/1", 200), ("GET", "/2", 200), ("GET", "/3", 200)]),
    "suricata-verify/http-gap-beyond-body__input.pcap": (3, [("GET", "/1", 200), ("GET", "/2", None), ("GET", "/3", None)]),
    "suricata-verify/http-multiple100__input.pcap": (1, [(None, None, 200)]),
    "suricata-verify/firewall__ruletype-firewall-88-default-accept-tx-pipeline__input.pcap": (2, [("GET", "/foo/", None)]),
    "arkime/http-100-continue.pcap": (1, [("POST", None, 404)]),          # statuscode [100, 404]
    "arkime/http-500-head.pcap": (1, [("HEAD", None, 500)]),
    "arkime/http-basicauth.pcap": (1, [("GET", None, 304)]),
    "arkime/http-no-length.pcap": (1, [("GET", None, 200)]),
    "arkime/http-syn-ack.pcap": (1, [("GET", "/1", 200)]),
    "arkime/http-tcp-seq-issue.pcap": (1, [("POST", None, 200)]),
    "ndpi/http_ua_splitted_in_two_pkts.pcapng": (37, []),              # tshark: 37 requests/responses
    # scapy's http.uts: the chunked image de-chunks to 33653 bytes; the capture starts mid-stream
    # with a 1-byte keep-alive probe before the GET
    "scapy/http_chunk.pcap": (1, [("GET", "/httpgallery/chunked/chunkedimage.aspx?0.2911017199439567", 200)]),
}
fails = 0
for f, (n, rows) in expect.items():
    ex = http(f)
    ok = len(ex) == n
    for m, u, s in rows:
        if not any((m is None or e["method"] == m) and (u is None or e["uri"] == u) and
                   (s is None or e["status_code"] == s) for e in ex):
            ok = False
    if f.endswith("http-protocol-nodup__input.pcap"):
        ok = ok and all(e["version"] == "1.1" and e["outcome"] == "complete" for e in ex)
    if f.endswith("http_chunk.pcap"):
        ok = ok and ex and ex[0]["response_body_len"] == 33653
    if f.endswith("http-100-continue.pcap"):
        ok = ok and ex and ex[0]["info_code"] == 100
    print(("ok: " if ok else "FAIL: ") + "%s: %d exchanges %s" % (f, len(ex),
          [(e["method"], e["uri"], e["status_code"], e["outcome"]) for e in ex][:4]))
    fails += not ok
sys.exit(1 if fails else 0)
PY
finish
