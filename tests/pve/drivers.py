"""The Proxmox driver of a served fake, built as a worker builds a host's driver."""

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


def proxmox_driver(served: Served, **changes: object) -> ProxmoxDriver:
    setup = HostSetup(
        name="pve-test",
        uri=served.url,
        config=PROXMOX.parse_config(host_config(served, **changes)),
        secret=served.token_secret,
    )
    return ProxmoxDriver(settings_for_host(setup))
