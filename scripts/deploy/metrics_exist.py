#!/usr/bin/env python3
"""Every metric the alert rules and the Grafana dashboard name exists on a
running pushd, with the labels they select or group by.

Starts the real pushd (port 0, a temporary folder), sends it a little traffic
with pushctl (a device listening and acking, one message over gRPC, one over
RFC 8030 HTTP, then a sender past its rate limit and more connections than
one address may hold) so that metrics born at their first event exist,
scrapes /metrics and fails naming every metric or label that is missing. A
rule over a metric pushd never exports evaluates to nothing: the alert can
never fire and the panel says "no data", and nothing else would notice.

A metric that only a push service (APNs, FCM) makes appear is looked for in
the Rust test that drives a mocked one instead: its name and every label
used must be in that test's source. Names not starting with pushd_ are not
looked for: only `up`, which Prometheus makes itself, is used. Stdlib only.

usage: metrics_exist.py BIN_DIR RULES_FILE DASHBOARD_JSON [--also NAME]...
"""

import argparse
import json
import os
import re
import socket
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
# Metrics that need a push service, and the test (from the repository root)
# that scrapes them from a pushd talking to a mocked one.
PROVEN_BY_RUST_TESTS = {"pushd_bridge_sends_total": "server/tests/bridge_fcm.rs"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Labels Prometheus attaches from the scrape target, never pushd's own.
PER_IP = 4
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


def proven_elsewhere(needs, exported):
    """Adds what PROVEN_BY_RUST_TESTS's tests show to `exported`; returns what was taken from them."""
    taken = []
    for name, test in PROVEN_BY_RUST_TESTS.items():
        if name in exported:
            continue
        source = open(os.path.join(ROOT, test), encoding="utf-8").read()
        if name not in source:
            continue
        labels = {label for n, label, _ in needs if n == name and label}
        labels |= {label for n, label, _ in needs if isinstance(n, tuple) and name in n and label}
        exported[name] = {label for label in labels if label + "=" in source}
        taken.append(f"{name} (from {test})")
    return taken


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
    """A device that listens and acks, one message to it over each front, a
    sender past its rate limit, and connections past the per-address limit
    (returned, to be held until the scrape)."""
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
    # Another sender key, whose burst (10 at --sender-rate 1) runs out within a dozen sends.
    run("keygen", "--out", os.path.join(work, "flood.pem"))
    flood = [ctl, "send", "--key", os.path.join(work, "flood.pem"), "--subject", "mailto:ops@example.com",
             "--subscription", "@" + sub_file]
    for n in range(15):
        if subprocess.run(flood + [f"flood {n}"], env=env, capture_output=True).returncode != 0:
            break
    else:
        raise SystemExit("metrics_exist: 15 sends at --sender-rate 1 were all accepted")
    # More connections than --max-connections-per-ip: the extra ones are refused.
    held = [socket.create_connection(tuple(listen.rsplit(":", 1)), timeout=5) for _ in range(PER_IP + 2)]
    return held


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
                                  "--ready-file", ready, "--sender-rate", "1",
                                  "--max-connections-per-ip", str(PER_IP)], stderr=log, stdout=log)
        processes.append(pushd)
        try:
            wait_for(lambda: os.path.exists(ready) and '"metrics"' in open(ready).read(), "pushd's ready file")
            addresses = json.load(open(ready))
            held = drive_traffic(args.bin_dir, work, addresses["listen"], processes)
            # The refusals are counted as the accept loop reaches them: on a busy
            # machine that can take a moment.
            deadline = time.monotonic() + 10
            exported = scrape(f"http://{addresses['metrics']}/metrics")
            while "pushd_connections_refused_total" not in exported and time.monotonic() < deadline:
                time.sleep(0.2)
                exported = scrape(f"http://{addresses['metrics']}/metrics")
            for connection in held:
                connection.close()
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
    taken = proven_elsewhere(needs, exported)
    problems = missing(needs, exported)
    if problems:
        print("metrics_exist: the rules or dashboard use what pushd does not export:", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        raise SystemExit(1)
    print(f"metrics_exist: all {len(names)} metrics the rules and dashboard use are exported, "
          f"with their labels: {' '.join(names)}")
    if taken:
        print(f"metrics_exist: seen in a Rust test, not on this pushd (no push service here): {', '.join(taken)}")


if __name__ == "__main__":
    main()
