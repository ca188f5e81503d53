"""A task asked for through its own route: the route's ids name the resource, the resource names
the instance the task is recorded against (every task has one: the seed's `instance_id`).

Resolving that instance is the one piece of I/O a route's spec implies; each resource says how
(`TARGETS`), so a new resource adds one entry here and nothing in the API.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask
from nuage.domain.catalogue import Resource, spec_for
from nuage.domain.enums import TaskType
from nuage.services import backups, instances, snapshots, tasks, volumes
from nuage.services.access import ProjectAccess

Target = Callable[[AsyncSession, ProjectAccess, Mapping[str, UUID]], Awaitable[Instance]]


async def _instance(
    session: AsyncSession, access: ProjectAccess, ids: Mapping[str, UUID]
) -> Instance:
    return await instances.get_instance(session, access, ids["instance_id"])


async def _volume_instance(
    session: AsyncSession, access: ProjectAccess, ids: Mapping[str, UUID]
) -> Instance:
    volume = await volumes.get_volume(session, access, ids["volume_id"])
    return await volumes.instance_for(session, volume)


# The instance a task on each resource is recorded against, from its route's named ids.
TARGETS: Mapping[Resource, Target] = {
    Resource.INSTANCE: _instance,
    Resource.VOLUME: _volume_instance,
    Resource.BACKUP: backups.backup_instance,
    Resource.CONSOLE: _instance,  # a console session belongs to the instance it opens
    Resource.SNAPSHOT: snapshots.snapshot_instance,
    Resource.FIREWALL: _instance,  # the rules belong to the instance they guard
}


async def request_task(
    session: AsyncSession,
    access: ProjectAccess,
    task_type: TaskType,
    ids: Mapping[str, UUID],
    body: Mapping[str, Any] | None,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `task_type` on the instance its route's `ids` (under their parameter names) name.
    Ids other than `instance_id` are parameters (e.g. the snapshot a restore brings back)."""
    spec = spec_for(task_type)
    instance = await TARGETS[spec.resource](session, access, ids)
    extra = {k: str(v) for k, v in ids.items() if k != "instance_id"}
    parameters = {**(body or {}), **extra} if body is not None or extra else None
    return await tasks.enqueue(
        session, access, instance, task_type, parameters=parameters, reject_if_busy=reject_if_busy
    )
