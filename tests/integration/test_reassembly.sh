#!/bin/bash
# test_reassembly.sh - reassembled payload (connscope follow --format raw) equals the expected
# outputs PcapPlusPlus ships with its captures (third-party truth), including sequence wrap and a gap.
. "$(dirname "$0")/lib.sh"
P="$CORPUS/pcapplusplus"
[ -d "$P" ] || skip "corpus not found at $CORPUS"

same_stream() { # capture stream side expected-file
    if "$CONNSCOPE" follow --format raw --side "$3" "$2" "$P/$1" | cmp -s - "$P/$4"; then
        pass "$1 stream $2 ($3) = $4"
    else
        fail "$1 stream $2 ($3) differs from $4"
    fi
}
same_stream one_tcp_stream.pcap 0 both one_tcp_stream_output.txt
same_stream one_tcp_stream_max_seq.pcap 0 both one_tcp_stream_output.txt
same_stream one_http_stream_fin.pcap 0 both one_http_stream_fin_output.txt
same_stream one_http_stream_fin2.pcap 0 both one_http_stream_fin2_output.txt
same_stream one_http_stream_rst.pcap 0 both one_http_stream_rst_output.txt
same_stream examples__tcp-reassembly.pcap 0 both \
    examples__tcpreassembly_sanity__172.16.133.54.64370-23.21.118.18.80.txt
same_stream examples__tcp-reassembly.pcap 0 client \
    examples__tcpreassembly_sides__172.16.133.54.64370-23.21.118.18.80.txt
same_stream examples__tcp-reassembly.pcap 0 server \
    examples__tcpreassembly_sides__23.21.118.18.80-172.16.133.54.64370.txt

# PcapPlusPlus numbers connections its own way: each expected output must equal exactly one stream.
one_of_streams() { # capture nstreams expected...
    local cap=$1 n=$2; shift 2
    for exp in "$@"; do
        local hit=""
        for s in $(seq 0 $((n - 1))); do
            "$CONNSCOPE" follow --format raw "$s" "$P/$cap" | cmp -s - "$P/$exp" && hit="$hit $s"
        done
        if [ "$(echo $hit | wc -w)" = 1 ]; then pass "$cap: $exp = stream$hit"; else fail "$cap: $exp matched streams [$hit]"; fi
    done
}
one_of_streams three_http_streams.pcap 3 three_http_streams_conn_1_output.txt \
    three_http_streams_conn_2_output.txt three_http_streams_conn_3_output.txt
one_of_streams four_ipv6_http_streams.pcap 4 one_ipv6_http_stream2.txt one_ipv6_http_stream3.txt \
    one_ipv6_http_stream4.txt

# One missing segment in a one-way stream: PcapPlusPlus's test expects the data after the hole
# (7 data packets, 9948 bytes in all) and one missing chunk of 1420 bytes.
out=$("$CONNSCOPE" follow 0 "$P/unidirectional_tcp_stream_with_missing_packet.pcap")
if echo "$out" | grep -q "gap: 1420 bytes missing from the client at stream offset 1420" &&
    echo "$out" | grep -q "client finished (9948 bytes)"; then
    pass "unidirectional stream: one 1420-byte gap, 9948 bytes in all"
else
    fail "unidirectional stream gap not reported as expected"; echo "$out" | grep '==='
fi
finish
