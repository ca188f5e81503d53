"""The engine records the hypervisor's own id of a machine (`MachineInfo.external_id`) on its
instance when the create completes, and keeps it through later tasks."""

from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.db.models import Instance
from nuage.db.session import transaction
from tests.support import Stack, TenantFactory

pytestmark = pytest.mark.anyio


async def stored_external_id(stack: Stack, instance_id: str) -> str | None:
    async with transaction(stack.runtime.sessions) as session:
        return await session.scalar(
            sa.select(Instance.external_id).where(Instance.id == UUID(instance_id))
        )


async def test_create_stores_the_machines_external_id_and_later_tasks_keep_it(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance, create_task = await tenant.create_instance()

    assert (await tenant.wait(create_task))["status"] == "completed"
    machine = await stack.driver.inspect(instance["id"])
    assert machine is not None and machine.external_id
    assert await stored_external_id(stack, instance["id"]) == machine.external_id

    for verb in ("stop", "start"):
        task = await tenant.act(instance["id"], verb)
        assert (await tenant.wait(task["id"]))["status"] == "completed"
    assert await stored_external_id(stack, instance["id"]) == machine.external_id
