#!/usr/bin/env bash
# Export throughput of one 1 GiB layer: a RUN writes 1 GiB (zeros, then
# random bytes), and the build exports an OCI archive. Prints, per kind,
# the RUN + export wall time and the layer's MB/s over what lade spends
# making the layer and the archive ("writing layer" statuses and the
# "exporting to oci" step of --progress rawjson), medians of RUNS.
# Usage: sudo bench/biglayer.sh [RUNS] (default 3). lade only: no daemon,
# no registry, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/ladebiglayer.XXXXXX"
L() { "$work/lade" --root "$work/root" "$@"; }
L import "$(scripts/mkbusybox.sh "$work/busybox.tar")" busybox:latest >/dev/null
mkdir -p "$work/zero" "$work/random"
printf 'FROM busybox:latest\nRUN dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null\n' >"$work/zero/Dockerfile"
printf 'FROM busybox:latest\nRUN head -c 1073741824 /dev/urandom >/big\n' >"$work/random/Dockerfile"
# mbps LOG: layer bytes over the seconds of writing it and of the export.
mbps() {
  python3 - "$1" <<'PY'
import datetime, json, sys
p = lambda s: datetime.datetime.fromisoformat(s[:26].rstrip("Z"))
secs = 0.0
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    rec = json.loads(line)
    for v in rec.get("vertexes", []):
        if v.get("completed") and v.get("name", "").startswith("exporting to"):
            secs += (p(v["completed"]) - p(v["started"])).total_seconds()
    for st in rec.get("statuses", []):
        if st.get("completed") and st["id"] == "writing layer":
            secs += (p(st["completed"]) - p(st["started"])).total_seconds()
print(f"{(1 << 30) / secs / 1e6:.0f}")
PY
}
declare -A res
for _ in $(seq "$runs"); do
  for k in zero random; do
    t "$k" L build --no-cache --progress rawjson -o "type=oci,dest=$work/out.tar" "$work/$k"
    res[$k-mbps]+="$(mbps "$work/last.log")"$'\n'
    rm -f "$work/out.tar"
  done
done
printf '%-8s %12s %14s\n' layer run+export_s layer_MB/s
for k in zero random; do
  printf '%-8s %12.2f %14s\n' "$k" "$(printf '%s' "${res[$k]}" | median)" "$(printf '%s' "${res[$k-mbps]}" | median)"
done
echo "(medians of $runs; 1 GiB layer; load average $(cut -d' ' -f1-3 /proc/loadavg))"
