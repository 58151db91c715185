#!/usr/bin/env bash
# The operator kit in deploy/, checked by the tools operators run: the Helm
# chart (helm lint, and helm template decoded strictly into Kubernetes' own Go
# types by deploy/helm/validate), the Prometheus alert rules (promtool check
# and promtool's unit tests), the Grafana dashboard (parses), and every metric
# the rules and dashboard name, found on a running pushd; and the compose
# file's syntax (docker-compose config).
#
# Installs its tools into a cache (default $CARGO_TARGET_DIR/deploy-tools):
# helm from the Go module proxy, promtool out of Debian's prometheus package
# (unpacked, not installed: the package also sets up, and may start, a
# Prometheus server), and the validator from its go.sum; docker-compose (for
# `config` only) with apt if missing. Later runs reuse them offline.
#
# usage: scripts/deploy-check.sh BIN_DIR [PYTHON]
# Env: PUSHD_DEPLOY_TOOLS (the cache), CARGO_TARGET_DIR.
set -euo pipefail

bin_dir=${1:?binary folder holding pushd and pushctl}
python=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${PUSHD_DEPLOY_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/deploy-tools}
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)

helm_version=v3.22.0
# helm built from source (no release ldflags) assumes Kubernetes v1.20 unless told.
kube_version=1.34.0
chart=$root/deploy/helm/pushd

passed() { echo "deploy-check: passed: $*"; }
fail() { echo "deploy-check: FAILED: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------
helm=$tools/helm-$helm_version/helm
if [ ! -x "$helm" ]; then
    echo "deploy-check: installing helm $helm_version from the Go module proxy"
    GOBIN=$tools/helm-$helm_version nice -n 19 go install "helm.sh/helm/v3/cmd/helm@$helm_version"
fi
export HELM_CACHE_HOME=$tools/helm-home/cache HELM_CONFIG_HOME=$tools/helm-home/config \
    HELM_DATA_HOME=$tools/helm-home/data

promtool=$tools/promtool/promtool
if [ ! -x "$promtool" ]; then
    echo "deploy-check: unpacking promtool from Debian's prometheus package"
    apt-cache show prometheus >/dev/null 2>&1 || apt-get update
    unpack=$(mktemp -d)
    # apt drops to the _apt user to download; it must be able to write here.
    chmod 0777 "$unpack"
    (cd "$unpack" && apt-get download prometheus && dpkg-deb -x prometheus_*.deb tree)
    mkdir -p "$tools/promtool"
    install -m 0755 "$unpack/tree/usr/bin/promtool" "$promtool"
    rm -rf "$unpack"
fi

validate=$tools/validate
validate_src=$root/deploy/helm/validate
validate_stamp=$(cd "$validate_src" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)
if [ ! -x "$validate" ] || [ "$(cat "$tools/validate.stamp" 2>/dev/null)" != "$validate_stamp" ]; then
    echo "deploy-check: building the manifest validator"
    (cd "$validate_src" && nice -n 19 go build -mod=readonly -trimpath -o "$validate" .)
    echo "$validate_stamp" >"$tools/validate.stamp"
fi

# --- Helm chart ---------------------------------------------------------------
scylla=(-f "$chart/values-scylla.yaml" --set secrets.clusterSecret=0123456789abcdef0123456789abcdef
    --set secrets.adminToken=fedcba9876543210fedcba9876543210)
"$helm" lint --strict --kube-version "$kube_version" "$chart"
"$helm" lint --strict --kube-version "$kube_version" "$chart" "${scylla[@]}"
passed "helm lint (default values, values-scylla.yaml)"

render() { "$helm" template pushd "$chart" --namespace push --kube-version "$kube_version" "$@"; }
render | "$validate"
render --set persistence.enabled=false --set secrets.adminToken=fedcba9876543210fedcba9876543210 | "$validate"
render --set persistence.existingClaim=pushd-data --set secrets.existingSecret=pushd-secrets | "$validate"
render "${scylla[@]}" | "$validate"
passed "helm template | validate (sqlite with a claim, an emptyDir, the operator's claim and Secret; scylla cluster with ServiceMonitor)"

# The chart's refusals, and the validator's: each must fail.
render --set replicaCount=2 >/dev/null 2>&1 && fail "the chart accepted 2 replicas on the single-node sqlite store"
render -f "$chart/values-scylla.yaml" >/dev/null 2>&1 && fail "the chart accepted a cluster without a cluster secret"
grep -q 'terminationGracePeriodSeconds: 25$' <(render --set drainSeconds=15) \
    || fail "terminationGracePeriodSeconds does not follow drainSeconds (5 s preStop + 15 s drain + 5 s)"
render | sed 's/^    app.kubernetes.io\/managed-by: Helm$/&\n  replicaz: 3/' | "$validate" >/dev/null 2>&1 \
    && fail "the validator accepted an unknown field"
render | sed 's/targetPort: push$/targetPort: pushh/' | "$validate" >/dev/null 2>&1 \
    && fail "the validator accepted a Service targeting a port no pod has"
passed "refused: sqlite with 2 replicas, a cluster without its secret, an unknown field, a dangling targetPort"

# --- Prometheus rules, Grafana dashboard -------------------------------------
"$promtool" check rules "$root/deploy/prometheus/pushd-alerts.yml"
(cd "$root/deploy/prometheus" && "$promtool" test rules pushd-alerts.test.yml)
passed "promtool check rules, promtool test rules"

"$python" - "$root/deploy/grafana/pushd.json" <<'EOF'
import json, sys
dashboard = json.load(open(sys.argv[1]))
panels = [p for p in dashboard["panels"] if p["type"] != "row"]
assert dashboard["uid"] and panels, "no uid or no panels"
for panel in panels:
    assert panel.get("targets"), f"panel {panel['title']!r} has no query"
print(f"deploy-check: dashboard {dashboard['title']!r}: {len(panels)} panels")
EOF
passed "Grafana dashboard parses"

# --- compose file (syntax and interpolation only: no engine runs here) -------
command -v docker-compose >/dev/null \
    || { apt-get update && apt-get install -y --no-install-recommends docker-compose; }
compose=$root/deploy/compose/docker-compose.yml
PUSHD_CLUSTER_SECRET=0123456789abcdef0123456789abcdef docker-compose -f "$compose" config -q
env -u PUSHD_CLUSTER_SECRET docker-compose -f "$compose" config -q >/dev/null 2>&1 \
    && fail "docker-compose accepted the cluster without PUSHD_CLUSTER_SECRET"
passed "docker-compose config (and its refusal without PUSHD_CLUSTER_SECRET)"

# --- every metric they name exists ------------------------------------------
"$python" "$root/scripts/deploy/metrics_exist.py" "$bin_dir" \
    "$root/deploy/prometheus/pushd-alerts.yml" "$root/deploy/grafana/pushd.json"
passed "metrics used by the rules and dashboard exist on a running pushd"
