"""Tasks: the seed's `GET …/tasks/{id}` (with `?wait=` long poll), the list with filters, the
generic create, cancel, retry and the step log."""

from enum import StrEnum
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from nuage.api.deps import PageDep, ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, OnConflict, commit_task, task_accepted
from nuage.api.schemas.common import UTC_ASSUMED, Page, UtcDateTime, documented_as, list_of
from nuage.api.schemas.tasks import TaskCreate, TaskEventOut, TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain.enums import OnConflict as OnConflictMode
from nuage.domain.enums import TaskStatus, TaskType
from nuage.domain.errors import ValidationFailed
from nuage.services import tasks
from nuage.services.tasks import MAX_WAIT_SECONDS, ORDERINGS, TaskFilters

router = APIRouter(prefix=PREFIX, tags=["tasks"])
Wait = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Long poll: answer when the task is terminal or "
        "after this many seconds (at most 60).",
    ),
]


E = TypeVar("E", bound=StrEnum)
# Parsed by `choices` (which also takes comma-separated values), documented as the enums.
StatusFilter = Annotated[list[str] | None, Query(), list_of(TaskStatus)]
TypeFilter = Annotated[list[str] | None, Query(), list_of(TaskType)]
Ordering = Annotated[
    str,
    Query(description="A field to order by; `-` first for descending."),
    documented_as({"type": "string", "enum": [p + f for f in ORDERINGS for p in ("", "-")]}),
]


def choices(field: str, raw: list[str] | None, enum: type[E]) -> tuple[E, ...]:
    values = [v.strip() for item in raw or [] for v in item.split(",") if v.strip()]
    bad = [v for v in values if v not in enum.__members__.values()]
    if bad:
        raise ValidationFailed.on(
            field, f"Select a valid choice. {bad[0]} is not one of the available choices."
        )
    return tuple(enum(v) for v in values)


@router.get("/tasks")
async def list_tasks(
    request: Request,
    session: SessionDep,
    access: ReadAccess,
    page: PageDep,
    instance_id: UUID | None = None,
    status: StatusFilter = None,
    task_type: TypeFilter = None,
    created_by: UUID | None = None,
    created_after: Annotated[UtcDateTime | None, Query(description=UTC_ASSUMED)] = None,
    created_before: Annotated[UtcDateTime | None, Query(description=UTC_ASSUMED)] = None,
    ordering: Ordering = "-created",
) -> Page[TaskOut]:
    """Filters combine with AND; `status` and `task_type` repeat (or take commas) for OR."""
    filters = TaskFilters(
        instance_id=instance_id,
        statuses=choices("status", status, TaskStatus),
        task_types=choices("task_type", task_type, TaskType),
        created_by=created_by,
        created_after=created_after,
        created_before=created_before,
        ordering=ordering,
    )
    result = await tasks.list_tasks(session, access, filters, page)
    return page_of(request, result, TaskOut.of_view)


@router.post("/tasks", status_code=202, response_model=TaskOut)
async def create_task(
    body: TaskCreate,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    on_conflict: OnConflict = OnConflictMode.QUEUE,
) -> Response:
    task = await tasks.create_task(
        session,
        access,
        instance_id=body.instance_id,
        task_type=body.task_type,
        parameters=body.parameters,
        max_retries=body.max_retries,
        reject_if_busy=on_conflict is OnConflictMode.REJECT,
    )
    return await task_accepted(request, session, idem, access, task)


@router.get("/tasks/{id}")
async def get_task(
    id: UUID, session: SessionDep, access: ReadAccess, runtime: RuntimeDep, wait: Wait = 0
) -> TaskOut:
    """Get instance task. With `wait`, answers as soon as the task is terminal."""
    task = await tasks.wait_for_task(
        session, access, id, wait_seconds=wait, notifier=runtime.notifier
    )
    return TaskOut.of(task, viewer=access.principal.user_id)


@router.get("/instances/{instance_id}/tasks/{id}")
async def get_instance_task(
    instance_id: UUID,
    id: UUID,
    session: SessionDep,
    access: ReadAccess,
    runtime: RuntimeDep,
    wait: Wait = 0,
) -> TaskOut:
    task = await tasks.wait_for_task(
        session, access, id, wait_seconds=wait, notifier=runtime.notifier, instance_id=instance_id
    )
    return TaskOut.of(task, viewer=access.principal.user_id)


@router.post("/tasks/{id}/cancel", response_model=TaskOut)
async def cancel_task(
    id: UUID, session: SessionDep, access: WriteAccess, idem: IdempotencyDep
) -> Response:
    """A pending task is cancelled at once; a running one at its next safe step
    (`cancel_requested` shows it meanwhile)."""
    task = await tasks.cancel(session, access, id)
    return await commit_task(session, idem, 200, access, task)


@router.post("/tasks/{id}/retry", status_code=202, response_model=TaskOut)
async def retry_task(
    id: UUID, request: Request, session: SessionDep, access: WriteAccess, idem: IdempotencyDep
) -> Response:
    """Queues a new task copying a failed or cancelled one."""
    task = await tasks.retry(session, access, id)
    return await task_accepted(request, session, idem, access, task)


@router.get("/tasks/{id}/events")
async def list_task_events(
    id: UUID, request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[TaskEventOut]:
    result = await tasks.list_events(session, access, id, page)
    return page_of(request, result, TaskEventOut.of)
