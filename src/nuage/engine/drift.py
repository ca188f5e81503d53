"""Drift: what a machine's hypervisor reports that the database does not say (a change made
outside nuage: `virsh setvcpus`, a guest powered off from inside, an operator's console).

`sync_vps_state` adopts it (the database takes what the hypervisor says; `drift` is its result's
record of what changed). The sweep (`sweep`, every `drift_sweep_seconds` when set) inspects each
settled instance's machine and queues a `sync_vps_state` for those that drifted, at most one per
instance: an instance with a task pending or running is skipped (its task changes the machine,
and a drift seen meanwhile is not one), and the queueing takes the instance's row lock.

Attached devices (volumes) are not compared yet: no driver reports them.
"""

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import Instance
from nuage.db.session import transaction
from nuage.domain.enums import InstanceStatus, PowerState
from nuage.domain.errors import InstanceBusy, NuageError
from nuage.drivers.base import MachineInfo
from nuage.engine import queries
from nuage.engine.hosts import Drivers
from nuage.engine.records import HostRecord, InstanceRecord, InstanceUpdate, host_record
from nuage.services.drift import queue_sync

log = logging.getLogger(__name__)

SETTLED = [InstanceStatus.RUNNING.value, InstanceStatus.STOPPED.value, InstanceStatus.ERROR.value]


@dataclass(frozen=True, slots=True)
class Known:
    """What the database says of an instance's machine."""

    status: InstanceStatus
    power_state: PowerState
    vcpu: int
    ram_mb: int
    disk_gb: int
    software: tuple[str, ...] = ()

    @classmethod
    def of(cls, instance: InstanceRecord | Instance) -> "Known":
        return cls(
            status=InstanceStatus(instance.status),
            power_state=PowerState(instance.power_state),
            vcpu=instance.vcpu,
            ram_mb=instance.ram_mb,
            disk_gb=instance.disk_gb,
            software=tuple(instance.software or ()),
        )


def drift(known: Known, info: MachineInfo | None) -> dict[str, dict[str, Any]]:
    """Each field the hypervisor reports otherwise than the database, as {"was", "now"}; a
    missing machine drifts to `error` with power `unknown`."""
    found = InstanceUpdate.as_found(info)
    now: dict[str, Any] = {"status": found.status, "power_state": found.power_state}
    if info is not None:
        now |= {"vcpu": info.vcpu, "ram_mb": info.ram_mb, "disk_gb": info.disk_gb}
        now["software"] = list(info.software)
    was = {
        "status": known.status,
        "power_state": known.power_state,
        "vcpu": known.vcpu,
        "ram_mb": known.ram_mb,
        "disk_gb": known.disk_gb,
        "software": list(known.software),
    }
    return {
        name: {"was": _plain(was[name]), "now": _plain(value)}
        for name, value in now.items()
        if value != was[name]
    }


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, InstanceStatus | PowerState) else value


async def _candidates(session: AsyncSession) -> list[tuple[UUID, HostRecord, Known]]:
    found = await queries.idle_placed_instances(session, SETTLED)
    return [(i.id, host_record(i.host), Known.of(i)) for i in found if i.host is not None]


async def sweep(sessions: async_sessionmaker[AsyncSession], drivers: Drivers) -> list[UUID]:
    """Queue `sync_vps_state` for every settled instance whose machine drifted; the instances
    queued. A host that cannot be inspected is skipped until the next sweep."""
    async with transaction(sessions) as session:
        candidates = await _candidates(session)
    queued = []
    for instance_id, host, known in candidates:
        try:
            info = await drivers.for_host(host).inspect(str(instance_id))
        except NuageError as exc:
            log.warning("drift sweep: cannot inspect %s on %s: %s", instance_id, host.name, exc)
            continue
        if drift(known, info) and await _queue(sessions, instance_id):
            queued.append(instance_id)
    return queued


async def _queue(sessions: async_sessionmaker[AsyncSession], instance_id: UUID) -> bool:
    try:
        async with transaction(sessions) as session:
            return await queue_sync(session, instance_id) is not None
    except InstanceBusy:  # a task was queued since: it decides
        return False
