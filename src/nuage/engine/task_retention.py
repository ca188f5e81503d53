"""Task retention: finished tasks (completed, failed, cancelled) whose end is older than the
retention setting (`NUAGE_TASKS_RETENTION_SECONDS`; 0, the default, keeps them forever as the
seed's API does) are deleted with their step logs and console sessions. Every worker prunes a
few times per retention period and at most every five minutes, in batches of short
transactions; workers pruning side by side delete disjoint or already-deleted rows.

A pending or running task is never touched, however old: only a finished task has an end.
"""

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import ConsoleSession, InstanceTask, TaskEvent
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.tasks import TERMINAL
from nuage.engine.sweeps import interval, repeat

BATCH = 500
_FINISHED = sorted(s.value for s in TERMINAL)


async def prune_batch(session: AsyncSession, *, before: datetime, batch: int = BATCH) -> int:
    """Delete up to `batch` tasks that finished before `before`, and what hangs off them; how
    many tasks went."""
    ids = list(
        await session.scalars(
            sa.select(InstanceTask.id)
            .where(InstanceTask.status.in_(_FINISHED), InstanceTask.completed_at < before)
            .order_by(InstanceTask.completed_at)
            .limit(batch)
        )
    )
    if not ids:
        return 0
    await session.execute(sa.delete(TaskEvent).where(TaskEvent.task_id.in_(ids)))
    await session.execute(sa.delete(ConsoleSession).where(ConsoleSession.task_id.in_(ids)))
    # The status is checked again: a finished task never moves, but the guard costs nothing.
    done = await session.execute(
        sa.delete(InstanceTask).where(InstanceTask.id.in_(ids), InstanceTask.status.in_(_FINISHED))
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def prune(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, retention: timedelta
) -> int:
    """Every task past the retention, one batch per transaction; how many went."""
    removed = 0
    while True:
        async with transaction(sessions) as session:
            batch = await prune_batch(session, before=now - retention)
        removed += batch
        if batch < BATCH:
            return removed


async def prune_every(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, retention_seconds: float
) -> None:
    """Prune now, then every `interval(retention_seconds)`, until `stop` is set."""
    retention = timedelta(seconds=retention_seconds)

    async def prune_now() -> int:
        return await prune(sessions, now=utcnow(), retention=retention)

    await repeat(stop, interval(retention_seconds), prune_now, "task")
