"""The simulated hypervisor's backup store: full copies of machines' disk contents, apart from the
machines (a backup outlives its machine).

Layout under the store directory (`SimSettings.backup_store`, a directory per host):

    <machine_id>/<backup_id>.json             a complete backup
    <machine_id>/.<backup_id>.json.partial    a copy under way: written, fsynced, then renamed

A copy takes the driver's latency while only the partial file exists, so a process killed in
the middle of it leaves that file, never half a backup under the backup's name; the next
attempt starts the copy again from the machine's disk.
"""

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from .capabilities import BackupInfo
from .sim_state import MachineState

# What a machine's disk holds, of its state: a backup copies these and a restore writes them back.
DISK_CONTENTS = ("boots",)


@dataclass(frozen=True)
class SimBackup:
    backup_id: str
    machine_id: str
    disk_gb: int
    contents: dict[str, Any]

    @classmethod
    def of(cls, machine: MachineState, backup_id: str) -> "SimBackup":
        contents = {name: getattr(machine, name) for name in DISK_CONTENTS}
        return cls(backup_id, machine.machine_id, machine.disk_gb, contents)

    def write_over(self, machine: MachineState) -> None:
        for name, value in self.contents.items():
            setattr(machine, name, value)


class SimBackupStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, machine_id: str, backup_id: str) -> Path:
        return self._root / machine_id / f"{backup_id}.json"

    def partial(self, machine_id: str, backup_id: str) -> Path:
        return self._root / machine_id / f".{backup_id}.json.partial"

    def load(self, machine_id: str, backup_id: str) -> SimBackup | None:
        try:
            text = self.path(machine_id, backup_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return SimBackup(**cast(dict[str, Any], json.loads(text)))

    def begin(self, backup: SimBackup) -> None:
        """The copy's first half, under the partial name (a crashed attempt's is replaced)."""
        data = json.dumps(asdict(backup)).encode()
        partial = self.partial(backup.machine_id, backup.backup_id)
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data[: len(data) // 2])

    def complete(self, backup: SimBackup) -> None:
        """The whole copy, fsynced, then renamed to the backup's name."""
        partial = self.partial(backup.machine_id, backup.backup_id)
        with partial.open("wb") as f:
            f.write(json.dumps(asdict(backup)).encode())
            f.flush()
            os.fsync(f.fileno())
        partial.replace(self.path(backup.machine_id, backup.backup_id))

    def remove(self, machine_id: str, backup_id: str) -> None:
        self.path(machine_id, backup_id).unlink(missing_ok=True)
        self.partial(machine_id, backup_id).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # kept while it holds other backups
            (self._root / machine_id).rmdir()


def backup_info(backup: SimBackup, store: SimBackupStore) -> BackupInfo:
    return BackupInfo(
        backup_id=backup.backup_id,
        machine_id=backup.machine_id,
        size_gb=backup.disk_gb,
        external_id=str(store.path(backup.machine_id, backup.backup_id)),
    )
