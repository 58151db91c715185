#!/usr/bin/env bash
# The mobile SDK's binding tests: generates the Kotlin, Python and Swift
# bindings from the built library (UniFFI library mode), then runs the Python
# test with CPython and the Kotlin test on the JVM (Maven), each against the
# real pushd. Swift is generated, not compiled (no Swift toolchain here).
#
#   scripts/ffi-tests.sh TARGET_DIR PYTHON
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:?target directory with pushd, pushctl, uniffi-bindgen and libpush_ffi.so}
python=${2:?python interpreter}
library="$bin/libpush_ffi.so"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for language in python kotlin swift; do
  "$bin/uniffi-bindgen" generate --library "$library" --language "$language" \
    --out-dir "$out/$language" >/dev/null
done
cp "$library" "$out/python/"
echo "bindings generated: $(cd "$out" && find . -type f | sort | tr '\n' ' ')"

echo "-- python bindings"
PYTHONPATH="$out/python" PUSHD_BIN="$bin/pushd" PUSHCTL_BIN="$bin/pushctl" \
  "$python" "$root/sdk-ffi/tests/python/test_push_manager.py" 2>&1 | tail -n 20

echo "-- kotlin bindings (JVM)"
mvn -B -q -f "$root/mobile/kotlin/pom.xml" test \
  -Duniffi.generated="$out/kotlin" -Djna.library.path="$bin" \
  -Dpushd.bin="$bin/pushd" -Dpushctl.bin="$bin/pushctl"
reports="$root/mobile/kotlin/target/surefire-reports"
grep -h "Tests run" "$reports"/*.txt
