#!/usr/bin/env bash
# Builds deploy/Dockerfile's image for real and runs it: `pushd --help`, then
# pushd itself until /healthz and /readyz answer 200.
#
# No container registry is needed: the Debian base image is made here with
# debootstrap from the machine's own Debian mirror and imported as
# localhost/debian:bookworm-slim, and the Dockerfile's `prebuilt` target
# takes BIN_DIR/pushd (the test command passes its debug build) instead of
# compiling on the Rust image. Everything else in the image (the apt-get
# line, user, folders, environment, entrypoint) is the Dockerfile's own.
#
# Runs with buildah's chroot isolation: machines without CAP_SYS_RESOURCE
# refuse the rlimits that podman run and buildah's oci isolation set, and
# chroot isolation shares the host's network, so the health ports are
# reached on 127.0.0.1. Installs buildah and debootstrap with apt if missing.
# The base image's rootfs is kept as a tarball in the cache (default
# $CARGO_TARGET_DIR/image-cache) and the apt layer in buildah's layer cache,
# so later runs skip both.
#
# usage: scripts/image-check.sh BIN_DIR
# Env: PUSHD_IMAGE_CACHE (the cache), PUSHD_IMAGE_MIRROR (Debian mirror;
#      default: the first Debian archive in apt's sources), PUSHD_IMAGE_METRICS_PORT
#      (default 9070), CARGO_TARGET_DIR.
set -euo pipefail

bin_dir=${1:?binary folder holding pushd}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PUSHD_IMAGE_CACHE:-${CARGO_TARGET_DIR:-$root/target}/image-cache}
port=${PUSHD_IMAGE_METRICS_PORT:-9070}
base=localhost/debian:bookworm-slim
image=localhost/pushd:image-check

passed() { echo "image-check: passed: $*"; }
fail() { echo "image-check: FAILED: $*" >&2; exit 1; }

[ -x "$bin_dir/pushd" ] || fail "no pushd binary in $bin_dir"
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# --- tools ------------------------------------------------------------------
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "image-check: installing ${missing[*]} with apt"
    apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Said plainly rather than skipped: without a working buildah there is no image.
if ! why=$(buildah info 2>&1 >/dev/null); then
    fail "buildah cannot run on this machine: $why"
fi

# --- base image -------------------------------------------------------------
rootfs_tar=$cache/debian-bookworm-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
    mirror=${PUSHD_IMAGE_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v '^[[:space:]]*#' \
        | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n 1 | tr -d ' ' || true)}
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "image-check: making the Debian bookworm base with debootstrap from $mirror"
    work=$(mktemp -d "$cache/rootfs.XXXXXX")
    nice -n 19 debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap (log above)"; }
    # As bookworm-slim ships: no downloaded packages or package lists.
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    # Written beside and renamed, so an interrupted run leaves no half tarball.
    tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.part" .
    mv "$rootfs_tar.part" "$rootfs_tar"
    rm -rf "$work"
    buildah rmi "$base" >/dev/null 2>&1 || true
fi
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
    # buildah has no import; an empty image plus the tree is the same thing.
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$rootfs_tar" / >/dev/null
    buildah config --cmd bash "$ctr"
    buildah commit --rm -q "$ctr" "$base" >/dev/null
fi
passed "base image $base (debootstrap minbase, $(du -h "$rootfs_tar" | cut -f1) tarball)"

# --- build ------------------------------------------------------------------
ctx=$(mktemp -d)
ctr=
cleanup() {
    if [ -n "${run_pid:-}" ]; then
        kill "$run_pid" 2>/dev/null || true
        wait "$run_pid" 2>/dev/null || true
    fi
    [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null || echo "image-check: could not remove container $ctr" >&2
    rm -rf "$ctx"
    return 0
}
trap cleanup EXIT
# The binary alone is the context: the repository would be sent for nothing.
cp "$bin_dir/pushd" "$ctx/pushd"
log=$ctx/build.log
if ! nice -n 19 buildah bud --isolation chroot --layers --build-arg DEBIAN="$base" \
    --target prebuilt -f "$root/deploy/Dockerfile" -t "$image" "$ctx" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail "buildah bud -f deploy/Dockerfile --target prebuilt (log above)"
fi
passed "buildah bud -f deploy/Dockerfile --target prebuilt: $image (image $(buildah images -q "$image" | head -n 1))"

# --- run --------------------------------------------------------------------
ctr=$(buildah from "$image")
run() { buildah run --isolation chroot "$@"; }
help=$(run "$ctr" -- /usr/local/bin/pushd --help) || fail "pushd --help in the image"
grep -q -- '--metrics-listen' <<<"$help" || fail "pushd --help in the image printed: $help"
passed "pushd --help in the image ($(head -n 1 <<<"$help"))"
user=$(run "$ctr" -- id -un)
[ "$user" = nobody ] || fail "the image runs as $user, not nobody"
dir=$(run "$ctr" -- pwd)
[ "$dir" = /data ] || fail "the image starts in $dir, not /data"
env=$(run "$ctr" -- env)
grep -qx 'PUSHD_DATA_DIR=/data' <<<"$env" || fail "no PUSHD_DATA_DIR=/data in the image's environment: $env"
passed "runs as nobody in /data with the Dockerfile's PUSHD_* environment"

curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" \
    && fail "127.0.0.1:$port is already taken by something else (PUSHD_IMAGE_METRICS_PORT picks another)"
# The Dockerfile's PUSHD_DATA_DIR stays; its 0.0.0.0 listeners would face the
# machine's network here (chroot isolation shares it), so loopback instead.
# buildah itself in the background (not the run function, a subshell that
# killing would leave buildah running): it kills pushd when it is killed.
buildah run --isolation chroot --env PUSHD_LISTEN=127.0.0.1:0 --env "PUSHD_METRICS_LISTEN=127.0.0.1:$port" \
    "$ctr" -- /usr/local/bin/pushd >"$ctx/pushd.log" 2>&1 &
run_pid=$!
for endpoint in healthz readyz; do
    code=000
    for _ in $(seq 1 60); do
        code=$(curl -s -o "$ctx/body" -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/$endpoint" || true)
        [ "$code" = 200 ] && break
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ "$code" != 200 ]; then
        cat "$ctx/pushd.log" >&2
        fail "/$endpoint of pushd in the image answered $code within 30 s (its log above)"
    fi
    passed "/$endpoint 200 ($(cat "$ctx/body")) on 127.0.0.1:$port from pushd in the image"
done
kill "$run_pid"
wait "$run_pid" 2>/dev/null || true
run_pid=
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" && fail "pushd in the image still answers after being stopped"
passed "pushd in the image stopped by stopping buildah run"
