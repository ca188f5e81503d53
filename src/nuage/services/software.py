"""Software on an instance as its project sees it: the catalogue, and queueing
`install_software` and `uninstall_software` after checking the entry against the instance.

What an instance has is `Instance.software` (slugs), written by the tasks from what the driver
reports; the checks here read it as it is when the request comes (a queued install is not
installed yet)."""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Software
from nuage.domain.enums import TaskType
from nuage.domain.errors import (
    NotFound,
    SoftwareInstalled,
    SoftwareNotForImage,
    SoftwareNotInstalled,
)
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.catalogue import active_entry
from nuage.services.pagination import PageRequest, PageResult, paginate


async def list_software(session: AsyncSession, page: PageRequest) -> PageResult[Software]:
    """The active entries of the software catalogue, by name."""
    query = sa.select(Software).where(Software.is_active).order_by(Software.name, Software.id)
    return await paginate(session, query, page)


async def install(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    software_id: UUID,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `install_software`: the entry must exist (400 on `software_id`), be offered on the
    instance's image (409 `software_not_for_image`) and not be installed already (409
    `software_installed`)."""
    instance = await instances.get_instance(session, access, instance_id)
    software = await active_entry(session, Software, software_id, "software_id")
    if instance.image_id not in {image.id for image in software.images}:
        raise SoftwareNotForImage(
            f"{software.name} is not offered for {instance.image.name}; "
            "GET …/software lists the images each software is offered on."
        )
    if software.slug in (instance.software or []):
        raise SoftwareInstalled(f"The instance has {software.name} installed already.")
    return await _enqueue(
        session, access, instance, TaskType.INSTALL_SOFTWARE, software, reject_if_busy
    )


async def uninstall(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    software_id: UUID,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `uninstall_software`: an unknown entry is a 404 (it names the path); one the instance
    does not have is a 409 `software_not_installed`."""
    instance = await instances.get_instance(session, access, instance_id)
    software = await session.get(Software, software_id)
    if software is None:
        raise NotFound()
    if software.slug not in (instance.software or []):
        raise SoftwareNotInstalled(f"The instance does not have {software.name} installed.")
    task_type = TaskType.UNINSTALL_SOFTWARE
    return await _enqueue(session, access, instance, task_type, software, reject_if_busy)


async def _enqueue(
    session: AsyncSession,
    access: ProjectAccess,
    instance: Instance,
    task_type: TaskType,
    software: Software,
    reject_if_busy: bool,
) -> InstanceTask:
    return await tasks.enqueue(
        session,
        access,
        instance,
        task_type,
        parameters={"software_id": str(software.id), "slug": software.slug},
        validated=True,
        reject_if_busy=reject_if_busy,
    )
