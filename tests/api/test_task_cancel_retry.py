"""Cancel, retry and the step log of a task.

Timing is controlled by the worker: tests that need tasks to stay pending run without one; tests
that need a task to stay running use a worker over a slower sim driver (`start_worker`).
"""

import pytest

from nuage.config import Settings
from tests.api.task_helpers import follow, listed, task
from tests.support import Stack, TenantFactory, poll_until, start_worker

pytestmark = pytest.mark.anyio


# --- cancel ------------------------------------------------------------------------------------


async def test_cancel_a_pending_task_at_once(tenants: TenantFactory) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()  # no worker: pending
    response = await tenant.post(f"/tasks/{task_id}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["completed_at"] is not None
    assert body["started_at"] is None and body["cancel_requested"] is False
    assert await task(tenant, task_id) == body
    again = await tenant.post(f"/tasks/{task_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "invalid_task_state"


async def test_cancel_a_task_queued_behind_another(
    stack: Stack, settings: Settings, tenants: TenantFactory
) -> None:
    start_worker(stack, settings, latency_ms=150)
    tenant = await tenants()
    instance = await tenant.running_instance()
    reboot = await tenant.act(instance["id"], "reboot")
    sync = await tenant.act(instance["id"], "sync")
    await poll_until(tenant, reboot["id"], "running")
    response = await tenant.post(f"/tasks/{sync['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert (await tenant.wait(reboot["id"]))["status"] == "completed"
    after = await task(tenant, sync["id"])
    assert after["status"] == "cancelled" and after["started_at"] is None


async def test_cancel_a_running_task_stops_it_at_a_safe_step(
    stack: Stack, settings: Settings, tenants: TenantFactory
) -> None:
    start_worker(stack, settings, latency_ms=600)
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    await poll_until(tenant, task_id, "running")
    response = await tenant.post(f"/tasks/{task_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True
    done = await tenant.wait(task_id)
    assert done["status"] == "cancelled" and done["error"] is None


async def test_cancel_a_completed_task_is_a_conflict(
    tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    assert (await tenant.wait(task_id))["status"] == "completed"
    response = await tenant.post(f"/tasks/{task_id}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_task_state"
    assert (await task(tenant, task_id))["status"] == "completed"


# --- retry -------------------------------------------------------------------------------------


async def test_retry_a_failed_task(tenants: TenantFactory, worker: object) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(tags=["sim:fail=create:permanent"])
    failed = await tenant.wait(task_id)
    assert failed["status"] == "failed"
    response = await tenant.post(f"/tasks/{task_id}/retry")
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["id"] != task_id and again["status"] in {"pending", "running"}
    for key in ("task_type", "parameters", "max_retries", "instance_id"):
        assert again[key] == failed[key], key
    assert again["retry_count"] == 0 and again["error"] is None
    assert response.headers["Location"].endswith(f"/tasks/{again['id']}")
    assert (await tenant.wait(again["id"]))["status"] == "completed"  # the fault fired once
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "running"
    assert (await task(tenant, task_id))["status"] == "failed"  # the original is unchanged


async def test_retry_a_cancelled_task(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    hostname = await tenant.act(instance["id"], "hostname", {"hostname": "db-1.example.com"})
    assert (await tenant.post(f"/tasks/{hostname['id']}/cancel")).status_code == 200
    response = await tenant.post(f"/tasks/{hostname['id']}/retry")
    assert response.status_code == 202
    again = response.json()
    assert again["id"] != hostname["id"] and again["status"] == "pending"
    assert again["task_type"] == "change_hostname"
    assert again["parameters"] == {"hostname": "db-1.example.com"}
    pending = await tenant.post(f"/tasks/{again['id']}/retry")  # not failed nor cancelled
    assert pending.status_code == 409 and pending.json()["code"] == "invalid_task_state"


async def test_retry_of_a_completed_task_is_a_conflict(
    tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    assert (await tenant.wait(task_id))["status"] == "completed"
    response = await tenant.post(f"/tasks/{task_id}/retry")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_task_state"
    assert await listed(tenant) == [task_id]


# --- events ------------------------------------------------------------------------------------


async def test_events_list_the_steps_in_order(tenants: TenantFactory, worker: object) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()
    assert (await tenant.wait(task_id))["status"] == "completed"
    response = await tenant.get(f"/tasks/{task_id}/events")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    steps = [event["step"] for event in body["results"]]
    assert steps == ["queued", "started", "placed", "provision", "booted", "completed"]
    assert body["count"] == 6 and body["next"] is None
    assert [e["id"] for e in body["results"]] == sorted(e["id"] for e in body["results"])
    assert body["results"][-1]["progress"] == 100

    first = (await tenant.get(f"/tasks/{task_id}/events", params={"page_size": 3})).json()
    rest = (await follow(tenant, first["next"])).json()
    assert [e["step"] for e in first["results"] + rest["results"]] == steps


async def test_events_of_a_cancelled_task(tenants: TenantFactory) -> None:
    tenant, stranger = await tenants(), await tenants()
    _, task_id = await tenant.create_instance()
    await tenant.post(f"/tasks/{task_id}/cancel")
    body = (await tenant.get(f"/tasks/{task_id}/events")).json()
    assert [e["step"] for e in body["results"]] == ["queued", "cancelled"]
    assert (await stranger.get(f"/tasks/{task_id}/events")).status_code == 404
