"""From events to deliveries: each event after the dispatcher's cursor becomes one delivery per
active webhook of its project that asked for its type, in one transaction with the cursor's move.

The cursor row is locked for the transaction, so dispatchers in many workers take turns and each
event is dispatched once (the unique index on (webhook, event) is the last word). A webhook gets
only events written after it was created.
"""

from collections.abc import Awaitable, Callable, Sequence
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


class Event(Protocol):
    """What the dispatcher reads of an event row (the events outbox's)."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> UUID: ...
    @property
    def instance_id(self) -> UUID | None: ...
    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> Any: ...
    @property
    def created(self) -> datetime: ...


# Events after an id, oldest first: `services.events.events_after` (all projects).
EventSource = Callable[..., Awaitable[Sequence[Event]]]


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


async def dispatch(session: AsyncSession, source: EventSource, *, limit: int = BATCH) -> Dispatched:
    """Turn the events after the cursor into deliveries and move the cursor past them."""
    cursor = await session.scalar(
        sa.select(WebhookCursor).where(WebhookCursor.id == CURSOR_ID).with_for_update()
    )
    assert cursor is not None  # made by migration 0017
    events = await source(session, after_id=cursor.last_event_id, limit=limit)
    if not events:
        return Dispatched(0, 0)
    hooks = await _active_webhooks(session, {event.project_id for event in events})
    queued = 0
    for event in events:
        for webhook in hooks.get(event.project_id, ()):
            if event.type in webhook.event_types and event.created >= webhook.created:
                await queue_delivery(
                    session,
                    webhook_id=webhook.id,
                    event_id=event.id,
                    event_type=event.type,
                    body=body_of(event),
                )
                queued += 1
    cursor.last_event_id = events[-1].id
    await session.flush()
    return Dispatched(len(events), queued)


async def _active_webhooks(session: AsyncSession, projects: set[UUID]) -> dict[UUID, list[Webhook]]:
    rows = await session.scalars(
        sa.select(Webhook).where(Webhook.project_id.in_(projects), Webhook.is_active.is_(True))
    )
    found: dict[UUID, list[Webhook]] = {}
    for webhook in rows:
        found.setdefault(webhook.project_id, []).append(webhook)
    return found
