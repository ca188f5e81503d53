"""The host registry, for operators (staff users): list, add, change capacity and state."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from nuage.api.deps import PrincipalDep, RuntimeDep, SessionDep
from nuage.api.schemas.hosts import HostCreate, HostOut, HostUpdate
from nuage.api.writes import IdempotencyDep, commit
from nuage.services import hosts
from nuage.services.principals import Principal


async def staff(session: SessionDep, principal: PrincipalDep) -> Principal:
    await hosts.require_staff(session, principal)
    return principal


StaffDep = Annotated[Principal, Depends(staff)]
router = APIRouter(prefix="/v1/admin/hosts", tags=["admin"])


@router.get("")
async def list_hosts(session: SessionDep, _staff: StaffDep) -> list[HostOut]:
    return [HostOut.of(view) for view in await hosts.list_hosts(session)]


@router.post("", status_code=201, response_model=HostOut)
async def add_host(
    body: HostCreate,
    session: SessionDep,
    _staff: StaffDep,
    idem: IdempotencyDep,
    runtime: RuntimeDep,
) -> Response:
    """Register a host; its driver must reach it first (a Proxmox host: its API and token)."""
    spec = hosts.HostSpec(**body.model_dump())
    host = await hosts.add_host(session, spec, check=runtime.host_check)
    return await commit(session, idem, 201, HostOut.of(await hosts.get_host(session, host.id)))


@router.get("/{host_id}")
async def get_host(host_id: UUID, session: SessionDep, _staff: StaffDep) -> HostOut:
    return HostOut.of(await hosts.get_host(session, host_id))


@router.patch("/{host_id}", response_model=HostOut)
async def change_host(
    host_id: UUID, body: HostUpdate, session: SessionDep, _staff: StaffDep
) -> Response:
    """Change capacity, URI or state (`enabled`, `disabled`, `draining`)."""
    await hosts.change_host(session, host_id, hosts.HostChanges(**body.model_dump()))
    return await commit(session, None, 200, HostOut.of(await hosts.get_host(session, host_id)))
