"""A tiny HTTP server on 127.0.0.1 that webhook tests deliver to: it records each request (with
the moment it arrived) and answers as told: a status, or never (a hanging endpoint)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()


@dataclass
class Receiver:
    port: int = 0
    status: int = 200
    hang: bool = False
    delay: float = 0.0  # seconds before each answer
    open_now: int = 0  # requests being answered right now
    most_at_once: int = 0
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def wait_for(self, count: int, *, within: float = 10) -> list[Received]:
        async with asyncio.timeout(within):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path = request_line.split(" ")[1] if " " in request_line else ""
            self.requests.append(Received(path, headers, body, time.monotonic()))
            self.arrived.set()
            self.open_now += 1
            self.most_at_once = max(self.most_at_once, self.open_now)
            try:
                await asyncio.sleep(3600 if self.hang else self.delay)
            finally:
                self.open_now -= 1
            head = f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\nConnection: close\r\n"
            writer.write(f"{head}\r\nok".encode())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def receiver(
    *, status: int = 200, hang: bool = False, delay: float = 0.0
) -> AsyncIterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 while the block runs."""
    state = Receiver(status=status, hang=hang, delay=delay)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await state._serve(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
