#!/usr/bin/env bash
# The mobile SDK's binding tests: generates the Kotlin, Python and Swift
# bindings from the built library (UniFFI library mode), then runs the Python
# test with CPython and the Kotlin test on the JVM (Maven), each against the
# real pushd. Swift is generated, not compiled (no Swift toolchain here).
#
#   scripts/ffi-tests.sh TARGET_DIR PYTHON
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# uniffi-bindgen reads the crate's uniffi.toml through cargo metadata.
cd "$root"
# uniffi-bindgen is built by `cargo build -p push-ffi --features bindgen`.
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

echo "-- swift bindings (generated, not compiled: no Swift toolchain here)"
# What can be checked without a compiler: every PushManager call the Swift
# wrapper makes exists in the generated bindings under that name.
wrapper="$root/mobile/swift/Sources/PushMobile/PushClient.swift"
generated="$out/swift/PushFFI.swift"
calls=$(grep -o 'manager\.[a-zA-Z]*(' "$wrapper" | sed 's/manager\.//; s/($//' | sort -u)
for call in $calls; do
  grep -q "func $call(" "$generated" || { echo "swift wrapper calls $call, which the bindings lack" >&2; exit 1; }
done
grep -q 'convenience init(serverUrl: String, databasePath: String, bridge: BridgeKind)' "$generated"
grep -q 'static func withIdentity(serverUrl: String, databasePath: String, bridge: BridgeKind, identity: IdentityProvider)' "$generated"
grep -q 'func idToken() throws' "$generated"
grep -q 'case apns(bundleId: String, sandbox: Bool' "$generated"
echo "swift wrapper calls found in the bindings: $(echo $calls | tr '\n' ' ')"
