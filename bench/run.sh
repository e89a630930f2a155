#!/usr/bin/env bash
# Times `lade run --rm IMAGE true` (on the default bridge network, and
# with --network none for the bridge's cost) against `runc run` of an OCI bundle made
# from the same busybox root filesystem, RUNS times each (default 50), and
# prints both medians in milliseconds and the lade/runc ratio.
# Usage: sudo bench/run.sh [RUNS]. Installs runc and busybox-static when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
. bench/lib.sh
bench_need runc:runc
bench_init /var/tmp/laderun.XXXX
scripts/mkbusybox.sh "$work/busybox.tar" >/dev/null

L=("$work/lade" --root "$work/root")
"${L[@]}" import "$work/busybox.tar" busybox:bench >/dev/null

bundle=$work/bundle
mkdir -p "$bundle/rootfs"
tar -xf "$work/busybox.tar" -C "$bundle/rootfs"
(cd "$bundle" && runc spec)
jq '.process.args = ["true"] | .process.terminal = false' "$bundle/config.json" >"$bundle/config.new"
mv "$bundle/config.new" "$bundle/config.json"

# ms prints the wall time of one run of its arguments in milliseconds.
ms() {
  local s=$EPOCHREALTIME
  "$@" >/dev/null
  local e=$EPOCHREALTIME
  echo "($e - $s) * 1000" | bc -l
}

# One warm-up each: page cache, lade's first unpack of the image.
"${L[@]}" run --rm busybox:bench true
runc run --bundle "$bundle" lade-bench-warm >/dev/null
lade_t=() none_t=() runc_t=()
for i in $(seq "$runs"); do
  lade_t+=("$(ms "${L[@]}" run --rm busybox:bench true)")
  none_t+=("$(ms "${L[@]}" run --rm --network none busybox:bench true)")
  runc_t+=("$(ms runc run --bundle "$bundle" "lade-bench-$i")")
done
l=$(printf '%s\n' "${lade_t[@]}" | median)
n=$(printf '%s\n' "${none_t[@]}" | median)
r=$(printf '%s\n' "${runc_t[@]}" | median)
bench_pair ms 1 "lade run --rm IMAGE true (bridge)" "$l" "runc run (bundle, true)" "$r" lade/runc
printf '%-40s %9.1f\n' "lade run --rm --network none IMAGE true" "$n"
echo "(median of $runs runs each; $(nproc) CPUs, Linux $(uname -r), $(runc --version | head -1))"
# The bench root's default bridge and nftables table (see network.Open).
ip link del "$("${L[@]}" network ls --filter type=builtin --format '{{.Bridge}}')" 2>/dev/null || true
nft delete table ip "lade-$(printf %s "$work/root/networks" | sha256sum | cut -c1-8)" 2>/dev/null || true
