"""From events to deliveries: each event after the dispatcher's cursor becomes one delivery per
active webhook of its project that asked for its type, in one transaction with the cursor's move.

The cursor row is locked for the transaction, so each event is dispatched once (the unique index
on (webhook, event) is the last word). A dispatcher that finds it locked does nothing: the pass
under way reads what was committed before it, and the senders run one when events commit
(`engine.webhook_sender`), the holder's included, since it listened from before its read; with
many worker processes, their passes no longer queue behind each other's, each reading events
the one before it just read. A webhook gets only events written after it was created.
"""

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Webhook, WebhookCursor
from nuage.services.webhooks import queue_delivery

CURSOR_ID = 1
BATCH = 200


class EventHead(Protocol):
    """What the dispatcher reads of every new event (the events outbox's), to match it against
    the webhooks."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def created(self) -> datetime: ...


class Event(EventHead, Protocol):
    """An event a webhook wants, whole."""

    @property
    def instance_id(self) -> UUID | None: ...
    @property
    def payload(self) -> Any: ...


# The heads of the events after an id, oldest first (`services.events.heads_after`, all
# projects), and events by their ids (`services.events.events_by_id`).
EventSource = Callable[..., Awaitable[Sequence[EventHead]]]
EventsById = Callable[[AsyncSession, Collection[int]], Awaitable[Sequence[Event]]]


def body_of(event: Event) -> dict[str, Any]:
    """What a delivery posts: the event as the stream's `data` line shows it."""
    return {
        "id": event.id,
        "type": event.type,
        "created": event.created.isoformat().replace("+00:00", "Z"),
        "instance_id": str(event.instance_id) if event.instance_id is not None else None,
        "data": event.payload,
    }


@dataclass(frozen=True, slots=True)
class Dispatched:
    read: int  # events read (`limit` of them: there may be more)
    queued: int  # deliveries queued


async def dispatch(
    session: AsyncSession,
    source: EventSource,
    events_by_id: EventsById,
    *,
    limit: int = BATCH,
) -> Dispatched:
    """Turn the events after the cursor into deliveries and move the cursor past them. Only the
    events some webhook wants are read whole: most are of no webhook's type or project."""
    after = await session.scalar(_LOCKED_CURSOR)
    if after is None:  # the row (migration 0017) is held: another dispatcher's pass is under way
        return Dispatched(0, 0)
    heads = await source(session, after_id=after, limit=limit)
    if not heads:
        return Dispatched(0, 0)
    hooks = await _active_webhooks(session, {head.project_id for head in heads})
    wanted = [
        (head, webhook)
        for head in heads
        for webhook in hooks.get(head.project_id, ())
        if head.type in webhook.event_types and head.created >= webhook.created
    ]
    queued = 0
    if wanted:
        whole = {e.id: e for e in await events_by_id(session, {head.id for head, _ in wanted})}
        for head, webhook in wanted:
            if head.id not in whole:  # pruned meanwhile by the retention
                continue
            await queue_delivery(
                session,
                webhook_id=webhook.id,
                event_id=head.id,
                event_type=head.type,
                body=body_of(whole[head.id]),
            )
            queued += 1
    if queued:
        await session.flush()  # the unique (webhook, event) index speaks here, not at the commit
    await session.execute(_MOVE_CURSOR, {"last": heads[-1].id})
    return Dispatched(len(heads), queued)


async def _active_webhooks(session: AsyncSession, projects: set[UUID]) -> dict[UUID, list[Any]]:
    """The active webhooks of `projects` (rows of `_ACTIVE`), by project."""
    found: dict[UUID, list[Any]] = {}
    for webhook in await session.execute(_ACTIVE, {"projects": list(projects)}):
        found.setdefault(webhook.project_id, []).append(webhook)
    return found


# Core statements built once: the dispatcher runs them on every pass, in every worker process
# (as ORM objects, the cursor's and the webhooks' loads and the cursor's flush were most of a
# pass's CPU).
_C: sa.Table = WebhookCursor.__table__  # type: ignore[assignment]
_W: sa.Table = Webhook.__table__  # type: ignore[assignment]
_LOCKED_CURSOR = (
    sa.select(_C.c.last_event_id).where(_C.c.id == CURSOR_ID).with_for_update(skip_locked=True)
)
_MOVE_CURSOR = (
    sa.update(_C)
    .where(_C.c.id == CURSOR_ID)
    .values(last_event_id=sa.bindparam("last", type_=_C.c.last_event_id.type))
)
_ACTIVE = sa.select(_W.c.id, _W.c.project_id, _W.c.event_types, _W.c.created).where(
    _W.c.project_id.in_(sa.bindparam("projects", expanding=True, type_=_W.c.project_id.type)),
    _W.c.is_active.is_(True),
)
