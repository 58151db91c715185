#!/usr/bin/env python3
"""Where pushd's CPU goes, by stage of a message's path, from a perf profile.

Reads folded stacks (`perf script | inferno-collapse-perf --tid`, one line per stack:
"thread;outer;...;leaf COUNT"), puts each sample in the first stage whose marker appears in
its stack (the innermost frame that names a stage decides; kernel and allocator frames
underneath count for the stage that called them), and prints each stage's share and, given the run's server CPU per
message, its microseconds per message. Also prints the top self-time frames.

Usage: perf-stages.py FOLDED US_PER_MESSAGE [TOP]
"""
import collections
import sys

# (stage, markers): a sample belongs to the first stage with a marker in its stack.
STAGES = [
    ("store: SQLite writer thread", ["pushd::store::sqlite::"]),
    ("submit: sender checks (VAPID, rates, payload), routing, offer to the stream",
     ["pushd::submit::", "pushd::api::sender", "pushd::http::push", "pushd::limits::"]),
    ("ack: reading device frames, ack bookkeeping, store.ack",
     ["pushd::delivery::session::read_frames", "pushd::delivery::session::start_ack",
      "pushd::delivery::in_flight"]),
    ("stream: delivery session, outbound frames, gRPC/WebSocket encoding",
     ["pushd::delivery::", "pushd::websocket::", "pushd::api::device", "prost::", "tonic::codec"]),
    ("connections: HTTP/2 and HTTP/1 framing, HPACK, socket reads and writes",
     ["h2::", "hyper::", "hyper_util::", "pushd::transport::"]),
    ("runtime: scheduling, wake-ups, timers, idle polling", ["tokio::runtime", "tokio::time"]),
]


def stage_of(stack):
    # The innermost frame that names a stage decides: every stack starts in the runtime
    # and most pass through a connection task, so the frame nearest the leaf says what
    # the work was for.
    frames = stack.split(";")
    if frames[0].startswith("sqlite-writer"):
        # The writer thread is the store stage, whatever it calls.
        return STAGES[0][0]
    for frame in reversed(frames[1:]):
        for name, markers in STAGES:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def main():
    folded, per_message = sys.argv[1], float(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    stages = collections.Counter()
    leaves = collections.Counter()
    total = 0
    with open(folded) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            count = int(count)
            total += count
            stages[stage_of(stack)] += count
            leaves[stack.rsplit(";", 1)[-1]] += count
    print(f"{per_message} µs of server CPU per message, split by sampled time\n")
    print("| stage | share | µs per message |\n| --- | ---: | ---: |")
    for name, count in stages.most_common():
        share = count / total
        print(f"| {name} | {share:.1%} | {share * per_message:.1f} |")
    print(f"\n| self time | frame |\n| ---: | --- |")
    for leaf, count in leaves.most_common(top):
        print(f"| {count / total:.1%} | `{leaf[:110]}` |")


if __name__ == "__main__":
    main()
