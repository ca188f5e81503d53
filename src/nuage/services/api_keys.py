"""API keys: shown once at creation, stored as a hash, revoked at once."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import ApiKey
from nuage.db.types import utcnow
from nuage.domain.enums import Scope
from nuage.domain.errors import NotFound, PermissionDenied, ValidationFailed
from nuage.domain.permissions import Permission
from nuage.services import security
from nuage.services.access import require
from nuage.services.principals import Principal


async def create(
    session: AsyncSession,
    user_id: UUID,
    *,
    name: str,
    scopes: Iterable[Scope],
    expires_at: datetime | None = None,
) -> tuple[str, ApiKey]:
    """Returns the key itself (never stored, never shown again) and its row."""
    scope_list = sorted({Scope(s).value for s in scopes})
    if not scope_list:
        raise ValidationFailed.on("scopes", "Give at least one scope.")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed.on("expires_at", "Choose a time in the future.")
    key, prefix, key_hash = security.new_api_key()
    row = ApiKey(
        user_id=user_id,
        name=name.strip() or "key",
        prefix=prefix,
        key_hash=key_hash,
        scopes=scope_list,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return key, row


async def create_for(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    scopes: Iterable[Scope],
    expires_at: datetime | None,
) -> tuple[str, ApiKey]:
    """A key for the caller; a key can only mint keys with scopes it has itself."""
    wanted = set(scopes)
    if not wanted <= principal.scopes:
        raise PermissionDenied("An API key cannot create a key with more scopes than its own.")
    return await create(session, principal.user_id, name=name, scopes=wanted, expires_at=expires_at)


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    stmt = (
        sa.select(ApiKey)
        .where(ApiKey.user_id == principal.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created)
    )
    return list((await session.scalars(stmt)).all())


async def revoke(session: AsyncSession, principal: Principal, key_id: UUID) -> None:
    """Revoke one of the caller's keys. Revoking is a write: a read-only key may not do it (else
    a leaked read-only key could revoke its owner's read-write keys)."""
    require(principal, Permission.WRITE, role=None)
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != principal.user_id or row.revoked_at is not None:
        raise NotFound()
    row.revoked_at = utcnow()
    await session.flush()
