#!/usr/bin/env bash
# Builds lade, makes an offline busybox base image, builds examples/hello
# with it and runs the result. Needs root (namespaces and overlayfs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export LADE_ROOT=${LADE_ROOT:-/var/lib/lade}
# static: no loader or libc start in each RUN step; the commit is what
# `lade --version` prints after "build"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
CGO_ENABLED=0 go build -ldflags "-X github.com/lade-build/lade/sysinfo.commit=$commit" -o bin/lade ./cmd/lade
tarball=$(./scripts/mkbusybox.sh "$(mktemp -d)/busybox-rootfs.tar")
./bin/lade import "$tarball" busybox:latest
./bin/lade build -t hello examples/hello
./bin/lade images
./bin/lade run --rm hello
