"""Snapshots of an instance: list, read, take one, make an image of one. Restore and delete are
generated from the catalogue (`task_routes.py`)."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, task_accepted
from nuage.api.schemas.common import Page
from nuage.api.schemas.snapshots import SnapshotOut
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain.catalogue.snapshots import SnapshotName
from nuage.services import images, snapshots

router = APIRouter(prefix=PREFIX + "/instances/{instance_id}/snapshots", tags=["snapshots"])


@router.get("")
async def list_snapshots(
    instance_id: UUID, request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[SnapshotOut]:
    result = await snapshots.list_snapshots(session, access, instance_id, page)
    return page_of(request, result, SnapshotOut.of)


@router.post("", status_code=202, response_model=TaskOut)
async def create_snapshot(
    instance_id: UUID,
    body: SnapshotName,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    runtime: RuntimeDep,
) -> Response:
    """Creates the snapshot (status `creating`) and queues `create_snapshot`; at most
    `NUAGE_SNAPSHOT_LIMIT` per instance (400 `snapshot_limit_reached`)."""
    limit = runtime.settings.snapshot_limit
    task = await snapshots.create_snapshot(session, access, instance_id, body.name, limit=limit)
    return await task_accepted(request, session, idem, access, task)


@router.get("/{id}")
async def get_snapshot(
    instance_id: UUID, id: UUID, session: SessionDep, access: ReadAccess
) -> SnapshotOut:
    return SnapshotOut.of(await snapshots.get_snapshot(session, access, instance_id, id))


@router.post("/{id}/image", status_code=202, response_model=TaskOut)
async def create_image_from_snapshot(
    instance_id: UUID,
    id: UUID,
    body: SnapshotName,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
) -> Response:
    """Creates a project-private image (status `creating`) from the `available` snapshot and
    queues `create_image_from_snapshot`."""
    task = await images.create_from_snapshot(session, access, instance_id, id, body.name)
    return await task_accepted(request, session, idem, access, task)
