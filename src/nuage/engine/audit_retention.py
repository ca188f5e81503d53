"""Audit-log retention: every worker deletes the audit rows older than `audit_retention_days`
(`services.audit.prune`), a few times a day at most every five minutes. Workers pruning side by
side delete the same rows: the second finds none."""

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine.sweeps import interval, repeat
from nuage.services import audit


async def prune_every(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, retention_days: int
) -> None:
    retention = timedelta(days=retention_days)

    async def prune() -> int:
        async with transaction(sessions) as session:
            return await audit.prune(session, older_than=utcnow() - retention)

    await repeat(stop, interval(retention.total_seconds()), prune, "audit log")
