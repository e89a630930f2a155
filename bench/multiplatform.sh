#!/usr/bin/env bash
# Times a two-platform build (linux/amd64,linux/arm64) against the sum of
# the two single-platform builds, each cold (an empty lade root, the base
# pulled from a local registry, exported to an OCI tar), and prints the
# medians and the ratio; then tries the same with docker's BuildKit.
# Two Dockerfiles: build.sh's (COPY of a 100 MB, 10,000-file context, RUN
# true), and the cross-compile pattern, whose FROM
# --platform=$BUILDPLATFORM stage (gzip of that context) the two-platform
# build runs once. arm64 RUN steps run under qemu-user through binfmt_misc.
# Usage: sudo bench/multiplatform.sh [RUNS] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. bench/lib.sh
export DOCKER_BUILDKIT=1
bench_need /usr/sbin/dockerd:docker.io /usr/bin/docker:docker.io docker-registry:docker-registry qemu-aarch64-static:qemu-user-static
./scripts/busybox-arm64.sh
bbarm=/var/cache/lade-test/busybox-arm64
bench_init /var/tmp/ladebench-mp.XXXX
load0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_registry

# The two-platform busybox base, made and pushed by lade itself: a scratch
# image whose COPY takes the target's rootfs.
base=$host/bench/busybox:multi
mkdir -p "$work/base/amd64" "$work/base/arm64"
./scripts/mkbusybox.sh "$work/busybox.tar" >/dev/null
tar -xf "$work/busybox.tar" -C "$work/base/amd64"
tar -xf "$work/busybox.tar" -C "$work/base/arm64"
cp "$bbarm" "$work/base/arm64/bin/busybox"
printf 'FROM scratch\nARG TARGETARCH\nCOPY $TARGETARCH/ /\nCMD ["sh"]\n' >"$work/base/Dockerfile"
"$work/lade" --root "$work/seed" build -q --platform linux/amd64,linux/arm64 -t "$base" --push "$work/base" >/dev/null

mk() { mkdir -p "$work/$1"; cat >"$work/$1/Dockerfile"; }
bench_randtree "$work/ctx"
printf 'FROM %s\nCOPY . /src\nRUN true\n' "$base" | mk ctx
cp -r "$work/ctx" "$work/cross"
cat >"$work/cross/Dockerfile" <<EOF
FROM --platform=\$BUILDPLATFORM $base AS build
COPY . /src
RUN tar -C /src -cf - . | gzip -1 > /src.tgz
FROM $base
COPY --from=build /src.tgz /src.tgz
RUN uname -m > /m
EOF

declare -A res
L() { rm -rf "$work/lroot"; "$work/lade" --root "$work/lroot" build --progress plain -o "type=oci,dest=$work/out.tar" "$@"; }
for i in $(seq "$runs"); do
  echo "run $i/$runs" >&2
  for df in ctx cross; do
    t "${df}_multi" L --platform linux/amd64,linux/arm64 "$work/$df"
    t "${df}_amd64" L --platform linux/amd64 "$work/$df"
    t "${df}_arm64" L --platform linux/arm64 "$work/$df"
  done
done

printf '%-44s %8s %8s %8s %8s %7s\n' "lade, cold" multi_s amd64_s arm64_s sum_s ratio
for c in ctx:"build.sh's: COPY 100 MB context, RUN true" cross:"cross: shared \$BUILDPLATFORM stage"; do
  k=${c%%:*} name=${c#*:}
  m=$(printf '%s' "${res[${k}_multi]}" | median)
  a=$(printf '%s' "${res[${k}_amd64]}" | median)
  r=$(printf '%s' "${res[${k}_arm64]}" | median)
  printf '%-44s %8.2f %8.2f %8.2f %8.2f %7.2f\n' "$name" "$m" "$a" "$r" "$(echo "$a + $r" | bc -l)" "$(echo "$m / ($a + $r)" | bc -l)"
done

# docker's BuildKit: a two-platform build needs buildx or the containerd
# image store; docker 20.10's builder refuses it. Its two single builds
# are timed either way, cold (builder and images pruned).
bench_dockerd
D2() { "${D[@]}" builder prune -af >/dev/null; "${D[@]}" image prune -af >/dev/null; "${D[@]}" build --network host -q "$@"; }
if out=$(D2 --platform linux/amd64,linux/arm64 "$work/cross" 2>&1); then
  for i in $(seq "$runs"); do t bk_multi D2 --platform linux/amd64,linux/arm64 "$work/cross"; done
  echo "BuildKit two-platform build of cross: $(printf '%s' "${res[bk_multi]}" | median) s"
else
  echo "BuildKit two-platform build: not available here (docker $("${D[@]}" version -f '{{.Server.Version}}'), no buildx): $(echo "$out" | tail -1)"
fi
for i in $(seq "$runs"); do
  t bk_amd64 D2 --platform linux/amd64 "$work/cross"
  t bk_arm64 D2 --platform linux/arm64 "$work/cross"
done
a=$(printf '%s' "${res[bk_amd64]}" | median)
r=$(printf '%s' "${res[bk_arm64]}" | median)
echo "BuildKit single builds of cross: amd64 $a s, arm64 $r s, sum $(echo "$a + $r" | bc -l) s (lade's two-platform build: $(printf '%s' "${res[cross_multi]}" | median) s)"
echo "(median of $runs runs; $(nproc) CPUs, Linux $(uname -r); load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end)"
