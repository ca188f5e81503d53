"""API keys and project tokens: shown once at creation, stored as a hash, revoked at once.

A project token is an API key confined to one project (`project_id`): it can do there what its
scopes and its user's role allow, and nothing outside it (domain/permissions.py)."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import ApiKey, Membership, Project
from nuage.db.types import utcnow
from nuage.domain.enums import Scope
from nuage.domain.errors import NotFound, PermissionDenied, ValidationFailed
from nuage.domain.permissions import Permission, scopes_refusal
from nuage.services import security
from nuage.services.access import project_access, require
from nuage.services.principals import Principal


async def create(
    session: AsyncSession,
    user_id: UUID,
    *,
    name: str,
    scopes: Iterable[Scope],
    expires_at: datetime | None = None,
    project_id: UUID | None = None,
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
    if project_id is not None:  # else left out of the INSERT (a database at 0006 has no column)
        row.project_id = project_id
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
    project_id: UUID | None = None,
) -> tuple[str, ApiKey]:
    """A key for the caller, or a project token of a project the caller sees; a key can only
    mint keys with scopes it has itself, and only operators hold `admin`."""
    require(principal, Permission.ACCOUNT, role=None)
    wanted = frozenset(Scope(s) for s in scopes)
    if reason := scopes_refusal(wanted, held=principal.scopes, staff=principal.is_staff):
        raise PermissionDenied(reason)
    if project_id is not None:
        if Scope.ADMIN in wanted:
            raise ValidationFailed.on("scopes", "A project token cannot hold the `admin` scope.")
        await _readable_project(session, principal, project_id)
    return await create(
        session,
        principal.user_id,
        name=name,
        scopes=wanted,
        expires_at=expires_at,
        project_id=project_id,
    )


async def _readable_project(session: AsyncSession, principal: Principal, project_id: UUID) -> None:
    """A project the caller may read, or the 400 DRF gives for a missing one in a body."""
    org_id = await session.scalar(
        sa.select(Project.organization_id)
        .join(Membership, Membership.organization_id == Project.organization_id)
        .where(Project.id == project_id, Membership.user_id == principal.user_id)
    )
    try:
        if org_id is None:
            raise NotFound()
        await project_access(session, principal, org_id, project_id, write=False)
    except NotFound as error:
        message = f'Invalid pk "{project_id}" - object does not exist.'
        raise ValidationFailed.on("project_id", message) from error


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    require(principal, Permission.ACCOUNT, role=None)
    stmt = (
        sa.select(ApiKey)
        .where(ApiKey.user_id == principal.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created)
    )
    return list((await session.scalars(stmt)).all())


async def revoke(session: AsyncSession, principal: Principal, key_id: UUID) -> None:
    """Revoke one of the caller's keys. Revoking is a write: a read-only key may not do it (else
    a leaked read-only key could revoke its owner's read-write keys)."""
    require(principal, Permission.ACCOUNT, role=None)
    require(principal, Permission.WRITE, role=None)
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != principal.user_id or row.revoked_at is not None:
        raise NotFound()
    row.revoked_at = utcnow()
    await session.flush()
