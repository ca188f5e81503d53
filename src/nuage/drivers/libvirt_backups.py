"""Backups of libvirt machines: full qcow2 copies of the main disk in the host's backup store.

Layout: `<store>/<machine_id>/<backup_id>.qcow2`; a copy under way is
`<store>/<machine_id>/.<backup_id>.qcow2.partial`, fsynced and renamed when complete, so a
crash never leaves half a backup under a backup's name (the next attempt starts the copy again).

A consistent state: a stopped machine's disk is copied as it is (qemu-img takes the image's
lock, so a guest started meanwhile makes the copy fail rather than tear it); a running one's
from an internal snapshot `nuage-backup-<backup_id>` made for the copy and deleted after it. A
snapshot left by a crashed attempt is used again: the backup is of the moment it was taken.

Restore writes the backup's contents into the existing disk file (`qemu-img convert -n`), so
the disk keeps its size, its backing image and the internal snapshots that live in it (a disk
grown since the backup keeps what its added tail holds: the backup had no such part).

Everything here blocks: the driver runs it in a thread, and translates libvirt errors.
"""

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nuage.domain.errors import PermanentError

from .base import MachineInfo
from .capabilities import BackupInfo
from .libvirt_files import MachineFiles, fsync, publish, run_tool
from .libvirt_snapshots import find

Domain = Any  # libvirt.virDomain
_GIB = 1024**3
_COPY_TIMEOUT_S = 3600.0  # a full copy of a large disk


@dataclass(frozen=True)
class BackupFiles:
    store: Path
    machine_id: str
    backup_id: str

    @property
    def final(self) -> Path:
        return self.store.resolve() / self.machine_id / f"{self.backup_id}.qcow2"

    @property
    def partial(self) -> Path:
        return self.final.with_name(f".{self.backup_id}.qcow2.partial")

    def remove(self) -> None:
        self.final.unlink(missing_ok=True)
        self.partial.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # kept while it holds other backups
            self.final.parent.rmdir()


class LibvirtBackups:
    """The backup operations of `LibvirtDriver`, which passes how it finds a machine."""

    def __init__(
        self,
        *,
        lv: Any,
        store: Path,
        lookup: Callable[[str], Domain | None],
        files: Callable[[str], MachineFiles],
        info: Callable[[Domain], MachineInfo],
    ) -> None:
        self._lv = lv
        self._store = store
        self._lookup = lookup
        self._files = files
        self._info = info

    def create(self, machine_id: str, backup_id: str) -> BackupInfo:
        backup = BackupFiles(self._store, machine_id, backup_id)
        dom = self._lookup(machine_id)
        if not backup.final.is_file():
            if dom is None:
                raise PermanentError(f"No machine {machine_id}.", code="machine_not_found")
            snapshot = self._consistent_point(dom, backup_id)
            _copy(self._files(machine_id).disk, backup, snapshot=snapshot)
        if dom is not None:
            self._drop_snapshot(dom, backup_id)
        return _info(backup)

    def delete(self, machine_id: str, backup_id: str) -> None:
        dom = self._lookup(machine_id)
        if dom is not None:
            self._drop_snapshot(dom, backup_id)  # left by a copy that never finished
        BackupFiles(self._store, machine_id, backup_id).remove()

    def restore(self, machine_id: str, backup_id: str) -> MachineInfo:
        dom = self._lookup(machine_id)
        if dom is None:
            raise PermanentError(f"No machine {machine_id}.", code="machine_not_found")
        backup = BackupFiles(self._store, machine_id, backup_id)
        if not backup.final.is_file():
            message = f"No backup {backup_id} of machine {machine_id} in {self._store}."
            raise PermanentError(message, code="backup_not_found")
        if dom.isActive():
            message = f"Machine {machine_id} must be stopped to restore a backup."
            raise PermanentError(message, code="machine_running")
        disk = self._files(machine_id).disk
        if _virtual_size(backup.final) > _virtual_size(disk):
            message = f"Backup {backup_id} is larger than machine {machine_id}'s disk."
            raise PermanentError(message, code="backup_too_large")
        argv = ["qemu-img", "convert", "-n", "-f", "qcow2", "-O", "qcow2"]
        run_tool(*argv, str(backup.final), str(disk), timeout=_COPY_TIMEOUT_S)
        fsync(disk)
        return self._info(dom)

    def _consistent_point(self, dom: Domain, backup_id: str) -> str | None:
        """The internal snapshot to copy from (made now if the machine runs), or None: copy
        the stopped machine's disk as it is."""
        name = _snapshot_name(backup_id)
        if self._snapshot(dom, name) is not None:
            return name
        if not dom.isActive():
            return None
        xml = f"<domainsnapshot><name>{name}</name><description>nuage backup</description>"
        dom.snapshotCreateXML(xml + "</domainsnapshot>", self._lv.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC)
        return name

    def _drop_snapshot(self, dom: Domain, backup_id: str) -> None:
        snapshot = self._snapshot(dom, _snapshot_name(backup_id))
        if snapshot is not None:
            snapshot.delete(0)

    def _snapshot(self, dom: Domain, name: str) -> Any:
        return find(self._lv, dom, name)


def _snapshot_name(backup_id: str) -> str:
    return f"nuage-backup-{backup_id}"


def _copy(disk: Path, backup: BackupFiles, *, snapshot: str | None) -> None:
    """A standalone qcow2 copy of `disk` (its backing chain flattened) as `backup.final`."""
    backup.partial.parent.mkdir(parents=True, exist_ok=True)
    backup.partial.unlink(missing_ok=True)  # a crashed attempt's: start the copy again
    argv = ["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2"]
    if snapshot is not None:  # the running guest holds the image's write lock: share it
        argv += ["-U", "-l", f"snapshot.name={snapshot}"]
    run_tool(*argv, str(disk), str(backup.partial), timeout=_COPY_TIMEOUT_S)
    publish(backup.partial, backup.final)


def _info(backup: BackupFiles) -> BackupInfo:
    size_gb = -(-_virtual_size(backup.final) // _GIB)
    return BackupInfo(
        backup_id=backup.backup_id,
        machine_id=backup.machine_id,
        size_gb=size_gb,
        external_id=str(backup.final),
    )


def _virtual_size(image: Path) -> int:
    out = run_tool("qemu-img", "info", "-U", "--output=json", str(image))
    return int(json.loads(out)["virtual-size"])
