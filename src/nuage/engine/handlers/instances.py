"""The instance's own task types: lifecycle, power, hardware, disk and name."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from nuage.domain.enums import PowerState, TaskType
from nuage.domain.ipam import AddressState
from nuage.domain.placement import Resources
from nuage.drivers.base import MachineInfo, MachineSpec
from nuage.drivers.capabilities import HOSTNAME, POWER, REINSTALL, RESIZE
from nuage.engine import volume_drift
from nuage.engine.addresses import AddressWrite
from nuage.engine.context import TaskContext
from nuage.engine.drift import Known, drift
from nuage.engine.handlers.registry import handles
from nuage.engine.handlers.volumes import release_volumes
from nuage.engine.records import InstanceUpdate, Outcome
from nuage.engine.volume_drift import attached_in_use


def machine_result(info: MachineInfo) -> dict[str, Any]:
    return {
        "power_state": info.power.value,
        "vcpu": info.vcpu,
        "ram_mb": info.ram_mb,
        "disk_gb": info.disk_gb,
        "hostname": info.hostname,
        "image": info.image,
        "ipv4": list(info.ipv4),
        "ipv6": list(info.ipv6),
    }


def _outcome(info: MachineInfo, **changes: Any) -> Outcome:
    return Outcome(result=machine_result(info), instance=InstanceUpdate.hardware(info, **changes))


@handles(TaskType.CREATE_VPS)
async def create_vps(ctx: TaskContext) -> Outcome:
    params = ctx.record.parameters
    size = await ctx.size(UUID(params["size_id"]))
    image = await ctx.image(UUID(params["image_id"]))
    # A custom image is a file on one host: the instance goes there.
    host = await ctx.place(Resources(size.vcpu, size.ram_mb, size.disk_gb), only=image.host_id)
    await ctx.step("placed", f"Placed on host {host.name}.", 10)
    await ctx.step("provision", f"Creating the machine from {image.name} on {size.name}.", 20)
    primaries = [r.guest for r in await ctx.addresses() if r.state is AddressState.ASSIGNED]
    spec = MachineSpec(
        machine_id=ctx.machine_id,
        name=ctx.record.instance.name,
        hostname=params["hostname"],
        vcpu=size.vcpu,
        ram_mb=size.ram_mb,
        disk_gb=size.disk_gb,
        image=image.slug,
        tags=ctx.record.instance.tags,
        addresses=tuple(primaries),
    )
    info = await ctx.driver.create(spec)
    await ctx.step("booted", "The machine is created and powered on.", 90)
    return _outcome(info, ipv4=info.ipv4, ipv6=info.ipv6)


@handles(TaskType.DELETE_VPS)
async def delete_vps(ctx: TaskContext) -> Outcome:
    await ctx.step("destroy", "Powering off and removing the machine and its disks.", 30)
    if ctx.host is not None:  # never placed: its create never ran, there is nothing to remove
        await ctx.driver.delete(ctx.machine_id)
    await release_volumes(ctx)
    gone = InstanceUpdate(power_state=PowerState.OFF, machine_gone=True)
    # Its addresses go back to their pools (after the quarantine).
    released = tuple(AddressWrite(r.id, AddressState.RELEASED) for r in await ctx.addresses())
    return Outcome(result={"deleted": True}, instance=gone, addresses=released)


async def _power(
    ctx: TaskContext, operation: Callable[[], Awaitable[MachineInfo]], message: str
) -> Outcome:
    await ctx.step("power", message, 30)
    return _outcome(await operation())


@handles(TaskType.START_VPS)
async def start_vps(ctx: TaskContext) -> Outcome:
    return await _power(ctx, lambda: ctx.capable(POWER).start(ctx.machine_id), "Powering on.")


@handles(TaskType.STOP_VPS)
async def stop_vps(ctx: TaskContext) -> Outcome:
    return await _power(ctx, lambda: ctx.capable(POWER).stop(ctx.machine_id), "Powering off.")


@handles(TaskType.SHUTDOWN_VPS)
async def shutdown_vps(ctx: TaskContext) -> Outcome:
    return await _power(
        ctx, lambda: ctx.capable(POWER).shutdown(ctx.machine_id), "Asking the guest to shut down."
    )


@handles(TaskType.REBOOT_VPS)
async def reboot_vps(ctx: TaskContext) -> Outcome:
    return await _power(
        ctx, lambda: ctx.capable(POWER).reboot(ctx.machine_id), "Asking the guest to reboot."
    )


@handles(TaskType.RESET_VPS)
async def reset_vps(ctx: TaskContext) -> Outcome:
    return await _power(
        ctx, lambda: ctx.capable(POWER).reset(ctx.machine_id), "Resetting the machine."
    )


@handles(TaskType.RESIZE_VPS)
async def resize_vps(ctx: TaskContext) -> Outcome:
    size = await ctx.size(UUID(ctx.record.parameters["size_id"]))
    await ctx.step("resize", f"Resizing to {size.name} ({size.vcpu} vCPU, {size.ram_mb} MiB).", 30)
    info = await ctx.capable(RESIZE).resize(
        ctx.machine_id, vcpu=size.vcpu, ram_mb=size.ram_mb, disk_gb=size.disk_gb
    )
    return _outcome(info, size_id=size.id)


@handles(TaskType.REINSTALL_OS)
async def reinstall_os(ctx: TaskContext) -> Outcome:
    image = await ctx.image(UUID(ctx.record.parameters["image_id"]))
    await ctx.step("reinstall", f"Replacing the disk with a fresh {image.name}.", 30)
    info = await ctx.capable(REINSTALL).reinstall(
        ctx.machine_id, image=image.slug, hostname=ctx.record.instance.hostname
    )
    return _outcome(info, image_id=image.id, disk_replaced=True)


@handles(TaskType.CHANGE_HOSTNAME)
async def change_hostname(ctx: TaskContext) -> Outcome:
    hostname = ctx.record.parameters["hostname"]
    await ctx.step("hostname", f"Setting the hostname to {hostname}.", 30)
    info = await ctx.capable(HOSTNAME).set_hostname(ctx.machine_id, hostname)
    return _outcome(info, hostname=hostname)


@handles(TaskType.SYNC_VPS_STATE)
async def sync_vps_state(ctx: TaskContext) -> Outcome:
    """Adopt what the hypervisor reports (power, status, hardware), changed outside nuage or
    not; the result's `drift` says what the database said otherwise."""
    await ctx.step("inspect", "Reading the machine's state from the hypervisor.", 30)
    info = await ctx.driver.inspect(ctx.machine_id) if ctx.host is not None else None
    attached = attached_in_use(await ctx.attached_volumes())
    changed = drift(Known.of(ctx.record.instance, attached), info)
    found = InstanceUpdate.as_found(info)
    if info is None:
        return Outcome(result={"found": False, "drift": changed}, instance=found)
    adoption = await volume_drift.plan(ctx, attached, info)
    await volume_drift.adopt(ctx, adoption)
    changed = {**changed, **adoption.drift(attached)}
    result = {"found": True, **machine_result(info), "drift": changed, **adoption.result()}
    return Outcome(result=result, instance=found)
