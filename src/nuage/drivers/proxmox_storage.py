"""Snapshots, backups and custom images on Proxmox VE.

- Snapshots: `qemu/{vmid}/snapshot`, named `snapshot_name(snapshot_id)` (fits `pve-configid`)
  with nuage's id as the description. A rollback brings the whole VM configuration back as it
  was; what is not the disk (CPUs, memory, interfaces, addresses, volumes) is put back as it was
  before the rollback (`reapply`), so that only the disk goes back in time.
- Backups: `nodes/{node}/vzdump` of the VM to the host's `backup_storage`, with nuage's id in
  the backup's notes (`notes-template`), by which the driver finds it again; a restore is
  `POST nodes/{node}/qemu` with `archive=` and `force=1` over the stopped VM, then `reapply`.
  Deleting one deletes its volume (`storage/{storage}/content/{volume}`).
- Custom images: a full clone of the snapshot (`clone` with `snapname`) turned into a template
  (`template`), named by the image and tagged `image_tag(image)`; machines made from it are full
  clones, so deleting the image (`DELETE qemu/{vmid}`) leaves them whole.
"""

from typing import Any
from urllib.parse import quote

from nuage.domain.errors import PermanentError
from nuage.domain.images import is_custom_image
from nuage.domain.machines import check_backup_id, check_image_name, check_machine_id
from nuage.domain.machines import check_snapshot_id as check_snapshot

from .base import MachineInfo
from .capabilities import BackupInfo, ImageInfo, SnapshotInfo
from .proxmox_machines import ProxmoxMachines
from .proxmox_values import as_int, image_tag, property_string, size_gb, snapshot_name
from .proxmox_vms import Vm, main_disk, volume_device

_NOTES = "nuage-backup "  # then the backup's id and ` disk_gb=N`


class ProxmoxStorage(ProxmoxMachines):
    # snapshots

    async def create_snapshot(self, machine_id: str, snapshot_id: str) -> SnapshotInfo:
        check_snapshot(snapshot_id)
        check_machine_id(machine_id)
        async with self.lock(machine_id):
            vm = await self.require(machine_id)
            name = snapshot_name(snapshot_id)
            if name not in await self._snapshot_names(vm.vmid):
                path = f"{self.vm_path(vm.vmid)}/snapshot"
                await self.client.run("POST", path, snapname=name, description=snapshot_id)
            return SnapshotInfo(snapshot_id, self.info(vm).disk_gb, name)

    async def delete_snapshot(self, machine_id: str, snapshot_id: str) -> None:
        check_snapshot(snapshot_id)
        check_machine_id(machine_id)
        async with self.lock(machine_id):
            vm = await self.find(machine_id)
            name = snapshot_name(snapshot_id)
            if vm is not None and name in await self._snapshot_names(vm.vmid):
                await self.client.run("DELETE", f"{self.vm_path(vm.vmid)}/snapshot/{name}")

    async def restore_snapshot(self, machine_id: str, snapshot_id: str) -> MachineInfo:
        check_snapshot(snapshot_id)

        async def rollback(vm: Vm) -> None:
            name = snapshot_name(snapshot_id)
            if name not in await self._snapshot_names(vm.vmid):
                raise PermanentError(f"No snapshot {snapshot_id}.", code="snapshot_not_found")
            _require_stopped(vm)
            path = f"{self.vm_path(vm.vmid)}/snapshot/{name}/rollback"
            await self.client.run("POST", path)
            await self._after_rewind(vm)

        return await self._act(machine_id, rollback)

    # backups

    async def create_backup(self, machine_id: str, backup_id: str) -> BackupInfo:
        check_backup_id(backup_id)
        check_machine_id(machine_id)
        async with self.lock(machine_id):
            vm = await self.find(machine_id)
            if vm is None:  # a retry after its machine went: the backup made before, if any
                made = await self._backup(None, backup_id)
                if made is None:
                    message = f"No machine {machine_id} on this host."
                    raise PermanentError(message, code="machine_not_found")
                return _backup_info(backup_id, machine_id, made)
            found = await self._backup(vm.vmid, backup_id)
            if found is None:
                await self.client.run(
                    "POST",
                    f"{self.client.node_path}/vzdump",
                    vmid=str(vm.vmid),
                    storage=self.settings.backup_storage,
                    mode="snapshot",
                    compress="zstd",
                    **{"notes-template": f"{_NOTES}{backup_id} disk_gb={self.info(vm).disk_gb}"},
                )
                found = await self._backup(vm.vmid, backup_id)
            if found is None:
                message = f"vzdump ended without a backup of VM {vm.vmid} in the backup storage."
                raise PermanentError(message, code="proxmox_error")
            return _backup_info(backup_id, machine_id, found)

    async def delete_backup(self, machine_id: str, backup_id: str) -> None:
        check_backup_id(backup_id)
        check_machine_id(machine_id)
        found = await self._backup(await self.find_vmid(machine_id), backup_id)
        if found is not None:
            await self.client.run("DELETE", self._content(str(found["volid"])))

    async def restore_backup(self, machine_id: str, backup_id: str) -> MachineInfo:
        check_backup_id(backup_id)

        async def restore(vm: Vm) -> None:
            found = await self._backup(vm.vmid, backup_id)
            if found is None:
                raise PermanentError(f"No backup {backup_id}.", code="backup_not_found")
            _require_stopped(vm)
            volumes = [k for k in vm.config if volume_device(k)]
            if volumes:  # volumes are not the machine's: a forced restore must not touch them
                await self.client.put(f"{self.vm_path(vm.vmid)}/config", delete=",".join(volumes))
            await self.client.run(
                "POST",
                f"{self.client.node_path}/qemu",
                vmid=vm.vmid,
                archive=str(found["volid"]),
                force=True,
                storage=self.settings.storage,
            )
            await self._after_rewind(vm)

        return await self._act(machine_id, restore)

    # custom images

    async def create_image(self, machine_id: str, snapshot_id: str, image: str) -> ImageInfo:
        check_image_name(image)
        check_snapshot(snapshot_id)
        check_machine_id(machine_id)
        async with self.lock(f"image:{image}"):
            existing = await self.image_vmid(image)
            if existing is not None:
                return await self._image_info(image, existing)
            vm = await self.require(machine_id)
            name = snapshot_name(snapshot_id)
            if name not in await self._snapshot_names(vm.vmid):
                raise PermanentError(f"No snapshot {snapshot_id}.", code="snapshot_not_found")
            vmid = as_int(await self.client.get("cluster/nextid"))
            await self.client.run(
                "POST",
                f"{self.vm_path(vm.vmid)}/clone",
                newid=vmid,
                snapname=name,
                full=True,
                storage=self.settings.storage,
                name=image if len(image) <= 63 else None,
                description=f"nuage image {image}",
            )
            await self.client.put(f"{self.vm_path(vmid)}/config", tags=image_tag(image))
            await self.client.run("POST", f"{self.vm_path(vmid)}/template")
            return await self._image_info(image, vmid)

    async def delete_image(self, image: str) -> None:
        check_image_name(image)
        if not is_custom_image(image):
            message = f"{image!r} is an operator's template, not a custom image."
            raise PermanentError(message, code="not_a_custom_image")
        vmid = await self.image_vmid(image)
        if vmid is not None:
            await self.client.run("DELETE", self.vm_path(vmid), purge=True)

    # internals

    async def _after_rewind(self, vm: Vm) -> None:
        """After a rollback or a restore: all but the disk's contents as before (`reapply`),
        and a disk grown since keeps its size (disks only grow)."""
        await self.reapply(vm.vmid, vm.config, vm.meta)
        now = await self.read(vm.vmid)
        await self.grow_disk(vm.vmid, now.main_disk, self.info(now).disk_gb, self.info(vm).disk_gb)

    async def _snapshot_names(self, vmid: int) -> set[str]:
        listed = await self.client.get(f"{self.vm_path(vmid)}/snapshot")
        return {str(s.get("name")) for s in listed if s.get("name") != "current"}

    async def _backup(self, vmid: int | None, backup_id: str) -> dict[str, Any] | None:
        """The backup with nuage's id in its notes (of the VM `vmid`, or of any VM)."""
        listed = await self.client.get(
            f"{self.client.node_path}/storage/{self.settings.backup_storage}/content",
            content="backup",
            vmid=vmid,
        )
        mine = f"{_NOTES}{backup_id} "
        return next((b for b in listed if str(b.get("notes", "")).startswith(mine)), None)

    def _content(self, volid: str) -> str:
        storage = self.settings.backup_storage
        return f"{self.client.node_path}/storage/{storage}/content/{quote(volid, safe='')}"

    async def _image_info(self, image: str, vmid: int) -> ImageInfo:
        config = await self.client.get(f"{self.vm_path(vmid)}/config")
        disk = main_disk(config)
        return ImageInfo(image, size_gb(property_string(config[disk]).get("size")), str(vmid))


def _backup_info(backup_id: str, machine_id: str, listed: dict[str, Any]) -> BackupInfo:
    """The disk's size is in the backup's notes (`disk_gb=N`): it outlives the machine."""
    notes = str(listed.get("notes", ""))
    size = as_int(notes.rpartition("disk_gb=")[2].split()[0] if "disk_gb=" in notes else 0)
    return BackupInfo(backup_id, machine_id, size, str(listed["volid"]))


def _require_stopped(vm: Vm) -> None:
    if vm.running:
        message = f"Machine {vm.meta.machine_id} must be stopped."
        raise PermanentError(message, code="machine_running")
