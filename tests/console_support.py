"""Console test helpers: the API served by a real uvicorn (its WebSocket implementation
included), an RFB client speaking through the bridge, and sessions made as the task makes them."""

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import uvicorn
import websockets
from websockets.exceptions import InvalidStatus

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.console import ConsoleOptions
from nuage.services.console import new_session
from tests.support import Tenant, free_port, poll

RFB_VERSION = b"RFB 003.008\n"


@dataclass(frozen=True)
class Refusal:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class LiveApi:
    base: str  # http://127.0.0.1:<port>
    runtime: Runtime  # its settings' public URL is `base`

    @property
    def console(self) -> ConsoleOptions:
        return self.runtime.settings.console


@asynccontextmanager
async def live_api(runtime: Runtime) -> AsyncIterator[LiveApi]:
    """The app served by uvicorn on a free 127.0.0.1 port in this event loop (so that console
    URLs point at it, its public URL is set to it)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = replace(runtime, settings=replace(runtime.settings, public_url=base))
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        assert not serving.done(), "uvicorn stopped"
        return server.started

    try:
        await poll(started)
        yield LiveApi(base, runtime)
    finally:
        server.should_exit = True
        await serving


class _Bytes:
    """Exact reads over a WebSocket's binary messages."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws, self.buffer = ws, b""

    async def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            message = await asyncio.wait_for(self.ws.recv(), 10)
            assert isinstance(message, bytes), f"a text frame: {message!r}"
            self.buffer += message
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


async def rfb_desktop_name(url: str, token: str) -> str:
    """Connect through the bridge and go through the RFB 3.8 handshake as a VNC client does
    (security type None, shared session); the desktop name from the server's ServerInit."""
    async with websockets.connect(f"{url}?token={token}", subprotocols=["binary"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "binary"
        stream = _Bytes(ws)
        assert await stream.read(12) == RFB_VERSION
        await ws.send(RFB_VERSION)
        count = (await stream.read(1))[0]
        assert 1 in await stream.read(count), "security type None offered"
        await ws.send(bytes([1]))
        assert await stream.read(4) == b"\0\0\0\0", "security result OK"
        await ws.send(b"\x01")
        init = await stream.read(24)  # width, height, pixel format, name length
        width, height = struct.unpack(">HH", init[:4])
        assert width > 0 and height > 0
        (length,) = struct.unpack(">I", init[20:24])
        return (await stream.read(length)).decode()


async def refusal(url: str, token: str) -> Refusal:
    """The HTTP answer refusing the WebSocket upgrade (AssertionError if it was accepted)."""
    try:
        async with websockets.connect(f"{url}?token={token}"):
            pass
    except InvalidStatus as refused:
        response = refused.response
        return Refusal(response.status_code, json.loads(response.body or b"null"))
    raise AssertionError("the bridge accepted the connection")


async def session_to(
    live: LiveApi,
    tenant: Tenant,
    address: tuple[str, int],
    *,
    expired: bool = False,
    settled: bool = False,
) -> tuple[str, str]:
    """A console session to `address` made as `get_vnc_url` makes it (services.console), on a
    fresh instance of `tenant` (its create task stands for the task): its URL and token.
    `settled` (where a worker runs): the create task has ended first, since a task that starts
    after the session was made ends it (`engine.start`), as a real task would."""
    instance, task_id = await tenant.create_instance()
    if settled:
        assert (await tenant.wait(task_id))["status"] == "completed"
    options = live.console
    now = utcnow() - timedelta(seconds=options.ttl_seconds + 1) if expired else utcnow()
    row, token = new_session(
        instance_id=UUID(instance["id"]),
        task_id=UUID(task_id),
        address=address,
        options=options,
        now=now,
    )
    async with transaction(live.runtime.sessions) as session:
        session.add(row)
    return options.url(row.id), token


async def rfb_answers(address: tuple[str, int]) -> bool:
    """Whether something at `address` speaks first as an RFB server does (directly, no bridge)."""
    try:
        reader, writer = await asyncio.open_connection(*address)
    except OSError:
        return False
    try:
        return await asyncio.wait_for(reader.read(12), 10) == RFB_VERSION
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
