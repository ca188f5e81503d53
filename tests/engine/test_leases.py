"""Leases: a worker that dies mid-task is taken over once its lease expires, the task completes
exactly once, and a worker that lost its lease can write nothing more."""

import asyncio
import contextlib
import random
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask, TaskEvent
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.catalogue import spec_for
from nuage.domain.enums import InstanceStatus, TaskStatus, TaskType
from nuage.domain.errors import TransientError
from nuage.domain.retry import BackoffPolicy
from nuage.engine import outcomes, queries
from nuage.engine.records import InstanceUpdate, Outcome, TaskRecord
from nuage.engine.worker import Worker
from tests.engine.helpers import claim_record, event_rows, events, steps, task_row
from tests.support import (
    Stack,
    Tenant,
    TenantFactory,
    poll,
    slow_driver,
    start_worker,
    worker_settings,
)

pytestmark = pytest.mark.anyio


async def late_writes_change_nothing(stack: Stack, task_id: str, worker_id: str) -> None:
    """Every write a worker may attempt on a task is refused once its lease is gone."""
    tid = UUID(task_id)
    before = await task_row(stack, task_id)
    events_before = len(await event_rows(stack, task_id))
    async with transaction(stack.runtime.sessions) as session:
        late = TaskEvent(task_id=tid, step="completed", message="late")
        assert not await queries.finish(
            session,
            tid,
            worker_id,
            status=TaskStatus.FAILED,
            now=utcnow(),
            result={"late": True},
            error=None,
            event=late,
        )
        retry = TaskEvent(task_id=tid, step="retry_scheduled", message="late")
        assert not await queries.reschedule(
            session, tid, worker_id, run_after=utcnow(), error={}, event=retry
        )
        assert not await queries.renew_lease(session, tid, worker_id, utcnow() + timedelta(1))
        assert not await queries.release(session, tid, worker_id, utcnow())
    with pytest.raises(queries.LeaseLost):
        async with transaction(stack.runtime.sessions) as session:
            await queries.record_step(
                session, tid, worker_id, step="late", message="late", progress=1, attempt=1
            )
    after = await task_row(stack, task_id)
    assert (after.status, after.result, after.error, after.modified) == (
        before.status,
        before.result,
        before.error,
        before.modified,
    )
    assert len(await event_rows(stack, task_id)) == events_before


async def test_a_worker_that_dies_mid_task_is_taken_over(
    stack: Stack, tenants: TenantFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await tenants()
    # Long enough that it is still inside the call when cancelled, however slowly the test's
    # polls are answered; the cancel ends the wait at once.
    driver = slow_driver(settings, latency_ms=10_000)
    # The `provision` step can be written while the handler still reads what the call needs: a
    # cancel then would find no call to interrupt. The test waits for the call itself.
    creating = asyncio.Event()
    create = driver.create

    async def create_and_tell(spec: Any) -> Any:
        creating.set()
        return await create(spec)

    driver.create = create_and_tell  # type: ignore[method-assign]
    doomed = Worker(
        stack.runtime.sessions,
        driver,
        stack.notifier,
        worker_settings(settings, lease_seconds=0.8),
        worker_id="worker-a",
    )
    run_a = asyncio.create_task(doomed.run(asyncio.Event()))
    instance, task_id = await tenant.create_instance()

    async def inside_the_driver() -> bool:
        return creating.is_set() and "provision" in steps(await events(tenant, task_id))

    await poll(inside_the_driver)
    assert (await task_row(stack, task_id)).lease_owner == "worker-a"

    # Worker A dies abruptly: its tasks stop and nothing is given back.
    async def cannot_release(*_args: Any, **_kwargs: Any) -> bool:
        return False

    monkeypatch.setattr(queries, "release", cannot_release)
    run_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run_a
    monkeypatch.undo()
    orphan = await task_row(stack, task_id)
    assert (orphan.status, orphan.lease_owner) == ("running", "worker-a")

    start_worker(stack, settings, worker_id="worker-b")
    task = await tenant.wait(task_id)

    assert task["status"] == "completed", task
    assert task["retry_count"] == 0  # a takeover is not a retry
    assert task["error"] is None
    evts = await events(tenant, task_id)
    names = steps(evts)
    assert names.count("lease_expired") == 1
    assert names.count("completed") == 1
    assert names.index("lease_expired") < names.index("completed")
    assert [e["attempt"] for e in evts if e["step"] == "started"] == [1, 2]
    row = await task_row(stack, task_id)
    assert row.attempts == 2
    assert row.lease_owner is None
    log = stack.driver.operations(instance["id"])
    assert [(e["operation"], e["outcome"]) for e in log] == [
        ("create", "interrupted"),
        ("create", "ok"),
    ]
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running"

    await late_writes_change_nothing(stack, task_id, "worker-a")
    assert (await task_row(stack, task_id)).status == "completed"


async def test_a_late_heartbeat_does_not_make_a_worker_take_over_its_own_running_task(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """On a busy loop a heartbeat can come after its lease ran out. The worker running the task
    knows it is alive: its own reap leaves it, where another worker's takes it over, and it does
    not claim the task back while that run goes on."""
    tenant = await tenants()
    # A long lease: no heartbeat renews it while the test looks.
    busy = start_worker(
        stack, settings, latency_ms=10_000, worker_id="busy", lease_seconds=60, poll_seconds=60
    )
    _, task_id = await tenant.create_instance()

    async def inside_the_driver() -> bool:
        return "provision" in steps(await events(tenant, task_id))

    await poll(inside_the_driver)
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(InstanceTask)
            .where(InstanceTask.id == UUID(task_id))
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )

    assert await busy.reap() == 0
    kept = await task_row(stack, task_id)
    assert (kept.status, kept.lease_owner, kept.attempts) == ("running", "busy", 1)
    assert "lease_expired" not in steps(await events(tenant, task_id))

    other = Worker(
        stack.runtime.sessions,
        stack.driver,
        stack.notifier,
        worker_settings(settings),
        worker_id="other",
    )
    assert await other.reap() == 1
    taken = await task_row(stack, task_id)
    assert (taken.status, taken.lease_owner) == ("pending", None)

    # Its first run is still in the driver: claimed back under the same id, two runs would hold
    # one lease. The busy worker leaves it to the others until that run ends.
    assert await busy.claim_many(4) == []
    assert (await task_row(stack, task_id)).status == "pending"
    assert [record.id for record in await other.claim_many(4)] == [UUID(task_id)]


async def test_a_claim_without_heartbeats_is_reaped_only_after_its_lease(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    async with transaction(stack.runtime.sessions) as session:
        claimed = await queries.claim_next(session, "ghost", utcnow(), timedelta(seconds=1.5))
    assert str(claimed) == task_id

    start_worker(stack, settings, worker_id="worker-b", poll_seconds=0.05)
    await asyncio.sleep(0.3)
    early = await task_row(stack, task_id)
    assert (early.status, early.lease_owner) == ("running", "ghost")  # not before it expires

    task = await tenant.wait(task_id)

    assert task["status"] == "completed"
    names = steps(await events(tenant, task_id))
    assert names.count("lease_expired") == 1
    assert names.count("completed") == 1
    await late_writes_change_nothing(stack, task_id, "ghost")


async def test_a_shutting_down_worker_gives_its_task_back(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    # Its stop interrupts the call after the 1 s grace, however long the call would take.
    start_worker(stack, settings, slow_driver(settings, latency_ms=5000), worker_id="leaving")
    _, task_id = await tenant.create_instance()

    async def inside_the_driver() -> bool:
        return "provision" in steps(await events(tenant, task_id))

    await poll(inside_the_driver)
    await stack.stop_workers()
    released = await task_row(stack, task_id)
    assert (released.status, released.lease_owner, released.retry_count) == ("pending", None, 0)
    assert "released" in steps(await events(tenant, task_id))

    start_worker(stack, settings, worker_id="next")
    task = await tenant.wait(task_id)
    assert task["status"] == "completed"
    assert task["retry_count"] == 0


# --- a task's end, its result and the instance's new state are one write -------------------------


async def running_instance_without_worker(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> tuple[Tenant, dict[str, Any]]:
    tenant = await tenants()
    start_worker(stack, settings)
    instance = await tenant.running_instance()
    await stack.stop_workers()
    return tenant, instance


async def claim(stack: Stack, worker_id: str, lease: float = 30) -> TaskRecord:
    return await claim_record(stack, worker_id, timedelta(seconds=lease))


async def test_completion_and_instance_state_are_seen_together(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant, instance = await running_instance_without_worker(stack, tenants, settings)
    start_worker(stack, settings, slow_driver(settings, latency_ms=200))
    task = await tenant.act(instance["id"], "stop")

    seen: list[tuple[str, str]] = []

    async def finished() -> bool:
        row = await task_row(stack, task["id"])
        seen.append((row.status, row.instance.status))
        return seen[-1][0] in {"completed", "failed", "cancelled"}

    await poll(finished, every=0.002)

    assert seen[-1] == ("completed", "stopped")
    for task_status, instance_status in seen:
        expected = "stopped" if task_status == "completed" else "running"
        assert instance_status == expected, seen
    assert any(status == "running" for status, _ in seen)
    done = await tenant.wait(task["id"])
    assert done["result"]["power_state"] == "off"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["power_state"]) == ("stopped", "off")


async def test_a_worker_that_lost_its_lease_writes_nothing(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant, instance = await running_instance_without_worker(stack, tenants, settings)
    task = await tenant.act(instance["id"], "stop")
    spec = spec_for(TaskType.STOP_VPS)
    record = await claim(stack, "slow", lease=0.05)
    await asyncio.sleep(0.1)
    async with transaction(stack.runtime.sessions) as session:
        assert await queries.reap(session, utcnow()) == [record.id]
    taken = await claim(stack, "fast")
    assert taken.id == record.id

    outcome = Outcome(
        result={"power_state": "off"},
        instance=InstanceUpdate(status=InstanceStatus.STOPPED, hostname="written-by-slow"),
    )
    async with transaction(stack.runtime.sessions) as session:
        assert not await outcomes.complete(session, record, spec, "slow", outcome, utcnow())
        assert not await outcomes.fail(
            session,
            record,
            spec,
            "slow",
            TransientError(),
            now=utcnow(),
            policy=BackoffPolicy(),
            rng=random.Random(0),
        )
    row = await task_row(stack, task["id"])
    assert (row.status, row.lease_owner, row.result, row.retry_count) == (
        "running",
        "fast",
        None,
        0,
    )
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["hostname"]) == ("running", instance["hostname"])
    assert "completed" not in steps(await events(tenant, task["id"]))

    # The owner's completion writes the task and the instance in one transaction: if that
    # transaction fails, neither is written.
    with pytest.raises(RuntimeError):
        async with transaction(stack.runtime.sessions) as session:
            assert await outcomes.complete(session, taken, spec, "fast", outcome, utcnow())
            raise RuntimeError("the commit never happens")
    row = await task_row(stack, task["id"])
    assert (row.status, row.result) == ("running", None)
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "running"

    async with transaction(stack.runtime.sessions) as session:
        assert await outcomes.complete(session, taken, spec, "fast", outcome, utcnow())
    done = (await tenant.get(f"/tasks/{task['id']}")).json()
    assert (done["status"], done["result"], done["progress"]) == (
        "completed",
        {"power_state": "off"},
        100,
    )
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["hostname"]) == ("stopped", "written-by-slow")
