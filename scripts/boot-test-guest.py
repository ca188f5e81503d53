#!/usr/bin/env python3
"""Boot the nuage test guest with bare libvirt-python: define + start + wait for the marker.

This is the smoke test of scripts/libvirt-setup.sh + scripts/build-test-guest.sh, and the
baseline a benchmark compares the nuage driver against. It creates a qcow2 overlay of
CACHE/base.qcow2 and a NoCloud seed ISO in WORKDIR, defines and starts a domain, waits for the
NUAGE-BOOTED line in the serial log, prints the boot time and the marker, then destroys,
undefines and removes its files. With --lifecycle it also checks vCPU hot-plug, ACPI reboot,
ACPI shutdown, a second boot of the same disk and a redefinition with more vCPUs and memory.

Run it with the venv's Python once libvirt-python is installed there:
    .venv/bin/python scripts/boot-test-guest.py --cache ~/.cache/nuage/test-guest --hostname t1
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import libvirt

MARKER = re.compile(rb"NUAGE-BOOTED hostname=(\S+) vcpus=(\d+) mem_mb=(\d+) disk=(fresh|used|none) boots=(\d+)")


def domain_xml(name, uuid_, cache, disk, seed, log, vcpus, max_vcpus, mem_mb, virt_type="qemu"):
    """The test guest's domain. type='qemu' (TCG): KVM is broken on these machines."""
    e = lambda p: escape(str(p), {"'": "&apos;"})  # noqa: E731
    return f"""<domain type='{virt_type}'>
  <name>{e(name)}</name>
  <uuid>{uuid_}</uuid>
  <memory unit='MiB'>{mem_mb}</memory>
  <currentMemory unit='MiB'>{mem_mb}</currentMemory>
  <vcpu placement='static' current='{vcpus}'>{max_vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{e(Path(cache, "vmlinuz"))}</kernel>
    <initrd>{e(Path(cache, "initrd.img"))}</initrd>
    <cmdline>console=ttyS0 quiet no_timer_check</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{e(disk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{e(seed)}'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='pty'>
      <log file='{e(log)}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>"""


def make_seed(path, instance_id, hostname):
    """NoCloud seed: ISO9660 labelled 'cidata' (Rock Ridge + Joliet keep the file names)."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n")
        Path(d, "user-data").write_text("#cloud-config\n")
        subprocess.run(
            ["genisoimage", "-quiet", "-output", str(path), "-volid", "cidata",
             "-joliet", "-rock", f"{d}/meta-data", f"{d}/user-data"],
            check=True,
        )  # fmt: skip


def make_overlay(base, path):
    # The backing file is referenced by absolute path; base.qcow2 must never be written.
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(path)],
        check=True,
    )


def log_size(log):
    return log.stat().st_size if log.exists() else 0


def wait_for(log, pattern, offset, timeout):
    """Poll the serial log from byte `offset` until `pattern` appears; return the match."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            with log.open("rb") as f:
                f.seek(offset)
                m = re.search(pattern, f.read())
                if m:
                    return m
        time.sleep(0.02)
    tail = log.read_bytes()[-2000:].decode(errors="replace") if log.exists() else "(no log)"
    sys.exit(f"timeout after {timeout} s waiting for {pattern!r}; serial log tail:\n{tail}")


def wait_state(dom, state, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dom.state()[0] == state:
            return
        time.sleep(0.05)
    sys.exit(f"timeout after {timeout} s waiting for state {state}, have {dom.state()}")


def check_marker(m, hostname, vcpus, mem_mb, disk):
    host, v, mem, d, _boots = (g.decode() for g in m.groups())
    # MemTotal is below the configured size: the kernel keeps ~34 MiB + ~1.6 % for itself.
    low = mem_mb * 0.97 - 40
    ok = host == hostname and int(v) == vcpus and low <= int(mem) <= mem_mb and d == disk
    if not ok:
        sys.exit(f"unexpected marker {m.group(0).decode()!r}: want {hostname=} {vcpus=} "
                 f"{low:.0f}<=mem_mb<={mem_mb} {disk=}")  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_cache = Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "nuage/test-guest"
    )
    ap.add_argument("--cache", type=Path, default=default_cache)
    ap.add_argument("--uri", default="qemu:///system")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir(), "nuage-boot"))
    ap.add_argument("--hostname", default="t1")
    ap.add_argument("--vcpus", type=int, default=1)
    ap.add_argument("--mem-mb", type=int, default=128)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--lifecycle", action="store_true", help="also run the lifecycle checks")
    ap.add_argument("--print-xml", action="store_true", help="print the domain XML used")
    a = ap.parse_args()

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors come as exceptions
    cache = a.cache.resolve()
    a.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{a.hostname}-", dir=a.workdir)).resolve()
    name = f"nuage-boot-{work.name}"
    disk, seed, log = work / "disk.qcow2", work / "seed.iso", work / "serial.log"
    conn = libvirt.open(a.uri)
    dom = None
    dom_uuid = str(uuid.uuid4())  # fixed, so that a redefinition updates the same domain

    def define_and_start(vcpus, max_vcpus, mem_mb):
        xml = domain_xml(name, dom_uuid, cache, disk, seed, log, vcpus, max_vcpus, mem_mb)
        if a.print_xml:
            print(xml)
        d = conn.defineXML(xml)
        d.create()
        return d

    try:
        t0 = time.monotonic()
        make_overlay(cache / "base.qcow2", disk)
        make_seed(seed, f"iid-{uuid.uuid4()}", a.hostname)
        t1 = time.monotonic()
        max_vcpus = max(a.vcpus, 2) if a.lifecycle else a.vcpus
        dom = define_and_start(a.vcpus, max_vcpus, a.mem_mb)
        t2 = time.monotonic()
        m = wait_for(log, MARKER, 0, a.timeout)
        t3 = time.monotonic()
        print(f"boot: {t3 - t0:.2f} s (files {t1 - t0:.2f} s, define+start {t2 - t1:.2f} s, "
              f"to marker {t3 - t2:.2f} s)")  # fmt: skip
        print(m.group(0).decode())
        check_marker(m, a.hostname, a.vcpus, a.mem_mb, "fresh")
        if a.lifecycle:
            lifecycle(conn, dom, log, a, define_and_start)
    finally:
        t = time.monotonic()
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        shutil.rmtree(work, ignore_errors=True)
        conn.close()
        if dom is not None:
            print(f"destroy+undefine: {time.monotonic() - t:.2f} s")


def lifecycle(conn, dom, log, a, define_and_start):
    def step(label, t):
        print(f"  {label}: {time.monotonic() - t:.2f} s")

    vcpus = a.vcpus
    if vcpus < 2:  # live vCPU hot-plug: the guest onlines it and says so
        t, off = time.monotonic(), log_size(log)
        dom.setVcpusFlags(vcpus + 1, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        vcpus += 1
        m = wait_for(log, rb"NUAGE-VCPUS vcpus=(\d+)", off, 10)
        assert int(m.group(1)) == vcpus, m.group(0)
        step(f"vCPU hot-plug -> {m.group(0).decode()}", t)

    t, off = time.monotonic(), log_size(log)  # ACPI reboot: power button + libvirt's fake reboot
    dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
    m = wait_for(log, MARKER, off, a.timeout)
    check_marker(m, a.hostname, vcpus, a.mem_mb, "used")
    step(f"ACPI reboot -> {m.group(0).decode()}", t)

    t, off = time.monotonic(), log_size(log)  # ACPI power-off
    dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    wait_state(dom, libvirt.VIR_DOMAIN_SHUTOFF, 10)
    wait_for(log, rb"NUAGE-POWEROFF", off, 1)
    step("ACPI shutdown -> NUAGE-POWEROFF, shut off", t)

    t, off = time.monotonic(), log_size(log)  # second boot of the same overlay
    dom.create()
    m = wait_for(log, MARKER, off, a.timeout)
    check_marker(m, a.hostname, a.vcpus, a.mem_mb, "used")
    step(f"second boot -> {m.group(0).decode()}", t)

    t = time.monotonic()  # redefine bigger (offline resize)
    dom.destroy()
    off = log_size(log)
    dom = define_and_start(2, 2, 192)
    m = wait_for(log, MARKER, off, a.timeout)
    check_marker(m, a.hostname, 2, 192, "used")
    step(f"redefine 2 vCPUs/192 MiB -> {m.group(0).decode()}", t)
    print("lifecycle: all checks passed")


if __name__ == "__main__":
    main()
