"""The worker: claims due tasks, runs them under a heartbeat-renewed lease, and reaps tasks whose
worker died. Many workers (in one process or many) may share one database."""

import asyncio
import contextlib
import dataclasses
import logging
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.errors import is_unavailable
from nuage.db.models import TaskEvent
from nuage.db.notify import QUEUE, LocalNotifier
from nuage.db.observed import publish_after_commit
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.catalogue import TaskSpec
from nuage.domain.console import ConsoleOptions
from nuage.domain.enums import TaskStatus, TaskType
from nuage.domain.errors import (
    DatabaseUnavailable,
    PermanentError,
    TaskCancelled,
    TaskError,
)
from nuage.domain.observers import TaskTransition
from nuage.domain.retry import BackoffPolicy
from nuage.drivers.base import Driver
from nuage.engine import (
    audit_retention,
    cancelled,
    drift,
    event_retention,
    outcomes,
    queries,
    retention,
    task_retention,
)
from nuage.engine.claimed_rows import ClaimedRow
from nuage.engine.context import TaskContext, WorkerStopping
from nuage.engine.handlers import handler_for
from nuage.engine.hosts import Drivers
from nuage.engine.records import InstanceUpdate, TaskRecord
from nuage.engine.start import Start
from nuage.engine.webhook_sender import SenderSettings, WebhookSender, webhook_events_source

log = logging.getLogger("nuage.worker")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = 4
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    backup_retention: int = 7  # backups kept per instance (engine.retention)
    console: ConsoleOptions = field(default_factory=ConsoleOptions)
    drift_sweep_seconds: float = 0.0  # 0: this worker never sweeps for drift (engine.drift)
    events_retention_seconds: float = 7 * 86400.0  # (engine.event_retention)
    tasks_retention_seconds: float = 0.0  # 0: finished tasks are kept (engine.task_retention)
    audit_retention_days: int = 0  # 0: the audit log is kept (engine.audit_retention)
    stop_grace_seconds: float = 10.0  # a stop waits this long for tasks to reach a safe step
    # A step with nothing else to write waits this long at most for the attempt's next
    # transaction, and is written at once if the cancel flag is older (engine.step_log).
    step_flush_seconds: float = 0.2
    webhooks: SenderSettings | None = None  # None: this worker sends no webhooks

    def __post_init__(self) -> None:
        if self.backup_retention < 1:
            raise ValueError(f"backup_retention must be at least 1: {self}")


def released(record: TaskRecord) -> TaskTransition:
    return TaskTransition(
        record.id, record.task_type.value, TaskStatus.RUNNING, TaskStatus.PENDING, "released"
    )


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        driver: Driver | Drivers,
        notifier: LocalNotifier,
        settings: WorkerSettings,
        *,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.drivers = driver if isinstance(driver, Drivers) else Drivers.single(driver)
        self.notifier = notifier
        self.settings = settings
        self.id = worker_id or new_worker_id()
        self._rng = rng or random.Random()
        self._running: dict[asyncio.Task[None], UUID] = {}
        self._starts: dict[UUID, Start] = {}  # claimed, not yet executed
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._stopping = asyncio.Event()
        self._next_reap = 0.0  # the event loop's time of the next reap

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then stop gracefully: claim nothing more, and let each
        running task finish or reach its next safe step (`ctx.step`), where it goes back to the
        queue, due at once, for another worker. Those still running after `stop_grace_seconds`
        are cancelled and given back the same way."""
        log.info("worker %s started", self.id)
        sweepers = [
            asyncio.create_task(
                event_retention.prune_every(
                    self.sessions, stop, self.settings.events_retention_seconds
                )
            )
        ]
        if self.settings.tasks_retention_seconds > 0:
            retention = self.settings.tasks_retention_seconds
            sweepers.append(
                asyncio.create_task(task_retention.prune_every(self.sessions, stop, retention))
            )
        if self.settings.audit_retention_days > 0:
            days = self.settings.audit_retention_days
            sweepers.append(
                asyncio.create_task(audit_retention.prune_every(self.sessions, stop, days))
            )
        if self.settings.drift_sweep_seconds > 0:
            sweepers.append(asyncio.create_task(self._sweep_for_drift(stop)))
        if self.settings.webhooks is not None:
            sweepers.append(asyncio.create_task(self._webhook_sender().run(stop)))
        try:
            while not stop.is_set():
                await self._tick(stop)
            await self._drain()
        finally:
            for task in [*self._running, *sweepers]:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            await asyncio.gather(*sweepers, return_exceptions=True)
            log.info("worker %s stopped", self.id)

    async def _drain(self) -> None:
        self._stopping.set()
        if self._running:
            log.info("worker %s stopping: %d task(s) to settle", self.id, len(self._running))
            await asyncio.wait(list(self._running), timeout=self.settings.stop_grace_seconds)

    def _webhook_sender(self) -> WebhookSender:
        """Webhook deliveries on their own loop: a slow endpoint never holds a task slot."""
        assert self.settings.webhooks is not None
        return WebhookSender(
            self.sessions,
            self.notifier,
            self.settings.webhooks,
            sender_id=self.id,
            source=webhook_events_source(),
        )

    async def _sweep_for_drift(self, stop: asyncio.Event) -> None:
        """Every `drift_sweep_seconds`, queue a sync for each instance whose machine drifted."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.drift_sweep_seconds)
                return
            try:
                queued = await drift.sweep(self.sessions, self.drivers)
            except DatabaseUnavailable:
                log.warning("database unavailable; drift sweep skipped")
                continue
            if queued:
                log.info("drift sweep queued sync_vps_state for %d instance(s)", len(queued))

    async def _tick(self, stop: asyncio.Event) -> None:
        wake = self.notifier.subscribe(QUEUE)
        try:
            await self._reap_when_due()
            if len(self._running) >= self.settings.concurrency:
                # Full: nothing to claim until a slot frees, however often the queue wakes us.
                await self._until(stop, *self._running, seconds=self._until_reap())
                return
            claimed = await self._fill_slots()
            if claimed:
                return
            waker = asyncio.ensure_future(wake.wait())
            try:
                await self._until(stop, waker, seconds=await self._idle_timeout())
            finally:
                waker.cancel()
        except DatabaseUnavailable:
            log.warning("database unavailable; worker %s backs off", self.id)
            await asyncio.sleep(self.settings.poll_seconds)
        finally:
            self.notifier.unsubscribe(QUEUE, wake)

    @staticmethod
    async def _until(stop: asyncio.Event, *events: asyncio.Future[Any], seconds: float) -> None:
        """Wait for `stop`, or the first of `events` to end, or `seconds`."""
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                {stopper, *events}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopper.cancel()

    def _until_reap(self) -> float:
        return max(0.0, self._next_reap - asyncio.get_running_loop().time())

    async def _reap_when_due(self) -> None:
        """Reap once a poll interval, not on every wake-up: an expired lease is then taken over
        at most a poll interval late, and a busy queue does not read the running tasks for each
        task that ends."""
        if self._until_reap() == 0:
            await self.reap()
            self._next_reap = asyncio.get_running_loop().time() + self.settings.poll_seconds

    async def _fill_slots(self) -> int:
        """Claim the free slots' tasks in one transaction, and run them."""
        records = await self.claim_many(self.settings.concurrency - len(self._running))
        for record in records:
            runner = asyncio.create_task(self.execute(record))
            self._running[runner] = record.id
            runner.add_done_callback(self._running.pop)
        return len(records)

    async def _idle_timeout(self) -> float:
        async with transaction(self.sessions) as session:
            due = await queries.next_due(session, self._running.values())
        timeout = self.settings.poll_seconds
        if due is not None:
            timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()))
        return max(timeout, 0.005)

    async def claim(self) -> TaskRecord | None:
        """Claim the next due task and start its attempt (`claim_many`, one task)."""
        records = await self.claim_many(1)
        return records[0] if records else None

    async def claim_many(self, limit: int) -> list[TaskRecord]:
        """Claim up to `limit` due tasks, read what their handlers need and start their attempts
        (each instance's mark and `started` step, `engine.start`), in one transaction."""
        starts: dict[UUID, Start] = {}

        def start(row: ClaimedRow) -> TaskEvent | None:
            starts[row.id] = Start.of(row)
            return starts[row.id].started_step()

        async with transaction(self.sessions) as session:
            # Read the clock once the transaction has begun (on SQLite: holds the write lock), so
            # `started_at` is never earlier than the `completed_at` of the task it waited for.
            await session.connection()
            claimed = await queries.claim(
                session, self.id, utcnow(), self._lease, limit=limit, start=start,
                begun=lambda task_id: starts[task_id].write(session),
                running=self._running.values(),
            )  # fmt: skip
        read_at = asyncio.get_running_loop().time()
        for task_id in claimed:
            self._starts[task_id] = dataclasses.replace(starts[task_id], read_at=read_at)
        return [self._starts[task_id].record for task_id in claimed]

    async def reap(self) -> int:
        """Take over the tasks whose lease expired, except those this worker is running: a
        heartbeat that came late on a busy loop does not mean they died."""
        async with transaction(self.sessions) as session:
            return len(await queries.reap(session, utcnow(), self._running.values()))

    async def execute(self, record: TaskRecord) -> None:
        """Run one claimed task to the end of its attempt."""
        task_id = record.id
        start = self._starts.pop(task_id)
        ctx = TaskContext(
            record,
            drivers=self.drivers,
            sessions=self.sessions,
            worker=self.id,
            console=self.settings.console,
            stopping=self._stopping,
            flush_seconds=self.settings.step_flush_seconds,
            read_at=start.read_at,
        )
        runner = asyncio.current_task()
        assert runner is not None
        heartbeat = asyncio.create_task(self._heartbeat(record, runner))
        try:
            await self._attempt(ctx, start)
        except queries.LeaseLost:
            log.warning("task %s: lease lost; another worker owns it", task_id)
        except WorkerStopping:
            await self._release(ctx)
            log.info("task %s: released at a safe step; the worker is stopping", task_id)
        except asyncio.CancelledError:
            if not heartbeat.done():  # stopping, not a lost lease: give the task back
                await self._release(ctx)
            raise
        except Exception as error:
            if not is_unavailable(error) and not isinstance(error, DatabaseUnavailable):
                raise
            log.warning("task %s: database lost; the lease will expire and be taken over", task_id)
        finally:
            heartbeat.cancel()
            ctx.steps.close()

    async def _release(self, ctx: TaskContext) -> None:
        """Give the task back to the queue. A cancel arriving meanwhile (the grace ran out while
        a task stopping at its safe step was being given back) waits for the write to end: cut
        short, it would leave the task running until its lease expired."""
        giving_back = asyncio.ensure_future(self._give_back(ctx))
        try:
            await asyncio.shield(giving_back)
        except asyncio.CancelledError:
            await giving_back
            raise

    async def _give_back(self, ctx: TaskContext) -> None:
        record = ctx.record
        with contextlib.suppress(Exception):
            async with ctx.steps.writing() as steps, transaction(self.sessions) as session:
                if await queries.release(session, record.id, self.id, utcnow(), steps):
                    publish_after_commit(session, released(record))

    async def _attempt(self, ctx: TaskContext, start: Start) -> None:
        record, spec = ctx.record, start.spec
        try:
            start.check()
            outcome = await handler_for(record.task_type)(ctx)
            outcomes.success_values(record, spec, outcome)  # an illegal status move fails it
        except TaskError as error:
            if error.retryable and await self._cancel_requested(record):
                error = TaskCancelled(
                    f"Cancelled after a failed attempt ({error.code}: {error.message})"
                )
            settled = (
                await cancelled.settle(ctx, spec) if isinstance(error, TaskCancelled) else None
            )
            await self._fail(ctx, spec, error, settled)
            return
        except (queries.LeaseLost, asyncio.CancelledError, DatabaseUnavailable, WorkerStopping):
            raise
        except Exception as error:
            if is_unavailable(error):
                raise
            log.exception("task %s: unexpected error", record.id)
            internal = PermanentError(
                f"Internal error ({type(error).__name__}); the operators were told.",
                code="internal_error",
            )
            await self._fail(ctx, spec, internal)
            return
        async with ctx.steps.writing() as steps, transaction(self.sessions) as session:
            done = await outcomes.complete(
                session, record, spec, self.id, outcome, utcnow(), steps=steps
            )
            if done and record.task_type is TaskType.CREATE_BACKUP:
                await retention.expire_backups(session, record, keep=self.settings.backup_retention)

    async def _cancel_requested(self, record: TaskRecord) -> bool:
        async with transaction(self.sessions) as session:
            return await queries.cancel_requested(session, record.id)

    async def _fail(
        self,
        ctx: TaskContext,
        spec: TaskSpec,
        error: TaskError,
        settled: InstanceUpdate | None = None,
    ) -> None:
        async with ctx.steps.writing() as steps, transaction(self.sessions) as session:
            await outcomes.fail(
                session, ctx.record, spec, self.id, error, settled,
                now=utcnow(), policy=self.settings.backoff, rng=self._rng, steps=steps,
            )  # fmt: skip

    async def _heartbeat(self, record: TaskRecord, runner: asyncio.Task[None]) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                async with transaction(self.sessions) as session:
                    owned = await queries.renew_lease(
                        session, record.id, self.id, utcnow() + self._lease
                    )
            except DatabaseUnavailable:
                continue
            if not owned:
                runner.cancel()
                return
