"""What every hypervisor driver checks before it acts on a machine: ids, sizes, hostnames, growth.

These rules hold for every driver alike, so they live here once. They raise `PermanentError`
(retrying cannot help) with the codes the driver contract promises; the API checks the same
things earlier with field errors (`domain.instances`), so a request never reaches a driver with
input these would refuse.
"""

import re
from collections.abc import Sequence

from nuage.domain.errors import PermanentError

_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def is_hostname(value: str) -> bool:
    """RFC 1123: dot-separated labels of letters, digits and inner hyphens, ≤ 63 characters
    each and ≤ 253 in all."""
    labels = value.split(".")
    return 0 < len(value) <= 253 and all(_HOSTNAME_LABEL.fullmatch(label) for label in labels)


def check_file_name(value: str, what: str, code: str) -> None:
    """Refuse a name that could not be a plain file, domain or snapshot name (drivers build
    those from machine, backup, snapshot, image and volume names): PermanentError `code`."""
    if not value or value.startswith(".") or not set(value) <= _ID_CHARS:
        raise PermanentError(f"Invalid {what} {value!r}.", code=code)


def check_machine_id(machine_id: str) -> None:
    check_file_name(machine_id, "machine id", "invalid_machine_id")


def check_backup_id(backup_id: str) -> None:
    check_file_name(backup_id, "backup id", "invalid_backup_id")


def check_snapshot_id(snapshot_id: str) -> None:
    check_file_name(snapshot_id, "snapshot id", "invalid_snapshot_id")


def check_image_name(image: str) -> None:
    check_file_name(image, "image name", "invalid_image_name")


def check_sizes(*, vcpu: int, ram_mb: int, disk_gb: int) -> None:
    if min(vcpu, ram_mb, disk_gb) < 1:
        raise PermanentError(
            f"Sizes must be positive (vcpu={vcpu}, ram_mb={ram_mb}, disk_gb={disk_gb}).",
            code="invalid_spec",
        )


def check_hostname(hostname: str) -> None:
    if not is_hostname(hostname):
        raise PermanentError(f"Invalid hostname {hostname!r}.", code="invalid_spec")


def disk_may_become(*, current_gb: int, target_gb: int) -> bool:
    """Disks only grow: shrinking would destroy data the guest still addresses."""
    return target_gb >= current_gb


def check_disk_growth(*, current_gb: int, target_gb: int) -> None:
    """The driver's side of `disk_may_become`: a shrink that reached a driver is a bug upstream."""
    if not disk_may_become(current_gb=current_gb, target_gb=target_gb):
        message = f"Disks only grow ({current_gb} GiB to {target_gb} GiB refused)."
        raise PermanentError(message, code="disk_shrink_refused")


_PACKAGE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,49}")  # a Debian package name (policy 5.6.1)


def software_set(packages: Sequence[str]) -> tuple[str, ...]:
    """The packages a machine is to have, sorted and without repeats (the order the guest prints
    them in); PermanentError `invalid_spec` for a name a package manager would refuse (a name
    goes into the guest's cloud-config as it is)."""
    bad = [p for p in packages if not _PACKAGE.fullmatch(p)]
    if bad:
        raise PermanentError(f"Invalid package names {bad!r}.", code="invalid_spec")
    return tuple(sorted(set(packages)))
