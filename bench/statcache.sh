#!/usr/bin/env bash
# Times a small context's no-op rebuild and one-file edit in a fresh root
# and in a root whose stat cache saw a 100,000-file context, interleaved,
# and prints medians and the ratio; then what `cache prune` leaves.
# Usage: sudo bench/statcache.sh [RUNS] (default 5). LADE_BIN=PATH times
# another lade binary (e.g. an older build) instead of the checkout's.
# lade only: no daemon, no registry, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/ladestatcache.XXXXXX"
lade=${LADE_BIN:-$work/lade}
tar=$(scripts/mkbusybox.sh "$work/busybox.tar")
for r in fresh seen; do
  "$lade" --root "$work/$r" import "$tar" busybox:latest >/dev/null
done

# Fill the "seen" root's stat cache: 100,000 files of a few bytes.
bench_bigctx "$work/big"
"$lade" --root "$work/seen" build -q -t big "$work/big" >/dev/null

# The small context: 20 files.
mkdir -p "$work/small"
for i in $(seq 20); do echo "$i" >"$work/small/f$i"; done
printf 'FROM busybox:latest\nCOPY . /src\n' >"$work/small/Dockerfile"
b() { "$lade" --root "$work/$1" build -q -t small "$work/small"; }
b fresh >/dev/null && b seen >/dev/null
declare -A res
for i in $(seq "$runs"); do
  for r in fresh seen; do t "noop-$r" b "$r"; done
  echo "edit $i" >"$work/small/f1" # the same edit, seen by both roots
  for r in fresh seen; do t "edit-$r" b "$r"; done
done
bench_pairs fresh seen noop edit
echo "(medians of $runs, interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg))"
sc() { du -sb "$work/seen/cache/statcache" "$work/seen/cache/statcache.json" 2>/dev/null | awk '{n+=$1} END {print n+0}'; }
echo "seen root's stat cache: $(sc) bytes; after cache prune --min-age 0s: $(
  "$lade" --root "$work/seen" cache prune -f --min-age 0s >/dev/null
  sc
) bytes"
