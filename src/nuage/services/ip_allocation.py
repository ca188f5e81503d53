"""Handing out addresses: an instance's primaries at create, and the one an `assign_ip` reserves.

Never one address twice: each allocation locks its pool's row (PostgreSQL: concurrent
allocations from one pool queue behind each other, in any process; SQLite: every transaction
is already exclusive) and reads what is taken after the lock, and the unique constraint on
`ip_addresses.address` refuses a duplicate whatever happens (then the request is a `409
address_taken` to try again, never a 500). An exhausted location is `409 address_pool_exhausted`,
and the request writes nothing.
"""

import ipaddress
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, IpAddress, IpPool
from nuage.db.types import utcnow
from nuage.domain.errors import AddressPoolExhausted, AddressTaken
from nuage.domain.ipam import AddressState, IPAddress, default_ptr, first_free, is_free_again
from nuage.services.ip_pools import pool_range

DEFAULT_QUARANTINE = timedelta(hours=1)


async def allocate(
    session: AsyncSession,
    instance: Instance,
    version: int,
    *,
    quarantine: timedelta,
    primary: bool = False,
    task_id: UUID | None = None,
) -> IpAddress | None:
    """A new address of `version` for the instance, from its location's active pools (by name);
    None when the location has no such pool; AddressPoolExhausted when they are all full. Held
    `assigning` for `task_id`, else `assigned` at once (a primary address, made with its
    instance)."""
    pools = (
        await session.scalars(
            sa.select(IpPool)
            .where(
                IpPool.location_id == instance.location_id,
                IpPool.version == version,
                IpPool.is_active,
            )
            .order_by(IpPool.name)
        )
    ).all()
    if not pools:
        return None
    now = utcnow()
    for pool in pools:
        address = await _take(session, pool, now=now, quarantine=quarantine)
        if address is not None:
            row = IpAddress(
                address=str(address),
                pool_id=pool.id,
                instance_id=instance.id,
                version=version,
                prefix_length=pool_range(pool).network.prefixlen,
                is_primary=primary,
                ptr=default_ptr(address, pool.ptr_domain),
                state=(AddressState.ASSIGNING if task_id else AddressState.ASSIGNED).value,
                task_id=task_id,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as exc:  # the unique address: held elsewhere after all
                raise AddressTaken() from exc
            return row
    raise AddressPoolExhausted(
        f"No free IPv{version} address is left in this location's pools; ask the operator "
        "for a larger pool."
    )


async def allocate_primaries(
    session: AsyncSession, instance: Instance, *, quarantine: timedelta
) -> None:
    """The primary IPv4 and IPv6 of a new instance (none of a version its location has no pool
    of); recorded on the instance once its machine has them."""
    for version in (4, 6):
        await allocate(session, instance, version, quarantine=quarantine, primary=True)


async def _take(
    session: AsyncSession, pool: IpPool, *, now: datetime, quarantine: timedelta
) -> IPAddress | None:
    """The pool's lowest free address, under the pool's row lock; a row whose address is free
    again (quarantine over, failed assign) is deleted here, in the same transaction."""
    await session.execute(sa.select(IpPool.id).where(IpPool.id == pool.id).with_for_update())
    rows = (
        await session.execute(
            sa.select(IpAddress.id, IpAddress.address, IpAddress.state, IpAddress.released_at)
            .add_columns(InstanceTask.status)
            .outerjoin(InstanceTask, InstanceTask.id == IpAddress.task_id)
            .where(IpAddress.pool_id == pool.id)
        )
    ).all()
    free_again: dict[str, UUID] = {}
    taken: list[IPAddress] = []
    for row_id, address, state, released_at, task_status in rows:
        again = is_free_again(
            AddressState(state),
            released_at=released_at,
            task_status=task_status,
            now=now,
            quarantine=quarantine,
        )
        if again:
            free_again[address] = row_id
        else:
            taken.append(ipaddress.ip_address(address))
    found = first_free(pool_range(pool), taken)
    if found is not None and str(found) in free_again:
        await session.execute(sa.delete(IpAddress).where(IpAddress.id == free_again[str(found)]))
    return found
