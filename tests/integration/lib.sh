# lib.sh - shared helpers for the integration tests (sourced, not run).
# Each test prints what it compares; exit 0 pass, 1 fail, 77 skip (automake convention).
set -u
: "${CONNSCOPE:?CONNSCOPE must point at the connscope binary}"
: "${SRCDIR:?SRCDIR must point at the source tree}"
: "${CORPUS:=$SRCDIR/../shared/corpus}"
PCAPS="$SRCDIR/pcaps"
FAILS=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
need_tshark() { command -v tshark >/dev/null 2>&1 || skip "tshark not installed (apt-get install tshark)"; }
# All captures: the committed ones and the shared third-party corpus when present.
all_captures() {
    find "$PCAPS" -name '*.pcap' -o -name '*.pcapng' | grep -v '/bad/' | sort
    [ -d "$CORPUS" ] && find "$CORPUS" -name '*.pcap' -o -name '*.pcapng' | sort
    return 0
}
finish() {
    if [ "$FAILS" -gt 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
    exit 0
}
