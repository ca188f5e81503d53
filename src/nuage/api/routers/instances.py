"""Instances: CRUD, and actions that answer 202 with the queued task."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.api.deps import PageDep, ReadAccess, SessionDep, WriteAccess
from nuage.api.pages import absolute, page_of
from nuage.api.schemas.common import Body, Page
from nuage.api.schemas.instances import (
    HostnameIn,
    InstanceCreate,
    InstanceCreated,
    InstanceOut,
    InstanceUpdate,
    ReinstallIn,
    ResizeIn,
)
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep, commit
from nuage.db.models import InstanceTask
from nuage.domain import enums
from nuage.domain.enums import TaskType
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
    return (
        f"/v1/organizations/{access.organization.id}/projects/{access.project.id}"
        f"/compute/tasks/{task.id}"
    )


async def task_accepted(
    request: Request,
    session: SessionDep,
    idem: IdempotencyDep,
    access: ProjectAccess,
    task: InstanceTask,
) -> Response:
    location = absolute(request, task_path(access, task))
    return await commit(session, idem, 202, TaskOut.of(task), location=location)


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
) -> Response:
    """Creates the instance (status `pending`) and queues `create_vps` (`task_id`, and the task's
    URL in `Location`)."""
    draft = InstanceDraft(**body.model_dump(exclude={"tags"}), tags=tuple(body.tags))
    instance, task = await instances.create_instance(session, access, draft)
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


@router.delete("/{instance_id}", status_code=202, response_model=TaskOut)
async def delete_instance(
    instance_id: UUID,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Queues `delete_vps`; answers 202 with the task."""
    task = await instances.act(
        session,
        access,
        instance_id,
        TaskType.DELETE_VPS,
        reject_if_busy=on_conflict is enums.OnConflict.REJECT,
    )
    return await task_accepted(request, session, None, access, task)


def _action(task_type: TaskType, verb: str, body_model: type[Body] | None, doc: str) -> None:
    """Register `POST …/instances/{id}/<verb>`, which queues `task_type` with the body as its
    parameters and answers 202 with the task."""

    async def queue(
        instance_id: UUID,
        parameters: dict[str, Any] | None,
        request: Request,
        session: AsyncSession,
        access: ProjectAccess,
        idem: IdempotentRequest | None,
        on_conflict: enums.OnConflict,
    ) -> Response:
        task = await instances.act(
            session,
            access,
            instance_id,
            task_type,
            parameters=parameters,
            reject_if_busy=on_conflict is enums.OnConflict.REJECT,
        )
        return await task_accepted(request, session, idem, access, task)

    endpoint: Callable[..., Awaitable[Response]]
    if body_model is None:

        async def endpoint(
            instance_id: UUID,
            request: Request,
            session: SessionDep,
            access: WriteAccess,
            idem: IdempotencyDep,
            on_conflict: OnConflict = enums.OnConflict.QUEUE,
        ) -> Response:
            return await queue(instance_id, None, request, session, access, idem, on_conflict)

    else:

        async def endpoint_with_body(
            instance_id: UUID,
            body: Body,
            request: Request,
            session: SessionDep,
            access: WriteAccess,
            idem: IdempotencyDep,
            on_conflict: OnConflict = enums.OnConflict.QUEUE,
        ) -> Response:
            parameters = body.model_dump(mode="json")
            return await queue(instance_id, parameters, request, session, access, idem, on_conflict)

        # FastAPI reads the body's model from the annotation: give it the action's own.
        endpoint_with_body.__annotations__["body"] = body_model
        endpoint = endpoint_with_body

    endpoint.__name__ = f"{verb}_instance"
    endpoint.__doc__ = f"Queues `{task_type.value}`: {doc}"
    router.add_api_route(
        f"/{{instance_id}}/{verb}",
        endpoint,
        methods=["POST"],
        status_code=202,
        response_model=TaskOut,
    )


_action(TaskType.START_VPS, "start", None, "powers the instance on.")
_action(TaskType.STOP_VPS, "stop", None, "powers the instance off at once.")
_action(TaskType.REBOOT_VPS, "reboot", None, "asks the guest to restart.")
_action(TaskType.SHUTDOWN_VPS, "shutdown", None, "asks the guest to power off.")
_action(TaskType.RESET_VPS, "reset", None, "hard reset.")
_action(TaskType.RESIZE_VPS, "resize", ResizeIn, "needs a stopped instance; disks only grow.")
_action(TaskType.REINSTALL_OS, "reinstall", ReinstallIn, "a fresh disk; power state kept.")
_action(TaskType.CHANGE_HOSTNAME, "hostname", HostnameIn, "sets the guest's hostname.")
_action(TaskType.SYNC_VPS_STATE, "sync", None, "reads the machine's real state.")
