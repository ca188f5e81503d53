"""Event retention: every worker prunes the outbox's events older than the retention setting
(`NUAGE_EVENTS_RETENTION_SECONDS`), a few times per retention period and at most every five
minutes. Workers pruning side by side delete the same rows: the second finds none."""

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine.sweeps import interval, repeat
from nuage.services import events


async def prune_every(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, retention_seconds: float
) -> None:
    """Prune now, then every `interval(retention_seconds)`, until `stop` is set."""
    retention = timedelta(seconds=retention_seconds)

    async def prune() -> int:
        async with transaction(sessions) as session:
            return await events.prune(session, now=utcnow(), retention=retention)

    await repeat(stop, interval(retention_seconds), prune, "event")
