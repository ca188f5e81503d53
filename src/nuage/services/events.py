"""Events read back from the outbox (`db/outbox.py` writes them with each change): for a
project's stream, and for every project (the webhook dispatcher); their retention.

Readers wait on the notifier's `EVENTS` channel (`new_events`), woken by every transaction that
wrote events, in this process or (PostgreSQL) any other. Ids increase in commit order, so
"everything after id N" never misses an event that commits later.
"""

import asyncio
import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Counter, Event
from nuage.db.notify import EVENTS, Notifier
from nuage.domain.events import EventType

# The counter holding the highest id the retention removed (migration 0016).
PRUNED_THROUGH = "events.pruned_through"


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    project_id: UUID
    instance_id: UUID | None
    type: EventType
    created: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: Event) -> "EventRow":
        return cls(
            id=row.id,
            project_id=row.project_id,
            instance_id=row.instance_id,
            type=EventType(row.type),
            created=row.created,
            payload=row.payload,
        )


@dataclass(frozen=True, slots=True)
class EventFilters:
    instance_id: UUID | None = None
    types: tuple[EventType, ...] = ()  # empty: every type


async def events_after(
    session: AsyncSession,
    *,
    after_id: int,
    limit: int,
    project_id: UUID | None = None,
    filters: EventFilters = EventFilters(),
) -> list[EventRow]:
    """The events with an id above `after_id`, oldest first, at most `limit`; of one project,
    or (None) of all."""
    stmt = sa.select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
    if project_id is not None:
        stmt = stmt.where(Event.project_id == project_id)
    if filters.instance_id is not None:
        stmt = stmt.where(Event.instance_id == filters.instance_id)
    if filters.types:
        stmt = stmt.where(Event.type.in_([t.value for t in filters.types]))
    return [EventRow.of(row) for row in await session.scalars(stmt)]


@dataclass(frozen=True, slots=True)
class EventHead:
    """An event without its payload and instance: what the webhook dispatcher matches against
    the webhooks before it reads the events some of them want."""

    id: int
    project_id: UUID
    type: str
    created: datetime


async def heads_after(session: AsyncSession, *, after_id: int, limit: int) -> list[EventHead]:
    """The heads of the events with an id above `after_id`, of every project, oldest first, at
    most `limit` (`events_after` without their payloads, which most readers of all projects'
    events never need)."""
    found = await session.execute(_HEADS_AFTER, {"after": after_id, "limit": limit})
    return [EventHead(*row) for row in found]


_E: sa.Table = Event.__table__  # type: ignore[assignment]
_HEADS_AFTER = (
    sa.select(_E.c.id, _E.c.project_id, _E.c.type, _E.c.created)
    .where(_E.c.id > sa.bindparam("after", type_=_E.c.id.type))
    .order_by(_E.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


async def events_by_id(session: AsyncSession, ids: Collection[int]) -> list[EventRow]:
    """The events of `ids` that are still kept, oldest first."""
    stmt = sa.select(Event).where(Event.id.in_(ids)).order_by(Event.id)
    return [EventRow.of(row) for row in await session.scalars(stmt)]


async def last_id(session: AsyncSession) -> int:
    """The newest event's id (what a stream that asks for no past events starts after)."""
    newest = await session.scalar(sa.select(sa.func.max(Event.id)))
    return int(newest) if newest is not None else await pruned_through(session)


async def pruned_through(session: AsyncSession) -> int:
    """The highest id the retention removed: a reader that saw less may have missed events."""
    value = await session.scalar(sa.select(Counter.value).where(Counter.name == PRUNED_THROUGH))
    return int(value or 0)


async def oldest_kept(session: AsyncSession) -> int:
    """The oldest event's id, or the next one's if none is kept."""
    oldest = await session.scalar(sa.select(sa.func.min(Event.id)))
    return int(oldest) if oldest is not None else await pruned_through(session) + 1


@contextlib.contextmanager
def new_events(notifier: Notifier) -> Iterator[asyncio.Event]:
    """An asyncio.Event set whenever events were committed. Enter it before reading, read, and
    clear it before each new read: no commit then falls between a read and the wait."""
    waiter = notifier.subscribe(EVENTS)
    try:
        yield waiter
    finally:
        notifier.unsubscribe(EVENTS, waiter)


async def prune(session: AsyncSession, *, now: datetime, retention: timedelta) -> int:
    """Remove the events older than `retention`; how many. Ids and times increase together
    (both are taken in commit order), so the old events are those up to one id."""
    through = await session.scalar(
        sa.select(sa.func.max(Event.id)).where(Event.created < now - retention)
    )
    if through is None:
        return 0
    removed = await session.execute(sa.delete(Event).where(Event.id <= through))
    await session.execute(
        sa.update(Counter)
        .where(Counter.name == PRUNED_THROUGH, Counter.value < through)
        .values(value=through)
    )
    return int(removed.rowcount)  # type: ignore[attr-defined]
