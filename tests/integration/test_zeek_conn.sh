#!/bin/bash
# test_zeek_conn.sh - placeholder.
. "$(dirname "$0")/lib.sh"
finish
