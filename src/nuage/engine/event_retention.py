"""Event retention: every worker prunes the outbox's events older than the retention setting
(`NUAGE_EVENTS_RETENTION_SECONDS`), a few times per retention period and at most every five
minutes. Workers pruning side by side delete the same rows: the second finds none."""

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.errors import DatabaseUnavailable
from nuage.services import events

log = logging.getLogger(__name__)
MAX_INTERVAL_SECONDS = 300.0
MIN_INTERVAL_SECONDS = 0.5


def interval(retention_seconds: float) -> float:
    return min(max(retention_seconds / 4, MIN_INTERVAL_SECONDS), MAX_INTERVAL_SECONDS)


async def prune_every(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, retention_seconds: float
) -> None:
    """Prune now, then every `interval(retention_seconds)`, until `stop` is set."""
    retention = timedelta(seconds=retention_seconds)
    while not stop.is_set():
        try:
            async with transaction(sessions) as session:
                removed = await events.prune(session, now=utcnow(), retention=retention)
            if removed:
                log.info("event retention removed %d event(s)", removed)
        except DatabaseUnavailable:
            log.warning("database unavailable; event retention skipped")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval(retention_seconds))
