"""An instance's VPC as its project asks for it: queue `update_vpc` to join (with a private
address reserved at once), leave (`vpc_id` null) or move (one task: leave and join).

Never one private address twice: each reservation locks the VPC's row (PostgreSQL: concurrent
joins of one VPC queue behind each other, in any process; SQLite: every transaction is already
exclusive) and reads what is taken after the lock; the unique (vpc_id, address) of `vpc_members`
refuses a duplicate whatever happens (then the request is a `409 address_taken` to try again).
A full block is `409 vpc_full`; a refused request writes nothing.
"""

import ipaddress
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Vpc, VpcMember
from nuage.domain.enums import TaskType
from nuage.domain.errors import AddressTaken, NotFound, ValidationFailed, VpcFull
from nuage.domain.vpcs import MemberState, first_free
from nuage.services import instances, tasks
from nuage.services.access import ProjectAccess
from nuage.services.vpcs import get_vpc, held


async def request_update(
    session: AsyncSession,
    access: ProjectAccess,
    instance_id: UUID,
    vpc_id: UUID | None,
    *,
    reject_if_busy: bool,
) -> InstanceTask:
    """Queue `update_vpc` taking the instance into `vpc_id` (None: out of any VPC)."""
    instance = await instances.get_instance(session, access, instance_id)
    vpc = None if vpc_id is None else await _body_vpc(session, access, vpc_id)
    if vpc is not None and vpc.location_id != instance.location_id:
        message = "The VPC is in another location than the instance: pick one of its location."
        raise ValidationFailed.on("vpc_id", message)
    current = instance.vpc_member
    params: dict[str, str | None] = {
        "vpc_id": None if vpc is None else str(vpc.id),
        "previous_vpc_id": None if current is None else str(current.vpc_id),
    }
    task = await tasks.enqueue(
        session,
        access,
        instance,
        TaskType.UPDATE_VPC,
        parameters=params,
        validated=True,
        reject_if_busy=reject_if_busy,
    )
    if vpc is not None:
        member = current if current and current.vpc_id == vpc.id else None
        member = member or await _reserve(session, vpc, instance, task.id)
        params |= {"member_id": str(member.id), "address": member.address}
        task.parameters = params
        await session.flush()
    return task


async def _body_vpc(session: AsyncSession, access: ProjectAccess, vpc_id: UUID) -> Vpc:
    """The VPC the body names, locked; a missing one (or another project's) is DRF's 400."""
    try:
        return await get_vpc(session, access, vpc_id, lock=True)
    except NotFound as missing:
        message = f'Invalid pk "{vpc_id}" - object does not exist.'
        raise ValidationFailed.on("vpc_id", message) from missing


async def _reserve(session: AsyncSession, vpc: Vpc, instance: Instance, task_id: UUID) -> VpcMember:
    """The VPC's lowest free address, held `joining` for the task (the caller locked the VPC's
    row). Rows that no longer hold their address (a gave-up join, a deleted instance) go."""
    counted = sa.and_(held(), Instance.is_live)
    rows = (
        await session.execute(
            sa.select(VpcMember.id, VpcMember.address, counted)
            .join(Instance, Instance.id == VpcMember.instance_id)
            .where(VpcMember.vpc_id == vpc.id)
        )
    ).all()
    stale = [row_id for row_id, _address, counts in rows if not counts]
    if stale:
        await session.execute(sa.delete(VpcMember).where(VpcMember.id.in_(stale)))
    taken = [address for _id, address, counts in rows if counts]
    address = first_free(ipaddress.IPv4Network(vpc.cidr_block), taken)
    if address is None:
        raise VpcFull(f"Every address of {vpc.name} ({vpc.cidr_block}) is taken.")
    member = VpcMember(
        vpc_id=vpc.id,
        instance_id=instance.id,
        address=str(address),
        state=MemberState.JOINING.value,
        task_id=task_id,
    )
    session.add(member)
    try:
        await session.flush()
    except IntegrityError as exc:  # the unique (vpc_id, address): taken elsewhere after all
        raise AddressTaken() from exc
    return member
