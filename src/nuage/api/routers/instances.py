"""Instances: CRUD. Their actions (start, resize, delete, …) are generated from the catalogue
(`task_routes.py`)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api.deps import PageDep, ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.pages import absolute, page_of
from nuage.api.schemas.common import Page
from nuage.api.schemas.instances import InstanceCreate, InstanceCreated, InstanceOut, InstanceUpdate
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep, commit
from nuage.db.models import InstanceTask
from nuage.domain import enums
from nuage.services import instances
from nuage.services.access import ProjectAccess
from nuage.services.idempotency import IdempotentRequest
from nuage.services.instances import InstanceChanges, InstanceDraft

PREFIX = "/v1/organizations/{organization_id}/projects/{project_id}/compute"
router = APIRouter(prefix=PREFIX + "/instances", tags=["instances"])
OnConflict = Annotated[
    enums.OnConflict,
    Query(description="`queue` (default) waits behind the instance's tasks; `reject` answers 409."),
]


def task_path(access: ProjectAccess, task: InstanceTask) -> str:
    return task_location(access.organization.id, access.project.id, task.id)


def task_location(organization_id: UUID, project_id: UUID, task_id: UUID) -> str:
    """The path of a task (its `Location`)."""
    return f"/v1/organizations/{organization_id}/projects/{project_id}/compute/tasks/{task_id}"


async def task_accepted(
    request: Request,
    session: SessionDep,
    idem: IdempotencyDep,
    access: ProjectAccess,
    task: InstanceTask,
) -> Response:
    location = absolute(request, task_path(access, task))
    return await commit_task(session, idem, 202, access, task, location=location)


async def commit_task(
    session: AsyncSession,
    idem: IdempotentRequest | None,
    status_code: int,
    access: ProjectAccess,
    task: InstanceTask,
    *,
    location: str | None = None,
) -> Response:
    """Commit a use case that answers with a task: its caller sees it as they may; a replay
    shows it as nobody in particular does, without its result's secrets."""
    return await commit(
        session,
        idem,
        status_code,
        TaskOut.of(task, viewer=access.principal.user_id),
        location=location,
        replay=lambda: TaskOut.of(task, viewer=None),
    )


@router.get("")
async def list_instances(
    request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[InstanceOut]:
    result = await instances.list_instances(session, access, page)
    return page_of(request, result, InstanceOut.of)


@router.post("", status_code=201, response_model=InstanceCreated)
async def create_instance(
    body: InstanceCreate,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    runtime: RuntimeDep,
) -> Response:
    """Creates the instance (status `pending`) with its primary IPv4 and IPv6 from its
    location's pools, and queues `create_vps` (`task_id`, and the task's URL in `Location`)."""
    draft = InstanceDraft(**body.model_dump(exclude={"tags"}), tags=tuple(body.tags))
    quarantine = runtime.settings.ip_quarantine
    instance, task = await instances.create_instance(session, access, draft, quarantine=quarantine)
    location = absolute(request, task_path(access, task))
    created = InstanceCreated.of_created(instance, task)
    return await commit(session, idem, 201, created, location=location)


@router.get("/{instance_id}")
async def get_instance(instance_id: UUID, session: SessionDep, access: ReadAccess) -> InstanceOut:
    return InstanceOut.of(await instances.get_instance(session, access, instance_id))


async def _update(
    instance_id: UUID, body: InstanceUpdate, session: SessionDep, access: ProjectAccess
) -> Response:
    changes = InstanceChanges(
        name=body.name,
        description=body.description,
        tags=tuple(body.tags) if body.tags is not None else None,
    )
    instance = await instances.update_instance(session, access, instance_id, changes)
    return await commit(session, None, 200, InstanceOut.of(instance))


@router.put("/{instance_id}", response_model=InstanceOut)
async def put_instance(
    instance_id: UUID, body: InstanceUpdate, session: SessionDep, access: WriteAccess
) -> Response:
    """Changes name, description and tags only; hardware changes go through resize."""
    return await _update(instance_id, body, session, access)


@router.patch("/{instance_id}", response_model=InstanceOut)
async def patch_instance(
    instance_id: UUID, body: InstanceUpdate, session: SessionDep, access: WriteAccess
) -> Response:
    return await _update(instance_id, body, session, access)
