"""Custom images: a project's own images, made from a snapshot, listed beside the public catalogue.

A custom image belongs to its project (another project's id is as unknown as a missing one), lives
on the host that made it (`images.host_id`: instances made from it are placed there; a reinstall
needs the instance on that host), and needs a disk at least `min_disk_gb` large. Its tasks are
recorded against the instance its snapshot was taken from (`images.instance_id`), deleted or not.
"""

from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Host, Image, Instance, InstanceTask
from nuage.domain.enums import ImageStatus, SnapshotStatus, TaskType
from nuage.domain.errors import Conflict, InvalidResourceState, NotFound, ValidationFailed
from nuage.domain.images import custom_image_name
from nuage.domain.tasks import ACTIVE
from nuage.services import snapshots, tasks
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest, PageResult, paginate

# The task types that read an image (by their `image_id` parameter) while they run.
USERS = (TaskType.CREATE_VPS.value, TaskType.REINSTALL_OS.value)
_ACTIVE = [s.value for s in ACTIVE]


def visible(project_id: UUID) -> sa.ColumnElement[bool]:
    """The public catalogue's images and the project's own."""
    return sa.or_(Image.project_id.is_(None), Image.project_id == project_id)


async def list_images(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> PageResult[Image]:
    """The public catalogue's active images, then the project's own (every status; a deleted
    one is kept inactive, for the instances made from it, and not listed)."""
    public = sa.and_(Image.project_id.is_(None), Image.is_active)
    own = sa.and_(Image.project_id == access.project.id, Image.is_active)
    stmt = sa.select(Image).where(sa.or_(public, own))
    order = (Image.project_id.is_not(None), Image.name, Image.id)
    return await paginate(session, stmt.order_by(*order), page)


async def usable_image(
    session: AsyncSession, image_id: UUID, project_id: UUID, field: str
) -> Image:
    """An image a create or reinstall in the project may use: active, public or the project's,
    `available`; else the field error a missing image gives."""
    row = await session.scalar(sa.select(Image).where(Image.id == image_id, visible(project_id)))
    if row is None or not row.is_active or row.status != ImageStatus.AVAILABLE:
        raise ValidationFailed.on(field, f'No active image with id "{image_id}".')
    return row


def check_fits(image: Image, disk_gb: int, field: str) -> None:
    if disk_gb < image.min_disk_gb:
        message = f"The image needs a disk of at least {image.min_disk_gb} GB, not {disk_gb} GB."
        raise ValidationFailed.on(field, message)


async def check_location(session: AsyncSession, image: Image, location_id: UUID) -> None:
    """A custom image is on one host: an instance made from it must be in that host's location."""
    if image.host_id is None:
        return
    host = await session.get(Host, image.host_id)
    if host is not None and host.location_id != location_id:
        raise ValidationFailed.on("image_id", "This image is kept in another location.")


def check_host(image: Image, instance: Instance) -> None:
    """A reinstall from a custom image needs the instance on the image's host."""
    if image.host_id is not None and image.host_id != instance.host_id:
        raise ValidationFailed.on("image_id", "This image is kept on another host.")


async def project_image(session: AsyncSession, access: ProjectAccess, image_id: UUID) -> Image:
    """The project's custom image; NotFound for any other id (a public one included)."""
    row = await session.scalar(
        sa.select(Image).where(
            Image.id == image_id, Image.project_id == access.project.id, Image.is_active
        )
    )
    if row is None:
        raise NotFound()
    return row


async def create_from_snapshot(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    snapshot_id: UUID,
    name: str,
) -> InstanceTask:
    """Insert the image (`creating`, on the instance's host) and queue its copy from the
    snapshot, which must be `available` (409 `invalid_resource_state`)."""
    found = await snapshots.instance_and_snapshot(session, access, instance_id, snapshot_id)
    instance, snapshot = found
    if snapshot.status != SnapshotStatus.AVAILABLE:
        raise InvalidResourceState(f"The snapshot is {snapshot.status}: it is not available.")
    image_id = uuid4()
    image = Image(
        id=image_id,
        name=name,
        slug=custom_image_name(image_id),
        os_name=instance.image.os_name,
        os_version=instance.image.os_version,
        is_active=True,
        project_id=access.project.id,
        status=ImageStatus.CREATING.value,
        min_disk_gb=snapshot.size_gb,
        host_id=instance.host_id,
        source_snapshot_id=snapshot.id,
        instance_id=instance.id,
    )
    session.add(image)
    await session.flush()
    params = {"snapshot_id": str(snapshot.id), "image_id": str(image_id), "name": name}
    task_type = TaskType.CREATE_IMAGE_FROM_SNAPSHOT
    return await tasks.enqueue(session, access, instance, task_type, parameters=params)


async def delete_image(
    session: AsyncSession, access: ProjectAccess, image_id: UUID, *, reject_if_busy: bool
) -> InstanceTask:
    """Queue `delete_image` on the image's instance; 409 `image_in_use` while a pending or
    running create or reinstall names it."""
    image = await project_image(session, access, image_id)
    if await _in_use(session, image):
        raise Conflict(
            "A pending or running create or reinstall uses this image.", code="image_in_use"
        )
    instance = await session.get(Instance, image.instance_id)
    if instance is None:
        raise NotFound()
    params = {"image_id": str(image.id)}
    return await tasks.enqueue(
        session,
        access,
        instance,
        TaskType.DELETE_IMAGE,
        parameters=params,
        reject_if_busy=reject_if_busy,
    )


async def _in_use(session: AsyncSession, image: Image) -> bool:
    found = await session.scalars(
        sa.select(InstanceTask.parameters).where(
            InstanceTask.project_id == image.project_id,
            InstanceTask.task_type.in_(USERS),
            InstanceTask.status.in_(_ACTIVE),
        )
    )
    return any((params or {}).get("image_id") == str(image.id) for params in found)
