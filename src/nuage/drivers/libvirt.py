"""The libvirt/QEMU hypervisor driver: one libvirt domain per machine, files in a state directory.

A machine is the persistent domain `nuage-<machine_id>` (uuid: the machine id, see
`libvirt_domain`), a qcow2 overlay of a base image, a NoCloud seed ISO (hostname) and an appended
serial log, which is the console (layout in `libvirt_files`). `inspect` reads everything back
from libvirt: vCPUs and memory from the definition, hostname, image and disk id from nuage's
`<metadata>` (with hypervisor settings, `apply_config`, and the addresses nuage handed out,
`set_addresses`), the disk's size from its image file (`blockInfo`). The addresses reach the guest
as the seed's `network-config` (`guest_network`), configured on the guest's virtio `eth0`, which
sits on an isolated network (`libvirt_network`: no forwarding, no host address on its bridge).

Behaviour matches the Driver protocol and the simulated driver, error codes included:
- `create` of an existing domain returns it otherwise unchanged, started if it was off (a create
  that failed after defining the domain is completed by a retry); a create that fails before the
  domain is defined leaves no files.
- Booting operations (create, start, reboot, reset, reinstall and set_hostname of a running
  machine) return once a NEW `boot_marker` line appeared in the serial log after the action,
  else TransientError `boot_timeout`; with `boot_marker=None` they return at once.
- `shutdown` presses the ACPI power button (again every 10 s) until the domain is off, else
  TransientError `shutdown_timeout`; `stop` destroys the domain.
- `set_hostname` of a running machine power-cycles it gracefully (ACPI shutdown, then start):
  QEMU keeps the old seed file open across a reboot, a new QEMU process reads the new one.
  `set_addresses` does the same when the guest's addresses change (not for PTR names alone), and
  `set_software` when the packages change (the seed's user-data, `guest_software`).
- Resizing needs the machine off (vCPU unplug does not complete live); disks only grow.
- Volumes are qcow2 files of the host, hot-plugged as virtio disks from vdc on, grown live with
  `blockresize` (`libvirt_volumes`); every definition the driver writes keeps them attached.

Errors are translated at this boundary: no such domain → PermanentError `machine_not_found`; a
host that cannot be reached (connection refused or lost, RPC failure) → TransientError
`host_unreachable`; a wrong power state reported by libvirt → PermanentError `machine_running` /
`machine_not_running`; anything else from libvirt → PermanentError `libvirt_error`; qemu-img or
genisoimage failures → PermanentError `disk_error`; any other I/O error on the machine's files →
PermanentError `host_io_error`.

libvirt-python is an optional extra (`nuage[libvirt]`): this module imports without it, and
`LibvirtDriver()` raises ImportError saying what to install.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from nuage.config import Settings
from nuage.domain.drivers import LIBVIRT, DriverDescription
from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError, TransientError
from nuage.domain.firewall import FirewallRule
from nuage.domain.hypervisor_config import checked_by_driver, merged
from nuage.domain.images import is_custom_image
from nuage.domain.machines import (
    check_backup_id,
    check_disk_growth,
    check_image_name,
    check_machine_id,
    check_snapshot_id,
    software_set,
)
from nuage.domain.volumes import check_volume_id

from . import libvirt_firewall as firewall
from . import libvirt_snapshots as snapshots
from .base import (
    AttachedDisk,
    GuestAddress,
    HostSetup,
    MachineInfo,
    MachineSpec,
    PrivateNetwork,
    VolumeInfo,
)
from .capabilities import BackupInfo, ImageInfo, SnapshotInfo
from .guest_network import network_config, network_line
from .guest_software import user_data
from .libvirt_backups import LibvirtBackups
from .libvirt_connection import Connection
from .libvirt_domain import (
    Hardware,
    MachineConfig,
    check_config,
    domain_name,
    domain_xml,
    machine_id_of,
    parse_config,
    vnc_port,
    volume_disks,
)
from .libvirt_files import (
    MachineFiles,
    base_image,
    clear_console,
    grow_overlay,
    log_size,
    make_disk,
    read_console,
    text_after,
    write_seed,
)
from .libvirt_network import (
    ensure_network,
    remove_network,
    unused,
    vpc_network,
    vpc_network_ids,
)
from .libvirt_settings import LibvirtSettings, settings_for_host
from .libvirt_volumes import LibvirtVolumes

T = TypeVar("T")
Domain = Any  # libvirt.virDomain: the binding has no type stubs
_PRESS_AGAIN_S = 10.0
_GIB = 1024**3  # a guest still booting may miss a power-button press


class LibvirtDriver:
    """The libvirt/QEMU driver (see the module docstring for its behaviour)."""

    description: ClassVar[DriverDescription] = LIBVIRT
    name = LIBVIRT.name
    capabilities = LIBVIRT.capabilities

    @classmethod
    def for_host(cls, host: HostSetup, settings: Settings) -> "LibvirtDriver":
        return cls(settings_for_host(host, settings))

    def __init__(self, settings: LibvirtSettings) -> None:
        self.settings = settings
        self._conn = Connection(settings.uri)
        self._lv = self._conn.lv  # the libvirt module: constants, libvirtError
        self._volumes = LibvirtVolumes(self._conn, settings.state_dir)
        self._hw = Hardware(
            domain_type=settings.domain_type,
            machine=settings.machine,
            kernel=settings.kernel,
            initrd=settings.initrd,
            max_vcpus=settings.max_vcpus,
            guest_network=settings.guest_network,
        )
        self._backups = LibvirtBackups(
            lv=self._lv,
            store=settings.backup_store,
            lookup=self._lookup,
            files=self._files,
            info=self._info,
        )

    async def create(self, spec: MachineSpec) -> MachineInfo:
        check_machine_id(spec.machine_id)
        existing = await self._call(self._lookup, spec.machine_id)
        if existing is not None:
            # A create that failed after defining the domain (its start or boot failed) left it
            # off: this create finishes the job, as a create's machine is running.
            return await self._operate(spec.machine_id, self._start)
        config = MachineConfig(
            machine_id=spec.machine_id,
            name=spec.name,
            hostname=spec.hostname,
            image=spec.image,
            disk_id=uuid.uuid4().hex,
            vcpu=spec.vcpu,
            ram_mb=spec.ram_mb,
            disk_gb=spec.disk_gb,
            addresses=spec.addresses,
        )
        check_config(config)
        files = self._files(spec.machine_id)
        dom = await self._call(self._create, config, files)
        await self._wait_for_boot(files.log, 0)
        return await self._call(self._info, dom)

    async def delete(self, machine_id: str) -> None:
        check_machine_id(machine_id)
        await self._call(self._delete, machine_id)

    async def inspect(self, machine_id: str) -> MachineInfo | None:
        check_machine_id(machine_id)
        return await self._call(self._inspect, machine_id)

    async def vnc_address(self, machine_id: str) -> tuple[str, int] | None:
        """Where the running machine's VNC display listens (always 127.0.0.1), for the console;
        None while it is off. Missing machine: PermanentError machine_not_found."""
        check_machine_id(machine_id)
        return await self._call(self._vnc_address, machine_id)

    async def start(self, machine_id: str) -> MachineInfo:
        return await self._operate(machine_id, self._start)

    async def stop(self, machine_id: str) -> MachineInfo:
        return await self._operate(machine_id, lambda dom, _files: self._destroy(dom))

    async def shutdown(self, machine_id: str) -> MachineInfo:
        return await self._operate(machine_id, lambda dom, _files: self._shutdown(dom))

    async def reboot(self, machine_id: str) -> MachineInfo:
        flags = self._lv.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN
        return await self._operate(machine_id, lambda d, f: self._restart(d, f, d.reboot, flags))

    async def reset(self, machine_id: str) -> MachineInfo:
        return await self._operate(machine_id, lambda d, f: self._restart(d, f, d.reset, 0))

    async def resize(self, machine_id: str, *, vcpu: int, ram_mb: int, disk_gb: int) -> MachineInfo:
        def change(dom: Domain, files: MachineFiles) -> None:
            self._resize(dom, files, vcpu=vcpu, ram_mb=ram_mb, disk_gb=disk_gb)

        return await self._operate(machine_id, change)

    async def reinstall(self, machine_id: str, *, image: str, hostname: str) -> MachineInfo:
        return await self._operate(machine_id, lambda d, f: self._reinstall(d, f, image, hostname))

    async def set_hostname(self, machine_id: str, hostname: str) -> MachineInfo:
        return await self._operate(machine_id, lambda d, f: self._rename(d, f, hostname))

    # Volumes (`libvirt_volumes`): qcow2 files of this host, hot-plugged as virtio disks.

    async def create_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        check_volume_id(volume_id)
        return await self._call(self._volumes.create, volume_id, size_gb)

    async def attach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_volume_id(volume_id)
        check_machine_id(machine_id)
        dom = await self._call(self._require, machine_id)
        return await self._call(self._volumes.attach, volume_id, machine_id, dom)

    async def detach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_volume_id(volume_id)
        check_machine_id(machine_id)
        dom = await self._call(self._lookup, machine_id)
        if dom is None:  # a machine that is gone holds nothing
            return await self._call(self._volumes.info, volume_id)
        return await self._call(self._volumes.detach, volume_id, dom)

    async def resize_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        check_volume_id(volume_id)
        return await self._call(self._volumes.resize, volume_id, size_gb)

    async def delete_volume(self, volume_id: str) -> None:
        check_volume_id(volume_id)
        await self._call(self._volumes.delete, volume_id)

    async def inspect_volume(self, volume_id: str) -> VolumeInfo | None:
        check_volume_id(volume_id)
        return await self._call(self._volumes.inspect, volume_id)

    async def create_backup(self, machine_id: str, backup_id: str) -> BackupInfo:
        """See `libvirt_backups`: a qcow2 copy in the backup store, from an internal snapshot
        while the machine runs."""
        return await self._backup_call(self._backups.create, machine_id, backup_id)

    async def delete_backup(self, machine_id: str, backup_id: str) -> None:
        await self._backup_call(self._backups.delete, machine_id, backup_id)

    async def restore_backup(self, machine_id: str, backup_id: str) -> MachineInfo:
        return await self._backup_call(self._backups.restore, machine_id, backup_id)

    async def _backup_call(self, fn: Callable[[str, str], T], machine_id: str, backup_id: str) -> T:
        check_machine_id(machine_id)
        check_backup_id(backup_id)
        return await self._call(fn, machine_id, backup_id)

    async def set_addresses(
        self, machine_id: str, addresses: Sequence[GuestAddress]
    ) -> MachineInfo:
        return await self._operate(machine_id, lambda d, f: self._readdress(d, f, addresses))

    async def set_software(self, machine_id: str, packages: Sequence[str]) -> MachineInfo:
        wanted = software_set(packages)
        return await self._operate(machine_id, lambda d, f: self._set_software(d, f, wanted))

    async def set_private_network(
        self, machine_id: str, network: PrivateNetwork | None
    ) -> MachineInfo:
        """eth1 on the VPC's network (made if missing), by redefinition and a graceful power
        cycle of a running guest, as `set_addresses`: the address reaches the guest through
        the seed, which a new QEMU process reads. The network it left goes when unused."""
        return await self._operate(machine_id, lambda d, f: self._join(d, f, network))

    async def private_networks(self) -> frozenset[str]:
        return await self._call(lambda: vpc_network_ids(self._conn.get()))

    async def create_snapshot(self, machine_id: str, snapshot_id: str) -> SnapshotInfo:
        check_machine_id(machine_id)
        check_snapshot_id(snapshot_id)
        dom = await self._call(self._require, machine_id)
        snapshot = await self._call(snapshots.create, self._lv, dom, snapshot_id)
        disk_gb = await self._call(snapshots.disk_gb, machine_id, snapshot)
        return SnapshotInfo(snapshot_id=snapshot_id, disk_gb=disk_gb, external_id=snapshot_id)

    async def delete_snapshot(self, machine_id: str, snapshot_id: str) -> None:
        check_machine_id(machine_id)
        check_snapshot_id(snapshot_id)
        dom = await self._call(self._lookup, machine_id)
        if dom is not None:
            disk = self._files(machine_id).disk
            await self._call(lambda: snapshots.delete(self._lv, dom, snapshot_id, disk=disk))

    async def restore_snapshot(self, machine_id: str, snapshot_id: str) -> MachineInfo:
        check_snapshot_id(snapshot_id)

        def restore(dom: Domain, files: MachineFiles) -> None:
            disk_gb = self._config(dom).disk_gb
            snapshots.restore(self._lv, dom, snapshot_id, disk=files.disk, disk_gb=disk_gb)

        return await self._operate(machine_id, restore)

    async def create_image(self, machine_id: str, snapshot_id: str, image: str) -> ImageInfo:
        check_machine_id(machine_id)
        check_snapshot_id(snapshot_id)
        check_image_name(image)
        dom = await self._call(self._require, machine_id)
        target = self.settings.images_dir.resolve() / f"{image}.qcow2"
        disk = self._files(machine_id).disk

        def export() -> int:
            snapshots.export(self._lv, dom, snapshot_id, disk=disk, target=target)
            return snapshots.disk_gb(machine_id, snapshots.require(self._lv, dom, snapshot_id))

        min_disk_gb = await self._call(export)
        return ImageInfo(image=image, min_disk_gb=min_disk_gb, external_id=str(target))

    async def delete_image(self, image: str) -> None:
        check_image_name(image)
        if not is_custom_image(image):
            message = f"{image!r} is an operator's base image, not a custom image."
            raise PermanentError(message, code="not_a_custom_image")
        path = self.settings.images_dir / f"{image}.qcow2"
        await self._call(path.unlink, True)

    async def hypervisor_config(self, machine_id: str) -> dict[str, Any]:
        check_machine_id(machine_id)
        dom = await self._call(self._require, machine_id)
        config = await self._call(self._config, dom)
        return dict(config.settings)

    async def apply_config(self, machine_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        checked = checked_by_driver(changes, LIBVIRT.config_keys)
        check_machine_id(machine_id)
        dom = await self._call(self._require, machine_id)
        return await self._call(self._configure, dom, self._files(machine_id), checked)

    async def firewall_rules(self, machine_id: str) -> tuple[FirewallRule, ...]:
        """The rules of the machine's nwfilter (`libvirt_firewall`)."""
        check_machine_id(machine_id)
        await self._call(self._require, machine_id)
        return await self._call(firewall.read, self._lv, self._conn.get(), machine_id)

    async def apply_firewall(
        self, machine_id: str, rules: Sequence[FirewallRule]
    ) -> tuple[FirewallRule, ...]:
        check_machine_id(machine_id)
        dom = await self._call(self._require, machine_id)
        return await self._call(self._set_firewall, dom, self._files(machine_id), rules)

    async def console(self, machine_id: str) -> str:
        check_machine_id(machine_id)
        await self._call(self._require, machine_id)
        return await self._call(read_console, self._files(machine_id).log)

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.close)

    # The blocking parts: each runs in a worker thread through `_call`.

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._translated, fn, *args)

    def _translated(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except self._lv.libvirtError as exc:
            raise self._conn.translate(exc) from exc
        except OSError as exc:  # the machine's files under the state dir
            message = f"Host file I/O failed: {exc}"
            raise PermanentError(message, code="host_io_error") from exc

    async def _operate(
        self, machine_id: str, operation: Callable[[Domain, MachineFiles], int | None]
    ) -> MachineInfo:
        """Run `operation` on the existing machine; when it returns a log offset it booted the
        guest: wait for a new boot marker after that offset."""
        check_machine_id(machine_id)
        files = self._files(machine_id)
        dom = await self._call(self._require, machine_id)
        offset = await self._call(operation, dom, files)
        if offset is not None:
            await self._wait_for_boot(files.log, offset)
        return await self._call(self._info, dom)

    async def _wait_for_boot(self, log: Path, offset: int) -> None:
        marker = self.settings.boot_marker
        if marker is None:
            return
        deadline = time.monotonic() + self.settings.boot_timeout
        while True:
            text = await self._call(text_after, log, offset)
            lines = text.splitlines(keepends=True)
            if any(line.startswith(marker) and line.endswith("\n") for line in lines):
                return
            if time.monotonic() >= deadline:
                message = (
                    f"No {marker} line in {log} within {self.settings.boot_timeout} s; "
                    f"the log after the action ends with: {text[-500:]!r}"
                )
                raise TransientError(message, code="boot_timeout")
            await asyncio.sleep(0.1)

    def _create(self, config: MachineConfig, files: MachineFiles) -> Domain:
        try:
            base = base_image(self.settings.images_dir, config.image)
            make_disk(base, files.disk, config.disk_gb, copy=is_custom_image(config.image))
            self._write_seed(files, config)
            clear_console(files.log)
            dom = self._define(config, files)
        except BaseException:
            files.remove()
            raise
        dom.create()
        return dom

    def _delete(self, machine_id: str) -> None:
        dom = self._lookup(machine_id)
        if dom is not None:
            left = self._vpc_of(dom)
            self._destroy(dom)
            lv = self._lv
            flags = (
                lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | lv.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                | lv.VIR_DOMAIN_UNDEFINE_NVRAM
            )
            self._ignoring(lv.VIR_ERR_NO_DOMAIN, dom.undefineFlags, flags)
            self._remove_if_unused(left)
        firewall.remove(self._lv, self._conn.get(), machine_id)  # unbound with its domain
        self._files(machine_id).remove()

    def _inspect(self, machine_id: str) -> MachineInfo | None:
        dom = self._lookup(machine_id)
        try:
            return None if dom is None else self._info(dom)
        except self._lv.libvirtError as exc:
            if exc.get_error_code() == self._lv.VIR_ERR_NO_DOMAIN:
                return None  # deleted meanwhile
            raise

    def _vnc_address(self, machine_id: str) -> tuple[str, int] | None:
        dom = self._require(machine_id)
        port = vnc_port(dom.XMLDesc(0)) if dom.isActive() else None
        return ("127.0.0.1", port) if port is not None else None

    def _start(self, dom: Domain, files: MachineFiles) -> int | None:
        if dom.isActive():
            return None
        self._ensure_networks(self._config(dom))
        offset = log_size(files.log)
        dom.create()
        return offset

    def _destroy(self, dom: Domain) -> None:
        if dom.isActive():
            self._ignoring(self._lv.VIR_ERR_OPERATION_INVALID, dom.destroy)  # off meanwhile

    def _shutdown(self, dom: Domain) -> None:
        deadline = time.monotonic() + self.settings.shutdown_timeout
        press_at = 0.0
        while dom.isActive():
            now = time.monotonic()
            if now >= deadline:
                message = f"The guest did not power off within {self.settings.shutdown_timeout} s."
                raise TransientError(message, code="shutdown_timeout")
            if now >= press_at:
                flags = self._lv.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN
                self._ignoring(self._lv.VIR_ERR_OPERATION_INVALID, dom.shutdownFlags, flags)
                press_at = now + _PRESS_AGAIN_S
            time.sleep(0.1)

    def _restart(
        self, dom: Domain, files: MachineFiles, action: Callable[[int], object], flags: int
    ) -> int:
        if not dom.isActive():
            message = f"Machine {self._machine_id(dom)} is not running."
            raise PermanentError(message, code="machine_not_running")
        offset = log_size(files.log)
        action(flags)
        return offset

    def _resize(
        self, dom: Domain, files: MachineFiles, *, vcpu: int, ram_mb: int, disk_gb: int
    ) -> None:
        config = self._config(dom)
        if dom.isActive():
            message = f"Machine {config.machine_id} must be stopped."
            raise PermanentError(message, code="machine_running")
        check_disk_growth(current_gb=config.disk_gb, target_gb=disk_gb)
        resized = replace(config, vcpu=vcpu, ram_mb=ram_mb, disk_gb=disk_gb)
        check_config(resized)
        if disk_gb > config.disk_gb:
            grow_overlay(files.disk, disk_gb)
        self._define(resized, files)

    def _reinstall(self, dom: Domain, files: MachineFiles, image: str, hostname: str) -> int | None:
        config = self._config(dom)
        fresh = replace(config, image=image, hostname=hostname, disk_id=uuid.uuid4().hex)
        check_config(fresh)
        base = base_image(self.settings.images_dir, image)
        was_on = bool(dom.isActive())
        self._destroy(dom)
        snapshots.forget_all(self._lv, dom)  # they lived in the disk replaced here
        make_disk(base, files.disk, fresh.disk_gb, copy=is_custom_image(image))
        self._write_seed(files, fresh)
        clear_console(files.log)
        self._define(fresh, files)
        if not was_on:
            return None
        dom.create()
        return 0

    def _rename(self, dom: Domain, files: MachineFiles, hostname: str) -> int | None:
        config = self._config(dom)
        renamed = replace(config, hostname=hostname)
        check_config(renamed)
        if hostname == config.hostname:
            return None  # nothing to apply: a repeated call does not restart the guest again
        self._write_seed(files, renamed)
        self._define(renamed, files)
        if not dom.isActive():
            return None
        self._shutdown(dom)
        offset = log_size(files.log)
        dom.create()
        return offset

    def _readdress(
        self, dom: Domain, files: MachineFiles, addresses: Sequence[GuestAddress]
    ) -> int | None:
        config = self._config(dom)
        changed = replace(config, addresses=tuple(addresses))
        if changed == config:
            return None  # nothing to apply: a repeated call does not restart the guest again
        self._write_seed(files, changed)
        self._define(changed, files)
        if network_line(addresses) == network_line(config.addresses) or not dom.isActive():
            return None  # PTR names only, or applied at the next boot
        self._shutdown(dom)
        offset = log_size(files.log)
        dom.create()
        return offset

    def _set_software(
        self, dom: Domain, files: MachineFiles, wanted: tuple[str, ...]
    ) -> int | None:
        config = self._config(dom)
        if wanted == config.software:
            return None  # nothing to apply: a repeated call does not restart the guest again
        removed = (set(config.removed_software) | set(config.software)) - set(wanted)
        changed = replace(config, software=wanted, removed_software=tuple(sorted(removed)))
        self._write_seed(files, changed)
        self._define(changed, files)
        if not dom.isActive():
            return None  # applied at the next boot
        self._shutdown(dom)  # a new QEMU process reads the new seed (see set_hostname)
        offset = log_size(files.log)
        dom.create()
        return offset

    def _join(self, dom: Domain, files: MachineFiles, network: PrivateNetwork | None) -> int | None:
        config = self._config(dom)
        joined = replace(config, private_network=network)
        if joined == config:
            self._ensure_networks(config)  # converge: it may have been removed behind our back
            return None  # nothing to apply: a repeated call does not restart the guest again
        self._write_seed(files, joined)
        self._define(joined, files)
        offset = None
        if dom.isActive():
            self._shutdown(dom)
            offset = log_size(files.log)
            dom.create()
        self._remove_if_unused(config.private_network)
        return offset

    def _vpc_of(self, dom: Domain) -> PrivateNetwork | None:
        try:
            return self._config(dom).private_network
        except PermanentError:  # not defined by nuage: on no VPC of ours
            return None

    def _remove_if_unused(self, network: PrivateNetwork | None) -> None:
        """Remove a VPC's network no domain of this host is on any more."""
        if network is None:
            return
        name, _bridge = vpc_network(network.network_id)
        conn = self._conn.get()
        if unused(self._lv, conn, name):
            remove_network(self._lv, conn, name)

    def _configure(
        self, dom: Domain, files: MachineFiles, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Redefine the domain with the settings merged in (a running guest keeps its live
        definition until its next boot); unchanged settings are not redefined."""
        config = self._config(dom)
        after = merged(config.settings, changes)
        if after != dict(config.settings):
            self._define(replace(config, settings=after), files)
        return after

    def _set_firewall(
        self, dom: Domain, files: MachineFiles, rules: Sequence[FirewallRule]
    ) -> tuple[FirewallRule, ...]:
        """Rules: the filter defined (a bound filter takes them at once), then bound to the
        interfaces; none: the filter unbound, then undefined (libvirt keeps a filter in use).
        Each step converges when repeated, so a retry completes a change cut short."""
        machine_id, conn = self._machine_id(dom), self._conn.get()
        if rules:
            firewall.define(self._lv, conn, machine_id, rules)
        self._bind_firewall(dom, files, bound=bool(rules))
        if not rules:
            firewall.remove(self._lv, conn, machine_id)
        return firewall.read(self._lv, conn, machine_id)

    def _bind_firewall(self, dom: Domain, files: MachineFiles, *, bound: bool) -> None:
        """The binding in the definition (every later definition keeps it), and in the running
        guest's interfaces (updated live: no restart)."""
        config = self._config(dom)
        if self._hw.guest_network is None:
            return  # no interface to filter: the filter stays defined, bound to nothing
        if config.firewall != bound:
            self._define(replace(config, firewall=bound), files)
        if dom.isActive():
            live = dom.XMLDesc(0)
            for interface in firewall.rebind_live(live, config.machine_id, bound=bound):
                dom.updateDeviceFlags(interface, self._lv.VIR_DOMAIN_AFFECT_LIVE)

    def _write_seed(self, files: MachineFiles, config: MachineConfig) -> None:
        write_seed(
            files.seed,
            instance_id=f"iid-{config.disk_id}",
            hostname=config.hostname,
            user_data=user_data(config.software, config.removed_software),
            network_config=network_config(config.addresses, config.private_network),
        )

    def _define(self, config: MachineConfig, files: MachineFiles) -> Domain:
        self._ensure_networks(config)
        xml = domain_xml(config, self._hw, disk=files.disk, seed=files.seed, log=files.log)
        return self._conn.get().defineXML(xml)

    def _ensure_networks(self, config: MachineConfig) -> None:
        """The networks a domain is on must exist before it is defined or started (they may
        have been removed behind nuage's back): the guest network, and its VPC's."""
        conn, name = self._conn.get(), self.settings.guest_network
        if name is not None:
            ensure_network(self._lv, conn, name, bridge=name)
        if config.private_network is not None:
            vpc, bridge = vpc_network(config.private_network.network_id)
            ensure_network(self._lv, conn, vpc, bridge=bridge)

    def _info(self, dom: Domain) -> MachineInfo:
        config = self._config(dom)
        return MachineInfo(
            machine_id=config.machine_id,
            power=self._power(dom),
            vcpu=config.vcpu,
            ram_mb=config.ram_mb,
            disk_gb=config.disk_gb,
            hostname=config.hostname,
            image=config.image,
            disk_id=config.disk_id,
            external_id=str(dom.UUIDString()),
            addresses=config.addresses,
            software=config.software,
            disks=self._attached(dom),
            private_network=config.private_network,
        )

    def _attached(self, dom: Domain) -> tuple[AttachedDisk, ...]:
        """The volumes the domain has now: its live definition while it runs (a disk unplugged
        with `virsh detach-disk --live` is gone), else its persistent one."""
        found = volume_disks(dom.XMLDesc(0))
        return tuple(
            AttachedDisk(device, self._volumes.volume_id_of(path), str(path))
            for device, path in sorted(found.items())
        )

    def _config(self, dom: Domain) -> MachineConfig:
        """The definition, with the disk's size as its image file has it (grown outside nuage,
        e.g. by `qemu-img resize`, it is what a resize must not shrink and what a sync adopts)."""
        xml = dom.XMLDesc(self._lv.VIR_DOMAIN_XML_INACTIVE)
        config = parse_config(self._machine_id(dom), xml)
        try:
            capacity = int(dom.blockInfo("vda")[0])
        except self._lv.libvirtError:
            return config  # the disk cannot be read: nuage's record stands
        return replace(config, disk_gb=max(1, -(-capacity // _GIB)))

    def _power(self, dom: Domain) -> PowerState:
        state = dom.state()[0]
        if state in (self._lv.VIR_DOMAIN_SHUTOFF, self._lv.VIR_DOMAIN_CRASHED):
            return PowerState.OFF
        return PowerState.UNKNOWN if state == self._lv.VIR_DOMAIN_NOSTATE else PowerState.ON

    def _lookup(self, machine_id: str) -> Domain | None:
        try:
            return self._conn.get().lookupByName(domain_name(machine_id))
        except self._lv.libvirtError as exc:
            if exc.get_error_code() == self._lv.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _require(self, machine_id: str) -> Domain:
        dom = self._lookup(machine_id)
        if dom is None:
            raise PermanentError(f"No machine {machine_id}.", code="machine_not_found")
        return dom

    def _files(self, machine_id: str) -> MachineFiles:
        return MachineFiles.under(self.settings.state_dir, machine_id)

    def _machine_id(self, dom: Domain) -> str:
        return machine_id_of(dom)

    def _ignoring(self, error_code: int, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except self._lv.libvirtError as exc:
            if exc.get_error_code() != error_code:
                raise
