"""Task retention deletes the finished tasks whose end is past the retention, with their step
logs, and nothing else: not a recent one, and never a pending or running task however old.
A worker with the setting prunes by itself; without it (the default) history is kept."""

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask, TaskEvent
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine import queries, task_retention
from nuage.engine.worker import WorkerSettings
from tests.support import Stack, Tenant, TenantFactory, poll, start_worker

pytestmark = pytest.mark.anyio
DAY = timedelta(days=1)


async def age(stack: Stack, task_id: str, by: timedelta) -> None:
    """Move the task's times `by` into the past, as if it had run then."""
    async with transaction(stack.runtime.sessions) as session:
        task = await session.scalar(sa.select(InstanceTask).where(InstanceTask.id == UUID(task_id)))
        assert task is not None
        task.created -= by
        if task.started_at is not None:
            task.started_at -= by
        if task.completed_at is not None:
            task.completed_at -= by


async def kept(stack: Stack, tenant: Tenant, task_id: str) -> tuple[bool, int]:
    """Whether the API still shows the task, and how many step-log rows it has."""
    shown = (await tenant.get(f"/tasks/{task_id}")).status_code
    assert shown in (200, 404)
    async with transaction(stack.runtime.sessions) as session:
        logged = await session.scalar(
            sa.select(sa.func.count()).where(TaskEvent.task_id == UUID(task_id))
        )
    return shown == 200, int(logged or 0)


async def test_only_finished_tasks_past_the_retention_go(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    old, old_task = await tenant.create_instance()
    _, failed_task = await tenant.create_instance(tags=["sim:fail=create:permanent"])
    _, recent_task = await tenant.create_instance()
    for task_id, status in ((old_task, "completed"), (failed_task, "failed"),
                            (recent_task, "completed")):  # fmt: skip
        assert (await tenant.wait(task_id))["status"] == status
    await stack.stop_workers()
    # Still pending, and one running under a live lease: both older than the retention.
    _, pending_task = await tenant.create_instance()
    _, running_task = await tenant.create_instance()
    async with transaction(stack.runtime.sessions) as session:
        claimed = await queries.claim_next(session, "busy-worker", utcnow(), timedelta(hours=1))
    assert str(claimed) == pending_task  # the older of the two
    pending_task, running_task = running_task, pending_task
    for task_id in (old_task, failed_task, pending_task, running_task):
        await age(stack, task_id, 3 * DAY)

    removed = await task_retention.prune(stack.runtime.sessions, now=utcnow(), retention=2 * DAY)

    assert removed == 2
    assert await kept(stack, tenant, old_task) == (False, 0)
    assert await kept(stack, tenant, failed_task) == (False, 0)
    for task_id in (recent_task, pending_task, running_task):
        shown, logged = await kept(stack, tenant, task_id)
        assert shown and logged >= 1, task_id
    statuses = {
        task_id: (await tenant.get(f"/tasks/{task_id}")).json()["status"]
        for task_id in (pending_task, running_task)
    }
    assert statuses == {pending_task: "pending", running_task: "running"}
    assert (await tenant.get(f"/instances/{old['id']}")).status_code == 200  # not the instance


async def test_a_worker_with_the_setting_prunes_by_itself(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    assert WorkerSettings().tasks_retention_seconds == 0  # the default keeps history
    assert replace(settings).tasks_retention_seconds == 0
    tenant = await tenants()
    start_worker(stack, settings)
    _, first = await tenant.create_instance()
    await tenant.wait(first)
    await age(stack, first, DAY)
    await stack.stop_workers()
    start_worker(stack, settings, tasks_retention_seconds=3600.0)

    async def pruned() -> bool:
        return (await kept(stack, tenant, first)) == (False, 0)

    await poll(pruned, within=10)
