"""Volume use cases: list and read a project's volumes, and ask for their tasks.

A request checks what it can before it queues (the instance, the location and host, the quota,
growth) and queues in the same transaction: a refusal writes nothing. The volume's status moves
through the catalogue's `ResourceEffects` (a volume that is not in a status the action allows is a
409 `invalid_resource_state`). Its tasks are recorded against `instance_for(volume)`.
"""

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Project, Volume
from nuage.domain.enums import TaskType, VolumeStatus
from nuage.domain.errors import (
    InvalidResourceState,
    NotFound,
    QuotaExceeded,
    ValidationFailed,
    VolumeElsewhere,
)
from nuage.domain.instances import validate_name
from nuage.domain.machines import disk_may_become
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest, PageResult, paginate

_ATTACHABLE = frozenset({VolumeStatus.AVAILABLE, VolumeStatus.ERROR})


@dataclass(frozen=True, slots=True)
class VolumeQuota:
    """What one project may hold (settings `volume_quota_count`, `volume_quota_gb`)."""

    count: int
    total_gb: int


def _project_volumes(access: ProjectAccess) -> sa.Select[Volume]:
    return sa.select(Volume).where(Volume.project_id == access.project.id)


async def list_volumes(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> PageResult[Volume]:
    stmt = _project_volumes(access).order_by(Volume.created.desc(), Volume.id.desc())
    return await paginate(session, stmt, page)


async def get_volume(session: AsyncSession, access: ProjectAccess, volume_id: UUID) -> Volume:
    volume = await session.scalar(
        _project_volumes(access)
        .where(Volume.id == volume_id)
        .execution_options(populate_existing=True)
    )
    if volume is None:
        raise NotFound()
    return volume


async def instance_for(session: AsyncSession, volume: Volume) -> Instance:
    """The instance a volume's tasks are recorded against: the one it is attached to, else the
    one it was last attached to (which may be deleted)."""
    instance = await session.get(Instance, volume.instance_id or volume.last_instance_id)
    assert instance is not None  # an instance's row is never removed
    return instance


async def create_volume(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    *,
    name: str,
    size_gb: int,
    quota: VolumeQuota,
) -> InstanceTask:
    """Insert the volume (`creating`) on the instance's location and host, and queue its
    `create_volume`, which makes it and attaches it to the instance."""
    instance = await instances.get_instance(session, access, instance_id)
    name = validate_name(name)
    await _check_quota(session, access, quota, more_count=1, more_gb=size_gb)
    volume = Volume(
        project_id=access.project.id,
        name=name,
        size_gb=size_gb,
        status=VolumeStatus.CREATING.value,
        location_id=instance.location_id,
        host_id=instance.host_id,  # None until the instance is placed: the task sets it
        last_instance_id=instance.id,
    )
    session.add(volume)
    await session.flush()
    params = {"volume_id": str(volume.id), "name": name, "size_gb": size_gb}
    return await tasks.enqueue(session, access, instance, TaskType.CREATE_VOLUME, parameters=params)


async def attach_volume(
    session: AsyncSession, access: ProjectAccess, volume_id: UUID, instance_id: UUID
) -> InstanceTask:
    """Queue `attach_volume` on the instance it goes to, which then names the volume's tasks."""
    volume = await get_volume(session, access, volume_id)
    instance = await _body_instance(session, access, instance_id)
    if volume.status not in _ATTACHABLE:
        # Stricter than the state machine, which lets a second request queue behind the one
        # that set `attaching`: that one may take the volume to another instance.
        raise InvalidResourceState(f"The volume is {volume.status}: attach a detached volume.")
    elsewhere = volume.location_id != instance.location_id or (
        volume.host_id is not None and volume.host_id != instance.host_id
    )
    if elsewhere:
        raise VolumeElsewhere(
            "The volume is stored on another host than the instance's (a volume is a file of "
            "its host): attach it to an instance of the same host, in the same location."
        )
    params = {"volume_id": str(volume.id), "instance_id": str(instance.id)}
    task = await tasks.enqueue(session, access, instance, TaskType.ATTACH_VOLUME, parameters=params)
    volume.last_instance_id = instance.id
    return task


async def _body_instance(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID
) -> Instance:
    """The live instance a body names; a missing one (or another tenant's) is DRF's 400."""
    try:
        return await instances.get_instance(session, access, instance_id)
    except NotFound as missing:
        message = f'Invalid pk "{instance_id}" - object does not exist.'
        raise ValidationFailed.on("instance_id", message) from missing


async def resize_volume(
    session: AsyncSession,
    access: ProjectAccess,
    volume_id: UUID,
    *,
    size_gb: int,
    quota: VolumeQuota,
) -> InstanceTask:
    volume = await get_volume(session, access, volume_id)
    if not disk_may_become(current_gb=volume.size_gb, target_gb=size_gb):
        raise ValidationFailed.on(
            "size_gb", f"A volume only grows: enter {volume.size_gb} GiB or more."
        )
    await _check_quota(session, access, quota, more_gb=size_gb - volume.size_gb)
    instance = await instance_for(session, volume)
    params = {"volume_id": str(volume.id), "size_gb": size_gb}
    return await tasks.enqueue(session, access, instance, TaskType.RESIZE_VOLUME, parameters=params)


async def _check_quota(
    session: AsyncSession,
    access: ProjectAccess,
    quota: VolumeQuota,
    *,
    more_count: int = 0,
    more_gb: int = 0,
) -> None:
    # Lock the project row (PostgreSQL) so two concurrent requests cannot both pass.
    await session.execute(
        sa.select(Project.id).where(Project.id == access.project.id).with_for_update()
    )
    count, total = (
        await session.execute(
            sa.select(
                sa.func.count(Volume.id), sa.func.coalesce(sa.func.sum(Volume.size_gb), 0)
            ).where(Volume.project_id == access.project.id)
        )
    ).one()
    if count + more_count > quota.count or total + more_gb > quota.total_gb:
        raise QuotaExceeded(
            f"The project's volume quota ({quota.count} volumes, {quota.total_gb} GiB in all) "
            f"would be exceeded: it holds {count} volumes of {total} GiB."
        )
