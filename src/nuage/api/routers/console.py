"""Console sessions: `GET …/instances/{instance_id}/console/{session_id}` shows one (the POST
that opens one is generated from the catalogue: `get_vnc_url`), and `/v1/console/{session_id}`
is the WebSocket bridge to the guest's display, opened once with the session's token.

The WebSocket endpoint takes no `Authorization` (browsers cannot send it on a WebSocket): the
one-time token is the credential. Refusals are plain HTTP answers to the upgrade request, in the
API's error shape: 403 `console_token_refused` for an unknown session or a wrong, used or expired
token alike, 502 `console_unreachable` when the display does not answer, 503 without a database.
"""

import asyncio
from uuid import UUID

from fastapi import APIRouter, WebSocket

from nuage.api.console_bridge import bridge
from nuage.api.deps import ReadAccess, RuntimeDep, SessionDep
from nuage.api.errors import error_response, status_of
from nuage.api.routers.instances import PREFIX
from nuage.api.runtime import Runtime
from nuage.api.schemas.console import ConsoleSessionOut
from nuage.db.errors import translate_db_errors
from nuage.db.types import utcnow
from nuage.domain.console import WEBSOCKET_PATH
from nuage.domain.errors import ConsoleTokenRefused, ConsoleUnreachable, NuageError
from nuage.services import console

router = APIRouter(tags=["console"])
_CONNECT_TIMEOUT_S = 5.0
SUBPROTOCOL = "binary"  # what noVNC asks for; the frames are binary either way


@router.get(PREFIX + "/instances/{instance_id}/console/{session_id}")
async def get_console_session(
    instance_id: UUID,
    session_id: UUID,
    session: SessionDep,
    access: ReadAccess,
    runtime: RuntimeDep,
) -> ConsoleSessionOut:
    row = await console.get_session(session, access, instance_id, session_id)
    return ConsoleSessionOut.of(row, runtime.settings.console, utcnow())


@router.websocket(WEBSOCKET_PATH)
async def console_websocket(websocket: WebSocket, session_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        address = await _claim(runtime, session_id, websocket.query_params.get("token", ""))
        reader, writer = await _connect(address)
    except NuageError as error:
        await _refuse(websocket, error)
        return
    offered = websocket.scope.get("subprotocols") or []
    try:
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    except BaseException:  # the client left before the handshake ended
        writer.close()
        raise
    await bridge(websocket, reader, writer)


async def _claim(runtime: Runtime, session_id: str, token: str) -> tuple[str, int]:
    try:
        parsed = UUID(session_id)
    except ValueError:
        raise ConsoleTokenRefused() from None
    async with translate_db_errors(), runtime.sessions() as session:
        return await console.claim(session, parsed, token, utcnow())


async def _connect(address: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            return await asyncio.open_connection(*address)
    except (OSError, TimeoutError) as exc:
        raise ConsoleUnreachable() from exc


async def _refuse(websocket: WebSocket, error: NuageError) -> None:
    """An HTTP answer to the upgrade in the API's error shape, where the server can send one;
    else a close before accepting (the server answers 403)."""
    response = error_response(status_of(error), error.message, error.code)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(1008)
