"""The storage resources' rows (snapshots, backups, custom images, volumes) as their tasks move
them: one place that finds a resource's row and changes its status through its state machine,
for the services (when a task is queued, cancelled or retried) and the engine (when it ends)."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Backup, Image, Snapshot, Volume
from nuage.domain.catalogue import AT_REST, RESOURCE_STATES, Resource, TaskSpec
from nuage.domain.enums import VolumeStatus

ResourceRow = Snapshot | Backup | Image | Volume
RESOURCE_MODELS: Mapping[Resource, type[ResourceRow]] = {
    Resource.SNAPSHOT: Snapshot,
    Resource.BACKUP: Backup,
    Resource.IMAGE: Image,
    Resource.VOLUME: Volume,
}


def resource_id(spec: TaskSpec, parameters: Mapping[str, Any] | None) -> UUID | None:
    """The id of the row a task's resource effects apply to, from its parameters (None: the
    spec has no resource effects, or the parameters name no row)."""
    if spec.resource_effects is None:
        return None
    value = (parameters or {}).get(spec.resource_effects.id_param)
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def resource_row(
    session: AsyncSession, resource: Resource, row_id: UUID, *, lock: bool = True
) -> ResourceRow | None:
    """The row, locked for update on PostgreSQL (SQLite: one writer anyway)."""
    model = RESOURCE_MODELS[resource]
    return await session.get(model, row_id, with_for_update=lock, populate_existing=True)


def may_become(resource: Resource, row: ResourceRow, status: str) -> bool:
    """Whether the row may move to `status` (or is there already)."""
    machine = RESOURCE_STATES[resource]
    current = type(machine.initial)(row.status)
    return current == status or machine.allows(current, type(machine.initial)(status))


async def settle(
    session: AsyncSession,
    resource: Resource,
    row_id: UUID,
    status: str | None,
    values: Mapping[str, Any] | None = None,
    *,
    remove: bool = False,
) -> None:
    """A task's end on its resource: remove the row, or write `values` and move it to `status`
    where its machine allows (a move it forbids is left out: the resource stays as it is). A row
    that is gone already (removed by an earlier task) is left alone."""
    row = await resource_row(session, resource, row_id)
    if row is None:
        return
    if remove:
        await session.delete(row)
        return
    for name, value in (values or {}).items():
        setattr(row, name, value)
    if status == AT_REST:
        status = at_rest(row)
    if status is not None and may_become(resource, row, status):
        row.status = status


def at_rest(row: ResourceRow) -> str:
    """Where a resource rests between its tasks (`AT_REST`): a volume is in use while attached;
    the others are available."""
    if isinstance(row, Volume):
        return VolumeStatus.IN_USE if row.instance_id is not None else VolumeStatus.AVAILABLE
    return "available"


async def settle_task(
    session: AsyncSession,
    spec: TaskSpec,
    parameters: Mapping[str, Any] | None,
    status: str | None,
    values: Mapping[str, Any] | None = None,
    *,
    remove: bool = False,
) -> None:
    """`settle` on the row a task of `spec` with these parameters acts on, if it names one."""
    row_id = resource_id(spec, parameters)
    if row_id is not None:
        await settle(session, spec.resource, row_id, status, values, remove=remove)
