#!/usr/bin/env bash
# Times a 10-step build (FROM busybox, 10x RUN true) with --no-cache as
# root and as an unprivileged user (rootless: user namespace, overlayfs
# with userxattr), interleaved, and prints medians and the rootless/root
# ratio. Usage: sudo bench/rootless.sh [RUNS] (default 10). Makes the user
# ladetest with the subordinate range 100000:65536 if it is missing and
# installs uidmap when newuidmap is.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
user=ladetest
. bench/lib.sh
bench_need newuidmap:uidmap setpriv:util-linux
id "$user" >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh "$user"
for f in /etc/subuid /etc/subgid; do
  grep -q "^$user:" "$f" 2>/dev/null || echo "$user:100000:65536" >>"$f"
done
bench_init /var/tmp/laderootless.XXXX
home=$work/home
# The holder of the user's namespaces (and with it every mount lade made
# there) goes before the work dir does.
stop_holder() {
  local pid
  pid=$(cut -d' ' -f1 "$home/run/lade/userns.pid" 2>/dev/null) || return 0
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do [ -e "/proc/$pid/ns/mnt" ] || break; sleep 0.1; done
}
trap 'stop_holder; bench_cleanup' EXIT
chmod 755 "$work"
mkdir -p "$home/run" "$home/ctx"
tar=$(scripts/mkbusybox.sh "$home/busybox.tar")
{ echo 'FROM busybox'; for _ in $(seq 10); do echo 'RUN true'; done; } >"$home/ctx/Dockerfile"
chown -R "$user:" "$home"
chmod 700 "$home/run"

root() { "$work/lade" --root "$work/root" "$@"; }
rootless() {
  setpriv --reuid="$user" --regid="$user" --clear-groups \
    env -i PATH="$PATH" HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run" "$work/lade" "$@"
}
root import "$tar" busybox >/dev/null
rootless import "$tar" busybox >/dev/null
# One warm-up each: page cache, the first unpack, the user's namespace.
root build -q --no-cache "$home/ctx" >/dev/null
rootless build -q --no-cache "$home/ctx" >/dev/null
declare -A res
load0=$(cut -d' ' -f1-3 /proc/loadavg) # other work on the machine skews every figure
for _ in $(seq "$runs"); do
  t root root build -q --no-cache "$home/ctx"
  t rootless rootless build -q --no-cache "$home/ctx"
done
r=$(printf '%s' "${res[root]}" | median)
u=$(printf '%s' "${res[rootless]}" | median)
bench_pair s 3 "rootless: build --no-cache (10x RUN)" "$u" "root: build --no-cache (10x RUN)" "$r" rootless/root
echo "(median of $runs runs each, interleaved; $(nproc) CPUs, Linux $(uname -r); load before: $load0)"
