#!/usr/bin/env bash
# Compares the field names lade prints with docker's: for ps -a, images,
# inspect of a container and of an image, history and volume ls it runs
# `X --format '{{json .}}'` with lade and with Debian's docker.io client
# against a private dockerd, and fails when a field docker prints is
# missing from lade's output (less the exceptions below, each with its
# reason). Fields only lade prints are listed, not failed.
#
#   scripts/docker-compat.sh [LADE_BINARY [BUSYBOX_ROOTFS_TAR]]
#
# LADE_BINARY defaults to `lade` on PATH; the busybox rootfs tarball is
# made with scripts/mkbusybox.sh when not given. Needs root (dockerd),
# /usr/bin/docker, dockerd and jq. Nothing of the machine's own docker is
# touched: the engine here has its own data root, socket, pidfile and
# exec root under a temp dir, no iptables and no bridge, and is stopped
# (by its pid) at the end.
#
# Values legitimately differ, only names are compared:
#   - IDs: each side makes its own container IDs; image IDs differ since
#     docker import and lade import write different configs (docker adds
#     its own history comment and no Created of the tarball's).
#   - Times (Created, CreatedAt, RunningFor, StartedAt...), sizes (docker
#     reports unpacked sizes, lade the stored compressed ones), paths
#     (/var/lib/docker/... vs the lade root), storage driver names
#     (overlay2 vs lade's overlay snapshots), Pid, SandboxKey.
#   - Engine-only values: docker's endpoint and sandbox IDs, its
#     apparmor/selinux labels; lade leaves them empty.
set -euo pipefail
lade=${1:-lade}
bbtar=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
docker=/usr/bin/docker
for t in "$docker" jq; do command -v "$t" >/dev/null || { echo "docker-compat: $t missing (apt-get install docker.io jq)" >&2; exit 2; }; done
dockerd=$(command -v dockerd || true)
[ -n "$dockerd" ] || { echo "docker-compat: dockerd missing (apt-get install docker.io)" >&2; exit 2; }

# Fields docker prints that lade does not, as "COMMAND FIELD  reason".
exceptions='
images VirtualSize  removed from the Engine API (1.44); docker'"'"'s current client prints it no more
image-inspect Container  only images committed from a container had it; removed from the Engine API (1.45)
image-inspect ContainerConfig  as Container
image-inspect GraphDriver  lade keeps image layers as blobs, not in a graph driver; containers have it
container-inspect HostConfig.KernelMemory  deprecated, no longer in the Engine API (cgroup v2 has no kernel memory limit)
container-inspect HostConfig.KernelMemoryTCP  as KernelMemory
container-inspect HostConfig.Runtime  omitted when empty by the Engine API types; lade runs containers with its own init, no OCI runtime to name
container-inspect Config.OnBuild  omitted when empty by the Engine API types; set only when the image has ONBUILD
image-inspect Config.OnBuild  as container-inspect Config.OnBuild
'

tmp=$(mktemp -d /tmp/lade-compat.XXXXXX)
dpid=
cleanup() {
  if [ -n "$dpid" ]; then
    kill "$dpid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$dpid" 2>/dev/null || true
  fi
  umount -R "$tmp/data" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

host="unix://$tmp/docker.sock"
"$dockerd" --iptables=false --bridge=none --host "$host" --data-root "$tmp/data" \
  --exec-root "$tmp/exec" --pidfile "$tmp/docker.pid" >"$tmp/dockerd.log" 2>&1 &
dpid=$!
d() { DOCKER_HOST=$host "$docker" "$@"; }
l() { "$lade" --root "$tmp/lade" "$@"; }
up=
for _ in $(seq 60); do # at most 30 s
  if d version >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$dpid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$up" ] || { echo "docker-compat: dockerd did not answer; log tail:" >&2; tail -20 "$tmp/dockerd.log" >&2; exit 2; }

if [ -z "$bbtar" ]; then
  bbtar=$("$here/mkbusybox.sh" "$tmp/busybox.tar")
fi
ref=busybox:compat
d import "$bbtar" "$ref" >/dev/null
l import "$bbtar" "$ref" >/dev/null
for side in d l; do
  $side run --network none --name compat "$ref" true >/dev/null
  $side volume create compatvol >/dev/null
done

# names DEPTH: the field paths of JSON objects on stdin (one a line),
# objects nested DEPTH deep; array elements and map contents deeper are
# values, not names.
names() { jq -r --argjson d "$1" 'paths | select(length <= $d) | select(all(.[]; type == "string")) | join(".")' | sort -u; }

# NAME|DEPTH|COMMAND: each runs with --format '{{json .}}' appended.
checks=(
  "ps|1|ps -a"
  "images|1|images"
  "container-inspect|2|inspect --type container compat"
  "image-inspect|2|inspect --type image $ref"
  "history|1|history $ref"
  "volume-ls|1|volume ls"
)
failed=0
for c in "${checks[@]}"; do
  IFS='|' read -r name depth args <<<"$c"
  read -ra argv <<<"$args"
  d "${argv[@]}" --format '{{json .}}' | names "$depth" >"$tmp/docker.$name"
  l "${argv[@]}" --format '{{json .}}' | names "$depth" >"$tmp/lade.$name"
  missing=$(comm -23 "$tmp/docker.$name" "$tmp/lade.$name" | while read -r f; do
    # An exception of a field covers the fields under it.
    if grep -q "^$name $f " <<<"$exceptions" || grep -q "^$name ${f%%.*} " <<<"$exceptions"; then
      echo "$name:$f" >>"$tmp/excepted"
    else
      echo "$f"
    fi
  done)
  extra=$(comm -13 "$tmp/docker.$name" "$tmp/lade.$name" | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "FAIL $name: docker prints, lade lacks: $(tr '\n' ' ' <<<"$missing")"
    failed=1
  else
    echo "ok   $name: $(wc -l <"$tmp/docker.$name") docker fields present"
  fi
  [ -z "$extra" ] || echo "     $name: lade adds: $extra"
done
[ ! -s "$tmp/excepted" ] || echo "excepted (see the list in $0): $(sort -u "$tmp/excepted" | tr '\n' ' ')"
exit $failed
