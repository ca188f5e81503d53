"""How a Proxmox driver is set up: the settings of one registered host."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from nuage.domain.errors import PermanentError
from nuage.domain.host_configs import ProxmoxConfig

from .base import HostSetup


@dataclass(frozen=True)
class ProxmoxSettings:
    host: str  # the API's host name or address
    port: int
    node: str
    token_id: str  # user@realm!name
    secret: str = field(repr=False)  # the token's secret: never printed
    templates: dict[str, int]  # image name -> template VMID
    verify: bool | str = True  # False, True (the system's CAs) or a CA file's path
    clone: Literal["full", "linked"] = "full"
    storage: str = "local-lvm"
    backup_storage: str = "local"
    bridge: str = "vmbr0"
    vpc_bridge: str = "vmbr1"
    vpc_vlans: tuple[int, int] = (100, 4094)
    ci_user: str = "nuage"
    ssh_keys: tuple[str, ...] = ()
    task_timeout_s: float = 600.0
    request_timeout_s: float = 30.0
    shutdown_timeout_s: int = 60
    volume_owner: int = 999_999_999


def settings_for_host(host: HostSetup) -> ProxmoxSettings:
    """A Proxmox host: the API's address from its URI, the rest from its configuration, the
    token's secret from its secret_ref. PermanentError `invalid_host_config` otherwise."""
    config = ProxmoxConfig.model_validate(host.config.model_dump())
    address = parse_uri(host.uri)
    if not host.secret:
        message = f"Host {host.name}: the proxmox driver needs the API token's secret_ref."
        raise PermanentError(message, code="secret_unavailable")
    return ProxmoxSettings(
        host=address[0],
        port=address[1],
        node=config.node,
        token_id=config.token_id,
        secret=host.secret,
        templates=dict(config.templates),
        verify=tls_verify(config.verify_tls, config.ca_file),
        clone=config.clone,
        storage=config.storage,
        backup_storage=config.backup_storage,
        bridge=config.bridge,
        vpc_bridge=config.vpc_bridge,
        vpc_vlans=config.vpc_vlans,
        ci_user=config.ci_user,
        ssh_keys=config.ssh_keys,
        task_timeout_s=config.timeout_s,
        volume_owner=config.volume_owner,
    )


def parse_uri(uri: str) -> tuple[str, int]:
    """`https://node[:port][/]` as (host, port; 8006 by default)."""
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        message = f"A Proxmox host's URI is https://node[:8006], not {uri!r}."
        raise PermanentError(message, code="invalid_host_config")
    try:
        port = parts.port or 8006
    except ValueError as exc:
        raise PermanentError(f"Bad port in {uri!r}.", code="invalid_host_config") from exc
    return parts.hostname, port


def tls_verify(verify: bool, ca_file: Path | None) -> bool | str:
    if not verify:
        return False
    return str(ca_file) if ca_file is not None else True
