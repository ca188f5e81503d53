"""Rules about instances: names, hostnames, resizes and the state a task leaves behind."""

import re

from nuage.domain.enums import InstanceStatus
from nuage.domain.errors import ValidationFailed
from nuage.domain.machines import disk_may_become, is_hostname

NAME_MAX = 64


def validate_hostname(hostname: str, *, field: str = "hostname") -> str:
    """An RFC 1123 host name: dot-separated labels of a-z, 0-9 and inner hyphens, ≤ 253 chars."""
    value = hostname.strip().lower()
    if not is_hostname(value):
        raise ValidationFailed.on(
            field,
            "Enter a valid hostname: letters, digits and hyphens in dot-separated labels of "
            "at most 63 characters, not starting or ending with a hyphen.",
        )
    return value


def hostname_from_name(name: str) -> str:
    """A default hostname derived from an instance name ("My Web 1" → "my-web-1")."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "instance"


def validate_name(name: str) -> str:
    value = name.strip()
    if not value or len(value) > NAME_MAX:
        raise ValidationFailed.on("name", f"Enter a name of 1 to {NAME_MAX} characters.")
    return value


def check_resize(*, current_disk_gb: int, target_disk_gb: int) -> None:
    """The request's side of `disk_may_become`: a 400 naming the size."""
    if not disk_may_become(current_gb=current_disk_gb, target_gb=target_disk_gb):
        raise ValidationFailed.on(
            "size_id",
            f"The target size has a {target_disk_gb} GB disk, smaller than the instance's "
            f"{current_disk_gb} GB; disks cannot shrink.",
        )


# An instance is live until it is deleted; its row stays for its tasks' history. The database
# side of this rule is `Instance.is_live` (db/models.py), built from the same constant.
NOT_LIVE = InstanceStatus.DELETED
LIVE_STATUSES: frozenset[InstanceStatus] = frozenset(InstanceStatus) - {NOT_LIVE}
