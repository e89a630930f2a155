#!/usr/bin/env bash
# Installs what lade's tests need on a fresh Debian machine and runs them.
# Tests that need root, overlayfs or namespaces skip with a message
# elsewhere; as root here they all run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
gobin=$(go env GOPATH)/bin
# cosign, the outside verifier of lade's signatures (and signer of the ones
# lade verifies): the newest v2 whose go.mod this Go accepts. A first build
# takes minutes (it links cloud KMS clients), so it runs in the background
# beside the installs, vet and fuzzing; the suite waits for it. Later runs
# find the binary.
cosign_pid=
if [ ! -x "$gobin/cosign" ]; then
  cosign_log=$(mktemp)
  GOBIN=$gobin go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 >"$cosign_log" 2>&1 &
  cosign_pid=$!
fi
# docker compose v5, the current compose the lade serve tests drive
# beside Debian's docker-compose 1.29. Its go.mod has exclude directives,
# which go install pkg@version refuses, so it builds in a scratch module;
# a first build takes minutes, in the background beside cosign's.
compose_pid=
if [ ! -x "$gobin/docker-compose-v5" ]; then
  compose_log=$(mktemp)
  (
    d=$(mktemp -d)
    cd "$d"
    go mod init lade.test/compose
    go get github.com/docker/compose/v5/cmd@v5.6.0
    go build -ldflags "-X github.com/docker/compose/v5/internal.Version=v5.6.0" -o "$gobin/docker-compose-v5" github.com/docker/compose/v5/cmd
    rm -rf "$d"
  ) >"$compose_log" 2>&1 &
  compose_pid=$!
fi
need=()
for p in busybox-static file skopeo docker-registry docker.io jq openssh-client xz-utils bzip2 zstd isal qemu-user-static binfmt-support uidmap git slirp4netns iptables python3-docker docker-compose; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
fi
# Rootless networking (slirp4netns) opens /dev/net/tun as the user: udev
# makes it 0666 on Debian, a container's /dev may have it 0600.
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then chmod 0666 /dev/net/tun; fi
# Debian's arm64 busybox-static beside the host's, for the two-platform
# test base (testutil.BusyboxMulti) at a path the tests know.
scripts/busybox-arm64.sh
# Client tools the interop tests drive, pinned: crane at the version go.mod
# pins for go-containerregistry. Tests never install anything; under CI a
# missing tool fails its test instead of skipping it.
[ -x "$gobin/crane" ] || GOBIN=$gobin go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
export PATH=$PATH:$gobin
# qemu-user-static runs the arm64 busybox (runner/binfmt); its handlers
# need binfmt_misc, which a container's /proc may not have mounted.
if [ "$(id -u)" = 0 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
fi
go vet ./...
# Nothing may assume an amd64 host: the module, tests included, builds for arm64.
GOARCH=arm64 go build ./...
GOARCH=arm64 go vet ./...
# The arch-dependent pure pieces' tests as arm64 programs, through qemu.
GOARCH=arm64 go test -count=1 ./runner/seccomp ./runner/binfmt
# The build's platform pieces on an arm64 host: BUILDPLATFORM, the platform
# args, keys and RUN platforms of a two-platform build (no root needed).
GOARCH=arm64 go test -count=1 -run 'Platform' ./solver
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
# Each fuzz target briefly, from its seed corpus in testdata/fuzz (a longer
# run: FUZZTIME=60s ./scripts/test.sh). The default is a count of inputs,
# not a duration: Go 1.26's coordinator can fail a run that ends on a
# deadline with a bare "context deadline exceeded" and no input (Go issue
# 75804, fixed in 1.27), which a loaded CI machine hits. No minimising: on
# tar-sized inputs Go's minimiser takes all the time and runs almost no
# new input; a crashing input is still written to testdata/fuzz.
for t in ./parser:FuzzParse ./fileop:FuzzMatcher ./images:FuzzLoadMetadata ./snapshot:FuzzApply; do
  go test -run '^$' -fuzz "^${t#*:}\$" -fuzztime "${FUZZTIME:-4000x}" -fuzzminimizetime 0 "${t%%:*}"
done
# The whole suite, once, under the race detector (the lade binary the CLI
# and hardening tests build stays uninstrumented; their drivers are not).
# One pass, not a plain one and a race one: the race pass runs every test
# the plain one does, and the second pass doubled CI's time. cmd/lade
# (whose tests drive cosign and compose v5) runs once both are built, beside hardening,
# the other long package; the rest run beside cosign's and compose's
# builds.
last='/cmd/lade$|/hardening$'
go test -count=1 -race -timeout 30m "$@" $(go list ./... | grep -Ev "$last")
# waitInstall PID LOG NAME: the background install PID (if any) ended
# well, or the run fails with its log.
waitInstall() {
  if [ -n "$1" ] && ! wait "$1"; then
    cat "$2"
    echo "installing $3 failed" >&2
    exit 1
  fi
}
waitInstall "$cosign_pid" "${cosign_log:-}" cosign
waitInstall "$compose_pid" "${compose_log:-}" docker-compose-v5
go test -count=1 -race -timeout 30m "$@" $(go list ./... | grep -E "$last")
