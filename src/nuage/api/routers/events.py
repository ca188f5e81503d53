"""The project's event stream (Server-Sent Events)."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from nuage.api.deps import ReadAccess, RuntimeDep, SessionDep, bearer
from nuage.api.routers.instances import PREFIX
from nuage.api.routers.tasks import choices
from nuage.api.schemas.common import list_of
from nuage.api.schemas.events import EXAMPLE, frame
from nuage.domain.errors import ValidationFailed
from nuage.domain.events import EventType
from nuage.services import event_stream
from nuage.services.event_stream import Credentials, StreamItem, StreamOptions
from nuage.services.events import EventFilters

router = APIRouter(prefix=PREFIX, tags=["events"])
TypesFilter = Annotated[list[str] | None, Query(), list_of(EventType)]
LAST_ID = "Resume after this event id (as `Last-Event-ID`, which wins when both are sent)."
STREAM = {
    200: {
        "description": "An endless `text/event-stream`: each event as `id`, `event` (its type) "
        "and `data` (an `EventOut`, JSON); `event: resync` when events after the id asked for were "
        "removed by the retention; `event: error` before the stream ends (the key was revoked); "
        "a `: ping` comment while idle.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE}},
    }
}


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get("/events", response_class=EventStream, responses=STREAM)  # type: ignore[arg-type]
async def stream_events(
    session: SessionDep,
    access: ReadAccess,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Depends(bearer)],
    instance_id: UUID | None = None,
    types: TypesFilter = None,
    last_event_id: Annotated[int | None, Query(ge=0, description=LAST_ID)] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventStream:
    """Every change of the project's tasks and instance statuses, as it commits. Filters:
    `instance_id`, `types` (repeat or separate with commas)."""
    stream = await event_stream.open_stream(
        session,
        access,
        EventFilters(instance_id=instance_id, types=choices("types", types, EventType)),
        last_event_id=_last_id(last_event_id_header, last_event_id),
        credentials=Credentials(
            authorization, runtime.settings.secret_key, runtime.settings.accepted_secret_keys
        ),
        options=StreamOptions(
            runtime.sessions, runtime.notifier, runtime.settings.events_heartbeat_seconds
        ),
    )
    return EventStream(_frames(stream), headers={"Cache-Control": "no-store"})


def _last_id(header: str | None, query: int | None) -> int | None:
    if header is None or not header.strip():
        return query
    if not header.strip().isdigit():
        raise ValidationFailed.on("Last-Event-ID", "A valid integer is required.")
    return int(header)


async def _frames(stream: AsyncIterator[StreamItem]) -> AsyncIterator[str]:
    async for item in stream:
        yield frame(item)
