# Start-up shared by the bench scripts; they source it from the checkout's
# top dir, it runs nothing by itself. A bench calls bench_init first, then
# what it needs of bench_registry and bench_dockerd; everything they start is stopped, and
# the work dir unmounted and deleted, when the bench exits (also on an
# error, Ctrl-C or SIGTERM).

# bench_need CMD:PKG...: apt-get installs PKG for each CMD (a name on
# PATH or an absolute path) that is missing.
bench_need() {
  local p need=()
  for p in "$@"; do
    command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# bench_init TEMPLATE: makes the work dir $work with mktemp -d TEMPLATE,
# sets the exit traps and builds $work/lade from the checkout (the
# current dir).
bench_init() {
  export PATH=$PATH:/usr/local/go/bin
  work=$(mktemp -d "$1")
  bench_workprefix=${1%%XX*} # the guard of bench_cleanup
  bench_pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM # so the EXIT trap runs on Ctrl-C and SIGTERM too
  CGO_ENABLED=0 go build -o "$work/lade" ./cmd/lade
}

# bench_bg CMD...: starts CMD in the background, stopped at exit.
bench_bg() {
  "$@" &
  bench_pids+=($!)
}

# bench_cleanup stops what bench_bg started, last first (dockerd owns
# containerd), waiting for each to exit before unmounting what is left
# under the work dir and deleting it. Only paths under $work are touched.
bench_cleanup() {
  local i p
  case $work in "$bench_workprefix"?*) ;; *) return ;; esac # never match every mount
  for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do
    p=${bench_pids[i]}
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # dockerd can leave mounts behind (overlay2 layers, netns/default).
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}

# bench_registry starts Debian's docker-registry on a free loopback port,
# storing under $work, and sets host to its address.
bench_registry() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  host=127.0.0.1:$port
  cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $host}
YML
  bench_bg docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1
  for _ in $(seq 100); do curl -fs "http://$host/v2/" >/dev/null && return; sleep 0.1; done
  echo "bench: docker-registry did not start:" >&2
  tail -5 "$work/registry.log" >&2
  exit 1
}

# bench_dockerd [BRIDGE] starts a private dockerd, always: its own socket,
# data and exec root under $work, never a user's engine (the benches prune
# and delete images). Its containers are on BRIDGE (an existing Linux
# bridge with an address), else it has no bridge. It never touches
# iptables. It sets sock and D, the docker command talking to it.
bench_dockerd() {
  sock=$work/docker.sock
  bench_bg /usr/sbin/dockerd --iptables=false --bridge="${1:-none}" -H "unix://$sock" --data-root "$work/docker-data" \
    --exec-root "$work/docker-exec" --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1
  D=(/usr/bin/docker -H "unix://$sock")
  for _ in $(seq 150); do "${D[@]}" info >/dev/null 2>&1 && return; sleep 0.2; done
  echo "bench: dockerd did not start:" >&2
  tail -5 "$work/dockerd.log" >&2
  exit 1
}

# bench_dockerd_bridge starts bench_dockerd on docker's default bridge
# network over a bridge of the bench's own on a free 10.x.0.0/24 that no
# route uses (never a host's docker0); the bridge goes at exit, after
# dockerd.
bench_dockerd_bridge() {
  local i dnet=
  bench_bridge=ladebench$$
  for i in $(seq 200 254); do
    ip route | grep -q "^10\.$i\." || { dnet=10.$i.0; break; }
  done
  ip link add "$bench_bridge" type bridge
  trap 'bench_cleanup; ip link del "$bench_bridge" 2>/dev/null || true' EXIT
  ip addr add "$dnet.1/24" dev "$bench_bridge"
  ip link set "$bench_bridge" up
  bench_dockerd "$bench_bridge"
}

# bench_case2: L runs lade on $work/root, which holds busybox:latest
# (imported offline), and $work/ctx is build.sh's case-2 context
# (bench_randtree, COPY . /src, RUN true).
bench_case2() {
  local tar
  tar=$(scripts/mkbusybox.sh "$work/busybox.tar")
  L() { "$work/lade" --root "$work/root" "$@"; }
  L import "$tar" busybox:latest >/dev/null
  mkdir -p "$work/ctx"
  printf 'FROM busybox:latest\nCOPY . /src\nRUN true\n' >"$work/ctx/Dockerfile"
  bench_randtree "$work/ctx"
}

# bench_randtree DIR [WIDTH]: a build context of 10,000 files of 10 KiB of
# random bytes in 100 dirs, named dN/fN (numbers zero-padded to WIDTH).
bench_randtree() {
  python3 - "$1" "${2:-0}" <<'PY'
import os, sys
root, w = sys.argv[1], sys.argv[2]
for d in range(100):
    os.makedirs(f"{root}/d{d:0{w}}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/d{d:0{w}}/f{f:0{w}}", "wb") as fh:
            fh.write(os.urandom(10240))
PY
}

# bench_bigctx DIR: a build context of 100,000 files of a few bytes in
# 100 dirs (dN/fN) and a Dockerfile that copies it all.
bench_bigctx() {
  python3 - "$1" <<'PY'
import os, sys
for d in range(100):
    os.makedirs(f"{sys.argv[1]}/d{d}", exist_ok=True)
    for f in range(1000):
        with open(f"{sys.argv[1]}/d{d}/f{f}", "w") as fh:
            fh.write(f"{d}/{f}\n")
PY
  printf 'FROM busybox:latest\nCOPY . /src\n' >"$1/Dockerfile"
}

now() { date +%s.%N; }
# time_it CMD...: prints the seconds CMD took, its output discarded.
time_it() {
  local t0
  t0=$(now)
  "$@" >/dev/null 2>&1
  echo "$(now) - $t0" | bc
}
# t KEY CMD...: time CMD, append seconds to res[KEY]; a failure aborts.
t() {
  local k=$1 t0 t1
  shift
  t0=$(now)
  if ! "$@" >"$work/last.log" 2>&1; then
    echo "FAILED: $*" >&2
    tail -20 "$work/last.log" >&2
    exit 1
  fi
  t1=$(now)
  res[$k]+="$(echo "$t1 - $t0" | bc)"$'\n'
}
# bench_pairs A B KEY...: a table of, for each KEY, the medians of
# res[KEY-A] and res[KEY-B] (seconds) and their ratio B/A.
bench_pairs() {
  local a=$1 b=$2 k x y
  shift 2
  printf '%-8s %10s %10s %8s\n' build "${a}_s" "${b}_s" ratio
  for k in "$@"; do
    x=$(printf '%s' "${res[$k-$a]}" | median)
    y=$(printf '%s' "${res[$k-$b]}" | median)
    printf '%-8s %10.3f %10.3f %8.2f\n' "$k" "$x" "$y" "$(echo "$y / $x" | bc -l)"
  done
}
# median: of the numbers on stdin, one a line (blank lines skipped).
median() { sort -n | awk 'NF {a[++n]=$1} END {if (n) print (n%2) ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2}'; }
# median_of N...: the median of its arguments.
median_of() { printf '%s\n' "$@" | median; }
# bench_pair UNIT PRECISION LABEL_A A LABEL_B B RATIO: prints medians A and
# B (in UNIT, PRECISION decimals) under a header, then "RATIO A/B".
bench_pair() {
  printf '%-40s %9s\n' case "median_$1"
  printf "%-40s %9.$2f\n" "$3" "$4" "$5" "$6"
  printf '%s %.2f\n' "$7" "$(echo "$4 / $6" | bc -l)"
}
