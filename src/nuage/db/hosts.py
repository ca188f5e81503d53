"""Host queries shared by placement (engine) and the host registry (services)."""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Host, Instance, Size
from nuage.domain.enums import HostState
from nuage.domain.placement import HostLoad, Resources


async def host_loads(
    session: AsyncSession, location_id: UUID | None = None, *, lock: bool = True
) -> list[HostLoad]:
    """The location's hosts with what their live instances take; rows locked on PostgreSQL so
    that concurrent placements in one location take turns (SQLite: one writer anyway)."""
    hosts = (await session.scalars(_hosts(location_id, lock=lock))).all()
    used = {
        row.host_id: Resources(int(row.vcpu), int(row.ram_mb), int(row.disk_gb))
        for row in await session.execute(
            sa.select(
                Instance.host_id,
                sa.func.sum(Size.vcpu).label("vcpu"),
                sa.func.sum(Size.ram_mb).label("ram_mb"),
                sa.func.sum(Size.disk_gb).label("disk_gb"),
            )
            .join(Size, Size.id == Instance.size_id)
            .where(
                Instance.host_id.in_([h.id for h in hosts]),
                Instance.is_live,
            )
            .group_by(Instance.host_id)
        )
    }
    empty = Resources(0, 0, 0)
    return [
        HostLoad(
            host_id=h.id,
            name=h.name,
            state=HostState(h.state),
            capacity=Resources(h.vcpu, h.ram_mb, h.disk_gb),
            allocated=used.get(h.id, empty),
        )
        for h in hosts
    ]


def _hosts(location_id: UUID | None, *, lock: bool) -> sa.Select[Host]:
    stmt = sa.select(Host).order_by(Host.name)
    if location_id is not None:
        stmt = stmt.where(Host.location_id == location_id)
    return stmt.with_for_update() if lock else stmt
