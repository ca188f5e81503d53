"""Backup use cases: list and read an instance's backups (its own, even once it is deleted), and
ask for a new one. Deleting and restoring one are tasks queued by their generated routes, whose
instance `backup_instance` finds (`services.task_requests.TARGETS`)."""

from collections.abc import Mapping
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Backup, Instance, InstanceTask
from nuage.domain.enums import TaskType
from nuage.domain.errors import NotFound
from nuage.domain.states import BACKUPS
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest, PageResult, paginate


async def instance_of_backups(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID
) -> Instance:
    """The project's instance, deleted or not: its backups outlive it. 404 otherwise."""
    instance = await session.scalar(
        sa.select(Instance).where(
            Instance.id == instance_id, Instance.project_id == access.project.id
        )
    )
    if instance is None:
        raise NotFound()
    return instance


def _of_instance(instance: Instance) -> sa.Select[Backup]:
    return sa.select(Backup).where(
        Backup.instance_id == instance.id, Backup.project_id == instance.project_id
    )


async def list_backups(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, page: PageRequest
) -> PageResult[Backup]:
    instance = await instance_of_backups(session, access, instance_id)
    stmt = _of_instance(instance).order_by(Backup.created.desc(), Backup.id.desc())
    return await paginate(session, stmt, page)


async def get_backup(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, backup_id: UUID
) -> Backup:
    instance = await instance_of_backups(session, access, instance_id)
    backup = await session.scalar(
        _of_instance(instance)
        .where(Backup.id == backup_id)
        .execution_options(populate_existing=True)
    )
    if backup is None:
        raise NotFound()
    return backup


async def create_backup(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    name: str,
    *,
    reject_if_busy: bool = False,
) -> InstanceTask:
    """Insert the backup (`creating`, on the instance's host) and queue its `create_backup`,
    in one transaction: a refused request writes neither."""
    instance = await instances.get_instance(session, access, instance_id)
    backup = Backup(
        project_id=access.project.id,
        instance_id=instance.id,
        name=name,
        status=BACKUPS.initial.value,
        size_gb=0,
        host_id=instance.host_id,
    )
    session.add(backup)
    await session.flush()
    params = {"backup_id": str(backup.id), "name": name}
    return await tasks.enqueue(
        session,
        access,
        instance,
        TaskType.CREATE_BACKUP,
        parameters=params,
        reject_if_busy=reject_if_busy,
    )


async def backup_instance(
    session: AsyncSession, access: ProjectAccess, ids: Mapping[str, UUID]
) -> Instance:
    """The instance a task on a backup is recorded against: the one its route names, which
    must be the backup's (deleted or not)."""
    backup = await get_backup(session, access, ids["instance_id"], ids["backup_id"])
    return await instance_of_backups(session, access, backup.instance_id)
