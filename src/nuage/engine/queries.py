"""The engine's named statements: claim, heartbeat, step, finish, reschedule, reap.

Every write that ends an attempt is guarded by `lease_owner = :worker AND status = 'running'`:
a worker whose lease was taken over can no longer change the task, so a task completes once.
"""

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import driver_sql, outbox
from nuage.db.models import TaskEvent
from nuage.db.notify import QUEUE, notify_after_commit, task_channel
from nuage.db.observed import publish_after_commit
from nuage.db.types import utcnow
from nuage.domain.enums import TaskStatus
from nuage.domain.observers import TaskTransition
from nuage.engine import finish_statements, instance_rows, shown_rows, step_rows
from nuage.engine.claim_statements import (
    NOT_BLOCKED,
    NOT_MINE,
    RUNNING,
    T,
    claim_candidate,
    may_become,
    start_statement,
)
from nuage.engine.claimed_rows import ClaimedRow
from nuage.engine.instance_rows import InstanceWrite

_PENDING = TaskStatus.PENDING.value


class LeaseLost(Exception):
    """This worker no longer holds the task: its lease expired and another worker took it."""


def _held(task_id: UUID, worker: str) -> sa.ColumnElement[bool]:
    """This worker still holds the running task's lease."""
    return sa.and_(T.c.id == task_id, T.c.lease_owner == worker, T.c.status == RUNNING)


def _owned(task_id: UUID, worker: str, target: TaskStatus) -> sa.ColumnElement[bool]:
    """This worker holds the lease and the task may move to `target`."""
    return sa.and_(T.c.id == task_id, T.c.lease_owner == worker, may_become(target))


async def claim_next(
    session: AsyncSession,
    worker: str,
    now: datetime,
    lease: timedelta,
    *,
    start: Callable[[ClaimedRow], TaskEvent | None] | None = None,
) -> UUID | None:
    """Take the oldest due pending task that heads its instance's queue (`claim`, one task)."""
    claimed = await claim(session, worker, now, lease, limit=1, start=start)
    return claimed[0] if claimed else None


async def claim(
    session: AsyncSession,
    worker: str,
    now: datetime,
    lease: timedelta,
    *,
    limit: int,
    start: Callable[[ClaimedRow], TaskEvent | None] | None = None,
    begun: Callable[[UUID], Awaitable[None]] | None = None,
    running: Collection[UUID] = (),
) -> list[UUID]:
    """Take up to `limit` of the oldest due pending tasks that head their instance's queue (no
    earlier active task), oldest first.

    Strict per-instance FIFO: a task waits while any earlier task of its instance is pending
    (even in backoff) or running. On PostgreSQL, SKIP LOCKED lets workers claim side by side.

    With `start` (the worker's), the candidates are read with what their records need
    (`engine.claimed_rows`), as they are before the claim, and `start(row)` is the `started`
    step of the attempt the claim begins (None: the task cannot start): the claim sets the
    task's progress to the step's and logs the step; `begun(task_id)`, for each task claimed,
    writes what else its start writes (the worker's `engine.start`), before the outbox is told
    of the steps: a claim's events are `task.started`, the instance's, then the steps'. None of
    `running`, the tasks the caller still runs (`claim_statements.NOT_MINE`).
    """
    dialect = session.get_bind().dialect
    postgresql = dialect.name == "postgresql"
    stmt = claim_candidate(postgresql=postgresql, whole=start is not None)
    params = {"now": now, "limit": limit, "running": list(running)}
    if postgresql:
        rows = await driver_sql.rows(session, driver_sql.plan_of(stmt, dialect), params)
    else:
        rows = list((await session.execute(stmt, params)).all())
    if not rows:
        return []
    by_progress: dict[int | None, list[TaskEvent | UUID]] = {}
    for row in rows:
        step = start(row) if start is not None else None
        progress = None if step is None else step.progress
        by_progress.setdefault(progress, []).append(row.id if step is None else step)
    # Read the clock again once the rows are ours: the task one waited for committed its
    # completed_at before our select could see it, so started_at never precedes it.
    started = max(now, utcnow())
    claimed: set[UUID] = set()
    logged: list[tuple[list[TaskEvent], list[int]]] = []
    for progress, group in by_progress.items():
        steps = [s for s in group if isinstance(s, TaskEvent)]
        ids = [s.task_id if isinstance(s, TaskEvent) else s for s in group]
        done, step_ids = await _start_running(
            session, ids, worker, started + lease, started, progress, steps,
            postgresql=postgresql,
        )  # fmt: skip
        claimed |= done
        logged.append(([s for s in steps if s.task_id in done], step_ids))
    for row in (r for r in rows if r.id in claimed):
        notify_after_commit(session, task_channel(row.id))
        outbox.task_started(session, row.id)
        waited = max(0.0, (started - row.run_after).total_seconds())
        transition = TaskTransition(row.id, row.task_type, _PENDING, RUNNING, waited_seconds=waited)
        publish_after_commit(session, transition)
    if begun is not None:
        for row in (r for r in rows if r.id in claimed):
            await begun(row.id)
    for steps, step_ids in logged:
        if postgresql:
            step_rows.logged(session, steps, step_ids)
        else:
            await step_rows.log(session, steps)
    return [r.id for r in rows if r.id in claimed]


async def _start_running(
    session: AsyncSession,
    ids: list[UUID],
    worker: str,
    lease_expires_at: datetime,
    started: datetime,
    progress: int | None,
    steps: list[TaskEvent],
    *,
    postgresql: bool,
) -> tuple[set[UUID], list[int]]:
    """Mark the candidates `ids` running under `worker`'s lease, unless another task of their
    instance became active after the candidates were read (`claim_candidate`): those it
    marked, and on PostgreSQL the ids of their `started` `steps`, logged by the same statement,
    which the caller tells the outbox of."""
    single = len(ids) == 1
    params: dict[str, Any] = {"worker": worker, "until": lease_expires_at, "started": started}
    params |= {"task": ids[0]} if single else {"tasks": ids}
    if progress is not None:
        params["start_progress"] = progress
    logging = bool(steps) and postgresql
    stmt = start_statement(
        single=single, progress=progress is not None, logging=logging, postgresql=postgresql
    )
    if not postgresql:
        return set((await session.execute(stmt, params)).scalars()), []
    if logging:
        params["steps"] = step_rows.param(steps)
    plan = driver_sql.plan_of(stmt, session.get_bind().dialect)
    rows = await driver_sql.rows(session, plan, params)
    shown = [shown_rows.shown_task(row) for row in rows]
    for task in shown:  # as its `task.started` event shows it: nothing later changes it
        outbox.task_shown(session, task)
    step_ids = list(rows[0].step_ids) if rows and logging else []
    return {task.id for task in shown}, step_ids


async def cancel_requested(session: AsyncSession, task_id: UUID) -> bool:
    return bool(await session.scalar(sa.select(T.c.cancel_requested).where(T.c.id == task_id)))


async def renew_lease(session: AsyncSession, task_id: UUID, worker: str, until: datetime) -> bool:
    """Heartbeat: push the lease forward; False if the lease is no longer ours."""
    renewed = await session.execute(
        sa.update(T).where(_held(task_id, worker)).values(lease_expires_at=until)
    )
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


async def record_step(
    session: AsyncSession,
    task_id: UUID,
    worker: str,
    *,
    step: str,
    message: str,
    progress: int | None,
    attempt: int,
) -> bool:
    """Log a step (and progress) of the running attempt; returns whether a cancel was requested."""
    entry = TaskEvent(
        task_id=task_id, step=step, message=message, progress=progress, attempt=attempt
    )
    return await record_steps(session, task_id, worker, [entry])


async def record_steps(
    session: AsyncSession, task_id: UUID, worker: str, entries: Sequence[TaskEvent]
) -> bool:
    """Log steps of the running attempt, in order, and the last progress among them; returns
    whether a cancel was requested."""
    values = _progress_of(entries)
    values["lease_owner"] = worker
    done = await session.execute(
        sa.update(T).where(_held(task_id, worker)).values(**values).returning(T.c.cancel_requested)
    )
    cancel_requested = done.scalar()
    if cancel_requested is None:
        raise LeaseLost(str(task_id))
    await step_rows.log(session, entries)
    notify_after_commit(session, task_channel(task_id))
    return bool(cancel_requested)


def _progress_of(entries: Sequence[TaskEvent]) -> dict[str, Any]:
    """The task's progress after `entries`: the last one that has one (none: as it is)."""
    progress = [e.progress for e in entries if e.progress is not None]
    return {"progress": progress[-1]} if progress else {}


async def finish(
    session: AsyncSession,
    task_id: UUID,
    worker: str,
    *,
    status: TaskStatus,
    now: datetime,
    result: Any,
    error: dict[str, Any] | None,
    event: TaskEvent,
    steps: Sequence[TaskEvent] = (),
    instance: InstanceWrite | None = None,
) -> bool:
    """End the attempt for good (completed, failed or cancelled), its unwritten `steps` logged
    first, and `instance` written with it. False if the lease was lost (then nothing is)."""
    progress = 100 if status is TaskStatus.COMPLETED else _progress_of(steps).get("progress")
    dialect = session.get_bind().dialect
    postgresql = dialect.name == "postgresql"
    params = {"task": task_id, "worker": worker, "result": result, "error": error, "now": now}
    params["modified"] = utcnow()
    if progress is not None:
        params["progress"] = progress
    entries = [*steps, event]
    if not postgresql:
        update = finish_statements.finish_statement(status, progress is not None)
        done = await session.execute(update, params)
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await step_rows.log(session, entries)
        if instance is not None:
            await instance_rows.write(session, instance)
    else:
        keys, forget = (instance.keys, instance.forget_snapshots) if instance else ((), False)
        statement = finish_statements.finishing(status, progress is not None, keys, forget)
        params["steps"] = step_rows.param(entries)
        if instance is not None:
            params |= instance.params()
        rows = await driver_sql.rows(session, driver_sql.plan_of(statement, dialect), params)
        if not rows:
            return False
        outbox.task_shown(session, shown_rows.shown_task(rows[0]))
        step_rows.logged(session, entries, rows[0].step_ids)
        if instance is not None:
            instance_rows.written(session, instance, getattr(rows[0], "status_before", None))
    notify_after_commit(session, QUEUE, task_channel(task_id))
    return True


async def reschedule(
    session: AsyncSession,
    task_id: UUID,
    worker: str,
    *,
    run_after: datetime,
    error: dict[str, Any],
    event: TaskEvent,
    steps: Sequence[TaskEvent] = (),
) -> bool:
    """Back to pending after a transient failure, with one more retry counted (the attempt's
    unwritten `steps` logged first)."""
    done = await session.execute(
        sa.update(T)
        .where(_owned(task_id, worker, TaskStatus.PENDING))
        .values(
            **_progress_of(steps),
            status=_PENDING,
            retry_count=T.c.retry_count + 1,
            run_after=run_after,
            error=error,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await step_rows.log(session, [*steps, event])
    notify_after_commit(session, QUEUE, task_channel(task_id))
    return True


async def release(
    session: AsyncSession,
    task_id: UUID,
    worker: str,
    now: datetime,
    steps: Sequence[TaskEvent] = (),
) -> bool:
    """Give a running task back (worker shutting down): pending again, due now, no retry counted
    (the attempt's unwritten `steps` logged first)."""
    done = await session.execute(
        sa.update(T)
        .where(_owned(task_id, worker, TaskStatus.PENDING))
        .values(
            **_progress_of(steps),
            status=_PENDING,
            run_after=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    if done.rowcount == 1:  # type: ignore[attr-defined]
        released = TaskEvent(task_id=task_id, step="released", message="Worker stopped; requeued.")
        await step_rows.log(session, [*steps, released])
        notify_after_commit(session, QUEUE, task_channel(task_id))
        return True
    return False


async def reap(session: AsyncSession, now: datetime, running: Collection[UUID] = ()) -> list[UUID]:
    """Requeue running tasks whose lease expired (their worker died); they resume idempotently.
    Not those of `running`, the tasks the caller runs itself (`claim_statements.NOT_MINE`): it
    knows they are not dead, even when a heartbeat came late. The ids of those it took over."""
    expired_now = sa.and_(may_become(TaskStatus.PENDING), T.c.lease_expires_at < now, NOT_MINE)
    mine = {"running": list(running)}
    expired = (
        await session.execute(sa.select(T.c.id, T.c.task_type).where(expired_now), mine)
    ).all()
    taken_over: list[UUID] = []
    for task_id, task_type in expired:
        taken = await session.execute(
            sa.update(T)
            .where(T.c.id == task_id, expired_now)
            .values(status=_PENDING, run_after=now, lease_owner=None, lease_expires_at=None),
            mine,
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            session.add(
                TaskEvent(
                    task_id=task_id,
                    step="lease_expired",
                    message="The worker stopped answering; the task was requeued to resume.",
                    level="warning",
                )
            )
            notify_after_commit(session, QUEUE, task_channel(task_id))
            publish_after_commit(
                session, TaskTransition(task_id, task_type, RUNNING, _PENDING, "lease_expired")
            )
            taken_over.append(task_id)
    return taken_over


async def next_due(session: AsyncSession, running: Collection[UUID] = ()) -> datetime | None:
    """When the earliest claimable pending task becomes due (for sleeping until a backoff ends).

    Tasks queued behind an earlier active task of their instance do not count: they become
    claimable when that task ends, which wakes the worker (QUEUE). Counting them would make an
    idle worker poll in a tight loop for as long as the task ahead of them runs. Nor do those
    of `running` that the caller may not claim yet (`claim`).
    """
    due: datetime | None = await session.scalar(
        sa.select(sa.func.min(T.c.run_after)).where(
            may_become(TaskStatus.RUNNING), NOT_BLOCKED, NOT_MINE
        ),
        {"running": list(running)},
    )
    return due
