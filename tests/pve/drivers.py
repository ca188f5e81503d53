"""The Proxmox driver of a served fake, built as a worker builds a host's driver."""

from typing import Any

from nuage.domain.drivers import PROXMOX
from nuage.drivers.base import HostSetup
from nuage.drivers.proxmox import ProxmoxDriver
from nuage.drivers.proxmox_settings import settings_for_host
from tests.pve.served import BACKUP_STORAGE, BRIDGE, DISK_STORAGE, TEMPLATES, Served


def host_config(served: Served, **changes: object) -> dict[str, object]:
    """The host configuration an operator writes for the fake (`nuage hosts add --config`)."""
    return {
        "node": served.node,
        "token_id": served.token_id,
        "ca_file": served.cafile,
        "templates": dict(TEMPLATES),
        "storage": DISK_STORAGE,
        "backup_storage": BACKUP_STORAGE,
        "bridge": BRIDGE,
        **changes,
    }


class GuestConsoleDriver(ProxmoxDriver):
    """The driver as it is, but its `console` (empty on Proxmox, which keeps no serial log)
    reads what the fake's guest model printed for the VM (tests/pve/guest.py): how the
    contract suite sees, from inside the guest, what the driver configured."""

    def __init__(self, served: Served, *args: Any) -> None:
        super().__init__(*args)
        self.served = served

    async def console(self, machine_id: str) -> str:
        await super().console(machine_id)  # the production checks: the machine exists
        vmid = await self.find_vmid(machine_id)
        assert vmid is not None
        return str(self.served.pve.console(vmid))


def proxmox_driver(served: Served, **changes: object) -> ProxmoxDriver:
    setup = HostSetup(
        name="pve-test",
        uri=served.url,
        config=PROXMOX.parse_config(host_config(served, **changes)),
        secret=served.token_secret,
    )
    return GuestConsoleDriver(served, settings_for_host(setup))
