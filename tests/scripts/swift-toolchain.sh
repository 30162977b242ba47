#!/usr/bin/env bash
# Makes a Swift toolchain available and prints the command prefix that runs it.
# - `swiftc` on the PATH (macOS, or a Linux with Swift): prints nothing, use it directly.
# - Otherwise (Debian 12): a Debian 13 ("trixie") folder made with debootstrap, with
#   `swiftlang` installed, cached under $CURBSIDE_CACHE/trixie; prints its path.
# Logs go to stderr; stdout is only the result.
set -euo pipefail
cache="${CURBSIDE_CACHE:-$HOME/.cache/curbside}"
root="$cache/trixie"

if command -v swiftc >/dev/null 2>&1; then
  exit 0
fi

if [ -x "$root/usr/bin/swiftc" ] && [ -f "$root/.curbside-ready" ]; then
  echo "$root"
  exit 0
fi

log() { echo "[swift-toolchain] $*" >&2; }

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi

# Use the Debian mirror this machine's own apt sources name.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | grep -vE '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian/? ' \
  | tr -d ' ' | head -n1 || true)
mirror="${mirror:-http://deb.debian.org/debian}"

rm -rf "$root"
mkdir -p "$cache"
log "debootstrap trixie from $mirror into $root (about a minute)"
debootstrap --variant=minbase trixie "$root" "$mirror" >&2
mountpoint -q "$root/proc" || mount --bind /proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
chroot "$root" apt-get update -qq >&2
log "installing swiftlang in the trixie folder"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang libc6-dev >&2
chroot "$root" apt-get clean >&2
touch "$root/.curbside-ready"
echo "$root"
