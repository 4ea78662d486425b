#!/bin/bash
# test_http_truth.sh - HTTP exchanges of the committed captures equal what the clients sent and the
# servers answered (data/http_truth.tsv, from pcaps/README.md), with ttfb/ttlb equal to the frame
# times tshark reports for the frames that carry those bytes.
. "$(dirname "$0")/lib.sh"
need_tshark
python3 "$(dirname "$0")/http_compare.py" truth "$(dirname "$0")/data/http_truth.tsv" "$PCAPS" || FAILS=1
finish
