"""Per-host driver configuration: one model per driver, stored as JSON on the host's row.

An operator writes it (`nuage hosts add|set --config`, `/v1/admin/hosts`); the driver's
description (`domain.drivers`) validates it, so a bad key or value is a 400 naming the field, and
the engine builds the host's driver from it. Unset fields fall back to the process settings
(`NUAGE_SIM_*`, `NUAGE_LIBVIRT_*`). Secrets never go here: a host names its secret with a
`secret_ref` (`domain.secrets`).
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from nuage.domain.capabilities import Capability

# Both drivers offer every capability; a simulated host can still be narrowed (`capabilities`).
SIM_CAPABILITIES = frozenset(Capability)
LIBVIRT_CAPABILITIES = frozenset(Capability)


class HostConfig(BaseModel):
    """A driver's host configuration; unknown keys are refused so that typos do not pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def narrow(self, offered: frozenset[Capability]) -> frozenset[Capability]:
        """The capabilities a host so configured has, of those its driver offers."""
        return offered


class SimConfig(HostConfig):
    latency_ms: float | None = Field(default=None, ge=0, le=60_000)
    capabilities: frozenset[Capability] | None = Field(
        default=None,
        description="Model a limited hypervisor: the capabilities this host has (default: all "
        "the simulator offers); operations of the others are refused.",
    )

    @field_serializer("capabilities")
    def _sorted(self, value: frozenset[Capability] | None) -> list[str] | None:
        return None if value is None else sorted(value)

    def narrow(self, offered: frozenset[Capability]) -> frozenset[Capability]:
        return offered if self.capabilities is None else offered & self.capabilities


class LibvirtConfig(HostConfig):
    images_dir: Path | None = Field(default=None, description="Base images (<image>.qcow2).")
    backup_dir: Path | None = Field(default=None, description="Where backups are kept.")
    domain_type: Literal["qemu", "kvm"] | None = None

    @field_validator("images_dir", "backup_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("Enter an absolute path (on the host's worker machine).")
        return value
