"""The protocol of each driver capability that has operations, and the one way to reach them.

`Capable` binds a `Capability` (domain vocabulary, named by the catalogue's task types) to the
protocol of its operations. `capable(driver, POWER)` is the driver typed as a `PowerControl`, or
PermanentError `capability_not_supported` when the driver does not declare POWER (or declares it
without implementing it). Capabilities without a binding here (networks) have no
operations yet: the issues
that add their task types add their protocols and bindings, and list them in `BINDINGS`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

from nuage.domain.capabilities import Capability
from nuage.domain.errors import PermanentError
from nuage.domain.firewall import FirewallRule

from .base import Driver, GuestAddress, MachineInfo, PrivateNetwork, VolumeInfo


@runtime_checkable
class PowerControl(Protocol):
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


@runtime_checkable
class Resizing(Protocol):
    async def resize(self, machine_id: str, *, vcpu: int, ram_mb: int, disk_gb: int) -> MachineInfo:
        """Change CPUs, memory and disk of a powered-off machine; disks only grow."""
        ...


@runtime_checkable
class Reinstalling(Protocol):
    async def reinstall(self, machine_id: str, *, image: str, hostname: str) -> MachineInfo:
        """Replace the disk with a fresh one from `image`; the power state is kept."""
        ...


@runtime_checkable
class HostnameSetting(Protocol):
    async def set_hostname(self, machine_id: str, hostname: str) -> MachineInfo:
        """Set the hostname the guest takes on its next boot (running guests are rebooted)."""
        ...


@runtime_checkable
class VncConsole(Protocol):
    async def vnc_address(self, machine_id: str) -> tuple[str, int] | None:
        """Where the running machine's VNC display listens on its host; None while it is off."""
        ...


@runtime_checkable
class VolumeStorage(Protocol):
    """Volumes: disks apart from any machine, attached to at most one machine at a time as a
    virtio disk (`domain.volumes`: ids, sizes, devices). Each operation converges when repeated."""

    async def create_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        """Make an empty, detached volume; an existing one is returned unchanged."""
        ...

    async def attach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        """Plug the volume into the machine (live while it runs) at its first free device;
        attached to it already: unchanged; attached elsewhere: PermanentError `volume_in_use`."""
        ...

    async def detach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        """Unplug the volume from the machine (live while it runs); not attached: unchanged."""
        ...

    async def resize_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        """Grow the volume (live while its machine runs); shrinking: `disk_shrink_refused`."""
        ...

    async def delete_volume(self, volume_id: str) -> None:
        """Remove a detached volume; missing is not an error; attached: `volume_in_use`."""
        ...

    async def inspect_volume(self, volume_id: str) -> VolumeInfo | None:
        """The volume's current state, or None if the hypervisor has no such volume."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A complete backup in its host's backup store."""

    backup_id: str
    machine_id: str
    size_gb: int  # the backed-up disk's size: the least a disk restored from it needs
    external_id: str  # the store's own name for it (libvirt: the file's path)


@runtime_checkable
class Backups(Protocol):
    """Full copies of a machine's main disk, kept in its host's backup store apart from the
    machine: they outlive it. A copy is made under a temporary name and renamed when complete,
    so the store never holds half a backup under a backup's name."""

    async def create_backup(self, machine_id: str, backup_id: str) -> BackupInfo:
        """Copy a consistent state of the disk (running or not) into the store; a backup that
        is already complete is returned as it is."""
        ...

    async def delete_backup(self, machine_id: str, backup_id: str) -> None:
        """Remove the backup (and what a crashed copy left); a missing one is not an error, nor
        a missing machine."""
        ...

    async def restore_backup(self, machine_id: str, backup_id: str) -> MachineInfo:
        """Write the backup's contents over the stopped machine's disk (its size, image and
        disk id are kept); it stays off. PermanentError `backup_not_found`, `machine_running`."""
        ...


@runtime_checkable
class Addressing(Protocol):
    async def set_addresses(
        self, machine_id: str, addresses: Sequence[GuestAddress]
    ) -> MachineInfo:
        """The machine's addresses become exactly `addresses` (with their PTR names). A running
        guest whose addresses changed is restarted to take them (as `set_hostname` does); a
        change of PTR names alone restarts nothing. Repeating a call changes nothing."""
        ...


@runtime_checkable
class PrivateNetworking(Protocol):
    """VPCs: a machine's second interface (`eth1`) on its VPC's isolated network, which the
    host makes for its first member and removes after its last."""

    async def set_private_network(
        self, machine_id: str, network: PrivateNetwork | None
    ) -> MachineInfo:
        """The machine's VPC becomes `network` (None: none): the network is made if missing,
        the interface moved to it with the address, and a network no machine of the host is on
        any more is removed. A running guest whose VPC changed restarts to take it (as
        `set_addresses`). Repeating a call changes nothing."""
        ...

    async def private_networks(self) -> frozenset[str]:
        """The ids of the VPC networks this host has now."""
        ...


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A snapshot of a machine's main disk, as the hypervisor keeps it."""

    snapshot_id: str  # nuage's id (the snapshot row's), the name the hypervisor knows it by
    disk_gb: int  # the size of the disk it captured: an image made from it needs at least this
    external_id: str  # the hypervisor's own name of the snapshot


@runtime_checkable
class Snapshots(Protocol):
    """Point-in-time copies of a machine's main disk, kept with the machine (they go with it)."""

    async def create_snapshot(self, machine_id: str, snapshot_id: str) -> SnapshotInfo:
        """Capture the main disk now, running or not; an existing `snapshot_id` is returned."""
        ...

    async def delete_snapshot(self, machine_id: str, snapshot_id: str) -> None:
        """Forget the snapshot; a missing one (or machine) is not an error."""
        ...

    async def restore_snapshot(self, machine_id: str, snapshot_id: str) -> MachineInfo:
        """Bring the main disk back to the snapshot; the machine must be off and stays off.
        PermanentError `machine_running`, `snapshot_not_found`."""
        ...


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """A custom image the hypervisor holds (a disk to create machines from)."""

    image: str  # the name `create` and `reinstall` take (the image's slug)
    min_disk_gb: int  # the disk it was made from: machines made from it need at least this
    external_id: str  # where the hypervisor keeps it (libvirt: the file's path)


@runtime_checkable
class CustomImages(Protocol):
    """Images made from a machine's snapshot, which `create` and `reinstall` then take by name."""

    async def create_image(self, machine_id: str, snapshot_id: str, image: str) -> ImageInfo:
        """Copy the snapshot's disk into the image `image` (a complete copy, or nothing); an
        existing image of that name is returned. PermanentError `snapshot_not_found`."""
        ...

    async def delete_image(self, image: str) -> None:
        """Remove the image; a missing one is not an error. Machines made from it keep their
        disks (they do not depend on the image)."""
        ...


@runtime_checkable
class Configurable(Protocol):
    async def hypervisor_config(self, machine_id: str) -> dict[str, Any]:
        """The machine's settings of the driver's allow-list that differ from the defaults."""
        ...

    async def apply_config(self, machine_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Set each key of the driver's allow-list (`None`: back to the default) in the
        machine's definition and return the whole configuration after; a running machine takes
        it at its next boot. A key outside the allow-list or a bad value: PermanentError
        `invalid_config`, nothing changed. Applying the same changes again changes nothing."""
        ...


@runtime_checkable
class Firewalled(Protocol):
    async def firewall_rules(self, machine_id: str) -> tuple[FirewallRule, ...]:
        """The rules the machine's firewall has, in evaluation order; () when it has none."""
        ...

    async def apply_firewall(
        self, machine_id: str, rules: Sequence[FirewallRule]
    ) -> tuple[FirewallRule, ...]:
        """Replace the machine's whole rule list and return it as read back. Rules turn the
        firewall on with a default deny in both directions (replies to allowed traffic, ARP and
        IPv6 neighbour discovery pass); none turn it off and leave nothing behind. Takes effect
        at once, running or not; applying the same list again changes nothing."""
        ...


@runtime_checkable
class SoftwareInstalling(Protocol):
    async def set_software(self, machine_id: str, packages: Sequence[str]) -> MachineInfo:
        """The machine's software becomes exactly `packages` (package names of the software
        catalogue; `domain.machines.software_set`), given to the guest as it boots. A running
        guest whose software changed is restarted to apply it (as `set_hostname` does);
        repeating a call changes nothing. A bad package name: PermanentError `invalid_spec`."""
        ...


P = TypeVar("P")


@dataclass(frozen=True)  # no slots: `Capable[X](...)` sets __orig_class__
class Capable(Generic[P]):
    """A capability and the protocol of its operations (P). `protocol` is typed loosely because
    mypy refuses a Protocol where `type[P]` is expected; `Capable[PowerControl](…, PowerControl)`
    keeps the two together at the one place each binding is made."""

    capability: Capability
    protocol: type[Any]


POWER = Capable[PowerControl](Capability.POWER, PowerControl)
RESIZE = Capable[Resizing](Capability.RESIZE, Resizing)
REINSTALL = Capable[Reinstalling](Capability.REINSTALL, Reinstalling)
HOSTNAME = Capable[HostnameSetting](Capability.HOSTNAME, HostnameSetting)
CONSOLE = Capable[VncConsole](Capability.CONSOLE, VncConsole)
VOLUMES = Capable[VolumeStorage](Capability.VOLUMES, VolumeStorage)
BACKUPS = Capable[Backups](Capability.BACKUPS, Backups)
ADDRESSES = Capable[Addressing](Capability.ADDRESSES, Addressing)
SNAPSHOTS = Capable[Snapshots](Capability.SNAPSHOTS, Snapshots)
IMAGES = Capable[CustomImages](Capability.IMAGES, CustomImages)
CONFIG = Capable[Configurable](Capability.CONFIG, Configurable)
FIREWALL = Capable[Firewalled](Capability.FIREWALL, Firewalled)
SOFTWARE = Capable[SoftwareInstalling](Capability.SOFTWARE, SoftwareInstalling)
NETWORKS = Capable[PrivateNetworking](Capability.NETWORKS, PrivateNetworking)
BINDINGS: Mapping[Capability, Capable[Any]] = {
    b.capability: b
    for b in (
        POWER,
        RESIZE,
        REINSTALL,
        HOSTNAME,
        CONSOLE,
        VOLUMES,
        BACKUPS,
        ADDRESSES,
        SNAPSHOTS,
        IMAGES,
        CONFIG,
        FIREWALL,
        SOFTWARE,
        NETWORKS,
    )
}


def capable(driver: Driver, need: Capable[P]) -> P:
    """`driver` as `need`'s protocol; PermanentError `capability_not_supported` if it lacks it."""
    if need.capability not in driver.capabilities or not isinstance(driver, need.protocol):
        raise PermanentError(
            f"This host's {driver.name} driver does not support `{need.capability}`.",
            code="capability_not_supported",
        )
    return cast(P, driver)
