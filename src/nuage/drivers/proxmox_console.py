"""A machine's VNC display on Proxmox VE, as a plain TCP address nuage's console bridge can use.

Proxmox serves a VM's display as RFB over a WebSocket (`qemu/{vmid}/vncwebsocket`), opened with
a single-use ticket from `vncproxy` (`websocket=1`) and the API token, and protected by VNC
authentication with that ticket as the password. nuage's bridge (`api/console_bridge.py`)
copies bytes to a TCP address, and nuage's own session token is what a console user presents.
So, per `vnc_address` call, the driver opens a relay on 127.0.0.1 (an ephemeral port, in the
worker's process) that takes ONE connection within `RELAY_TTL_S`: it opens the WebSocket, does
the VNC authentication with the ticket itself, offers the client the security type None, and
then copies bytes both ways. The ticket never leaves the worker.
"""

import asyncio
import contextlib
import ssl
import struct
from urllib.parse import quote

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from .proxmox_settings import ProxmoxSettings

RELAY_TTL_S = 60.0
_VERSION = b"RFB 003.008\n"
_VNC_AUTH, _NO_AUTH = 2, 1


def vnc_response(password: str, challenge: bytes) -> bytes:
    """RFB's VNC authentication: the challenge DES-encrypted with the password (8 bytes, each
    byte's bits mirrored, as VNC does)."""
    key = (password.encode()[:8] + b"\0" * 8)[:8]
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in key)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


class _Frames:
    """Bytes read from a WebSocket's binary frames, in any size."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.buffer = ws, b""

    async def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            frame = await self.ws.recv()
            self.buffer += frame if isinstance(frame, bytes) else frame.encode()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


async def open_relay(settings: ProxmoxSettings, vmid: int, ticket: str, port: int) -> int:
    """Start a one-connection relay to the VM's display; its port on 127.0.0.1."""
    query = f"port={port}&vncticket={quote(ticket, safe='')}"
    path = f"/api2/json/nodes/{settings.node}/qemu/{vmid}/vncwebsocket?{query}"
    url = f"wss://{settings.host}:{settings.port}{path}"
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if done.is_set():  # one connection per ticket
            writer.close()
            return
        done.set()
        try:
            await _relay(settings, url, ticket, reader, writer)
        except (OSError, WebSocketException, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    relay_port = int(server.sockets[0].getsockname()[1])

    async def expire() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), RELAY_TTL_S)
        server.close()  # takes no new connection; the one it has goes on

    _background.add(task := asyncio.get_running_loop().create_task(expire()))
    task.add_done_callback(_background.discard)
    return relay_port


_background: set[asyncio.Task[None]] = set()


async def _relay(
    settings: ProxmoxSettings,
    url: str,
    ticket: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    headers = {"Authorization": f"PVEAPIToken={settings.token_id}={settings.secret}"}
    async with connect(
        url,
        additional_headers=headers,
        subprotocols=["binary"],  # type: ignore[list-item]
        ssl=_ssl_context(settings.verify),
        max_size=None,
    ) as ws:
        display = _Frames(ws)
        await _authenticate(display, ticket, reader, writer)
        await _copy(ws, display.buffer, reader, writer)


async def _authenticate(
    display: _Frames, ticket: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Authenticate to the display with the ticket, and let the client in without one."""
    if await display.read(12) != _VERSION:
        raise ConnectionError("the display does not speak RFB 3.8")
    await display.ws.send(_VERSION)
    count = (await display.read(1))[0]
    if _VNC_AUTH not in await display.read(count):
        raise ConnectionError("the display offers no VNC authentication")
    await display.ws.send(bytes([_VNC_AUTH]))
    await display.ws.send(vnc_response(ticket, await display.read(16)))
    if struct.unpack(">I", await display.read(4))[0] != 0:
        raise ConnectionError("the display refused the ticket")
    writer.write(_VERSION)
    await reader.readexactly(12)  # the client's version: 3.8 is what it gets
    writer.write(bytes([1, _NO_AUTH]))
    if (await reader.readexactly(1))[0] != _NO_AUTH:
        raise ConnectionError("the client chose another security type")
    writer.write(struct.pack(">I", 0))
    await writer.drain()


async def _copy(
    ws: ClientConnection, pending: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    if pending:
        writer.write(pending)

    async def up() -> None:
        while data := await reader.read(65536):
            await ws.send(data)

    async def down() -> None:
        async for frame in ws:
            writer.write(frame if isinstance(frame, bytes) else frame.encode())
            await writer.drain()

    tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
