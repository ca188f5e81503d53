"""The statements the worker runs on an instance's VPC membership (services/vpc_membership
reserves it; here it is read for the driver and settled in the task's terminal transaction)."""

import ipaddress
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Vpc, VpcMember
from nuage.domain.vpcs import MemberState
from nuage.drivers.base import PrivateNetwork


@dataclass(frozen=True, slots=True)
class MembershipWrite:
    """The instance's membership once its `update_vpc` completed: `member_id` joined (None:
    in no VPC), every other joined membership of the instance gone."""

    instance_id: UUID
    member_id: UUID | None


def _network(member: VpcMember, vpc: Vpc) -> PrivateNetwork:
    prefix = ipaddress.IPv4Network(vpc.cidr_block).prefixlen
    return PrivateNetwork(network_id=str(vpc.id), address=member.address, prefix_length=prefix)


async def joined(session: AsyncSession, instance_id: UUID) -> PrivateNetwork | None:
    """The VPC the machine is in, as the database says."""
    row = (
        await session.execute(
            sa.select(VpcMember, Vpc)
            .join(Vpc, Vpc.id == VpcMember.vpc_id)
            .where(
                VpcMember.instance_id == instance_id,
                VpcMember.state == MemberState.JOINED.value,
            )
        )
    ).first()
    return None if row is None else _network(*row)


async def hold(
    session: AsyncSession, member_id: UUID, task_id: UUID, instance_id: UUID
) -> PrivateNetwork | None:
    """The network of the membership `member_id` if the `update_vpc` task `task_id` holds it:
    its own reservation, the instance's joined membership (a join of the VPC it is in), or one a
    failed or cancelled `update_vpc` of the instance left (a user's retry copies its parameters),
    taken over under the VPC's lock. None: the address went back to the VPC."""
    row = await session.get(VpcMember, member_id, populate_existing=True)
    if row is None or row.instance_id != instance_id:
        return None
    vpc = await session.get_one(Vpc, row.vpc_id)
    if row.state == MemberState.JOINED.value or row.task_id == task_id:
        return _network(row, vpc)
    await session.execute(sa.select(Vpc.id).where(Vpc.id == row.vpc_id).with_for_update())
    taken = await session.execute(
        sa.update(VpcMember)
        .where(VpcMember.id == member_id, VpcMember.task_id == row.task_id)
        .values(task_id=task_id)
    )
    return _network(row, vpc) if taken.rowcount == 1 else None  # type: ignore[attr-defined]


async def apply(session: AsyncSession, write: MembershipWrite | None) -> None:
    if write is None:
        return
    others = sa.delete(VpcMember).where(
        VpcMember.instance_id == write.instance_id,
        VpcMember.state == MemberState.JOINED.value,
    )
    if write.member_id is not None:
        others = others.where(VpcMember.id != write.member_id)
    await session.execute(others)
    if write.member_id is not None:
        await session.execute(
            sa.update(VpcMember)
            .where(VpcMember.id == write.member_id)
            .values(state=MemberState.JOINED.value, task_id=None)
        )
