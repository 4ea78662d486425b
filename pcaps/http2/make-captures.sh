#!/bin/bash
# Re-create the HTTP/2 test captures in pcaps/http2/, with their NSS key logs (TLS ones) and the
# clients' own records of every exchange (NAME.client.txt: curl -w lines; NAME.client.har: nghttp's
# HAR file).
# Everything runs inside a private network namespace (lo: MTU 1500, TSO/GSO/GRO off) so nothing on
# the host is disturbed and frames span segments as on an Ethernet path. Servers: nginx 1.22 with
# `http2` (TLS with a throwaway self-signed certificate on 19543, cleartext prior knowledge on
# 19544) and pcaps/http2/h2server.py (Debian python3-h2; 103, 100, resets, push, trailers, GOAWAY,
# h2c upgrade) on 19545. Clients: curl 7.88 (SSLKEYLOGFILE) and nghttp (Debian nghttp2-client).
#
# usage: sudo pcaps/http2/make-captures.sh [capture-name ...]   (default: all)
# Requires: ip, ethtool, tcpdump, nginx, openssl, curl, nghttp, /usr/bin/python3 with python3-h2,
# editcap, tshark.
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)  # pcaps/http2/
W=${W:-/tmp/csh2-work}              # scratch: certificate, nginx prefix, web root, logs
NS=${NS:-csh2}
HOST=h2.connscope.test              # SNI / :authority (resolved to 127.0.0.1 by --resolve)

nsx() { ip netns exec "$NS" "$@"; }

setup() {
    mkdir -p "$W/nginx" "$W/www"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$HOST" \
        -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
    printf 'alpha\n' > "$W/www/a.txt"
    printf '<html><body>connscope http2 test</body></html>\n' > "$W/www/index.html"
    for i in $(seq 1 400); do printf 'line %04d of the b file ......................................\n' "$i"; done \
        > "$W/www/b.txt"
    truncate -s 20000 "$W/www/b.txt"
    # 100000 bytes: more than the 65535-byte initial flow-control window; 13 DATA frames from nginx
    head -c 100000 /dev/zero | tr '\0' 'z' > "$W/www/big.bin"
    for i in 1 2 3 4 5 6 7 8; do printf 'file %d\n' "$i" > "$W/www/f$i.txt"; done
    cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 1;
error_log $W/nginx/error.log info;
pid $W/nginx/nginx.pid;
events { worker_connections 64; }
http {
    access_log $W/nginx/access.log;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    types { text/html html; text/plain txt; application/octet-stream bin; }
    default_type text/plain;
    sendfile off;
    keepalive_timeout 65;
    server {
        listen 127.0.0.1:19543 ssl http2;
        listen 127.0.0.1:19544 http2;
        server_name $HOST;
        root $W/www;
        ssl_certificate $W/cert.pem;
        ssl_certificate_key $W/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
    }
}
EOF
    ip netns add "$NS" 2>/dev/null || true
    nsx ip link set lo up mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null
    nsx nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"
    nsx /usr/bin/python3 "$OUT/h2server.py" 19545 >"$W/h2server.log" 2>&1 &
    SRV_PID=$!
    sleep 0.7
}

teardown() {
    [ -f "$W/nginx/nginx.pid" ] && kill -QUIT "$(cat "$W/nginx/nginx.pid")" 2>/dev/null || true
    [ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null || true
    sleep 0.3
    ip netns del "$NS" 2>/dev/null || true
}

cap_start() {                       # cap_start NAME PORT
    : > "$W/tcpdump.err"
    rm -f "$OUT/$1.keylog" "$OUT/$1.client.txt" "$OUT/$1.client.har"
    ip netns exec "$NS" tcpdump -i lo -s 0 -Z root --immediate-mode -U -w "$OUT/$1.pcap" \
        "tcp port $2" 2>"$W/tcpdump.err" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$W/tcpdump.err" && break; sleep 0.05; done
    sleep 0.3
}
cap_stop() {
    sleep "${1:-1}"
    kill -INT "$CAP_PID"; wait "$CAP_PID" || true
    grep -E 'captured|dropped by kernel' "$W/tcpdump.err" | sed 's/^/    /'
}

T=https://$HOST:19543
C=http://127.0.0.1:19544
P=http://127.0.0.1:19545
R="--resolve $HOST:19543:127.0.0.1"
# curl's own record of each transfer: HTTP version, status, body bytes, time to first byte, URL
WF='%{http_version} %{response_code} %{size_download} %{time_starttransfer} %{url_effective}\n'
CURL() {                            # CURL NAME ARGS...: every URL's body to /dev/null
    local name=$1 a args=(); shift
    for a in "$@"; do [[ $a == http* ]] && args+=(-o /dev/null); args+=("$a"); done
    nsx env SSLKEYLOGFILE="$OUT/$name.keylog" curl -sS --no-progress-meter -k -w "$WF" "${args[@]}" \
        >>"$OUT/$name.client.txt" 2>&1 || true
    [ -s "$OUT/$name.keylog" ] || rm -f "$OUT/$name.keylog"
}

cap_h2_tls_nginx() {      # TLS 1.3 + ALPN h2, 3 GETs one after the other on one connection
    cap_start h2-tls-nginx 19543
    CURL h2-tls-nginx $R --http2 $T/a.txt $T/index.html $T/b.txt
    cap_stop
}
cap_h2_tls12_parallel() { # TLS 1.2 + ALPN h2, 8 GETs multiplexed on one connection (curl --parallel)
    cap_start h2-tls12-parallel 19543
    CURL h2-tls12-parallel $R --http2 --tlsv1.2 --tls-max 1.2 --parallel --parallel-max 8 \
        $T/f1.txt $T/f2.txt $T/f3.txt $T/f4.txt $T/f5.txt $T/f6.txt $T/f7.txt $T/f8.txt
    cap_stop
}
cap_h2c_nginx() {         # cleartext prior knowledge: nghttp asks for 4 files at once, then curl 1
    cap_start h2c-nginx 19544
    nsx nghttp -n --har="$OUT/h2c-nginx.client.har" $C/a.txt $C/index.html $C/b.txt $C/f1.txt || true
    CURL h2c-nginx --http2-prior-knowledge $C/f2.txt
    cap_stop
}
cap_h2c_large() {         # a 100000-byte download: DATA frames of 16 KiB over many segments
    cap_start h2c-large 19544
    CURL h2c-large --http2-prior-knowledge $C/big.bin
    cap_stop
}
cap_h2c_features() {      # h2server.py: 103, push, trailers, server resets, refused stream, slow
                          # body (nghttp, concurrent); 100-continue, h2c upgrade, GOAWAY (curl)
    cap_start h2c-features 19545
    nsx nghttp -n --har="$OUT/h2c-features.client.har" $P/hints $P/push $P/trailers $P/reset \
        $P/refuse $P/slow >"$W/nghttp.out" 2>&1 || true
    CURL h2c-features --http2-prior-knowledge -H 'Expect: 100-continue' -d 'sixteen bytes!!!' $P/continue
    CURL h2c-features --http2 $P/upgraded $P/second
    CURL h2c-features --http2-prior-knowledge $P/goaway
    cap_stop
}
cap_h2c_abort() {         # curl gives up on /bigcl (its Content-Length 100000 is over
                          # --max-filesize 1000) and closes the connection: the response is cut
    cap_start h2c-abort 19545
    CURL h2c-abort --http2-prior-knowledge --max-filesize 1000 $P/bigcl
    cap_stop
}
cap_h2c_gap() {           # derived: h2c-nginx with the server's segment carrying its second
                          # HEADERS frame cut out (editcap): framing and the server's HPACK context
                          # are lost from there
    local f
    f=$(tshark -r "$OUT/h2c-nginx.pcap" -d tcp.port==19544,http2 \
        -Y 'tcp.srcport==19544 && http2.type==1' -T fields -e frame.number 2>/dev/null | sed -n 2p)
    editcap "$OUT/h2c-nginx.pcap" "$OUT/h2c-gap.pcap" "$f"
    echo "    removed frame $f"
}

ALL="h2_tls_nginx h2_tls12_parallel h2c_nginx h2c_large h2c_features h2c_abort h2c_gap"
trap teardown EXIT
setup
for c in ${@:-$ALL}; do
    echo "capture ${c//_/-}"
    "cap_${c//-/_}"
done
