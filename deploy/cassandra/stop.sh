#!/usr/bin/env bash
# Stop the Cassandra nodes started by start.sh.
#
#   deploy/cassandra/stop.sh [--base-dir DIR] [--node N] [--wipe] [--timeout SECS]
#
# Sends TERM to every <base>/nodeN/pid (only node N with --node, e.g. to see
# the cluster carry on without it), waits up to --timeout seconds (30)
# for a clean shutdown, then KILLs what is left. --wipe also deletes the node
# directories (data, commitlog, logs); the jar cache <base>/lib is kept so the
# next start is warm.
set -euo pipefail

BASE="${PUSHD_CASSANDRA_DIR:-/tmp/pushd-cassandra}"
WIPE=0
TIMEOUT=30
ONLY=

usage() { sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --base-dir) BASE="${2:?--base-dir needs a value}"; shift 2 ;;
    --base-dir=*) BASE="${1#*=}"; shift ;;
    --wipe) WIPE=1; shift ;;
    --node) ONLY="${2:?--node needs a value}"; shift 2 ;;
    --node=*) ONLY="${1#*=}"; shift ;;
    --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
    --timeout=*) TIMEOUT="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "stop.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '[cassandra %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [[ ! -d "$BASE" ]]; then
  log "nothing to stop: $BASE does not exist"
  exit 0
fi

# Only signal a pid that is still a Cassandra JVM (pid files can go stale and
# the number be reused by an unrelated process).
is_cassandra() {
  kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q CassandraDaemon
}

pids=()
shopt -s nullglob
for pidf in "$BASE"/node${ONLY:-*}/pid; do
  pid="$(cat "$pidf")"
  node="$(basename "$(dirname "$pidf")")"
  if [[ -n "$pid" ]] && is_cassandra "$pid"; then
    log "stopping $node (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  else
    log "$node not running (stale pid file)"
  fi
  rm -f "$pidf"
done

# All nodes shut down in parallel; Cassandra's shutdown hook drains first.
deadline=$((SECONDS + TIMEOUT))
for pid in "${pids[@]}"; do
  while is_cassandra "$pid" && (( SECONDS < deadline )); do sleep 0.5; done
  if is_cassandra "$pid"; then
    log "pid $pid still alive after ${TIMEOUT}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    while is_cassandra "$pid"; do sleep 0.2; done
  fi
done

if (( WIPE )); then
  for d in "$BASE"/node${ONLY:-*}/; do
    log "wiping $d"
    rm -rf -- "$d"
  done
fi
log "stopped ${#pids[@]} node(s)"
