#!/bin/bash
# Print the tshark view of each capture given: link type, packets, TCP streams,
# SYNs per destination, RST/FIN counts, HTTP requests and responses.
# usage: pcaps/tools/summarize.sh FILE...
for f in "$@"; do
    echo "### $(basename "$f")"
    capinfos -t -E -c -T -r "$f" 2>/dev/null | tail -1 | awk -F'\t' '{print "type="$2" encap="$3" packets="$4}'
    echo "streams (tcp.stream  A -> B  packets):"
    tshark -r "$f" -T fields -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack 2>/dev/null |
        awk -F'\t' '{n[$1]++} $8==1 && $9==0 && !($1 in s) {s[$1]=$2$3":"$4" -> "$5$6":"$7}
                    END {for (k in n) printf "  %s  %s  %d pkts\n", k, (k in s ? s[k] : "(no SYN)"), n[k]}' | sort -n
    echo "SYNs (no ACK) per destination:"
    tshark -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e ip.dst -e ipv6.dst -e tcp.dstport 2>/dev/null |
        awk -F'\t' '{print $1$2":"$3}' | sort | uniq -c | sed 's/^/  /'
    printf "RST frames: %s   FIN frames: %s\n" \
        "$(tshark -r "$f" -Y 'tcp.flags.reset==1' 2>/dev/null | wc -l)" \
        "$(tshark -r "$f" -Y 'tcp.flags.fin==1' 2>/dev/null | wc -l)"
    echo "requests (frame stream method uri version):"
    tshark -r "$f" -Y http.request -T fields -e frame.number -e tcp.stream -e http.request.method -e http.request.uri -e http.request.version 2>/dev/null | sed 's/^/  /'
    echo "responses (frame stream code version http.time request_in):"
    tshark -r "$f" -Y http.response -T fields -e frame.number -e tcp.stream -e http.response.code -e http.response.version -e http.time -e http.request_in 2>/dev/null | sed 's/^/  /'
    echo
done
