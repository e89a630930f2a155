#!/usr/bin/env bash
# Puts Debian's arm64 busybox-static at /var/cache/lade-test/busybox-arm64
# (the two-platform test and bench base: testutil.BusyboxMulti,
# bench/multiplatform.sh) unless it is there; needs root.
set -euo pipefail
bbarm=/var/cache/lade-test/busybox-arm64
if [ ! -x "$bbarm" ] && [ "$(id -u)" = 0 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq >/dev/null
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1 && dpkg-deb -x busybox-static_*_arm64.deb x)
  install -D -m 0755 "$tmp/x/bin/busybox" "$bbarm"
  rm -rf "$tmp"
fi
