"""What a cancelled task leaves on its instance: what the hypervisor has (docs/task-states.md).

A cancel stops a task at a safe step, which may come after the driver already changed the
machine (the step after a create, or a transient failure after a partial change). Each type's
spec says what to do (`effects.on_cancel_machine`): undo what it made (a create deletes its
machine), or read the machine back and record it.
"""

import logging

from nuage.domain.catalogue import MachineAfterCancel, TaskSpec
from nuage.domain.enums import InstanceStatus, PowerState
from nuage.engine.context import TaskContext
from nuage.engine.records import InstanceUpdate

log = logging.getLogger("nuage.worker")

# Nothing of the machine is left: a create can be retried from here, or the instance deleted.
UNMADE = InstanceUpdate(
    status=InstanceStatus.ERROR, power_state=PowerState.OFF, ipv4=(), ipv6=(), machine_gone=True
)
UNKNOWN = InstanceUpdate.as_found(None)


async def settle(ctx: TaskContext, spec: TaskSpec) -> InstanceUpdate | None:
    """Undo or read back what the cancelled task did; None if it never reached a host."""
    if ctx.host is None:
        return None
    try:
        if spec.effects.on_cancel_machine is MachineAfterCancel.UNDO:
            await ctx.driver.delete(ctx.machine_id)
            return UNMADE
        return InstanceUpdate.as_found(await ctx.driver.inspect(ctx.machine_id))
    except Exception:
        # What the machine is now cannot be known; say so rather than guess.
        log.exception("task %s: cancelled, and its machine could not be settled", ctx.record.id)
        return UNKNOWN
