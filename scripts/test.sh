#!/usr/bin/env bash
# The whole test suite: Rust unit, conformance and integration tests (each
# starting the real pushd, on SQLite, on a real Cassandra node and on a
# 3-node Cassandra cluster with a node stopped), the mobile SDK's Python and
# Kotlin binding tests, a short run of every fuzz target, interop
# with third-party Python peers, real web-push libraries (Python, Node, Go,
# Java) sending over RFC 8030 HTTP, the README walkthrough, `pushctl listen
# --notify` against a notification service on a private D-Bus, a real
# headless Firefox ESR subscribed over the WebSocket push protocol, and the
# deploy kit (Helm chart, Prometheus rules, Grafana dashboard) and the
# container image built from deploy/Dockerfile and run with buildah. Installs
# its Python peers into a virtualenv, Firefox ESR (and dbus, curl, buildah,
# debootstrap) with apt if missing, and fetches Cassandra with Maven first.
#
# Env: CARGO_TARGET_DIR (default ./target), PUSH_VENV (default ./.venv).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
venv=${PUSH_VENV:-$root/.venv}

echo "== python peers ($venv)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/interop/requirements.txt
export PUSH_TEST_PYTHON="$venv/bin/python"

echo "== web-push libraries (npm web-push, webpush-go, Java web-push; pywebpush is in the venv)"
command -v curl >/dev/null || { apt-get update && apt-get install -y --no-install-recommends curl; }
# dbus-daemon: the private session bus the desktop notification test starts.
command -v dbus-daemon >/dev/null || { apt-get update && apt-get install -y --no-install-recommends dbus; }
export PUSH_TEST_WEBPUSH=${PUSH_TEST_WEBPUSH:-$target/webpush}
scripts/interop/webpush/install.sh "$PUSH_TEST_WEBPUSH"

echo "== build"
# Libraries too: the mobile SDK tests load the cdylib (libpush_ffi.so) and generate
# its bindings with uniffi-bindgen, which push-ffi builds only with its bindgen feature.
cargo build --workspace --locked --features push-ffi/bindgen

echo "== clippy (a lint fails the suite)"
cargo clippy --workspace --all-targets --locked --features push-ffi/bindgen -- -D warnings

echo "== cassandra (a real CQL node for the distributed store's tests)"
log=$(mktemp)
trap 'deploy/cassandra/stop.sh --wipe >/dev/null 2>&1 || true; rm -f "$log"' EXIT
deploy/cassandra/start.sh --nodes 1 --tls
export PUSHD_TEST_CQL=127.0.0.1:9042
export PUSHD_TEST_CQL_CA="${PUSHD_CASSANDRA_DIR:-/tmp/pushd-cassandra}/tls/ca.pem"
# Without a database the CQL tests skip (plain `cargo test`); here a missing
# database must fail them instead.
export PUSHD_TEST_REQUIRE_CQL=1

echo "== cargo test"
cargo test --workspace --locked --features push-ffi/bindgen 2>&1 | tee "$log"

echo "== walkthrough"
scripts/walkthrough.sh "$target/debug" "$venv/bin/python"

echo "== deploy kit (Helm chart, alert rules, dashboard, and the metrics they name on a running pushd)"
scripts/deploy-check.sh "$target/debug" "$venv/bin/python" 2>&1 | tee -a "$log"

echo "== container image (deploy/Dockerfile on a debootstrapped Debian base with the debug pushd, built and run with buildah: --help, /healthz, /readyz)"
scripts/image-check.sh "$target/debug" 2>&1 | tee -a "$log"

echo "== desktop notifications (pushctl listen --notify on a private session bus)"
scripts/desktop-notify.sh "$target/debug" "$venv/bin/python"

echo "== Firefox ESR (headless) against the WebSocket push protocol"
command -v firefox-esr >/dev/null || { apt-get update && apt-get install -y --no-install-recommends firefox-esr; }
"$venv/bin/python" scripts/interop/firefox/firefox_e2e.py "$target/debug" 2>&1 | tee -a "$log"

echo "== mobile SDK bindings (Python on CPython, Kotlin on the JVM)"
scripts/ffi-tests.sh "$target/debug" "$venv/bin/python" 2>&1 | tee -a "$log"

echo "== fuzz smoke (every parser of outside input, briefly)"
scripts/fuzz-smoke.sh 2>&1 | tee -a "$log"

echo "== cassandra, 3 nodes (RF=3, QUORUM, one node stopped mid-test)"
deploy/cassandra/stop.sh --wipe
deploy/cassandra/start.sh --nodes 3
PUSHD_TEST_CQL_CLUSTER=127.0.0.1,127.0.0.2,127.0.0.3 \
  cargo test -p pushd --test cassandra_quorum --locked -- --ignored 2>&1 | tee -a "$log"

rust=$(grep -o 'test result: ok\. [0-9]* passed' "$log" | awk '{s += $4} END {print s}')
python=$(grep -o '^Ran [0-9]* tests' "$log" | awk '{s += $2} END {print s + 0}')
kotlin=$(grep -o 'Tests run: [0-9]*, Failures: 0, Errors: 0' "$log" | awk '{s += $3} END {print s + 0}')
fuzz=$(grep -o '^fuzz targets: [0-9]* ran' "$log" | awk '{s += $3} END {print s + 0}')
firefox=$(grep -c '^firefox: .* passed' "$log" || true)
deploy=$(grep -c '^deploy-check: passed: ' "$log" || true)
image=$(grep -c '^image-check: passed: ' "$log" || true)
# + 2: the walkthrough and the desktop notification script, one test each.
passed=$((rust + python + kotlin + fuzz + firefox + deploy + image + 2))
echo "all suites: ${passed} passed, 0 failed"
