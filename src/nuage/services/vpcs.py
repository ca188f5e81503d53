"""VPC records: list, read, create, change and delete a project's VPCs, written at once (no
task: the hypervisor's network is made by the first member's `update_vpc`).

Blocks never overlap within a project: a create or a change of block locks the project's row
(PostgreSQL: concurrent requests of one project queue behind each other) and then compares. A
VPC with members keeps its block and location, and cannot be deleted (409 `vpc_has_members`).
"""

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask, Location, Project, Vpc, VpcMember
from nuage.domain.errors import NotFound, ValidationFailed, VpcCidrOverlap, VpcHasMembers
from nuage.domain.tasks import ACTIVE
from nuage.domain.vpcs import NAME_MAX, MemberState, overlapping, parse_cidr_block
from nuage.services.access import ProjectAccess
from nuage.services.catalogue import active_entry
from nuage.services.pagination import PageRequest, PageResult, paginate

_ACTIVE = [s.value for s in ACTIVE]


def _project_vpcs(access: ProjectAccess) -> sa.Select[Vpc]:
    return sa.select(Vpc).where(Vpc.project_id == access.project.id)


async def list_vpcs(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> PageResult[Vpc]:
    stmt = _project_vpcs(access).order_by(Vpc.created.desc(), Vpc.id.desc())
    return await paginate(session, stmt, page)


async def get_vpc(
    session: AsyncSession, access: ProjectAccess, vpc_id: UUID, *, lock: bool = False
) -> Vpc:
    """The project's VPC (another project's is NotFound, as a missing one)."""
    stmt = _project_vpcs(access).where(Vpc.id == vpc_id)
    if lock:
        stmt = stmt.with_for_update(of=Vpc)
    vpc = await session.scalar(stmt.execution_options(populate_existing=True))
    if vpc is None:
        raise NotFound()
    return vpc


async def create_vpc(
    session: AsyncSession, access: ProjectAccess, *, name: str, cidr_block: str, location_id: UUID
) -> Vpc:
    name = _checked_name(name)
    block = parse_cidr_block(cidr_block)
    location = await active_entry(session, Location, location_id, "location_id")
    await _check_no_overlap(session, access, str(block), keep=None)
    vpc = Vpc(
        project_id=access.project.id, name=name, cidr_block=str(block), location_id=location.id
    )
    session.add(vpc)
    await session.flush()
    return await get_vpc(session, access, vpc.id)


async def change_vpc(
    session: AsyncSession,
    access: ProjectAccess,
    vpc_id: UUID,
    *,
    name: str,
    cidr_block: str,
    location_id: UUID,
) -> Vpc:
    """PUT: the whole record; the block and the location change only while it has no members."""
    vpc = await get_vpc(session, access, vpc_id, lock=True)
    name = _checked_name(name)
    block = str(parse_cidr_block(cidr_block))
    if (block, location_id) != (vpc.cidr_block, vpc.location_id):
        await active_entry(session, Location, location_id, "location_id")
        if await member_count(session, vpc.id):
            raise VpcHasMembers("A VPC with members keeps its block and location.")
        await _check_no_overlap(session, access, block, keep=vpc.id)
    vpc.name, vpc.cidr_block, vpc.location_id = name, block, location_id
    await session.flush()
    return await get_vpc(session, access, vpc.id)


async def delete_vpc(session: AsyncSession, access: ProjectAccess, vpc_id: UUID) -> None:
    vpc = await get_vpc(session, access, vpc_id, lock=True)
    if await member_count(session, vpc.id):
        raise VpcHasMembers("The VPC has members: move them out (POST …/instances/{id}/vpc).")
    await session.execute(sa.delete(VpcMember).where(VpcMember.vpc_id == vpc.id))
    await session.delete(vpc)
    await session.flush()


async def member_count(session: AsyncSession, vpc_id: UUID) -> int:
    """Live instances that are in the VPC or on their way in (an `update_vpc` still to run)."""
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(VpcMember)
        .join(Instance, Instance.id == VpcMember.instance_id)
        .where(VpcMember.vpc_id == vpc_id, Instance.is_live, held())
    )
    return int(count or 0)


def held() -> sa.ColumnElement[bool]:
    """A membership that counts: joined, or reserved by an `update_vpc` still pending or
    running (one that gave up frees its address at once)."""
    live_task = sa.select(InstanceTask.id).where(
        InstanceTask.id == VpcMember.task_id, InstanceTask.status.in_(_ACTIVE)
    )
    return sa.or_(
        VpcMember.state == MemberState.JOINED.value,
        sa.and_(VpcMember.state == MemberState.JOINING.value, live_task.exists()),
    )


def _checked_name(name: str) -> str:
    value = name.strip()
    if not value or len(value) > NAME_MAX:
        raise ValidationFailed.on("name", f"Enter a name of 1 to {NAME_MAX} characters.")
    return value


async def _check_no_overlap(
    session: AsyncSession, access: ProjectAccess, block: str, *, keep: UUID | None
) -> None:
    await session.execute(
        sa.select(Project.id).where(Project.id == access.project.id).with_for_update()
    )
    others = (
        await session.execute(
            sa.select(Vpc.name, Vpc.cidr_block).where(
                Vpc.project_id == access.project.id, Vpc.id != keep if keep else sa.true()
            )
        )
    ).all()
    clash = overlapping(parse_cidr_block(block), [(n, c) for n, c in others])
    if clash:
        names = ", ".join(f"{n} ({c})" for n, c in clash)
        raise VpcCidrOverlap(f"{block} overlaps this project's VPC {names}.")
