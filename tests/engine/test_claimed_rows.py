"""The worker's claim reads its tasks as plain rows (`engine.claimed_rows`): the record made from
such a row says what the task and its instance are, as the API shows them and as the database
holds them (the machine's hardware as its hypervisor reported it, else its size's)."""

from datetime import timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Host, Instance
from nuage.db.session import transaction
from nuage.domain.enums import InstanceStatus, PowerState, TaskType
from tests.engine.helpers import claim_record
from tests.support import Stack, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("reported", [False, True], ids=["sized", "reported hardware"])
async def test_a_claimed_row_makes_the_record_of_its_task_and_instance(
    stack: Stack, tenants: TenantFactory, settings: Settings, reported: bool
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    instance = await tenant.running_instance(tags=["web"])
    await stack.stop_workers()
    if reported:  # the machine's hardware as its hypervisor reported it, not its size's
        async with transaction(stack.runtime.sessions) as session:
            await session.execute(
                sa.update(Instance)
                .where(Instance.id == UUID(instance["id"]))
                .values(machine_vcpu=7, machine_ram_mb=3000, machine_disk_gb=70)
            )
    task = await tenant.act(instance["id"], "reboot")
    async with transaction(stack.runtime.sessions) as session:
        stored = await session.get_one(Instance, UUID(instance["id"]))
        host = await session.get_one(Host, stored.host_id)

    record = await claim_record(stack, "w", timedelta(seconds=30))

    assert record.id == UUID(task["id"])
    assert record.task_type is TaskType.REBOOT_VPS
    assert (record.retry_count, record.attempt) == (0, 0)
    assert record.max_retries == task["max_retries"]
    assert record.parameters == (task["parameters"] or {})
    machine = record.instance
    assert machine.id == UUID(instance["id"])
    assert (machine.name, machine.hostname) == (instance["name"], instance["hostname"])
    assert machine.project_id == stored.project_id
    assert machine.location_id == stored.location_id
    assert machine.external_id == stored.external_id is not None
    assert machine.status is InstanceStatus.RUNNING
    assert machine.power_state is PowerState(stored.power_state)
    assert machine.tags == ("web",)
    assert machine.software == tuple(stored.software or ())
    assert machine.image_slug == stored.image.slug
    hardware = (machine.vcpu, machine.ram_mb, machine.disk_gb)
    sized = (stored.size.vcpu, stored.size.ram_mb, stored.size.disk_gb)
    assert hardware == ((7, 3000, 70) if reported else sized)
    assert machine.host is not None
    assert (machine.host.id, machine.host.name, machine.host.driver) == (
        host.id,
        host.name,
        host.driver,
    )
    assert (machine.host.uri, machine.host.config, machine.host.secret_ref) == (
        host.uri,
        dict(host.config or {}),
        host.secret_ref,
    )
