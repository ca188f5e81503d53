"""A size's volume and pricing options are objects of their own, each with its own id.

The ids are derived from the size's id and what makes the option distinct, so that every
installation gives the default catalogue's options the same ids. A derivation, once used, must
never change: clients cache by id, and migrations rely on it.
"""

from uuid import UUID, uuid5


def volume_option_id(size_id: UUID, volume_type: str, disk_gb: int) -> UUID:
    return uuid5(size_id, f"volume:{volume_type}:{disk_gb}")


def pricing_option_id(size_id: UUID, billing_cycle: str) -> UUID:
    return uuid5(size_id, f"pricing:{billing_cycle}")
