#!/usr/bin/env bash
# Times builds with lade, Buildah and BuildKit (docker's, DOCKER_BUILDKIT=1)
# from the same busybox base image served by a local registry, and prints
# medians and lade/peer ratios. Usage: sudo bench/build.sh [RUNS] (default 5).
# Installs buildah, docker.io, docker-registry and busybox-static when
# missing and starts its own dockerd when none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
export DOCKER_BUILDKIT=1
bench_need buildah:buildah /usr/sbin/dockerd:docker.io /usr/bin/docker:docker.io docker-registry:docker-registry
# A docker engine of the user's, if one answers, must end as it began.
sysdocker() { DOCKER_HOST=unix:///var/run/docker.sock /usr/bin/docker "$@" 2>/dev/null; }
check_sys() {
  local after
  after=$(sysdocker system df --format '{{.Type}} {{.TotalCount}} {{.Size}}' || true)
  if [ "$after" != "$sys_before" ]; then
    echo "bench: the engine on /var/run/docker.sock changed during the bench:" >&2
    diff <(echo "$sys_before") <(echo "$after") >&2 || true
    exit 1
  fi
}
sys_before=
bench_init /var/tmp/ladebench.XXXX
trap 'bench_cleanup; check_sys' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg) # other work on the machine skews every figure

bench_registry
# Always a private dockerd on its own socket and data root: the bench
# prunes its engine's images and build cache, which must never be a
# user's. An engine on the default socket is only looked at (below).
sys_before=$(sysdocker system df --format '{{.Type}} {{.TotalCount}} {{.Size}}' || true)
bench_dockerd
BAH=(buildah --root "$work/buildah" --runroot "$work/buildah-run")

# The base image: Debian's static busybox, pushed by lade to the registry.
base=$host/bench/busybox:1
./scripts/mkbusybox.sh "$work/busybox.tar" >/dev/null
L0=("$work/lade" --root "$work/seed")
"${L0[@]}" import "$work/busybox.tar" "$base" >/dev/null
"${L0[@]}" push "$base" >/dev/null

# The Dockerfiles.
mk() { mkdir -p "$work/$1"; cat >"$work/$1/Dockerfile"; }
{ echo "FROM $base"; for i in $(seq 10); do echo "RUN true $i"; done; } | mk runs
printf 'FROM %s\nCOPY . /src\nRUN true\n' "$base" | mk ctx
printf 'FROM %s AS a\nRUN sleep 2 && echo a >/a\nFROM %s AS b\nRUN sleep 2 && echo b >/b\nFROM %s\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n' "$base" "$base" "$base" | mk par
# 100 MB in 10,000 incompressible 10 KB files.
bench_randtree "$work/ctx"

declare -A res

L() { "$work/lade" --root "$work/lroot" "$@"; }
dprune() { "${D[@]}" builder prune -af >/dev/null; "${D[@]}" image prune -af >/dev/null; "${D[@]}" rmi -f "$base" >/dev/null 2>&1 || true; }
bprune() { "${BAH[@]}" rm -a >/dev/null; "${BAH[@]}" rmi -af >/dev/null 2>&1 || true; }
DB=("${D[@]}" build --network host -q)
BB=("${BAH[@]}" bud --layers --isolation chroot --tls-verify=false -q)
bsave() { "${BAH[@]}" push -q "$1" "oci-archive:$work/out.tar"; }
# Export throughput of case 2: the uncompressed bytes (tar, headers
# included) of the layers the build made, i.e. every layer of out.tar but
# the base image's, over the time spent exporting them, from rawjson:
# each step's "writing layer" status (diff of the step's snapshot, tar,
# gzip, both sha256s, the fsynced blob) and the "exporting to oci" step
# (the OCI archive). BuildKit counts the same work in its export
# ("exporting layers", then the archive). The second figure, "steps",
# divides by the whole COPY and RUN steps and the export step instead, so
# it also counts copying the context into the snapshot.
throughput() {
  python3 - "$1" "$work/out.tar" "$(sha256sum "$work/busybox.tar" | cut -d' ' -f1)" <<'PY'
import datetime, json, sys, tarfile, zlib
p = lambda s: datetime.datetime.fromisoformat(s[:26].rstrip("Z"))
steps = {}   # vertex digest -> (name, seconds)
writing = {} # vertex digest -> seconds of its "writing layer" statuses
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    rec = json.loads(line)
    for v in rec.get("vertexes", []):
        if v.get("completed"):
            steps[v["digest"]] = (v.get("name", ""), (p(v["completed"]) - p(v["started"])).total_seconds())
    for st in rec.get("statuses", []):
        if st.get("completed") and st["id"] == "writing layer":
            writing[st["vertex"]] = writing.get(st["vertex"], 0) + (p(st["completed"]) - p(st["started"])).total_seconds()
export = sum(d for n, d in steps.values() if n.startswith("exporting to"))
made = [dg for dg, (n, _) in steps.items() if "COPY . /src" in n or "RUN true" in n]
layers = sum(writing.get(dg, 0) for dg in made)
whole = sum(steps[dg][1] for dg in made)
tf = tarfile.open(sys.argv[2])
blob = lambda d: tf.extractfile("blobs/sha256/" + d.split(":")[1])
man = json.load(blob(json.load(tf.extractfile("index.json"))["manifests"][0]["digest"]))
diffs = json.load(blob(man["config"]["digest"]))["rootfs"]["diff_ids"]
size = 0
for d, l in zip(diffs, man["layers"]):
    if d == "sha256:" + sys.argv[3]:
        continue  # the base image's layer, pulled, not made
    f, z = blob(l["digest"]), zlib.decompressobj(31)
    while chunk := f.read(1 << 20):
        while chunk:  # a gzip stream may have several members
            size += len(z.decompress(chunk))
            chunk = z.unused_data
            if chunk:
                z = zlib.decompressobj(31)
print(f"{size / (layers + export) / 1e6:.0f} ({size / 1e6:.1f} MB in {layers + export:.3f} s: writing layers {layers:.3f}, export step {export:.3f} s; "
      f"steps {size / (whole + export) / 1e6:.0f} MB/s: COPY + RUN {whole:.3f} s)")
PY
}

for i in $(seq "$runs"); do
  echo "run $i/$runs" >&2
  rm -rf "$work/lroot"; L pull -q "$base" >/dev/null
  # 1. 10 x RUN true, --no-cache (base image already local for every tool).
  "${D[@]}" pull -q "$base" >/dev/null; "${BAH[@]}" pull -q --tls-verify=false "$base" >/dev/null
  t runs_lade L build --no-cache --progress plain "$work/runs"
  t runs_buildkit "${DB[@]}" --no-cache "$work/runs"
  t runs_buildah "${BB[@]}" --no-cache "$work/runs"
  # 2. cold: empty stores, base pulled from the registry, export to a tar.
  rm -rf "$work/lroot"; dprune; bprune
  t cold_lade L build --progress rawjson -o "type=oci,dest=$work/out.tar" "$work/ctx"
  res[mbps]+="$(throughput "$work/last.log")"$'\n'
  L build --progress rawjson -o "type=oci,dest=$work/out.tar" --no-cache "$work/ctx" 2>"$work/lade.json" >/dev/null
  res[mbps_nc]+="$(throughput "$work/lade.json")"$'\n'
  t cold_buildkit sh -c "${DB[*]} -t ctx $work/ctx && ${D[*]} save -o $work/out.tar ctx"
  t cold_buildah sh -c "${BB[*]} -t ctx $work/ctx && ${BAH[*]} push -q ctx oci-archive:$work/out.tar"
  # 3. no-op rebuild.
  t noop_lade L build --progress plain -o "type=oci,dest=$work/out.tar" "$work/ctx"
  t noop_buildkit sh -c "${DB[*]} -t ctx $work/ctx && ${D[*]} save -o $work/out.tar ctx"
  t noop_buildah sh -c "${BB[*]} -t ctx $work/ctx && ${BAH[*]} push -q ctx oci-archive:$work/out.tar"
  # 4. one file changed.
  head -c 10240 /dev/urandom >"$work/ctx/d7/f7"
  t edit_lade L build --progress plain -o "type=oci,dest=$work/out.tar" "$work/ctx"
  t edit_buildkit sh -c "${DB[*]} -t ctx $work/ctx && ${D[*]} save -o $work/out.tar ctx"
  t edit_buildah sh -c "${BB[*]} -t ctx $work/ctx && ${BAH[*]} push -q ctx oci-archive:$work/out.tar"
  # 5. two independent stages sleeping 2 s each.
  t par_lade L build --no-cache --progress plain "$work/par"
  t par_buildkit "${DB[@]}" --no-cache "$work/par"
  t par_buildah "${BB[@]}" --no-cache "$work/par"
  # 6. run a container.
  L pull -q "$base" >/dev/null
  # The private dockerd has no bridge (--bridge=none keeps the host's
  # iptables alone): lade skips its bridge too (run.sh times that).
  t run_lade L run --rm --network none "$base" true
  t run_buildkit "${D[@]}" run --rm --network host "$base" true
done

printf '%-40s %9s %9s %9s %8s %8s\n' case lade_s buildkit_s buildah_s /buildkit /buildah
for c in runs:"1. 10 x RUN true, --no-cache" cold:"2. cold 100 MB/10k-file COPY + export" noop:"3. no-op rebuild of 2." \
  edit:"4. rebuild of 2., one file changed" par:"5. two parallel stages, sleep 2 each" run:"6. run --rm IMAGE true (docker run)"; do
  k=${c%%:*} name=${c#*:}
  l=$(printf '%s' "${res[${k}_lade]}" | median)
  bk=$(printf '%s' "${res[${k}_buildkit]}" | median)
  ba=$(printf '%s' "${res[${k}_buildah]:-}" | median)
  if [ -n "$ba" ]; then
    printf '%-40s %9.3f %9.3f %9.3f %8.2f %8.2f\n' "$name" "$l" "$bk" "$ba" "$(echo "$l / $bk" | bc -l)" "$(echo "$l / $ba" | bc -l)"
  else
    printf '%-40s %9.3f %9.3f %9s %8.2f %8s\n' "$name" "$l" "$bk" - "$(echo "$l / $bk" | bc -l)" -
  fi
done
stepsmed() { grep -o 'steps [0-9]*' | cut -d' ' -f2 | median; }
echo "lade export throughput, case 2 (uncompressed layer MB / s of writing the layers + the export step): median $(printf '%s' "${res[mbps]}" | cut -d' ' -f1 | median); over the whole COPY + RUN + export steps: median $(printf '%s' "${res[mbps]}" | stepsmed); runs:"
printf '%s' "${res[mbps]}" | sort -n | sed 's/^/  /'
echo "the same for a --no-cache rebuild right after it (blobs already stored: the export verifies them): median $(printf '%s' "${res[mbps_nc]}" | cut -d' ' -f1 | median); whole steps: median $(printf '%s' "${res[mbps_nc]}" | stepsmed); runs:"
printf '%s' "${res[mbps_nc]}" | sort -n | sed 's/^/  /'
echo "(median of $runs runs; $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r); docker $("${D[@]}" version -f '{{.Server.Version}}'), $(buildah --version | cut -d' ' -f1-3); load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end)"
