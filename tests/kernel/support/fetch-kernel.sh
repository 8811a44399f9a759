#!/usr/bin/env bash
# Fetch Debian's own kernel (the one linux-image-amd64 depends on) as a file and unpack it into a
# cache directory, for the kernel suite's QEMU guest. Never installs it on this machine.
#
#   tests/kernel/support/fetch-kernel.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $WGKEX_KERNEL_CACHE or /var/cache/wgkex-edge/kernel. Afterwards
# CACHE_DIR/current names the version and CACHE_DIR/<version>/ holds boot/vmlinuz-<version> and
# lib/modules/<version> (depmod run). Needs apt's package lists (`apt-get update`), dpkg and kmod.
set -euo pipefail

cache="${1:-${WGKEX_KERNEL_CACHE:-/var/cache/wgkex-edge/kernel}}"
pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
if [ -z "$pkg" ]; then
  echo "fetch-kernel: apt-cache depends linux-image-amd64 names no kernel package (run apt-get update)" >&2
  exit 1
fi
version="${pkg#linux-image-}"
target="$cache/$version"
if [ -f "$target/.complete" ]; then
  echo "$version" >"$cache/current"
  echo "fetch-kernel: $version already in $target"
  exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt-get download drops privileges to _apt: give it a directory it may write.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$pkg")
deb="$(ls "$work"/*.deb)"
dpkg -x "$deb" "$work/root"
depmod -b "$work/root" "$version"
test -f "$work/root/boot/vmlinuz-$version"
for module in wireguard batman-adv vxlan veth 9p; do
  if ! find "$work/root/lib/modules/$version" -name "$module.ko*" | grep -q .; then
    echo "fetch-kernel: $pkg has no $module module" >&2
    exit 1
  fi
done
rm -rf "$target"
mv "$work/root" "$target"
touch "$target/.complete"
echo "$version" >"$cache/current"
echo "fetch-kernel: $pkg unpacked into $target"
