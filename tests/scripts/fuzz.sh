#!/usr/bin/env bash
# Coverage-guided fuzzing of what Curbside reads from the outside world: photos, Open311
# answers, city profiles and the CLI's arguments (targets in tests/fuzz/fuzz_targets).
#   tests/scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every target)
# Needs nightly Rust (rustup) and cargo-fuzz (installed from crates.io when missing). Says so
# and exits 2 when the toolchain is missing, instead of passing. Prints one line per target
# (runs, crashes) and exits 1 if any target crashed; crash inputs land in tests/fuzz/artifacts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(photo open311_answer city_profile cli_args)
cache="${CURBSIDE_CACHE:-$HOME/.cache/curbside}"
# The fuzzers build with their own flags, in a folder of their own outside the clone.
export CARGO_TARGET_DIR="$cache/fuzz-target"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: nightly Rust is missing (rustup toolchain install nightly): nothing was fuzzed" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked >&2 || { echo "fuzz: cannot install cargo-fuzz: nothing was fuzzed" >&2; exit 2; }
fi

# Seeds: the real server answers kept as fixtures, a sample profile, a camera-like photo.
seeds="$cache/fuzz-seeds"
mkdir -p "$seeds"/{photo,open311_answer,city_profile,cli_args}
cp "$repo"/core/tests/fixtures/open311/* "$seeds/open311_answer/" 2>/dev/null || true
printf '{"id":"springfield","name":"Springfield 311","server":{"endpoint":"https://311.springfield.example/open311/v2/"},"photos":{"max_edge":2048},"service_area":{"type":"Polygon","coordinates":[[[-77.1,38.85],[-77.0,38.85],[-77.0,38.95],[-77.1,38.85]]]}}' \
  > "$seeds/city_profile/springfield.json"
printf 'report\0--service\0pothole\0--lat\x0038.9\0--long\0-77\0--attr\0WHERE=road' > "$seeds/cli_args/report"
curbside="$cache/target/debug/curbside"   # built by tests/run or cli/demo, when there
if [ ! -f "$seeds/photo/camera.jpg" ] && [ -x "$curbside" ]; then
  "$curbside" sample-photo "$seeds/photo/camera.jpg" --width 320 --height 240 --orientation 6 --gps 38.9,-77.03 >/dev/null
fi

status=0
summary=()
for target in "${targets[@]}"; do
  corpus="$cache/fuzz-corpus/$target"
  mkdir -p "$corpus"
  log="$cache/fuzz-$target.log"
  echo "fuzz: $target for ${seconds}s" >&2
  if cargo +nightly fuzz run --fuzz-dir "$repo/tests/fuzz" "$target" "$corpus" "$seeds/$target" -- \
       -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 >"$log" 2>&1; then
    crashes=0
  else
    crashes=1
    status=1
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n1)
  summary+=("fuzz $target: ${runs:-0} runs in ${seconds}s, $crashes crash(es)")
  [ "$crashes" = 0 ] || tail -n 30 "$log" >&2
done
printf '%s\n' "${summary[@]}"
exit "$status"
