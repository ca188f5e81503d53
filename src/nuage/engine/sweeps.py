"""The loop every retention job of a worker runs: prune now, then again every interval, until
the worker stops; a database outage skips a round instead of ending the loop."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nuage.domain.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
MAX_INTERVAL_SECONDS = 300.0
MIN_INTERVAL_SECONDS = 0.5


def interval(retention_seconds: float) -> float:
    """A few rounds per retention period, at most every five minutes."""
    return min(max(retention_seconds / 4, MIN_INTERVAL_SECONDS), MAX_INTERVAL_SECONDS)


async def repeat(
    stop: asyncio.Event, every_seconds: float, prune: Callable[[], Awaitable[int]], what: str
) -> None:
    """Run `prune` (it returns how many rows went) now and every `every_seconds`."""
    while not stop.is_set():
        try:
            removed = await prune()
            if removed:
                log.info("%s retention removed %d row(s)", what, removed)
        except DatabaseUnavailable:
            log.warning("database unavailable; %s retention skipped", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
