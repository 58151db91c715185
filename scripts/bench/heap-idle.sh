#!/usr/bin/env bash
# Where an idle device's memory goes: runs PUSHD under heaptrack, connects
# DEVICES idle devices with loadtest (gRPC or WebSocket), stops pushd cleanly
# and writes the peak-heap profile as folded stacks (demangled) to OUT.
# Compare two runs (1,000 and 19,000 devices) with scripts/bench/heap-sites.py
# to get bytes per added device by allocation site.
#
# Usage: heap-idle.sh PUSHD LOADTEST DEVICES grpc|websocket OUT
# Needs heaptrack (Debian package) and rustfilt (cargo install rustfilt).
set -euo pipefail
. "$(dirname "$0")/ready.sh"
pushd_bin=$1 loadtest=$2 devices=$3 over=$4 out=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ulimit -n 20000
heaptrack -o "$work/profile" "$pushd_bin" --listen 127.0.0.1:0 --metrics-listen off \
    --data-dir "$work/data" --ready-file "$work/ready.json" --sender-rate 0 \
    --subscription-rate 0 --device-rate 0 --max-connections-per-ip 0 \
    --register-rate-per-ip 0 >"$work/heaptrack.log" 2>&1 &
wait_ready "$work/ready.json"
"$loadtest" idle --server "http://$address" --server-pid "$pid" --devices "$devices" \
    --settle 5 --devices-over "$over" | grep -E 'per_device_kb'
kill -TERM "$pid"
wait
heaptrack_print -f "$work/profile.zst" --flamegraph-cost-type peak -F "$work/folded" >/dev/null
rustfilt <"$work/folded" >"$out"
