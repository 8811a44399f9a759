#!/bin/busybox sh
# /init of the guest's initramfs (static busybox): load 9p over virtio, mount the host's `/`
# and hand over to the guest's init script (GUEST_INIT, from the kernel command line).
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
# The order matters: each module needs the ones before it.
for m in netfs fscache 9pnet 9p virtio_ring virtio 9pnet_virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
  /bin/busybox insmod "/modules/$m.ko" || echo "initramfs: insmod $m failed"
done
# cache=loose: binaries, libraries and node are read through the page cache, not a 9p
# round trip per read under emulation. The guest directory is mounted again without a cache.
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose hostroot /newroot || {
  echo "initramfs: cannot mount the host's root over 9p"
  echo o >/proc/sysrq-trigger
}
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /bin/bash "$GUEST_INIT"
