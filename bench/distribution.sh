#!/usr/bin/env bash
# Times push and pull of a ~100 MB image with lade and with skopeo against a
# local Debian docker-registry, and prints medians and lade/skopeo ratios.
# Usage: sudo bench/distribution.sh [RUNS] (default 5). Needs docker-registry
# and skopeo (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
export PATH=$PATH:/usr/local/go/bin
for p in docker-registry skopeo; do
  command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
work=$(mktemp -d)
reg_pid=
trap '[ -n "$reg_pid" ] && kill "$reg_pid"; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/lade" ./cmd/lade
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host=127.0.0.1:$port
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $host}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$host/v2/" >/dev/null && break; sleep 0.1; done

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

now() { date +%s.%N; }
time_it() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo "$(now) - $t0" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

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
