"""Queueing `sync_vps_state` for the drift sweep (`engine.drift`): the one use case that asks
for a task without a caller."""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Organization, Project
from nuage.domain.enums import Role, Scope, TaskType
from nuage.services import tasks
from nuage.services.access import ProjectAccess
from nuage.services.principals import Principal


async def queue_sync(session: AsyncSession, instance_id: UUID) -> InstanceTask | None:
    """Queue `sync_vps_state` on the instance unless it has a task pending or running
    (InstanceBusy) or is gone (None). The instance's row is locked first, so two sweeps never
    queue two syncs. The task is recorded as asked for by the instance's creator: a task has a
    creator, and the sweep acts for the instance's owners, not for an operator."""
    instance = await session.scalar(
        sa.select(Instance).where(Instance.id == instance_id).with_for_update(of=Instance)
    )
    if instance is None or not instance.is_live:
        return None
    organization = await session.get(Organization, instance.organization_id)
    project = await session.get(Project, instance.project_id)
    assert organization is not None and project is not None  # foreign keys
    creator = Principal(instance.created_by_id, frozenset(Scope))
    access = ProjectAccess(creator, organization, project, Role.OWNER)
    return await tasks.enqueue(
        session, access, instance, TaskType.SYNC_VPS_STATE, parameters=None, reject_if_busy=True
    )
