"""Host registry shapes (operators only)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import DESCRIPTIONS
from nuage.domain.enums import HostState
from nuage.services.hosts import HostView


class CapacityOut(BaseModel):
    vcpu: int
    ram_mb: int
    disk_gb: int


class HostOut(BaseModel):
    id: UUID
    name: str
    location_id: UUID
    driver: str
    uri: str
    config: dict[str, Any]
    secret_ref: str | None = Field(description="Where the host's secret is; never a secret.")
    capabilities: list[Capability]
    state: HostState
    capacity: CapacityOut
    allocated: CapacityOut
    free: CapacityOut
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, view: HostView) -> "HostOut":
        host, load = view.host, view.load
        return cls(
            id=host.id,
            name=host.name,
            location_id=host.location_id,
            driver=host.driver,
            uri=host.uri,
            config=dict(host.config or {}),
            secret_ref=host.secret_ref,
            capabilities=sorted(view.capabilities),
            state=HostState(host.state),
            capacity=CapacityOut(vcpu=host.vcpu, ram_mb=host.ram_mb, disk_gb=host.disk_gb),
            allocated=CapacityOut(**_as_dict(load.allocated)),
            free=CapacityOut(**_as_dict(load.free)),
            created=host.created,
            modified=host.modified,
        )


def _as_dict(resources: object) -> dict[str, int]:
    return {k: int(getattr(resources, k)) for k in ("vcpu", "ram_mb", "disk_gb")}


_DRIVER = f"One of: {', '.join(DESCRIPTIONS)} (docs/drivers.md)."
_CONFIG = (
    "The driver's settings for this host (sim: latency_ms, capabilities; libvirt: images_dir, "
    "backup_dir, domain_type). A change replaces the whole configuration."
)
_SECRET_REF = (
    "Where the host's secret is (env:NAME or file:/absolute/path), never the secret itself; "
    "an empty string removes it."
)


class HostCreate(Body):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    location: str = Field(min_length=1, max_length=64, description="Location slug or id.")
    driver: str = Field(min_length=1, max_length=20, description=_DRIVER)
    uri: str = Field(min_length=1, max_length=500)
    config: dict[str, Any] = Field(default_factory=dict, description=_CONFIG)
    secret_ref: str | None = Field(default=None, max_length=500, description=_SECRET_REF)
    vcpu: int = Field(ge=1, le=100_000)
    ram_mb: int = Field(ge=1, le=1_000_000_000)
    disk_gb: int = Field(ge=1, le=1_000_000_000)
    state: HostState = HostState.ENABLED


class HostUpdate(Body):
    state: HostState | None = None
    uri: str | None = Field(default=None, min_length=1, max_length=500)
    vcpu: int | None = Field(default=None, ge=1, le=100_000)
    ram_mb: int | None = Field(default=None, ge=1, le=1_000_000_000)
    disk_gb: int | None = Field(default=None, ge=1, le=1_000_000_000)
    config: dict[str, Any] | None = Field(default=None, description=_CONFIG)
    secret_ref: str | None = Field(default=None, max_length=500, description=_SECRET_REF)
