"""The console bridge: bytes between a client's WebSocket and a guest's VNC display (TCP).

RFB travels in binary frames, as noVNC and websockify send it; the bridge reads nothing of it.
Either side closing ends both. A text frame is not RFB: the bridge closes with 1003.
"""

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

CHUNK = 65536
UNSUPPORTED_DATA = 1003  # RFC 6455: a data type the endpoint cannot accept


async def bridge(
    websocket: WebSocket, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Copy both ways until either side ends, then close both (an accepted `websocket`)."""
    to_display = asyncio.create_task(_client_to_display(websocket, writer))
    to_client = asyncio.create_task(_display_to_client(reader, websocket))
    try:
        done, _pending = await asyncio.wait(
            {to_display, to_client}, return_when=asyncio.FIRST_COMPLETED
        )
        close_code = to_display.result() if to_display in done else 1000
    finally:
        for task in (to_display, to_client):
            task.cancel()
        await asyncio.gather(to_display, to_client, return_exceptions=True)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if websocket.client_state is WebSocketState.CONNECTED:  # the client may have left
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(close_code)


async def _client_to_display(websocket: WebSocket, writer: asyncio.StreamWriter) -> int:
    """Until the client leaves (1000) or sends text (1003)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return 1000
            data = message.get("bytes")
            if data is None:
                return UNSUPPORTED_DATA
            writer.write(data)
            await writer.drain()
    except (WebSocketDisconnect, OSError):
        return 1000


async def _display_to_client(reader: asyncio.StreamReader, websocket: WebSocket) -> None:
    """Until the display hangs up."""
    with contextlib.suppress(OSError, WebSocketDisconnect, RuntimeError):
        while data := await reader.read(CHUNK):
            await websocket.send_bytes(data)
