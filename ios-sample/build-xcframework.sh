#!/usr/bin/env bash
# Builds what the Swift package (Package.swift) needs, none of it committed (needs macOS + Xcode):
#   Build/CurbsideFFI.xcframework   libcurbside_ffi.a for iOS devices and the simulator, with one
#                                   C module (CurbsideFFI) of every crate's header
#   Sources/Curbside/               the Swift API generated from the same library (one file per
#                                   crate that exports types), bindings/swift and the string catalog
# Needs: rustup target add aarch64-apple-ios aarch64-apple-ios-sim
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
cd "$repo"
export IPHONEOS_DEPLOYMENT_TARGET=17.0
for target in aarch64-apple-ios aarch64-apple-ios-sim; do
  cargo build --profile mobile -p curbside-ffi --target "$target"   # built for size (Cargo.toml)
done
cargo build -p curbside-ffi -p uniffi-bindgen
rm -rf "$here/Build" "$here/Sources/Curbside"
mkdir -p "$here/Build/headers" "$here/Sources/Curbside/Resources"
"$target_dir/debug/uniffi-bindgen" generate --language swift --out-dir "$here/Build/gen" \
  "$target_dir/debug/libcurbside_ffi.dylib"
cp "$here"/Build/gen/*.swift "$repo"/bindings/swift/*.swift "$here/Sources/Curbside/"
cp "$repo"/bindings/swift/Resources/Localizable.xcstrings "$here/Sources/Curbside/Resources/"
cp "$here"/Build/gen/*FFI.h "$here/Build/headers/"
{ echo 'module CurbsideFFI {'
  for h in "$here"/Build/headers/*.h; do echo "    header \"$(basename "$h")\""; done
  printf '    export *\n}\n'
} > "$here/Build/headers/module.modulemap"
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/mobile/libcurbside_ffi.a" -headers "$here/Build/headers" \
  -library "$target_dir/aarch64-apple-ios-sim/mobile/libcurbside_ffi.a" -headers "$here/Build/headers" \
  -output "$here/Build/CurbsideFFI.xcframework"
echo "Now: cd ios-sample && xcodegen generate && open CurbsideSample.xcodeproj"
