"""Transient failures are retried with exponential backoff until success or `max_retries`;
permanent failures fail at once. `result` and `error` carry the last error."""

import random
from typing import Any

import pytest

from nuage.config import Settings
from nuage.domain.errors import TransientError
from nuage.domain.retry import BackoffPolicy, decide
from nuage.engine.worker import Worker
from tests.engine.helpers import events, ops, steps, ts
from tests.support import Stack, Tenant, TenantFactory, poll, start_worker

pytestmark = pytest.mark.anyio


async def stopped_instance(tenant: Tenant) -> dict[str, Any]:
    instance = await tenant.running_instance()
    assert (await tenant.wait((await tenant.act(instance["id"], "stop"))["id"]))[
        "status"
    ] == "completed"
    return instance


async def queue_task(tenant: Tenant, instance_id: str, task_type: str, **body: Any) -> str:
    response = await tenant.post(
        "/tasks", json={"instance_id": instance_id, "task_type": task_type, **body}
    )
    assert response.status_code == 202, response.text
    task_id: str = response.json()["id"]
    return task_id


async def test_transient_failures_are_retried_until_success(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:transient:2"])

    task = await tenant.wait(task_id)

    assert task["status"] == "completed", task
    assert task["retry_count"] == 2
    assert task["error"] is None
    assert task["result"]["power_state"] == "on"
    evts = await events(tenant, task_id)
    retries = [e for e in evts if e["step"] == "retry_scheduled"]
    assert len(retries) == 2
    for n, event in enumerate(retries, 1):
        assert event["message"].startswith("sim_transient_fault: "), event
        assert f"Retry {n} of 3" in event["message"]
        assert event["level"] == "warning"
        assert event["attempt"] == n
    assert steps(evts).count("started") == 3
    assert steps(evts).count("completed") == 1
    assert [e["attempt"] for e in evts if e["step"] == "completed"] == [3]
    log = stack.driver.operations(instance["id"])
    assert [(e["operation"], e["outcome"]) for e in log] == [
        ("create", "sim_transient_fault"),
        ("create", "sim_transient_fault"),
        ("create", "ok"),
    ]
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running"


async def test_a_task_waiting_for_its_retry_is_pending_and_shows_the_error(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, backoff=BackoffPolicy(base_seconds=60, cap_seconds=60))
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:transient:1"])

    async def retry_scheduled() -> bool:
        return "retry_scheduled" in steps(await events(tenant, task_id))

    await poll(retry_scheduled)
    task = (await tenant.get(f"/tasks/{task_id}")).json()
    assert task["status"] == "pending"
    assert task["retry_count"] == 1
    assert task["error"]["code"] == "sim_transient_fault"
    assert task["error"]["retryable"] is True
    assert task["result"] is None
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "building"


async def test_transient_failures_fail_the_task_after_max_retries(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await stopped_instance(tenant)
    stack.driver.inject_fault(instance["id"], operation="start", kind="transient", times=5)

    task_id = await queue_task(tenant, instance["id"], "start_vps", max_retries=2)
    task = await tenant.wait(task_id)

    assert task["status"] == "failed", task
    assert task["retry_count"] == task["max_retries"] == 2
    error = task["error"]
    assert task["result"] == {"error": error}
    assert set(error) == {"code", "message", "retryable"}
    assert error["code"] == "sim_transient_fault"
    assert error["retryable"] is True
    assert "transient fault on start" in error["message"]
    evts = await events(tenant, task_id)
    assert steps(evts).count("retry_scheduled") == 2
    assert steps(evts).count("started") == 3
    assert steps(evts)[-1] == "failed"
    assert evts[-1]["created"] == task["completed_at"]
    assert ops(stack, instance["id"]).count("start") == 3
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "stopped"


async def test_zero_max_retries_fails_on_the_first_transient_error(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await stopped_instance(tenant)
    stack.driver.inject_fault(instance["id"], operation="start", kind="transient", times=1)

    task = await tenant.wait(await queue_task(tenant, instance["id"], "start_vps", max_retries=0))

    assert task["status"] == "failed"
    assert task["retry_count"] == 0
    assert task["error"]["retryable"] is True


async def test_a_permanent_failure_fails_at_once(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stack.driver.inject_fault(instance["id"], operation="stop", kind="permanent")

    task = await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])

    assert task["status"] == "failed", task
    assert task["retry_count"] == 0
    assert task["max_retries"] == 3
    assert task["error"]["code"] == "sim_permanent_fault"
    assert task["error"]["retryable"] is False
    assert task["result"] == {"error": task["error"]}
    evts = await events(tenant, task["id"])
    assert "retry_scheduled" not in steps(evts)
    assert [e["level"] for e in evts if e["step"] == "failed"] == ["error"]
    assert ops(stack, instance["id"]) == ["create", "stop"]
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "running"


async def test_backoff_spacing_follows_the_policy(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    policy = BackoffPolicy(base_seconds=0.1, cap_seconds=2.0)
    seed = 3
    start_worker(stack, settings, backoff=policy, rng=random.Random(seed))
    tenant = await tenants()
    _, task_id = await tenant.create_instance(tags=["sim:fail=create:transient:3"])

    task = await tenant.wait(task_id)

    assert task["status"] == "completed", task
    assert task["retry_count"] == 3
    evts = await events(tenant, task_id)
    waits = []
    for i, event in enumerate(evts):
        if event["step"] == "retry_scheduled":
            resumed = next(e for e in evts[i:] if e["step"] == "started")
            waits.append((ts(resumed["created"]) - ts(event["created"])).total_seconds())
    assert len(waits) == 3
    # A retry_scheduled event is stamped with the instant its task's run_after is counted from,
    # and the next attempt's `started` after the claim that found it due: no slack is needed.
    # The same seeded draws give the delays the worker must have chosen.
    rng = random.Random(seed)
    chosen = []
    for n in range(3):
        decision = decide(TransientError(), retry_count=n, max_retries=3, policy=policy, rng=rng)
        assert decision is not None
        chosen.append(decision.delay_seconds)
    for n, (wait, delay) in enumerate(zip(waits, chosen, strict=True)):
        lower = policy.base_seconds * 2**n / 2
        assert wait >= lower, (n, waits)
        assert wait >= delay, (n, waits, chosen)
        assert wait < delay + 2.0, (n, waits, chosen)  # generous: a loaded CI box
    # The spacing grows because the chosen delays do (each wait is at least its delay); the
    # waits themselves need not, since a claim's own lateness on a loaded machine can exceed
    # the 0.09 s between the first two delays.
    assert chosen[0] < chosen[1] < chosen[2], chosen
