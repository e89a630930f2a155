#!/usr/bin/env bash
# Export throughput of one 1 GiB layer: a RUN writes 1 GiB (zeros, then
# random bytes), and the build exports an OCI archive. Prints, per kind,
# the RUN + export wall time, the seconds of writing the layer ("writing
# layer" statuses of --progress rawjson) and of the archive (the
# "exporting to oci" step), and the layer's MB/s over those two,
# medians of RUNS. The RUN itself (head of /dev/urandom: the kernel's
# generator, slower than lade here) is in the wall time only.
# Usage: sudo bench/biglayer.sh [RUNS] (default 3). lade only: no daemon,
# no registry, no network. LADE_BIN=PATH times another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/ladebiglayer.XXXXXX"
L() { "${LADE_BIN:-$work/lade}" --root "$work/root" "$@"; }
L import "$(scripts/mkbusybox.sh "$work/busybox.tar")" busybox:latest >/dev/null
mkdir -p "$work/zero" "$work/random"
printf 'FROM busybox:latest\nRUN dd if=/dev/zero of=/big bs=1M count=1024 2>/dev/null\n' >"$work/zero/Dockerfile"
printf 'FROM busybox:latest\nRUN head -c 1073741824 /dev/urandom >/big\n' >"$work/random/Dockerfile"
# phases LOG: the seconds of writing the layer and of the export, and the
# layer bytes over their sum, on one line.
phases() {
  python3 - "$1" <<'PY'
import datetime, json, sys
p = lambda s: datetime.datetime.fromisoformat(s[:26].rstrip("Z"))
layer = export = 0.0
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    rec = json.loads(line)
    for v in rec.get("vertexes", []):
        if v.get("completed") and v.get("name", "").startswith("exporting to"):
            export += (p(v["completed"]) - p(v["started"])).total_seconds()
    for st in rec.get("statuses", []):
        if st.get("completed") and st["id"] == "writing layer":
            layer += (p(st["completed"]) - p(st["started"])).total_seconds()
print(f"{layer:.3f} {export:.3f} {(1 << 30) / (layer + export) / 1e6:.0f}")
PY
}
declare -A res
for _ in $(seq "$runs"); do
  for k in zero random; do
    t "$k" L build --no-cache --progress rawjson -o "type=oci,dest=$work/out.tar" "$work/$k"
    read -r lw le lm < <(phases "$work/last.log")
    res[$k-write]+="$lw"$'\n' res[$k-export]+="$le"$'\n' res[$k-mbps]+="$lm"$'\n'
    rm -f "$work/out.tar"
  done
done
m() { printf '%s' "${res[$1]}" | median; }
printf '%-8s %12s %9s %9s %11s\n' layer run+export_s write_s export_s layer_MB/s
for k in zero random; do
  printf '%-8s %12.2f %9.2f %9.2f %11s\n' "$k" "$(m "$k")" "$(m "$k-write")" "$(m "$k-export")" "$(m "$k-mbps")"
done
echo "(medians of $runs; 1 GiB layer; load average $(cut -d' ' -f1-3 /proc/loadavg))"
