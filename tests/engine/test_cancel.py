"""Cancel: a pending task is cancelled at once and never runs; a running one stops at its next
safe step (`cancel_requested` shows the request meanwhile)."""

import pytest

from nuage.config import Settings
from nuage.domain.errors import TransientError
from nuage.domain.retry import BackoffPolicy
from nuage.drivers.base import MachineInfo
from nuage.drivers.sim import SimDriver, SimSettings
from tests.engine.helpers import events, ops, steps
from tests.support import SIZES, Stack, TenantFactory, poll, poll_until, slow_driver, start_worker

pytestmark = pytest.mark.anyio


async def test_cancel_a_pending_task_behind_a_slow_one(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    # The stop runs a second: polled every 10 ms, its `running` is seen even when a loaded
    # machine answers a poll in a few hundred (at 300 ms a CI run missed it).
    start_worker(stack, settings, slow_driver(settings, latency_ms=1000))
    tenant = await tenants()
    instance = await tenant.running_instance()
    stop = await tenant.act(instance["id"], "stop")
    start = await tenant.act(instance["id"], "start")
    resize = await tenant.act(instance["id"], "resize", {"size_id": SIZES["medium"]})
    await poll_until(tenant, stop["id"], "running")

    response = await tenant.post(f"/tasks/{start['id']}/cancel")

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_requested"] is False
    assert cancelled["completed_at"] is not None
    assert cancelled["started_at"] is None
    # The queue moves past it: the stop before it and the resize after it both run.
    assert (await tenant.wait(stop["id"]))["status"] == "completed"
    assert (await tenant.wait(resize["id"]))["status"] == "completed"
    task = (await tenant.get(f"/tasks/{start['id']}")).json()
    assert task["status"] == "cancelled"
    assert task["started_at"] is None
    assert task["result"] is None and task["error"] is None
    assert steps(await events(tenant, start["id"])) == ["queued", "cancelled"]
    assert ops(stack, instance["id"]) == ["create", "stop", "resize"]
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "stopped"


async def test_cancel_a_running_task_stops_it_at_the_next_step(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    # Long enough for the test's poll and cancel to land inside the call on a loaded machine
    # (600 ms did not on one CI run: the create had completed).
    start_worker(stack, settings, slow_driver(settings, latency_ms=3000))
    tenant = await tenants()
    instance, task_id = await tenant.create_instance()

    async def in_the_driver() -> bool:  # past the `provision` step, inside the slow create
        return "provision" in steps(await events(tenant, task_id))

    await poll(in_the_driver)
    response = await tenant.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 200, response.text
    requested = response.json()
    assert requested["status"] == "running"
    assert requested["cancel_requested"] is True
    task = await tenant.wait(task_id)
    assert task["status"] == "cancelled", task
    assert task["cancel_requested"] is True
    assert task["result"] is None and task["error"] is None
    assert task["completed_at"] is not None
    evts = await events(tenant, task_id)
    names = steps(evts)
    assert "cancel_requested" in names
    assert names[-2:] == ["booted", "cancelled"]  # the step boundary after the driver call
    assert "completed" not in names
    assert evts[-1]["message"] == "cancelled: Cancelled before step `booted`."
    assert evts[-1]["level"] == "info"
    # A cancelled create deletes the machine it made: the instance is in `error` (from which the
    # create can be retried or the instance deleted), powered off, with no machine behind it.
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["power_state"]) == ("error", "off")
    assert await stack.driver.inspect(instance["id"]) is None
    assert ops(stack, instance["id"]) == ["create", "delete"]


class StartWithoutBootDriver(SimDriver):
    """Powers the machine on, then reports the boot unseen (as libvirt's `boot_timeout` does)."""

    async def start(self, machine_id: str) -> MachineInfo:
        await super().start(machine_id)
        raise TransientError("No boot marker within the timeout.", code="boot_timeout")


async def test_a_cancelled_power_action_records_the_machine_as_it_is(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    state = SimSettings(state_dir=settings.sim_state_dir, latency_ms=600)
    start_worker(stack, settings, StartWithoutBootDriver(state))
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert (await tenant.wait((await tenant.act(instance["id"], "stop"))["id"]))[
        "status"
    ] == "completed"
    start = await tenant.act(instance["id"], "start")

    async def in_the_driver() -> bool:
        return "power" in steps(await events(tenant, start["id"]))

    await poll(in_the_driver)
    assert (await tenant.post(f"/tasks/{start['id']}/cancel")).status_code == 200
    task = await tenant.wait(start["id"])

    assert task["status"] == "cancelled", task
    machine = await stack.driver.inspect(instance["id"])
    assert machine is not None and machine.power.value == "on"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["power_state"]) == ("running", "on")


async def test_a_task_pending_after_a_failed_attempt_is_settled_by_the_worker(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, backoff=BackoffPolicy(base_seconds=20, cap_seconds=20))
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:transient"])

    async def in_backoff() -> bool:
        return "retry_scheduled" in steps(await events(tenant, task_id))

    await poll(in_backoff)
    response = await tenant.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("pending", True)
    task = await tenant.wait(task_id, timeout=8)  # settled now, not after its 10-20 s backoff
    assert task["status"] == "cancelled", task
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (got["status"], got["power_state"]) == ("error", "off")
    assert ops(stack, instance["id"]) == ["create", "delete"]


async def test_cancel_a_finished_task_is_a_conflict(tenants: TenantFactory, worker: object) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.wait(task_id)

    response = await tenant.post(f"/tasks/{task_id}/cancel")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_task_state"


async def test_a_running_delete_cannot_be_cancelled(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, slow_driver(settings, latency_ms=300))
    tenant = await tenants()
    instance = await tenant.running_instance()
    response = await tenant.client.delete(
        f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    delete_id = response.json()["id"]
    await poll_until(tenant, delete_id, "running")

    refused = await tenant.post(f"/tasks/{delete_id}/cancel")

    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_task_state"
    task = await tenant.wait(delete_id)
    assert task["status"] == "completed"
    assert task["cancel_requested"] is False
