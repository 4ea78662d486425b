#!/bin/bash
# Re-create the QUIC test captures in pcaps/quic/ (and the NSS key logs their clients wrote).
# Everything runs inside a private network namespace (its own lo) so that nothing on the
# host is disturbed; the server sends one datagram per sendmsg (--max-gso-dgrams=1), so the capture
# sees wire-sized datagrams, not UDP GSO super-packets. Server: ngtcp2's example HTTP/3 server (gtlsserver, Debian ngtcp2-server
# 0.12.1, GnuTLS) with a throwaway self-signed certificate; client: its example client
# (gtlsclient, ngtcp2-client) with SSLKEYLOGFILE. Ports 19460-19469.
#
# usage: sudo pcaps/quic/make-captures.sh [capture-name ...]   (default: all)
# Requires: ip, tcpdump, openssl, gtlsserver, gtlsclient.
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)  # pcaps/quic/
W=${W:-/tmp/csquic-work}            # scratch: certificate, web root, logs
NS=${NS:-csquic}
HOST=quic.connscope.test            # SNI sent by the client (--sni)
SRV_PIDS=()

nsx() { ip netns exec "$NS" "$@"; }

setup() {
    mkdir -p "$W/www"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=$HOST" -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
    printf 'alpha\n' > "$W/www/a.txt"
    for i in $(seq 1 400); do printf 'line %04d of the b file ......................................\n' "$i"; done \
        > "$W/www/b.txt"
    truncate -s 20000 "$W/www/b.txt"
    ip netns add "$NS" 2>/dev/null || true
    nsx ip link set lo up
}

# server PORT [options...]: starts gtlsserver on 127.0.0.1:PORT in the namespace
server() {
    local port=$1
    shift
    # not through nsx: $! must be the server itself (ip netns exec execs it)
    ip netns exec "$NS" gtlsserver -q -d "$W/www" --max-gso-dgrams=1 "$@" 127.0.0.1 "$port" "$W/key.pem" \
        "$W/cert.pem" > "$W/server-$port.log" 2>&1 &
    SRV_PIDS+=($!)
    sleep 0.5
}

stop_servers() {
    for p in "${SRV_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    SRV_PIDS=()
}

# capture NAME FILTER: starts tcpdump; `finish` stops it
capture() {
    rm -f "$OUT/$1.pcap" "$OUT/$1.keylog"
    ip netns exec "$NS" tcpdump -i lo -s 0 --immediate-mode -U -w "$OUT/$1.pcap" "$2" > "$W/tcpdump-$1.log" 2>&1 &
    TCPDUMP=$!
    for _ in $(seq 1 50); do
        grep -q "listening on" "$W/tcpdump-$1.log" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
}

finish() {
    sleep 1
    kill -INT "$TCPDUMP"
    wait "$TCPDUMP" || true
}

# client NAME PORT "OPTIONS" PATH...: gtlsclient GETs https://HOST/PATH..., its key log in NAME.keylog
client() {
    local name=$1 port=$2 opts=$3
    shift 3
    local uris=()
    for p in "$@"; do uris+=("https://$HOST/$p"); done
    # shellcheck disable=SC2086
    nsx env SSLKEYLOGFILE="$OUT/$name.keylog" timeout 20 gtlsclient --sni="$HOST" \
        --exit-on-all-streams-close $opts 127.0.0.1 "$port" "${uris[@]}" \
        >> "$W/client-$name.log" 2>&1 || true
}

# one HTTP/3 connection, two GETs
cap_quic_h3() {
    server 19460
    capture quic-h3 "udp port 19460"
    client quic-h3 19460 "" a.txt b.txt
    finish
    stop_servers
}

# the server checks the client's address with a Retry first (--validate-addr)
cap_quic_retry() {
    server 19461 -V
    capture quic-retry "udp port 19461"
    client quic-retry 19461 "" a.txt
    finish
    stop_servers
}

# the client changes its port after the handshake (NAT rebinding)
cap_quic_migration() {
    server 19462
    capture quic-migration "udp port 19462"
    client quic-migration 19462 "--change-local-addr=100ms --nat-rebinding --delay-stream=300ms" b.txt
    finish
    stop_servers
}

# the client offers a version the server does not know: Version Negotiation, then v1
cap_quic_vn() {
    server 19463
    capture quic-vn "udp port 19463"
    client quic-vn 19463 "-v 0x1a2a3a4a --preferred-versions=v1" a.txt
    finish
    stop_servers
}

# nobody listens: the client's Initials get no answer (ICMP port unreachable instead)
cap_quic_noanswer() {
    capture quic-noanswer "udp port 19464 or icmp"
    client quic-noanswer 19464 "--handshake-timeout=2s" a.txt
    finish
}

# three connections one after the other to one server
cap_quic_three() {
    server 19465
    capture quic-three "udp port 19465"
    for i in 1 2 3; do client quic-three 19465 "" a.txt; done
    finish
    stop_servers
}

ALL="quic_h3 quic_retry quic_migration quic_vn quic_noanswer quic_three"
trap 'stop_servers; ip netns del "$NS" 2>/dev/null || true' EXIT
setup
for c in ${*:-$ALL}; do
    "cap_${c//-/_}"
done
ls -l "$OUT"/*.pcap
