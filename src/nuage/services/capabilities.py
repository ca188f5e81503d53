"""Refusing, when it is asked for, a task the instance's hypervisor cannot do.

A placed instance is checked against its host (its driver's description, narrowed by the host's
configuration). An instance not placed yet (its create has not run) is checked against the
enabled hosts of its location: the task is refused when none of them can do it, and accepted
when one can. Placement does not yet weigh the capabilities of the tasks queued behind a create,
so such a task can still land on a host without the capability: the engine then fails it with
the same code (`TaskContext.capable`), changing nothing at the hypervisor.
"""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Host, Instance
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import host_capabilities
from nuage.domain.enums import HostState
from nuage.domain.errors import CapabilityNotSupported


async def check_capability(
    session: AsyncSession, instance: Instance, need: Capability | None
) -> None:
    """CapabilityNotSupported (400) unless a host that runs or may run the instance has `need`;
    None (the machine lifecycle) is always there."""
    if need is None:
        return
    if instance.host_id is not None:
        host = await session.get(Host, instance.host_id)
        assert host is not None  # a foreign key
        refused = host_refusal(need, driver=host.driver, config=host.config)
        if refused is not None:
            raise refused
        return
    hosts = await session.scalars(
        sa.select(Host).where(
            Host.location_id == instance.location_id, Host.state == HostState.ENABLED.value
        )
    )
    if not any(need in host_capabilities(h.driver, h.config) for h in hosts):
        raise CapabilityNotSupported(f"No host in this instance's location supports `{need}` yet.")


def host_refusal(
    need: Capability | None, *, driver: str, config: Mapping[str, Any] | None
) -> CapabilityNotSupported | None:
    """Why the instance's host (its driver and stored configuration) cannot do `need`, or None."""
    if need is None or need in host_capabilities(driver, config):
        return None
    return CapabilityNotSupported(
        f"This instance's host ({driver} driver) does not support `{need}`."
    )
