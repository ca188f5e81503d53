"""Finding and reading a Proxmox VM: the shared ground of the Proxmox driver's modules.

A machine is a QEMU VM of the host's node whose VMID (from `cluster/nextid`) is the machine's
external id. It carries the tag `machine_tag(machine_id)`, by which the driver finds it (one
list call, then cached), and nuage's `Meta` in its description. Its hostname is the VM's name
(cloud-init takes the guest's hostname from it); its main disk the first of scsi0, virtio0,
sata0, ide0 that is not a CD-ROM; its volumes scsi1 … (devices vdc …).
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError
from nuage.domain.volumes import VOLUME_DEVICES

from .base import AttachedDisk, MachineInfo
from .proxmox_client import PveClient
from .proxmox_console import Relays
from .proxmox_settings import ProxmoxSettings
from .proxmox_values import Meta, as_int, machine_tag, property_string, size_gb, volume_id_of

_MAIN_DISKS = ("scsi0", "virtio0", "sata0", "ide0")


@dataclass(frozen=True, slots=True)
class Vm:
    vmid: int
    config: dict[str, Any]
    meta: Meta
    running: bool

    @property
    def main_disk(self) -> str:
        return main_disk(self.config)


def main_disk(config: dict[str, Any]) -> str:
    for key in _MAIN_DISKS:
        value = config.get(key)
        if value and "media=cdrom" not in str(value) and "cloudinit" not in str(value):
            return key
    raise PermanentError("The VM has no main disk (scsi0, virtio0, …).", code="proxmox_error")


def volume_key(device: str) -> str:
    """vdc → scsi1, vdd → scsi2, …"""
    return f"scsi{VOLUME_DEVICES.index(device) + 1}"


def volume_device(key: str) -> str | None:
    if not key.startswith("scsi") or not key[4:].isdigit() or key == "scsi0":
        return None
    index = int(key[4:]) - 1
    return VOLUME_DEVICES[index] if index < len(VOLUME_DEVICES) else None


class ProxmoxVms:
    """The client, the settings, and the VMs by machine id."""

    def __init__(self, settings: ProxmoxSettings, client: PveClient | None = None) -> None:
        self.settings = settings
        self.client = client or PveClient(settings)
        self.relays = Relays(settings)  # the VNC displays' relays (`proxmox_console`)
        self._vmids: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def vm_path(self, vmid: int) -> str:
        return f"{self.client.node_path}/qemu/{vmid}"

    def lock(self, name: str) -> asyncio.Lock:
        """One operation at a time per name in this process (a machine, the host's VPCs)."""
        return self._locks.setdefault(name, asyncio.Lock())

    async def find_vmid(self, machine_id: str) -> int | None:
        cached = self._vmids.get(machine_id)
        if cached is not None and await self._has_tag(cached, machine_id):
            return cached
        return await self._listed_vmid(machine_id)

    async def _listed_vmid(self, machine_id: str) -> int | None:
        self._vmids.pop(machine_id, None)
        tag = machine_tag(machine_id)
        for vm in await self.client.get(f"{self.client.node_path}/qemu"):
            if tag in _tags(vm.get("tags")):
                vmid = as_int(vm.get("vmid"))
                self._vmids[machine_id] = vmid
                return vmid
        return None

    def remember(self, machine_id: str, vmid: int) -> None:
        self._vmids[machine_id] = vmid

    def forget(self, machine_id: str) -> None:
        self._vmids.pop(machine_id, None)

    async def find(self, machine_id: str) -> Vm | None:
        """The machine's VM, read once: a cached VMID is checked on the config it reads."""
        cached = self._vmids.get(machine_id)
        if cached is not None:
            try:
                vm = await self.read(cached)
            except PermanentError:  # gone, or another VM took the VMID
                vm = None
            if vm is not None and vm.meta.machine_id == machine_id:
                return vm
        vmid = await self._listed_vmid(machine_id)
        return None if vmid is None else await self.read(vmid)

    async def require(self, machine_id: str) -> Vm:
        vm = await self.find(machine_id)
        if vm is None:
            raise PermanentError(f"No machine {machine_id} on this host.", code="machine_not_found")
        return vm

    async def read(self, vmid: int) -> Vm:
        config = await self.client.get(f"{self.vm_path(vmid)}/config")
        status = await self.client.get(f"{self.vm_path(vmid)}/status/current")
        meta = Meta.parse(config.get("description"))
        if meta is None:
            raise PermanentError(f"VM {vmid} is not one nuage made.", code="proxmox_error")
        return Vm(vmid, dict(config), meta, status.get("status") == "running")

    def info(self, vm: Vm) -> MachineInfo:
        config, meta = vm.config, vm.meta
        disk = property_string(config[vm.main_disk])
        return MachineInfo(
            machine_id=meta.machine_id,
            power=PowerState.ON if vm.running else PowerState.OFF,
            vcpu=as_int(config.get("cores"), 1) * as_int(config.get("sockets"), 1),
            ram_mb=as_int(config.get("memory"), 512),
            disk_gb=size_gb(disk.get("size")),
            hostname=str(config.get("name", "")),
            image=meta.image,
            disk_id=meta.disk_id,
            external_id=str(vm.vmid),
            addresses=tuple(meta.addresses),
            disks=attached_disks(config),
            private_network=meta.vpc,
            software=tuple(meta.software),
        )

    async def info_of(self, vmid: int) -> MachineInfo:
        return self.info(await self.read(vmid))

    async def _has_tag(self, vmid: int, machine_id: str) -> bool:
        try:
            config = await self.client.get(f"{self.vm_path(vmid)}/config")
        except PermanentError:
            return False
        return machine_tag(machine_id) in _tags(config.get("tags"))


def attached_disks(config: dict[str, Any]) -> tuple[AttachedDisk, ...]:
    found = []
    for key, value in config.items():
        device = volume_device(key)
        if device is not None:
            source = property_string(str(value)).get("_", "")
            found.append(AttachedDisk(device, volume_id_of(source), source))
    return tuple(sorted(found, key=lambda d: VOLUME_DEVICES.index(d.device)))


def _tags(raw: object) -> set[str]:
    return {t for t in str(raw or "").replace(",", ";").replace(" ", ";").split(";") if t}
