#!/usr/bin/env bash
# Times push and pull of a ~100 MB image with lade and with skopeo against a
# local Debian docker-registry, and prints medians and lade/skopeo ratios.
# Usage: sudo bench/distribution.sh [RUNS] (default 5). Needs docker-registry
# and skopeo (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_need docker-registry:docker-registry skopeo:skopeo
bench_init "${TMPDIR:-/tmp}/ladedist.XXXXXX"
bench_registry

# A 100 MB incompressible layer. Every push gets its own image (the layer
# differs by one small file), so neither tool can skip or mount a blob it
# has seen before: skopeo's blob-info cache would otherwise mount it.
mkdir -p "$work/rootfs"
head -c 100M /dev/urandom >"$work/rootfs/data"
L="$work/lade --root $work/root"
mkimage() { # NAME: import a distinct image, save it, unpack it as a layout
  echo "$1" >"$work/rootfs/id"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  $L import "$work/rootfs.tar" "$1" >/dev/null
  $L save -o "$work/$1.tar" "$1"
  mkdir -p "$work/layout-$1" && tar -C "$work/layout-$1" -xf "$work/$1.tar" && rm "$work/$1.tar"
}

declare -A res
for i in $(seq "$runs"); do
  # Fresh repositories each run, so every blob is uploaded.
  mkimage "lade$i"; mkimage "skopeo$i"
  $L tag "lade$i" "$host/lade$i/img:1"
  res[lade_push]+="$(time_it $L push "$host/lade$i/img:1")"$'\n'
  res[skopeo_push]+="$(time_it skopeo copy -q --dest-tls-verify=false "oci:$work/layout-skopeo$i" "docker://$host/skopeo$i/img:1")"$'\n'
  # The same image to a second repository: both tools remember where they
  # pushed the blobs and ask the registry to mount them.
  $L tag "lade$i" "$host/lade$i/copy:1"
  res[lade_mount]+="$(time_it $L push "$host/lade$i/copy:1")"$'\n'
  res[skopeo_mount]+="$(time_it skopeo copy -q --dest-tls-verify=false "oci:$work/layout-skopeo$i" "docker://$host/skopeo$i/copy:1")"$'\n'
  rm -rf "$work/pullroot" "$work/pulldir"
  res[lade_pull]+="$(time_it "$work/lade" --root "$work/pullroot" pull -q "$host/lade$i/img:1")"$'\n'
  res[skopeo_pull]+="$(time_it skopeo copy -q --src-tls-verify=false "docker://$host/lade$i/img:1" "oci:$work/pulldir:1")"$'\n'
done
printf '%-6s %10s %10s %8s\n' op lade_s skopeo_s ratio
for op in push mount pull; do
  l=$(printf '%s' "${res[lade_$op]}" | median)
  s=$(printf '%s' "${res[skopeo_$op]}" | median)
  printf '%-6s %10.3f %10.3f %8.2f\n' "$op" "$l" "$s" "$(echo "$l / $s" | bc -l)"
done
echo "(median of $runs runs, 100 MB incompressible layer, loopback docker-registry $(dpkg-query -W -f '${Version}' docker-registry), skopeo $(skopeo --version | awk '{print $3}'))"
