"""ASGI middleware that guards the app before any endpoint runs: body size and media type."""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing lets it through as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: at most {limit} bytes.")


def body_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str, str, bool]:
    """Content-Length, the media type of Content-Type (each the last one sent) and whether
    Transfer-Encoding is there, in one pass over the headers."""
    length = content_type = b""
    chunked = False
    for name, value in headers:
        match name.lower():
            case b"content-length":
                length = value
            case b"content-type":
                content_type = value
            case b"transfer-encoding":
                chunked = True
    media = content_type.decode("latin-1").split(";")[0].strip().lower()
    return length.decode("latin-1"), media, chunked


class RequestGuard:
    """Refuses bodies over `max_body_bytes` (413) — by Content-Length up front, or while streaming —
    and non-JSON bodies on writes (415), in the API's error shape."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, media, chunked = body_headers(scope["headers"])
        if length.isdigit() and int(length) > self.max_body_bytes:
            await self._refuse(send, 413, "request_too_large", self._too_large())
            return
        has_body = (length.isdigit() and int(length) > 0) or chunked
        if has_body and scope["method"] in {"POST", "PUT", "PATCH"} and media != "application/json":
            detail = f'Unsupported media type "{media}" in request; use application/json.'
            await self._refuse(send, 415, "unsupported_media_type", detail)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, 413, "request_too_large", self._too_large())

    def _too_large(self) -> str:
        return f"Request body too large: at most {self.max_body_bytes} bytes."

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
        body = json.dumps({"detail": detail, "code": code}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
