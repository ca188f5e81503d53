#!/usr/bin/env bash
# Make this machine able to run libvirt/QEMU test guests: install the packages, create what the
# system package would (users, dirs, qemu.conf), and start virtlogd + libvirtd without systemd.
# Idempotent; with everything present it only checks and exits (well under 2 s).
# Root only. Facts behind each step: shared notes "libvirt-here.md".
set -euo pipefail

URI=qemu:///system
LOG_DIR=/var/log/libvirt
PACKAGES=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  tini iptables        # tini: subreaper for the daemons; iptables: needed before libvirtd starts
  libvirt-dev pkg-config gcc libc6-dev  # to compile the libvirt-python binding (sdist only)
  busybox-static genisoimage  # the test guest's initramfs and its NoCloud seed ISO
)

t0=$(date +%s.%N)
say() { echo "libvirt-setup: $*"; }
die() { echo "libvirt-setup: ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO (exit $?)"' ERR

[ "$(id -u)" = 0 ] || die "must run as root"
exec 9>/run/nuage-libvirt-setup.lock
flock 9 # parallel callers (test workers) wait here instead of starting two daemons

# 1. Packages (without recommends: with them libvirt pulls in systemd and ~225 packages).
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package lists may be absent or stale on a fresh machine: update once if the install fails.
  apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/libvirt-setup-apt.log 2>&1; }
  if ! apt_install; then
    say "apt-get install failed; running apt-get update and retrying"
    apt-get update -q >/dev/null 2>&1 || die "apt-get update failed"
    apt_install || die "apt-get install failed, see /tmp/libvirt-setup-apt.log"
  fi
fi

# 2. What libvirt-daemon-system would create: groups, the libvirt-qemu user, directories.
getent group kvm >/dev/null || { groupadd --system kvm; say "created group kvm"; }
getent group libvirt-qemu >/dev/null || { groupadd --system libvirt-qemu; say "created group libvirt-qemu"; }
if ! getent passwd libvirt-qemu >/dev/null; then
  useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
    -g libvirt-qemu -G kvm libvirt-qemu
  say "created user libvirt-qemu"
fi
# libvirtd -d exits silently when /var/log/libvirt is missing.
mkdir -p /etc/libvirt /var/lib/libvirt/images /var/lib/libvirt/qemu "$LOG_DIR/qemu" /var/cache/libvirt

# 3. QEMU runs as root, so it can open disks and logs under 0700 test directories.
conf=/etc/libvirt/qemu.conf
conf_changed=0
touch "$conf"
if ! grep -qx 'user = "root"' "$conf" || ! grep -qx 'group = "root"' "$conf"; then
  sed -i -E '/^[[:space:]]*(user|group)[[:space:]]*=/d' "$conf"
  printf 'user = "root"\ngroup = "root"\n' >>"$conf"
  conf_changed=1
  say "set user/group = root in $conf"
fi

# 4. /dev/kvm is root-only here, which makes libvirt re-probe QEMU on every lookup (define took
# 72 s). We never use KVM (guests are type='qemu'), but the permissions must still be sane.
if [ -e /dev/kvm ] && [ "$(stat -c '%U:%G %a' /dev/kvm)" != "root:kvm 660" ]; then
  chown root:kvm /dev/kvm && chmod 0660 /dev/kvm
  say "fixed /dev/kvm to root:kvm 0660"
fi

# 5. Daemons. Each runs in the foreground under `tini -s` (a child subreaper): QEMU processes
# that libvirt orphans are then reaped at once instead of by this machine's slow PID 1
# (destroy: 2 s -> 0.2 s). setsid detaches them from our session and terminal.
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
start_daemon() { # name pidfile
  # Give the daemon none of our fds (stdio, the lock on fd 9): callers must not hang on them.
  setsid tini -s -- "$1" </dev/null >>"$LOG_DIR/$1.out" 2>&1 9>&- &
  local i
  for i in $(seq 100); do alive "$2" && { say "started $1 (pid $(cat "$2"))"; return 0; }; sleep 0.05; done
  die "$1 did not start; see $LOG_DIR/$1.out"
}
if [ $conf_changed = 1 ] && alive /run/libvirtd.pid; then
  # The running daemon still has the old qemu.conf: stop it so it restarts below.
  pid=$(cat /run/libvirtd.pid); kill "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  say "stopped libvirtd $pid to reload $conf"
fi
alive /run/virtlogd.pid || start_daemon virtlogd /run/virtlogd.pid
alive /run/libvirtd.pid || start_daemon libvirtd /run/libvirtd.pid

# 6. Wait until the API answers (the socket appears a little after the pidfile).
for _ in $(seq 200); do
  if ver=$(virsh -c "$URI" version 2>/dev/null); then
    say "$URI up: $(echo "$ver" | grep -E 'Running hypervisor' | sed 's/^Running hypervisor: //')" \
      "($(echo "$ver" | grep -E 'Using library' | sed 's/^Using library: //'))"
    say "done in $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}") s"
    exit 0
  fi
  sleep 0.1
done
die "$URI does not answer after 20 s; see $LOG_DIR/libvirtd.out"
