"""VPCs: the project's records (written at once), and an instance's move into or out of one
(`update_vpc`, answering 202 with its task as the generated actions do)."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import PageDep, ReadAccess, SessionDep, WriteAccess
from nuage.api.pages import page_of
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.common import Page
from nuage.api.schemas.tasks import TaskOut
from nuage.api.schemas.vpcs import VpcChoice, VpcOut, VpcWrite
from nuage.api.writes import IdempotencyDep, commit
from nuage.domain import enums
from nuage.services import vpc_membership, vpcs

router = APIRouter(prefix=PREFIX, tags=["vpcs"])


@router.get("/vpcs")
async def list_vpcs(
    request: Request, session: SessionDep, access: ReadAccess, page: PageDep
) -> Page[VpcOut]:
    return page_of(request, await vpcs.list_vpcs(session, access, page), VpcOut.of)


@router.post("/vpcs", status_code=201, response_model=VpcOut)
async def create_vpc(
    body: VpcWrite, session: SessionDep, access: WriteAccess, idem: IdempotencyDep
) -> Response:
    """Adds a VPC: a private block in one location (`409 vpc_cidr_overlap` when another VPC of
    the project overlaps it). Its network is made on a host when its first member joins."""
    vpc = await vpcs.create_vpc(session, access, **body.model_dump())
    return await commit(session, idem, 201, VpcOut.of(vpc))


@router.get("/vpcs/{vpc_id}")
async def get_vpc(vpc_id: UUID, session: SessionDep, access: ReadAccess) -> VpcOut:
    return VpcOut.of(await vpcs.get_vpc(session, access, vpc_id))


@router.put("/vpcs/{vpc_id}", response_model=VpcOut)
async def change_vpc(
    vpc_id: UUID, body: VpcWrite, session: SessionDep, access: WriteAccess
) -> Response:
    """Renames it; its block and location change only while it has no members."""
    vpc = await vpcs.change_vpc(session, access, vpc_id, **body.model_dump())
    return await commit(session, None, 200, VpcOut.of(vpc))


@router.delete("/vpcs/{vpc_id}", status_code=204)
async def delete_vpc(vpc_id: UUID, session: SessionDep, access: WriteAccess) -> Response:
    """Removes a VPC without members (`409 vpc_has_members` otherwise)."""
    await vpcs.delete_vpc(session, access, vpc_id)
    return await commit(session, None, 204, None)


@router.post("/instances/{instance_id}/vpc", status_code=202, response_model=TaskOut)
async def update_vpc(
    instance_id: UUID,
    body: VpcChoice,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    on_conflict: OnConflict = enums.OnConflict.QUEUE,
) -> Response:
    """Queues `update_vpc`: joins `vpc_id` with the lowest free address of its block (reserved
    now, `409 vpc_full` when none is), leaves with null, or moves in one task; a running guest
    restarts to take its second interface (`eth1`)."""
    task = await vpc_membership.request_update(
        session,
        access,
        instance_id,
        body.vpc_id,
        reject_if_busy=on_conflict is enums.OnConflict.REJECT,
    )
    return await task_accepted(request, session, idem, access, task)
