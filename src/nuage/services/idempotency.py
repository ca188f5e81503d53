"""Idempotency keys, and the one place where a write use case commits.

A POST with `Idempotency-Key` stores its response in the same transaction as its effects. A replay
(same caller, key and request) returns the stored response; the same key with another request is
`idempotency_key_reused`. Two concurrent requests with one key: the second's commit hits the
unique (owner, key) constraint, rolls back whole — so nothing is created twice — and replays the
first's response. Keys are kept for 24 hours.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import IdempotencyKey
from nuage.db.types import utcnow
from nuage.domain.errors import IdempotencyKeyReused, ValidationFailed

KEY_TTL = timedelta(hours=24)
KEY_MAX_LENGTH = 255
# Printable ASCII, spaces inside only: HTTP trims a header value's ends and carries other
# characters as bytes whose text clients and servers disagree on.
KEY_PATTERN = rf"^[!-~](?:[ -~]{{0,{KEY_MAX_LENGTH - 2}}}[!-~])?$"


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    owner: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any
    location: str | None


def idempotent_request(
    owner: str, key: str, *, method: str, path: str, body: bytes
) -> IdempotentRequest:
    if re.fullmatch(KEY_PATTERN, key) is None:
        raise ValidationFailed.on(
            "Idempotency-Key", f"Use 1 to {KEY_MAX_LENGTH} printable ASCII characters."
        )
    digest = hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()
    return IdempotentRequest(owner=owner, key=key, fingerprint=digest)


async def lookup(session: AsyncSession, request: IdempotentRequest) -> StoredResponse | None:
    """The stored response for this key, None if the key is new (or expired)."""
    row = await session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.owner == request.owner, IdempotencyKey.key == request.key
        )
    )
    if row is None:
        return None
    if row.created < utcnow() - KEY_TTL:
        await session.delete(row)
        await session.flush()
        return None
    if row.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request; use a new key."
        )
    return StoredResponse(row.status_code, row.body, row.location)


async def commit(
    session: AsyncSession,
    request: IdempotentRequest | None,
    response: StoredResponse,
) -> StoredResponse:
    """Commit the use case's work, with its response if the request carried a key.

    Returns the response to send: this one, or the stored one of a concurrent twin that won.
    """
    if request is None:
        await session.commit()
        return response
    session.add(
        IdempotencyKey(
            owner=request.owner,
            key=request.key,
            fingerprint=request.fingerprint,
            status_code=response.status_code,
            body=response.body,
            location=response.location,
        )
    )
    try:
        await session.commit()
    except sa_exc.IntegrityError:
        await session.rollback()
        stored = await lookup(session, request)
        await session.commit()
        if stored is None:
            raise
        return stored
    return response
