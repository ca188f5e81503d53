"""A worker told to stop claims nothing more and gives its running tasks back: at their next safe
step within its grace (no hypervisor call interrupted), or, past the grace, by cancelling them.
Either way the task is pending again at once, no retry counted, and the next worker finishes it."""

import asyncio
import time

import pytest

from nuage.config import Settings
from tests.engine.helpers import events, steps
from tests.support import Stack, TenantFactory, poll, slow_driver, start_worker

pytestmark = pytest.mark.anyio


async def stop_mid_task(
    stack: Stack, tenants: TenantFactory, settings: Settings, *, latency_ms: float, grace: float
) -> tuple[float, list[str], list[str]]:
    tenant = await tenants()
    driver = slow_driver(settings, latency_ms)
    start_worker(stack, settings, driver, stop_grace_seconds=grace)
    _, task_id = await tenant.create_instance()

    async def creating() -> bool:  # the step before the hypervisor's create call
        return steps(await events(tenant, task_id))[-1] == "provision"

    await poll(creating, within=30)
    await asyncio.sleep(0.1)  # inside the call
    began = time.monotonic()
    await stack.stop_workers()
    took = time.monotonic() - began
    await driver.close()
    given_back = (await tenant.get(f"/tasks/{task_id}")).json()
    assert (given_back["status"], given_back["retry_count"]) == ("pending", 0)
    start_worker(stack, settings)
    done = await tenant.wait(task_id)
    assert done["status"] == "completed"
    ops = [op["outcome"] for op in stack.driver.operations(done["instance_id"])]
    return took, steps(await events(tenant, task_id)), ops


async def test_a_stopping_worker_gives_its_task_back_at_the_next_safe_step(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    # The stop must land inside the hypervisor's call: 2 s leaves room on a loaded machine for
    # the `provision` step to be seen (flushed, then read through the API) before the call ends.
    took, logged, ops = await stop_mid_task(stack, tenants, settings, latency_ms=2000, grace=30)
    assert took < 5  # the call in progress ended, then the next step gave the task back
    assert set(ops) == {"ok"}, ops
    assert logged.count("released") == 1 and logged.count("completed") == 1, logged


async def test_past_its_grace_a_stopping_worker_cancels_and_gives_back(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    took, logged, ops = await stop_mid_task(stack, tenants, settings, latency_ms=5000, grace=0.2)
    assert took < 3  # not the 5 s call: cut at the grace
    assert "interrupted" in ops
    assert logged.count("released") == 1 and logged.count("completed") == 1, logged
