"""Driver descriptions: the drivers nuage has, what each can do, and how a host of each is set up.

Pure data, read by both sides of the layering: the services validate hosts and refuse tasks a
host's driver cannot do from here, and the engine's factory (`nuage.drivers.registry`) builds
drivers whose classes point at these same descriptions (a test holds the two lists equal).

A description's `capabilities` are the most its driver can do; a host's configuration may narrow
them (`host_capabilities`), never widen them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nuage.domain.capabilities import Capability
from nuage.domain.host_configs import (
    LIBVIRT_CAPABILITIES,
    SIM_CAPABILITIES,
    HostConfig,
    LibvirtConfig,
    SimConfig,
)


@dataclass(frozen=True, slots=True)
class DriverDescription:
    name: str
    summary: str
    capabilities: frozenset[Capability]
    config: type[HostConfig]
    secret_required: bool = False  # hosts must name a secret (an API token) with `secret_ref`

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
)
LIBVIRT = DriverDescription(
    name="libvirt",
    summary="QEMU guests through libvirt (the host's URI, e.g. qemu+ssh://kvm-01/system).",
    capabilities=LIBVIRT_CAPABILITIES,
    config=LibvirtConfig,
)
DESCRIPTIONS: Mapping[str, DriverDescription] = {d.name: d for d in (SIM, LIBVIRT)}


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
