"""A Server-Sent Events reader for the stream tests: frames as the spec parses them."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    event: str | None = None
    id: int | None = None
    data: Any = None
    comment: str | None = None  # `: ping`


class Frames:
    """The frames of an open `text/event-stream` response, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 15) -> Frame:
        """The next frame; EOFError when the server ended the stream."""
        async with asyncio.timeout(timeout):
            fields: dict[str, str] = {}
            async for line in self._lines:
                if line.startswith(":"):
                    return Frame(comment=line[1:].strip())
                if line == "":
                    if fields:
                        return _frame(fields)
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                fields[name] = f"{fields[name]}\n{value}" if name in fields else value
            raise EOFError("the stream ended")

    async def events(self, count: int, timeout: float = 15) -> list[Frame]:
        """The next `count` events (heartbeats skipped)."""
        found: list[Frame] = []
        while len(found) < count:
            frame = await self.next(timeout)
            if frame.comment is None:
                found.append(frame)
        return found

    async def until(self, event: str, task_id: str | None = None) -> list[Frame]:
        """Events up to the first `event` (of the task `task_id`), included."""
        found: list[Frame] = []
        while True:
            frame = await self.next()
            if frame.comment is not None:
                continue
            found.append(frame)
            data = frame.data.get("data", {}) if isinstance(frame.data, dict) else {}
            if frame.event == event and task_id in (None, data.get("id")):
                return found


def _frame(fields: dict[str, str]) -> Frame:
    raw = fields.get("data")
    return Frame(
        event=fields.get("event"),
        id=int(fields["id"]) if "id" in fields else None,
        data=json.loads(raw) if raw is not None else None,
    )


@asynccontextmanager
async def stream(
    base: str, path: str, key: str, *, params: Any = None, last_id: int | None = None
) -> AsyncIterator[Frames]:
    """`GET base+path` as a stream, with the API key and `Last-Event-ID` when given."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as client,
        client.stream("GET", base + path, headers=headers, params=params) as response,
    ):
        yield Frames(response)
