"""Address pools (operators only): list, add, change; and the demo's pools.

Pools never overlap (checked here, across every location), so an address belongs to one pool;
the unique address in `ip_addresses` is the database's own guard behind that rule."""

import contextlib
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import IpAddress, IpPool, Location
from nuage.domain.errors import NotFound, ValidationFailed
from nuage.domain.ipam import (
    DEFAULT_PTR_DOMAIN,
    AddressState,
    PoolRange,
    parse_range,
    validate_ptr_domain,
)
from nuage.services.hosts import location_by_ref

# The embedded demo's pools (`make run`, and the tests' databases): documentation ranges only,
# RFC 5737 (IPv4) and RFC 3849 (IPv6), one of each per seeded location.
DEMO_POOLS = (  # (location slug, IPv4 network, IPv6 prefix)
    ("par1", "192.0.2.0/24", "2001:db8:0:1::/64"),
    ("fra1", "198.51.100.0/24", "2001:db8:0:2::/64"),
    ("ams1", "203.0.113.0/24", "2001:db8:0:3::/64"),
)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    name: str
    location: str  # slug or id
    cidr: str
    gateway: str | None = None
    first: str | None = None
    last: str | None = None
    ptr_domain: str = DEFAULT_PTR_DOMAIN


@dataclass(frozen=True, slots=True)
class PoolView:
    pool: IpPool
    size: int  # addresses it can hand out
    used: int  # assigned, reserved, or in quarantine


def pool_range(pool: IpPool) -> PoolRange:
    return parse_range(pool.cidr, gateway=pool.gateway, first=pool.first, last=pool.last)


async def list_pools(session: AsyncSession) -> list[PoolView]:
    rows = (await session.scalars(sa.select(IpPool).order_by(IpPool.name))).all()
    return [await _view(session, row) for row in rows]


async def get_pool(session: AsyncSession, pool_id: UUID) -> PoolView:
    pool = await session.get(IpPool, pool_id)
    if pool is None:
        raise NotFound()
    return await _view(session, pool)


async def pool_by_name(session: AsyncSession, name: str) -> IpPool:
    pool = await session.scalar(sa.select(IpPool).where(IpPool.name == name))
    if pool is None:
        raise NotFound(f"No address pool named {name!r}.")
    return pool


async def add_pool(session: AsyncSession, spec: PoolSpec, *, is_active: bool = True) -> IpPool:
    """Check and add a pool; ValidationFailed names the field (bad CIDR, an overlap, a name
    taken, an unknown location)."""
    span = parse_range(spec.cidr, gateway=spec.gateway, first=spec.first, last=spec.last)
    ptr_domain = validate_ptr_domain(spec.ptr_domain)
    if await session.scalar(sa.select(IpPool.id).where(IpPool.name == spec.name)) is not None:
        raise ValidationFailed.on("name", f"A pool named {spec.name!r} exists already.")
    location = await location_by_ref(session, spec.location)
    # Lock the pools (PostgreSQL) so that two overlapping pools cannot be added at once.
    for other in (await session.scalars(sa.select(IpPool).with_for_update())).all():
        if pool_range(other).overlaps(span):
            raise ValidationFailed.on("cidr", f"The range overlaps pool {other.name!r}.")
    pool = IpPool(
        name=spec.name,
        location_id=location.id,
        version=span.version,
        cidr=str(span.network),
        gateway=str(span.gateway) if span.gateway is not None else None,
        first=str(span.first),
        last=str(span.last),
        ptr_domain=ptr_domain,
        is_active=is_active,
    )
    session.add(pool)
    await session.flush()
    return pool


async def set_pool_active(session: AsyncSession, pool_id: UUID, is_active: bool) -> IpPool:
    """An inactive pool hands out nothing new; its addresses stay where they are."""
    pool = await session.get(IpPool, pool_id)
    if pool is None:
        raise NotFound()
    pool.is_active = is_active
    await session.flush()
    return pool


async def ensure_demo_pools(session: AsyncSession) -> None:
    """Add the demo's pools that are missing (by name) and overlap no other pool: safe at every
    start."""
    for slug, ipv4, ipv6 in DEMO_POOLS:
        if await session.scalar(sa.select(Location.id).where(Location.slug == slug)) is None:
            continue
        for version, cidr in ((4, ipv4), (6, ipv6)):
            name = f"{slug}-v{version}"
            if await session.scalar(sa.select(IpPool.id).where(IpPool.name == name)) is None:
                with contextlib.suppress(ValidationFailed):  # an operator's pool covers it
                    await add_pool(session, PoolSpec(name, slug, cidr))


async def _view(session: AsyncSession, pool: IpPool) -> PoolView:
    used = await session.scalar(
        sa.select(sa.func.count(IpAddress.id)).where(
            IpAddress.pool_id == pool.id, IpAddress.state != AddressState.RELEASED.value
        )
    )
    return PoolView(pool=pool, size=pool_range(pool).size(), used=used or 0)
