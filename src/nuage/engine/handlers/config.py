"""An instance's hypervisor configuration (`apply_config`)."""

from nuage.domain.enums import PowerState, TaskType
from nuage.drivers.capabilities import CONFIG
from nuage.engine.context import TaskContext
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


@handles(TaskType.APPLY_CONFIG)
async def apply_config(ctx: TaskContext) -> Outcome:
    """The result shows the configuration before and after (settings left at their defaults
    are absent). After a crash the task runs again: `before` is then what the first run left."""
    changes = ctx.record.parameters["config"]
    driver = ctx.capable(CONFIG)
    await ctx.step("read", "Reading the machine's hypervisor configuration.", 20)
    before = await driver.hypervisor_config(ctx.machine_id)
    await ctx.step("apply", f"Setting {', '.join(sorted(changes))}.", 50)
    after = await driver.apply_config(ctx.machine_id, changes)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    info = await ctx.driver.inspect(ctx.machine_id)
    running = info is not None and info.power is PowerState.ON
    result = {
        "before": before,
        "after": after,
        "changed": changed,
        "applies_at_next_boot": running and bool(changed),  # a running guest keeps its old ones
    }
    return Outcome(result=result, instance=InstanceUpdate())
