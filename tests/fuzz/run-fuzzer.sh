#!/bin/sh
# Runs a libFuzzer binary for a bounded time on a scratch copy of its seed
# corpus (the committed corpus is never written to). Used by the slow suite.
# usage: run-fuzzer.sh FUZZER SEED_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
exec "$fuzzer" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 "$work"
