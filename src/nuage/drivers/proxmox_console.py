"""A machine's VNC display on Proxmox VE, as a plain TCP address nuage's console bridge can use.

Proxmox serves a VM's display as RFB over a WebSocket (`qemu/{vmid}/vncwebsocket`), opened with
a single-use ticket from `vncproxy` (`websocket=1`) and the API token, and protected by VNC
authentication with that ticket as the password. nuage's bridge (`api/console_bridge.py`)
copies bytes to a TCP address, and nuage's own session token is what a console user presents.
So the driver keeps a relay per running machine on 127.0.0.1 (an ephemeral port, in the
worker's process; nuage's one-time session tokens guard who reaches it, as they guard a libvirt
display's port): for each connection it asks `vncproxy` for a fresh ticket, opens the
WebSocket, does the VNC authentication with the ticket itself, offers the client the security
type None, and then copies bytes both ways. Tickets never leave the worker. A stop, shutdown or
delete through the driver closes the machine's relay; a connection to a machine found off
meanwhile is closed at once.
"""

import asyncio
import ssl
import struct
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from nuage.domain.errors import NuageError

from .proxmox_settings import ProxmoxSettings

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


Ticket = Callable[[], Awaitable[tuple[str, int] | None]]  # a fresh (ticket, port), None: off


class Relays:
    """One relay per running machine, on a port that stays while it runs (so the console's
    sessions made for it stay valid): each connection asks Proxmox for a fresh ticket."""

    def __init__(self, settings: ProxmoxSettings) -> None:
        self.settings = settings
        self._servers: dict[str, tuple[asyncio.Server, int]] = {}
        self._lock = asyncio.Lock()

    async def ensure(self, machine_id: str, vmid: int, ticket: Ticket) -> int:
        async with self._lock:
            found = self._servers.get(machine_id)
            if found is not None and found[0].is_serving():
                return found[1]

            async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    issued = await ticket()
                    if issued is not None:
                        url = websocket_url(self.settings, vmid, *issued)
                        await _relay(self.settings, url, issued[0], machine_id, reader, writer)
                except (OSError, WebSocketException, asyncio.IncompleteReadError, NuageError):
                    pass
                finally:
                    writer.close()

            server = await asyncio.start_server(serve, "127.0.0.1", 0)
            port = int(server.sockets[0].getsockname()[1])
            self._servers[machine_id] = (server, port)
            return port

    async def close(self, machine_id: str) -> None:
        """The machine stopped (or went): its relay takes no more connections."""
        found = self._servers.pop(machine_id, None)
        if found is not None:
            found[0].close()

    async def close_all(self) -> None:
        for machine_id in list(self._servers):
            await self.close(machine_id)


def websocket_url(settings: ProxmoxSettings, vmid: int, ticket: str, port: int) -> str:
    query = f"port={port}&vncticket={quote(ticket, safe='')}"
    path = f"/api2/json/nodes/{settings.node}/qemu/{vmid}/vncwebsocket?{query}"
    return f"wss://{settings.host}:{settings.port}{path}"


async def _relay(
    settings: ProxmoxSettings,
    url: str,
    ticket: str,
    machine_id: str,
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
        await _server_init(display, machine_id, reader, writer)
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


async def _server_init(
    display: _Frames, machine_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """ClientInit through, and ServerInit back with the machine's id in the desktop's name (the
    VM's name is its hostname), so that a console shows which machine it is."""
    await display.ws.send(await reader.readexactly(1))
    head = await display.read(20)
    name = await display.read(struct.unpack(">I", await display.read(4))[0])
    shown = f"{name.decode(errors='replace')} (nuage-{machine_id})".encode()
    writer.write(head + struct.pack(">I", len(shown)) + shown)
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
