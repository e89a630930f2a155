#!/usr/bin/env bash
# Times what --verify-repro costs on the bench build's context (bench/build.sh
# case 2: 10,000 incompressible 10 KiB files, COPY . /src, RUN true), each
# pair interleaved: a --no-cache build with and without --verify-repro, and
# a cached rebuild with and without it (the check still builds once from
# scratch). Prints medians and the ratios.
# Usage: sudo bench/repro.sh [RUNS] (default 5). lade only: no daemon, no
# registry, no network (the base image is imported).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/laderepro.XXXXXX"
tar=$(scripts/mkbusybox.sh "$work/busybox.tar")
L() { "$work/lade" --root "$work/root" "$@"; }
L import "$tar" busybox:latest >/dev/null
mkdir -p "$work/ctx"
printf 'FROM busybox:latest\nCOPY . /src\nRUN true\n' >"$work/ctx/Dockerfile"
bench_randtree "$work/ctx"
export SOURCE_DATE_EPOCH=0 # the same image with and without the check
L build -q -t ctx "$work/ctx" >/dev/null

declare -A res
for i in $(seq "$runs"); do
  echo "run $i/$runs" >&2
  t cold_plain L build -q --no-cache -t ctx "$work/ctx"
  t cold_verify L build -q --no-cache --verify-repro -t ctx "$work/ctx"
  t cached_plain L build -q -t ctx "$work/ctx"
  t cached_verify L build -q --verify-repro -t ctx "$work/ctx"
done
printf '%-8s %10s %10s %8s\n' build plain_s verify_s ratio
for k in cold cached; do
  p=$(printf '%s' "${res[${k}_plain]}" | median)
  v=$(printf '%s' "${res[${k}_verify]}" | median)
  printf '%-8s %10.3f %10.3f %8.2f\n' "$k" "$p" "$v" "$(echo "$v / $p" | bc -l)"
done
echo "(medians of $runs, interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg))"
