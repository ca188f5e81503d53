"""An instance's addresses: assign, remove, reverse DNS. Each hands the driver the whole list
the machine should have (`set_addresses` converges, so a re-run after a crash is harmless) and
records the address's new state in the task's terminal transaction."""

from dataclasses import replace
from uuid import UUID

from nuage.domain.enums import TaskType
from nuage.domain.errors import PermanentError
from nuage.domain.ipam import AddressState
from nuage.drivers.base import GuestAddress, MachineInfo
from nuage.drivers.capabilities import ADDRESSES
from nuage.engine.addresses import AddressRecord, AddressWrite
from nuage.engine.context import TaskContext
from nuage.engine.handlers.instances import machine_result
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


def assigned(records: list[AddressRecord]) -> list[AddressRecord]:
    """What the machine has: the assigned addresses (reserved ones of other tasks excluded)."""
    return [r for r in records if r.state is AddressState.ASSIGNED]


def _find(records: list[AddressRecord], ip_id: UUID) -> AddressRecord | None:
    return next((r for r in records if r.id == ip_id), None)


async def _apply(ctx: TaskContext, wanted: list[GuestAddress], *writes: AddressWrite) -> Outcome:
    info: MachineInfo = await ctx.capable(ADDRESSES).set_addresses(ctx.machine_id, wanted)
    update = InstanceUpdate(power_state=info.power, ipv4=info.ipv4, ipv6=info.ipv6)
    return Outcome(result=machine_result(info), instance=update, addresses=writes)


@handles(TaskType.ASSIGN_IP)
async def assign_ip(ctx: TaskContext) -> Outcome:
    ip_id = UUID(ctx.record.parameters["ip_id"])
    held = await ctx.hold_address(ip_id)
    records = await ctx.addresses()
    mine = _find(records, ip_id) if held else None
    if mine is None:
        message = "The address reserved for this task went back to the pool; ask for a new one."
        raise PermanentError(message, code="address_gone")
    wanted = [*(r.guest for r in assigned(records)), mine.guest]
    await ctx.step("assign", f"Giving {mine.guest.address} to the machine.", 30)
    return await _apply(ctx, wanted, AddressWrite(ip_id, AddressState.ASSIGNED))


@handles(TaskType.REMOVE_IP)
async def remove_ip(ctx: TaskContext) -> Outcome:
    ip_id = UUID(ctx.record.parameters["ip_id"])
    records = await ctx.addresses()
    wanted = [r.guest for r in assigned(records) if r.id != ip_id]
    await ctx.step("remove", f"Taking {ctx.record.parameters['address']} off the machine.", 30)
    # Already released (a second remove of one address): the machine converges all the same.
    mine = _find(records, ip_id)
    writes = () if mine is None else (AddressWrite(ip_id, AddressState.RELEASED),)
    return await _apply(ctx, wanted, *writes)


@handles(TaskType.UPDATE_REVERSE_DNS)
async def update_reverse_dns(ctx: TaskContext) -> Outcome:
    ip_id, ptr = UUID(ctx.record.parameters["ip_id"]), ctx.record.parameters["ptr"]
    records = await ctx.addresses()
    mine = _find(records, ip_id)
    if mine is None or mine.state is not AddressState.ASSIGNED:
        message = "The address is no longer the instance's."
        raise PermanentError(message, code="address_not_assigned")
    wanted = [replace(r.guest, ptr=ptr) if r.id == ip_id else r.guest for r in assigned(records)]
    await ctx.step("reverse_dns", f"Naming {mine.guest.address} {ptr}.", 30)
    return await _apply(ctx, wanted, AddressWrite(ip_id, AddressState.ASSIGNED, ptr=ptr))
