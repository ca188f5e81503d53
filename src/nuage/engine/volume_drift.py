"""Volumes attached or detached behind nuage's back (`virsh attach-disk`, `virsh detach-disk`, an
operator's console): what `sync_vps_state` adopts.

The disks the machine has beside its main disk (`MachineInfo.disks`) are compared with the
volumes the database says are attached to the instance (`in-use`):
- an attached volume the machine no longer has is detached: `available`, no instance, no device
  (`last_instance_id` still names the instance);
- a disk that is an `available` volume of the instance's project and location is attached:
  `in-use` on the instance at the machine's device; an attached volume found at another device
  takes that device;
- any other disk (not a volume file of the host, a volume nuage has no row for, one of another
  project or location, one a task is working on) is only reported (`unknown_disks` in the task's
  result): no row is invented, and no row is taken from where the database has it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from nuage.db.models import Volume
from nuage.domain.catalogue import Resource
from nuage.domain.enums import VolumeStatus
from nuage.drivers.base import AttachedDisk, MachineInfo
from nuage.engine import instance_rows
from nuage.engine.context import TaskContext


@dataclass(frozen=True, slots=True)
class VolumeAdoption:
    detached: tuple[UUID, ...] = ()
    attached: Mapping[UUID, str] = field(default_factory=dict)  # volume → its device now
    unknown: tuple[AttachedDisk, ...] = ()

    def drift(self, attached: Sequence[Volume]) -> dict[str, Any]:
        """The `volumes` entry of sync's `drift`: where the database had them, and has them now
        (`[volume id, device]` pairs); empty when nothing changed."""
        if not self.detached and not self.attached:
            return {}
        was = {str(v.id): v.device or "" for v in attached}
        now = {k: d for k, d in was.items() if UUID(k) not in self.detached}
        now |= {str(v): device for v, device in self.attached.items()}
        pairs = [[k, d] for k, d in sorted(was.items())]
        return {"volumes": {"was": pairs, "now": [[k, d] for k, d in sorted(now.items())]}}

    def result(self) -> dict[str, Any]:
        """For the task's result: what changed, and the disks left as they are."""
        return {
            "volumes_detached": [str(v) for v in self.detached],
            "volumes_attached": {str(v): device for v, device in self.attached.items()},
            "unknown_disks": [{"device": d.device, "source": d.source} for d in self.unknown],
        }


def attached_in_use(volumes: Sequence[Volume]) -> list[Volume]:
    """The volumes the database says the machine holds (not those a task is moving)."""
    return [v for v in volumes if v.status == VolumeStatus.IN_USE.value]


async def plan(ctx: TaskContext, attached: Sequence[Volume], info: MachineInfo) -> VolumeAdoption:
    on_machine = {d.volume_id: d for d in info.disks if d.volume_id is not None}
    detached = tuple(v.id for v in attached if str(v.id) not in on_machine)
    still = [(v, on_machine[str(v.id)].device) for v in attached if str(v.id) in on_machine]
    changed = {v.id: device for v, device in still if device != v.device}
    known = {str(v.id) for v in attached}
    unknown = [d for d in info.disks if d.volume_id is None]
    for disk in (d for d in info.disks if d.volume_id is not None and d.volume_id not in known):
        row = await _adoptable(ctx, disk.volume_id or "")
        if row is None:
            unknown.append(disk)
        else:
            changed[row.id] = disk.device
    return VolumeAdoption(detached, changed, tuple(unknown))


async def _adoptable(ctx: TaskContext, volume_id: str) -> Volume | None:
    try:
        row = await ctx.resource(Resource.VOLUME, UUID(volume_id))
    except ValueError:
        return None
    instance = ctx.record.instance
    if (
        isinstance(row, Volume)
        and row.status == VolumeStatus.AVAILABLE.value
        and row.project_id == instance.project_id
        and row.location_id == instance.location_id
    ):
        return row
    return None


async def adopt(ctx: TaskContext, adoption: VolumeAdoption) -> None:
    if not adoption.detached and not adoption.attached:
        return
    instance_id = ctx.record.instance.id
    await ctx.step(
        "volumes",
        f"Adopting {len(adoption.detached)} detached and {len(adoption.attached)} attached "
        "volume(s) as the hypervisor has them.",
        60,
        write=lambda s: instance_rows.adopt_volumes(
            s, instance_id, adoption.detached, adoption.attached
        ),
    )
