#!/usr/bin/env bash
# Times the no-op rebuild of a 10,000 file / 100 MB context (COPY . /src and
# one RUN) with lade and with docker's BuildKit, and prints medians.
# Usage: sudo bench/rebuild.sh [RUNS] (default 5). Needs docker.io and
# docker-registry (installed with apt-get when missing); always starts its
# own dockerd on a private socket and data root.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_need docker-registry:docker-registry /usr/bin/docker:docker.io /usr/sbin/dockerd:docker.io
bench_init "${TMPDIR:-/tmp}/laderebuild.XXXXXX"
L="$work/lade --root $work/root"

# Always a private docker engine, never a user's: the bench deletes images.
bench_dockerd
export DOCKER_HOST=unix://$sock

# An offline busybox base image served by a loopback registry, so both
# builders start from the same bytes without the internet.
bench_registry
$L import "$(scripts/mkbusybox.sh "$work/busybox.tar")" "$host/busybox:latest" >/dev/null
$L push "$host/busybox:latest" >/dev/null 2>&1

# The context: 10,000 files of 10 KiB of random bytes in 100 dirs.
bench_randtree "$work/ctx" 3
cat >"$work/ctx/Dockerfile" <<EOF
FROM $host/busybox:latest
COPY . /src
RUN find /src -type f | wc -l > /count
EOF

lade_build() { $L build -t bench "$work/ctx"; }
docker_build() { DOCKER_BUILDKIT=1 /usr/bin/docker build --network host -t lade-bench-rebuild "$work/ctx"; }

# Cold builds first (timed once, for reference), then the no-op rebuilds.
cold_lade=$(time_it lade_build)
cold_docker=$(time_it docker_build)
lade_build >/dev/null 2>&1 || { echo "lade build failed" >&2; lade_build; exit 1; }
docker_build >/dev/null 2>&1 || { echo "docker build failed" >&2; docker_build; exit 1; }
l= d=
for _ in $(seq "$runs"); do
  l+="$(time_it lade_build)"$'\n'
  d+="$(time_it docker_build)"$'\n'
done
/usr/bin/docker rmi lade-bench-rebuild >/dev/null 2>&1 || true
lm=$(printf '%s' "$l" | median)
dm=$(printf '%s' "$d" | median)
printf '%-14s %10s %10s %8s\n' build lade_s docker_s ratio
printf '%-14s %10.3f %10.3f %8.2f\n' cold "$cold_lade" "$cold_docker" "$(echo "$cold_lade / $cold_docker" | bc -l)"
printf '%-14s %10.3f %10.3f %8.2f\n' no-op-rebuild "$lm" "$dm" "$(echo "$lm / $dm" | bc -l)"
echo "(median of $runs no-op rebuilds; cold = one first build; 10,000 files / 100 MB context; docker $(/usr/bin/docker version -f '{{.Server.Version}}'), BuildKit via DOCKER_BUILDKIT=1)"
