#!/usr/bin/env bash
# What the default seccomp filter costs: times `lade run --rm IMAGE true`
# (container start) and a syscall-bound `dd bs=1` (1M read/write calls)
# with the default filter and with --security-opt seccomp=unconfined,
# alternating, and prints medians in ms. Usage: sudo bench/seccomp.sh [RUNS]
# (default 15). Installs busybox-static when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
. bench/lib.sh
bench_need /bin/busybox:busybox-static
bench_init /var/tmp/ladeseccomp.XXXX
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
L=("$work/lade" --root "$work/root")
"${L[@]}" import "$work/rootfs.tar" bench-busybox >/dev/null

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }

declare -A times
for kind in start dd; do
  cmd=(true)
  [ "$kind" = dd ] && cmd=(dd if=/dev/zero of=/dev/null bs=1 count=500000)
  "${L[@]}" run --rm bench-busybox "${cmd[@]}" >/dev/null 2>&1 # warm up
  for _ in $(seq "$runs"); do
    times[$kind-default]+="$(ms "${L[@]}" run --rm bench-busybox "${cmd[@]}") "
    times[$kind-unconfined]+="$(ms "${L[@]}" run --rm --security-opt seccomp=unconfined bench-busybox "${cmd[@]}") "
  done
done
for kind in start dd; do
  d=$(tr ' ' '\n' <<<"${times[$kind-default]}" | grep . | median)
  u=$(tr ' ' '\n' <<<"${times[$kind-unconfined]}" | grep . | median)
  echo "$kind: default filter ${d} ms, unconfined ${u} ms (median of $runs)"
done
