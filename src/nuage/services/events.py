"""Events read back from the outbox (`db/outbox.py` writes them with each change): for a
project's stream, and for every project (the webhook dispatcher); their retention.

Readers wait on the notifier's `EVENTS` channel (`new_events`), woken by every transaction that
wrote events, in this process or (PostgreSQL) any other. Ids increase in commit order, so
"everything after id N" never misses an event that commits later.
"""

import asyncio
import contextlib
from collections.abc import Iterator
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
