#!/bin/bash
# test_readme.sh - the sample output in README.md is what connscope prints today for the command
# the README shows (so the sample cannot go stale).
. "$(dirname "$0")/lib.sh"
sample=$(sed -n '/<!-- sample:begin -->/,/<!-- sample:end -->/p' "$SRCDIR/README.md" | sed '1,2d;$d' | sed '$d')
actual=$("$CONNSCOPE" -E "$PCAPS/http-keepalive.pcap")
if [ "$sample" = "$actual" ]; then
    pass "README sample equals 'connscope -E pcaps/http-keepalive.pcap'"
else
    fail "README sample is stale:"; diff <(echo "$sample") <(echo "$actual")
fi
finish
