#!/usr/bin/env bash
# Packaging smoke test of the Android sample: assembles a signed APK from the classes that the
# Android suite compiled against the real Android API and the resources and merged manifest
# it linked with Debian's aapt2 (android-sample/robolectric/target), shrunk by R8 (from Maven
# Central) with the rules a release build gets (the manifest's, the library's consumer rules,
# each AAR's and jar's), zipalign and apksigner, and checks it with
# `aapt dump badging` and dexdump. The core's native library cannot be built here (no NDK):
# the APK carries none, so it installs but cannot open Curbside; everything else is real.
# Prints "APK: 1 passed, 0 failed" (or 0 passed, 1 failed) and exits non-zero on failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
module="$repo/android-sample/robolectric"
out="$module/target/apk"
fail() { echo "apk: $*" >&2; echo "APK: 0 passed, 1 failed"; exit 1; }

for tool in aapt zipalign apksigner dexdump zip unzip; do
  command -v "$tool" >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      aapt zipalign apksigner dexdump zip unzip >/dev/null 2>&1
    break
  }
done
for tool in aapt zipalign apksigner dexdump zip unzip; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing and could not be installed"
done
[ -d "$module/target/classes/dev/curbside/sample" ] || fail "the Android suite's classes are missing (run it first)"

rm -rf "$out" && mkdir -p "$out/dex"
# The runtime classpath the app needs, from the suite's own resolution.
mvn -B -q -ntp -f "$module/pom.xml" dependency:build-classpath -Dmdep.includeScope=runtime \
  -Dmdep.outputFile="$out/classpath.txt" >/dev/null || fail "cannot resolve the app's classpath"
mvn -B -q -ntp dependency:copy -Dartifact=com.android.tools:r8:8.13.19 -DoutputDirectory="$out" >/dev/null \
  || fail "cannot fetch r8 from Maven Central"
android_all=$(find ~/.m2/repository/org/robolectric/android-all/15-robolectric-13954326 -name '*.jar' | head -n1)
IFS=: read -r -a jars < "$out/classpath.txt"
app_jars=()
for jar in "${jars[@]}"; do
  # Not in an app: the framework, tests, and the full Guava some tools bring (apps get
  # ListenableFuture alone, from listenablefuture-1.0).
  case "$jar" in *android-all*|*kotlin-test*|*junit*|*robolectric*|*/guava-*|*failureaccess*) ;; *) app_jars+=("$jar") ;; esac
done
# The AndroidX classes (system scope, so not in the runtime classpath), but the test monitor.
for jar in "$module"/target/aar/*/classes.jar; do
  case "$jar" in */monitor/*) ;; *) app_jars+=("$jar") ;; esac
done
(cd "$module/target/classes" && find . -name '*.class' | jar cf "$out/app.jar" @/dev/stdin) || fail "cannot jar the classes"
# R8, as a release build shrinks the app: the rules AGP would give it, from the manifest
# (aapt2's keep rules for the Activities, the Application, WorkManager's services), the
# library's consumer rules, and the rules each AAR and jar ships.
rules="$out/rules"
mkdir -p "$rules"
cp "$repo/android-sample/curbside/consumer-rules.pro" "$rules/curbside-consumer.pro"
cp "$module/target/robolectric-res/aapt-rules.pro" "$rules/aapt.pro" || fail "no aapt2 keep rules (resources.sh)"
for aar in "$module"/target/aar-files/*.aar; do
  unzip -p "$aar" proguard.txt > "$rules/aar-$(basename "$aar" .aar).pro" 2>/dev/null || true
done
for jar in "${app_jars[@]}"; do
  case "$jar" in *.jar) ;; *) continue ;; esac
  for entry in $(unzip -Z1 "$jar" 2>/dev/null | grep -E '^META-INF/(proguard|com.android.tools/r8[^/]*)/.+\.pro$'); do
    unzip -p "$jar" "$entry" > "$rules/jar-$(basename "$jar" .jar)-$(basename "$entry")"
  done
done
# What the app's own code needs: nothing beyond the above (a test that it is enough is the
# dexdump check below). Classes only the desktop JVM has are never loaded on Android.
printf '%s\n' '-dontwarn java.lang.management.**' '-dontwarn javax.naming.**' '-dontwarn sun.misc.**' > "$rules/platform.pro"
pg=()
for f in "$rules"/*.pro; do pg+=(--pg-conf "$f"); done
# The Java library the framework stands on (android-all has android.* only): the JDK's.
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
java -cp "$out"/r8-*.jar com.android.tools.r8.R8 --release --min-api 26 --lib "$android_all" --lib "$java_home" "${pg[@]}" \
  --pg-map-output "$out/mapping.txt" --output "$out/dex" "$out/app.jar" "${app_jars[@]}" 2> "$out/r8.log" \
  || { grep -m5 -i error "$out/r8.log" >&2; fail "R8 failed"; }

# The merged manifest, resources and assets the Android suite linked (resources.sh), as AGP
# would put them in the APK; the dex files join them.
resources="$module/target/robolectric-res/resources.ap_"
[ -f "$resources" ] || fail "the Android suite's resources are missing (android-sample/robolectric/resources.sh)"
cp "$resources" "$out/unsigned.apk"
(cd "$out/dex" && zip -q -j "$out/unsigned.apk" classes*.dex) || fail "cannot add the dex files"
zipalign -f 4 "$out/unsigned.apk" "$out/aligned.apk" || fail "zipalign failed"
keytool -genkeypair -keystore "$out/debug.keystore" -storepass android -keypass android -alias debug \
  -dname "CN=Curbside sample debug" -keyalg RSA -keysize 2048 -validity 30 >/dev/null 2>&1 || fail "keytool failed"
apksigner sign --ks "$out/debug.keystore" --ks-pass pass:android --out "$out/curbside-sample.apk" "$out/aligned.apk" \
  || fail "apksigner failed"
apksigner verify "$out/curbside-sample.apk" || fail "the signature does not verify"

badging=$(aapt dump badging "$out/curbside-sample.apk") || fail "aapt cannot read the APK"
echo "$badging" | grep -E "^(package|sdkVersion|launchable-activity|uses-permission)" 
echo "$badging" | grep -q "package: name='dev.curbside.sample'" || fail "wrong package"
echo "$badging" | grep -q "sdkVersion:'26'" || fail "minSdk is not 26"
echo "$badging" | grep -q "launchable-activity: name='dev.curbside.sample.ServicesActivity'" || fail "no launcher Activity"
echo "$badging" | grep -q "android.permission.INTERNET" || fail "no INTERNET permission"
for dex in "$out"/dex/classes*.dex; do dexdump "$dex" 2>/dev/null; done > "$out/dexdump.txt"
# Kept under their names, as the rules say: the manifest's components (aapt2), the worker
# WorkManager makes by name (its AAR's rules), and everything JNA reads by name or reflection
# (Curbside's consumer rules): the API, the callbacks, uniffi's structures with their fields.
for class in 'Ldev/curbside/sample/ServicesActivity;' 'Ldev/curbside/sample/SampleApp;' 'Ldev/curbside/android/SyncWorker;' \
             'Ldev/curbside/CurbsideCore;' 'Ldev/curbside/UniffiLib;' 'Ldev/curbside/RustBuffer;' 'Lcom/sun/jna/Native;' \
             'Landroidx/core/content/FileProvider;'; do
  grep -q "Class descriptor  : '$class'" "$out/dexdump.txt" || fail "$class is not in the dex files under its name"
done
for field in capacity len data; do
  awk "/Class descriptor  : 'Ldev\/curbside\/RustBuffer;'/{found=1} found && /name          : '$field'/{print; exit}" \
    "$out/dexdump.txt" | grep -q "$field" || fail "RustBuffer.$field is gone (JNA reads it by name)"
done
# Shrunk, not dropped: WorkManager itself is in, renamed.
grep -q "^androidx.work.WorkManager -> " "$out/mapping.txt" || fail "WorkManager is not in the app"
echo "R8: $(grep -c "Class descriptor" "$out/dexdump.txt") classes in the shrunk app"

echo "APK: $(du -h "$out/curbside-sample.apk" | cut -f1) at $out/curbside-sample.apk (no native library: no NDK here)"
echo "APK: 1 passed, 0 failed"
