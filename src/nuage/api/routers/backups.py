"""An instance's backups: list, read, ask for one. Deleting and restoring one are generated from
the catalogue (`task_routes.py`)."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.backups import BackupCreate, BackupOut
from nuage.api.schemas.common import Page
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain import enums
from nuage.services import backups

router = APIRouter(prefix=PREFIX + "/instances/{instance_id}/backups", tags=["backups"])


@router.get("")
async def list_backups(
    instance_id: UUID, request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[BackupOut]:
    """The instance's backups, newest first; a deleted instance's are still listed."""
    result = await backups.list_backups(session, access, instance_id, page)
    return page_of(request, result, BackupOut.of)


@router.post("", status_code=202, response_model=TaskOut)
async def create_backup(
    instance_id: UUID,
    body: BackupCreate,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Inserts the backup (status `creating`) and queues `create_backup`: answers 202 with the
    task (its `parameters.backup_id` names the backup) and the task's URL in `Location`."""
    reject = on_conflict is enums.OnConflict.REJECT
    task = await backups.create_backup(
        session, access, instance_id, body.name, reject_if_busy=reject
    )
    return await task_accepted(request, session, idem, access, task)


@router.get("/{id}")
async def get_backup(
    instance_id: UUID, id: UUID, session: SessionDep, access: ReadAccess
) -> BackupOut:
    return BackupOut.of(await backups.get_backup(session, access, instance_id, id))
