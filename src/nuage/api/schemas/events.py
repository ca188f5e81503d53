"""Event shapes and their Server-Sent Events framing (`GET P/events`)."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.domain.events import EventType
from nuage.services.event_stream import Closed, Heartbeat, Resync, StreamItem
from nuage.services.events import EventRow


class EventOut(BaseModel):
    """One event: the `data` of an SSE `event: <type>` frame whose `id` is `id`."""

    id: int = Field(description="Increasing; send it back as `Last-Event-ID` to resume.")
    type: EventType
    created: datetime
    instance_id: UUID | None
    data: dict[str, Any] = Field(
        description="The Task as `GET …/tasks/{id}` shows it (`task.step`: with the step-log "
        "entry under `step`), or the Instance as `GET …/instances/{id}` shows it."
    )

    @classmethod
    def of(cls, row: EventRow) -> "EventOut":
        return cls(
            id=row.id,
            type=row.type,
            created=row.created,
            instance_id=row.instance_id,
            data=row.payload,
        )


def frame(item: StreamItem) -> str:
    """`item` as SSE text: an event, `event: resync`, `event: error` (the stream ends), or the
    `: ping` comment."""
    if isinstance(item, EventRow):
        data = EventOut.of(item).model_dump_json()
        return f"id: {item.id}\nevent: {item.type}\ndata: {data}\n\n"
    if isinstance(item, Resync):
        data = json.dumps({"reason": item.reason, "oldest_id": item.oldest_id})
        return f"event: resync\ndata: {data}\n\n"
    if isinstance(item, Closed):
        data = json.dumps({"detail": item.detail, "code": item.code})
        return f"event: error\ndata: {data}\n\n"
    assert isinstance(item, Heartbeat)
    return ": ping\n\n"


EXAMPLE = (
    "id: 42\nevent: task.completed\ndata: "
    '{"id": 42, "type": "task.completed", "created": "2026-12-02T16:00:00.120000Z", '
    '"instance_id": "…", "data": {"id": "…", "task_type": "start_vps", "status": "completed", '
    "…}}\n\n: ping\n\n"
)
