"""An instance's VPC: `update_vpc` joins, leaves or moves in one driver call
(`set_private_network` converges, so a re-run after a crash is harmless) and settles the
membership in the task's terminal transaction. A driver call that fails puts the machine back
in the VPC the database says it is in, so that the two agree whatever the task's end."""

import contextlib
from typing import Any
from uuid import UUID

from nuage.domain.enums import TaskType
from nuage.domain.errors import NuageError, PermanentError
from nuage.drivers.base import MachineInfo, PrivateNetwork
from nuage.drivers.capabilities import NETWORKS
from nuage.engine.context import TaskContext
from nuage.engine.handlers.instances import machine_result
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome
from nuage.engine.vpc_members import MembershipWrite


def _vpc_result(network: PrivateNetwork | None) -> dict[str, Any] | None:
    if network is None:
        return None
    return {"vpc_id": network.network_id, "private_address": network.address}


@handles(TaskType.UPDATE_VPC)
async def update_vpc(ctx: TaskContext) -> Outcome:
    params = ctx.record.parameters
    member_id = UUID(params["member_id"]) if params.get("member_id") else None
    wanted = None if member_id is None else await ctx.hold_vpc_member(member_id)
    if member_id is not None and wanted is None:
        message = "The address reserved for this task went back to the VPC; ask again."
        raise PermanentError(message, code="vpc_address_gone")
    where = f"into VPC {wanted.network_id} as {wanted.address}" if wanted else "out of its VPC"
    await ctx.step("vpc", f"Taking the machine {where}.", 30)
    info = await _set(ctx, wanted)
    result = machine_result(info) | {"vpc": _vpc_result(info.private_network)}
    return Outcome(
        result=result,
        instance=InstanceUpdate(power_state=info.power),
        vpc=MembershipWrite(ctx.record.instance.id, member_id),
    )


async def _set(ctx: TaskContext, wanted: PrivateNetwork | None) -> MachineInfo:
    networks = ctx.capable(NETWORKS)
    try:
        return await networks.set_private_network(ctx.machine_id, wanted)
    except NuageError:
        recorded = await ctx.vpc_joined()
        if recorded != wanted:
            # Best effort: the task's error stands, and a later update_vpc converges both.
            with contextlib.suppress(NuageError):
                await networks.set_private_network(ctx.machine_id, recorded)
        raise
