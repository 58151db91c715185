#!/usr/bin/env bash
# Where pushd's CPU goes at max rate: starts PUSHD, drives it with loadtest (1,000 gRPC
# devices, window 128, 15 s), records `perf` for 6 s in the middle of the run and writes, in
# OUT: the folded stacks, a flame graph (SVG), loadtest's JSON and the per-stage table
# (scripts/bench/perf-stages.py) with µs per message from the run's own CPU figure.
#
# Usage: perf-profile.sh PUSHD LOADTEST OUT [extra loadtest arguments...]
# Needs perf (Debian package linux-perf) and inferno (cargo install inferno).
set -euo pipefail
. "$(dirname "$0")/ready.sh"
pushd_bin=$1 loadtest=$2 out=$3
shift 3
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# Abuse limits off: the whole load comes from a few loopback addresses.
"$pushd_bin" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$work/data" \
    --ready-file "$work/ready.json" --sender-rate 0 --subscription-rate 0 --device-rate 0 \
    --max-connections-per-ip 0 --register-rate-per-ip 0 >"$work/pushd.log" 2>&1 &
wait_ready "$work/ready.json"
"$loadtest" throughput --server "http://$address" --server-pid "$pid" --devices 1000 \
    --workers 1 --window 128 --duration 15 --json "$@" >"$out/loadtest.json" &
load=$!
# Devices connect in the first seconds; profile the steady middle of the 15 s window.
# DWARF call graphs: the release build has no frame pointers, and without them most
# stacks stop short of the pushd or h2 frame that says which stage they belong to.
sleep 8
perf record -F 199 --call-graph dwarf,16384 -p "$pid" -o "$work/perf.data" -- sleep 6 2>"$work/perf.log"
wait "$load"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf >"$out/stacks.folded"
inferno-flamegraph --title "pushd at max rate" <"$out/stacks.folded" >"$out/flamegraph.svg"
per_message=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['server_cpu_us_per_msg'])" "$out/loadtest.json")
"$(dirname "$0")/perf-stages.py" "$out/stacks.folded" "$per_message" 20 | tee "$out/stages.md"
