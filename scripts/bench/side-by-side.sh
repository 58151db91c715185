#!/usr/bin/env bash
# Side by side: the same standard-only load (loadtest --devices-over webpush: WebSocket
# devices that register themselves, RFC 8030 POSTs with VAPID) against two push services that
# are already running, e.g. pushd and autopush-rs. It starts and stops no server; it only
# needs their WebSocket URLs and the pids to charge CPU and memory to (every process of a
# service: autopush is autoconnect + autoendpoint + redis-server).
#
# Each run measures, for A and for B one after the other (the order alternates between
# runs, so neither always goes first):
#   idle at 10,000 and 19,000 devices (RSS per device), max-rate throughput with 1,000
#   devices, p50/p99 at --rate, and a drain of 1,000 queued messages;
# then prints one markdown table (rows: figures, columns: servers). The JSON of every
# measurement and loadtest's log are kept in --out.
#
# Idle figures are RSS growth while devices connect. A server that already held devices
# (an earlier idle run, an earlier run of this script) reuses the memory they freed and looks
# cheaper than it is: for idle figures, start both servers fresh and give one --idle size.
#
# Usage:
#   scripts/bench/side-by-side.sh --a-name pushd --a-ws ws://127.0.0.1:8070/ --a-pids 1234 \
#       --b-name autopush --b-ws ws://127.0.0.1:8080/ --b-pids 2345,2346,2347 \
#       [--runs 3] [--rate 2000] [--duration 15] [--loadtest target/release/loadtest] \
#       [--out DIR] [--pause 5] [--idle 10000,19000] [--devices 1000] [--drain 1000]
# (the last three change the sizes, e.g. for a quick check of the script itself).
set -euo pipefail

die() { echo "side-by-side: $*" >&2; exit 2; }

a_name=A b_name=B a_ws='' b_ws='' a_pids='' b_pids=''
runs=3 rate=2000 duration=15 pause=5 out='' loadtest=target/release/loadtest
idle=10000,19000 devices=1000 drain=1000
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
        --a-name) a_name=$2 ;; --a-ws) a_ws=$2 ;; --a-pids) a_pids=$2 ;;
        --b-name) b_name=$2 ;; --b-ws) b_ws=$2 ;; --b-pids) b_pids=$2 ;;
        --runs) runs=$2 ;; --rate) rate=$2 ;; --duration) duration=$2 ;;
        --pause) pause=$2 ;; --out) out=$2 ;; --loadtest) loadtest=$2 ;;
        --idle) idle=$2 ;; --devices) devices=$2 ;; --drain) drain=$2 ;;
        *) die "unknown option $1 (see the top of $0)" ;;
    esac
    shift 2
done
[ -n "$a_ws" ] && [ -n "$a_pids" ] && [ -n "$b_ws" ] && [ -n "$b_pids" ] ||
    die "give --a-ws, --a-pids, --b-ws and --b-pids (see the top of $0)"
[ -x "$loadtest" ] || die "no $loadtest (cargo build --release -p push-loadtest)"
command -v jq >/dev/null || die "needs jq"
# 19,000 idle devices: each worker holds a third of the sockets, within this limit.
ulimit -n 20000 2>/dev/null || echo "side-by-side: could not raise the open-files limit to 20000" >&2
out=${out:-$(mktemp -d)}
mkdir -p "$out"
echo "side-by-side: JSON and logs in $out" >&2

# measure SIDE NAME loadtest-arguments...: one measurement of server SIDE (a or b).
measure() {
    local side=$1 name=$2 ws pids label
    shift 2
    if [ "$side" = a ]; then ws=$a_ws pids=$a_pids label=$a_name; else ws=$b_ws pids=$b_pids label=$b_name; fi
    local file="$out/run$run-$name-$side"
    echo "side-by-side: run $run, $name on $label" >&2
    # A failed run still prints its figures (a loss is reported, then the exit is non-zero).
    "$loadtest" "$@" --server "$ws" --server-pid "$pids" --devices-over webpush --json \
        >"$file.json" 2>"$file.log" || echo "side-by-side:   exit $? (see $file.log)" >&2
    sleep "$pause"
}

# cell NAME SIDE JQ: one figure of one measurement, or what went wrong.
cell() {
    local file="$out/run$run-$1-$2.json"
    [ -s "$file" ] || { echo "failed (see ${file%.json}.log)"; return; }
    jq -r "$3" "$file" 2>/dev/null || echo "unreadable"
}

row() { printf '| %s | %s | %s |\n' "$1" "$(cell "$2" a "$3")" "$(cell "$2" b "$3")"; }

table() {
    echo
    echo "### Run $run of $runs"
    echo
    echo "| figure | $a_name | $b_name |"
    echo "| --- | --- | --- |"
    for count in ${idle//,/ }; do
        row "RSS per idle device, $count devices" "idle$count" '"\(.server_rss_per_device_kb) kB"'
    done
    row "max rate, $devices devices: delivered msgs/s" max '.delivered_per_s'
    row "max rate: server CPU per message" max '"\(.server_cpu_us_per_msg) µs"'
    row "max rate: end-to-end p50 / p99" max '"\(.end_to_end_p50_ms) / \(.end_to_end_p99_ms) ms"'
    row "max rate: missing / duplicated / unknown" max '"\(.missing) / \(.duplicates) / \(.unknown_ids)"'
    row "$rate msgs/s: end-to-end p50 / p99" rate '"\(.end_to_end_p50_ms) / \(.end_to_end_p99_ms) ms"'
    row "$rate msgs/s: delivered msgs/s, server CPU per message" rate '"\(.delivered_per_s), \(.server_cpu_us_per_msg) µs"'
    row "$rate msgs/s: missing / duplicated / unknown" rate '"\(.missing) / \(.duplicates) / \(.unknown_ids)"'
    row "latency joined by" max '.latency_join'
    row "drain of $drain: time to the last message" drain \
        'if .last_message_ms_median == null then "not all arrived" else "\(.last_message_ms_median) ms" end'
    row "drain: arrived / posted, duplicated, redelivered after reconnect" drain \
        '"\(.arrived) / \(.posted), \(.duplicates), \(.redelivered_after_reconnect)"'
}

for run in $(seq 1 "$runs"); do
    if [ $((run % 2)) = 1 ]; then order="a b"; else order="b a"; fi
    for count in ${idle//,/ }; do
        # Up to 9,000 sockets per worker process (the limit is 20,000 open files each).
        workers=$(((count + 8999) / 9000))
        for side in $order; do
            measure "$side" "idle$count" idle --devices "$count" --workers "$workers" --settle 5
        done
    done
    for side in $order; do
        measure "$side" max throughput --devices "$devices" --workers 1 --window 128 --duration "$duration"
    done
    for side in $order; do
        measure "$side" rate throughput --devices "$devices" --workers 1 --rate "$rate" --duration 20
    done
    for side in $order; do measure "$side" drain drain --messages "$drain" --rounds 1; done
    table
done
