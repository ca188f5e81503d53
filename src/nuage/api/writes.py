"""Every POST goes through here: Idempotency-Key replay before the use case, and the commit of
the use case together with its stored response after it (see services/idempotency.py)."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api import audit_trail
from nuage.api.deps import PrincipalDep, SessionDep
from nuage.api.schemas.common import documented_as
from nuage.services import idempotency
from nuage.services.idempotency import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    IdempotentRequest,
    StoredResponse,
)

# Checked by `idempotency.idempotent_request`, with its own message.
KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": KEY_MAX_LENGTH,
    "pattern": KEY_PATTERN,
    "description": "Makes the request safe to repeat for 24 hours: a replay answers the stored "
    "response (`Idempotent-Replayed: true`); the key with another request is a 409.",
}


class Replay(Exception):
    """Raised by the dependency when a stored response answers the request."""

    def __init__(self, stored: StoredResponse) -> None:
        self.stored = stored


async def idempotency_key(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    key: Annotated[str | None, Header(alias="Idempotency-Key"), documented_as(KEY_SCHEMA)] = None,
) -> IdempotentRequest | None:
    if key is None:
        return None
    idem = idempotency.idempotent_request(
        str(principal.user_id),
        key,
        method=request.method,
        path=f"{request.url.path}?{request.url.query}",  # `?on_conflict=` changes the request
        body=await request.body(),
    )
    stored = await idempotency.lookup(session, idem)
    if stored is not None:
        raise Replay(stored)
    return idem


IdempotencyDep = Annotated[IdempotentRequest | None, Depends(idempotency_key)]


def render(stored: StoredResponse) -> Response:
    headers = {"Location": stored.location} if stored.location else None
    if stored.status_code == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


async def commit(
    session: AsyncSession,
    idem: IdempotentRequest | None,
    status_code: int,
    payload: BaseModel | None,
    *,
    location: str | None = None,
    secret_fields: frozenset[str] = frozenset(),
    replay: Callable[[], BaseModel] | None = None,
) -> Response:
    """Commit, and answer. The response is rendered before the commit, so a body that cannot be
    encoded fails the request with nothing written. `secret_fields` are answered to this caller
    but not stored: a replay shows them as null (a secret is shown once). `replay`, if given,
    makes what is stored for a replay instead of `payload` (e.g. a task without its result's
    secrets); nothing is stored, nor made, for a request without a key."""
    body = payload.model_dump(mode="json") if payload is not None else None
    ours = StoredResponse(status_code, body, location)
    response = render(ours)
    kept = ours if idem is None else _kept(ours, secret_fields, replay)
    audit_trail.record_in(session, status_code)
    stored = await idempotency.commit(session, idem, kept)
    if stored is not kept:
        response = render(stored)  # a concurrent twin with the same key won: this is its replay
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _kept(
    ours: StoredResponse, secret_fields: frozenset[str], replay: Callable[[], BaseModel] | None
) -> StoredResponse:
    """What a replay of this answer will show."""
    body = replay().model_dump(mode="json") if replay is not None else ours.body
    stored_body = {**body, **dict.fromkeys(secret_fields)} if isinstance(body, dict) else body
    return StoredResponse(ours.status_code, stored_body, ours.location)


async def replay_handler(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Replay)
    response = render(error.stored)
    response.headers["Idempotent-Replayed"] = "true"
    return response
