"""The software catalogue, and an instance's software: queue `install_software` and
`uninstall_software` (their specs: domain/catalogue/software.py). Each action answers 202 with
its task, as the generated actions do."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.common import Page
from nuage.api.schemas.software import SoftwareInstall, SoftwareOut
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain import enums
from nuage.services import software

router = APIRouter(prefix=PREFIX, tags=["software"])
_REJECT = enums.OnConflict.REJECT


@router.get("/software")
async def list_software(
    request: Request, session: SessionDep, _access: ReadAccess, page: PageDep
) -> Page[SoftwareOut]:
    """The software catalogue: what `install_software` can put on an instance, with the images
    each is offered on."""
    return page_of(request, await software.list_software(session, page), SoftwareOut.of)


@router.post("/instances/{instance_id}/software", status_code=202, response_model=TaskOut)
async def install_software(
    instance_id: UUID,
    body: SoftwareInstall,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Queues `install_software` (a running guest restarts to apply it). `400` for an unknown
    `software_id`, `409 software_not_for_image` when the instance's image does not offer it,
    `409 software_installed` when the instance has it already."""
    task = await software.install(
        session, access, instance_id, body.software_id, reject_if_busy=on_conflict is _REJECT
    )
    return await task_accepted(request, session, idem, access, task)


@router.delete(
    "/instances/{instance_id}/software/{software_id}", status_code=202, response_model=TaskOut
)
async def uninstall_software(
    instance_id: UUID,
    software_id: UUID,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Queues `uninstall_software` (a running guest restarts to apply it). `404` for an unknown
    software id, `409 software_not_installed` when the instance does not have it."""
    task = await software.uninstall(
        session, access, instance_id, software_id, reject_if_busy=on_conflict is _REJECT
    )
    return await task_accepted(request, session, None, access, task)
