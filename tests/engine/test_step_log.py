"""The step log written with the transactions an attempt makes anyway: the `started` step and the
instance's mark with the claim, a short step with the attempt's end, a long one on its own
(engine/start.py, engine/step_log.py)."""

import pytest

from nuage.config import Settings
from nuage.engine.worker import Worker
from tests.engine.helpers import event_rows, events, steps, task_row
from tests.support import Stack, TenantFactory, poll, start_worker, worker_settings

pytestmark = pytest.mark.anyio


async def test_the_claim_starts_the_attempt(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    instance = await tenant.running_instance()
    await stack.stop_workers()
    response = await tenant.client.delete(
        f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    worker = Worker(stack.runtime.sessions, stack.driver, stack.notifier, worker_settings(settings))

    record = await worker.claim()  # and nothing more: the handler has not run

    assert record is not None and str(record.id) == response.json()["id"]
    task = (await tenant.get(f"/tasks/{record.id}")).json()
    assert (task["status"], task["progress"]) == ("running", 5)
    logged = await events(tenant, str(record.id))
    assert steps(logged) == ["queued", "started"]
    assert logged[-1]["message"] == "Delete Instance: attempt 1."
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "deleting"


async def test_a_short_step_is_logged_with_the_attempts_end_at_its_own_time(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, step_flush_seconds=30)
    tenant = await tenants()
    instance = await tenant.running_instance()

    task = await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])

    assert (task["status"], task["progress"]) == ("completed", 100)
    rows = await event_rows(stack, task["id"])
    assert [(r.step, r.progress) for r in rows] == [
        ("queued", None),
        ("started", 5),
        ("power", 30),
        ("completed", 100),
    ]
    assert rows[1].created <= rows[2].created <= rows[3].created


async def test_a_failed_attempt_writes_its_waiting_steps_and_their_progress(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, step_flush_seconds=30)
    tenant = await tenants()
    _instance, task_id = await tenant.create_instance(tags=["sim:fail=create:permanent"])

    task = await tenant.wait(task_id)

    assert task["status"] == "failed", task
    assert task["progress"] == 20  # the `provision` step's, written with the failure
    assert steps(await events(tenant, task_id))[-3:] == ["placed", "provision", "failed"]


async def test_a_step_open_longer_than_the_bound_is_written_while_it_runs(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings, latency_ms=1500, step_flush_seconds=0.1)
    tenant = await tenants()
    _instance, task_id = await tenant.create_instance()

    async def provisioning() -> bool:
        return "provision" in steps(await events(tenant, task_id))

    await poll(provisioning)

    row = await task_row(stack, task_id)
    assert (row.status, row.progress) == ("running", 20)
    assert (await tenant.wait(task_id))["status"] == "completed"
