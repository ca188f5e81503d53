"""Snapshots and custom images of libvirt machines: internal qcow2 snapshots of the main disk.

A snapshot is an internal snapshot of `disk.qcow2` made through libvirt, named by nuage's
snapshot id (the read-only seed is left out). A running machine's snapshot also holds its memory
(libvirt has no disk-only internal snapshot of a running domain), and libvirt then requires every
writable disk in it: attached volumes get an internal snapshot of the same name in their own
files. nuage never loads the memory nor touches the volumes: a restore needs the machine off and
applies the main disk alone (`qemu-img snapshot -a`).
That is also why a restore works after a live vCPU hot-plug, where
libvirt's own revert fails ("Unknown savevm section … cpu_common").

A custom image is a standalone qcow2 file `<images_dir>/<image>.qcow2` converted from a snapshot;
machines made from it copy it (`libvirt_files.make_disk`), so deleting it harms none of them.
Snapshots live in the machine's disk: deleting the machine (or reinstalling it, which replaces
the disk) removes them. All functions here block: the driver runs them in a thread.
"""

import importlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from nuage.domain.errors import PermanentError

from .libvirt_domain import parse_config
from .libvirt_files import (
    apply_snapshot,
    export_snapshot,
    forget_snapshot,
    grow_overlay,
    virtual_gb,
)

Domain = Any  # libvirt.virDomain
Snapshot = Any  # libvirt.virDomainSnapshot
MAIN_DISK = "vda"


def snapshot_xml(snapshot_id: str, domain_xml: str) -> str:
    """The snapshot's definition: the main disk and every other writable qcow2 disk internally
    (libvirt refuses to leave one out of a running domain's snapshot), read-only and raw disks
    (the seed) left out."""
    kinds = {}
    for disk in ET.fromstring(domain_xml).iterfind("./devices/disk"):
        target, driver = disk.find("target"), disk.find("driver")
        qcow2 = driver is not None and driver.get("type") == "qcow2"
        writable_qcow2 = qcow2 and disk.find("readonly") is None
        if target is not None:
            dev = target.get("dev", "")
            kinds[dev] = "internal" if dev == MAIN_DISK or writable_qcow2 else "no"
    disks = "".join(
        f"<disk name={quoteattr(d)} snapshot={quoteattr(k)}/>" for d, k in kinds.items()
    )
    return (
        f"<domainsnapshot><name>{escape(snapshot_id)}</name><disks>{disks}</disks></domainsnapshot>"
    )


def find(lv: Any, dom: Domain, snapshot_id: str) -> Snapshot | None:
    try:
        return dom.snapshotLookupByName(snapshot_id, 0)
    except lv.libvirtError as exc:
        if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            return None
        raise


def require(lv: Any, dom: Domain, snapshot_id: str) -> Snapshot:
    snapshot = find(lv, dom, snapshot_id)
    if snapshot is None:
        message = f"Machine {dom.name()} has no snapshot {snapshot_id}."
        raise PermanentError(message, code="snapshot_not_found")
    return snapshot


def disk_gb(machine_id: str, snapshot: Snapshot) -> int:
    """The main disk's size when the snapshot was taken (nuage's metadata in its domain copy)."""
    domain = ET.fromstring(snapshot.getXMLDesc(0)).find("domain")
    assert domain is not None, "libvirt keeps the domain's definition in each snapshot"
    return parse_config(machine_id, ET.tostring(domain, encoding="unicode")).disk_gb


def create(lv: Any, dom: Domain, snapshot_id: str) -> Snapshot:
    """The snapshot `snapshot_id` of the machine now (the existing one when it was made)."""
    existing = find(lv, dom, snapshot_id)
    if existing is not None:
        return existing
    xml = snapshot_xml(snapshot_id, dom.XMLDesc(0))  # live: with hot-plugged volumes
    return dom.snapshotCreateXML(xml, 0)


def delete(lv: Any, dom: Domain, snapshot_id: str, *, disk: Path) -> None:
    """Remove the snapshot from the disks, then libvirt's record of it. Not libvirt's own
    delete: libvirt 9.0's daemon crashed deleting a running domain's snapshot that named a
    volume detached since. Running: QEMU's `delvm` (every attached disk that has it); off:
    `qemu-img snapshot -d` on the main disk. A volume detached since keeps its copy (unused)."""
    snapshot = find(lv, dom, snapshot_id)
    if snapshot is None:
        return
    if dom.isActive():
        qemu = importlib.import_module("libvirt_qemu")
        flags = qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
        reply = str(qemu.qemuMonitorCommand(dom, f"delvm {snapshot_id}", flags) or "")
        if reply.strip() and not any(w in reply.lower() for w in ("not found", "not find")):
            raise PermanentError(
                f"QEMU could not delete the snapshot: {reply.strip()}", code="disk_error"
            )
    else:
        forget_snapshot(disk, snapshot_id)
    snapshot.delete(lv.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)


def forget_all(lv: Any, dom: Domain) -> None:
    """Drop libvirt's record of every snapshot, whose disk a reinstall has just replaced."""
    for snapshot in dom.listAllSnapshots(0):
        snapshot.delete(lv.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)


def restore(lv: Any, dom: Domain, snapshot_id: str, *, disk: Path, disk_gb: int) -> None:
    """Apply the snapshot to the stopped machine's disk, kept at the machine's size `disk_gb`
    (qcow2 takes back the size the disk had then: a disk grown since is grown again)."""
    require(lv, dom, snapshot_id)
    if dom.isActive():
        message = f"Machine {dom.name()} must be stopped to restore a snapshot."
        raise PermanentError(message, code="machine_running")
    apply_snapshot(disk, snapshot_id)
    if virtual_gb(disk) < disk_gb:
        grow_overlay(disk, disk_gb)


def export(lv: Any, dom: Domain, snapshot_id: str, *, disk: Path, target: Path) -> None:
    """The snapshot's disk as the image file `target`, unless that is already there."""
    require(lv, dom, snapshot_id)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        export_snapshot(disk, snapshot_id, target)
