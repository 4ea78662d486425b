#!/bin/bash
# test_outputs.sh - placeholder.
. "$(dirname "$0")/lib.sh"
finish
