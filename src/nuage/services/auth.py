"""Login and refresh: email and password for a pair of JWTs, refresh token for a new pair."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import User
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


def _pair(user: User, policy: TokenPolicy) -> TokenPair:
    access, expires = security.issue_token(
        user.id, kind="access", ttl=policy.access_ttl, secret=policy.secret
    )
    refresh, _ = security.issue_token(
        user.id, kind="refresh", ttl=policy.refresh_ttl, secret=policy.secret
    )
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
    return _pair(user, policy)


async def refresh(session: AsyncSession, token: str, policy: TokenPolicy) -> TokenPair:
    user_id = security.read_token(token, kind="refresh", secret=policy.secret)
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("User not found or inactive.", code="user_inactive")
    return _pair(user, policy)
