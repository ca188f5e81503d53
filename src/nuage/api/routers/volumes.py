"""Volumes: list and read them, and the actions that do more than queue (create, attach, resize:
they insert a row, check a second instance or the quota). Detach and delete are generated from
the catalogue (`task_routes.py`). Every action answers 202 with its task."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, task_accepted
from nuage.api.schemas.common import Page
from nuage.api.schemas.tasks import TaskOut
from nuage.api.schemas.volumes import VolumeAttach, VolumeCreate, VolumeOut, VolumeResize
from nuage.api.writes import IdempotencyDep
from nuage.config import Settings
from nuage.services import volumes
from nuage.services.volumes import VolumeQuota

router = APIRouter(prefix=PREFIX, tags=["volumes"])


def _quota(settings: Settings) -> VolumeQuota:
    return VolumeQuota(count=settings.volume_quota_count, total_gb=settings.volume_quota_gb)


@router.get("/volumes")
async def list_volumes(
    request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[VolumeOut]:
    result = await volumes.list_volumes(session, access, page)
    return page_of(request, result, VolumeOut.of)


@router.get("/volumes/{volume_id}")
async def get_volume(volume_id: UUID, session: SessionDep, access: ReadAccess) -> VolumeOut:
    return VolumeOut.of(await volumes.get_volume(session, access, volume_id))


@router.post("/instances/{instance_id}/volumes", status_code=202, response_model=TaskOut)
async def create_volume(
    instance_id: UUID,
    body: VolumeCreate,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
) -> Response:
    """Queues `create_volume`: inserts the volume (`creating`, its id is the task's
    `parameters.volume_id`) on the instance's host, makes it and attaches it."""
    task = await volumes.create_volume(
        session,
        access,
        instance_id,
        name=body.name,
        size_gb=body.size_gb,
        quota=_quota(runtime.settings),
    )
    return await task_accepted(request, session, idem, access, task)


@router.post("/volumes/{volume_id}/attach", status_code=202, response_model=TaskOut)
async def attach_volume(
    volume_id: UUID,
    body: VolumeAttach,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
) -> Response:
    """Queues `attach_volume`: plugs a detached volume into an instance of its host."""
    task = await volumes.attach_volume(session, access, volume_id, body.instance_id)
    return await task_accepted(request, session, idem, access, task)


@router.post("/volumes/{volume_id}/resize", status_code=202, response_model=TaskOut)
async def resize_volume(
    volume_id: UUID,
    body: VolumeResize,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
) -> Response:
    """Queues `resize_volume`: grows the volume (live while its instance runs); never shrinks."""
    task = await volumes.resize_volume(
        session, access, volume_id, size_gb=body.size_gb, quota=_quota(runtime.settings)
    )
    return await task_accepted(request, session, idem, access, task)
