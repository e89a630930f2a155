#!/usr/bin/env bash
# Times what --provenance=mode=max and --sbom cost on the bench build's
# context (bench/build.sh case 2: 10,000 incompressible 10 KiB files,
# COPY . /src, RUN true), every build exported as an OCI tar (where
# attestations are kept): a --no-cache build and a cached rebuild, plain,
# with provenance, with the SBOM and with both, interleaved. Prints
# medians and the ratios.
# Usage: sudo bench/attest.sh [RUNS] (default 5). lade only: no daemon,
# no registry, no network (the base image is imported).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. bench/lib.sh
bench_init "${TMPDIR:-/tmp}/ladeattest.XXXXXX"
bench_case2
out=(-o "type=oci,dest=$work/out.tar")
L build -q "${out[@]}" "$work/ctx" >/dev/null

declare -A res
for i in $(seq "$runs"); do
  echo "run $i/$runs" >&2
  for c in cold cached; do
    nc=()
    [ $c = cold ] && nc=(--no-cache)
    t $c-plain L build -q "${nc[@]}" "${out[@]}" "$work/ctx"
    t $c-prov L build -q "${nc[@]}" --provenance=mode=max "${out[@]}" "$work/ctx"
    t $c-sbom L build -q "${nc[@]}" --sbom "${out[@]}" "$work/ctx"
    t $c-both L build -q "${nc[@]}" --provenance=mode=max --sbom "${out[@]}" "$work/ctx"
  done
done
for b in prov sbom both; do
  bench_pairs plain $b cold cached
done
echo "(medians of $runs, interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg))"
