"""The statements the worker runs on an instance's addresses (services/ip_allocation hands them
out; here they are read for the driver and their new state written in the task's terminal
transaction)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import IpAddress, IpPool
from nuage.domain.ipam import AddressState
from nuage.drivers.base import GuestAddress


@dataclass(frozen=True, slots=True)
class AddressRecord:
    id: UUID
    state: AddressState
    task_id: UUID | None
    guest: GuestAddress  # what the driver is given


@dataclass(frozen=True, slots=True)
class AddressWrite:
    """An address's state once its task completed; `ptr` None leaves the name as it is."""

    ip_id: UUID
    state: AddressState
    ptr: str | None = None


async def of_instance(session: AsyncSession, instance_id: UUID) -> list[AddressRecord]:
    """The instance's assigned and reserved addresses, with their pool's gateway."""
    rows = (
        await session.execute(
            sa.select(IpAddress, IpPool.gateway)
            .join(IpPool, IpPool.id == IpAddress.pool_id)
            .where(
                IpAddress.instance_id == instance_id,
                IpAddress.state != AddressState.RELEASED.value,
            )
            .order_by(IpAddress.is_primary.desc(), IpAddress.version, IpAddress.created)
        )
    ).all()
    return [_record(row, gateway) for row, gateway in rows]


async def hold(session: AsyncSession, ip_id: UUID, task_id: UUID, instance_id: UUID) -> bool:
    """Whether the `assign_ip` task `task_id` holds the reservation `ip_id`: its own, or one a
    failed or cancelled assign of the same instance left (a user's retry copies its parameters),
    taken over under the pool's lock so that no allocation hands the address out meanwhile.
    False: the address went back to the pool (another instance may have it now)."""
    row = await session.get(IpAddress, ip_id, populate_existing=True)
    if row is None or row.instance_id != instance_id or row.state != AddressState.ASSIGNING:
        return False
    if row.task_id == task_id:
        return True
    await session.execute(sa.select(IpPool.id).where(IpPool.id == row.pool_id).with_for_update())
    taken = await session.execute(
        sa.update(IpAddress)
        .where(
            IpAddress.id == ip_id,
            IpAddress.task_id == row.task_id,
            IpAddress.state == AddressState.ASSIGNING.value,
        )
        .values(task_id=task_id)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def apply(session: AsyncSession, writes: tuple[AddressWrite, ...], now: datetime) -> None:
    for write in writes:
        values: dict[str, object] = {"state": write.state.value}
        if write.state is AddressState.RELEASED:
            values["released_at"] = now
        if write.ptr is not None:
            values["ptr"] = write.ptr
        await session.execute(
            sa.update(IpAddress).where(IpAddress.id == write.ip_id).values(**values)
        )


def _record(row: IpAddress, gateway: str | None) -> AddressRecord:
    guest = GuestAddress(
        address=row.address,
        prefix_length=row.prefix_length,
        gateway=gateway,
        ptr=row.ptr,
        primary=row.is_primary,
    )
    return AddressRecord(id=row.id, state=AddressState(row.state), task_id=row.task_id, guest=guest)
