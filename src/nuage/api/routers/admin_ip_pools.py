"""Address pools, for operators (staff users): list, add, activate or deactivate."""

from uuid import UUID

from fastapi import APIRouter, Response

from nuage.api.deps import SessionDep
from nuage.api.routers.admin_hosts import StaffDep
from nuage.api.schemas.ips import IpPoolCreate, IpPoolOut, IpPoolUpdate
from nuage.api.writes import IdempotencyDep, commit
from nuage.services import ip_pools

router = APIRouter(prefix="/v1/admin/ip-pools", tags=["admin"])


@router.get("")
async def list_ip_pools(session: SessionDep, _staff: StaffDep) -> list[IpPoolOut]:
    return [IpPoolOut.of(view) for view in await ip_pools.list_pools(session)]


@router.post("", status_code=201, response_model=IpPoolOut)
async def add_ip_pool(
    body: IpPoolCreate, session: SessionDep, _staff: StaffDep, idem: IdempotencyDep
) -> Response:
    """Adds a pool to a location: an IPv4 range or an IPv6 prefix that overlaps no other pool."""
    spec = ip_pools.PoolSpec(**body.model_dump(exclude={"is_active"}))
    pool = await ip_pools.add_pool(session, spec, is_active=body.is_active)
    view = await ip_pools.get_pool(session, pool.id)
    return await commit(session, idem, 201, IpPoolOut.of(view))


@router.get("/{pool_id}")
async def get_ip_pool(pool_id: UUID, session: SessionDep, _staff: StaffDep) -> IpPoolOut:
    return IpPoolOut.of(await ip_pools.get_pool(session, pool_id))


@router.patch("/{pool_id}", response_model=IpPoolOut)
async def change_ip_pool(
    pool_id: UUID, body: IpPoolUpdate, session: SessionDep, _staff: StaffDep
) -> Response:
    """Activates or deactivates a pool (an inactive one hands out nothing new)."""
    await ip_pools.set_pool_active(session, pool_id, body.is_active)
    return await commit(session, None, 200, IpPoolOut.of(await ip_pools.get_pool(session, pool_id)))
