#!/bin/bash
# test_quic.sh - QUIC connections end to end (connscope --json "quic" records, the text tables, the
# summary, filters, -j, caps) against truths that are not connscope:
#  1. Zeek's quic.log and ssl.log baselines (../shared/corpus2/zeek-quic): connection count,
#     version, connection IDs, server_name, client_protocol, history; TLS version and cipher;
#  2. suricata-verify's quic-* tests (../shared/corpus2/suricata-verify, test.yaml): the SNI and
#     ALPN values their quic events must carry;
#  3. tshark on pcaps/quic/ and both corpus2 suites: quic.connection.number count, ClientHello
#     SNIs, JA3/JA3S, and JA4 computed from tshark's ClientHello fields (quic_compare.py);
#  4. tshark's packet times and lengths on pcaps/quic/: handshake time (client's first Initial to
#     the server's first Handshake packet), datagrams and UDP payload bytes per direction; and the
#     facts pcaps/quic/README.md states about each capture (no answer, Version Negotiation, Retry).
# Every known difference is argued in quic_compare.py's KNOWN table or below.
. "$(dirname "$0")/lib.sh"
need_tshark
need_python
Q="$PCAPS/quic"
CORPUS2=${CORPUS2:-$SRCDIR/../shared/corpus2}
ZQ="$CORPUS2/zeek-quic"
SV="$CORPUS2/suricata-verify"
CMP="$SRCDIR/tests/integration/quic_compare.py"

compare() { # compare MODE ARGS...: quic_compare.py, its last line as the verdict
    local out
    if out=$(python3 "$CMP" "$CONNSCOPE" "$@" 2>&1); then
        echo "$out" | grep '^known' | sed 's/^/  /'
        pass "$(echo "$out" | tail -n 1)"
    else
        fail "quic_compare.py $1 $(basename "$2"):"
        echo "$out" | grep -E 'FAIL|Error|error' | head -10
    fi
}

# ---- 1. Zeek's quic.log (and ssl.log) -------------------------------------------------------------
if [ -d "$ZQ" ]; then
    n=0
    for log in "$ZQ"/*__quic.log "$ZQ"/*__quic.log.cut "$ZQ"/*__quic.log.default-discarded-packets; do
        [ -f "$log" ] || continue
        # discarded-packet's quic.log.cut is not a baseline of its TEST.zeek (whose btest-diff
        # targets are the three quic.log.*-discarded-packet* files, run with other settings):
        # Zeek's default run is quic.log.default-discarded-packets, compared instead
        case "$log" in *discarded-packet__*__quic.log.cut) continue ;; esac
        pcap=${log%__quic.log*}
        ssl="${pcap}__ssl.log"
        [ -f "$ssl" ] || ssl=""
        compare zeek "$pcap" "$log" $ssl
        n=$((n + 1))
    done
    [ "$n" -ge 13 ] || fail "only $n Zeek quic.log baselines found in $ZQ"
else
    echo "SKIP: $ZQ not found (set CORPUS2): Zeek baselines not checked"
fi

# ---- 2. suricata-verify -------------------------------------------------------------------------
if [ -d "$SV" ]; then
    for y in "$SV"/quic-*__test.yaml; do
        compare sv "${y%__test.yaml}__input.pcap" "$y"
    done
    # quic-alerts and quic-cyu are Google QUIC (gQUIC Q046, its own header and handshake, which
    # Suricata parses for its CYU fingerprint): not IETF QUIC, so no connection, and tshark
    # numbers none either (3. below).
    for t in quic-alerts quic-cyu; do
        c=$("$CONNSCOPE" -q --json "$SV/${t}__input.pcap" | grep -c '"type":"quic"')
        [ "$c" -eq 0 ] && pass "$t (gQUIC Q046): no IETF QUIC connection, as tshark" ||
            fail "$t: $c QUIC connections in a gQUIC capture"
    done
else
    echo "SKIP: $SV not found (set CORPUS2): suricata-verify expectations not checked"
fi

# ---- 3. tshark: connection numbers, SNI, JA3/JA3S/JA4 -------------------------------------------
declare -A seen # the corpus2 suites hold some captures twice (one per test): compare each once
for p in "$Q"/*.pcap "$ZQ"/*.pcap "$ZQ"/*.pcapng "$SV"/quic-*__input.pcap; do
    [ -f "$p" ] || continue
    sum=$(cksum < "$p")
    [ -n "${seen[$sum]:-}" ] && continue
    seen[$sum]=1
    compare tshark "$p"
done

# ---- 4. times, counts and states of the captures made here --------------------------------------
# rec CAPTURE FIELD...: the FIELDs of each quic record, tab-separated (null as -)
rec() {
    local cap=$1
    shift
    "$CONNSCOPE" -q --json "$cap" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["type"] == "quic":
        print("\t".join("-" if r[k] is None else str(r[k]) for k in sys.argv[1:]))' "$@"
}
# server port of a capture made here (the only port in 19460-19465)
sport() { tshark -r "$1" -T fields -e udp.srcport -e udp.dstport 2>/dev/null | tr '\t' '\n' |
    grep -m1 -E '^1946[0-9]$'; }

# handshake time: tshark's first frame to the server's first Handshake (long packet type 2)
for c in quic-h3 quic-retry quic-migration; do
    f="$Q/$c.pcap"
    port=$(sport "$f")
    want=$(tshark -r "$f" -T fields -e frame.time_epoch -e udp.srcport -e quic.long.packet_type \
        2>/dev/null | awk -v p="$port" 'NR == 1 { t0 = $1 }
        $2 == p && $3 ~ /(^|,)2(,|$)/ { printf "%d\n", ($1 - t0) * 1e6 + 0.5; exit }')
    have=$(rec "$f" handshake_us)
    [ -n "$want" ] && [ "$have" = "$want" ] && pass "$c: handshake ${have} us, as tshark's times" ||
        fail "$c: handshake_us $have, tshark's times give $want"
done

# datagrams and UDP payload bytes per direction, summed over the connections of each capture
for c in quic-h3 quic-retry quic-migration quic-three quic-vn quic-noanswer; do
    f="$Q/$c.pcap"
    port=$(sport "$f")
    want=$(tshark -r "$f" -Y 'udp && !icmp' -T fields -e udp.srcport -e udp.length 2>/dev/null | awk -v p="$port" '
        { d = ($1 == p); n[d]++; b[d] += $2 - 8 } END { printf "%d %d %d %d\n", n[0], b[0], n[1], b[1] }')
    have=$(rec "$f" orig_pkts orig_bytes resp_pkts resp_bytes |
        awk '{ for (i = 1; i <= 4; i++) s[i] += $i } END { printf "%d %d %d %d\n", s[1], s[2], s[3], s[4] }')
    [ "$have" = "$want" ] && pass "$c: datagrams/bytes client, server = $have (tshark)" ||
        fail "$c: datagrams/bytes $have, tshark $want"
done

# the facts pcaps/quic/README.md states
check_rec() { # check_rec CAPTURE FIELDS EXPECTED WHY
    local have
    have=$(rec "$1" $2 | tr '\t\n' ' ' | sed 's/ $//')
    [ "$have" = "$3" ] && pass "$(basename "$1"): $4 ($2 = $have)" ||
        fail "$(basename "$1"): $4: $2 = '$have', expected '$3'"
}
check_rec "$Q/quic-noanswer.pcap" "state server_scid handshake_us closed_by" "no_answer - - client" \
    "no server: client Initials only, the last one a CONNECTION_CLOSE"
check_rec "$Q/quic-vn.pcap" "state version" "version_negotiation unknown-1a2a3a4a established 1" \
    "a reserved version draws Version Negotiation, then a v1 connection"
check_rec "$Q/quic-retry.pcap" "state retries" "established 1" "one Retry, then the handshake"
check_rec "$Q/quic-three.pcap" "connection_number state" "0 established 1 established 2 established" \
    "three connections in creation order"
check_rec "$Q/quic-migration.pcap" "state udp_stream" "established 0" \
    "the client's new port stays one connection (its first flow's udp.stream)"

# the text tables: attempts per destination and per server
out=$("$CONNSCOPE" -q "$Q/quic-noanswer.pcap" "$Q/quic-three.pcap")
echo "$out" | grep -qE '^  127\.0\.0\.1:19464 +1 +3 +0 +0 +0 +1$' &&
    pass "text: attempts per destination (3 Initials, no answer)" ||
    { fail "text: attempts row of 127.0.0.1:19464"; echo "$out" | sed -n '/QUIC conn/,/^$/p'; }
echo "$out" | grep -qE '^  127\.0\.0\.1:19465 +3 +3 +0 +0 +0 +localhost +h3 ' &&
    pass "text: QUIC per server (3 established, SNI, ALPN)" ||
    { fail "text: QUIC per server row of 127.0.0.1:19465"; echo "$out" | sed -n '/QUIC per/,/^$/p'; }

# summary counters, -j merge, filters
summ() { "$CONNSCOPE" -q --json "$@" | grep '"type":"summary"' | grep -oE '"quic_(connections|states)":(\{[^}]*\}|[0-9]+)' | tr '\n' ' '; }
all=("$Q"/quic-*.pcap)
one=$(summ "${all[@]}")
echo "$one" | grep -q '"quic_connections":9 ' && pass "summary: 9 QUIC connections in pcaps/quic" ||
    fail "summary: $one"
jj=$(summ -j 3 "${all[@]}")
[ "$jj" = "$one" ] && pass "-j 3: the same QUIC summary" || fail "-j 3: $jj, one run: $one"
srv1=$("$CONNSCOPE" -q --json "${all[@]}" | grep '"type":"quic_server"' | sort)
srv3=$("$CONNSCOPE" -q --json -j 3 "${all[@]}" | grep '"type":"quic_server"' | sort)
[ -n "$srv1" ] && [ "$srv1" = "$srv3" ] && pass "-j 3: the same quic_server records" ||
    fail "-j 3: quic_server records differ"
c=$("$CONNSCOPE" -q --json --server 127.0.0.1:19465 "${all[@]}" | grep -c '"type":"quic"')
[ "$c" -eq 3 ] && pass "--server 127.0.0.1:19465: its 3 connections" || fail "--server: $c connections"
c=$("$CONNSCOPE" -q --json --client 127.0.0.2 "${all[@]}" | grep -c '"type":"quic"')
[ "$c" -eq 0 ] && pass "--client 127.0.0.2: none" || fail "--client 127.0.0.2: $c connections"

# the cap: at most 1 connection tracked, evictions counted, every connection still reported
out=$("$CONNSCOPE" -q --json --quic-max-conns 1 "$Q/quic-three.pcap")
c=$(echo "$out" | grep -c '"type":"quic"')
ev=$(echo "$out" | grep -o '"quic_conn_evictions":[0-9]*' | cut -d: -f2)
[ "$c" -eq 3 ] && [ "$ev" = 2 ] && pass "--quic-max-conns 1: 3 records, 2 evictions counted" ||
    fail "--quic-max-conns 1: $c records, evictions '$ev'"

# --quic-port: an unknown version on UDP 443 is QUIC only when forced (Zeek takes it by port)
if [ -d "$ZQ" ]; then
    v="$ZQ/vector-max-size-crash__vector-max-size-crash.pcap"
    a=$("$CONNSCOPE" -q --json "$v" | grep -c '"quic_datagrams"')
    b=$("$CONNSCOPE" -q --json --quic-port 443 "$v" | grep -o '"quic_datagrams":[0-9]*')
    [ "$a" -eq 0 ] && [ "$b" = '"quic_datagrams":1' ] &&
        pass "--quic-port 443: the unknown-version datagram is taken as QUIC (an orphan)" ||
        fail "--quic-port: without $a, with $b"
fi
"$CONNSCOPE" -q --quic-port 0 "$Q/quic-h3.pcap" >/dev/null 2>&1
[ $? -eq 2 ] && pass "--quic-port 0 is a usage error" || fail "--quic-port 0 accepted"

# a capture without QUIC keeps its output: no quic members, no QUIC tables
out=$("$CONNSCOPE" -q --json "$PCAPS/http-keepalive.pcap" 2>&1; "$CONNSCOPE" -q "$PCAPS/http-keepalive.pcap" 2>&1)
echo "$out" | grep -qE '"quic|QUIC' && fail "QUIC in the output of a TCP-only capture" ||
    pass "no QUIC output for a capture without QUIC"
finish
