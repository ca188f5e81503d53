"""A task checks its instance's state when it runs (not when it is queued), and a failed create
leaves the instance in `error`."""

import pytest

from nuage.config import Settings
from nuage.engine.worker import Worker
from tests.engine.helpers import events, ops, steps
from tests.support import Stack, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


async def test_start_on_a_running_instance_fails_with_invalid_instance_state(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()

    task = await tenant.wait((await tenant.act(instance["id"], "start"))["id"])

    assert task["status"] == "failed", task
    assert task["retry_count"] == 0
    error = task["error"]
    assert error["code"] == "invalid_instance_state"
    assert error["retryable"] is False
    assert error["message"] == "start_vps needs the instance to be stopped; it is running."
    assert task["result"] == {"error": error}
    assert ops(stack, instance["id"]) == ["create"]  # the driver was never asked
    assert "retry_scheduled" not in steps(await events(tenant, task["id"]))
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running"


async def test_the_state_is_checked_when_the_task_runs_not_when_queued(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    # Queued together: the start is valid only because the stop before it runs first.
    stop = await tenant.act(instance["id"], "stop")
    start = await tenant.act(instance["id"], "start")
    stop_again = await tenant.act(instance["id"], "stop")
    resize = await tenant.act(instance["id"], "resize", {"size_id": instance["size"]["id"]})

    assert (await tenant.wait(stop["id"]))["status"] == "completed"
    assert (await tenant.wait(start["id"]))["status"] == "completed"
    assert (await tenant.wait(stop_again["id"]))["status"] == "completed"
    assert (await tenant.wait(resize["id"]))["status"] == "completed"
    assert ops(stack, instance["id"]) == ["create", "stop", "start", "stop", "resize"]


async def test_resize_of_a_running_instance_names_the_state_it_needs(
    tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()

    task = await tenant.wait(
        (await tenant.act(instance["id"], "resize", {"size_id": instance["size"]["id"]}))["id"]
    )

    assert task["status"] == "failed"
    assert task["error"]["code"] == "invalid_instance_state"
    assert "needs the instance to be stopped" in task["error"]["message"]


async def test_a_failed_create_leaves_the_instance_in_error(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:permanent"])

    task = await tenant.wait(task_id)

    assert task["status"] == "failed", task
    assert task["error"]["code"] == "sim_permanent_fault"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "error"
    assert await stack.driver.inspect(instance["id"]) is None


async def test_a_create_that_runs_out_of_retries_leaves_the_instance_in_error(
    tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:transient:9"])

    task = await tenant.wait(task_id)

    assert task["status"] == "failed"
    assert task["retry_count"] == 3
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "error"


async def test_an_instance_in_error_takes_no_power_actions(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:permanent"])
    await tenant.wait(task_id)

    task = await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])

    assert task["status"] == "failed"
    assert task["error"]["code"] == "invalid_instance_state"
    assert "it is error" in task["error"]["message"]


async def test_a_failed_precondition_changes_nothing_but_the_task(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    instance, create_id = await tenant.create_instance()
    cancelled = await tenant.post(f"/tasks/{create_id}/cancel")  # no worker yet: still pending
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    first_retry = await tenant.post(f"/tasks/{create_id}/retry")
    assert first_retry.status_code == 202, first_retry.text
    start_worker(stack, settings)
    assert (await tenant.wait(first_retry.json()["id"]))["status"] == "completed"
    running = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (running["status"], running["power_state"]) == ("running", "on")

    second_retry = await tenant.post(f"/tasks/{create_id}/retry")
    assert second_retry.status_code == 202, second_retry.text
    task = await tenant.wait(second_retry.json()["id"])

    assert task["status"] == "failed", task
    assert task["error"]["code"] == "invalid_instance_state"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["power_state"]) == ("running", "on")
    assert ops(stack, instance["id"]) == ["create"]
    assert (await stack.driver.inspect(instance["id"])) is not None
