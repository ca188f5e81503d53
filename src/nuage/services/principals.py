"""Who is calling: a Bearer token (JWT access token or API key) becomes a Principal."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import ApiKey, User
from nuage.db.types import utcnow
from nuage.domain.enums import Scope
from nuage.domain.errors import AuthenticationFailed
from nuage.services import security

ALL_SCOPES = frozenset(Scope)
USER_SCOPES = ALL_SCOPES - {Scope.ADMIN}  # what an access token holds, unless its user is staff
# `last_used` is written at most once per key per this long (reads do not write otherwise).
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    scopes: frozenset[Scope]
    api_key_id: UUID | None = None
    is_staff: bool = False  # an operator (the admin API, staff-only task types)
    project_id: UUID | None = None  # a project token: confined to this project

    @property
    def project_token(self) -> bool:
        return self.project_id is not None

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes


def key_scopes(stored: list[str]) -> frozenset[Scope]:
    """A key's stored scopes that this version knows."""
    return frozenset(Scope(s) for s in stored if s in Scope.__members__.values())


async def authenticate(
    session: AsyncSession,
    authorization: str | None,
    *,
    secret: str,
    accepted: tuple[str, ...] = (),
) -> Principal:
    """Resolve an `Authorization: Bearer …` header; revoked or expired keys fail at once."""
    if not authorization:
        raise AuthenticationFailed(
            "Authentication credentials were not provided.", code="not_authenticated"
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed("Use an `Authorization: Bearer <token>` header.")
    if token.startswith(security.API_KEY_PREFIX):
        principal = await _from_api_key(session, token)
    else:
        principal = await _from_jwt(session, token, secret, accepted)
    if session.dirty:  # a key's `last_used`: kept even if the request is then refused
        await session.commit()
    return principal


async def _from_jwt(
    session: AsyncSession, token: str, secret: str, accepted: tuple[str, ...]
) -> Principal:
    user_id = security.read_token(token, kind="access", secret=secret, accepted=accepted)
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("User not found or inactive.", code="user_inactive")
    scopes = ALL_SCOPES if user.is_staff else USER_SCOPES
    _keep_caller(session, user)
    return Principal(user_id=user.id, scopes=scopes, is_staff=user.is_staff)


async def _from_api_key(session: AsyncSession, token: str) -> Principal:
    found = (
        await session.execute(
            sa.select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == security.api_key_lookup(token))
        )
    ).first()
    now = utcnow()
    if found is None:
        raise AuthenticationFailed("Invalid API key.", code="api_key_invalid")
    row, user = found
    refused = key_refusal(
        token,
        key_hash=row.key_hash,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        user_active=user.is_active,
        now=now,
    )
    if refused is not None:
        raise refused
    if last_used_due(row.last_used, now):
        row.last_used = now
    _keep_caller(session, user)
    return Principal(
        user_id=user.id,
        scopes=key_scopes(row.scopes),
        api_key_id=row.id,
        is_staff=user.is_staff,
        project_id=row.project_id,
    )


def key_refusal(
    token: str,
    *,
    key_hash: str,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    user_active: bool,
    now: datetime,
) -> AuthenticationFailed | None:
    """Why the key found by `token`'s lookup prefix does not authenticate it, or None."""
    if not security.api_key_matches(token, key_hash):
        return AuthenticationFailed("Invalid API key.", code="api_key_invalid")
    if revoked_at is not None:
        return AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
    if expires_at is not None and expires_at <= now:
        return AuthenticationFailed("This API key has expired.", code="api_key_expired")
    if not user_active:
        return AuthenticationFailed("User not found or inactive.", code="user_inactive")
    return None


def last_used_due(last_used: datetime | None, now: datetime) -> bool:
    """Whether a request at `now` records the key's `last_used` (once per resolution)."""
    return last_used is None or now - last_used >= LAST_USED_RESOLUTION


def _keep_caller(session: AsyncSession, user: User) -> None:
    """Hold the caller's user row for the session's life: the identity map holds rows weakly,
    and a write that shows its creator (a task's `created_by`) then finds it without a query."""
    session.info[_CALLER] = user


_CALLER = "nuage.caller"
