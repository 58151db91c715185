#!/usr/bin/env python3
"""Summarises scripts/bench/cql-store.sh's runs as Markdown: per load, SQLite beside CQL
(delivered msgs/s, pushd CPU per message, end-to-end p50/p99), then the statements the
Cassandra node executed per delivered message, by table.

Usage: cql-store-table.py OUT RUNS
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def table_counts(path):
    """{table: (reads, writes)} from `nodetool tablestats -F json pushd_bench`."""
    keyspace = load(path).get("pushd_bench", {})
    return {
        name: (stats.get("local_read_count", 0), stats.get("local_write_count", 0))
        for name, stats in keyspace.get("tables", {}).items()
    }


def main():
    out, runs = sys.argv[1], int(sys.argv[2])
    print("| load | store | delivered msgs/s | pushd CPU per message | end-to-end p50 / p99 |")
    print("| --- | --- | --- | --- | --- |")
    for load_name in ("max", "rate"):
        for store in ("sqlite", "cql"):
            figures = [load(os.path.join(out, f"{store}-{load_name}-{r}.json")) for r in range(1, runs + 1)]
            rates = " · ".join(f"{f.get('delivered_per_s', 0):,.0f}" for f in figures)
            cpu = " · ".join(f"{f.get('server_cpu_us_per_msg', 0)} µs" for f in figures)
            latency = " · ".join(
                f"{f.get('end_to_end_p50_ms', 0):.2f} / {f.get('end_to_end_p99_ms', 0):.2f} ms" for f in figures
            )
            print(f"| {load_name} | {store} | {rates} | {cpu} | {latency} |")
    print()
    print("| load, run | table | reads per message | writes per message |")
    print("| --- | --- | ---: | ---: |")
    for load_name in ("max", "rate"):
        for r in range(1, runs + 1):
            label = f"cql-{load_name}-{r}"
            delivered = load(os.path.join(out, f"{label}.json")).get("delivered", 0)
            before = table_counts(os.path.join(out, f"{label}.before.json"))
            after = table_counts(os.path.join(out, f"{label}.after.json"))
            for table, (reads, writes) in sorted(after.items()):
                reads0, writes0 = before.get(table, (0, 0))
                if delivered and (reads - reads0 or writes - writes0):
                    print(
                        f"| {load_name} {r} | {table} | {(reads - reads0) / delivered:.2f} "
                        f"| {(writes - writes0) / delivered:.2f} |"
                    )


if __name__ == "__main__":
    main()
