"""A project's images: the public catalogue's beside its own custom images, and their deletion."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.common import Page
from nuage.api.schemas.snapshots import ProjectImageOut
from nuage.api.schemas.tasks import TaskOut
from nuage.domain import enums
from nuage.services import images

router = APIRouter(prefix=PREFIX + "/images", tags=["images"])


@router.get("")
async def list_project_images(
    request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[ProjectImageOut]:
    """The public catalogue's active images, then the project's own (any status)."""
    return page_of(request, await images.list_images(session, access, page), ProjectImageOut.of)


@router.delete("/{id}", status_code=202, response_model=TaskOut)
async def delete_image(
    id: UUID,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Queues `delete_image` for a custom image; 409 `image_in_use` while a pending or running
    create or reinstall uses it."""
    reject = on_conflict is enums.OnConflict.REJECT
    task = await images.delete_image(session, access, id, reject_if_busy=reject)
    return await task_accepted(request, session, None, access, task)
