#!/usr/bin/env bash
# Where pushd's CPU goes at max rate: starts PUSHD, drives it with loadtest (1,000 gRPC
# devices, window 128, 15 s), records `perf` for 6 s in the middle of the run and writes, in
# OUT: the folded stacks, a flame graph (SVG), loadtest's JSON and the per-stage table
# (scripts/bench/perf-stages.py) with µs per message from the run's own CPU figure.
#
# Usage: perf-profile.sh PUSHD LOADTEST OUT [extra loadtest arguments...]
# Needs perf (Debian package linux-perf) and inferno (cargo install inferno).
set -euo pipefail
pushd_bin=$1 loadtest=$2 out=$3
shift 3
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$pushd_bin" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$work/data" \
    --ready-file "$work/ready.json" >"$work/pushd.log" 2>&1 &
for _ in $(seq 300); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
read -r address pid < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['listen'], r['pid'])" "$work/ready.json")
"$loadtest" throughput --server "http://$address" --server-pid "$pid" --devices 1000 \
    --workers 1 --window 128 --duration 15 --json "$@" >"$out/loadtest.json" &
load=$!
# Devices connect in the first seconds; profile the steady middle of the 15 s window.
sleep 8
perf record -F 499 -g -p "$pid" -o "$work/perf.data" -- sleep 6 2>"$work/perf.log"
wait "$load"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf >"$out/stacks.folded"
inferno-flamegraph --title "pushd at max rate" <"$out/stacks.folded" >"$out/flamegraph.svg"
per_message=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['server_cpu_us_per_msg'])" "$out/loadtest.json")
"$(dirname "$0")/perf-stages.py" "$out/stacks.folded" "$per_message" 20 | tee "$out/stages.md"
