#!/usr/bin/env bash
# Builds what the Xcode project links and compiles, none of it committed (needs macOS + Xcode):
#   Build/CurbsideFFI.xcframework   libcurbside_ffi.a for iOS devices and the simulator, with the C header
#   Generated/*.swift               the Swift API generated from the same library (one file per
#                                   crate that exports types; all of them form the Curbside module)
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
mv "$here"/Build/gen/*.swift "$here/Generated/"
cp "$here"/Build/gen/*FFI.h "$here/Build/headers/"
# One C module, CurbsideFFI, with every crate's header (each crate's uniffi.toml names it).
{ echo 'module CurbsideFFI {'
  for h in "$here"/Build/headers/*.h; do echo "    header \"$(basename "$h")\""; done
  printf '    export *\n}\n'
} > "$here/Build/headers/module.modulemap"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libcurbside_ffi.a -headers "$here/Build/headers" \
  -library target/aarch64-apple-ios-sim/release/libcurbside_ffi.a -headers "$here/Build/headers" \
  -output "$here/Build/CurbsideFFI.xcframework"
echo "Now: cd ios-sample && xcodegen generate && open CurbsideSample.xcodeproj"
