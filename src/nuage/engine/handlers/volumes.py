"""Volume task types, and what deleting an instance does to its volumes.

A volume lives on one host (`volumes.host_id`, the host of the instance it was made for): its
operations go to that host's driver, which may no longer be the host of the instance a detached
volume's task is recorded against. Attach and create run on the instance's own host. The
volume's row is written by the engine with the task's end (`ResourceEffects` + the handler's
`Outcome.resource`); each driver call converges when a crashed task runs again.
"""

from typing import Any
from uuid import UUID

from nuage.db.models import Volume
from nuage.domain.catalogue import Resource
from nuage.domain.enums import TaskType
from nuage.domain.errors import PermanentError
from nuage.drivers.base import VolumeInfo
from nuage.drivers.capabilities import VOLUMES, VolumeStorage
from nuage.engine import instance_rows
from nuage.engine.context import TaskContext
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


def _volume_id(ctx: TaskContext) -> str:
    return str(ctx.record.parameters["volume_id"])


async def _storage_of(ctx: TaskContext, volume: Volume) -> VolumeStorage:
    """The driver of the host the volume lives on (the instance's, while it has none yet)."""
    return await ctx.capable_on(volume.host_id, VOLUMES)


def _outcome(info: VolumeInfo, **row: Any) -> Outcome:
    result = {
        "volume_id": info.volume_id,
        "size_gb": info.size_gb,
        "instance_id": info.machine_id,
        "device": info.device,
    }
    values = {"size_gb": info.size_gb, "external_id": info.external_id, **row}
    return Outcome(result=result, instance=InstanceUpdate(), resource=values)


async def _attach(ctx: TaskContext, volume_id: str) -> Outcome:
    await ctx.step("attach", f"Attaching volume {volume_id} to the instance.", 60)
    info = await ctx.capable(VOLUMES).attach_volume(volume_id, machine_id=ctx.machine_id)
    assert ctx.host is not None  # the driver call above needs the instance's host
    attached = {"instance_id": ctx.record.instance.id, "device": info.device}
    return _outcome(info, host_id=ctx.host.id, last_instance_id=ctx.record.instance.id, **attached)


@handles(TaskType.CREATE_VOLUME)
async def create_volume(ctx: TaskContext) -> Outcome:
    volume_id, size_gb = _volume_id(ctx), int(ctx.record.parameters["size_gb"])
    await ctx.step("create", f"Creating volume {volume_id} ({size_gb} GiB).", 20)
    await ctx.capable(VOLUMES).create_volume(volume_id, size_gb=size_gb)
    return await _attach(ctx, volume_id)


@handles(TaskType.ATTACH_VOLUME)
async def attach_volume(ctx: TaskContext) -> Outcome:
    volume = await ctx.volume(UUID(_volume_id(ctx)))
    if ctx.host is None or volume.host_id not in (None, ctx.host.id):
        message = "The volume lives on another host than the instance's."
        raise PermanentError(message, code="volume_elsewhere")
    return await _attach(ctx, str(volume.id))


@handles(TaskType.DETACH_VOLUME)
async def detach_volume(ctx: TaskContext) -> Outcome:
    volume = await ctx.volume(UUID(_volume_id(ctx)))
    storage = await _storage_of(ctx, volume)
    await ctx.step("detach", f"Detaching volume {volume.id} from the instance.", 40)
    info = await storage.detach_volume(str(volume.id), machine_id=ctx.machine_id)
    if info.machine_id is not None:
        message = f"The volume is attached to machine {info.machine_id}, not to this instance."
        raise PermanentError(message, code="volume_in_use")
    return _outcome(info, instance_id=None, device=None)


@handles(TaskType.RESIZE_VOLUME)
async def resize_volume(ctx: TaskContext) -> Outcome:
    volume = await ctx.volume(UUID(_volume_id(ctx)))
    size_gb = int(ctx.record.parameters["size_gb"])
    storage = await _storage_of(ctx, volume)
    await ctx.step("resize", f"Growing volume {volume.id} to {size_gb} GiB.", 40)
    return _outcome(await storage.resize_volume(str(volume.id), size_gb=size_gb))


@handles(TaskType.DELETE_VOLUME)
async def delete_volume(ctx: TaskContext) -> Outcome:
    volume = await ctx.resource(Resource.VOLUME, UUID(_volume_id(ctx)))
    if not isinstance(volume, Volume):
        return Outcome(result={"deleted": True}, instance=InstanceUpdate())  # a delete before
    storage = await _storage_of(ctx, volume)
    await ctx.step("delete", f"Deleting volume {volume.id} and its data.", 40)
    await storage.delete_volume(str(volume.id))
    return Outcome(result={"deleted": True}, instance=InstanceUpdate())


async def release_volumes(ctx: TaskContext) -> None:
    """After its machine is gone, an instance's attached volumes: detached and kept (the machine
    held them; they are available), or deleted with `delete_volumes`."""
    attached = await ctx.attached_volumes()
    if not attached:
        return
    remove = bool((ctx.record.parameters or {}).get("delete_volumes"))
    if remove:
        for volume in attached:
            await (await _storage_of(ctx, volume)).delete_volume(str(volume.id))
    verb = "Deleted" if remove else "Detached"
    instance_id = ctx.record.instance.id
    await ctx.step(
        "volumes",
        f"{verb} {len(attached)} volume(s).",
        90,
        write=lambda session: instance_rows.release_volumes(session, instance_id, remove=remove),
    )
