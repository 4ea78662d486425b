#!/bin/bash
# test_bad_input.sh - placeholder.
. "$(dirname "$0")/lib.sh"
finish
