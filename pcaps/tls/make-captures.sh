#!/bin/bash
# Re-create the TLS test captures in pcaps/tls/ (and their NSS key logs).
# Everything runs inside a private network namespace (lo: MTU 1500, TSO/GSO/GRO off) so that nothing
# on the host is disturbed and records span segments as on a real Ethernet path. Servers: nginx and
# openssl s_server with a throwaway self-signed certificate; clients: curl and openssl s_client, both
# writing NSS key logs (SSLKEYLOGFILE / -keylogfile). Ports 19443-19452.
#
# usage: sudo pcaps/tls/make-captures.sh [capture-name ...]   (default: all)
# Requires: ip, ethtool, tcpdump, nginx, openssl, curl.
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)  # pcaps/tls/
W=${W:-/tmp/cstls-work}             # scratch: certificate, nginx prefix, web root, logs
NS=${NS:-cstls}
HOST=tls.connscope.test             # SNI sent by the clients (resolved to 127.0.0.1 by --resolve)

nsx() { ip netns exec "$NS" "$@"; }

setup() {
    mkdir -p "$W/nginx" "$W/www"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$HOST" \
        -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
    printf 'alpha\n' > "$W/www/a.txt"
    # 20000 bytes: two 16 KiB records or more, each spanning many 1448-byte segments
    for i in $(seq 1 400); do printf 'line %04d of the b file ......................................\n' "$i"; done \
        > "$W/www/b.txt"
    truncate -s 20000 "$W/www/b.txt"
    printf '<html><body>connscope tls test</body></html>\n' > "$W/www/index.html"
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
    types { text/html html; text/plain txt; }
    default_type text/plain;
    sendfile off;
    keepalive_timeout 65;
    server {
        listen 127.0.0.1:19443 ssl;
        server_name $HOST;
        root $W/www;
        ssl_certificate $W/cert.pem;
        ssl_certificate_key $W/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers off;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    }
}
EOF
    ip netns add "$NS" 2>/dev/null || true
    nsx ip link set lo up mtu 1500
    nsx ethtool -K lo tso off gso off gro off >/dev/null
    nsx nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"
    sleep 0.5
}

teardown() {
    [ -f "$W/nginx/nginx.pid" ] && kill -QUIT "$(cat "$W/nginx/nginx.pid")" 2>/dev/null || true
    [ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null || true
    sleep 0.3
    ip netns del "$NS" 2>/dev/null || true
}

cap_start() {                       # cap_start NAME PORT
    : > "$W/tcpdump.err"
    rm -f "$OUT/$1.keylog"
    # ip netns exec runs tcpdump in its own process: $! is tcpdump's pid (not a subshell's)
    ip netns exec "$NS" tcpdump -i lo -s 0 -Z root --immediate-mode -U -w "$OUT/$1.pcap" \
        "tcp port $2" 2>"$W/tcpdump.err" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q 'listening on' "$W/tcpdump.err" && break; sleep 0.05; done
    sleep 0.3
}
cap_stop() {
    sleep "${1:-1}"
    kill -INT "$CAP_PID"; wait "$CAP_PID" || true
    grep -E 'captured' "$W/tcpdump.err" | sed 's/^/    /'
}

# s_server in the background on PORT with extra options; SRV_PID set.
srv_start() {
    local port=$1; shift
    ip netns exec "$NS" openssl s_server -accept "127.0.0.1:$port" -cert "$W/cert.pem" \
        -key "$W/key.pem" "$@" < <(bash -c "${SRV_STDIN:-sleep 6}") >"$W/s_server.out" 2>&1 &
    SRV_PID=$!
    sleep 0.5
}
srv_stop() { kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=; }

U=https://$HOST:19443
R="--resolve $HOST:19443:127.0.0.1"
CURL() { local name=$1; shift; nsx env SSLKEYLOGFILE="$OUT/$name.keylog" curl -sS -k --http1.1 "$@" >/dev/null; }

# ---- nginx, one keep-alive connection each ---------------------------------------------------
cap_tls12_aes128gcm() {        # TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, 3 GETs on one connection
    cap_start tls12-aes128gcm 19443
    CURL tls12-aes128gcm $R --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 \
        $U/a.txt $U/b.txt $U/index.html
    cap_stop
}
cap_tls12_chacha() {           # TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305, 2 GETs
    cap_start tls12-chacha 19443
    CURL tls12-chacha $R --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 \
        $U/index.html $U/b.txt
    cap_stop
}
cap_tls13_aes128gcm() {        # TLS 1.3 TLS_AES_128_GCM_SHA256, 3 GETs
    cap_start tls13-aes128gcm 19443
    CURL tls13-aes128gcm $R --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 \
        $U/a.txt $U/index.html $U/b.txt
    cap_stop
}
cap_tls13_chacha() {           # TLS 1.3 TLS_CHACHA20_POLY1305_SHA256, 2 GETs
    cap_start tls13-chacha 19443
    CURL tls13-chacha $R --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 \
        $U/b.txt $U/a.txt
    cap_stop
}

# ---- openssl s_server -www (answers one request, then closes): resumption -------------------
cap_tls12_resume() {           # TLS 1.2 AES256-GCM-SHA384 (SHA-384 PRF); 2nd connection resumes
    srv_start 19445 -www -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384
    cap_start tls12-resume 19445
    nsx env SSLKEYLOGFILE="$OUT/tls12-resume.keylog" curl -sS -k --http1.1 \
        --resolve $HOST:19445:127.0.0.1 https://$HOST:19445/ https://$HOST:19445/again >/dev/null
    cap_stop
    srv_stop
}
cap_tls13_resume() {           # TLS 1.3 TLS_AES_256_GCM_SHA384; 2nd connection resumes (PSK)
    srv_start 19446 -www -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384
    cap_start tls13-resume 19446
    nsx env SSLKEYLOGFILE="$OUT/tls13-resume.keylog" curl -sS -k --http1.1 \
        --resolve $HOST:19446:127.0.0.1 https://$HOST:19446/ https://$HOST:19446/again >/dev/null
    cap_stop
    srv_stop
}

# ---- openssl s_client: HelloRetryRequest, KeyUpdate ---------------------------------------
cap_tls13_hrr_keyupdate() {    # client key share P-256, server wants X25519 -> HRR; then the client
                               # sends "hello", a KeyUpdate ('k' command), "world"; server "pong"
    SRV_STDIN="sleep 2; printf 'pong\n'; sleep 3" srv_start 19447 -tls1_3 -groups X25519
    cap_start tls13-hrr-keyupdate 19447
    (sleep 0.5; printf 'hello\n'; sleep 0.3; printf 'k\n'; sleep 0.3; printf 'world\n'; sleep 1.5) \
        | nsx openssl s_client -connect 127.0.0.1:19447 -servername $HOST -groups P-256:X25519 \
            -keylogfile "$OUT/tls13-hrr-keyupdate.keylog" >/dev/null 2>&1 || true
    cap_stop
    srv_stop
}

ALL="tls12_aes128gcm tls12_chacha tls13_aes128gcm tls13_chacha tls12_resume tls13_resume tls13_hrr_keyupdate"
trap teardown EXIT
setup
for c in ${@:-$ALL}; do
    echo "capture ${c//_/-}"
    "cap_${c//-/_}"
done
