"""The simulated hypervisor: the embedded default driver and the test double.

A real implementation of `Driver`, not a stub: machines have a power state machine, a disk that
reinstall replaces, the addresses nuage gave them (it invents none) and a serial console, all
persisted under `SimSettings.state_dir` (layout in `sim_state`) so a new `SimDriver` over the same
directory, in this process or another, sees the same machines. Every operation sleeps
`latency_ms` first (a volume's attach and detach once more after the change) and converges when
repeated. A running machine whose console is asked for gets a VNC display: a small RFB server on
127.0.0.1 (`sim_vnc`), stopped when the machine powers off or is deleted, and by `close()`.

Its console prints what the test guest prints (scripts/README.md): each boot appends a few
lines, `NUAGE-IFACES eth0[ eth1]`, `NUAGE-NET eth0 <address/prefix> …` (`guest_network`; and
`NUAGE-NET eth1 …` in a VPC), `NUAGE-DISKS vda=<disk_gb>G …` and then exactly
`NUAGE-BOOTED hostname=<hostname> vcpus=<vcpu> mem_mb=<ram_mb> disk=fresh|used boots=<n>`, where
`boots` is the disk's boot counter (`MachineState.boots`, part of the disk's contents); each
power-off appends `NUAGE-POWEROFF`; a change of the disks while running appends a new
`NUAGE-DISKS` line (`sim_volumes.report_disks`).

A machine's firewall is its rule list, in evaluation order, in its state (`MachineState.firewall`):
applied as a whole, at once, running or not.

Backups are copies of a disk's contents in a store apart from the machines (`sim_backups`):
they outlive their machine, and a copy under way exists only under a temporary name.

Faults fire only when asked for, always before any state changes:
- at random, per operation, with `transient_failure_rate` / `permanent_failure_rate`;
- by `inject_fault(machine_id, operation=..., kind=..., times=...)`, persisted per machine so
  another process or a restarted driver sees them;
- by a create tag `sim:fail=<operation|*>:<transient|permanent>[:<times>]`, registered once, the
  first time the machine is created.
They raise `TransientError(code="sim_transient_fault")` or
`PermanentError(code="sim_permanent_fault")`. Reads (`inspect`, `console`, `vnc_address`) take
no faults and are not logged; every other operation appends one line to the machine's operation
log, which `operations()` returns.

A host may model a limited hypervisor (`SimConfig.capabilities`): operations of the capabilities
left out are refused with PermanentError `capability_not_supported` before anything else.
"""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from nuage.config import Settings
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import SIM, DriverDescription
from nuage.domain.enums import PowerState
from nuage.domain.errors import NuageError, PermanentError, TransientError
from nuage.domain.firewall import FirewallRule, in_order
from nuage.domain.host_configs import SimConfig
from nuage.domain.hypervisor_config import checked_by_driver
from nuage.domain.machines import (
    check_backup_id,
    check_hostname,
    check_image_name,
    check_machine_id,
    check_sizes,
    check_snapshot_id,
)
from nuage.domain.volumes import check_volume_id

from . import sim_guest as guest
from .base import GuestAddress, HostSetup, MachineInfo, MachineSpec, PrivateNetwork, VolumeInfo
from .capabilities import BackupInfo, ImageInfo, SnapshotInfo
from .sim_backups import SimBackup, SimBackupStore, backup_info
from .sim_disks import DiskCopy, ImageStore, SnapshotStore
from .sim_state import (
    FaultKind,
    FaultStore,
    MachineState,
    MachineStore,
    OpLog,
    make_fault,
    parse_fail_tags,
    utc_now,
)
from .sim_vnc import RfbDisplays
from .sim_volumes import SimVolumes

T = TypeVar("T")

_NEEDS: dict[str, Capability] = {
    **dict.fromkeys(("start", "stop", "shutdown", "reboot", "reset"), Capability.POWER),
    "resize": Capability.RESIZE,
    "reinstall": Capability.REINSTALL,
    "set_hostname": Capability.HOSTNAME,
    **dict.fromkeys(
        ("create_volume", "attach_volume", "detach_volume", "resize_volume", "delete_volume"),
        Capability.VOLUMES,
    ),
    **dict.fromkeys(("create_backup", "delete_backup", "restore_backup"), Capability.BACKUPS),
    "set_addresses": Capability.ADDRESSES,
    "vnc_address": Capability.CONSOLE,
    **dict.fromkeys(
        ("create_snapshot", "delete_snapshot", "restore_snapshot"), Capability.SNAPSHOTS
    ),
    **dict.fromkeys(("create_image", "delete_image"), Capability.IMAGES),
    "apply_config": Capability.CONFIG,
    **dict.fromkeys(("apply_firewall", "firewall_rules"), Capability.FIREWALL),
    "set_software": Capability.SOFTWARE,
    "set_private_network": Capability.NETWORKS,
}


@dataclass(frozen=True)
class SimSettings:
    state_dir: Path
    latency_ms: float = 0.0  # slept once by every operation
    transient_failure_rate: float = 0.0  # probability per operation call
    permanent_failure_rate: float = 0.0
    seed: int | None = None  # for the fault RNG; None: a fresh sequence each run
    capabilities: frozenset[Capability] = SIM.capabilities
    backup_dir: Path | None = None  # the backup store; None: <state_dir>/backups

    @property
    def backup_store(self) -> Path:
        return self.backup_dir or self.state_dir / "backups"

    def __post_init__(self) -> None:
        rates = (self.transient_failure_rate, self.permanent_failure_rate)
        if self.latency_ms < 0 or not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError(f"latency must be >= 0 and rates within [0, 1]: {self}")


class SimDriver:
    """The simulated hypervisor driver (see the module docstring for its behaviour)."""

    description: ClassVar[DriverDescription] = SIM
    name = SIM.name

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.capabilities = settings.capabilities
        self._machines = MachineStore(settings.state_dir)
        self._faults = FaultStore(settings.state_dir)
        self._ops = OpLog(settings.state_dir)
        self._volumes = SimVolumes(settings.state_dir, self._machines)
        self._backups = SimBackupStore(settings.backup_store)
        self._snapshots = SnapshotStore(settings.state_dir)
        self._images = ImageStore(settings.state_dir)
        self._rng = random.Random(settings.seed)
        self._displays = RfbDisplays()

    @classmethod
    def for_host(cls, host: HostSetup, settings: Settings) -> "SimDriver":
        """Every simulated host keeps its machines in the process's one simulator state
        directory, and its backups in a store of its own there; latency and capabilities may be
        set per host."""
        config = SimConfig.model_validate(host.config.model_dump())
        latency = settings.sim_latency_ms if config.latency_ms is None else config.latency_ms
        return cls(
            SimSettings(
                state_dir=settings.sim_state_dir,
                latency_ms=latency,
                transient_failure_rate=settings.sim_transient_failure_rate,
                permanent_failure_rate=settings.sim_permanent_failure_rate,
                seed=settings.sim_seed,
                capabilities=SIM.host_capabilities(config),
                backup_dir=settings.sim_state_dir / "backups" / host.name,
            )
        )

    # File I/O below is synchronous on purpose: it is a few small local files, and not awaiting
    # between loading a machine and saving it keeps each change atomic within the event loop.

    async def create(self, spec: MachineSpec) -> MachineInfo:
        async with self._operation("create", spec.machine_id, tags=spec.tags):
            existing = self._machines.load(spec.machine_id)
            if existing is not None:  # converge: a create's machine is running
                if existing.power is not PowerState.ON:
                    guest.power_on(existing)
                    self._machines.save(existing)
                return existing.info()
            check_sizes(vcpu=spec.vcpu, ram_mb=spec.ram_mb, disk_gb=spec.disk_gb)
            check_hostname(spec.hostname)
            boots = self._images.boots_of(spec.image)
            machine = MachineState(
                machine_id=spec.machine_id,
                name=spec.name,
                power=PowerState.OFF,
                vcpu=spec.vcpu,
                ram_mb=spec.ram_mb,
                disk_gb=spec.disk_gb,
                hostname=spec.hostname,
                image=spec.image,
                disk_id=uuid.uuid4().hex,
                external_id=f"sim-{uuid.uuid4().hex[:12]}",
                tags=list(spec.tags),
                addresses=[asdict(a) for a in spec.addresses],
                boots=boots,
            )
            guest.power_on(machine)
            self._machines.save(machine)
            return machine.info()

    async def delete(self, machine_id: str) -> None:
        """Remove the machine and its pending faults; its operation log is kept."""
        async with self._operation("delete", machine_id):
            self._machines.remove(machine_id)
            self._faults.remove(machine_id)
            self._displays.stop(machine_id)
            self._snapshots.remove_all(machine_id)  # they live in its disk

    async def inspect(self, machine_id: str) -> MachineInfo | None:
        check_machine_id(machine_id)
        await self._latency()
        with _state_io():
            machine = self._machines.load(machine_id)
        return None if machine is None else machine.info()

    async def console(self, machine_id: str) -> str:
        check_machine_id(machine_id)
        await self._latency()
        with _state_io():
            machine = self._require(machine_id)
        return "".join(f"{line}\n" for line in machine.console)

    async def vnc_address(self, machine_id: str) -> tuple[str, int] | None:
        """Where the running machine's display listens: 127.0.0.1 and a port of this driver's
        RFB server for it (`sim_vnc`), started if need be; None while it is off. Missing
        machine: PermanentError machine_not_found. A read: no faults, not logged."""
        check_machine_id(machine_id)
        self._check_capable("vnc_address")
        await self._latency()
        with _state_io():
            if self._require(machine_id).power is not PowerState.ON:
                self._displays.stop(machine_id)
                return None
        port = await self._displays.ensure(machine_id, lambda: self._is_on(machine_id))
        with _state_io():
            machine = self._require(machine_id)
            if machine.vnc_port != port:
                machine.vnc_port = port
                self._machines.save(machine)
        return ("127.0.0.1", port)

    async def start(self, machine_id: str) -> MachineInfo:
        return await self._change("start", machine_id, guest.power_on)

    async def stop(self, machine_id: str) -> MachineInfo:
        return await self._change("stop", machine_id, lambda m: guest.power_off(m, graceful=False))

    async def shutdown(self, machine_id: str) -> MachineInfo:
        return await self._change(
            "shutdown", machine_id, lambda m: guest.power_off(m, graceful=True)
        )

    async def reboot(self, machine_id: str) -> MachineInfo:
        return await self._change(
            "reboot", machine_id, lambda m: guest.restart(m, "reboot: Restarting")
        )

    async def reset(self, machine_id: str) -> MachineInfo:
        return await self._change("reset", machine_id, lambda m: guest.restart(m, "[reset]"))

    async def resize(self, machine_id: str, *, vcpu: int, ram_mb: int, disk_gb: int) -> MachineInfo:
        return await self._change(
            "resize", machine_id, lambda m: guest.resize(m, vcpu, ram_mb, disk_gb)
        )

    async def reinstall(self, machine_id: str, *, image: str, hostname: str) -> MachineInfo:
        def reinstall(m: MachineState) -> None:
            boots = self._images.boots_of(image)
            self._snapshots.remove_all(machine_id)  # they lived in the disk replaced here
            guest.reinstall(m, image, hostname, boots)

        return await self._change("reinstall", machine_id, reinstall)

    async def set_hostname(self, machine_id: str, hostname: str) -> MachineInfo:
        return await self._change("set_hostname", machine_id, lambda m: guest.rename(m, hostname))

    # Volumes (`sim_volumes`): faults and the operation log are keyed by the volume's id.

    async def create_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        return await self._on_volume("create_volume", volume_id, self._volumes.create, size_gb)

    # A hot-plug takes effect in the middle of the call, as on a real hypervisor (the device is
    # plugged, then the guest notices it): the latency is slept again after the change.

    async def attach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_machine_id(machine_id)
        attach = self._volumes.attach
        return await self._on_volume("attach_volume", volume_id, attach, machine_id, plug=True)

    async def detach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_machine_id(machine_id)
        detach = self._volumes.detach
        return await self._on_volume("detach_volume", volume_id, detach, machine_id, plug=True)

    async def resize_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        return await self._on_volume("resize_volume", volume_id, self._volumes.resize, size_gb)

    async def delete_volume(self, volume_id: str) -> None:
        check_volume_id(volume_id)
        async with self._operation("delete_volume", volume_id):
            self._volumes.delete(volume_id)

    async def inspect_volume(self, volume_id: str) -> VolumeInfo | None:
        check_volume_id(volume_id)
        await self._latency()
        with _state_io():
            return self._volumes.inspect(volume_id)

    async def create_backup(self, machine_id: str, backup_id: str) -> BackupInfo:
        check_backup_id(backup_id)
        async with self._operation("create_backup", machine_id):
            done = self._backups.load(machine_id, backup_id)
            if done is not None:
                return backup_info(done, self._backups)
            backup = SimBackup.of(self._require(machine_id), backup_id)
            self._backups.begin(backup)
            await self._latency()  # the copy takes time; meanwhile only the partial file exists
            self._backups.complete(backup)
            return backup_info(backup, self._backups)

    async def delete_backup(self, machine_id: str, backup_id: str) -> None:
        check_backup_id(backup_id)
        async with self._operation("delete_backup", machine_id):
            self._backups.remove(machine_id, backup_id)

    async def restore_backup(self, machine_id: str, backup_id: str) -> MachineInfo:
        check_backup_id(backup_id)

        def restore(m: MachineState) -> None:
            backup = self._backups.load(machine_id, backup_id)
            if backup is None:
                raise PermanentError(f"No backup {backup_id}.", code="backup_not_found")
            if m.power is not PowerState.OFF:
                message = f"Machine {machine_id} must be stopped to restore a backup."
                raise PermanentError(message, code="machine_running")
            if backup.disk_gb > m.disk_gb:
                message = f"Backup {backup_id} is larger than machine {machine_id}'s disk."
                raise PermanentError(message, code="backup_too_large")
            backup.write_over(m)

        return await self._change("restore_backup", machine_id, restore)

    async def set_addresses(
        self, machine_id: str, addresses: Sequence[GuestAddress]
    ) -> MachineInfo:
        return await self._change(
            "set_addresses", machine_id, lambda m: guest.readdress(m, addresses)
        )

    async def set_software(self, machine_id: str, packages: Sequence[str]) -> MachineInfo:
        return await self._change(
            "set_software", machine_id, lambda m: guest.set_software(m, packages)
        )

    async def set_private_network(
        self, machine_id: str, network: PrivateNetwork | None
    ) -> MachineInfo:
        return await self._change(
            "set_private_network", machine_id, lambda m: guest.join_network(m, network)
        )

    async def private_networks(self) -> frozenset[str]:
        """A simulated host's VPC networks are those its machines are on: made with the first
        member, gone with the last."""
        with _state_io():
            return frozenset(m.vpc.network_id for m in self._machines.all() if m.vpc)

    async def create_snapshot(self, machine_id: str, snapshot_id: str) -> SnapshotInfo:
        check_snapshot_id(snapshot_id)
        async with self._operation("create_snapshot", machine_id):
            machine = self._require(machine_id)
            copy = self._snapshots.load(machine_id, snapshot_id)
            if copy is None:
                copy = DiskCopy(boots=machine.boots, disk_gb=machine.disk_gb)
                self._snapshots.save(machine_id, snapshot_id, copy)
            return SnapshotInfo(snapshot_id, copy.disk_gb, external_id=f"sim-{snapshot_id}")

    async def delete_snapshot(self, machine_id: str, snapshot_id: str) -> None:
        check_snapshot_id(snapshot_id)
        async with self._operation("delete_snapshot", machine_id):
            self._snapshots.remove(machine_id, snapshot_id)

    async def restore_snapshot(self, machine_id: str, snapshot_id: str) -> MachineInfo:
        check_snapshot_id(snapshot_id)

        def restore(m: MachineState) -> None:
            copy = self._snapshots.require(machine_id, snapshot_id)
            if m.power is not PowerState.OFF:
                message = f"Machine {machine_id} must be stopped to restore a snapshot."
                raise PermanentError(message, code="machine_running")
            m.boots = copy.boots  # the disk keeps its size, as a grown disk is grown again

        return await self._change("restore_snapshot", machine_id, restore)

    async def create_image(self, machine_id: str, snapshot_id: str, image: str) -> ImageInfo:
        check_snapshot_id(snapshot_id)
        check_image_name(image)
        async with self._operation("create_image", machine_id):
            self._require(machine_id)
            copy = self._images.load(image)
            if copy is None:
                copy = self._snapshots.require(machine_id, snapshot_id)
                self._images.save(image, copy)
            return ImageInfo(image, copy.disk_gb, external_id=f"sim-image-{image}")

    async def delete_image(self, image: str) -> None:
        """Faults and the operation log of an image are kept under its name."""
        check_image_name(image)
        async with self._operation("delete_image", image):
            self._images.remove(image)

    async def hypervisor_config(self, machine_id: str) -> dict[str, Any]:
        check_machine_id(machine_id)
        self._check_capable("apply_config")
        await self._latency()
        with _state_io():
            return dict(self._require(machine_id).config)

    async def apply_config(self, machine_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        checked = checked_by_driver(changes, SIM.config_keys)
        info = await self._change("apply_config", machine_id, lambda m: guest.configure(m, checked))
        with _state_io():
            return dict(self._require(info.machine_id).config)

    async def firewall_rules(self, machine_id: str) -> tuple[FirewallRule, ...]:
        check_machine_id(machine_id)
        self._check_capable("firewall_rules")
        await self._latency()
        with _state_io():
            return _rules(self._require(machine_id))

    async def apply_firewall(
        self, machine_id: str, rules: Sequence[FirewallRule]
    ) -> tuple[FirewallRule, ...]:
        ordered = [rule.model_dump(mode="json") for rule in in_order(rules)]

        def replace_rules(machine: MachineState) -> None:
            machine.firewall = ordered

        await self._change("apply_firewall", machine_id, replace_rules)
        with _state_io():
            return _rules(self._require(machine_id))

    async def close(self) -> None:
        await self._displays.close()

    def inject_fault(
        self,
        machine_id: str,
        *,
        operation: str = "*",
        kind: Literal["transient", "permanent"],
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `operation` ("*": any) on the machine raise `kind`.

        Persisted in the state dir, so it reaches other processes and survives restarts; the
        machine need not exist yet. ValueError on an unknown operation or kind, or times < 1.
        """
        check_machine_id(machine_id)
        self._faults.add(machine_id, make_fault(operation, kind, times))

    def operations(self, machine_id: str) -> list[dict[str, str]]:
        """The machine's operation log, oldest first: machine_id, operation, started, finished
        (ISO 8601 UTC) and outcome ("ok" or the error code)."""
        check_machine_id(machine_id)
        return self._ops.read(machine_id)

    async def _change(
        self, operation: str, machine_id: str, change: Callable[[MachineState], None]
    ) -> MachineInfo:
        async with self._operation(operation, machine_id):
            machine = self._require(machine_id)
            change(machine)
            self._machines.save(machine)
            if machine.power is PowerState.OFF:
                self._displays.stop(machine_id)  # its QEMU is gone, and its display with it
            return machine.info()

    async def _on_volume(
        self,
        operation: str,
        volume_id: str,
        change: Callable[[str, T], VolumeInfo],
        arg: T,
        *,
        plug: bool = False,
    ) -> VolumeInfo:
        check_volume_id(volume_id)
        async with self._operation(operation, volume_id):
            info = change(volume_id, arg)
            if plug:
                await self._latency()
            return info

    @asynccontextmanager
    async def _operation(
        self, operation: str, machine_id: str, *, tags: Sequence[str] = ()
    ) -> AsyncIterator[None]:
        """Fire faults, sleep the latency, run the body; log the call and translate I/O errors."""
        check_machine_id(machine_id)
        started, outcome = utc_now(), "ok"
        try:
            if tags and self._machines.load(machine_id) is None:
                self._faults.register_tag_faults(machine_id, parse_fail_tags(tags))
            self._check_capable(operation)
            self._fire_fault(operation, machine_id)
            await self._latency()
            yield
        except NuageError as exc:
            outcome = exc.code
            raise
        except OSError as exc:
            outcome = "sim_io_error"
            raise _io_error(exc) from exc
        except BaseException:
            outcome = "interrupted"
            raise
        finally:
            entry = {"machine_id": machine_id, "operation": operation, "started": started}
            with _state_io():
                self._ops.append({**entry, "finished": utc_now(), "outcome": outcome})

    def _check_capable(self, operation: str) -> None:
        need = _NEEDS.get(operation)
        if need is not None and need not in self.capabilities:
            message = f"This simulated host is configured without `{need}` ({operation})."
            raise PermanentError(message, code="capability_not_supported")

    def _fire_fault(self, operation: str, machine_id: str) -> None:
        source = "Injected"
        kind = self._faults.take(machine_id, operation)
        if kind is None:
            source, kind = "Random", self._random_fault()
        message = f"{source} {kind} fault on {operation} of machine {machine_id}."
        if kind == "transient":
            raise TransientError(message, code="sim_transient_fault")
        if kind == "permanent":
            raise PermanentError(message, code="sim_permanent_fault")

    def _random_fault(self) -> FaultKind | None:
        s = self.settings
        if s.transient_failure_rate > 0 and self._rng.random() < s.transient_failure_rate:
            return "transient"
        if s.permanent_failure_rate > 0 and self._rng.random() < s.permanent_failure_rate:
            return "permanent"
        return None

    async def _latency(self) -> None:
        await asyncio.sleep(self.settings.latency_ms / 1000)

    def _is_on(self, machine_id: str) -> bool:
        try:
            machine = self._machines.load(machine_id)
        except OSError:
            return False
        return machine is not None and machine.power is PowerState.ON

    def _require(self, machine_id: str) -> MachineState:
        machine = self._machines.load(machine_id)
        if machine is None:
            raise PermanentError(f"No machine {machine_id}.", code="machine_not_found")
        return machine


def _rules(machine: MachineState) -> tuple[FirewallRule, ...]:
    return tuple(FirewallRule.model_validate(rule) for rule in machine.firewall)


def _io_error(exc: OSError) -> TransientError:
    return TransientError(f"Simulator state I/O failed: {exc}", code="sim_io_error")


@contextmanager
def _state_io() -> Iterator[None]:
    """The state dir's I/O errors as this driver's error, never a bare OSError."""
    try:
        yield
    except OSError as exc:
        raise _io_error(exc) from exc
