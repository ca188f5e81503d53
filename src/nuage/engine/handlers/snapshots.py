"""Snapshots of an instance's disk and the custom images made from them."""

from typing import Any
from uuid import UUID

from nuage.domain.enums import TaskType
from nuage.domain.errors import PermanentError
from nuage.drivers.capabilities import IMAGES, SNAPSHOTS
from nuage.engine.context import TaskContext
from nuage.engine.handlers.instances import machine_result
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


def _param(ctx: TaskContext, name: str) -> str:
    return str(ctx.record.parameters[name])


@handles(TaskType.CREATE_SNAPSHOT)
async def create_snapshot(ctx: TaskContext) -> Outcome:
    snapshot_id = _param(ctx, "snapshot_id")
    await ctx.step("snapshot", f"Taking snapshot {snapshot_id} of the disk.", 30)
    info = await ctx.capable(SNAPSHOTS).create_snapshot(ctx.machine_id, snapshot_id)
    result: dict[str, Any] = {"snapshot_id": snapshot_id, "size_gb": info.disk_gb}
    resource = {"size_gb": info.disk_gb, "external_id": info.external_id}
    return Outcome(result=result, instance=InstanceUpdate(), resource=resource)


@handles(TaskType.DELETE_SNAPSHOT)
async def delete_snapshot(ctx: TaskContext) -> Outcome:
    snapshot_id = _param(ctx, "snapshot_id")
    await ctx.step("delete", f"Deleting snapshot {snapshot_id}.", 30)
    await ctx.capable(SNAPSHOTS).delete_snapshot(ctx.machine_id, snapshot_id)
    return Outcome(result={"snapshot_id": snapshot_id, "deleted": True}, instance=InstanceUpdate())


@handles(TaskType.RESTORE_SNAPSHOT)
async def restore_snapshot(ctx: TaskContext) -> Outcome:
    snapshot_id = _param(ctx, "snapshot_id")
    await ctx.step("restore", f"Bringing the disk back to snapshot {snapshot_id}.", 30)
    info = await ctx.capable(SNAPSHOTS).restore_snapshot(ctx.machine_id, snapshot_id)
    update = InstanceUpdate(power_state=info.power, external_id=info.external_id)
    return Outcome(result={"snapshot_id": snapshot_id, **machine_result(info)}, instance=update)


@handles(TaskType.CREATE_IMAGE_FROM_SNAPSHOT)
async def create_image_from_snapshot(ctx: TaskContext) -> Outcome:
    snapshot_id = _param(ctx, "snapshot_id")
    image = await ctx.image(UUID(_param(ctx, "image_id")))
    await ctx.step("copy", f"Copying snapshot {snapshot_id} into image {image.name}.", 30)
    info = await ctx.capable(IMAGES).create_image(ctx.machine_id, snapshot_id, image.slug)
    result = {"image_id": str(image.id), "min_disk_gb": info.min_disk_gb}
    resource = {"min_disk_gb": info.min_disk_gb, "external_id": info.external_id}
    return Outcome(result=result, instance=InstanceUpdate(), resource=resource)


@handles(TaskType.DELETE_IMAGE)
async def delete_image(ctx: TaskContext) -> Outcome:
    """The image lives on the host its snapshot's instance had (the instance may be gone)."""
    image = await ctx.image(UUID(_param(ctx, "image_id")))
    if image.host_id is None:
        raise PermanentError(f"Image {image.id} names no host.", code="not_placed")
    await ctx.step("delete", f"Deleting image {image.name}.", 30)
    await (await ctx.capable_on(image.host_id, IMAGES)).delete_image(image.slug)
    result = {"image_id": str(image.id), "deleted": True}
    # Its row is kept, inactive (hidden): instances made from it still name it as their image.
    gone = {"is_active": False, "external_id": None}
    return Outcome(result=result, instance=InstanceUpdate(), resource=gone)
