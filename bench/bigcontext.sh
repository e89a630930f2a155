#!/usr/bin/env bash
# Times the no-op rebuild of a 100,000-file context (COPY . /src) against
# one single-threaded stat walk of the same tree (find -printf reading each
# file's size and mtime), interleaved, and prints medians and the ratio.
# Usage: sudo bench/bigcontext.sh [RUNS] (default 5). LADE_BIN=PATH times
# another lade binary as well (e.g. an older build), on its own root.
# lade only: no daemon, no registry, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/ladebigctx.XXXXXX"
tar=$(scripts/mkbusybox.sh "$work/busybox.tar")
bins=(now)
declare -A bin=([now]=$work/lade)
if [ -n "${LADE_BIN:-}" ]; then bins+=(other) bin[other]=$LADE_BIN; fi

bench_bigctx "$work/ctx"
b() { "${bin[$1]}" --root "$work/root-$1" build -q -t big "$work/ctx"; }
walk() { find "$work/ctx" -printf '%s %T@\n' >/dev/null; }
for k in "${bins[@]}"; do
  "${bin[$k]}" --root "$work/root-$k" import "$tar" busybox:latest >/dev/null
  b "$k" >/dev/null # the first build fills the cache
done
declare -A res
for _ in $(seq "$runs"); do
  t walk walk
  for k in "${bins[@]}"; do t "$k" b "$k"; done
done
w=$(printf '%s' "${res[walk]}" | median)
printf '%-22s %8s %8s\n' what median_s ratio
printf '%-22s %8.3f %8s\n' "stat walk (find)" "$w" 1.00
for k in "${bins[@]}"; do
  m=$(printf '%s' "${res[$k]}" | median)
  printf '%-22s %8.3f %8.2f\n' "no-op rebuild ($k)" "$m" "$(echo "$m / $w" | bc -l)"
done
echo "(medians of $runs, interleaved; 100,000 files; load average $(cut -d' ' -f1-3 /proc/loadavg))"
