"""The Proxmox VE hypervisor driver: one QEMU VM of the host's node per machine, through the API.

The driver is built per host (`for_host`) from its configuration (`ProxmoxConfig`: node, API
token id, templates per image, storages, bridges) and the API token's secret (the host's
`secret_ref`). It is split by job, each module one layer of a single class:

- `proxmox_client`: the API session (proxmoxer in threads), Proxmox tasks waited for with
  backoff, and the error table (`proxmox_errors`);
- `proxmox_vms`: machines found by their tag, read into `MachineInfo`;
- `proxmox_machines`: create (clone), delete, power, resize, reinstall, hostname;
- `proxmox_storage`: snapshots, backups (vzdump), custom images (templates);
- `proxmox_volumes`: volumes;
- `proxmox_network`: addresses (cloud-init), VPCs (net1 + VLAN), settings (`apply_config`);
- `proxmox_software`: packages, installed by the QEMU guest agent (`proxmox_agent`);
- `proxmox_addresses`: the addresses `ipconfig0` cannot hold, put on by the agent too;
- here: the firewall (`proxmox_firewall`) and the VNC console (`proxmox_console`).
"""

from collections.abc import Sequence
from typing import ClassVar

from nuage.config import Settings
from nuage.domain.drivers import PROXMOX, DriverDescription
from nuage.domain.firewall import FirewallRule
from nuage.domain.machines import check_machine_id

from .base import HostSetup
from .proxmox_addresses import ProxmoxAddresses
from .proxmox_firewall import nuage_rules, pve_rules, replace_rules
from .proxmox_settings import settings_for_host
from .proxmox_values import as_int
from .proxmox_vms import Vm


class ProxmoxDriver(ProxmoxAddresses):
    """The Proxmox VE driver (see the module docstring and each layer's)."""

    description: ClassVar[DriverDescription] = PROXMOX
    name = PROXMOX.name
    capabilities = PROXMOX.capabilities

    @classmethod
    def for_host(cls, host: HostSetup, settings: Settings) -> "ProxmoxDriver":
        return cls(settings_for_host(host))

    async def probe(self) -> str:
        """Check the API, the token and the node: the node's PVE version. Raises the driver's
        errors (`host_auth_failed` for a wrong token, `host_unreachable`, …)."""
        version = await self.client.get("version")
        await self.client.get(f"{self.client.node_path}/status")
        return str(version.get("version", "?"))

    async def firewall_rules(self, machine_id: str) -> tuple[FirewallRule, ...]:
        vm = await self.require(machine_id)
        return nuage_rules(await self.client.get(f"{self.vm_path(vm.vmid)}/firewall/rules"))

    async def apply_firewall(
        self, machine_id: str, rules: Sequence[FirewallRule]
    ) -> tuple[FirewallRule, ...]:
        async def change(vm: Vm) -> None:
            path = self.vm_path(vm.vmid)
            current = nuage_rules(await self.client.get(f"{path}/firewall/rules"))
            options = await self.client.get(f"{path}/firewall/options")
            on = as_int(options.get("enable")) == 1
            if current != tuple(sorted(rules, key=lambda r: r.priority)) or on != bool(rules):
                await replace_rules(self.client, path, pve_rules(rules), bool(rules))

        await self._act(machine_id, change)
        return await self.firewall_rules(machine_id)

    async def vnc_address(self, machine_id: str) -> tuple[str, int] | None:
        """The relay on 127.0.0.1 to the running VM's display (`proxmox_console`), the same
        while it runs; None while it is off."""
        check_machine_id(machine_id)
        vm = await self.require(machine_id)
        if not vm.running:
            await self.relays.close(machine_id)
            return None

        async def ticket() -> tuple[str, int] | None:
            now = await self.find(machine_id)
            if now is None or not now.running or now.vmid != vm.vmid:
                return None
            proxy = await self.client.post(f"{self.vm_path(vm.vmid)}/vncproxy", websocket=True)
            return str(proxy["ticket"]), as_int(proxy.get("port"))

        return ("127.0.0.1", await self.relays.ensure(machine_id, vm.vmid, ticket))
