#!/usr/bin/env bash
# Writes a tar of a minimal root filesystem made from the host's static busybox (busybox-static) to
# stdout: /bin/busybox, one symlink per applet, and the few files images are expected to have.
# Usage: scripts/busybox-rootfs.sh > busybox.tar
set -euo pipefail
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
mkdir -p "$root"/{bin,etc,root,tmp,var,proc,sys,dev,usr/bin,usr/sbin,sbin,home}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
# Fixed mtimes so the same busybox always gives the same layer digest.
find "$root" -exec touch -h -d '2000-01-01T00:00:00Z' {} +
tar -C "$root" --numeric-owner --owner=0 --group=0 --sort=name -cf - .
