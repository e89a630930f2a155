#!/usr/bin/env bash
# Times `lade pull` of one image into an empty root with this checkout's
# lade and with OLD's (a git ref, default main), interleaved, against
# skopeo copying the blobs to a directory, and skopeo copy followed by
# extracting the layers with tar. Prints medians, ratios and the load.
# Usage: sudo bench/pull.sh [RUNS] [OLD]   (default 7 main)
# IMAGE (default 127.0.0.1:5000/debian:bookworm) must be served over plain
# http on loopback; /work/shared/testenv/up.sh with WITH_DEBIAN=1 serves it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
old=${2:-main}
image=${IMAGE:-127.0.0.1:5000/debian:bookworm}
. bench/lib.sh
bench_need skopeo:skopeo /usr/bin/time:time igzip:isal
bench_init "${TMPDIR:-/tmp}/ladepull.XXXXXX"
if ! curl -fs "http://${image%%/*}/v2/" >/dev/null; then
  echo "bench: no registry at ${image%%/*} (see the usage above)" >&2
  exit 1
fi
mkdir "$work/old"
git archive "$old" | tar -x -C "$work/old"
(cd "$work/old" && CGO_ENABLED=0 go build -o "$work/lade-old" ./cmd/lade)
mv "$work/lade" "$work/lade-new"

# Each case starts from empty directories, removed before the clock starts.
clean() { rm -rf "$work/root" "$work/dir" "$work/rootfs"; sync; }
pull() { # VERSION: pull into an empty root, its CPU seconds (igzip's too) to res[cpu-VERSION]
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$work/lade-$1" --root "$work/root" pull -q "$image"
  res[cpu-$1]+="$(awk '{print $1 + $2}' "$work/cpu")"$'\n'
}
skopeo_dir() {
  skopeo copy -q --src-tls-verify=false "docker://$image" "dir:$work/dir"
}
skopeo_untar() { # the blobs, then every layer extracted in order
  skopeo_dir
  mkdir "$work/rootfs"
  python3 -c 'import json,sys; [print(l["digest"].split(":")[1]) for l in json.load(open(sys.argv[1]))["layers"]]' \
    "$work/dir/manifest.json" | while read -r l; do tar -xzf "$work/dir/$l" -C "$work/rootfs"; done
}

declare -A res
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  # Alternate who goes first, so neither always gets the warmer cache.
  if ((i % 2)); then order="old new"; else order="new old"; fi
  for v in $order; do clean && t "pull-$v" pull "$v"; done
  clean && t pull-skopeo skopeo_dir
  clean && t pull-skopeo+tar skopeo_untar
  printf 'run %d: old %.2f new %.2f skopeo %.2f skopeo+tar %.2f s, load %s\n' "$i" \
    "$(tail -n2 <<<"${res[pull-old]}" | head -1)" "$(tail -n2 <<<"${res[pull-new]}" | head -1)" \
    "$(tail -n2 <<<"${res[pull-skopeo]}" | head -1)" "$(tail -n2 <<<"${res[pull-skopeo+tar]}" | head -1)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
o=$(printf '%s' "${res[pull-old]}" | median)
n=$(printf '%s' "${res[pull-new]}" | median)
s=$(printf '%s' "${res[pull-skopeo]}" | median)
x=$(printf '%s' "${res[pull-skopeo+tar]}" | median)
printf '%-34s %9s\n' case median_s
printf '%-34s %9.3f\n' "lade pull ($old)" "$o" "lade pull (this checkout)" "$n" \
  "skopeo copy to dir:" "$s" "skopeo copy + tar -x of its layers" "$x"
printf '%-34s %9.3f\n' "lade pull ($old), CPU s" "$(printf '%s' "${res[cpu-old]}" | median)" \
  "lade pull (this checkout), CPU s" "$(printf '%s' "${res[cpu-new]}" | median)"
printf 'new/old %.2f  new/skopeo %.2f  new/(skopeo+tar) %.2f\n' \
  "$(echo "$n / $o" | bc -l)" "$(echo "$n / $s" | bc -l)" "$(echo "$n / $x" | bc -l)"
echo "(median of $runs interleaved runs of $image, skopeo $(skopeo --version | awk '{print $3}'))"
