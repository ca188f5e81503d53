"""The machine lifecycle on Proxmox VE: create by cloning, power, resize, reinstall, hostname.

- `create` clones the image's template (`templates` of the host's configuration, or a custom
  image's template VM) into the VMID `cluster/nextid` gives, full or linked (`clone`), tags it,
  sets cloud-init (`name`, `ciuser`, `sshkeys`, `ipconfig0`), CPUs, memory, `net0` and `agent`
  (the QEMU guest agent, `proxmox_agent`), grows the main disk to the spec (`resize`) and
  starts it. Found already (a retry): started if off.
- Power: `status/{start,stop,shutdown,reboot,reset}`, each a task waited for; start of a running
  and stop/shutdown of a stopped machine change nothing; reboot and reset of a stopped one are
  PermanentError `machine_not_running`.
- `resize` needs the machine stopped (`machine_running`); the disk only grows.
- `reinstall` destroys the VM and clones the template again into the same VMID, carrying over
  what is not the disk (CPUs, memory, network interfaces and their MACs, addresses, volumes,
  settings, firewall); it keeps the power state. A crash between the destroy and the clone
  leaves no VM: the retry then fails `machine_not_found` (the carried settings were in memory).
- Cloud-init takes a changed name or address when the VM starts: a running machine whose
  hostname or addresses change is rebooted (`status/reboot`, which restarts QEMU).
"""

import uuid
from dataclasses import replace
from typing import Any

from nuage.domain.errors import PermanentError
from nuage.domain.firewall import FirewallRule
from nuage.domain.images import is_custom_image
from nuage.domain.machines import (
    check_disk_growth,
    check_hostname,
    check_image_name,
    check_machine_id,
    check_sizes,
)

from .base import GuestAddress, MachineInfo, MachineSpec
from .proxmox_firewall import nuage_rules, pve_rules, replace_rules
from .proxmox_values import Meta, as_int, image_tag, ipconfig, machine_tag, ssh_keys
from .proxmox_vms import ProxmoxVms, Vm, volume_device

# What a reinstall carries from the old VM to the new one (besides volumes and nuage's Meta).
_NEXTID_ATTEMPTS = 5
_CARRIED = ("cores", "sockets", "memory", "cpu", "balloon", "boot", "net0", "net1", "ipconfig1")


class ProxmoxMachines(ProxmoxVms):
    async def create(self, spec: MachineSpec) -> MachineInfo:
        check_machine_id(spec.machine_id)
        async with self.lock(spec.machine_id):
            vm = await self.find(spec.machine_id)
            if vm is not None:  # a create that failed after its clone: finish it
                return await self.info_of(await self._power_on(vm))
            check_sizes(vcpu=spec.vcpu, ram_mb=spec.ram_mb, disk_gb=spec.disk_gb)
            check_hostname(spec.hostname)
            template = await self.template_of(spec.image)
            meta = Meta(spec.machine_id, spec.image, uuid.uuid4().hex, list(spec.addresses))
            vmid = await self.clone_new(template, spec.hostname, meta, is_custom_image(spec.image))
            carried = {"cores": spec.vcpu, "sockets": 1, "memory": spec.ram_mb}
            await self._configure_new(vmid, meta, spec.hostname, carried, spec.disk_gb)
            await self._start(await self.read(vmid))
            return await self.info_of(vmid)

    async def delete(self, machine_id: str) -> None:
        check_machine_id(machine_id)
        async with self.lock(machine_id):
            vm = await self.find(machine_id)
            if vm is None:
                return
            await self._destroy(vm)
            self.forget(machine_id)
            await self.relays.close(machine_id)

    async def inspect(self, machine_id: str) -> MachineInfo | None:
        check_machine_id(machine_id)
        vm = await self.find(machine_id)
        return None if vm is None else self.info(vm)

    async def console(self, machine_id: str) -> str:
        """Proxmox keeps no serial log a client can read (its serial console is an interactive
        terminal, `termproxy`): the machine must exist, and the answer is empty."""
        check_machine_id(machine_id)
        await self.require(machine_id)
        return ""

    async def start(self, machine_id: str) -> MachineInfo:
        return await self._act(machine_id, self._start)

    async def stop(self, machine_id: str) -> MachineInfo:
        await self.relays.close(machine_id)
        return await self._act(machine_id, lambda vm: self._power_off(vm, "stop"))

    async def shutdown(self, machine_id: str) -> MachineInfo:
        await self.relays.close(machine_id)
        return await self._act(machine_id, lambda vm: self._power_off(vm, "shutdown"))

    async def reboot(self, machine_id: str) -> MachineInfo:
        return await self._act(machine_id, lambda vm: self._restart(vm, "reboot"))

    async def reset(self, machine_id: str) -> MachineInfo:
        return await self._act(machine_id, lambda vm: self._restart(vm, "reset"))

    async def resize(self, machine_id: str, *, vcpu: int, ram_mb: int, disk_gb: int) -> MachineInfo:
        async def change(vm: Vm) -> None:
            if vm.running:
                message = f"Machine {machine_id} must be stopped."
                raise PermanentError(message, code="machine_running")
            current = self.info(vm).disk_gb
            check_disk_growth(current_gb=current, target_gb=disk_gb)
            check_sizes(vcpu=vcpu, ram_mb=ram_mb, disk_gb=disk_gb)
            path = self.vm_path(vm.vmid)
            await self.client.put(f"{path}/config", cores=vcpu, sockets=1, memory=ram_mb)
            await self.grow_disk(vm.vmid, vm.main_disk, current, disk_gb)

        return await self._act(machine_id, change)

    async def reinstall(self, machine_id: str, *, image: str, hostname: str) -> MachineInfo:
        async def change(vm: Vm) -> None:
            check_hostname(hostname)
            template = await self.template_of(image)
            size = self.info(vm).disk_gb
            carried = {k: vm.config[k] for k in (*_CARRIED, *_volume_keys(vm)) if k in vm.config}
            firewall = await self._firewall_of(vm.vmid)
            # A fresh disk: none of the software is on it yet (`proxmox_software`).
            meta = replace(vm.meta, image=image, disk_id=uuid.uuid4().hex, software_applied=[])
            await self._destroy(vm, keep_volumes=True)
            await self._clone(template, vm.vmid, hostname, meta, copy=is_custom_image(image))
            await self._configure_new(vm.vmid, meta, hostname, carried, size)
            await self._restore_firewall(vm.vmid, firewall)
            if vm.running:
                await self._start(replace(vm, meta=meta, running=False))

        return await self._act(machine_id, change)

    async def set_hostname(self, machine_id: str, hostname: str) -> MachineInfo:
        async def change(vm: Vm) -> None:
            check_hostname(hostname)
            if vm.config.get("name") != hostname:
                await self.client.put(f"{self.vm_path(vm.vmid)}/config", name=hostname)
                await self.restart_if_running(vm)

        return await self._act(machine_id, change)

    async def close(self) -> None:
        await self.relays.close_all()
        self.client.session.close()

    # helpers shared with the other modules

    async def template_of(self, image: str) -> int:
        """The template VMID of an image: the host's `templates`, else a custom image's VM."""
        check_image_name(image)
        if image in self.settings.templates:
            return self.settings.templates[image]
        if is_custom_image(image):
            vmid = await self.image_vmid(image)
            if vmid is not None:
                return vmid
        raise PermanentError(
            f"No template for image {image!r} on this host.", code="image_not_available"
        )

    async def image_vmid(self, image: str) -> int | None:
        tag = image_tag(image)
        for vm in await self.client.get(f"{self.client.node_path}/qemu"):
            if tag in str(vm.get("tags") or "").split(";"):
                return as_int(vm.get("vmid"))
        return None

    async def grow_disk(self, vmid: int, disk: str, current_gb: int, target_gb: int) -> None:
        if target_gb > current_gb:
            size = f"{target_gb}G"
            await self.client.run("PUT", f"{self.vm_path(vmid)}/resize", disk=disk, size=size)

    async def restart_if_running(self, vm: Vm) -> None:
        """Cloud-init reads its drive when QEMU starts: a running guest reboots to take it."""
        if vm.running:
            await self.client.run("POST", f"{self.vm_path(vm.vmid)}/status/reboot")

    async def reapply(self, vmid: int, saved: dict[str, Any], meta: Meta) -> None:
        """After an operation that rewrote the VM's configuration with an older one (a
        snapshot's rollback, a backup's restore): what is not the disk becomes as it was
        (`saved`), and nuage's Meta is `meta`."""
        now = await self.client.get(f"{self.vm_path(vmid)}/config")
        keys = (*_CARRIED, "name", "ipconfig0", *(k for k in saved if volume_device(k)))
        changes = {k: saved[k] for k in keys if k in saved and now.get(k) != saved[k]}
        stale = [k for k in now if k not in saved and (k in _CARRIED or volume_device(k))]
        await self.client.put(
            f"{self.vm_path(vmid)}/config",
            **changes,
            tags=machine_tag(meta.machine_id),
            description=meta.text(),
            delete=",".join(stale) or None,
        )

    async def write_meta(self, vmid: int, meta: Meta) -> None:
        await self.client.put(f"{self.vm_path(vmid)}/config", description=meta.text())

    # internals

    async def _act(self, machine_id: str, change: Any) -> MachineInfo:
        check_machine_id(machine_id)
        async with self.lock(machine_id):
            vm = await self.require(machine_id)
            await change(vm)
            return await self.info_of(vm.vmid)

    async def clone_new(self, template: int, hostname: str, meta: Meta, copy: bool) -> int:
        """Clone into a new VMID. `cluster/nextid` only proposes an id: another client may take
        it first (PVE then refuses the clone, "already exists"), so the id is asked again, a
        few times; within this process the ask and the clone are one step (`nextid` lock)."""
        for attempt in range(_NEXTID_ATTEMPTS):
            async with self.lock("nextid"):
                vmid = as_int(await self.client.get("cluster/nextid"))
                try:
                    await self._clone(template, vmid, hostname, meta, copy=copy)
                    return vmid
                except PermanentError as exc:
                    if "already exists" not in str(exc) or attempt + 1 == _NEXTID_ATTEMPTS:
                        raise
        raise AssertionError("unreachable")

    async def _clone(
        self, template: int, vmid: int, hostname: str, meta: Meta, *, copy: bool
    ) -> None:
        """A linked clone only of an operator's template (`clone`): a custom image may be
        deleted while machines made from it live on, so they get a full copy."""
        full = copy or self.settings.clone == "full"
        storage = self.settings.storage if full else None
        await self.client.run(
            "POST",
            f"{self.vm_path(template)}/clone",
            newid=vmid,
            name=hostname,
            full=full,
            storage=storage,
            description=meta.text(),
        )
        self.remember(meta.machine_id, vmid)

    async def _configure_new(
        self, vmid: int, meta: Meta, hostname: str, carried: dict[str, Any], disk_gb: int
    ) -> None:
        config = await self.client.get(f"{self.vm_path(vmid)}/config")
        changes: dict[str, Any] = {
            "tags": machine_tag(meta.machine_id),
            "name": hostname,
            "ciuser": self.settings.ci_user,
            "sshkeys": ssh_keys(self.settings.ssh_keys) if self.settings.ssh_keys else None,
            "ipconfig0": ipconfig(*primary_pair(meta.addresses)),
            "net0": f"virtio,bridge={self.settings.bridge},firewall=1",
            "agent": 1,  # the QEMU guest agent (`proxmox_agent`)
            "description": meta.text(),
            **carried,
        }
        if not any("cloudinit" in str(v) for v in config.values()):
            changes["ide2"] = f"{self.settings.storage}:cloudinit"
        await self.client.put(f"{self.vm_path(vmid)}/config", **changes)
        disk = Vm(vmid, config, meta, False).main_disk
        current = Vm(vmid, config, meta, False)
        await self.grow_disk(vmid, disk, self.info(current).disk_gb, disk_gb)

    async def _destroy(self, vm: Vm, *, keep_volumes: bool = True) -> None:
        path = self.vm_path(vm.vmid)
        if vm.running:
            await self.client.run("POST", f"{path}/status/stop")
        volumes = _volume_keys(vm)
        if keep_volumes and volumes:  # volumes outlive the machine: never purge them
            await self.client.put(f"{path}/config", delete=",".join(volumes))
        await self.client.run("DELETE", path, purge=True)

    async def _start(self, vm: Vm) -> None:
        if not vm.running:
            await self.client.run("POST", f"{self.vm_path(vm.vmid)}/status/start")

    async def _power_on(self, vm: Vm) -> int:
        await self._start(vm)
        return vm.vmid

    async def _power_off(self, vm: Vm, action: str) -> None:
        if not vm.running:
            return
        params = {"timeout": self.settings.shutdown_timeout_s} if action == "shutdown" else {}
        await self.client.run("POST", f"{self.vm_path(vm.vmid)}/status/{action}", **params)

    async def _restart(self, vm: Vm, action: str) -> None:
        if not vm.running:
            message = f"Machine {vm.meta.machine_id} is not running."
            raise PermanentError(message, code="machine_not_running")
        await self.client.run("POST", f"{self.vm_path(vm.vmid)}/status/{action}")

    async def _firewall_of(self, vmid: int) -> tuple[FirewallRule, ...]:
        return nuage_rules(await self.client.get(f"{self.vm_path(vmid)}/firewall/rules"))

    async def _restore_firewall(self, vmid: int, rules: tuple[FirewallRule, ...]) -> None:
        if rules:
            await replace_rules(self.client, self.vm_path(vmid), pve_rules(rules), True)


def primary_pair(
    addresses: list[GuestAddress],
) -> tuple[GuestAddress | None, GuestAddress | None]:
    """The interface's IPv4 and IPv6 addresses cloud-init configures: the primary of each."""
    by_version: dict[int, GuestAddress] = {}
    for address in sorted(addresses, key=lambda a: not a.primary):
        by_version.setdefault(address.version, address)
    return by_version.get(4), by_version.get(6)


def _volume_keys(vm: Vm) -> list[str]:
    return [key for key in vm.config if volume_device(key) is not None]
