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
bench_case2
export SOURCE_DATE_EPOCH=0 # the same image with and without the check
L build -q -t ctx "$work/ctx" >/dev/null

declare -A res
for i in $(seq "$runs"); do
  echo "run $i/$runs" >&2
  t cold-plain L build -q --no-cache -t ctx "$work/ctx"
  t cold-verify L build -q --no-cache --verify-repro -t ctx "$work/ctx"
  t cached-plain L build -q -t ctx "$work/ctx"
  t cached-verify L build -q --verify-repro -t ctx "$work/ctx"
done
bench_pairs plain verify cold cached
echo "(medians of $runs, interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg))"
