"""Login and refresh: email and password for a pair of JWTs, refresh token for a new pair.

Refresh tokens rotate: each is stored as a hash (`RefreshToken`), used once, and replaced by the
next of its family (one login). A used token presented again means two parties hold it (a thief
and its owner): the whole family is revoked, so both must log in again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import RefreshToken, User
from nuage.db.types import utcnow
from nuage.domain.errors import AuthenticationFailed
from nuage.services import security


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str
    access_expires: datetime


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    secret: str
    access_ttl: timedelta
    refresh_ttl: timedelta
    accepted: tuple[str, ...] = ()  # earlier signing keys, still accepted (security.py)


async def _pair(
    session: AsyncSession, user: User, policy: TokenPolicy, *, family_id: UUID
) -> TokenPair:
    """A new access token, and a new refresh token of the family, stored as its hash."""
    access, expires = security.issue_token(
        user.id, kind="access", ttl=policy.access_ttl, secret=policy.secret
    )
    row_id = uuid4()
    refresh, refresh_expires = security.issue_token(
        user.id,
        kind="refresh",
        ttl=policy.refresh_ttl,
        secret=policy.secret,
        extra={"jti": str(row_id), "fam": str(family_id)},
    )
    session.add(
        RefreshToken(
            id=row_id,
            user_id=user.id,
            family_id=family_id,
            token_hash=security.token_hash(refresh),
            expires_at=refresh_expires,
        )
    )
    await session.commit()
    return TokenPair(access, refresh, expires)


async def login(session: AsyncSession, email: str, password: str, policy: TokenPolicy) -> TokenPair:
    user = await session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if (
        user is None
        or not user.is_active
        or not security.verify_password(user.password_hash, password)
    ):
        raise AuthenticationFailed(
            "No active account found with the given credentials.", code="invalid_credentials"
        )
    return await _pair(session, user, policy, family_id=uuid4())


async def refresh(session: AsyncSession, token: str, policy: TokenPolicy) -> TokenPair:
    """Use the refresh token up and issue the next pair of its family. The use is one
    conditional UPDATE, so of two concurrent refreshes with one token only one wins; the other
    is a reuse."""
    claims = security.read_claims(
        token, kind="refresh", secret=policy.secret, accepted=policy.accepted
    )
    row = await session.get(RefreshToken, security.claim_uuid(claims, "jti"))
    if row is None or row.token_hash != security.token_hash(token):
        raise AuthenticationFailed("Token is invalid.", code="token_invalid")
    if row.revoked_at is not None:
        raise AuthenticationFailed("This refresh token has been revoked.", code="token_revoked")
    used = await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(session, row.family_id)
        raise AuthenticationFailed(
            "This refresh token was already used: every session of this login is revoked, "
            "log in again.",
            code="refresh_token_reused",
        )
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("User not found or inactive.", code="user_inactive")
    return await _pair(session, user, policy, family_id=row.family_id)


async def revoke_family(session: AsyncSession, family_id: UUID) -> None:
    """Revoke every token of a family, committed at once (the caller then refuses the request)."""
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()
