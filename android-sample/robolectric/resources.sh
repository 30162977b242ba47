#!/usr/bin/env bash
# What the Android Gradle Plugin would give the tests (there is none here): the app's merged
# manifest, its resources and those of its AARs linked into one resource APK with Debian's
# aapt2 (against Debian's framework-res, API 29), the R classes of every package, and the
# properties that point Robolectric at them (binary resources mode), so WorkManager finds
# its resources and runs for real. The APK check (tests/scripts/android-apk.sh) starts from
# the same resource APK. Run after aars/pom.xml, before `mvn test`.
set -euo pipefail
module=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$module/../.." && pwd)
target="$module/target"
out="$target/robolectric-res"
framework=/usr/share/android-framework-res/framework-res.apk
if ! command -v aapt2 >/dev/null 2>&1 || [ ! -f "$framework" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aapt android-framework-res >/dev/null
fi
rm -rf "$out" "$target/generated-r" "$target/robolectric-config"
mkdir -p "$out/flat" "$target/generated-r" "$target/robolectric-config/com/android/tools"

# The resources of the AARs that have any, then the library's (later ones override).
packages=()
for aar in "$target"/aar-files/*.aar; do
  name=$(basename "$aar" .aar)
  mkdir -p "$out/aar/$name"
  (cd "$out/aar/$name" && jar xf "$aar" AndroidManifest.xml res)
  [ -d "$out/aar/$name/res" ] || continue
  # androidx.core's styles name attributes newer than Debian's framework-res (API 29), and
  # nothing WorkManager runs here reads them: its resources are left out.
  case "$name" in core-1.*) continue ;; esac
  aapt2 compile --dir "$out/aar/$name/res" -o "$out/flat/$name.zip"
  packages+=("$(sed -nE 's/.*package="([^"]+)".*/\1/p' "$out/aar/$name/AndroidManifest.xml" | head -n1)")
done
aapt2 compile --dir "$repo/android-sample/curbside/src/main/res" -o "$out/flat/zz-curbside.zip"
packages+=(dev.curbside.android)

# The merged manifest: the app's, its library's permissions, and WorkManager's services.
python3 - "$repo/android-sample/app/src/main/AndroidManifest.xml" "$out/aar/work-runtime-2.10.0/AndroidManifest.xml" \
  "$out/AndroidManifest.xml" <<'PY'
import re, sys
app = open(sys.argv[1]).read().replace("${applicationId}", "dev.curbside.sample")
work = open(sys.argv[2]).read()
app = re.sub(r"\s*<!-- WorkManager is configured.*?</provider>", "", app, flags=re.S)
services = "\n".join(re.findall(r"<service.*?/>|<service.*?</service>", work, flags=re.S))
services = re.sub(r'\s+tools:[a-zA-Z]+="[^"]*"', "", services)
receivers = "\n".join(re.sub(r'\s+tools:[a-zA-Z]+="[^"]*"', "", r) for r in re.findall(r"<receiver.*?</receiver>", work, flags=re.S))
app = app.replace('<manifest xmlns:android="http://schemas.android.com/apk/res/android">',
    '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="dev.curbside.sample"'
    ' android:versionCode="1" android:versionName="0.2.0">\n'
    '    <uses-sdk android:minSdkVersion="26" android:targetSdkVersion="34" />\n'
    '    <uses-permission android:name="android.permission.INTERNET" />\n'
    '    <uses-permission android:name="android.permission.ACCESS_NETWORK_STATE" />\n'
    '    <uses-permission android:name="android.permission.WAKE_LOCK" />')
app = app.replace("    </application>", services + "\n" + receivers + "\n    </application>")
open(sys.argv[3], "w").write(app)
PY

extra=$(IFS=:; echo "${packages[*]}")
aapt2 link -I "$framework" --manifest "$out/AndroidManifest.xml" --auto-add-overlay \
  -A "$repo/android-sample/app/src/main/assets" \
  --custom-package dev.curbside.sample --extra-packages "$extra" --java "$target/generated-r" \
  -o "$out/resources.ap_" "$out"/flat/*.zip
cat > "$target/robolectric-config/com/android/tools/test_config.properties" <<PROPS
android_resource_apk=$out/resources.ap_
android_merged_manifest=$out/AndroidManifest.xml
android_merged_assets=$repo/android-sample/app/src/main/assets
android_custom_package=dev.curbside.sample
PROPS
echo "resources for Robolectric: $out/resources.ap_ ($(find "$target/generated-r" -name R.java | wc -l) R classes)"
