"""Volumes on Proxmox VE: disks of the host's `storage`, attached to VMs as scsi1 … (vdc …).

A volume is allocated with `POST nodes/{node}/storage/{storage}/content` and named
`vm-<owner>-nuage-vol-<volume id>`: PVE names every VM disk after a VMID, and the owner is the
host's `volume_owner` VMID, which no machine has. Proxmox frees a disk with its VM only when the
VM owns it, so a machine's destroy never takes its volumes; the driver detaches them first all
the same. Attach and detach are `PUT qemu/{vmid}/config` (`scsiN=<volume>`, `delete=scsiN`, live
while the VM runs); a resize is `PUT qemu/{vmid}/resize` of the disk, which Proxmox offers only
for a disk attached to a VM: a detached volume's resize is PermanentError `volume_not_attached`.
No transient attach is tried: the only VM a volume could be attached to without another
machine seeing it is one with the `volume_owner` VMID, and PVE frees every `vm-<owner>-…` disk
when that VM is destroyed (and a disk when its `unusedN` entry is deleted), so a crash or a
retry in the middle would destroy volumes.
"""

from typing import Any
from urllib.parse import quote

from nuage.domain.errors import PermanentError
from nuage.domain.machines import check_disk_growth, check_machine_id
from nuage.domain.volumes import check_volume_id, check_volume_size, first_free_device

from .base import VolumeInfo
from .proxmox_storage import ProxmoxStorage
from .proxmox_values import Meta, as_int, property_string, volume_file, volume_id_of
from .proxmox_vms import attached_disks, volume_key

_GIB = 1024**3


class ProxmoxVolumes(ProxmoxStorage):
    async def create_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        check_volume_id(volume_id)
        check_volume_size(size_gb)
        async with self.lock(f"volume:{volume_id}"):
            if await self._volume(volume_id) is None:
                await self.client.post(
                    f"{self._storage_path}/content",
                    vmid=self.settings.volume_owner,
                    filename=volume_file(self.settings.volume_owner, volume_id),
                    size=f"{size_gb}G",
                )
            return await self._require_volume(volume_id)

    async def attach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_volume_id(volume_id)
        check_machine_id(machine_id)
        async with self.lock(f"volume:{volume_id}"), self.lock(machine_id):
            info = await self._require_volume(volume_id)
            if info.machine_id == machine_id:
                return info
            if info.machine_id is not None:
                message = f"Volume {volume_id} is attached to another machine."
                raise PermanentError(message, code="volume_in_use")
            vm = await self.require(machine_id)
            device = first_free_device({d.device for d in attached_disks(vm.config)})
            path = f"{self.vm_path(vm.vmid)}/config"
            # backup=0: a volume is not the machine's, so its backups leave it out
            drive = f"{info.external_id},backup=0"
            await self.client.put(path, **{volume_key(device): drive})
            return await self._require_volume(volume_id)

    async def detach_volume(self, volume_id: str, *, machine_id: str) -> VolumeInfo:
        check_volume_id(volume_id)
        check_machine_id(machine_id)
        async with self.lock(f"volume:{volume_id}"), self.lock(machine_id):
            info = await self._require_volume(volume_id)
            vm = await self.find(machine_id)
            if vm is None or info.machine_id != machine_id or info.device is None:
                return info
            path = f"{self.vm_path(vm.vmid)}/config"
            await self.client.put(path, delete=volume_key(info.device))
            # PVE keeps a detached disk as `unusedN`: forgetting that entry frees nothing,
            # since the VM does not own the volume.
            config = await self.client.get(path)
            unused = [k for k, v in config.items() if k.startswith("unused") and _is(v, volume_id)]
            if unused:
                await self.client.put(path, delete=",".join(unused))
            return await self._require_volume(volume_id)

    async def resize_volume(self, volume_id: str, *, size_gb: int) -> VolumeInfo:
        check_volume_id(volume_id)
        async with self.lock(f"volume:{volume_id}"):
            info = await self._require_volume(volume_id)
            check_disk_growth(current_gb=info.size_gb, target_gb=size_gb)
            if size_gb == info.size_gb:
                return info
            if info.machine_id is None or info.device is None:
                message = (
                    "Proxmox resizes a volume only while it is attached to a machine: attach it,"
                    " resize it, then detach it."
                )
                raise PermanentError(message, code="volume_not_attached")
            vmid = await self.find_vmid(info.machine_id)
            path = f"{self.vm_path(vmid or 0)}/resize"
            await self.client.run("PUT", path, disk=volume_key(info.device), size=f"{size_gb}G")
            return await self._require_volume(volume_id)

    async def delete_volume(self, volume_id: str) -> None:
        check_volume_id(volume_id)
        async with self.lock(f"volume:{volume_id}"):
            info = await self.inspect_volume(volume_id)
            if info is None:
                return
            if info.machine_id is not None:
                message = f"Volume {volume_id} is attached to machine {info.machine_id}."
                raise PermanentError(message, code="volume_in_use")
            volid = quote(info.external_id, safe="")
            await self.client.run("DELETE", f"{self._storage_path}/content/{volid}")

    async def inspect_volume(self, volume_id: str) -> VolumeInfo | None:
        check_volume_id(volume_id)
        found = await self._volume(volume_id)
        if found is None:
            return None
        volid = str(found["volid"])
        size = -(-as_int(found.get("size")) // _GIB)
        for machine_id, config in await self._machine_configs():
            for disk in attached_disks(config):
                if disk.volume_id == volume_id:
                    return VolumeInfo(volume_id, size, volid, machine_id, disk.device)
        return VolumeInfo(volume_id, size, volid)

    @property
    def _storage_path(self) -> str:
        return f"{self.client.node_path}/storage/{self.settings.storage}"

    async def _volume(self, volume_id: str) -> dict[str, Any] | None:
        listed = await self.client.get(
            f"{self._storage_path}/content", content="images", vmid=self.settings.volume_owner
        )
        return next((v for v in listed if volume_id_of(str(v.get("volid"))) == volume_id), None)

    async def _require_volume(self, volume_id: str) -> VolumeInfo:
        info = await self.inspect_volume(volume_id)
        if info is None:
            raise PermanentError(f"No volume {volume_id} on this host.", code="volume_not_found")
        return info

    async def _machine_configs(self) -> list[tuple[str, dict[str, Any]]]:
        """(machine id, config) of every machine VM of the node (one GET per machine)."""
        out = []
        for vm in await self.client.get(f"{self.client.node_path}/qemu"):
            if "nuage-" not in str(vm.get("tags") or "") or vm.get("template"):
                continue
            config = await self.client.get(f"{self.vm_path(as_int(vm.get('vmid')))}/config")
            meta = Meta.parse(config.get("description"))
            if meta is not None:
                out.append((meta.machine_id, dict(config)))
        return out


def _is(value: object, volume_id: str) -> bool:
    return volume_id_of(property_string(str(value)).get("_", "")) == volume_id
