"""The hypervisor driver protocol: what the engine asks of a hypervisor, and nothing more.

A driver is a `Driver` (the machine lifecycle every driver has: create, delete, inspect, the
serial console, close) and, for each capability it declares in `capabilities`, the protocol of
that capability's operations (`drivers.capabilities`: `PowerControl`, `Resizing`, ...). The
engine reaches an operation only through `capable(driver, POWER)`, which refuses a driver that
does not declare the capability, so a driver implements only what its hypervisor can do.

Contracts every driver keeps (checked by tests/drivers, one suite over every implementation):
- Declared is implemented: `capabilities` ⊆ the driver's description's capabilities; the
  description's are exactly the capabilities whose protocols the class implements (names and
  signatures); a host's configuration may narrow an instance's set, and then the driver refuses
  the operations it left out with PermanentError `capability_not_supported`.
- Idempotent: any operation may be called again after a crash and converges. `create` of an
  existing machine returns it; `delete` of a missing one succeeds; `start` of a running one and
  `stop` of a stopped one return its state unchanged.
- Typed failures: a driver raises only `TransientError` (worth retrying: host unreachable, timeout,
  lock held) or `PermanentError` (retrying cannot help: machine missing, wrong power state, bad
  spec), each with a stable `code`; foreign exceptions (OSError included) are translated at this
  boundary. Specs are checked with `domain.machines` (codes `invalid_machine_id`, `invalid_spec`,
  `disk_shrink_refused`).
- No database: a driver knows machines by `machine_id` (the instance's id) and nothing of tenants.
  It reports its own name for a machine as `MachineInfo.external_id`, which the engine stores.
- Built per host: `for_host(host, settings)` makes the driver of one registered host from its
  checked configuration and resolved secret (`HostSetup`); `drivers.registry` lists the classes.
"""

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from nuage.config import Settings
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import DriverDescription
from nuage.domain.enums import PowerState
from nuage.domain.host_configs import HostConfig


@dataclass(frozen=True, slots=True)
class GuestAddress:
    """An address nuage handed out for a machine: the guest configures it on its first
    interface (`eth0`), the primary IPv4 first, with the gateway of its network."""

    address: str  # canonical text, e.g. 192.0.2.10, 2001:db8:0:1::2
    prefix_length: int
    gateway: str | None
    ptr: str  # the reverse DNS name
    primary: bool = False

    @property
    def version(self) -> int:
        return 6 if ":" in self.address else 4

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefix_length}"


@dataclass(frozen=True, slots=True)
class PrivateNetwork:
    """A VPC as a machine sees it: the hypervisor network it joins on its second interface
    (`eth1`), named by the VPC's id, and the machine's address there (no gateway: a VPC
    routes nowhere)."""

    network_id: str
    address: str
    prefix_length: int

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefix_length}"


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
    addresses: tuple[GuestAddress, ...] = ()  # from nuage's pools; drivers invent none


@dataclass(frozen=True, slots=True)
class AttachedDisk:
    """A disk attached to a machine beside its main disk (and libvirt's seed): a volume."""

    device: str  # vdc, vdd, …
    volume_id: str | None  # the nuage volume it is; None: a disk nuage did not make
    source: str  # the hypervisor's name of it (libvirt: its file)


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
    external_id: str  # the hypervisor's own id of the machine (libvirt: domain UUID)
    addresses: tuple[GuestAddress, ...] = field(default=())  # as the driver configured them
    software: tuple[str, ...] = ()  # the packages the guest is given (`set_software`), sorted
    disks: tuple[AttachedDisk, ...] = ()  # attached now (live while it runs), by device
    private_network: PrivateNetwork | None = None  # its VPC (`eth1`), None outside any

    @property
    def ipv4(self) -> tuple[str, ...]:
        return tuple(a.address for a in self.addresses if a.version == 4)

    @property
    def ipv6(self) -> tuple[str, ...]:
        return tuple(a.address for a in self.addresses if a.version == 6)


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    """What a volume is, as the hypervisor reports it. Size in GiB."""

    volume_id: str
    size_gb: int
    external_id: str  # the hypervisor's own name of the volume (libvirt: its file's path)
    machine_id: str | None = None  # the machine it is attached to
    device: str | None = None  # its device on that machine (vdc, vdd, …)


@dataclass(frozen=True, slots=True)
class HostSetup:
    """What a driver is built from for one registered host."""

    name: str
    uri: str
    config: HostConfig  # checked by the driver's description
    secret: str | None = None  # resolved from the host's secret_ref


@runtime_checkable
class Driver(Protocol):
    """The machine lifecycle every driver has; capabilities add their protocols beside it."""

    description: ClassVar[DriverDescription]
    name: str
    capabilities: frozenset[Capability]  # what this instance does (its host may narrow them)

    @classmethod
    def for_host(cls, host: HostSetup, settings: Settings) -> "Driver":
        """The driver of one registered host, defaults from the process settings."""
        ...

    async def create(self, spec: MachineSpec) -> MachineInfo:
        """Define the machine with a fresh disk from `spec.image` and power it on."""
        ...

    async def delete(self, machine_id: str) -> None:
        """Power off and remove the machine with its disks; a missing machine is not an error."""
        ...

    async def inspect(self, machine_id: str) -> MachineInfo | None:
        """The machine's current state, or None if the hypervisor has no such machine."""
        ...

    async def console(self, machine_id: str) -> str:
        """The serial console output since the machine was created (or last reinstalled): how
        the contract suite sees every effect from inside the guest."""
        ...

    async def close(self) -> None: ...
