"""How an attempt's end becomes the task's and the instance's new state, in one transaction."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import TaskEvent
from nuage.db.observed import publish_after_commit
from nuage.db.resources import settle_task
from nuage.domain.catalogue import TaskSpec
from nuage.domain.enums import InstanceStatus, TaskStatus
from nuage.domain.errors import InvalidInstanceState, TaskCancelled, TaskError
from nuage.domain.observers import TaskTransition
from nuage.domain.retry import BackoffPolicy, decide
from nuage.domain.states import INSTANCES
from nuage.engine import addresses, queries, step_rows, vpc_members
from nuage.engine.instance_rows import InstanceWrite
from nuage.engine.records import InstanceUpdate, Outcome, TaskRecord


def status_during(record: TaskRecord, spec: TaskSpec) -> InstanceStatus:
    """The instance's status while the task runs: the spec's mark once the task started, else the
    status it had when the task was claimed (tasks of one instance run one at a time)."""
    return spec.effects.while_running or record.instance.status


def resource_after_error(spec: TaskSpec, error: TaskError) -> str | None:
    """The resource's status after the task failed, was cancelled, or found its instance's
    precondition unmet (then it changed nothing: as if cancelled before it ran)."""
    effects = spec.resource_effects
    if effects is None:
        return None
    if isinstance(error, InvalidInstanceState | TaskCancelled):
        return effects.on_cancel
    return effects.on_failure


def success_values(record: TaskRecord, spec: TaskSpec, outcome: Outcome) -> dict[str, Any]:
    """What a completed task writes on its instance: the handler's changes, and the spec's
    status on success unless the handler found another; refused if the status move is illegal."""
    values = outcome.instance.values()
    if spec.effects.on_success is not None:
        values.setdefault("status", spec.effects.on_success)
    if "status" in values:
        INSTANCES.transition(status_during(record, spec), InstanceStatus(values["status"]))
    return values


def status_after_error(
    record: TaskRecord, spec: TaskSpec, error: TaskError
) -> InstanceStatus | None:
    """The instance's status after the task failed, was cancelled or found its precondition
    unmet (the spec's effects); None leaves it as it is."""
    effects = spec.effects
    if isinstance(error, InvalidInstanceState):  # raised before the task changed anything
        current, target = record.instance.status, effects.on_unmet_precondition
    elif isinstance(error, TaskCancelled):
        current = status_during(record, spec)
        target = effects.status_after_cancel(current)
    else:
        current, target = status_during(record, spec), effects.on_failure
    # A failure never moves an instance where its machine says it cannot go (a deleted one).
    return target if target is not None and INSTANCES.allows(current, target) else None


def after_error_values(
    record: TaskRecord,
    spec: TaskSpec,
    status_after: InstanceStatus | None,
    settled: InstanceUpdate | None,
) -> dict[str, Any]:
    """What a failed or cancelled task writes on its instance: what the worker found or left of
    the machine (`settled`, after a cancel), else the spec's status after the error."""
    values = settled.values() if settled is not None else {}
    found = values.get("status")
    if found is not None and not INSTANCES.allows(status_during(record, spec), found):
        del values["status"]  # the machine's read-back cannot move the instance there
    if status_after is not None:
        values.setdefault("status", status_after)
    return values


async def complete(
    session: AsyncSession,
    record: TaskRecord,
    spec: TaskSpec,
    worker: str,
    outcome: Outcome,
    now: datetime,
    steps: Sequence[TaskEvent] = (),
) -> bool:
    """Complete the task and write its outcome (the attempt's unwritten `steps` logged first)."""
    event = step_rows.entry(
        task_id=record.id,
        step="completed",
        message=f"{spec.label}: done.",
        progress=100,
        attempt=record.attempt,
        created=now,  # the same instant as the task's completed_at
    )
    instance = InstanceWrite(
        record.instance.id,
        success_values(record, spec, outcome),
        forget_snapshots=outcome.instance.disk_gone,
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
        steps=steps,
        instance=instance,
    )
    if done:
        _moved(session, record, TaskStatus.COMPLETED)
        values = dict(outcome.resource)
        effects = spec.resource_effects
        status = values.pop("status", None) or (effects.on_success if effects else None)
        remove = effects is not None and effects.delete_on_success
        await settle_task(session, spec, record.parameters, status, values, remove=remove)
        await addresses.apply(session, outcome.addresses, now)
        await vpc_members.apply(session, outcome.vpc)
        session.add_all(outcome.rows)
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
    steps: Sequence[TaskEvent] = (),
) -> bool:
    """Retry a transient error while retries remain; otherwise fail (or cancel) the task. A
    cancelled task's instance takes `settled` (what its machine was found or left to be). The
    attempt's unwritten `steps` are logged first."""
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
        event = step_rows.entry(
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
        retried = await queries.reschedule(
            session, record.id, worker, run_after=run_after, error=body, event=event, steps=steps
        )
        if retried:
            _moved(session, record, TaskStatus.PENDING, "retry")
        return retried
    status_after = status_after_error(record, spec, error)
    cancelled = isinstance(error, TaskCancelled)
    status = TaskStatus.CANCELLED if cancelled else TaskStatus.FAILED
    event = step_rows.entry(
        task_id=record.id,
        step=status.value,
        level="info" if cancelled else "error",
        message=f"{error.code}: {error.message}",
        attempt=record.attempt,
        created=now,  # the same instant as the task's completed_at
    )
    instance = InstanceWrite(
        record.instance.id,
        after_error_values(record, spec, status_after, settled),
        forget_snapshots=settled is not None and settled.disk_gone,
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
        steps=steps,
        instance=instance,
    )
    if done:
        _moved(session, record, status, error.code)
        after = resource_after_error(spec, error)
        await settle_task(session, spec, record.parameters, after)
    return done


def _moved(session: AsyncSession, record: TaskRecord, after: TaskStatus, reason: str = "") -> None:
    """Tell the observers, once committed, that the running task moved to `after`."""
    fact = TaskTransition(
        record.id, record.task_type.value, TaskStatus.RUNNING.value, after, reason
    )
    publish_after_commit(session, fact)
