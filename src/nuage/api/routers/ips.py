"""An instance's addresses: list them, and queue `assign_ip`, `remove_ip` and
`update_reverse_dns` (their specs: domain/catalogue/ips.py). Each action answers 202 with its
task, as the generated actions do."""

from uuid import UUID

from fastapi import APIRouter, Request, Response

from nuage.api.deps import ReadAccess, RuntimeDep, SessionDep, WriteAccess
from nuage.api.routers.instances import PREFIX, OnConflict, task_accepted
from nuage.api.schemas.ips import IpAssign, IpOut, ReverseDnsUpdate
from nuage.api.schemas.tasks import TaskOut
from nuage.api.writes import IdempotencyDep
from nuage.domain import enums
from nuage.services import ipam

router = APIRouter(prefix=PREFIX + "/instances/{instance_id}/ips", tags=["ips"])
_QUEUE = enums.OnConflict.QUEUE
_REJECT = enums.OnConflict.REJECT


@router.get("")
async def list_ips(instance_id: UUID, session: SessionDep, access: ReadAccess) -> list[IpOut]:
    """The instance's addresses, primary ones first."""
    return [IpOut.of(row) for row in await ipam.list_addresses(session, access, instance_id)]


@router.post("", status_code=202, response_model=TaskOut)
async def assign_ip(
    instance_id: UUID,
    body: IpAssign,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    idem: IdempotencyDep,
    runtime: RuntimeDep,
    on_conflict: OnConflict = _QUEUE,
) -> Response:
    """Queues `assign_ip`: reserves a free address of `version` from the location's pools (it
    is listed as `assigning` at once) and gives it to the machine; a running guest restarts to
    take it. `409 address_pool_exhausted` when none is free."""
    task = await ipam.assign(
        session,
        access,
        instance_id,
        int(body.version),
        quarantine=runtime.settings.ip_quarantine,
        reject_if_busy=on_conflict is _REJECT,
    )
    return await task_accepted(request, session, idem, access, task)


@router.delete("/{ip_id}", status_code=202, response_model=TaskOut)
async def remove_ip(
    instance_id: UUID,
    ip_id: UUID,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    on_conflict: OnConflict = _QUEUE,
) -> Response:
    """Queues `remove_ip`: the address leaves the machine (a running guest restarts) and returns
    to its pool after the quarantine. `409 primary_address` for a primary address."""
    reject = on_conflict is _REJECT
    task = await ipam.remove(session, access, instance_id, ip_id, reject_if_busy=reject)
    return await task_accepted(request, session, None, access, task)


@router.put("/{ip_id}/reverse-dns", status_code=202, response_model=TaskOut)
async def update_reverse_dns(
    instance_id: UUID,
    ip_id: UUID,
    body: ReverseDnsUpdate,
    request: Request,
    session: SessionDep,
    access: WriteAccess,
    on_conflict: OnConflict = _QUEUE,
) -> Response:
    """Queues `update_reverse_dns`: the address's PTR name (`null`: the pool's default name)."""
    task = await ipam.set_reverse_dns(
        session, access, instance_id, ip_id, body.ptr, reject_if_busy=on_conflict is _REJECT
    )
    return await task_accepted(request, session, None, access, task)
