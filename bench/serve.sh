#!/usr/bin/env bash
# Times `docker run --rm IMAGE true` through `lade serve` against the same
# through a private dockerd (its own socket and data root under the work
# dir, never a user's engine), with one docker CLI for both, on each
# engine's default bridge (the dockerd's is a bridge this script makes, as
# run.sh does) and with --network none; RUNS times each (default 20),
# interleaved run by run. It prints the medians in milliseconds, the
# lade/dockerd ratios and the CPU time the servers spent per run (lade
# serve with the processes it reaped; dockerd with containerd; neither
# counts the shims), which load does not distort. Then it starts PAR
# containers (default 20) with `docker run -d` at once through lade serve,
# and through dockerd, counts the failures and prints them. The load
# average is printed before and after.
# Usage: sudo bench/serve.sh [RUNS [PAR]]. Installs docker.io and
# busybox-static when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
par=${2:-20}
. bench/lib.sh
bench_need /usr/sbin/dockerd:docker.io /usr/bin/docker:docker.io
bench_init /var/tmp/ladeserve.XXXX
scripts/mkbusybox.sh "$work/busybox.tar" >/dev/null
cli=/usr/local/bin/docker
[ -x "$cli" ] || cli=/usr/bin/docker

bench_dockerd_bridge
D=("$cli" -H "unix://$sock")
"${D[@]}" import "$work/busybox.tar" busybox:bench >/dev/null

"$work/lade" --root "$work/root" import "$work/busybox.tar" busybox:bench >/dev/null
lsock=$work/lade.sock
bench_bg "$work/lade" --root "$work/root" serve -H "unix://$lsock" 2>"$work/serve.log"
lpid=${bench_pids[-1]}
for _ in $(seq 100); do [ -S "$lsock" ] && break; sleep 0.1; done
L=("$cli" -H "unix://$lsock")
dpid=$(cat "$work/docker.pid")
cpid=$(pgrep -P "$dpid" containerd || true)

# ms prints the wall time of one run of its arguments in milliseconds.
ms() {
  local s=$EPOCHREALTIME
  "$@" >/dev/null
  local e=$EPOCHREALTIME
  echo "($e - $s) * 1000" | bc -l
}
# cpu_ms PID...: the user + system time of the processes and the children
# they reaped, in milliseconds.
cpu_ms() {
  local p sum=0
  for p in "$@"; do
    sum=$((sum + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
  done
  echo $((sum * 1000 / $(getconf CLK_TCK)))
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# One warm-up each: page cache, lade's first unpack of the image.
"${L[@]}" run --rm busybox:bench true
"${D[@]}" run --rm busybox:bench true
lade_t=() dock_t=() ladenone_t=() docknone_t=()
lade_cpu=0 dock_cpu=0
for i in $(seq "$runs"); do
  c=$(cpu_ms "$lpid")
  lade_t+=("$(ms "${L[@]}" run --rm busybox:bench true)")
  ladenone_t+=("$(ms "${L[@]}" run --rm --network none busybox:bench true)")
  lade_cpu=$((lade_cpu + $(cpu_ms "$lpid") - c))
  c=$(cpu_ms "$dpid" $cpid)
  dock_t+=("$(ms "${D[@]}" run --rm busybox:bench true)")
  docknone_t+=("$(ms "${D[@]}" run --rm --network none busybox:bench true)")
  dock_cpu=$((dock_cpu + $(cpu_ms "$dpid" $cpid) - c))
done
bench_pair ms 1 "docker run --rm (bridge) via lade serve" "$(median_of "${lade_t[@]}")" \
  "via dockerd" "$(median_of "${dock_t[@]}")" lade/dockerd
bench_pair ms 1 "docker run --rm (none) via lade serve" "$(median_of "${ladenone_t[@]}")" \
  "via dockerd" "$(median_of "${docknone_t[@]}")" lade/dockerd
echo "server CPU per docker run: lade serve $((lade_cpu / runs / 2)) ms, dockerd+containerd $((dock_cpu / runs / 2)) ms"
echo "(median of $runs runs each, interleaved; $(nproc) CPUs, Linux $(uname -r), client $("$cli" version --format '{{.Client.Version}}' 2>/dev/null), $("${D[@]}" version --format 'dockerd {{.Server.Version}}'))"

# par_run NAME DOCKER...: PAR docker run -d at once; prints the wall time
# and the failures, then removes the containers.
par_run() {
  local name=$1 s e n f errs=0 pids=() left
  shift
  s=$EPOCHREALTIME
  for n in $(seq "$par"); do
    "$@" run -d --name "par$n" busybox:bench sleep 60 >"$work/par$n.out" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  e=$EPOCHREALTIME
  for n in $(seq "$par"); do
    f=$work/par$n.out
    if ! grep -qE '^[0-9a-f]{64}$' "$f"; then
      errs=$((errs + 1))
      echo "  par$n: $(tr '\n' ' ' <"$f")"
    fi
  done
  printf '%s: %d x docker run -d at once: %.0f ms, %d errors, %d running\n' "$name" "$par" \
    "$(echo "($e - $s) * 1000" | bc -l)" "$errs" "$("$@" ps -q | wc -l)"
  left=$("$@" ps -aq)
  [ -z "$left" ] || "$@" rm -f $left >/dev/null
}
par_run "lade serve" "${L[@]}"
par_run "dockerd" "${D[@]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# The bench root's default bridge and nftables table (see network.Open).
ip link del "$("$work/lade" --root "$work/root" network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')" 2>/dev/null || true
nft delete table ip "lade-$(printf %s "$work/root/networks" | sha256sum | cut -c1-8)" 2>/dev/null || true
