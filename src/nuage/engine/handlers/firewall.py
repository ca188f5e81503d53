"""An instance's firewall (`apply_firewall`): the machine is given the whole rule list, and the
instance records the rules as the machine then reports them, in the terminal transaction.

A failed attempt may have changed the machine part-way (libvirt defines the filter, then binds
it): the handler then reads the machine's rules back and records them before the error ends the
attempt, so a failed or cancelled task leaves the database saying what the hypervisor has, and a
retry converges (the driver replaces the whole list)."""

import logging
from collections.abc import Sequence

from nuage.domain.enums import TaskType
from nuage.domain.errors import TaskError
from nuage.domain.firewall import FirewallRule
from nuage.drivers.capabilities import FIREWALL
from nuage.engine.context import TaskContext
from nuage.engine.handlers.registry import handles
from nuage.engine.records import InstanceUpdate, Outcome

log = logging.getLogger("nuage.worker")


def recorded(rules: Sequence[FirewallRule]) -> list[dict[str, object]]:
    """The rules as the instance's row keeps them."""
    return [rule.model_dump(mode="json") for rule in rules]


@handles(TaskType.APPLY_FIREWALL)
async def apply_firewall(ctx: TaskContext) -> Outcome:
    rules = [FirewallRule.model_validate(r) for r in ctx.record.parameters["rules"]]
    firewall = ctx.capable(FIREWALL)
    what = f"{len(rules)} rule(s)" if rules else "no rules: turning the firewall off"
    await ctx.step("apply", f"Applying {what}.", 30)
    try:
        applied = await firewall.apply_firewall(ctx.machine_id, rules)
    except TaskError:
        await _record_what_the_machine_has(ctx)
        raise
    rows = recorded(applied)
    result = {"enabled": bool(rows), "rules": rows}
    return Outcome(result=result, instance=InstanceUpdate(firewall_rules=tuple(rows)))


async def _record_what_the_machine_has(ctx: TaskContext) -> None:
    try:
        found = await ctx.capable(FIREWALL).firewall_rules(ctx.machine_id)
    except TaskError:
        log.warning("task %s: the machine's firewall could not be read back", ctx.record.id)
        return
    # A step (a cancel point too: a cancel asked for meanwhile ends the task cancelled).
    message = f"The attempt failed; the machine has {len(found)} rule(s), recorded."
    await ctx.step("read_back", message, instance={"firewall_rules": recorded(found)})
