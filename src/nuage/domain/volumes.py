"""What every driver checks before it acts on a volume, and how volumes are named on a machine.

A volume is a disk of its own, kept apart from any machine: it is attached to at most one machine
at a time, as a virtio disk. The machine's own disk is `vda` and its cloud-init seed `vdb`, so
volumes take the first free device from `vdc` on. Volumes only grow, like machine disks
(`domain.machines.disk_may_become`).
"""

import string

from nuage.domain.errors import PermanentError
from nuage.domain.machines import check_file_name

VOLUME_DEVICES = tuple(f"vd{letter}" for letter in string.ascii_lowercase[2:])  # vdc … vdz


def check_volume_id(volume_id: str) -> None:
    """Refuse ids that could not be a plain file name (drivers name the volume's file by it)."""
    check_file_name(volume_id, "volume id", "invalid_volume_id")


def check_volume_size(size_gb: int) -> None:
    if size_gb < 1:
        raise PermanentError(f"A volume has at least 1 GiB, not {size_gb}.", code="invalid_spec")


def first_free_device(used: set[str]) -> str:
    """The device a newly attached volume takes; PermanentError `no_free_device` when all of
    vdc … vdz are taken."""
    for device in VOLUME_DEVICES:
        if device not in used:
            return device
    message = f"The machine has no free device for another volume ({len(used)} in use)."
    raise PermanentError(message, code="no_free_device")
