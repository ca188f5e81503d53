"""Server-Sent Events: an incremental parser of `text/event-stream` (the WHATWG rules: `field:
value` lines, one optional space after the colon, `data` lines joined by newlines, a blank line
ends an event, `:` lines are comments such as the heartbeat) and the project's event stream's
objects (`GET P/events`, docs/api.md, Events)."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from nuage.client.errors import StreamClosed


@dataclass(frozen=True, slots=True)
class Message:
    """One event as the wire carries it."""

    event: str
    data: str
    id: str | None


class SseParser:
    """Feed it lines (without their line ending); it yields each complete message.
    `last_event_id` is the last `id` seen, what a reconnection sends as `Last-Event-ID`."""

    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> Message | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def feed_all(self, lines: Iterable[str]) -> Iterator[Message]:
        for line in lines:
            message = self.feed(line)
            if message is not None:
                yield message

    def _dispatch(self) -> Message | None:
        data, event = self._data, self._event or "message"
        self._data, self._event = [], ""
        if not data:
            return None
        return Message(event, "\n".join(data), self.last_event_id)


class Event(BaseModel):
    """A change in the project: `type` (`task.completed`, `instance.status_changed`, …) and
    `data`, the object (a task, an instance) as the API shows it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    type: str
    created: datetime
    instance_id: UUID | None
    data: dict[str, Any]


class Resync(BaseModel):
    """The stream could not resume where asked (that event is older than the retention
    window): the client should re-read what it tracks; events continue from `oldest_id`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: str
    oldest_id: int | None = None


def decode(message: Message) -> Event | Resync:
    """The message as an event or a resync; `StreamClosed` for the server's `event: error`
    (sent before it ends the stream, e.g. when the key is revoked)."""
    body = json.loads(message.data)
    if message.event == "error":
        raise StreamClosed(str(body.get("detail", "")), code=str(body.get("code", "error")))
    if message.event == "resync":
        return Resync.model_validate(body)
    return Event.model_validate(body)


def stream_params(
    instance_id: str | UUID | None, types: str | Iterable[str] | None
) -> dict[str, str]:
    params: dict[str, str] = {}
    if instance_id is not None:
        params["instance_id"] = str(instance_id)
    if types is not None:
        params["types"] = types if isinstance(types, str) else ",".join(types)
    return params
