"""Software on an instance: install and uninstall. Each hands the driver the whole set of
packages the machine should have (`set_software` converges, so a re-run after a crash is
harmless) and records what the machine reports it was given."""

from nuage.domain.enums import TaskType
from nuage.drivers.capabilities import SOFTWARE
from nuage.engine.context import TaskContext
from nuage.engine.handlers.instances import machine_result
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome


async def _apply(ctx: TaskContext, wanted: set[str], message: str) -> Outcome:
    await ctx.step("software", message, 30)
    info = await ctx.capable(SOFTWARE).set_software(ctx.machine_id, sorted(wanted))
    result = {**machine_result(info), "software": list(info.software)}
    return Outcome(result=result, instance=InstanceUpdate.hardware(info))


@handles(TaskType.INSTALL_SOFTWARE)
async def install_software(ctx: TaskContext) -> Outcome:
    slug = ctx.record.parameters["slug"]
    wanted = set(ctx.record.instance.software) | {slug}
    return await _apply(ctx, wanted, f"Installing {slug} (a running guest restarts).")


@handles(TaskType.UNINSTALL_SOFTWARE)
async def uninstall_software(ctx: TaskContext) -> Outcome:
    slug = ctx.record.parameters["slug"]
    wanted = set(ctx.record.instance.software) - {slug}
    return await _apply(ctx, wanted, f"Uninstalling {slug} (a running guest restarts).")
