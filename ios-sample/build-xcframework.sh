#!/usr/bin/env bash
# Builds what the Xcode project links and compiles, none of it committed (needs macOS + Xcode):
#   Build/CurbsideFFI.xcframework   libcurbside_ffi.a for iOS devices and the simulator, with the C header
#   Generated/Curbside.swift        the Swift API generated from the same library
# Needs: rustup target add aarch64-apple-ios aarch64-apple-ios-sim
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
export IPHONEOS_DEPLOYMENT_TARGET=16.0
for target in aarch64-apple-ios aarch64-apple-ios-sim; do
  cargo build --release -p curbside-ffi --target "$target"
done
cargo build -p curbside-ffi -p uniffi-bindgen
rm -rf "$here/Build" "$here/Generated"
mkdir -p "$here/Build/headers" "$here/Generated"
target/debug/uniffi-bindgen generate --language swift --out-dir "$here/Build/gen" target/debug/libcurbside_ffi.dylib
mv "$here/Build/gen/Curbside.swift" "$here/Generated/"
cp "$here/Build/gen/CurbsideFFI.h" "$here/Build/headers/"
cp "$here/Build/gen/CurbsideFFI.modulemap" "$here/Build/headers/module.modulemap"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libcurbside_ffi.a -headers "$here/Build/headers" \
  -library target/aarch64-apple-ios-sim/release/libcurbside_ffi.a -headers "$here/Build/headers" \
  -output "$here/Build/CurbsideFFI.xcframework"
echo "Now: cd ios-sample && xcodegen generate && open CurbsideSample.xcodeproj"
