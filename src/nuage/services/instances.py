"""Instance use cases. Hardware and power changes are tasks; name, description and tags are not."""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import counters
from nuage.db.models import Image, Instance, InstanceTask, Location, Organization, Size
from nuage.domain.enums import BillingCycle, PowerState, TaskType
from nuage.domain.errors import NotFound, QuotaExceeded, ValidationFailed
from nuage.domain.instances import hostname_from_name, validate_hostname, validate_name
from nuage.domain.states import INSTANCES
from nuage.services import images, tasks
from nuage.services.access import ProjectAccess
from nuage.services.catalogue import active_entry
from nuage.services.ip_allocation import DEFAULT_QUARANTINE, allocate_primaries
from nuage.services.pagination import PageRequest, PageResult, paginate


@dataclass(frozen=True, slots=True)
class InstanceDraft:
    name: str
    size_id: UUID
    location_id: UUID
    image_id: UUID | None = None
    os_name: str | None = None
    hostname: str | None = None
    vpc_id: UUID | None = None
    billing_cycle: BillingCycle = BillingCycle.HOURLY
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceChanges:
    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None


def _live(access: ProjectAccess) -> sa.Select[Instance]:
    # The VPC membership joined, not selected after (its default): one round trip per read.
    return (
        sa.select(Instance)
        .where(Instance.project_id == access.project.id, Instance.is_live)
        .options(orm.joinedload(Instance.vpc_member))
    )


async def list_instances(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> PageResult[Instance]:
    return await paginate(session, _live(access).order_by(Instance.created.desc()), page)


async def get_instance(session: AsyncSession, access: ProjectAccess, instance_id: UUID) -> Instance:
    instance = await session.scalar(_live(access).where(Instance.id == instance_id))
    if instance is None:
        raise NotFound()
    return instance


async def create_instance(
    session: AsyncSession,
    access: ProjectAccess,
    draft: InstanceDraft,
    *,
    quarantine: timedelta = DEFAULT_QUARANTINE,
) -> tuple[Instance, InstanceTask]:
    """Check quota and references, insert the instance (pending) with its primary addresses
    (`quarantine`: how long a released address rests) and queue its `create_vps`."""
    await _check_quota(session, access.organization)
    size = await active_entry(session, Size, draft.size_id, "size_id")
    location = await active_entry(session, Location, draft.location_id, "location_id")
    image = await _image(session, access, draft)
    images.check_fits(image, size.disk_gb, "size_id")
    await images.check_location(session, image, location.id)
    if draft.vpc_id is not None:
        message = "Not taken at create: create the instance, then join the VPC with POST …/vpc."
        raise ValidationFailed.on("vpc_id", message)
    name = validate_name(draft.name)
    hostname = validate_hostname(draft.hostname) if draft.hostname else hostname_from_name(name)
    instance = Instance(
        legacy_id=await counters.next_value(session, counters.INSTANCES),
        organization_id=access.organization.id,
        project_id=access.project.id,
        name=name,
        status=INSTANCES.initial.value,
        size=size,
        location=location,
        image=image,
        vpc_member=None,  # shown by the answer: a new instance is in no VPC (no load needed)
        hostname=hostname,
        description=draft.description,
        tags=list(draft.tags),
        ipv4=[],
        ipv6=[],
        power_state=PowerState.OFF.value,
        billing_cycle=draft.billing_cycle.value,
        created_by_id=access.principal.user_id,
    )
    session.add(instance)
    await session.flush()
    await allocate_primaries(session, instance, quarantine=quarantine)
    params = {
        "size_id": str(size.id),
        "location_id": str(location.id),
        "image_id": str(image.id),
        "hostname": hostname,
    }
    task = await tasks.enqueue(
        session, access, instance, TaskType.CREATE_VPS, parameters=params, validated=True
    )
    return instance, task


async def update_instance(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, changes: InstanceChanges
) -> Instance:
    instance = await get_instance(session, access, instance_id)
    if changes.name is not None:
        instance.name = validate_name(changes.name)
    if changes.description is not None:
        instance.description = changes.description
    if changes.tags is not None:
        instance.tags = list(changes.tags)
    await session.flush()
    return instance


async def _check_quota(session: AsyncSession, organization: Organization) -> None:
    # Lock the organization row (PostgreSQL) so two concurrent creates cannot both pass.
    await session.execute(
        sa.select(Organization.id).where(Organization.id == organization.id).with_for_update()
    )
    used = await session.scalar(
        sa.select(sa.func.count(Instance.id)).where(
            Instance.organization_id == organization.id,
            Instance.is_live,
        )
    )
    if (used or 0) >= organization.instance_quota:
        raise QuotaExceeded(
            f"The organization's instance quota ({organization.instance_quota}) is used up; "
            "delete an instance or ask for a higher quota."
        )


async def _image(session: AsyncSession, access: ProjectAccess, draft: InstanceDraft) -> Image:
    if draft.image_id is not None:
        return await images.usable_image(session, draft.image_id, access.project.id, "image_id")
    if draft.os_name:  # the public catalogue's: custom images are asked for by id
        found = await session.scalar(
            sa.select(Image)
            .where(
                Image.is_active,
                Image.project_id.is_(None),
                sa.or_(Image.os_name == draft.os_name, Image.slug == draft.os_name),
            )
            .order_by(Image.os_version.desc())
        )
        if found is None:
            raise ValidationFailed.on("os_name", f'No active image for os_name "{draft.os_name}".')
        return found
    raise ValidationFailed.on("image_id", "Give image_id or os_name.")
