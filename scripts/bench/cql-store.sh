#!/usr/bin/env bash
# pushd on one Cassandra node against pushd on its embedded SQLite store, the same loads in
# turn: 1,000 gRPC devices at max rate (window 128) and at a fixed rate, 15 s each, RUNS
# rounds. For the CQL runs, the statements the node executed during the run are read from
# `nodetool tablestats` before and after, per table, so each table's reads and writes per
# delivered message can be set beside pushd's CPU per message.
#
# Usage: cql-store.sh PUSHD LOADTEST OUT [RUNS] [RATE]
# It starts Cassandra on 127.0.0.1:9042 (deploy/cassandra/start.sh); where that address is
# taken (a test run), run it in a private network namespace:
#   unshare -n bash -c 'ip link set lo up && scripts/bench/cql-store.sh ...'
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pushd_bin=$1 loadtest=$2 out=$3 runs=${4:-3} rate=${5:-2000}
mkdir -p "$out"
export PUSHD_CASSANDRA_DIR="$out/cassandra"
trap '"$root/deploy/cassandra/stop.sh" --wipe >/dev/null 2>&1 || true' EXIT
"$root/deploy/cassandra/start.sh" --nodes 1
nodetool="$PUSHD_CASSANDRA_DIR/nodetool"

# Abuse limits off: the whole load comes from a few loopback addresses.
limits=(--sender-rate 0 --subscription-rate 0 --device-rate 0 --max-connections-per-ip 0
    --register-rate-per-ip 0)
run() { # store label rate
    local store=$1 label=$2 rate_arg=$3 args=()
    for arg in "${limits[@]}"; do args+=("--pushd-arg=$arg"); done
    [ "$store" = cql ] && args+=("--pushd-arg=--store=scylla://127.0.0.1:9042/pushd_bench?rf=1")
    [ "$store" = cql ] && "$nodetool" tablestats -F json pushd_bench >"$out/$label.before.json" 2>/dev/null || true
    "$loadtest" throughput --pushd "$pushd_bin" "${args[@]}" --devices 1000 --workers 1 \
        --window 128 --rate "$rate_arg" --duration 15 --json >"$out/$label.json"
    [ "$store" = cql ] && "$nodetool" tablestats -F json pushd_bench >"$out/$label.after.json"
    echo "$label done"
}
for round in $(seq "$runs"); do
    for store in sqlite cql; do
        run "$store" "$store-max-$round" max
        run "$store" "$store-rate-$round" "$rate"
    done
done
python3 "$(dirname "$0")/cql-store-table.py" "$out" "$runs" | tee "$out/table.md"
