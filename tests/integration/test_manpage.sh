#!/bin/bash
# test_manpage.sh - the man pages (doc/connscope.1, doc/connscope-gen.1) cannot go stale: every long
# option of --help is in them, every JSON object type and field connscope writes and every anomaly
# counter is documented, and both pages render without formatter warnings, in 80 columns.
. "$(dirname "$0")/lib.sh"

PAGE="$SRCDIR/doc/connscope.1"
GENPAGE="$SRCDIR/doc/connscope-gen.1"
GEN="$(dirname "$CONNSCOPE")/connscope-gen"
for p in "$PAGE" "$GENPAGE"; do
    [ -f "$p" ] || { fail "$(capname "$p") is missing"; finish; }
done

# Words a page sets on its macro lines (.B, .BR, .RB, .I, ...): where fields, object types, anomaly
# names and option values are named. Escapes are removed ('\-' becomes '-'), one word per line.
page_terms() {
    grep -E '^\.(B|BR|BI|RB|IB|I|IR|RI|TP) ' "$1" | sed -E 's/^\.[A-Z]+ //' |
        sed -e 's/\\([a-z][a-z]//g' -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\.//g' |
        tr -cs 'A-Za-z0-9_.-' '\n' | sed -e 's/^[.-]*//' -e 's/[.-]*$//' | grep -v '^$' | sort -u
}
page_terms "$PAGE" > "$TMP/terms"
page_terms "$GENPAGE" > "$TMP/genterms"

# Checks that every name in file $1 (one per line) is in the term list $2; $3 says what they are.
check_names() {
    local names=$1 terms=$2 what=$3 missing
    missing=$(sort -u "$names" | grep -v '^$' | grep -vxF -f "$terms" | tr '\n' ' ')
    local n
    n=$(sort -u "$names" | grep -vc '^$')
    if [ "$n" -eq 0 ]; then
        fail "$what: found none to check"
    elif [ -n "$missing" ]; then
        fail "$what not documented: $missing"
    else
        pass "$what: all $n documented"
    fi
}

# ---- 1. every long option of --help is in the page as \-\-name ---------------------------------
# Checks the options printed by the command "$2..." against page $1.
check_options() {
    local page=$1 missing="" n=0 opt
    shift
    local help
    if ! help=$("$@" 2>&1); then
        fail "'$(basename "$1") ${*:2}' failed"
        return
    fi
    for opt in $(printf '%s\n' "$help" | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
        n=$((n + 1))
        grep -qF -- "${opt//-/\\-}" "$page" || missing="$missing $opt"
    done
    if [ "$n" -eq 0 ]; then
        fail "'$(basename "$1") ${*:2}' printed no long options"
    elif [ -n "$missing" ]; then
        fail "options of '$(basename "$1") ${*:2}' missing from $(capname "$page"):$missing"
    else
        pass "the $n long options of '$(basename "$1") ${*:2}' are in $(capname "$page")"
    fi
}
check_options "$PAGE" "$CONNSCOPE" --help
check_options "$PAGE" "$CONNSCOPE" follow --help
check_options "$PAGE" "$CONNSCOPE" merge --help-all
if [ -x "$GEN" ]; then
    check_options "$GENPAGE" "$GEN" --help
else
    echo "SKIP: $GEN not built: its options not checked"
fi

# ... and the other way round: every option the OPTIONS sections describe (.TP tags) exists.
# Prints the long options used in the .TP tags of section $2 of page $1.
tagged_options() {
    awk -v sec="$2" '/^\.SH /{ on = index($0, sec) > 0; next }
        on && prev == ".TP" { print } { prev = $0 }' "$1" |
        sed 's/\\-/-/g' | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u
}
stale=""
for opt in $(tagged_options "$PAGE" OPTIONS); do
    "$CONNSCOPE" --help | grep -qE -- "(^|[ ,])$opt([=, ]|$)" || stale="$stale $opt"
done
for opt in $(tagged_options "$PAGE" FOLLOW); do
    "$CONNSCOPE" follow --help | grep -qE -- "(^|[ ,])$opt([=, ]|$)" || stale="$stale $opt"
done
for opt in $(tagged_options "$PAGE" MERGE); do
    "$CONNSCOPE" merge --help-all | grep -qE -- "(^|[ ,])$opt([=, ]|$)" || stale="$stale $opt"
done
if [ -x "$GEN" ]; then
    for opt in $(tagged_options "$GENPAGE" OPTIONS); do
        "$GEN" --help | grep -qE -- "(^|[ ,])$opt([=, ]|$)" || stale="$stale $opt"
    done
fi
if [ -n "$stale" ]; then
    fail "options described in the pages but not in --help:$stale"
else
    pass "every option the pages describe is in --help"
fi

# ---- 2. every JSON object type and field is documented ------------------------------------------
json_runs=(
    "$PCAPS/http-keepalive.pcap"
    "--tls-keylog $PCAPS/tls/tls13-aes128gcm.keylog $PCAPS/tls/tls13-aes128gcm.pcap"
    "$PCAPS/tls/tls13-aes128gcm.pcap"
    "$PCAPS/tcp-refused.pcap"
    "--interval 1 $PCAPS/tcp-mixed.pcap"
    "$PCAPS/http-100-continue.pcap"
    "$PCAPS/http-lost-segment.pcap"
    "-j 2 $PCAPS/http-keepalive.pcap $PCAPS/tcp-refused.pcap"
    "-A --host 127.0.0.1 $PCAPS/http-keepalive.pcap"
    "$PCAPS/tunnels/edge/t01_same_tuple_vni.pcap"
    "$PCAPS/tunnels/edge/t04_plain_and_gre.pcap"
    "$PCAPS/tunnels/edge/t05_vxlan_geneve.pcap"
    "$PCAPS/tunnels/edge/t06_gre_variants.pcap"
    "$PCAPS/tunnels/edge/t07_erspan.pcap"
    "$PCAPS/http2/h2c-features.pcap"
    "$PCAPS/http2/h2c-gap.pcap"
    "$PCAPS/http2/h2-tls12-parallel.pcap"
    "$PCAPS/quic/quic-noanswer.pcap"
    "$PCAPS/quic/quic-retry.pcap"
)
: > "$TMP/all.json"
for run in "${json_runs[@]}"; do
    # shellcheck disable=SC2086 # the run's words are options and paths without spaces
    if ! "$CONNSCOPE" --json $run >> "$TMP/all.json" 2> "$TMP/err"; then
        fail "connscope --json $run failed: $(head -1 "$TMP/err")"
    fi
done
grep -oE '"type":"[a-z_]+"' "$TMP/all.json" | cut -d'"' -f4 | sort -u > "$TMP/types"
for t in conn http tls syn_dest server http_server tls_server interval summary analytics \
    top_talker activity latency flow_profile udp udp_server tunnel quic quic_server; do
    grep -qxF "$t" "$TMP/types" || fail "the captures run here produced no '$t' object"
done
check_names "$TMP/types" "$TMP/terms" "JSON object types written on the captures"
# field names, nested ones included; objects keyed by data (states, anomalies, versions, ALPN
# protocols) are left out: their keys are values, not fields
sed -E 's/"(conn_states|anomalies|versions|next_protocols|quic_states|server_names|client_protocols)":\{[^}]*\}//g' "$TMP/all.json" |
    grep -oE '"[A-Za-z0-9_.]+":' | tr -d '":' | sort -u > "$TMP/fields"
check_names "$TMP/fields" "$TMP/terms" "JSON fields written on the captures"

# the writer's source names fields the captures above cannot produce (live drops, input errors)
SRC_JSON="$SRCDIR/src/report_json.c"
SRC_UDP="$SRCDIR/src/report_udp.c $SRCDIR/src/report_quic.c"
if [ -f "$SRC_JSON" ]; then
    {
        grep -hv 'json_percentiles(' "$SRC_JSON" $SRC_UDP | grep -oE '\(&?j, "[A-Za-z0-9_.]+"' | cut -d'"' -f2
        grep -oE 'json_percentiles\(&?j, "[a-z_]+"' "$SRC_JSON" | cut -d'"' -f2 |
            while read -r base; do printf '%s_p50_us\n%s_p90_us\n%s_p99_us\n%s_max_us\n' \
                "$base" "$base" "$base" "$base"; done
        grep -ohE '"type", "[a-z_]+"' "$SRC_JSON" $SRC_UDP | cut -d'"' -f4
        grep -ohE 'json_begin\(r, &j, "[a-z_]+"' "$SRC_JSON" $SRC_UDP | cut -d'"' -f2
    } > "$TMP/srcfields"
    check_names "$TMP/srcfields" "$TMP/terms" "JSON fields and types named in src/report_json.c, report_udp.c and report_quic.c"
else
    echo "SKIP: $SRC_JSON not found: fields of the source not checked"
fi

# ---- 3. every anomaly counter is documented, and only those -------------------------------------
: > "$TMP/anomalies"
for f in bad/snaplen-100.pcap ws-edge/c15_ipv4_frag.pcap ws-edge/c19_syn_flag_combos.pcap \
    ws-edge/c11_bad_doff.pcap bad/truncated.pcap http-lost-segment.pcap tunnels/edge/t13_malformed.pcap; do
    [ -f "$PCAPS/$f" ] || continue
    "$CONNSCOPE" --json "$PCAPS/$f" 2>/dev/null | grep '"type":"summary"' |
        grep -oE '"anomalies":\{[^}]*\}' | sed 's/^"anomalies"://' |
        grep -oE '"[a-z0-9_]+":' | tr -d '":' >> "$TMP/anomalies"
done
check_names "$TMP/anomalies" "$TMP/terms" "anomalies reported on the captures"
ANOM_H="$SRCDIR/src/anomaly.h"
if [ -f "$ANOM_H" ]; then
    grep -oE 'X\([A-Z0-9_]+, *"[a-z0-9_]+"' "$ANOM_H" | cut -d'"' -f2 | sort -u > "$TMP/anom_h"
    check_names "$TMP/anom_h" "$TMP/terms" "anomaly counters of src/anomaly.h"
    # the ANOMALIES section lists no counter that does not exist
    awk '/^\.SH /{ on = ($2 == "ANOMALIES"); next } on && prev == ".TP" && /^\.B / { print $2 }
        { prev = $0 }' "$PAGE" | sort -u > "$TMP/anom_page"
    extra=$(grep -vxF -f "$TMP/anom_h" "$TMP/anom_page" | tr '\n' ' ')
    if [ -n "$extra" ]; then
        fail "the ANOMALIES section lists counters that src/anomaly.h does not have: $extra"
    else
        pass "the ANOMALIES section lists only counters of src/anomaly.h"
    fi
else
    echo "SKIP: $ANOM_H not found: the full anomaly list not checked"
fi

# ---- 4. the pages render without warnings, in 80 columns --------------------------------------
rendered=false
for p in "$PAGE" "$GENPAGE"; do
    if command -v groff >/dev/null 2>&1; then
        groff -man -Tutf8 -ww -z "$p" > "$TMP/warn" 2>&1
        tool="groff -ww"
    elif command -v mandoc >/dev/null 2>&1; then
        mandoc -T lint -W warning "$p" > "$TMP/warn" 2>&1
        tool="mandoc -T lint"
    else
        continue
    fi
    rendered=true
    if [ -s "$TMP/warn" ]; then
        fail "$(capname "$p"): $tool warns:"
        head -20 "$TMP/warn"
    else
        pass "$(capname "$p") renders without warnings ($tool)"
    fi
    if command -v groff >/dev/null 2>&1; then
        # man(1) sets the line length to the terminal width minus 2
        wide=$(groff -man -Tascii -rLL=78n -P-cbou "$p" 2>/dev/null | awk 'length > 80' | head -5)
        if [ -n "$wide" ]; then
            fail "$(capname "$p"): lines wider than 80 columns:"
            printf '%s\n' "$wide"
        else
            pass "$(capname "$p") fits 80 columns"
        fi
    fi
done
if command -v man >/dev/null 2>&1 && $rendered; then
    for p in "$PAGE" "$GENPAGE"; do
        if MANWIDTH=80 man -l "$p" > /dev/null 2> "$TMP/manerr" && ! [ -s "$TMP/manerr" ]; then
            pass "man -l $(capname "$p")"
        else
            fail "man -l $(capname "$p"): $(head -3 "$TMP/manerr")"
        fi
    done
fi
$rendered || echo "SKIP: neither groff nor mandoc installed: rendering not checked"

finish
