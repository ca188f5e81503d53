"""The hypervisor driver protocol: what the engine asks of a hypervisor, and nothing more.

Contracts every driver keeps (checked by tests/drivers, one suite over every implementation):
- Idempotent: any operation may be called again after a crash and converges. `create` of an
  existing machine returns it; `delete` of a missing one succeeds; `start` of a running one and
  `stop` of a stopped one return its state unchanged.
- Typed failures: a driver raises only `TransientError` (worth retrying: host unreachable, timeout,
  lock held) or `PermanentError` (retrying cannot help: machine missing, wrong power state, bad
  spec), each with a stable `code`; foreign exceptions are translated at this boundary.
- No database: a driver knows machines by `machine_id` (the instance's id) and nothing of tenants.
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from nuage.domain.enums import PowerState


@dataclass(frozen=True, slots=True)
class MachineSpec:
    """What a machine should be. Sizes in MiB (memory) and GiB (disk)."""

    machine_id: str
    name: str
    hostname: str
    vcpu: int
    ram_mb: int
    disk_gb: int
    image: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """What a machine is, as the hypervisor reports it."""

    machine_id: str
    power: PowerState
    vcpu: int
    ram_mb: int
    disk_gb: int
    hostname: str
    image: str
    disk_id: str  # changes when the disk is replaced (reinstall)
    ipv4: tuple[str, ...] = field(default=())
    ipv6: tuple[str, ...] = field(default=())


@runtime_checkable
class Driver(Protocol):
    name: str

    async def create(self, spec: MachineSpec) -> MachineInfo:
        """Define the machine with a fresh disk from `spec.image` and power it on."""
        ...

    async def delete(self, machine_id: str) -> None:
        """Power off and remove the machine with its disks; a missing machine is not an error."""
        ...

    async def inspect(self, machine_id: str) -> MachineInfo | None:
        """The machine's current state, or None if the hypervisor has no such machine."""
        ...

    async def start(self, machine_id: str) -> MachineInfo: ...

    async def stop(self, machine_id: str) -> MachineInfo:
        """Power off at once (pulling the plug)."""
        ...

    async def shutdown(self, machine_id: str) -> MachineInfo:
        """Ask the guest to power off (ACPI) and wait until it has."""
        ...

    async def reboot(self, machine_id: str) -> MachineInfo:
        """Ask the guest to restart (ACPI); it stays on."""
        ...

    async def reset(self, machine_id: str) -> MachineInfo:
        """Hard reset; it stays on."""
        ...

    async def resize(self, machine_id: str, *, vcpu: int, ram_mb: int, disk_gb: int) -> MachineInfo:
        """Change CPUs, memory and disk of a powered-off machine; disks only grow."""
        ...

    async def reinstall(self, machine_id: str, *, image: str, hostname: str) -> MachineInfo:
        """Replace the disk with a fresh one from `image`; the power state is kept."""
        ...

    async def set_hostname(self, machine_id: str, hostname: str) -> MachineInfo:
        """Set the hostname the guest takes on its next boot (running guests are rebooted)."""
        ...

    async def console(self, machine_id: str) -> str:
        """The serial console output since the machine was created (or last reinstalled)."""
        ...

    async def close(self) -> None: ...
