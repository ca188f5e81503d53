"""Copies of simulated disks: snapshots (kept with their machine) and custom images.

A simulated disk's contents are its boot counter (`MachineState.boots`, as the test guest keeps
one on its disk); a copy holds them with the disk's size. Layout under the state directory:

    snapshots/<machine_id>/<snapshot_id>.json   a snapshot (goes with its machine)
    images/<image>.json                         a custom image (outlives the machine)

Files are replaced atomically (temp file + rename), so a copy is complete or absent.
"""

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from nuage.domain.errors import PermanentError
from nuage.domain.images import is_custom_image

from .sim_state import read_json, write_json_atomic


@dataclass(frozen=True)
class DiskCopy:
    boots: int  # the disk's contents
    disk_gb: int  # its size when copied: what a disk made from it needs at least


class SnapshotStore:
    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "snapshots"

    def _path(self, machine_id: str, snapshot_id: str) -> Path:
        return self._dir / machine_id / f"{snapshot_id}.json"

    def load(self, machine_id: str, snapshot_id: str) -> DiskCopy | None:
        data = read_json(self._path(machine_id, snapshot_id))
        return None if data is None else DiskCopy(**data)

    def require(self, machine_id: str, snapshot_id: str) -> DiskCopy:
        found = self.load(machine_id, snapshot_id)
        if found is None:
            message = f"Machine {machine_id} has no snapshot {snapshot_id}."
            raise PermanentError(message, code="snapshot_not_found")
        return found

    def save(self, machine_id: str, snapshot_id: str, copy: DiskCopy) -> None:
        write_json_atomic(self._path(machine_id, snapshot_id), asdict(copy))

    def remove(self, machine_id: str, snapshot_id: str) -> None:
        self._path(machine_id, snapshot_id).unlink(missing_ok=True)

    def remove_all(self, machine_id: str) -> None:
        shutil.rmtree(self._dir / machine_id, ignore_errors=True)


class ImageStore:
    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "images"

    def _path(self, image: str) -> Path:
        return self._dir / f"{image}.json"

    def load(self, image: str) -> DiskCopy | None:
        data = read_json(self._path(image))
        return None if data is None else DiskCopy(**data)

    def save(self, image: str, copy: DiskCopy) -> None:
        write_json_atomic(self._path(image), asdict(copy))

    def remove(self, image: str) -> None:
        if not is_custom_image(image):
            message = f"{image!r} is an operator's base image, not a custom image."
            raise PermanentError(message, code="not_a_custom_image")
        self._path(image).unlink(missing_ok=True)

    def boots_of(self, image: str) -> int:
        """The boot counter a fresh disk from `image` starts with: a custom image's, else 0 (the
        simulator has every base image). PermanentError `image_not_available` for a custom image
        that is gone."""
        if not is_custom_image(image):
            return 0
        found = self.load(image)
        if found is None:
            raise PermanentError(f"No image {image!r}.", code="image_not_available")
        return found.boots
