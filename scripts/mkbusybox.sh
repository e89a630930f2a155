#!/usr/bin/env bash
# Writes a deterministic root filesystem tarball of Debian's static busybox
# to $1 (default ./busybox-rootfs.tar), installing busybox-static if needed.
# It needs no registry: `lade import` turns the tarball into a base image.
set -euo pipefail
out=$(readlink -f "${1:-busybox-rootfs.tar}")
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static file >/dev/null
fi
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/tmp,root,home/app,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"; chmod 0755 "$root/bin/busybox"
for a in $(/bin/busybox --list-full); do
  [ "$a" = bin/busybox ] && continue
  [ -e "$root/$a" ] || ln -s "$(realpath -m --relative-to="$root/$(dirname "$a")" "$root/bin/busybox")" "$root/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp" "$root/var/tmp"; chmod 0700 "$root/root"; chown 1000:1000 "$root/home/app"
tar --sort=name --numeric-owner --mtime=@0 --format=pax --pax-option=delete=atime,delete=ctime -C "$root" -cf "$out" .
echo "$out"
