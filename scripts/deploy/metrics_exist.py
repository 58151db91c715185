#!/usr/bin/env python3
"""Every metric the alert rules and the Grafana dashboard name exists on a
running pushd, with the labels they select or group by.

Starts the real pushd (port 0, a temporary folder), sends it a little traffic
with pushctl (a device listening and acking, one message over gRPC, one over
RFC 8030 HTTP) so that metrics born at their first event exist, scrapes
/metrics and fails naming every metric or label that is missing. A rule over
a metric pushd never exports evaluates to nothing: the alert can never fire
and the panel says "no data", and nothing else would notice.

Names not starting with pushd_ are not looked for: only `up`, which
Prometheus makes itself, is used. Stdlib only.

usage: metrics_exist.py BIN_DIR RULES_FILE DASHBOARD_JSON [--also NAME]...
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

METRIC = re.compile(r"\bpushd_[a-z0-9_]+\b")
# A selector with matchers: name{label="v", other=~"..."}.
SELECTOR = re.compile(r"\b(pushd_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# Labels Prometheus attaches from the scrape target, never pushd's own.
TARGET_LABELS = {"job", "instance", "pod", "namespace", "service", "endpoint", "container"}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s")
SAMPLE_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def rule_expressions(path):
    """The `expr:` of every rule, inline or as a YAML block, without a YAML parser."""
    expressions, block, block_indent = [], None, 0
    for line in open(path, encoding="utf-8"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block is not None:
            if stripped and indent <= block_indent:
                expressions.append(" ".join(block))
                block = None
            else:
                block.append(stripped)
                continue
        key, _, value = stripped.partition(":")
        if key.lstrip("- ") != "expr":
            continue
        value = value.strip()
        if value in ("|", ">", "|-", ">-"):
            block, block_indent = [], indent
        else:
            expressions.append(value.strip("'\""))
    if block is not None:
        expressions.append(" ".join(block))
    return expressions


def dashboard_expressions(path):
    dashboard = json.load(open(path, encoding="utf-8"))
    expressions = []

    def walk(panels):
        for panel in panels:
            expressions.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            expressions.append(query)
    return expressions


def wanted(expressions, source):
    """(metric, label, where) for every metric and every label the expressions rely on."""
    needs = []
    for expr in expressions:
        names = set(METRIC.findall(expr))
        for name in names:
            needs.append((name, None, source))
        for name, matchers in SELECTOR.findall(expr):
            for label in MATCHER_LABEL.findall(matchers):
                needs.append((name, label, source))
        for grouping in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouping.split(","))):
                # A grouping label must come from some metric of the expression.
                needs.append((tuple(sorted(names)), label, source))
    return needs


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    labels = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if not match or line.startswith("#"):
            continue
        labels.setdefault(match.group(1), set()).update(SAMPLE_LABEL.findall(match.group(3) or ""))
    return labels


def missing(needs, exported):
    problems = []
    for name, label, source in needs:
        if label is None:
            if name not in exported:
                problems.append(f"{source}: metric {name} is not exported by pushd")
        elif label in TARGET_LABELS:
            continue
        elif isinstance(name, tuple):
            # Only where one of them exists: a missing metric is reported on its own.
            present = [n for n in name if n in exported]
            if present and not any(label in exported[n] for n in present):
                problems.append(f"{source}: groups by {label}, which none of {', '.join(name)} carries")
        elif name in exported and label not in exported[name]:
            problems.append(f"{source}: {name} has no label {label} (it has: {', '.join(sorted(exported[name])) or 'none'})")
    return sorted(set(problems))


def wait_for(predicate, what, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"metrics_exist: timed out waiting for {what}")


def drive_traffic(bin_dir, work, listen, processes):
    """A device that listens and acks, and one message to it over each front."""
    env = dict(os.environ, PUSHCTL_SERVER=f"http://{listen}")
    ctl = os.path.join(bin_dir, "pushctl")
    db = os.path.join(work, "device.db")
    run = lambda *args: subprocess.run([ctl, *args], env=env, check=True, capture_output=True, text=True).stdout
    run("register", "--db", db)
    subscription = run("subscribe", "--db", db).strip()
    sub_file = os.path.join(work, "subscription.json")
    open(sub_file, "w").write(subscription)
    run("keygen", "--out", os.path.join(work, "vapid.pem"))
    received = os.path.join(work, "received.jsonl")
    listener = subprocess.Popen([ctl, "listen", "--db", db], env=env,
                                stdout=open(received, "w"), stderr=open(os.path.join(work, "listen.log"), "w"))
    processes.append(listener)
    send = [ctl, "send", "--key", os.path.join(work, "vapid.pem"), "--subject", "mailto:ops@example.com",
            "--subscription", "@" + sub_file]
    # The first waits for the stream to be live, so the message is delivered, not stored.
    wait_for(lambda: '"outcome":"delivered"' in subprocess.run(
        send + ["over grpc"], env=env, capture_output=True, text=True).stdout, "a live delivery over gRPC")
    subprocess.run(send + ["--http", "over http"], env=env, check=True, capture_output=True)
    wait_for(lambda: open(received).read().count('"payload"') >= 2, "the listener to receive both messages")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir")
    parser.add_argument("rules")
    parser.add_argument("dashboard")
    parser.add_argument("--also", action="append", default=[], help="a further metric name that must exist")
    args = parser.parse_args()

    needs = wanted(rule_expressions(args.rules), os.path.basename(args.rules))
    needs += wanted(dashboard_expressions(args.dashboard), os.path.basename(args.dashboard))
    needs += [(name, None, "--also") for name in args.also]
    names = sorted({name for name, label, _ in needs if label is None})
    if len(names) < 5:
        raise SystemExit(f"metrics_exist: found only {names} in the rules and dashboard; is the parsing broken?")

    for binary in ("pushd", "pushctl"):
        if not os.access(os.path.join(args.bin_dir, binary), os.X_OK):
            raise SystemExit(f"metrics_exist: no {binary} in {args.bin_dir}; build it first (cargo build -p pushd -p push-sdk)")

    processes = []
    with tempfile.TemporaryDirectory() as work:
        ready = os.path.join(work, "ready.json")
        log = open(os.path.join(work, "pushd.log"), "w")
        pushd = subprocess.Popen([os.path.join(args.bin_dir, "pushd"), "--listen", "127.0.0.1:0",
                                  "--metrics-listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data"),
                                  "--ready-file", ready], stderr=log, stdout=log)
        processes.append(pushd)
        try:
            wait_for(lambda: os.path.exists(ready) and '"metrics"' in open(ready).read(), "pushd's ready file")
            addresses = json.load(open(ready))
            drive_traffic(args.bin_dir, work, addresses["listen"], processes)
            exported = scrape(f"http://{addresses['metrics']}/metrics")
        except (SystemExit, subprocess.CalledProcessError) as error:
            sys.stderr.write(open(os.path.join(work, "pushd.log")).read())
            raise SystemExit(f"metrics_exist: {error}")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=15)

    # The check itself: a name pushd never exports must be reported.
    if not missing([("pushd_no_such_metric_total", None, "self-check")], exported):
        raise SystemExit("metrics_exist: the scrape parser accepts any name; the check proves nothing")
    problems = missing(needs, exported)
    if problems:
        print("metrics_exist: the rules or dashboard use what pushd does not export:", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        raise SystemExit(1)
    print(f"metrics_exist: all {len(names)} metrics the rules and dashboard use are exported, "
          f"with their labels: {' '.join(names)}")


if __name__ == "__main__":
    main()
