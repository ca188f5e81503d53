"""Strict per-instance order: many concurrent requests, a worker with several slots; each
instance's tasks run one at a time in creation order, while different instances run side by side.
"""

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine import queries
from nuage.engine.worker import Worker
from tests.sql_counter import counting
from tests.support import (
    Stack,
    TenantFactory,
    poll_until,
    slow_driver,
    start_worker,
    worker_settings,
)

pytestmark = pytest.mark.anyio

INSTANCES = 3
ACTIONS = 20
NEEDS = {"stop_vps": "running", "start_vps": "stopped"}
LEAVES = {"stop_vps": "stopped", "start_vps": "running"}
DRIVER_OP = {"stop_vps": "stop", "start_vps": "start"}


async def tasks_in_creation_order(stack: Stack, instance_id: str) -> list[InstanceTask]:
    async with transaction(stack.runtime.sessions) as session:
        rows = await session.scalars(
            sa.select(InstanceTask)
            .where(InstanceTask.instance_id == UUID(instance_id))
            .order_by(InstanceTask.seq)
        )
        return list(rows.all())


def interval(task: InstanceTask) -> tuple[datetime, datetime]:
    assert task.started_at is not None and task.completed_at is not None, task.id
    return task.started_at, task.completed_at


async def test_per_instance_order_under_concurrent_requests(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, slow_driver(settings, latency_ms=15), concurrency=4)
    tenant = await tenants()
    instances = await asyncio.gather(*(tenant.running_instance() for _ in range(INSTANCES)))
    ids = [instance["id"] for instance in instances]

    # Every action of every instance at once: alternating stop/start, interleaved across instances.
    verbs = ["stop", "start"] * (ACTIONS // 2)
    queued = await asyncio.gather(*(tenant.act(i, verb) for verb in verbs for i in ids))
    done = await asyncio.gather(*(tenant.wait(task["id"], timeout=30) for task in queued))
    assert all(task["status"] in {"completed", "failed"} for task in done)

    everything: dict[str, list[InstanceTask]] = {}
    for instance_id in ids:
        rows = await tasks_in_creation_order(stack, instance_id)
        assert rows[0].task_type == "create_vps"
        assert len(rows) == ACTIONS + 1
        everything[instance_id] = rows

        # One at a time, in creation order: each starts after the one before it ended.
        spans = [interval(t) for t in rows]
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert started >= ended, (instance_id, spans)
        starts = [started for started, _ in spans]
        assert starts == sorted(starts)
        assert all(t.attempts == 1 and t.retry_count == 0 for t in rows)

        # Every outcome is the one a sequential run in creation order gives.
        state, expected_ops = "running", ["create"]
        for task in rows[1:]:
            if state == NEEDS[task.task_type]:
                assert task.status == "completed", (task.task_type, task.error)
                state = LEAVES[task.task_type]
                expected_ops.append(DRIVER_OP[task.task_type])
            else:
                assert task.status == "failed", (task.task_type, task.status)
                assert task.error is not None
                assert task.error["code"] == "invalid_instance_state"

        # The hypervisor saw the operations in that order, never two at once.
        log = stack.driver.operations(instance_id)
        assert [e["operation"] for e in log] == expected_ops
        assert all(e["outcome"] == "ok" for e in log)
        for before, after in itertools.pairwise(log):
            assert after["started"] >= before["finished"]
        got = (await tenant.get(f"/instances/{instance_id}")).json()
        assert got["status"] == state

    # Per instance, not global: tasks of different instances did overlap in time.
    def overlap(a: InstanceTask, b: InstanceTask) -> bool:
        (a0, a1), (b0, b1) = interval(a), interval(b)
        return a0 < b1 and b0 < a1

    def overlapping(x: str, y: str) -> bool:
        return any(overlap(a, b) for a in everything[x][1:] for b in everything[y][1:])

    pairs = [(x, y) for n, x in enumerate(ids) for y in ids[n + 1 :]]
    assert any(overlapping(x, y) for x, y in pairs), "instances never ran side by side"
    # However the requests interleaved, each instance's first stop found it running and ran.
    summary: dict[str, Any] = {i: sum(t.status == "completed" for t in everything[i]) for i in ids}
    assert all(count > 1 for count in summary.values()), summary


async def test_a_worker_does_not_spin_while_a_task_waits_behind_a_running_one(
    stack: Stack, tenants: TenantFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_worker(stack, settings, slow_driver(settings, latency_ms=1500), poll_seconds=0.5)
    tenant = await tenants()
    instance, create_id = await tenant.create_instance()
    await poll_until(tenant, create_id, "running")
    queued = await tenant.act(instance["id"], "stop")  # due now, but blocked behind the create
    await asyncio.sleep(0.05)

    claims = 0
    claim = queries.claim  # what the worker claims its free slots' tasks with

    async def counting_claims(*args: Any, **kwargs: Any) -> list[UUID]:
        nonlocal claims
        claims += 1
        return await claim(*args, **kwargs)

    monkeypatch.setattr(queries, "claim", counting_claims)
    await asyncio.sleep(0.6)

    assert claims <= 3, f"{claims} claim attempts in 0.6 s with a 0.5 s poll"
    assert (await tenant.get(f"/tasks/{queued['id']}")).json()["status"] == "pending"


async def test_a_task_committed_after_a_later_one_started_waits_for_it(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Two requests for one instance whose transactions commit out of order: the later task
    (higher seq) was claimed before the earlier one was visible. The earlier one must not run
    beside it (two tasks at once on one machine: the addresses of one lost by the other)."""
    start_worker(stack, settings)
    tenant = await tenants()
    instance = await tenant.running_instance()
    other = await tenant.running_instance()
    await stack.stop_workers()
    earlier = await tenant.act(instance["id"], "reboot")
    later = await tenant.act(instance["id"], "reboot")
    elsewhere = await tenant.act(other["id"], "reboot")
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(  # as a worker's claim of `later` left it
            sa.update(InstanceTask)
            .where(InstanceTask.id == UUID(later["id"]))
            .values(
                status="running",
                lease_owner="another-worker",
                lease_expires_at=utcnow() + timedelta(minutes=5),
                attempts=1,
            )
        )
    worker = Worker(stack.runtime.sessions, stack.driver, stack.notifier, worker_settings(settings))

    claimed = await worker.claim_many(4)

    assert [str(r.id) for r in claimed] == [elsewhere["id"]]
    assert (await tenant.get(f"/tasks/{earlier['id']}")).json()["status"] == "pending"


async def test_a_claim_meanwhile_of_a_later_task_keeps_the_earlier_one_waiting(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """Worker A has claimed the later task of an instance, before the earlier one was visible,
    and has not committed yet; the earlier one becomes visible. Worker B, which still sees the
    later task pending, must not start the earlier one beside it."""
    if stack.runtime.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: claims never overlap")
    start_worker(stack, settings)
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    earlier = await tenant.act(instance["id"], "reboot")
    later = await tenant.act(instance["id"], "reboot")

    async def set_earlier(status: str) -> None:
        async with transaction(stack.runtime.sessions) as session:
            await session.execute(
                sa.update(InstanceTask)
                .where(InstanceTask.id == UUID(earlier["id"]))
                .values(status=status)
            )

    await set_earlier("cancelled")  # not visible yet, as far as claims go
    worker_b = Worker(
        stack.runtime.sessions, stack.driver, stack.notifier, worker_settings(settings)
    )
    async with transaction(stack.runtime.sessions) as claim_a:
        taken = await queries.claim(claim_a, "worker-a", utcnow(), timedelta(minutes=5), limit=1)
        assert [str(t) for t in taken] == [later["id"]]
        await set_earlier("pending")  # visible now; worker A has not committed
        claim_b = asyncio.create_task(worker_b.claim_many(4))
        await asyncio.wait({claim_b}, timeout=2)  # it may wait for A's commit
    claimed_b = await claim_b

    assert claimed_b == []
    assert (await tenant.get(f"/tasks/{earlier['id']}")).json()["status"] == "pending"
    assert (await tenant.get(f"/tasks/{later['id']}")).json()["status"] == "running"


async def test_a_worker_claims_its_free_slots_tasks_in_one_transaction_heads_of_queues_only(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    first, second = [await tenant.running_instance() for _ in range(2)]
    await stack.stop_workers()
    stop_first = await tenant.act(first["id"], "stop")
    reboot_first = await tenant.act(first["id"], "reboot")  # behind the stop: not claimable
    stop_second = await tenant.act(second["id"], "stop")
    worker = Worker(stack.runtime.sessions, stack.driver, stack.notifier, worker_settings(settings))

    with counting() as counted:
        claimed = await worker.claim_many(4)

    assert [str(r.id) for r in claimed] == [stop_first["id"], stop_second["id"]]
    assert counted.transactions == 1
    for task in (stop_first, stop_second):
        got = (await tenant.get(f"/tasks/{task['id']}")).json()
        assert (got["status"], got["progress"]) == ("running", 5)
    assert (await tenant.get(f"/tasks/{reboot_first['id']}")).json()["status"] == "pending"
    assert [r.id for r in await worker.claim_many(4)] == []
