"""How an attempt's end becomes the task's and the instance's new state, in one transaction."""

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import TaskEvent
from nuage.domain.catalogue import TaskSpec
from nuage.domain.enums import TaskStatus
from nuage.domain.errors import InvalidInstanceState, TaskCancelled, TaskError
from nuage.domain.retry import BackoffPolicy, decide
from nuage.engine import queries
from nuage.engine.records import InstanceUpdate, Outcome, TaskRecord


async def complete(
    session: AsyncSession,
    record: TaskRecord,
    spec: TaskSpec,
    worker: str,
    outcome: Outcome,
    now: datetime,
) -> bool:
    event = TaskEvent(
        task_id=record.id,
        step="completed",
        message=f"{spec.label}: done.",
        progress=100,
        attempt=record.attempt,
        created=now,  # the same instant as the task's completed_at
    )
    done = await queries.finish(
        session,
        record.id,
        worker,
        status=TaskStatus.COMPLETED,
        now=now,
        result=outcome.result,
        error=None,
        event=event,
    )
    if done:
        values = outcome.instance.values()
        if spec.status_on_success is not None:
            values.setdefault("status", spec.status_on_success)
        await queries.set_instance(session, record.instance.id, values)
    return done


async def fail(
    session: AsyncSession,
    record: TaskRecord,
    spec: TaskSpec,
    worker: str,
    error: TaskError,
    settled: InstanceUpdate | None = None,
    *,
    now: datetime,
    policy: BackoffPolicy,
    rng: random.Random,
) -> bool:
    """Retry a transient error while retries remain; otherwise fail (or cancel) the task. A
    cancelled task's instance takes `settled` (what its machine was found or left to be)."""
    body = error.as_result()
    decision = decide(
        error,
        retry_count=record.retry_count,
        max_retries=record.max_retries,
        policy=policy,
        rng=rng,
    )
    if decision is not None:
        attempt = record.retry_count + 1
        event = TaskEvent(
            task_id=record.id,
            step="retry_scheduled",
            level="warning",
            attempt=record.attempt,
            created=now,  # the instant run_after is counted from
            message=(
                f"{error.code}: {error.message} Retry {attempt} of {record.max_retries} "
                f"in {decision.delay_seconds:.1f} s."
            ),
        )
        run_after = now + timedelta(seconds=decision.delay_seconds)
        return await queries.reschedule(
            session, record.id, worker, run_after=run_after, error=body, event=event
        )
    cancelled = isinstance(error, TaskCancelled)
    status = TaskStatus.CANCELLED if cancelled else TaskStatus.FAILED
    event = TaskEvent(
        task_id=record.id,
        step=status.value,
        level="info" if cancelled else "error",
        message=f"{error.code}: {error.message}",
        attempt=record.attempt,
        created=now,  # the same instant as the task's completed_at
    )
    done = await queries.finish(
        session,
        record.id,
        worker,
        status=status,
        now=now,
        result=None if cancelled else {"error": body},
        error=None if cancelled else body,
        event=event,
    )
    # A precondition that did not hold stopped the task before it touched anything: the
    # instance is as it was, so it keeps its status.
    unmet = isinstance(error, InvalidInstanceState)
    if done:
        values = settled.values() if settled is not None else {}
        if spec.status_on_failure is not None and not unmet:
            values.setdefault("status", spec.status_on_failure)
        await queries.set_instance(session, record.instance.id, values)
    return done
