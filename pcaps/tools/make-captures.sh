#!/bin/bash
# Re-create the connscope test captures in pcaps/.
# Everything runs inside a private network namespace (lo: MTU 1500, TSO/GSO/GRO off)
# so nothing on the host is disturbed and segments look like a real Ethernet path.
#
# usage: sudo pcaps/tools/make-captures.sh [capture-name ...]   (default: all)
# Requires: ip, ethtool, nft, tcpdump, dumpcap, nginx, curl, python3, editcap, tcprewrite.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)          # pcaps/
W=${W:-/tmp/cscap-work}              # scratch: nginx prefix, web root, logs
NS=${NS:-cscap}
T="$HERE"

nsx() { ip netns exec "$NS" "$@"; }

setup() {
    mkdir -p "$W/nginx" "$W/www" "$W/dav"
    chmod 777 "$W/dav"
    python3 "$T/make-content.py" "$W/www"
    sed "s|@W@|$W|g" "$T/nginx.conf.in" > "$W/nginx/nginx.conf"
    ip netns add "$NS" 2>/dev/null || true
    nsx ip link set lo up mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null
    nsx nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"
    sleep 0.5
}

teardown() {
    [ -f "$W/nginx/nginx.pid" ] && kill -QUIT "$(cat "$W/nginx/nginx.pid")" 2>/dev/null || true
    sleep 0.3
    nsx nft delete table inet cscap 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}

# cap_start FILE FILTER [extra tcpdump args]; CAP_IF (default lo) selects the interface
cap_start() {
    local f=$1 filt=$2; shift 2
    : > "$W/tcpdump.err"
    ip netns exec "$NS" tcpdump -i "${CAP_IF:-lo}" -s "${SNAP:-0}" -Z root --immediate-mode -U -B 65536 "$@" -w "$OUT/$f" "$filt" 2>"$W/tcpdump.err" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$W/tcpdump.err" && break; sleep 0.05; done
    sleep 0.3
}
cap_stop() {
    sleep "${1:-1}"
    kill -INT "$CAP_PID"; wait "$CAP_PID" || true
    grep -E 'captured|dropped' "$W/tcpdump.err" | sed 's/^/    /'
    grep -q '^0 packets dropped by kernel' "$W/tcpdump.err" || echo "    WARNING: kernel drops; re-run this capture"
}

U=http://127.0.0.1:18080
U6='http://[::1]:18080'

# ---------------------------------------------------------------- foundation (TCP / link layers)
cap_http_keepalive() {            # 1 connection, 4 GETs
    cap_start http-keepalive.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt $U/b.txt $U/c.txt $U/index.html >/dev/null
    cap_stop
}

cap_http_ipv6() {                 # same over ::1, 3 GETs
    cap_start http-ipv6.pcap 'tcp port 18080'
    nsx curl -sS "$U6/a.txt" "$U6/b.txt" "$U6/index.html" >/dev/null
    cap_stop
}

cap_http_vlan() {                 # derived: 802.1Q VID 100 on every frame of http-keepalive.pcap
    tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 \
        -i "$OUT/http-keepalive.pcap" -o "$OUT/http-vlan.pcap"
}

cap_http_qinq() {                 # derived: 802.1ad S-tag 200 (0x88a8) + 802.1Q C-tag 100
    python3 "$T/vlan.py" "$OUT/http-keepalive.pcap" "$OUT/http-qinq.pcap" 0x88a8:200 0x8100:100
}

cap_http_vlan_ipv6() {            # derived: 802.1Q VID 300 (priority 5) on http-ipv6.pcap
    python3 "$T/vlan.py" "$OUT/http-ipv6.pcap" "$OUT/http-vlan-ipv6.pcap" 0x8100:300:5
}

cap_http_sll() {                  # -i any -y LINUX_SLL => DLT_LINUX_SLL (113)
    # (libpcap 1.10 defaults to LINUX_SLL2 for "any", so ask for v1 explicitly)
    CAP_IF=any cap_start http-sll.pcap 'tcp port 18080' -y LINUX_SLL
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    cap_stop
}

cap_http_sll2() {                 # -i any -y LINUX_SLL2 => DLT_LINUX_SLL2 (276)
    CAP_IF=any cap_start http-sll2.pcap 'tcp port 18080' -y LINUX_SLL2
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    cap_stop
}

cap_http_relink() {               # derived: DLT_NULL / DLT_LOOP / LINKTYPE_RAW variants
    python3 "$T/relink.py" "$OUT/http-keepalive.pcap" "$OUT/http-null.pcap" null
    python3 "$T/relink.py" "$OUT/http-keepalive.pcap" "$OUT/http-null-be.pcap" null --big-endian
    python3 "$T/relink.py" "$OUT/http-keepalive.pcap" "$OUT/http-loop.pcap" loop
    python3 "$T/relink.py" "$OUT/http-keepalive.pcap" "$OUT/http-raw.pcap" raw
    python3 "$T/relink.py" "$OUT/http-ipv6.pcap" "$OUT/http-raw-ipv6.pcap" raw
    python3 "$T/relink.py" "$OUT/http-ipv6.pcap" "$OUT/http-null-ipv6.pcap" null --af6 30
    python3 "$T/relink.py" "$OUT/http-ipv6.pcap" "$OUT/http-loop-ipv6.pcap" loop --af6 24
}

cap_tcp_refused() {               # 2 SYNs -> 127.0.0.1:18099, 1 SYN -> 127.0.0.1:18097, all RST
    cap_start tcp-refused.pcap 'tcp portrange 18097-18099'
    nsx curl -sS http://127.0.0.1:18099/ >/dev/null 2>&1 || true
    sleep 0.2
    nsx curl -sS http://127.0.0.1:18099/ >/dev/null 2>&1 || true
    sleep 0.2
    nsx curl -sS http://127.0.0.1:18097/x >/dev/null 2>&1 || true
    cap_stop
}

cap_tcp_noanswer() {              # SYN + retransmissions, silently dropped by nftables
    nsx nft add table inet cscap
    nsx nft add chain inet cscap input '{ type filter hook input priority 0; policy accept; }'
    nsx nft add rule inet cscap input tcp dport 18098 drop
    cap_start tcp-noanswer.pcap 'tcp port 18098'
    nsx curl -sS --connect-timeout 4 http://127.0.0.1:18098/ >/dev/null 2>&1 || true
    cap_stop
    nsx nft delete table inet cscap
}

cap_tcp_mixed() {                 # 7 overlapping connections to two servers; 3 aborted by the client (2 RST, 1 FIN)
    cap_start tcp-mixed.pcap 'tcp port 18080 or tcp port 18081'
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null & p1=$!
    nsx curl -sS http://127.0.0.2:18081/c.txt >/dev/null & p2=$!
    nsx curl -sS --max-time 1 $U/slow/big.txt >/dev/null 2>&1 & p3=$!
    nsx curl -sS --max-time 1 http://127.0.0.2:18081/slow/large.txt >/dev/null 2>&1 & p4=$!
    nsx curl -sS http://127.0.0.2:18081/index.html >/dev/null & p5=$!
    nsx curl -sS $U/204 >/dev/null & p6=$!
    nsx python3 "$T/abort_client.py" 127.0.0.2 18081 /slow/big.txt 100 & p7=$!
    wait $p1 $p2 $p5 $p6 $p7; wait $p3 $p4 || true
    cap_stop 3
    editcap -F pcapng "$OUT/tcp-mixed.pcap" "$OUT/tcp-mixed.pcapng"
}

cap_http_multiport() {            # one server IP on several ports: 127.0.0.1:18080 (2 connections,
                                  # 3 GETs), :18082 (1 GET), :18099 closed (RST); 127.0.0.2:18081 (1 GET)
    cap_start http-multiport.pcap 'tcp portrange 18080-18099'
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    nsx curl -sS http://127.0.0.1:18082/post >/dev/null
    nsx curl -sS http://127.0.0.1:18099/ >/dev/null 2>&1 || true
    nsx curl -sS http://127.0.0.2:18081/c.txt >/dev/null
    nsx curl -sS $U/index.html >/dev/null
    cap_stop
}

cap_http_nano() {                 # nanosecond-resolution pcap (magic 0xa1b23c4d)
    cap_start http-nano.pcap 'tcp port 18080' --time-stamp-precision=nano
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    cap_stop
}

cap_http_dumpcap() {              # native pcapng written by dumpcap (SHB/IDB/EPB/ISB)
    : > "$W/dumpcap.err"
    ip netns exec "$NS" dumpcap -q -i lo -s 0 -f 'tcp port 18080' -w "$OUT/http-dumpcap.pcapng" 2>"$W/dumpcap.err" &
    local dp=$!
    for _ in $(seq 100); do grep -q 'Capturing on' "$W/dumpcap.err" && break; sleep 0.05; done
    sleep 0.5
    nsx curl -sS $U/a.txt $U/b.txt $U/c.txt >/dev/null
    sleep 1.5
    kill -INT $dp; wait $dp || true
    chmod 644 "$OUT/http-dumpcap.pcapng"
}

# ---------------------------------------------------------------- HTTP pairing
cap_http_head() {                 # HEAD (Content-Length but no body) then GET, same connection
    cap_start http-head.pcap 'tcp port 18080'
    nsx curl -sS -I $U/c.txt --next -sS $U/b.txt >/dev/null
    cap_stop
}

cap_http_304() {                  # GET 200, conditional GET 304, GET 200 on one connection
    local etag
    etag=$(nsx curl -sS -I $U/a.txt | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
    echo "    ETag of /a.txt: $etag"
    cap_start http-304.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt --next -sS -H "If-None-Match: $etag" $U/a.txt --next -sS $U/b.txt >/dev/null
    cap_stop
}

cap_http_204() {                  # nginx "return 204" then GET, one connection
    cap_start http-204.pcap 'tcp port 18080'
    nsx curl -sS $U/204 $U/a.txt >/dev/null
    cap_stop
}

cap_http_chunked() {              # gzip => Transfer-Encoding: chunked, 2 responses
    cap_start http-chunked.pcap 'tcp port 18080'
    nsx curl -sS --compressed $U/gz/large.txt $U/gz/b.txt >/dev/null
    cap_stop
}

cap_http_gzip_stored() {          # 4 connections, each GET /stored/s.txt answered with a stored gzip body
    cap_start http-gzip-stored.pcap 'tcp port 18080'
    for _ in 1 2 3 4; do nsx curl -sS -H 'Accept-Encoding: gzip' $U/stored/s.txt >/dev/null; done
    cap_stop
}

cap_http_100_continue() {         # POST + PUT of 2000 bytes with Expect: 100-continue, then GET
    rm -f "$W/dav/"*
    cap_start http-100-continue.pcap 'tcp port 18080'
    nsx curl -sS -H 'Expect: 100-continue' --data-binary @"$W/www/post-2000.bin" $U/post \
        --next -sS -T "$W/www/post-2000.bin" $U/dav/up2000.bin \
        --next -sS $U/a.txt >/dev/null
    cap_stop
}

cap_http_early_response() {       # nginx "return 200" on a POST with Expect: 100-continue:
                                  # 100 and 200 are sent before curl sends the body
    cap_start http-early-response.pcap 'tcp port 18080'
    nsx curl -sS -H 'Expect: 100-continue' --data-binary @"$W/www/post-2000.bin" $U/early \
        --next -sS $U/a.txt >/dev/null
    cap_stop
}

cap_http_close() {                # 2nd response has Connection: close => 3rd request on new conn
    cap_start http-close.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt $U/close.txt $U/b.txt >/dev/null
    cap_stop
}

cap_http_10() {                   # HTTP/1.0 requests, one connection each
    cap_start http-10.pcap 'tcp port 18080'
    nsx curl -sS --http1.0 $U/a.txt $U/b.txt >/dev/null
    cap_stop
}

cap_http_python() {               # python3 -m http.server: HTTP/1.0, connection closed after each
    ip netns exec "$NS" python3 -m http.server 18000 --bind 127.0.0.1 --directory "$W/www" \
        >"$W/pyhttp.log" 2>&1 &
    local pp=$!
    sleep 1
    cap_start http-python.pcap 'tcp port 18000'
    nsx curl -sS http://127.0.0.1:18000/a.txt http://127.0.0.1:18000/missing.txt \
        http://127.0.0.1:18000/b.txt >/dev/null
    cap_stop
    kill $pp; wait $pp || true
}

cap_http_close_delimited() {      # bodies without Content-Length, ended by server close
    ip netns exec "$NS" python3 "$T/closedelim_server.py" 127.0.0.1 18001 >"$W/closedelim.log" 2>&1 &
    local pp=$!
    sleep 1
    cap_start http-close-delimited.pcap 'tcp port 18001'
    nsx curl -sS http://127.0.0.1:18001/v10 http://127.0.0.1:18001/v11 >/dev/null
    cap_stop
    kill $pp; wait $pp || true
}

cap_http_pipelined() {            # 5 requests in one write(), nginx answers in order
    cap_start http-pipelined.pcap 'tcp port 18080'
    nsx python3 "$T/pipeline.py" 127.0.0.1 18080 > "$W/pipeline.out"
    cap_stop
}

cap_http_multiseg() {             # 4 GETs, /big.txt (20000 B) spans ~14 segments
    cap_start http-multiseg.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt $U/big.txt $U/b.txt $U/c.txt >/dev/null
    cap_stop
}

cap_http_midstream() {            # derived: http-multiseg.pcap minus everything before the
                                  # 4th full-size data segment of the /big.txt response
    local n
    n=$(tshark -r "$OUT/http-multiseg.pcap" -Y 'tcp.srcport==18080 && tcp.len==1448' -T fields -e frame.number 2>/dev/null | sed -n 4p)
    n=$((n - 1))
    echo "    editcap deletes frames 1-$n"
    editcap -F pcap "$OUT/http-multiseg.pcap" "$OUT/http-midstream.pcap" 1-$n
}

cap_http_lost_segment() {         # derived: http-multiseg.pcap minus the 6th data segment of /big.txt
    local n
    n=$(tshark -r "$OUT/http-multiseg.pcap" -Y 'tcp.srcport==18080 && tcp.len==1448' -T fields -e frame.number 2>/dev/null | sed -n 6p)
    echo "    editcap deletes frame $n"
    editcap -F pcap "$OUT/http-multiseg.pcap" "$OUT/http-lost-segment.pcap" $n
}

cap_http_put_multiseg() {         # PUT 5000 B body (no Expect) then GET
    rm -f "$W/dav/"*
    cap_start http-put-multiseg.pcap 'tcp port 18080'
    nsx curl -sS -H 'Expect:' -T "$W/www/post-5000.bin" $U/dav/up5000.bin --next -sS $U/a.txt >/dev/null
    cap_stop
}


cap_http_lost_request_segment() { # derived: http-put-multiseg.pcap minus the 2nd 1448-byte body segment
    local n
    n=$(tshark -r "$OUT/http-put-multiseg.pcap" -Y 'tcp.dstport==18080 && tcp.len==1448' -T fields -e frame.number 2>/dev/null | sed -n 2p)
    echo "    editcap deletes frame $n"
    editcap -F pcap "$OUT/http-put-multiseg.pcap" "$OUT/http-lost-request-segment.pcap" $n
}

# ---------------------------------------------------------------- bad input
cap_bad() {
    local B="$OUT/bad"
    mkdir -p "$B"
    : > "$B/empty.pcap"
    printf 'This is not a pcap file.\nJust two lines of text.\n' > "$B/notapcap.pcap"
    python3 "$T/mkbad.py" "$OUT/http-keepalive.pcap" "$B"
    SNAP=60 cap_start bad/snaplen.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    cap_stop
    SNAP=100 cap_start bad/snaplen-100.pcap 'tcp port 18080'
    nsx curl -sS $U/a.txt $U/b.txt >/dev/null
    cap_stop
}

ALL="http_keepalive http_ipv6 http_vlan http_qinq http_vlan_ipv6 http_sll http_sll2 http_relink
     tcp_refused tcp_noanswer tcp_mixed http_multiport http_nano http_dumpcap
     http_head http_304 http_204 http_chunked http_gzip_stored http_100_continue http_early_response http_close http_10 http_python
     http_close_delimited http_pipelined http_multiseg http_midstream http_lost_segment
     http_put_multiseg http_lost_request_segment bad"
[ $# -gt 0 ] && LIST="$*" || LIST=$ALL
ip netns del "$NS" 2>/dev/null || true
setup
trap teardown EXIT
for c in $LIST; do
    c=${c%.pcap}; c=${c//-/_}
    echo "== $c"
    "cap_$c"
done
