#!/usr/bin/env bash
# The Android library as an artifact, as a city's app would consume it: assembles
# curbside-android-VERSION.aar from what the Android suite built here (its compiled classes,
# the library's manifest, resources and R.txt linked with aapt2, the consumer R8 rules),
# deploys it with its POM into a local Maven repository, and has a consumer module
# (android-sample/consumer) resolve it from there, compile against it and run a Robolectric
# test with the real core. Run after the Android suite (android-sample/robolectric).
#
# No NDK here, so the AAR has no jni/ folder: on a machine with the NDK, Gradle's cargoNdk
# task (android-sample/curbside/build.gradle.kts) adds jni/<abi>/libcurbside_ffi.so for each
# ABI asked for, and `publishReleasePublicationToLocalRepository` writes the same layout.
# Prints "AAR: N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
suite="$repo/android-sample/robolectric"
consumer="$repo/android-sample/consumer"
out="$consumer/target/artifact"
version=$(sed -nE 's/^version = "([^"]+)"$/\1/p' "$repo/Cargo.toml" | head -n1)
framework=/usr/share/android-framework-res/framework-res.apk
passed=0
failed=0
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "pass  $what"; else failed=$((failed + 1)); echo "FAIL  $what"; fi
}
finish() { echo "AAR: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

[ -n "$version" ] || { echo "aar: no version in Cargo.toml" >&2; failed=1; finish; }
for tool in zip unzip aapt2; do
  command -v "$tool" >/dev/null 2>&1 && continue
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip unzip aapt >/dev/null 2>&1
  break
done
for tool in zip unzip aapt2; do
  command -v "$tool" >/dev/null 2>&1 || { echo "aar: $tool is missing and could not be installed" >&2; failed=1; finish; }
done
[ -d "$suite/target/classes/dev/curbside/android" ] || {
  echo "aar: the Android suite's classes are missing (run it first)" >&2; failed=1; finish; }
rm -rf "$out" && mkdir -p "$out/aar" "$out/res-flat"
aar="$out/curbside-android-$version.aar"

# 1. The AAR's parts.
# classes.jar: the library's classes only (the generated API, bindings/kotlin, the Android
# parts): not the sample's, and no R classes (an app makes its own from R.txt).
(cd "$suite/target/classes" &&
  find dev/curbside -name '*.class' ! -path 'dev/curbside/sample/*' ! -name 'R.class' ! -name 'R$*.class' |
  sort | jar cf "$out/aar/classes.jar" @/dev/stdin)
# The manifest as AGP writes it into an AAR: its namespace as the package, and minSdk.
python3 - "$repo/android-sample/curbside/src/main/AndroidManifest.xml" "$out/aar/AndroidManifest.xml" <<'PY'
import sys
text = open(sys.argv[1]).read()
text = text.replace('<manifest xmlns:android="http://schemas.android.com/apk/res/android">',
    '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="dev.curbside.android">\n'
    '    <uses-sdk android:minSdkVersion="26" />', 1)
open(sys.argv[2], "w").write(text)
PY
cp -r "$repo/android-sample/curbside/src/main/res" "$out/aar/res"
cp "$repo/android-sample/curbside/consumer-rules.pro" "$out/aar/proguard.txt"
# R.txt: the library's resource symbols, from aapt2 linking it as a static library.
aapt2 compile --dir "$out/aar/res" -o "$out/res-flat/res.zip" &&
  aapt2 link --static-lib -I "$framework" --manifest "$out/aar/AndroidManifest.xml" \
    -o "$out/static.apk" --output-text-symbols "$out/aar/R.txt" "$out/res-flat/res.zip" ||
  echo "aar: aapt2 could not link the library's resources" >&2
(cd "$out/aar" && rm -f "$aar" && zip -q -r "$aar" AndroidManifest.xml classes.jar res R.txt proguard.txt)

entries=$(unzip -Z1 "$aar" 2>/dev/null)
classes=$(unzip -Z1 "$out/aar/classes.jar" 2>/dev/null)
check "the AAR holds a manifest, classes.jar, resources, R.txt and the consumer rules" \
  bash -c 'for e in AndroidManifest.xml classes.jar res/values/strings.xml res/values-fi/strings.xml R.txt proguard.txt; do
    grep -qx -- "$e" <<<"$1" || { echo "missing $e" >&2; exit 1; }; done' _ "$entries"
check "classes.jar holds the API, the Android parts and the callbacks, and nothing of the sample" \
  bash -c 'for c in dev/curbside/CurbsideCore.class dev/curbside/android/Curbside.class dev/curbside/android/SyncWorker.class \
      dev/curbside/android/NetworkHint.class dev/curbside/CurbsideTexts.class dev/curbside/types/Report.class; do
      grep -qx -- "$c" <<<"$1" || { echo "missing $c" >&2; exit 1; }; done
    ! grep -q -e "^dev/curbside/sample/" -e "/R\.class$" -e "/R\$" <<<"$1"' _ "$classes"
check "the manifest names the namespace, minSdk 26 and the network permissions" \
  bash -c 'grep -q "package=\"dev.curbside.android\"" "$1" && grep -q "minSdkVersion=\"26\"" "$1" &&
    grep -q "android.permission.INTERNET" "$1" && grep -q "android.permission.ACCESS_NETWORK_STATE" "$1"' _ "$out/aar/AndroidManifest.xml"
check "R.txt lists the library's strings" grep -q "int string curbside_attention_refused" "$out/aar/R.txt"
check "the consumer rules keep JNA and the generated API" \
  bash -c 'grep -q "keep class com.sun.jna" "$1" && grep -q "keep class dev.curbside" "$1"' _ "$out/aar/proguard.txt"

# 2. Deployed with its POM into a local Maven repository (the layout Gradle's maven-publish
# writes): what an app resolves, with JNA (as aar), coroutines and WorkManager.
sed "s/@VERSION@/$version/" "$consumer/curbside-android.pom" > "$out/curbside-android.pom"
local_repo="$out/repo"
check "deployed to a local Maven repository" \
  mvn -B -q -ntp org.apache.maven.plugins:maven-deploy-plugin:3.1.3:deploy-file \
    -Dfile="$aar" -DpomFile="$out/curbside-android.pom" -Dpackaging=aar \
    -Durl="file://$local_repo" -DrepositoryId=local
check "the POM names its dependencies (JNA as aar, coroutines, WorkManager)" \
  bash -c 'p="$1/dev/curbside/curbside-android/$2/curbside-android-$2.pom"
    grep -q "<artifactId>jna</artifactId>" "$p" && grep -q "<type>aar</type>" "$p" &&
    grep -q "kotlinx-coroutines-android" "$p" && grep -q "work-runtime" "$p"' _ "$local_repo" "$version"

# 3. A consumer that resolves it (and its dependencies) from there, compiles against it and
# runs a Robolectric test with the real core against the sandbox.
rm -rf "$consumer/target/unpacked" "$consumer/target/classes" "$consumer/target/test-classes" "$consumer/target/surefire-reports"
# Maven keeps a released version it resolved once: the copy of an earlier run goes, so the
# consumer resolves this AAR from the repository above.
rm -rf "${MAVEN_LOCAL_REPOSITORY:-$HOME/.m2/repository}/dev/curbside/curbside-android"
check "a consumer resolves the AAR and its dependencies from the local repository" \
  mvn -B -q -ntp -U -f "$consumer/aar/pom.xml" initialize -Dcurbside.repo="$local_repo" -Dcurbside.version="$version"
mvn -B -ntp -f "$consumer/pom.xml" test -Dcurbside.repo="$local_repo" -Dcurbside.version="$version" \
  -Dcurbside.libdir="${CURBSIDE_LIBDIR:-$repo/target/debug}" > "$out/consumer.log" 2>&1
consumer_rc=$?
tests=$(grep -ho '<testsuite [^>]*>' "$consumer"/target/surefire-reports/TEST-*.xml 2>/dev/null | head -n1)
ran_ok() { [ "$consumer_rc" = 0 ] && grep -q ' tests="[1-9]' <<<"$tests" && grep -q ' failures="0"' <<<"$tests" && grep -q ' errors="0"' <<<"$tests" && grep -q ' skipped="0"' <<<"$tests"; }
check "the consumer compiles against the AAR and its Robolectric test passes" ran_ok
[ "$consumer_rc" = 0 ] || tail -40 "$out/consumer.log"
echo "AAR: $aar ($(du -h "$aar" | cut -f1); no jni/: no NDK here)"
finish
