"""The step log of a running attempt, written with the transactions the attempt makes anyway.

A step a handler logs with nothing else to write (`ctx.step(name, message, progress)`) waits in
memory for the attempt's next transaction: a step that writes, or the attempt's end (completed,
failed, retried, given back), which logs it first, at the time it was logged. Two bounds keep
the log live and a cancel prompt, both `flush_seconds`:
- a step waits that long at most; then a transaction of its own writes it, so a handler busy in
  its driver shows its progress as before;
- a step is written at once, and a cancel requested meanwhile stops the task there, when the
  task's cancel flag was last read longer ago than that.
A worker killed mid-attempt loses the steps of its last `flush_seconds` at most (the attempt
that resumes the task logs its own).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from nuage.db.models import TaskEvent

log = logging.getLogger("nuage.worker")

# Writes entries in a transaction of their own; True if a cancel was requested.
Flush = Callable[[list[TaskEvent]], Awaitable[bool]]


class StepLog:
    def __init__(self, flush: Flush, *, flush_seconds: float, read_at: float) -> None:
        self._flush = flush
        self._flush_seconds = flush_seconds
        self._read_at = read_at  # the event loop's time the cancel flag was last read
        self._pending: list[TaskEvent] = []
        self._lock = asyncio.Lock()  # one write of the pending entries at a time, in order
        self._timer: asyncio.Task[None] | None = None  # the next flush, not yet begun
        self._flushes: set[asyncio.Task[None]] = set()

    def may_wait(self) -> bool:
        """Whether a step may wait: the cancel flag was read recently enough."""
        return asyncio.get_running_loop().time() - self._read_at < self._flush_seconds

    def wait(self, entry: TaskEvent) -> None:
        """Keep `entry` for the next transaction; one of its own after `flush_seconds`."""
        self._pending.append(entry)
        if self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())
            self._flushes.add(self._timer)
            self._timer.add_done_callback(self._flushes.discard)

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[list[TaskEvent]]:
        """The waiting entries, for the caller's transaction to log before its own; they are
        written once the block ends without error (else they wait on)."""
        async with self._lock:
            self._stop_timer()
            entries = list(self._pending)
            yield entries
            del self._pending[: len(entries)]

    def read(self) -> None:
        """The caller's transaction read the cancel flag (and found none)."""
        self._read_at = asyncio.get_running_loop().time()

    def close(self) -> None:
        """The attempt ended: no more flushes (one under way is cut short, rolled back)."""
        for flush in self._flushes:
            flush.cancel()
        self._timer = None

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_seconds)
        async with self._lock:
            self._timer = None  # a step logged while this one writes starts its own timer
            entries = list(self._pending)
            if not entries:
                return
            try:
                cancel = await self._flush(entries)
            except Exception:
                # Lost lease, lost database: the next step writes at once and meets it.
                log.debug("steps not written; the next step will try", exc_info=True)
                self._read_at = float("-inf")
                return
            del self._pending[: len(entries)]
            # A cancel is seen at the next step, which writes at once and stops there.
            self._read_at = float("-inf") if cancel else asyncio.get_running_loop().time()
