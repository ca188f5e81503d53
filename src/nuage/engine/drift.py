"""Drift: what a machine's hypervisor reports that the database does not say (a change made
outside nuage: `virsh setvcpus`, a guest powered off from inside, an operator's console).

`sync_vps_state` adopts it (the database takes what the hypervisor says; `drift` is its result's
record of what changed). The sweep (`sweep`, every `drift_sweep_seconds` when set) inspects each
settled instance's machine and queues a `sync_vps_state` for those that drifted, at most one per
instance: an instance with a task pending or running is skipped (its task changes the machine,
and a drift seen meanwhile is not one), and the queueing takes the instance's row lock.

Attached devices: the volumes the database says are attached (`in-use`), as `[volume id,
device]` pairs, against where the machine has them (`MachineInfo.disks`): one detached or moved
behind nuage's back is drift. Sync adopts those, and also attaches a volume the machine gained
if it is an available one of the instance's project (`volume_drift`); the sweep does not look
for such gains (it would need each disk's row), nor for disks nuage did not make, which sync
reports and leaves as they are.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.models import Instance, Volume
from nuage.db.session import transaction
from nuage.domain.enums import InstanceStatus, PowerState
from nuage.domain.errors import InstanceBusy, NuageError
from nuage.drivers.base import MachineInfo
from nuage.engine import instance_rows
from nuage.engine.hosts import Drivers
from nuage.engine.records import HostRecord, InstanceRecord, InstanceUpdate, host_record
from nuage.engine.volume_drift import attached_in_use
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
    volumes: tuple[tuple[str, str], ...] = ()  # (volume id, device) of the in-use ones, sorted

    @classmethod
    def of(cls, instance: InstanceRecord | Instance, volumes: Sequence[Volume] = ()) -> "Known":
        return cls(
            status=InstanceStatus(instance.status),
            power_state=PowerState(instance.power_state),
            vcpu=instance.vcpu,
            ram_mb=instance.ram_mb,
            disk_gb=instance.disk_gb,
            software=tuple(instance.software or ()),
            volumes=tuple(sorted((str(v.id), v.device or "") for v in attached_in_use(volumes))),
        )


def drift(known: Known, info: MachineInfo | None) -> dict[str, dict[str, Any]]:
    """Each field the hypervisor reports otherwise than the database, as {"was", "now"}; a
    missing machine drifts to `error` with power `unknown`."""
    found = InstanceUpdate.as_found(info)
    now: dict[str, Any] = {"status": found.status, "power_state": found.power_state}
    if info is not None:
        now |= {"vcpu": info.vcpu, "ram_mb": info.ram_mb, "disk_gb": info.disk_gb}
        now["software"] = list(info.software)
        now["volumes"] = machine_volumes(known, info)
    was = {
        "status": known.status,
        "power_state": known.power_state,
        "vcpu": known.vcpu,
        "ram_mb": known.ram_mb,
        "disk_gb": known.disk_gb,
        "software": list(known.software),
        "volumes": [list(v) for v in known.volumes],
    }
    return {
        name: {"was": _plain(was[name]), "now": _plain(value)}
        for name, value in now.items()
        if value != was[name]
    }


def machine_volumes(known: Known, info: MachineInfo) -> list[list[str]]:
    """The known attached volumes where the machine has them now, as `[volume id, device]`."""
    ids = {volume_id for volume_id, _ in known.volumes}
    return sorted([d.volume_id, d.device] for d in info.disks if d.volume_id in ids)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, InstanceStatus | PowerState) else value


async def _candidates(session: AsyncSession) -> list[tuple[UUID, HostRecord, Known]]:
    found = await instance_rows.idle_placed_instances(session, SETTLED)
    return [
        (
            i.id,
            host_record(i.host),
            Known.of(i, await instance_rows.attached_volumes(session, i.id)),
        )
        for i in found
        if i.host is not None
    ]


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
