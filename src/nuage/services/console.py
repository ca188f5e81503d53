"""Console sessions (domain/console.py): made by a `get_vnc_url` task, shown to the instance's
project, and claimed once by the WebSocket bridge."""

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import ConsoleSession
from nuage.domain.console import (
    ConsoleOptions,
    new_token,
    token_hash,
    token_matches,
)
from nuage.domain.errors import ConsoleTokenRefused, NotFound
from nuage.services import instances
from nuage.services.access import ProjectAccess


def new_session(
    *,
    instance_id: UUID,
    task_id: UUID,
    address: tuple[str, int],
    options: ConsoleOptions,
    now: datetime,
) -> tuple[ConsoleSession, str]:
    """A session to the display at `address`, valid for the TTL from `now`, and its token (the
    row keeps only the token's hash). Not added to any session: the task's completion inserts
    it (engine.records.Outcome.rows)."""
    token = new_token()
    host, port = address
    row = ConsoleSession(
        id=uuid4(),
        instance_id=instance_id,
        task_id=task_id,
        token_hash=token_hash(token),
        host=host,
        port=port,
        expires_at=options.expiry(now),
        used_at=None,
        created=now,
    )
    return row, token


async def get_session(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, session_id: UUID
) -> ConsoleSession:
    """The instance's session; NotFound alike for a missing one and another instance's or
    tenant's (the instance is looked up with the caller's access first)."""
    await instances.get_instance(session, access, instance_id)
    found = await session.scalar(
        sa.select(ConsoleSession).where(
            ConsoleSession.id == session_id, ConsoleSession.instance_id == instance_id
        )
    )
    if found is None:
        raise NotFound()
    return found


async def claim(
    session: AsyncSession, session_id: UUID, token: str, now: datetime
) -> tuple[str, int]:
    """Use the session's token, once: the display's address if `token` is the session's, it was
    never used and has not expired; else ConsoleTokenRefused, the same for every reason (an
    unknown session included), so a wrong guess learns nothing. Commits the use before the
    caller connects, so two clients racing with one token cannot both get through."""
    row = await session.get(ConsoleSession, session_id)
    if row is None or not token_matches(token, row.token_hash):
        raise ConsoleTokenRefused()
    used = await session.execute(
        sa.update(ConsoleSession)
        .where(
            ConsoleSession.id == session_id,
            ConsoleSession.used_at.is_(None),
            ConsoleSession.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise ConsoleTokenRefused()
    await session.commit()
    return row.host, row.port
