"""An instance's firewall as its project sees it: the rules its machine has, and the rule list a
queued `apply_firewall` will put there instead (replacing it is a task: its spec in
domain/catalogue/firewall.py, queued by the generated PUT route)."""

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, InstanceTask
from nuage.domain.enums import TaskType
from nuage.domain.firewall import FirewallRule
from nuage.domain.tasks import ACTIVE
from nuage.services import instances
from nuage.services.access import ProjectAccess


@dataclass(frozen=True, slots=True)
class FirewallView:
    instance: Instance
    rules: tuple[FirewallRule, ...]  # as applied to the machine, in evaluation order
    pending: InstanceTask | None  # the last `apply_firewall` queued and not finished


async def get_firewall(
    session: AsyncSession, access: ProjectAccess, instance_id: UUID
) -> FirewallView:
    instance = await instances.get_instance(session, access, instance_id)
    rules = tuple(FirewallRule.model_validate(r) for r in instance.firewall_rules or ())
    return FirewallView(instance, rules, await _last_pending(session, instance.id))


async def _last_pending(session: AsyncSession, instance_id: UUID) -> InstanceTask | None:
    """Tasks of an instance run in the order they were queued: the last one queued is the rule
    list the instance will have once they ran."""
    query = (
        sa.select(InstanceTask)
        .where(
            InstanceTask.instance_id == instance_id,
            InstanceTask.task_type == TaskType.APPLY_FIREWALL.value,
            InstanceTask.status.in_([s.value for s in ACTIVE]),
        )
        .order_by(InstanceTask.seq.desc())
        .limit(1)
    )
    return await session.scalar(query)
