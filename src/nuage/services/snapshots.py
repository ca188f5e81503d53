"""Snapshot use cases: list and read an instance's snapshots, and take one (a row `creating` and
its `create_snapshot` task, in one transaction). Restore and delete are generated task routes;
the snapshot they name is found here (`snapshot_instance`)."""

from collections.abc import Mapping
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Snapshot
from nuage.domain.enums import SnapshotStatus, TaskType
from nuage.domain.errors import NotFound, SnapshotLimitReached
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest, PageResult, paginate


def _of_instance(access: ProjectAccess, instance_id: UUID) -> sa.Select[Snapshot]:
    return sa.select(Snapshot).where(
        Snapshot.project_id == access.project.id, Snapshot.instance_id == instance_id
    )


async def list_snapshots(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, page: PageRequest
) -> PageResult[Snapshot]:
    await instances.get_instance(session, access, instance_id)
    stmt = _of_instance(access, instance_id).order_by(Snapshot.created.desc(), Snapshot.id)
    return await paginate(session, stmt, page)


async def instance_and_snapshot(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, snapshot_id: UUID
) -> tuple[Instance, Snapshot]:
    """The live instance and its snapshot; NotFound for any other id (another tenant's too)."""
    instance = await instances.get_instance(session, access, instance_id)
    found = await session.scalar(
        _of_instance(access, instance_id).where(Snapshot.id == snapshot_id)
    )
    if found is None:
        raise NotFound()
    return instance, found


async def get_snapshot(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, snapshot_id: UUID
) -> Snapshot:
    return (await instance_and_snapshot(session, access, instance_id, snapshot_id))[1]


async def snapshot_instance(
    session: AsyncSession, access: ProjectAccess, ids: Mapping[str, UUID]
) -> Instance:
    """The instance a task on the snapshot `ids["snapshot_id"]` is recorded against: its own."""
    found = await instance_and_snapshot(session, access, ids["instance_id"], ids["snapshot_id"])
    return found[0]


async def create_snapshot(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, name: str, *, limit: int
) -> InstanceTask:
    """Insert the snapshot (`creating`) and queue `create_snapshot`; at most `limit` snapshots
    per instance (`SnapshotLimitReached`), counted under the instance's lock."""
    instance = await instances.get_instance(session, access, instance_id)
    await session.execute(
        sa.select(Instance.id).where(Instance.id == instance.id).with_for_update()
    )
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(Snapshot).where(Snapshot.instance_id == instance.id)
    )
    if (count or 0) >= limit:
        raise SnapshotLimitReached(
            f"The instance has {count} snapshots, the most it may have ({limit}); delete one first."
        )
    snapshot = Snapshot(
        project_id=access.project.id,
        instance_id=instance.id,
        name=name,
        status=SnapshotStatus.CREATING.value,
        size_gb=instance.size.disk_gb,
    )
    session.add(snapshot)
    await session.flush()
    params = {"snapshot_id": str(snapshot.id), "name": name}
    return await tasks.enqueue(
        session, access, instance, TaskType.CREATE_SNAPSHOT, parameters=params
    )
