#!/usr/bin/env bash
# Installs what building the Rust workspace needs beyond Rust itself, from Debian, if missing:
# nasm (libjpeg-turbo's SIMD, built from source by turbojpeg-sys) and cmake (its build).
# Used by both README commands (cli/demo and tests/run), so each works on a fresh machine.
set -euo pipefail
missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
[ ${#missing[@]} = 0 ] && exit 0
echo "installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
