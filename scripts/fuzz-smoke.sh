#!/usr/bin/env bash
# A short run of every cargo-fuzz target (fuzz/), from its committed seed
# corpus, so a parser that crashes on a near-seed input fails the test
# command. Long runs: `cd fuzz && cargo +nightly fuzz run <target>`.
#
# Needs the nightly toolchain and cargo-fuzz; installs cargo-fuzz from
# crates.io when missing. Prints "fuzz targets: N ran".
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-15}

if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
# No sanitizer: the code is safe Rust, and the build is half as long.
cargo +nightly fuzz build --sanitizer none
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ran=0
for target in $(cargo +nightly fuzz list); do
  # A copy, so the committed corpus stays small.
  cp -r "corpus/$target" "$work/$target"
  cargo +nightly fuzz run --sanitizer none "$target" "$work/$target" -- \
    -max_total_time="$seconds" -max_len=8192 >"$work/$target.log" 2>&1 || {
    tail -n 40 "$work/$target.log" >&2
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  }
  echo "fuzz $target: $(grep -o 'Done [0-9]* runs' "$work/$target.log" | tail -1)"
  ran=$((ran + 1))
done
echo "fuzz targets: ${ran} ran"
