#!/usr/bin/env bash
# Times `lade run --rm IMAGE true` (on the default bridge network, and
# with --network none for the bridge's cost) against `runc run` of an OCI
# bundle made from the same busybox root filesystem, and against `docker
# run --rm IMAGE true` on docker's default bridge network (a private
# dockerd whose bridge is one this script makes, never a host's docker0,
# and which leaves iptables alone: its FORWARD policy DROP would cut off
# every other bridge; without -p docker adds no per-container rules
# anyway), RUNS times each (default 50), and prints the medians in
# milliseconds and the lade/runc and lade/docker ratios. With OLD,
# another lade binary (say one built from main), it times that one too,
# interleaved run by run on the same root, and prints its medians beside.
# The load average is printed before and after.
# Usage: sudo bench/run.sh [RUNS [OLD]]. Installs runc, docker.io and
# busybox-static when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
old=${2:-}
. bench/lib.sh
bench_need runc:runc /usr/sbin/dockerd:docker.io /usr/bin/docker:docker.io
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

# docker's default bridge: a bridge of the bench's own on a /24 that no
# route uses, removed after dockerd stopped.
bench_dockerd_bridge
"${D[@]}" import "$work/busybox.tar" busybox:bench >/dev/null

# ms prints the wall time of one run of its arguments in milliseconds.
ms() {
  local s=$EPOCHREALTIME
  "$@" >/dev/null
  local e=$EPOCHREALTIME
  echo "($e - $s) * 1000" | bc -l
}

O=("$old" --root "$work/root")
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# One warm-up each: page cache, lade's first unpack of the image.
"${L[@]}" run --rm busybox:bench true
[ -z "$old" ] || "${O[@]}" run --rm busybox:bench true
runc run --bundle "$bundle" lade-bench-warm >/dev/null
"${D[@]}" run --rm busybox:bench true
lade_t=() none_t=() runc_t=() docker_t=() old_t=() oldnone_t=()
for i in $(seq "$runs"); do
  lade_t+=("$(ms "${L[@]}" run --rm busybox:bench true)")
  none_t+=("$(ms "${L[@]}" run --rm --network none busybox:bench true)")
  if [ -n "$old" ]; then
    old_t+=("$(ms "${O[@]}" run --rm busybox:bench true)")
    oldnone_t+=("$(ms "${O[@]}" run --rm --network none busybox:bench true)")
  fi
  runc_t+=("$(ms runc run --bundle "$bundle" "lade-bench-$i")")
  docker_t+=("$(ms "${D[@]}" run --rm busybox:bench true)")
done
l=$(printf '%s\n' "${lade_t[@]}" | median)
n=$(printf '%s\n' "${none_t[@]}" | median)
r=$(printf '%s\n' "${runc_t[@]}" | median)
d=$(printf '%s\n' "${docker_t[@]}" | median)
bench_pair ms 1 "lade run --rm IMAGE true (bridge)" "$l" "runc run (bundle, true)" "$r" lade/runc
printf '%-40s %9.1f\n' "docker run --rm IMAGE true (bridge)" "$d"
printf '%s %.2f\n' lade/docker "$(echo "$l / $d" | bc -l)"
printf '%-40s %9.1f\n' "lade run --rm --network none IMAGE true" "$n"
if [ -n "$old" ]; then
  ol=$(printf '%s\n' "${old_t[@]}" | median)
  on=$(printf '%s\n' "${oldnone_t[@]}" | median)
  bench_pair ms 1 "bridge: this lade" "$l" "OLD lade" "$ol" new/old
  bench_pair ms 1 "--network none: this lade" "$n" "OLD lade" "$on" new/old
fi
echo "(median of $runs runs each; $(nproc) CPUs, Linux $(uname -r), $(runc --version | head -1), $("${D[@]}" version --format 'docker {{.Server.Version}}'))"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# The bench root's default bridge and nftables table (see network.Open).
ip link del "$("${L[@]}" network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')" 2>/dev/null || true
nft delete table ip "lade-$(printf %s "$work/root/networks" | sha256sum | cut -c1-8)" 2>/dev/null || true
