"""The engine records the hypervisor's own id of a machine (`MachineInfo.external_id`) on its
instance when the create completes, keeps it through later tasks, and forgets it once the machine
is gone (a hypervisor may give the id to another machine: Proxmox reuses VMIDs)."""

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


async def test_the_external_id_is_forgotten_when_the_machine_is_deleted(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance, create_task = await tenant.create_instance()
    assert (await tenant.wait(create_task))["status"] == "completed"
    assert await stored_external_id(stack, instance["id"])

    deleted = await tenant.client.delete(
        f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers
    )
    assert deleted.status_code == 202, deleted.text
    assert (await tenant.wait(deleted.json()["id"]))["status"] == "completed"
    assert await stack.driver.inspect(instance["id"]) is None
    assert await stored_external_id(stack, instance["id"]) is None
