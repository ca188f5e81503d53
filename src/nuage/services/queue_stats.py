"""The queue as the database holds it, for the metrics scrape: live tasks by type and status, and
per location the pending tasks and the age of the oldest. Both statements read only live rows
(the partial indexes on pending and running tasks), so a scrape costs the same at a million
finished tasks as at none."""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Location
from nuage.domain.enums import TaskStatus
from nuage.domain.tasks import ACTIVE

T = InstanceTask


@dataclass(frozen=True, slots=True)
class LocationQueue:
    pending: int = 0
    oldest_age_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    active: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, status): count
    locations: dict[str, LocationQueue] = field(default_factory=dict)  # by location slug


async def read(session: AsyncSession, *, now: datetime) -> QueueStats:
    by_type = await session.execute(
        sa.select(T.task_type, T.status, sa.func.count())
        .where(T.status.in_([s.value for s in ACTIVE]))
        .group_by(T.task_type, T.status)
    )
    active = {(task_type, status): int(count) for task_type, status, count in by_type}
    locations = {slug: LocationQueue() for slug in await session.scalars(sa.select(Location.slug))}
    pending = await session.execute(
        sa.select(Location.slug, sa.func.count(), sa.func.min(T.created))
        .select_from(T)
        .join(Instance, Instance.id == T.instance_id)
        .join(Location, Location.id == Instance.location_id)
        .where(T.status == TaskStatus.PENDING.value)
        .group_by(Location.slug)
    )
    for slug, count, oldest in pending:
        age = max(0.0, (now - oldest).total_seconds())
        locations[slug] = LocationQueue(int(count), age)
    return QueueStats(active, locations)
