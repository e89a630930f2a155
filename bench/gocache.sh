#!/usr/bin/env bash
# Times the rebuild of a one-line change in a Go module built with the
# cache-mount pattern under WORKDIR, with lade and with docker's BuildKit
# (DOCKER_BUILDKIT=1 /usr/bin/docker 20.10), and prints medians and the
# lade/BuildKit ratio. Usage: sudo bench/gocache.sh [RUNS] (default 5).
#
# Offline: the Go base image is Debian's static busybox plus a copy of the
# host's /usr/local/go, imported into lade and into a dockerd this script
# starts on its own socket and data root (it never talks to another
# daemon). Installs docker.io and busybox-static with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
export DOCKER_BUILDKIT=1
bench_need /usr/bin/docker:docker.io /usr/sbin/dockerd:docker.io
goroot=${GOROOT_FOR_IMAGE:-/usr/local/go}
file -L "$goroot/bin/go" | grep -q 'statically linked' || { echo "gocache: $goroot/bin/go is not static" >&2; exit 1; }

bench_init /var/tmp/ladegocache.XXXX
load0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_dockerd

# The base image: busybox + the Go toolchain (without its tests and docs).
./scripts/mkbusybox.sh "$work/busybox.tar" >/dev/null
mkdir -p "$work/rootfs/usr/local"
tar -xf "$work/busybox.tar" -C "$work/rootfs"
cp -a "$goroot" "$work/rootfs/usr/local/go"
rm -rf "$work/rootfs/usr/local/go/test" "$work/rootfs/usr/local/go/api" "$work/rootfs/usr/local/go/doc"
find "$work/rootfs/usr/local/go/src" -type d -name testdata -prune -exec rm -rf {} +
tar --sort=name --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/gobase.tar" .
rm -rf "$work/rootfs"
base=gocache-bench/go:1
L() { "$work/lade" --root "$work/lroot" "$@"; }
L import "$work/gobase.tar" "$base" >/dev/null
"${D[@]}" import "$work/gobase.tar" "$base" >/dev/null

# The project: a small stdlib-only service in a few packages.
ctx=$work/ctx
mkdir -p "$ctx/internal/store" "$ctx/internal/api"
cat >"$ctx/go.mod" <<'EOF'
module example.com/svc

go 1.21
EOF
cat >"$ctx/internal/store/store.go" <<'EOF'
package store

import (
	"database/sql/driver"
	"encoding/json"
	"sync"
)

type Item struct {
	ID   int             `json:"id"`
	Name string          `json:"name"`
	Tags json.RawMessage `json:"tags"`
}

type Store struct {
	mu    sync.Mutex
	items map[int]Item
}

func New() *Store { return &Store{items: map[int]Item{}} }

func (s *Store) Put(it Item) { s.mu.Lock(); s.items[it.ID] = it; s.mu.Unlock() }

var _ driver.Valuer = nil
EOF
cat >"$ctx/internal/api/api.go" <<'EOF'
package api

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"text/template"

	"example.com/svc/internal/store"
)

var _ = tls.Config{}
var page = template.Must(template.New("p").Parse("{{.}}"))

func Handler(s *store.Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		var it store.Item
		if err := json.NewDecoder(r.Body).Decode(&it); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.Put(it)
		_ = page.Execute(w, it.Name)
	})
	return mux
}
EOF
cat >"$ctx/main.go" <<'EOF'
package main

import (
	"log"
	"net/http"

	"example.com/svc/internal/api"
	"example.com/svc/internal/store"
)

const version = "v0"

func main() {
	log.Printf("svc %s", version)
	log.Fatal(http.ListenAndServe(":8080", api.Handler(store.New())))
}
EOF
cat >"$ctx/Dockerfile" <<EOF
FROM $base
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    GOPATH=/go GOCACHE=/root/.cache/go-build CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \\
    go build -o /out/svc .
EOF

declare -A res
edit() { sed -i "s/^const version = .*/const version = \"$1\"/" "$ctx/main.go"; }
lbuild() { L build -q -t gocache-bench/svc "$ctx"; }
dbuild() { "${D[@]}" build -q --network host -t gocache-bench/svc "$ctx"; }

# Cold builds fill each tool's cache mounts (standard library and all).
t lade_cold lbuild
t bk_cold dbuild
# Each rebuild changes one line; the tools alternate so drift hits both.
for i in $(seq "$runs"); do
  edit "rebuild-lade-$i"; t lade lbuild
  edit "rebuild-bk-$i"; t bk dbuild
done
# Each tool's last image must hold the binary of its last edit.
L run --rm gocache-bench/svc grep -q "rebuild-lade-$runs" /out/svc ||
  { echo "gocache: lade's image does not hold the edited binary" >&2; exit 1; }
"${D[@]}" run --rm --network none gocache-bench/svc grep -q "rebuild-bk-$runs" /out/svc ||
  { echo "gocache: BuildKit's image does not hold the edited binary" >&2; exit 1; }

l=$(median <<<"${res[lade]}") b=$(median <<<"${res[bk]}")
lc=$(median <<<"${res[lade_cold]}") bkc=$(median <<<"${res[bk_cold]}")
printf '%-22s %8s %8s %7s\n' case lade_s bk_s ratio
printf '%-22s %8.2f %8.2f %7.2f\n' "cold build" "$lc" "$bkc" "$(echo "$lc / $bkc" | bc -l)"
printf '%-22s %8.2f %8.2f %7.2f\n' "one-line rebuild" "$l" "$b" "$(echo "$l / $b" | bc -l)"
echo "(rebuild: median of $runs interleaved runs; cold: one run; $(go version | cut -d' ' -f3), docker $("${D[@]}" version -f '{{.Server.Version}}'); load before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg))"
