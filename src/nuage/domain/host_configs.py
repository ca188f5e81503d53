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


PROXMOX_CAPABILITIES = frozenset(Capability)
_STORAGE_ID = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$"  # PVE's pve-storage-id
_BRIDGE = r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$"  # a Linux interface name, as PVE's `bridge`


class ProxmoxConfig(HostConfig):
    """A Proxmox VE node reached through its API (the host's URI, `https://node:8006`) with an
    API token: `token_id` here, its secret by the host's `secret_ref`."""

    node: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
    token_id: str = Field(
        pattern=r"^[^\s!@]+@[A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]{1,63}$",
        description="The API token's id, `user@realm!name` (its secret: the host's secret_ref).",
    )
    verify_tls: bool = Field(default=True, description="Check the API's TLS certificate.")
    ca_file: Path | None = Field(default=None, description="The CA that signed the API's cert.")
    templates: dict[str, int] = Field(
        description="The template VMID of each image name (`debian-12: 9000`).", min_length=1
    )
    clone: Literal["full", "linked"] = "full"
    storage: str = Field(default="local-lvm", pattern=_STORAGE_ID, description="Disks, volumes.")
    backup_storage: str = Field(default="local", pattern=_STORAGE_ID, description="vzdump.")
    bridge: str = Field(default="vmbr0", pattern=_BRIDGE, description="net0 (public addresses).")
    vpc_bridge: str = Field(default="vmbr1", pattern=_BRIDGE, description="net1 (VPCs).")
    vpc_vlans: tuple[int, int] = Field(
        default=(100, 4094), description="The VLAN tags VPCs take on the VPC bridge (from, to)."
    )
    ci_user: str = Field(default="nuage", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    ssh_keys: tuple[str, ...] = Field(default=(), description="Public keys given to ci_user.")
    timeout_s: float = Field(default=600, gt=0, le=86_400, description="The longest task wait.")
    volume_owner: int = Field(
        default=999_999_999,
        ge=100,
        le=999_999_999,
        description="The VMID volumes are allocated for (PVE names disks by VMID): no VM's.",
    )

    @field_validator("ca_file")
    @classmethod
    def _absolute_ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("Enter an absolute path (on the host's worker machine).")
        return value

    @field_validator("templates")
    @classmethod
    def _vmids(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {image: vmid for image, vmid in value.items() if not 100 <= vmid <= 999_999_999}
        if bad:
            raise ValueError(f"VMIDs are within [100, 999999999]: {bad}")
        return value

    @field_validator("vpc_vlans")
    @classmethod
    def _vlans(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 1 <= low <= high <= 4094:
            raise ValueError("VLAN tags are within [1, 4094], the first not above the second.")
        return value
