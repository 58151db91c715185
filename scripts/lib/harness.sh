# Shared by the shell tests that run the real pushd (sourced, not run): a work
# folder removed on exit with every process started in `pids`, `fail` that
# dumps the logs, `wait_for`, and `start_pushd`.
#
# The sourcing script sets `harness` (its name, for messages) and `bin_dir`.

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "$harness: $*" >&2
    for log in "$work"/*.log "$work"/*.jsonl; do [ -f "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }; done
    exit 1
}

# wait_for FILE PATTERN COUNT: until FILE holds COUNT lines matching PATTERN (at most 10 s).
wait_for() {
    for _ in $(seq 100); do
        count=$(grep -c -- "$2" "$1" 2>/dev/null || true)
        [ "${count:-0}" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

# start_pushd: pushd on a free loopback port with its data in the work folder;
# sets `address` (from pushd's ready file, written once it serves) and points
# pushctl at it.
start_pushd() {
    "$bin_dir/pushd" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$work/data" \
        --ready-file "$work/ready.json" 2>"$work/pushd.log" &
    pids+=($!)
    wait_for "$work/ready.json" '"listen"' 1 || fail "pushd did not start"
    address=$(grep -o '"listen":"[^"]*"' "$work/ready.json" | cut -d'"' -f4)
    export PUSHCTL_SERVER="http://$address"
}
