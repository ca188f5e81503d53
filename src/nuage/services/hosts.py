"""The host registry (operators only): hosts, their driver, configuration, capacity and state,
and what they hold."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.hosts import host_loads
from nuage.db.models import Host, Location, User
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import HostCheck, host_capabilities
from nuage.domain.enums import HostState
from nuage.domain.errors import NotFound, PermissionDenied, ValidationFailed
from nuage.domain.permissions import Permission
from nuage.domain.placement import HostLoad
from nuage.services.access import require
from nuage.services.host_config import checked_config, checked_secret_ref, description_of
from nuage.services.principals import Principal

# The embedded demo's simulated hosts (`make run`, and the tests' databases): one per seeded
# location, with room for any demo. No migration creates them: placement would put a real
# customer's instance on the simulator.
DEMO_SIM_HOSTS = (  # (id, location slug): stable ids, as the demo's docs and tests name them
    (UUID("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0001"), "par1"),
    (UUID("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0002"), "fra1"),
    (UUID("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0003"), "ams1"),
)


@dataclass(frozen=True, slots=True)
class HostSpec:
    name: str
    location: str  # slug or id
    driver: str
    uri: str
    vcpu: int
    ram_mb: int
    disk_gb: int
    state: HostState = HostState.ENABLED
    config: Mapping[str, Any] = field(default_factory=dict)  # checked by the driver's model
    secret_ref: str | None = None  # where the secret is (env:NAME, file:/path), never a secret


@dataclass(frozen=True, slots=True)
class HostChanges:
    """None leaves a field as it is; `config` replaces the whole configuration; an empty
    `secret_ref` removes the reference."""

    state: HostState | None = None
    uri: str | None = None
    vcpu: int | None = None
    ram_mb: int | None = None
    disk_gb: int | None = None
    config: Mapping[str, Any] | None = None
    secret_ref: str | None = None


@dataclass(frozen=True, slots=True)
class HostView:
    host: Host
    load: HostLoad

    @property
    def capabilities(self) -> frozenset[Capability]:
        return host_capabilities(self.host.driver, self.host.config)


async def require_staff(session: AsyncSession, principal: Principal) -> None:
    """An operator (read again: the flag may have changed since the credential was read) whose
    credential holds the `admin` scope and is not a project token."""
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_staff:
        raise PermissionDenied("Only operators (staff users) manage hosts.")
    require(principal, Permission.STAFF, role=None)


async def list_hosts(session: AsyncSession) -> list[HostView]:
    loads = {load.host_id: load for load in await host_loads(session, lock=False)}
    rows = (await session.scalars(sa.select(Host).order_by(Host.name))).all()
    return [HostView(row, loads[row.id]) for row in rows]


async def get_host(session: AsyncSession, host_id: UUID) -> HostView:
    host = await session.get(Host, host_id)
    if host is None:
        raise NotFound()
    loads = await host_loads(session, host.location_id, lock=False)
    return HostView(host, next(load for load in loads if load.host_id == host_id))


async def add_host(
    session: AsyncSession,
    spec: HostSpec,
    *,
    host_id: UUID | None = None,
    check: HostCheck | None = None,
) -> Host:
    """Register a host; with `check`, only once its driver reached it (ValidationFailed else)."""
    _check_capacity(spec.vcpu, spec.ram_mb, spec.disk_gb)
    description = description_of(spec.driver)
    config = checked_config(description, spec.config)
    secret_ref = checked_secret_ref(description, spec.secret_ref)
    if await session.scalar(sa.select(Host.id).where(Host.name == spec.name)) is not None:
        raise ValidationFailed.on("name", f"A host named {spec.name!r} exists already.")
    location = await location_by_ref(session, spec.location)
    if check is not None:  # bounded by the driver's request timeout; nothing written yet
        await check(
            driver=spec.driver, name=spec.name, uri=spec.uri, config=config, secret_ref=secret_ref
        )
    host = Host(
        id=host_id or uuid4(),
        name=spec.name,
        location_id=location.id,
        driver=spec.driver,
        uri=spec.uri,
        config=config,
        secret_ref=secret_ref,
        vcpu=spec.vcpu,
        ram_mb=spec.ram_mb,
        disk_gb=spec.disk_gb,
        state=spec.state.value,
    )
    session.add(host)
    await session.flush()
    return host


async def ensure_demo_sim_hosts(session: AsyncSession) -> None:
    """Add the demo's simulated hosts that are missing (by name): safe at every start."""
    for host_id, slug in DEMO_SIM_HOSTS:
        name = f"sim-{slug}"
        if await session.scalar(sa.select(Host.id).where(Host.name == name)) is None:
            spec = HostSpec(name, slug, "sim", f"sim:///{name}", 256, 1_048_576, 100_000)
            await add_host(session, spec, host_id=host_id)


async def change_host(session: AsyncSession, host_id: UUID, changes: HostChanges) -> Host:
    host = await session.get(Host, host_id)
    if host is None:
        raise NotFound()
    _check_capacity(
        changes.vcpu or host.vcpu, changes.ram_mb or host.ram_mb, changes.disk_gb or host.disk_gb
    )
    description = description_of(host.driver)
    if changes.config is not None:
        host.config = checked_config(description, changes.config)
    if changes.secret_ref is not None:
        host.secret_ref = checked_secret_ref(description, changes.secret_ref or None)
    for name in ("uri", "vcpu", "ram_mb", "disk_gb"):
        value = getattr(changes, name)
        if value is not None:
            setattr(host, name, value)
    if changes.state is not None:
        host.state = changes.state.value
    await session.flush()
    return host


async def host_by_name(session: AsyncSession, name: str) -> Host:
    host = await session.scalar(sa.select(Host).where(Host.name == name))
    if host is None:
        raise NotFound(f"No host named {name!r}.")
    return host


def _check_capacity(vcpu: int, ram_mb: int, disk_gb: int) -> None:
    if min(vcpu, ram_mb, disk_gb) < 1:
        raise ValidationFailed.on("capacity", "vcpu, ram_mb and disk_gb must be 1 or more.")


async def location_by_ref(session: AsyncSession, ref: str) -> Location:
    """A location by slug or id; ValidationFailed on `location` when there is none."""
    try:
        match = sa.or_(Location.slug == ref, Location.id == UUID(ref))
    except ValueError:  # not an id: a slug
        match = Location.slug == ref
    location = await session.scalar(sa.select(Location).where(match))
    if location is None:
        raise ValidationFailed.on("location", f"No location {ref!r}.")
    return location
