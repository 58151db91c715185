#!/usr/bin/env bash
# Builds the Rust library for iOS (device and simulator) and macOS, generates
# the Swift bindings, and assembles PushFFIFFI.xcframework for Package.swift.
# Needs macOS with Xcode and the Rust targets below (rustup target add ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
targets=(aarch64-apple-ios aarch64-apple-ios-sim aarch64-apple-darwin)
for target in "${targets[@]}"; do
  cargo build --release -p push-ffi --target "$target"
done
cargo build --release -p push-ffi --features bindgen --bin uniffi-bindgen
generated=$(mktemp -d)
target/release/uniffi-bindgen generate --library "target/aarch64-apple-darwin/release/libpush_ffi.dylib" \
  --language swift --out-dir "$generated"
mkdir -p "$here/Sources/PushFFI" "$generated/include"
cp "$generated/PushFFI.swift" "$here/Sources/PushFFI/"
cp "$generated/PushFFIFFI.h" "$generated/include/"
cp "$generated/PushFFIFFI.modulemap" "$generated/include/module.modulemap"
rm -rf "$here/PushFFIFFI.xcframework"
args=()
for target in "${targets[@]}"; do
  args+=(-library "target/$target/release/libpush_ffi.a" -headers "$generated/include")
done
xcodebuild -create-xcframework "${args[@]}" -output "$here/PushFFIFFI.xcframework"
