"""The worker's claim reads its tasks as plain rows (`engine.claimed_rows`): the record made from
such a row is the record made from the task's ORM objects."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Instance
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine import claimed_rows, queries
from nuage.engine.records import TaskRecord, task_record
from tests.support import Stack, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


async def records_of_claim(stack: Stack, task_id: UUID) -> tuple[TaskRecord, TaskRecord]:
    """The task's record from its ORM objects, and from the row the worker's claim reads."""
    read: list[sa.Row[Any]] = []

    def start(row: sa.Row[Any]) -> int | None:
        read.append(row)
        return None

    async with transaction(stack.runtime.sessions) as session:
        from_objects = task_record(await queries.load_task(session, task_id))
        lease = timedelta(seconds=30)
        claimed = await queries.claim(session, "w", utcnow(), lease, limit=1, start=start)
    assert claimed == [task_id]
    return from_objects, claimed_rows.task_record(read[0])


@pytest.mark.parametrize("reported", [False, True], ids=["sized", "reported hardware"])
async def test_a_claimed_row_makes_the_record_its_objects_make(
    stack: Stack, tenants: TenantFactory, settings: Settings, reported: bool
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    instance = await tenant.running_instance()
    await stack.stop_workers()
    if reported:  # the machine's hardware as its hypervisor reported it, not its size's
        async with transaction(stack.runtime.sessions) as session:
            await session.execute(
                sa.update(Instance)
                .where(Instance.id == UUID(instance["id"]))
                .values(machine_vcpu=7, machine_ram_mb=3000, machine_disk_gb=70, tags=["a"])
            )
    task = await tenant.act(instance["id"], "reboot")

    from_objects, from_row = await records_of_claim(stack, UUID(task["id"]))

    assert from_row == from_objects
    assert from_row.instance.host is not None
    assert (from_row.instance.vcpu == 7) is reported
