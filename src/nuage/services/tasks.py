"""Task use cases: enqueue, read, list, cancel, retry, events. Each runs in the caller's session
and commits through `services.commit` (see `services/idempotency.py`)."""

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import outbox
from nuage.db.models import Instance, InstanceTask, TaskEvent, User
from nuage.db.notify import QUEUE, Notifier, notify_after_commit, task_channel
from nuage.db.observed import publish_after_commit
from nuage.db.resources import may_become, resource_id, resource_row, settle_task
from nuage.db.types import utcnow
from nuage.domain.catalogue import MAX_RETRIES_LIMIT, TaskSpec, spec_for
from nuage.domain.enums import InstanceStatus, TaskStatus, TaskType
from nuage.domain.errors import (
    InvalidResourceState,
    InvalidTaskState,
    NotFound,
    TaskTypeNotSupported,
    ValidationFailed,
)
from nuage.domain.observers import TaskTransition
from nuage.domain.states import INSTANCES
from nuage.domain.tasks import ACTIVE, RETRYABLE_BY_USER, cancels_at_once, is_terminal, transition
from nuage.services.access import ProjectAccess, authorize
from nuage.services.capabilities import check_capability
from nuage.services.pagination import PageRequest, PageResult, paginate, paginate_rows
from nuage.services.queueing import queued_step, queued_task, queueing_refusal
from nuage.services.task_params import validate_parameters
from nuage.services.task_reads import TaskView, project_task_views, view_of

_ACTIVE = [s.value for s in ACTIVE]
MAX_WAIT_SECONDS = 60
RECHECK_SECONDS = 5.0
ORDERINGS = {
    "created": InstanceTask.created,
    "modified": InstanceTask.modified,
    "started_at": InstanceTask.started_at,
    "completed_at": InstanceTask.completed_at,
    "status": InstanceTask.status,
    "task_type": InstanceTask.task_type,
}


@dataclass(frozen=True, slots=True)
class TaskFilters:
    instance_id: UUID | None = None
    statuses: tuple[TaskStatus, ...] = ()
    task_types: tuple[TaskType, ...] = ()
    created_by: UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    ordering: str = "-created"


async def enqueue(
    session: AsyncSession,
    access: ProjectAccess,
    instance: Instance,
    task_type: TaskType,
    *,
    parameters: dict[str, Any] | None,
    max_retries: int | None = None,
    reject_if_busy: bool = False,
    validated: bool = False,
) -> InstanceTask:
    """Queue a task behind the instance's earlier ones. Never refused because the instance is
    busy, unless the caller asked for that (`on_conflict=reject`)."""
    spec = supported_spec(task_type)
    authorize(access, spec.permission)
    await _check_accepts_tasks(session, instance, spec, reject_if_busy=reject_if_busy)
    await check_capability(session, instance, spec.capability)
    if validated:
        params = dict(parameters or {})
    else:
        params = await validate_parameters(session, spec, instance, parameters)
    await _mark_resource_requested(session, access, spec, params)
    retries = spec.default_max_retries if max_retries is None else max_retries
    if not 0 <= retries <= MAX_RETRIES_LIMIT:
        raise ValidationFailed.on(
            "max_retries", f"Ensure this value is between 0 and {MAX_RETRIES_LIMIT}."
        )
    # The caller's user row: in the session already when the API authenticated the request.
    creator = await session.get(User, access.principal.user_id)
    assert creator is not None  # a principal's user exists
    columns = queued_task(
        spec,
        organization_id=access.organization.id,
        project_id=access.project.id,
        instance_id=instance.id,
        parameters=params,
        max_retries=retries,
        created_by_id=creator.id,
    )
    task = InstanceTask(**columns, instance=instance, created_by=creator)
    session.add(task)
    await session.flush()
    session.add(TaskEvent(**queued_step(spec, task.id)))
    notify_after_commit(session, QUEUE, task_channel(task.id))
    publish_after_commit(session, TaskTransition(task.id, task.task_type, None, task.status))
    return task


def supported_spec(task_type: TaskType) -> TaskSpec:
    spec = spec_for(task_type)
    if not spec.supported:
        raise TaskTypeNotSupported(f"Task type `{task_type}` is not supported yet.")
    return spec


async def _mark_resource_requested(
    session: AsyncSession, access: ProjectAccess, spec: TaskSpec, params: dict[str, Any]
) -> None:
    """The spec's `on_request` status on the resource the task names (see ResourceEffects)."""
    effects = spec.resource_effects
    row_id = resource_id(spec, params)
    if effects is None or effects.on_request is None or row_id is None:
        return
    row = await resource_row(session, spec.resource, row_id)
    if row is None or row.project_id != access.project.id:
        raise NotFound()
    if not may_become(spec.resource, row, effects.on_request):
        raise InvalidResourceState(
            f"The {spec.resource} is {row.status}: it cannot be {effects.on_request}."
        )
    row.status = effects.on_request


async def _check_accepts_tasks(
    session: AsyncSession, instance: Instance, spec: TaskSpec, *, reject_if_busy: bool
) -> None:
    active = (
        await session.scalars(
            sa.select(InstanceTask.task_type).where(
                InstanceTask.instance_id == instance.id, InstanceTask.status.in_(_ACTIVE)
            )
        )
    ).all()
    refused = queueing_refusal(
        spec,
        status=instance.status,
        active=len(active),
        deleting=TaskType.DELETE_VPS.value in active,
        reject_if_busy=reject_if_busy,
    )
    if refused is not None:
        raise refused


# A task as the API shows it needs its instance's id and name and its creator, not the
# instance's size, image, location and host: joining those made every list sort its whole
# match before LIMIT (1.4 s per page at 1M tasks).
TASK_VIEW = (
    orm.joinedload(InstanceTask.instance).raiseload("*"),
    orm.joinedload(InstanceTask.created_by),
)


def _task_query(access: ProjectAccess) -> sa.Select[InstanceTask]:
    return (
        sa.select(InstanceTask)
        .where(InstanceTask.project_id == access.project.id)
        .options(*TASK_VIEW)
    )


def visible_result(task: InstanceTask, viewer: UUID | None) -> Any:
    """A task's result as `viewer` may see it: its type's secret keys for its creator only."""
    return result_for(task.task_type, task.result, creator=task.created_by_id, viewer=viewer)


def result_for(task_type: str, result: Any, *, creator: UUID, viewer: UUID | None) -> Any:
    if viewer is not None and viewer == creator:
        return result
    return spec_for(TaskType(task_type)).redact(result)


async def get_task(
    session: AsyncSession, access: ProjectAccess, task_id: UUID, *, instance_id: UUID | None = None
) -> InstanceTask:
    stmt = (
        _task_query(access)
        .where(InstanceTask.id == task_id)
        .execution_options(populate_existing=True)  # a long poll re-reads the same row
    )
    if instance_id is not None:
        stmt = stmt.where(InstanceTask.instance_id == instance_id)
    task = await session.scalar(stmt)
    if task is None:
        raise NotFound()
    return task


async def list_tasks(
    session: AsyncSession, access: ProjectAccess, filters: TaskFilters, page: PageRequest
) -> PageResult[TaskView]:
    """A page of the project's tasks as their viewer sees them: plain rows of what `TaskOut`
    shows, without the ORM's identity map or the instance's and creator's other columns."""
    viewer = access.principal.user_id
    stmt = list_statement(access.project.id, filters)
    return await paginate_rows(session, stmt, page, lambda row: view_of(row, viewer))


def list_statement(project_id: UUID, filters: TaskFilters) -> sa.Select[Any]:
    """The project's tasks, filtered and ordered (served by the (project_id, …) indexes)."""
    stmt = project_task_views(project_id)
    if filters.instance_id is not None:
        stmt = stmt.where(InstanceTask.instance_id == filters.instance_id)
    if filters.statuses:
        stmt = stmt.where(InstanceTask.status.in_([s.value for s in filters.statuses]))
    if filters.task_types:
        stmt = stmt.where(InstanceTask.task_type.in_([t.value for t in filters.task_types]))
    if filters.created_by is not None:
        stmt = stmt.where(InstanceTask.created_by_id == filters.created_by)
    if filters.created_after is not None:
        stmt = stmt.where(InstanceTask.created >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(InstanceTask.created < filters.created_before)
    return stmt.order_by(*_ordering(filters.ordering))


def _ordering(ordering: str) -> list[sa.ColumnElement[Any]]:
    name = ordering.removeprefix("-")
    if name not in ORDERINGS:
        allowed = ", ".join(sorted(ORDERINGS))
        raise ValidationFailed.on("ordering", f"Order by one of {allowed}, with `-` to reverse.")
    column = ORDERINGS[name]
    if ordering.startswith("-"):
        return [column.desc(), InstanceTask.seq.desc()]
    return [column.asc(), InstanceTask.seq.asc()]


async def cancel(session: AsyncSession, access: ProjectAccess, task_id: UUID) -> InstanceTask:
    """A task that never ran is cancelled now; one that ran (running, or pending again after a
    failed attempt) at its next safe step, where the worker undoes or reads back what it did."""
    task = await get_task(session, access, task_id)
    spec = spec_for(TaskType(task.task_type))
    status = TaskStatus(task.status)
    started = bool(task.attempts)
    if cancels_at_once(
        status, task_type=task.task_type, cancellable=spec.cancellable, started=started
    ):
        task.status = transition(status, TaskStatus.CANCELLED).value
        task.completed_at, task.error = utcnow(), None
        moved = TaskTransition(task.id, task.task_type, status, task.status, "before_run")
        publish_after_commit(session, moved)
        session.add(
            TaskEvent(task_id=task.id, step="cancelled", message="Cancelled before it ran.")
        )
        current = InstanceStatus(task.instance.status)
        after = spec.effects.status_after_cancel(current)
        if after is not None:
            task.instance.status = INSTANCES.transition(current, after).value
            if after is not current:
                outbox.instance_status_changed(session, task.instance_id)
        if spec.resource_effects is not None:
            await settle_task(session, spec, task.parameters, spec.resource_effects.on_cancel)
    else:
        if status is TaskStatus.PENDING:
            task.run_after = utcnow()  # settled now, not after its backoff
        task.cancel_requested = True
        session.add(
            TaskEvent(task_id=task.id, step="cancel_requested", message="Cancel requested.")
        )
    notify_after_commit(session, QUEUE, task_channel(task.id))
    await session.flush()
    return task


async def retry(session: AsyncSession, access: ProjectAccess, task_id: UUID) -> InstanceTask:
    """A new task with the same type, parameters and retry budget as a failed or cancelled one."""
    task = await get_task(session, access, task_id)
    if TaskStatus(task.status) not in RETRYABLE_BY_USER:
        raise InvalidTaskState(
            f"Only failed or cancelled tasks can be retried; this one is {task.status}."
        )
    instance = await session.get(Instance, task.instance_id, populate_existing=True)
    assert instance is not None  # a task's instance row is never removed
    return await enqueue(
        session,
        access,
        instance,
        TaskType(task.task_type),
        parameters=task.parameters,
        max_retries=task.max_retries,
        # a type queued only by its own endpoint had its parameters made there, not given
        validated=not spec_for(TaskType(task.task_type)).generic,
    )


async def list_events(
    session: AsyncSession, access: ProjectAccess, task_id: UUID, page: PageRequest
) -> PageResult[TaskEvent]:
    task = await get_task(session, access, task_id)
    stmt = sa.select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)
    return await paginate(session, stmt, page)


async def wait_for_task(
    session: AsyncSession,
    access: ProjectAccess,
    task_id: UUID,
    *,
    wait_seconds: float,
    notifier: Notifier,
    instance_id: UUID | None = None,
) -> InstanceTask:
    """The task as soon as it is terminal, or as it is after `wait_seconds`.

    Waits on the task's notification channel, not by polling; the transaction is ended before
    waiting so that no lock is held. A slow re-read (every RECHECK_SECONDS) covers changes made
    by another process that this one's notifier cannot hear.
    """
    deadline = time.monotonic() + wait_seconds
    channel = task_channel(task_id)
    while True:
        waiter = notifier.subscribe(channel)
        try:
            task = await get_task(session, access, task_id, instance_id=instance_id)
            remaining = deadline - time.monotonic()
            if is_terminal(TaskStatus(task.status)) or remaining <= 0:
                return task
            await session.commit()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, RECHECK_SECONDS)):
                    await waiter.wait()
        finally:
            notifier.unsubscribe(channel, waiter)


async def create_task(
    session: AsyncSession,
    access: ProjectAccess,
    *,
    instance_id: UUID,
    task_type: TaskType,
    parameters: dict[str, Any] | None,
    max_retries: int | None,
    reject_if_busy: bool,
) -> InstanceTask:
    """The generic `POST …/tasks`: any supported type that is not tied to its own endpoint."""
    spec = supported_spec(task_type)
    if not spec.generic:
        raise ValidationFailed.on("task_type", f"`{task_type}` is queued by its own endpoint.")
    instance = await session.scalar(
        sa.select(Instance).where(
            Instance.id == instance_id,
            Instance.project_id == access.project.id,
            Instance.is_live,
        )
    )
    if instance is None:
        raise ValidationFailed.on(
            "instance_id", f'Invalid pk "{instance_id}" - object does not exist.'
        )
    try:
        params = await validate_parameters(session, spec, instance, parameters)
    except ValidationFailed as error:
        raise ValidationFailed({"parameters": error.fields}) from error
    return await enqueue(
        session,
        access,
        instance,
        task_type,
        parameters=params,
        max_retries=max_retries,
        reject_if_busy=reject_if_busy,
        validated=True,
    )
