#!/usr/bin/env bash
# Build the tiny nuage test guest from Debian packages only:
#   CACHE_DIR/vmlinuz     Debian's cloud kernel (linux-image-cloud-amd64's dependency)
#   CACHE_DIR/initrd.img  busybox-static + virtio/ACPI/isofs modules + /init (the guest contract,
#                         see scripts/README.md)
#   CACHE_DIR/base.qcow2  a blank 64 MiB qcow2, the base that instance overlays point at
#   CACHE_DIR/key         what the build was made from; the build is skipped when it matches
# Usage: build-test-guest.sh [CACHE_DIR]   (needs scripts/libvirt-setup.sh to have run)
set -euo pipefail

CACHE_DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/nuage/test-guest}
BASE_SIZE=64M
t0=$(date +%s.%N)
say() { echo "build-test-guest: $*"; }
die() { echo "build-test-guest: ERROR: $*" >&2; exit 1; }
elapsed() { awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}"; }
trap 'die "failed at line $LINENO (exit $?)"' ERR

for tool in busybox qemu-img apt-get dpkg-deb flock; do
  command -v "$tool" >/dev/null || die "$tool missing: run scripts/libvirt-setup.sh first"
done
mkdir -p "$CACHE_DIR"
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)
exec 9>"$CACHE_DIR/.lock"
flock 9 # concurrent builds (parallel test workers) wait for the first one

# The key: the kernel package the cloud metapackage points at (an exact "(= version)"
# dependency), busybox-static's installed version, and this script's own hash (it holds /init).
# One apt-cache call only: this machine's apt keeps no pkgcache.bin, so each call costs ~0.5 s.
kernel_dep() { apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
  sed -n 's/^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1=\2/p'; }
KDEP=$(kernel_dep)
if [ -z "$KDEP" ]; then # no package lists yet on a fresh machine
  apt-get update -q >/dev/null 2>&1 || die "apt-get update failed"
  KDEP=$(kernel_dep)
  [ -n "$KDEP" ] || die "cannot resolve linux-image-cloud-amd64's kernel package"
fi
BBVER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || die "busybox-static not installed"
KEY="$KDEP busybox-static=$BBVER script=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"

if [ ! -f "$CACHE_DIR/base.qcow2" ]; then
  qemu-img create -q -f qcow2 "$CACHE_DIR/base.qcow2.tmp" "$BASE_SIZE"
  mv "$CACHE_DIR/base.qcow2.tmp" "$CACHE_DIR/base.qcow2"
  say "created blank base.qcow2 ($BASE_SIZE)"
fi
if [ -f "$CACHE_DIR/vmlinuz" ] && [ -f "$CACHE_DIR/initrd.img" ] &&
  [ "$(cat "$CACHE_DIR/key" 2>/dev/null)" = "$KEY" ]; then
  say "up to date in $CACHE_DIR ($KEY), $(elapsed) s"
  exit 0
fi

say "building $KEY into $CACHE_DIR"
WORK=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# apt-get download as root warns that _apt cannot write here; harmless.
apt-get download -q "$KDEP" >/dev/null 2>&1 || die "apt-get download $KDEP failed"
dpkg-deb -x ./*.deb kernel
MODDIR=$(echo kernel/lib/modules/*/kernel)

R=root
mkdir -p $R/bin $R/lib/modules $R/etc/acpi/PWRF $R/proc $R/sys $R/dev $R/tmp $R/run $R/var/log $R/seed
cp /bin/busybox $R/bin/busybox
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
# The cloud kernel builds virtio, isofs and the ACPI button as modules, uncompressed and without
# modules.dep, so /init insmods them in dependency order (this list's order).
MODULES="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
  drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
  net/core/failover drivers/net/net_failover drivers/net/virtio_net drivers/virtio/virtio_balloon
  drivers/input/evdev drivers/acpi/button drivers/cdrom/cdrom fs/isofs/isofs"
for m in $MODULES; do
  cp "$MODDIR/$m.ko" $R/lib/modules/
  echo "${m##*/}" >>$R/lib/modules/order
done

# busybox acpid maps the power button to /etc/acpi/PWRF/00000080.
cat >$R/etc/acpi/PWRF/00000080 <<'EOF'
#!/bin/sh
echo NUAGE-POWEROFF >/dev/console
exec poweroff -f
EOF
chmod +x $R/etc/acpi/PWRF/00000080

cat >$R/init <<'EOF'
#!/bin/sh
# nuage test guest: see scripts/README.md for the contract.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

while read -r m; do insmod "/lib/modules/$m.ko" || echo "nuage-init: insmod $m failed"; done </lib/modules/order

# Online any offline vCPU (hot-plugged ones arrive offline), now and every 0.5 s; the loop
# reports each change with a "NUAGE-VCPUS vcpus=N" line.
online_cpus() {
  n=0
  for f in /sys/devices/system/cpu/cpu[0-9]*/online; do
    [ -f "$f" ] || continue
    read -r v <"$f"
    [ "$v" = 1 ] || { echo 1 >"$f" 2>/dev/null && n=$((n + 1)); }
  done
  [ $n = 0 ] || [ -z "$1" ] || echo "NUAGE-VCPUS vcpus=$(grep -c ^processor /proc/cpuinfo)"
}
online_cpus

# NoCloud seed: the virtio disk whose ISO9660 label is "cidata".
hostname=localhost
instance_id=
net=
software=
seed=$(findfs LABEL=cidata 2>/dev/null) || seed=
if [ -n "$seed" ] && mount -t iso9660 -o ro "$seed" /seed; then
  val() { sed -n "s/^$1:[[:space:]]*//p" /seed/meta-data | tr -d "\"'\r" | sed 's/[[:space:]]*$//' | head -n1; }
  h=$(val local-hostname)
  [ -n "$h" ] && hostname=$h
  instance_id=$(val instance-id)
  # network-config (version 2): one "NUAGE-NET <iface> <address>..." line per interface it lists,
  # the addresses in order, as a guest would set them (it only says what it would configure).
  [ -f /seed/network-config ] &&
    net=$(awk '/^  [^ ].*:$/ { if (i != "") print l; i = $1; sub(/:$/, "", i); l = "NUAGE-NET " i; a = 0; next }
      /^    addresses:/ { a = 1; next } /^    [a-z]/ { a = 0 } a && /^      - / { l = l " " $2 }
      END { if (i != "") print l }' /seed/network-config)
  # user-data's cloud-config `packages`, sorted: the software a guest would install.
  [ -f /seed/user-data ] && for p in $(awk '/^packages:/{p=1;next} /^[^ ]/{p=0} p && /^  - /{print $2}' /seed/user-data | sort); do software="$software $p"; done
  umount /seed
else
  echo "nuage-init: no cidata seed found"
fi
hostname "$hostname"

# Main disk: the first virtio disk that is not the seed (normally /dev/vda). Its first sector
# holds a signature and a boot counter, rewritten (fsynced) at every boot before the marker line:
# the disk's contents that snapshots, backups and images carry. A fresh disk has no signature.
disk=none
boots=0
for d in /dev/vda /dev/vdb /dev/vdc; do
  [ -b "$d" ] && [ "$d" != "$seed" ] || continue
  if [ "$(head -c 15 "$d")" = NUAGE-DISK-USED ]; then
    disk=used
    boots=$(head -c 512 "$d" | sed -n 's/^boots=\([0-9]*\)$/\1/p' | head -n1)
  else
    disk=fresh
  fi
  boots=$((${boots:-0} + 1))
  printf 'NUAGE-DISK-USED\ninstance-id=%s\nhostname=%s\nboots=%s\n' "$instance_id" "$hostname" "$boots" |
    dd of="$d" bs=512 count=1 conv=sync,fsync 2>/dev/null
  break
done

# "NUAGE-DISKS vda=10G vdc=5G": every virtio disk but the seed, with its size (whole GiB as G,
# else M), at boot and whenever a disk comes, goes or changes size. Builtins only (no forks).
disks_seen=
report_disks() {
  line=NUAGE-DISKS
  for b in /sys/block/vd*; do
    [ -e "$b/size" ] || continue
    name=${b##*/}
    [ "/dev/$name" = "$seed" ] && continue
    read -r sectors <"$b/size"
    mib=$((sectors / 2048))
    if [ $mib -gt 0 ] && [ $((mib % 1024)) = 0 ]; then size="$((mib / 1024))G"; else size="${mib}M"; fi
    line="$line $name=$size"
  done
  [ "$line" = "$disks_seen" ] || { disks_seen=$line; echo "$line"; }
}
report_disks
# The tick is a read with a 0.5 s timeout on a fifo nobody writes: unlike `sleep` it forks
# nothing, and forks are what an idle guest spends its CPU on under TCG.
mkfifo /run/tick
(exec 3<>/run/tick; while :; do read -r -t 0.5 _x <&3; online_cpus report; report_disks; done) &

# ACPI power button -> /etc/acpi/PWRF/00000080 (prints NUAGE-POWEROFF, poweroff -f).
# acpid exits when its log file's directory is missing, so give it one that exists.
acpid -l /var/log/acpid.log

vcpus=$(grep -c ^processor /proc/cpuinfo)
mem_mb=$(awk '/^MemTotal:/{printf "%d", ($2 + 512) / 1024}' /proc/meminfo)
# The network interfaces the kernel sees (virtio_net), by name: "NUAGE-IFACES eth0 eth1".
ifaces=
for n in /sys/class/net/*; do [ "${n##*/}" = lo ] || ifaces="$ifaces ${n##*/}"; done
echo "NUAGE-IFACES$ifaces"
echo "${net:-NUAGE-NET eth0}"
echo "NUAGE-SOFTWARE$software"
echo "NUAGE-BOOTED hostname=$(hostname) vcpus=$vcpus mem_mb=$mem_mb disk=$disk boots=$boots"
while :; do sleep 3600; done
EOF
chmod +x $R/init

(cd $R && find . | busybox cpio -o -H newc 2>/dev/null | gzip -6) >initrd.img.new
cp kernel/boot/vmlinuz-* vmlinuz.new
mv vmlinuz.new "$CACHE_DIR/vmlinuz"
mv initrd.img.new "$CACHE_DIR/initrd.img"
echo "$KEY" >"$CACHE_DIR/key"
say "built vmlinuz ($(du -k "$CACHE_DIR/vmlinuz" | cut -f1) KiB), initrd.img ($(du -k "$CACHE_DIR/initrd.img" | cut -f1) KiB) in $(elapsed) s"
