#!/usr/bin/env bash
# Runs one lade command as an unprivileged user (rootless), for harnesses
# that call "LADE [--root DIR] build [flags] --output type=...,dest=F CTX"
# as root, such as the conformance suite:
#   sudo LADE_BIN=bin/lade scripts/lade-as-user.sh --root R build ... CTX
#   sudo LADE_BIN=$PWD/bin/lade /work/shared/conformance/run.sh scripts/lade-as-user.sh
# The context, secret files (src=) and the binary are copied to a dir the
# user owns; --root and an output dest= point there, and the output is
# copied back to where the caller asked. The user (LADE_USER, default
# ladetest) must exist with subordinate ids (see README, "Rootless").
set -euo pipefail
user=${LADE_USER:-ladetest}
bin=$(readlink -f "${LADE_BIN:?set LADE_BIN to the lade binary}")
tmp=$(mktemp -d /var/tmp/lade-as-user.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/home" "$tmp/run" "$tmp/files"
cp "$bin" "$tmp/lade"
holder() { cut -d' ' -f1 "$tmp/run/lade/userns.pid" 2>/dev/null; }
cleanup() {
  local pid
  pid=$(holder) && kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do [ -n "${pid:-}" ] && [ -e "/proc/$pid/ns/mnt" ] || break; sleep 0.1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# copy_in PATH: a copy of PATH (file or dir) the user owns; prints it.
copy_in() {
  local d
  d=$(mktemp -d "$tmp/files/XXXXXX")
  cp -a "$1" "$d/"
  echo "$d/$(basename "$1")"
}
args=() dests=()
last=$(($# - 1)) i=0
while [ $# -gt 0 ]; do
  a=$1
  shift
  case $a in
  --root) args+=(--root "$tmp/root"); shift; i=$((i + 1)) ;;
  --root=*) args+=(--root="$tmp/root") ;;
  --output | -o)
    v=$1; shift; i=$((i + 1))
    if [[ $v == *dest=* ]]; then
      d=${v##*dest=}; d=${d%%,*}
      dests+=("$d")
      v=${v/dest=$d/dest=$tmp/out${#dests[@]}}
    fi
    args+=("$a" "$v") ;;
  *src=*)
    s=${a##*src=}; s=${s%%,*}
    args+=("${a/src=$s/src=$(copy_in "$s")}") ;;
  *)
    if [ "$i" = "$last" ] && [ -d "$a" ]; then a=$(copy_in "$a"); fi
    args+=("$a") ;;
  esac
  i=$((i + 1))
done
chown -R "$user:" "$tmp"
chmod 700 "$tmp/run"
set +e
(cd "$tmp/home" && setpriv --reuid="$user" --regid="$user" --clear-groups \
  env -i PATH="$PATH" HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" "$tmp/lade" "${args[@]}")
code=$?
set -e
for k in "${!dests[@]}"; do
  [ -e "$tmp/out$((k + 1))" ] && cp "$tmp/out$((k + 1))" "${dests[k]}"
done
exit "$code"
