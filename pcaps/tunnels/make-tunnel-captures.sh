#!/bin/bash
# make-tunnel-captures.sh - real HTTP traffic through tunnels between network namespaces, captured on
# the underlay with tcpdump. Run as root from the source tree: pcaps/tunnels/make-tunnel-captures.sh [NAME...]
#
# Two namespaces (cst-c: client, cst-s: server) joined by a veth pair (underlay 10.77.0.1/2,
# fd77::1/2). Each capture puts a tunnel between them with overlay addresses 10.78.0.1/2 (or
# fd78::1/2), runs `python3 -m http.server --protocol HTTP/1.1` on the server's overlay address and
# three requests from curl (two on one keep-alive connection, one on a second connection), and
# captures the client's underlay interface. curl's own account of each transfer (status code and
# new connections, -w '%{http_code} %{num_connects}') is written to NAME.truth beside NAME.pcap.
#
# VXLAN uses the kernel's driver (ip link add type vxlan). This kernel has no GRE, GENEVE, IPIP,
# SIT, ip6tnl or ERSPAN modules, so those tunnels are made by tunforward.py (beside this script): a
# TUN/TAP device per namespace whose packets it carries in that encapsulation over raw or UDP
# sockets. ERSPAN is a mirror: a third namespace (cst-m, the collector, 10.76.0.2) receives copies
# of every frame on the client's underlay interface, and its interface is the one captured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fwd="$here/tunforward.py"
work=$(mktemp -d /tmp/cstunnel.XXXXXX)
C="ip netns exec cst-c"
S="ip netns exec cst-s"
M="ip netns exec cst-m"
PORT=28080
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
    for ns in cst-c cst-s cst-m; do ip netns del "$ns" 2>/dev/null || true; done
}
trap 'cleanup; rm -rf "$work"' EXIT

# The underlay: two namespaces and a veth pair, offloads off (frames as on a real wire).
setup() {
    cleanup
    ip netns add cst-c
    ip netns add cst-s
    ip link add vc netns cst-c type veth peer name vs netns cst-s
    $C ip addr add 10.77.0.1/24 dev vc
    $S ip addr add 10.77.0.2/24 dev vs
    $C ip addr add fd77::1/64 dev vc nodad
    $S ip addr add fd77::2/64 dev vs nodad
    for x in cst-c:vc cst-s:vs; do
        ip netns exec "${x%%:*}" ip link set "${x#*:}" up
        ip netns exec "${x%%:*}" ip link set lo up
        ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tso off gso off gro off tx off rx off \
            >/dev/null 2>&1 || true
    done
    mkdir -p "$work/www"
    head -c 100 /dev/zero | tr '\0' 'a' >"$work/www/a.txt"
    head -c 3000 /dev/zero | tr '\0' 'b' >"$work/www/b.txt"
    head -c 6000 /dev/zero | tr '\0' 'c' >"$work/www/c.txt"
}

# Starts a background command in a namespace and waits for its first line ("ready", "listening").
start() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
        [ -s "$log" ] && return 0
        sleep 0.1
    done
    echo "make-tunnel-captures: $* did not start:" >&2
    cat "$log" >&2
    return 1
}

# run NAME CAPTURE_NS IFACE SERVER_ADDR URL_HOST: server, capture, the three requests, stop.
run() {
    local name=$1 cns=$2 iface=$3 addr=$4 host=$5
    start "$work/http.log" $S python3 -u -m http.server "$PORT" --bind "$addr" \
        --directory "$work/www" --protocol HTTP/1.1
    sleep 0.3
    start "$work/tcpdump.log" ip netns exec "$cns" tcpdump -i "$iface" -s 0 -U -B 4096 \
        -w "$here/$name.pcap" 'not arp and not icmp6'
    sleep 0.5
    local u="http://$host:$PORT"
    {
        $C curl -s -w '%{http_code} %{num_connects}\n' -o /dev/null "$u/a.txt" -o /dev/null "$u/b.txt"
        $C curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' "$u/c.txt"
    } >"$here/$name.truth"
    sleep 1
    kill -INT "${pids[-1]}"
    wait "${pids[-1]}" 2>/dev/null || true
    grep -q "^0 packets dropped by kernel" "$work/tcpdump.log" ||
        { echo "make-tunnel-captures: $name: tcpdump dropped packets" >&2; cat "$work/tcpdump.log" >&2; }
    echo "$name: $(wc -l <"$here/$name.truth") transfers, $(tail -n 3 "$work/tcpdump.log" | head -n 1)"
}

vxlan() { # NAME VNI PORT
    setup
    $C ip link add vx0 type vxlan id "$2" remote 10.77.0.2 local 10.77.0.1 dstport "$3" dev vc
    $S ip link add vx0 type vxlan id "$2" remote 10.77.0.1 local 10.77.0.2 dstport "$3" dev vs
    $C ip addr add 10.78.0.1/24 dev vx0
    $S ip addr add 10.78.0.2/24 dev vx0
    $C ip link set vx0 up
    $S ip link set vx0 up
    run "$1" cst-c vc 10.78.0.2 10.78.0.2
}

userspace() { # NAME MODE UNDERLAY(4|6) OVERLAY(4|6) [tunforward options]
    local name=$1 mode=$2 u=$3 o=$4
    shift 4
    setup
    local lc=10.77.0.1 ls=10.77.0.2 oc=10.78.0.1/24 os=10.78.0.2/24 host=10.78.0.2 addr=10.78.0.2
    [ "$u" = 6 ] && lc=fd77::1 ls=fd77::2
    [ "$o" = 6 ] && oc=fd78::1/64 os=fd78::2/64 host='[fd78::2]' addr=fd78::2
    start "$work/fc.log" $C python3 -u "$fwd" tun "$mode" "$lc" "$ls" t0 "$oc" "$@"
    start "$work/fs.log" $S python3 -u "$fwd" tun "$mode" "$ls" "$lc" t0 "$os" "$@"
    sleep 0.5
    run "$name" cst-c vc "$addr" "$host"
}

erspan() { # NAME MODE SESSION
    setup
    ip netns add cst-m
    ip link add mc netns cst-c type veth peer name mm netns cst-m
    $C ip addr add 10.76.0.1/24 dev mc
    $M ip addr add 10.76.0.2/24 dev mm
    $C ip link set mc up
    $M ip link set mm up
    $M ip link set lo up
    $M ethtool -K mm tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    start "$work/sink.log" $M python3 -u "$fwd" sink 47
    start "$work/mirror.log" $C python3 -u "$fwd" mirror "$2" vc 10.76.0.1 10.76.0.2 --session "$3"
    run "$1" cst-m mm 10.77.0.2 10.77.0.2
}

make_one() {
    case $1 in
    vxlan) vxlan vxlan 4242 4789 ;;
    vxlan-8472) vxlan vxlan-8472 77 8472 ;;
    geneve) userspace geneve geneve 4 4 --vni 4343 ;;
    gretap) userspace gretap gretap 4 4 --key 44 ;;
    gre) userspace gre gre 4 4 --key 45 ;;
    ipip) userspace ipip ipip 4 4 ;;
    sit) userspace sit sit 4 6 ;;
    ip6ip6) userspace ip6ip6 ip6ip6 6 6 ;;
    ipip6) userspace ipip6 ipip6 6 4 ;;
    erspan1) erspan erspan1 erspan1 0 ;;
    erspan2) erspan erspan2 erspan2 101 ;;
    erspan3) erspan erspan3 erspan3 202 ;;
    *) echo "make-tunnel-captures: unknown capture $1" >&2; exit 2 ;;
    esac
    cleanup
}

all="vxlan vxlan-8472 geneve gretap gre ipip sit ip6ip6 ipip6 erspan1 erspan2 erspan3"
for n in ${*:-$all}; do make_one "$n"; done
