#!/bin/bash
# PID 1 of the kernel suite's QEMU guest, after the initramfs switched root to the host's `/`
# (9p, cached). The kernel passes GUEST_DIR, KERNEL_TREE, GUEST_ADDR, GUEST_GW and
# GUEST_NAME from its command line as environment variables.
#
# Commands come from the host as files in $GUEST_DIR/rpc (see guest.ts): <id>.sh (a script the
# host wrote with every argument single-quoted), optionally <id>.in (stdin). The answer is
# <id>.out, <id>.err and, last, <id>.rc (complete once it ends with a newline). A file named
# `stop` powers the guest off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

poweroff() {
  sync
  echo o >/proc/sysrq-trigger
  # PID 1 must not exit before the kernel has powered off.
  while :; do read -r -t 1 -u 9 _ || true; done
}
fail() {
  echo "guest-init: $*" >"$GUEST_DIR/failed"
  poweroff
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The guest's own /run and /tmp: `ip netns`, wireguard sockets and temp files never reach the host's.
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /run/wireguard "$GUEST_DIR"
# The gateway's external name (v2 answers carry a DNS name; nodes resolve it as a router resolves
# it in DNS): in the guest's own copy of /etc/hosts, bound over the host's, which stays untouched.
if [ -n "${GUEST_NAME:-}" ]; then
  { cat /etc/hosts; echo "$GUEST_ADDR $GUEST_NAME"; } >/run/hosts
  mount --bind /run/hosts /etc/hosts
fi
mkfifo /run/tick
exec 9<>/run/tick
# The guest directory (under the host's /tmp) at the same path, without a cache: the host and the
# guest both write there.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none guestdir "$GUEST_DIR" || fail "cannot mount guestdir"

modprobe -d "$KERNEL_TREE" -a virtio_net wireguard batman-adv vxlan veth bridge tun || fail "modprobe failed"
hostname wgkex-kernel-gw
ip link set lo up
ip link set eth0 up
ip addr add "$GUEST_ADDR/24" dev eth0
ip route add default via "$GUEST_GW"
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

rpc="$GUEST_DIR/rpc"
mkdir -p "$rpc"
cd "$rpc" || fail "no $rpc"
shopt -s nullglob
uname -r >"$GUEST_DIR/ready.tmp"
mv "$GUEST_DIR/ready.tmp" "$GUEST_DIR/ready"
# Every fork and exec costs a lot under emulation: bash builtins only, one fork per command
# (the subshell) and one for the command itself, which the script `exec`s.
declare -A seen
idle=0
while [ ! -e stop ]; do
  idle=$((idle + 1))
  for f in *.sh; do
    id="${f%.sh}"
    [[ -n "${seen[$id]:-}" ]] && continue
    seen[$id]=1
    idle=0
    (
      input=/dev/null
      [ -e "$id.in" ] && input="$id.in"
      (. "./$f") <"$input" >"$id.out" 2>"$id.err"
      echo "$?" >"$id.rc"
    ) &
  done
  # A pause without forking a `sleep` (nothing ever writes to the fifo). Each pass lists the
  # directory over 9p, which costs CPU the rest of the test run could use: 40 ms while commands
  # come, 250 ms after two seconds without any.
  if [ "$idle" -lt 50 ]; then read -r -t 0.04 -u 9 _; else read -r -t 0.25 -u 9 _; fi
done
cd /
poweroff
