#!/bin/sh
# Generates ./configure and Makefile.in from configure.ac and Makefile.am.
# Run once after a fresh clone: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
autoreconf --install --force
