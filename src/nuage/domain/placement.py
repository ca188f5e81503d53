"""Placement: which host of a location takes a new instance. Pure; the engine feeds it rows."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from nuage.domain.enums import HostState


@dataclass(frozen=True, slots=True)
class Resources:
    """vCPUs, memory in MiB, disk in GiB."""

    vcpu: int
    ram_mb: int
    disk_gb: int

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(
            self.vcpu - other.vcpu, self.ram_mb - other.ram_mb, self.disk_gb - other.disk_gb
        )

    def fits(self, need: "Resources") -> bool:
        return (
            need.vcpu <= self.vcpu and need.ram_mb <= self.ram_mb and need.disk_gb <= self.disk_gb
        )


@dataclass(frozen=True, slots=True)
class HostLoad:
    host_id: UUID
    name: str
    state: HostState
    capacity: Resources
    allocated: Resources

    @property
    def free(self) -> Resources:
        return self.capacity - self.allocated


def choose_host(hosts: Sequence[HostLoad], need: Resources) -> HostLoad | None:
    """The enabled host with room for `need` that keeps the most memory free (then vCPUs, then
    disk; then name, so the choice is deterministic): new instances spread over the hosts."""
    fitting = [h for h in hosts if h.state is HostState.ENABLED and h.free.fits(need)]
    if not fitting:
        return None
    return max(fitting, key=lambda h: (h.free.ram_mb, h.free.vcpu, h.free.disk_gb, h.name))
