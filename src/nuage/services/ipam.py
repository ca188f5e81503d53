"""An instance's addresses as its project sees them: list them, and queue `assign_ip`,
`remove_ip` and `update_reverse_dns` (allocation itself: `ip_allocation`)."""

import ipaddress
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, IpAddress, IpPool
from nuage.domain.enums import TaskType
from nuage.domain.errors import AddressNotAssigned, AddressPoolExhausted, NotFound, PrimaryAddress
from nuage.domain.ipam import AddressState, default_ptr, validate_ptr
from nuage.domain.tasks import ACTIVE
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.ip_allocation import allocate

_ACTIVE = [s.value for s in ACTIVE]


async def list_addresses(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID
) -> list[IpAddress]:
    """The instance's addresses: assigned ones and those an `assign_ip` still works on."""
    instance = await instances.get_instance(session, access, instance_id)
    query = _visible().where(IpAddress.instance_id == instance.id)
    order = (IpAddress.is_primary.desc(), IpAddress.version, IpAddress.created)
    return list((await session.scalars(query.order_by(*order))).all())


async def get_address(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, ip_id: UUID
) -> tuple[Instance, IpAddress]:
    """One of the instance's addresses (404 for another instance's, as for a missing one)."""
    instance = await instances.get_instance(session, access, instance_id)
    query = _visible().where(IpAddress.instance_id == instance.id, IpAddress.id == ip_id)
    row = await session.scalar(query)
    if row is None:
        raise NotFound()
    return instance, row


async def assign(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    version: int,
    *,
    quarantine: timedelta,
    reject_if_busy: bool,
) -> InstanceTask:
    """Reserve an address and queue `assign_ip` to give it to the machine."""
    instance = await instances.get_instance(session, access, instance_id)
    task = await _enqueue(session, access, instance, TaskType.ASSIGN_IP, {}, reject_if_busy)
    row = await allocate(session, instance, version, quarantine=quarantine, task_id=task.id)
    if row is None:
        raise AddressPoolExhausted(f"This location has no IPv{version} pool.")
    task.parameters = {"version": version, "ip_id": str(row.id), "address": row.address}
    await session.flush()
    return task


async def remove(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    ip_id: UUID,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `remove_ip`; the primary addresses stay (PrimaryAddress)."""
    instance, row = await _assigned(session, access, instance_id, ip_id)
    if row.is_primary:
        raise PrimaryAddress()
    params = {"ip_id": str(row.id), "address": row.address}
    return await _enqueue(session, access, instance, TaskType.REMOVE_IP, params, reject_if_busy)


async def set_reverse_dns(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    ip_id: UUID,
    ptr: str | None,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `update_reverse_dns` with the checked name, or the pool's default for None."""
    instance, row = await _assigned(session, access, instance_id, ip_id)
    if ptr is None:
        pool = await session.get_one(IpPool, row.pool_id)
        name = default_ptr(ipaddress.ip_address(row.address), pool.ptr_domain)
    else:
        name = validate_ptr(ptr)
    params = {"ip_id": str(row.id), "address": row.address, "ptr": name}
    return await _enqueue(
        session, access, instance, TaskType.UPDATE_REVERSE_DNS, params, reject_if_busy
    )


def _visible() -> sa.Select[IpAddress]:
    """Assigned addresses, and reserved ones whose `assign_ip` is pending or running."""
    live_task = sa.select(InstanceTask.id).where(
        InstanceTask.id == IpAddress.task_id, InstanceTask.status.in_(_ACTIVE)
    )
    return sa.select(IpAddress).where(
        sa.or_(
            IpAddress.state == AddressState.ASSIGNED.value,
            sa.and_(IpAddress.state == AddressState.ASSIGNING.value, live_task.exists()),
        )
    )


async def _assigned(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID, ip_id: UUID
) -> tuple[Instance, IpAddress]:
    """An address the machine has (not one still being assigned): what remove and reverse DNS
    act on."""
    instance, row = await get_address(session, access, instance_id, ip_id)
    if row.state != AddressState.ASSIGNED.value:
        raise AddressNotAssigned()
    return instance, row


async def _enqueue(
    session: AsyncSession,
    access: ProjectAccess,
    instance: Instance,
    task_type: TaskType,
    parameters: dict[str, Any],
    reject_if_busy: bool,
) -> InstanceTask:
    return await tasks.enqueue(
        session,
        access,
        instance,
        task_type,
        parameters=parameters,
        validated=True,
        reject_if_busy=reject_if_busy,
    )
