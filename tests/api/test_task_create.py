"""Queueing tasks: the generic create, `on_conflict`, and the 202 + Location of every action.

Timing is controlled by the worker: tests that need tasks to stay pending run without one; tests
that need a task to stay running use a worker over a slower sim driver (`start_worker`).
"""

import itertools
from typing import Any
from uuid import uuid4

import pytest

from nuage.config import Settings
from tests.api.task_helpers import follow, listed, task, when
from tests.support import IMAGES, SIZES, Stack, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


# --- generic create ----------------------------------------------------------------------------


async def test_generic_start_on_a_stopped_instance(tenants: TenantFactory, worker: object) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert (await tenant.wait((await tenant.act(instance["id"], "stop"))["id"]))["status"] == (
        "completed"
    )
    response = await tenant.post(
        "/tasks", json={"instance_id": instance["id"], "task_type": "start_vps"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["task_type"] == "start_vps" and body["instance_id"] == instance["id"]
    assert body["parameters"] == {} and body["max_retries"] == 3
    location = response.headers["Location"]
    assert location == f"http://testserver{tenant.base}/tasks/{body['id']}"
    assert (await follow(tenant, location)).json()["id"] == body["id"]
    assert (await tenant.wait(body["id"]))["status"] == "completed"
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running" and got["power_state"] == "on"


async def test_generic_create_refuses_create_vps(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    body = {"instance_id": instance["id"], "task_type": "create_vps"}
    response = await tenant.post("/tasks", json=body)
    assert response.status_code == 400
    assert list(response.json()) == ["task_type"]
    assert len(await listed(tenant)) == 1


async def test_generic_create_refuses_an_unknown_type(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    body = {"instance_id": instance["id"], "task_type": "make_coffee"}
    response = await tenant.post("/tasks", json=body)
    assert response.status_code == 400 and list(response.json()) == ["task_type"]


async def test_generic_resize_checks_its_parameters(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()  # a small one
    cases: list[tuple[Any, str, str]] = [
        (None, "size_id", "required"),
        ({}, "size_id", "required"),
        ({"size_id": SIZES["medium"], "bogus": 1}, "bogus", "Unknown field."),
        ({"size_id": "not-a-uuid"}, "size_id", "UUID"),
        ({"size_id": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0999"}, "size_id", "No active size"),
        ({"size_id": SIZES["nano"]}, "size_id", "cannot shrink"),
    ]
    for parameters, field, message in cases:
        body = {"instance_id": instance["id"], "task_type": "resize_vps", "parameters": parameters}
        response = await tenant.post("/tasks", json=body)
        assert response.status_code == 400, (parameters, response.text)
        errors = response.json()
        assert list(errors) == ["parameters"], errors
        assert list(errors["parameters"]) == [field], errors
        assert message in errors["parameters"][field][0], errors
    assert len(await listed(tenant)) == 1  # nothing was queued

    good = {"size_id": SIZES["medium"]}
    body = {"instance_id": instance["id"], "task_type": "resize_vps", "parameters": good}
    response = await tenant.post("/tasks", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["parameters"] == good


async def test_generic_create_on_another_tenants_instance_is_like_a_missing_one(
    tenants: TenantFactory,
) -> None:
    tenant, stranger = await tenants(), await tenants()
    theirs, _ = await stranger.create_instance()
    missing = str(uuid4())
    answers = {}
    for instance_id in (theirs["id"], missing):
        body = {"instance_id": instance_id, "task_type": "reboot_vps"}
        response = await tenant.post("/tasks", json=body)
        assert response.status_code == 400
        assert list(response.json()) == ["instance_id"]
        answers[instance_id] = response.json()["instance_id"][0].replace(instance_id, "<id>")
    assert answers[theirs["id"]] == answers[missing]
    assert len(await listed(stranger)) == 1  # only their create_vps


async def test_generic_create_checks_max_retries_range(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    for max_retries in (-1, 4_294_967_296, "three", 1.5):
        body = {"instance_id": instance["id"], "task_type": "sync_vps_state"}
        response = await tenant.post("/tasks", json={**body, "max_retries": max_retries})
        assert response.status_code == 400, (max_retries, response.text)
        assert list(response.json()) == ["max_retries"]
    for max_retries in (0, 4_294_967_295):  # the seed's bounds, inclusive
        body = {"instance_id": instance["id"], "task_type": "sync_vps_state"}
        response = await tenant.post("/tasks", json={**body, "max_retries": max_retries})
        assert response.status_code == 202, response.text
        assert response.json()["max_retries"] == max_retries
        assert (await task(tenant, response.json()["id"]))["max_retries"] == max_retries


# --- on_conflict -------------------------------------------------------------------------------


async def test_on_conflict_reject_refuses_a_busy_instance(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()  # no worker: create_vps stays pending
    reject = {"on_conflict": "reject"}
    answers = [
        await tenant.post(f"/instances/{instance['id']}/start", params=reject),
        await tenant.post(
            f"/instances/{instance['id']}/resize", json={"size_id": SIZES["medium"]}, params=reject
        ),
        await tenant.post(
            "/tasks",
            json={"instance_id": instance["id"], "task_type": "sync_vps_state"},
            params=reject,
        ),
        await tenant.client.delete(
            f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers, params=reject
        ),
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "instance_busy"
    assert await listed(tenant) == [create]
    # once the instance is idle, reject lets the task through
    await tenant.post(f"/tasks/{create}/cancel")
    idle = await tenant.post(f"/instances/{instance['id']}/sync", params=reject)
    assert idle.status_code == 202


async def test_by_default_actions_queue_and_run_in_order(
    stack: Stack, settings: Settings, tenants: TenantFactory
) -> None:
    start_worker(stack, settings, latency_ms=30)
    tenant = await tenants()
    instance = await tenant.running_instance()
    queued = [
        await tenant.act(instance["id"], "stop"),
        await tenant.act(instance["id"], "start"),
        (
            await tenant.post(
                f"/instances/{instance['id']}/reboot", params={"on_conflict": "queue"}
            )
        ).json(),
    ]
    done = [await tenant.wait(t["id"]) for t in queued]
    assert [t["status"] for t in done] == ["completed"] * 3  # start needs the stop to have run
    for earlier, later in itertools.pairwise(done):
        assert when(earlier["completed_at"]) <= when(later["started_at"])
    got = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert got["status"] == "running" and got["power_state"] == "on"


# --- every action answers 202 + Location -------------------------------------------------------


async def test_actions_answer_202_with_the_task_and_its_location(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()  # no worker: everything stays queued
    path = f"{tenant.base}/instances/{instance['id']}"
    generic = {"instance_id": instance["id"], "task_type": "reset_vps"}
    cancelled = (await tenant.post(f"/tasks/{create}/cancel")).json()
    requests: list[tuple[str, str, Any]] = [
        ("POST", f"{path}/start", None),
        ("POST", f"{path}/stop", None),
        ("POST", f"{path}/reboot", None),
        ("POST", f"{path}/shutdown", None),
        ("POST", f"{path}/reset", None),
        ("POST", f"{path}/sync", None),
        ("POST", f"{path}/resize", {"size_id": SIZES["medium"]}),
        ("POST", f"{path}/reinstall", {"image_id": IMAGES["ubuntu"]}),
        ("POST", f"{path}/hostname", {"hostname": "app-1.example.com"}),
        ("POST", f"{tenant.base}/tasks", generic),
        ("POST", f"{tenant.base}/tasks/{cancelled['id']}/retry", None),
        ("DELETE", path, None),  # last: a deleting instance takes no more tasks
    ]
    for method, url, body in requests:
        response = await tenant.client.request(method, url, json=body, headers=tenant.headers)
        assert response.status_code == 202, (method, url, response.text)
        answered = response.json()
        assert answered["status"] == "pending" and answered["instance_id"] == instance["id"]
        location = response.headers["Location"]
        assert location == f"http://testserver{tenant.base}/tasks/{answered['id']}", url
        followed = await follow(tenant, location)
        assert followed.status_code == 200
        assert followed.json() == answered, url
    assert len(await listed(tenant)) == 1 + len(requests)
