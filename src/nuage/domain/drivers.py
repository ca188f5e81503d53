"""Driver descriptions: the drivers nuage has, what each can do, and how a host of each is set up.

Pure data, read by both sides of the layering: the services validate hosts and refuse tasks a
host's driver cannot do from here, and the engine's factory (`nuage.drivers.registry`) builds
drivers whose classes point at these same descriptions (a test holds the two lists equal).

A description's `capabilities` are the most its driver can do; a host's configuration may narrow
them (`host_capabilities`), never widen them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from nuage.domain.capabilities import Capability
from nuage.domain.host_configs import (
    LIBVIRT_CAPABILITIES,
    PROXMOX_CAPABILITIES,
    SIM_CAPABILITIES,
    HostConfig,
    LibvirtConfig,
    ProxmoxConfig,
    SimConfig,
)
from nuage.domain.hypervisor_config import (
    BALLOON,
    BOOT_ORDER,
    CPU_MODEL,
    NESTED_VIRTUALIZATION,
    ConfigKey,
    key_table,
)


class HostCheck(Protocol):
    """Tries a host as it is about to be registered (its driver reaches it with its secret);
    ValidationFailed naming the field at fault when it cannot. Wired in by the process (the CLI
    builds drivers; the API and services never import them)."""

    async def __call__(
        self,
        *,
        driver: str,
        name: str,
        uri: str,
        config: Mapping[str, Any],
        secret_ref: str | None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class DriverDescription:
    name: str
    summary: str
    capabilities: frozenset[Capability]
    config: type[HostConfig]
    secret_required: bool = False  # hosts must name a secret (an API token) with `secret_ref`
    # The hypervisor settings `apply_config` may set on an instance (domain.hypervisor_config).
    config_keys: Mapping[str, ConfigKey] = field(default_factory=dict, hash=False)

    def parse_config(self, raw: Mapping[str, Any] | None) -> HostConfig:
        """The host configuration checked; pydantic's ValidationError names the bad fields."""
        return self.config.model_validate(dict(raw or {}))

    def host_capabilities(self, config: HostConfig) -> frozenset[Capability]:
        return config.narrow(self.capabilities) & self.capabilities


SIM = DriverDescription(
    name="sim",
    summary="The simulated hypervisor: the embedded default and the test double.",
    capabilities=SIM_CAPABILITIES,
    config=SimConfig,
    config_keys=key_table((CPU_MODEL, BOOT_ORDER, NESTED_VIRTUALIZATION, BALLOON)),
)
LIBVIRT = DriverDescription(
    name="libvirt",
    summary="QEMU guests through libvirt (the host's URI, e.g. qemu+ssh://kvm-01/system).",
    capabilities=LIBVIRT_CAPABILITIES,
    config=LibvirtConfig,
    config_keys=key_table((CPU_MODEL, BOOT_ORDER, NESTED_VIRTUALIZATION, BALLOON)),
)
PROXMOX = DriverDescription(
    name="proxmox",
    summary="Proxmox VE guests through the node's API (the host's URI, e.g. https://pve-01:8006).",
    capabilities=PROXMOX_CAPABILITIES,
    config=ProxmoxConfig,
    secret_required=True,
    config_keys=key_table((CPU_MODEL, BOOT_ORDER, NESTED_VIRTUALIZATION, BALLOON)),
)
DESCRIPTIONS: Mapping[str, DriverDescription] = {d.name: d for d in (SIM, LIBVIRT, PROXMOX)}


def host_capabilities(driver: str, config: Mapping[str, Any] | None) -> frozenset[Capability]:
    """What a host with this driver and stored configuration can do. Nothing for a driver or a
    configuration this version cannot read: such a host takes no task until an operator fixes it
    (its worker could not build its driver either)."""
    description = DESCRIPTIONS.get(driver)
    if description is None:
        return frozenset()
    try:
        return description.host_capabilities(description.parse_config(config))
    except ValidationError:
        return frozenset()


def config_keys_for(driver: str | None) -> Mapping[str, ConfigKey]:
    """The settings `apply_config` may set on an instance of a host with this driver; for an
    instance not placed yet (None), those some driver allows (its driver checks again)."""
    if driver is not None:
        description = DESCRIPTIONS.get(driver)
        return {} if description is None else description.config_keys
    return {name: key for d in DESCRIPTIONS.values() for name, key in d.config_keys.items()}
