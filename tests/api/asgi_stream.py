"""Calling an endless streaming endpoint over ASGI: httpx's ASGI transport waits for the whole
answer, which a stream never finishes. Here the client reads the status and headers (and an error's
whole body), then leaves, as a real client that disconnects does."""

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import ASGIApp, Message


async def first_answer(
    app: ASGIApp, method: str, url: str, headers: dict[str, str], *, timeout: float = 10
) -> httpx.Response:
    parts = urlsplit(url)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    answered, leave = asyncio.Event(), asyncio.Event()
    start: dict[str, Any] = {}
    body = bytearray()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            if message["status"] == 200:  # a stream: its headers are the answer
                answered.set()
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    running = asyncio.create_task(app(scope, receive, send))
    async with asyncio.timeout(timeout):
        await answered.wait()
        leave.set()
        await running
    return httpx.Response(
        start["status"],
        headers=[(k.decode(), v.decode()) for k, v in start["headers"]],
        content=bytes(body),
    )
