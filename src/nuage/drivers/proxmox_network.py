"""Addresses, VPCs and hypervisor settings of a Proxmox VM.

- Addresses (`proxmox_addresses`): cloud-init's `ipconfig0` on `net0` (the host's `bridge`)
  holds the primary IPv4 and IPv6 address with their gateways; the others go on through the
  QEMU guest agent.
- VPCs: `net1` on the host's `vpc_bridge`, tagged with the VPC's VLAN, and `ipconfig1`. A VPC's
  tag is the one its members on this node already have, else the lowest free one of
  `vpc_vlans`; the host's VPCs are those its machines' Meta name. Choosing a tag is serialised
  in this driver (one lock per host): two workers of one host could still pick the same free
  tag at the same instant.
- Settings (`apply_config`), kept in nuage's Meta as set, and written as: cpu_model → `cpu`
  (cputype), nested_virtualization → cputype `host` (PVE refuses a VM's own +vmx; another
  model with it is `invalid_config`), balloon → `balloon` (0 turns it off), boot_order →
  `boot: order=…` (hd is the main disk, cdrom the cloud-init drive's `ide2`, network `net0`).
  A setting set back to its default deletes its key.
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nuage.domain.drivers import PROXMOX
from nuage.domain.errors import PermanentError
from nuage.domain.hypervisor_config import checked_by_driver, merged

from .base import MachineInfo, PrivateNetwork
from .proxmox_values import Meta, property_string
from .proxmox_vms import Vm
from .proxmox_volumes import ProxmoxVolumes

_BOOT_DEVICES = {"cdrom": "ide2", "network": "net0"}


class ProxmoxNetwork(ProxmoxVolumes):
    async def set_private_network(
        self, machine_id: str, network: PrivateNetwork | None
    ) -> MachineInfo:
        async def change(vm: Vm) -> None:
            if vm.meta.vpc == network and (network is None) == ("net1" not in vm.config):
                return
            path = f"{self.vm_path(vm.vmid)}/config"
            meta = replace(vm.meta, vpc=network)
            if network is None:
                present = [k for k in ("net1", "ipconfig1") if k in vm.config]
                await self.client.put(
                    path, description=meta.text(), delete=",".join(present) or None
                )
            else:
                tag = await self._vlan_of(network.network_id, exclude=vm.meta.machine_id)
                await self.client.put(
                    path,
                    net1=_nic(vm.config.get("net1"), self.settings.vpc_bridge, tag),
                    ipconfig1=f"ip={network.cidr}",
                    description=meta.text(),
                )
            await self.restart_if_running(vm)

        async with self.lock("vpcs"):
            return await self._act(machine_id, change)

    async def private_networks(self) -> frozenset[str]:
        return frozenset(network for network, _tag in await self._vpc_tags())

    async def hypervisor_config(self, machine_id: str) -> dict[str, Any]:
        vm = await self.require(machine_id)
        return dict(vm.meta.settings)

    async def apply_config(self, machine_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        checked = checked_by_driver(changes, PROXMOX.config_keys)

        async def change(vm: Vm) -> None:
            wanted = merged(vm.meta.settings, checked)
            params = pve_settings(wanted)
            before = pve_settings(vm.meta.settings)  # only keys nuage set go back to defaults
            stale = [k for k in before if k not in params and k in vm.config]
            meta = replace(vm.meta, settings=wanted)
            await self.client.put(
                f"{self.vm_path(vm.vmid)}/config",
                **params,
                description=meta.text(),
                delete=",".join(stale) or None,
            )

        await self._act(machine_id, change)
        return await self.hypervisor_config(machine_id)

    async def _vpc_tags(self) -> set[tuple[str, int]]:
        found = set()
        for _machine_id, config in await self._machine_configs():
            meta = Meta.parse(config.get("description"))
            nic = property_string(str(config.get("net1", "")))
            if meta is not None and meta.vpc is not None and nic.get("tag"):
                found.add((meta.vpc.network_id, int(nic["tag"])))
        return found

    async def _vlan_of(self, network_id: str, *, exclude: str) -> int:
        tags = await self._vpc_tags()
        mine = {tag for network, tag in tags if network == network_id}
        if mine:
            return min(mine)
        taken = {tag for _network, tag in tags}
        low, high = self.settings.vpc_vlans
        for tag in range(low, high + 1):
            if tag not in taken:
                return tag
        raise PermanentError("No free VLAN tag for another VPC on this host.", code="no_free_vlan")


def _nic(current: object, bridge: str, tag: int) -> str:
    """net1 on `bridge` with `tag`, keeping its model and MAC (`virtio=AA:…`) when it has one."""
    fields = property_string(str(current or "virtio"))
    model = next((k for k in fields if k in ("virtio", "e1000", "rtl8139", "vmxnet3")), None)
    first = f"{model}={fields[model]}" if model and fields.get(model) else "virtio"
    return f"{first},bridge={bridge},tag={tag}"


def pve_settings(wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The config keys that give a VM nuage's settings."""
    params: dict[str, Any] = {}
    model, nested = wanted.get("cpu_model"), wanted.get("nested_virtualization")
    if nested and model not in (None, "host"):
        message = "On Proxmox, nested virtualisation is the host CPU model (cpu_model host)."
        raise PermanentError(message, code="invalid_config")
    if model or nested:  # PVE refuses +vmx among a VM's own flags: the host model passes it
        params["cpu"] = f"cputype={model or 'host'}"
    if wanted.get("balloon") is False:
        params["balloon"] = 0
    order = wanted.get("boot_order")
    if order:
        params["boot"] = "order=" + ";".join(_BOOT_DEVICES.get(d, "scsi0") for d in order)
    return params
