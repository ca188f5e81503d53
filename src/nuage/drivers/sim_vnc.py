"""The simulated machines' VNC displays: a tiny RFB server per running machine on 127.0.0.1.

It speaks what a console bridge and a VNC client need to see a real display answer, as QEMU's
does: the RFB 3.8 version exchange, the security handshake with the one type "None" (QEMU's
display as libvirt sets it up here has no password: nuage's bridge is the gate), and ServerInit
with a 640x480 true-colour framebuffer named as QEMU names a libvirt domain's display
(`QEMU (nuage-<machine_id>)`). It then reads and ignores client messages until the client
leaves. Before each handshake it asks whether the machine is still on (another process may have
stopped it); if not, it hangs up without a word, as a display whose QEMU is gone would.

Servers belong to the driver that started them (its process and event loop); the port is also
saved on the machine, so a driver in another process starts its own and records it.
"""

import asyncio
import contextlib
import struct
from collections.abc import Callable

VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
WIDTH, HEIGHT = 640, 480
# 32 bits per pixel, depth 24, little-endian, true colour, 8 bits per channel (red at bit 16).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
_HANDSHAKE_TIMEOUT_S = 10.0


def desktop_name(machine_id: str) -> str:
    return f"QEMU (nuage-{machine_id})"  # QEMU's name for the display of libvirt's domain


def server_init(machine_id: str) -> bytes:
    name = desktop_name(machine_id).encode()
    return struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT + struct.pack(">I", len(name)) + name


class RfbDisplays:
    """The RFB servers this driver runs, by machine id."""

    def __init__(self) -> None:
        self._servers: dict[str, asyncio.Server] = {}

    async def ensure(self, machine_id: str, is_on: Callable[[], bool]) -> int:
        """The port of the machine's display, started on a free port if it is not running."""
        server = self._servers.get(machine_id)
        if server is None or not server.is_serving():
            server = await asyncio.start_server(
                lambda reader, writer: _serve(machine_id, is_on, reader, writer),
                host="127.0.0.1",
                port=0,
            )
            self._servers[machine_id] = server
        port: int = server.sockets[0].getsockname()[1]
        return port

    def stop(self, machine_id: str) -> None:
        server = self._servers.pop(machine_id, None)
        if server is not None:
            server.close()

    async def close(self) -> None:
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


async def _serve(
    machine_id: str,
    is_on: Callable[[], bool],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    try:
        if is_on():
            await asyncio.wait_for(_handshake(machine_id, reader, writer), _HANDSHAKE_TIMEOUT_S)
            while await reader.read(65536):  # client messages: nothing to draw, nothing to do
                pass
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        pass  # the client left or stalled: its connection ends
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _handshake(
    machine_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Version, security (None) and init; IncompleteReadError or a plain return on bad input."""
    writer.write(VERSION)
    await writer.drain()
    if not (await reader.readexactly(12)).startswith(b"RFB 003."):
        return
    writer.write(bytes([1, SECURITY_NONE]))  # one security type offered
    await writer.drain()
    if (await reader.readexactly(1))[0] != SECURITY_NONE:
        return
    writer.write(struct.pack(">I", 0))  # SecurityResult: OK
    await writer.drain()
    await reader.readexactly(1)  # ClientInit (shared flag)
    writer.write(server_init(machine_id))
    await writer.drain()
