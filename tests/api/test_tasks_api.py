"""The task endpoints as a user relies on them: the list and its filters, the long poll, the
generic create, cancel, retry, the step log, `on_conflict`, and the 202 + Location of actions.

Timing is controlled by the worker: tests that need tasks to stay pending run without one; tests
that need a task to stay running use a worker over a slower sim driver (`start_worker`).
"""

import asyncio
import itertools
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import httpx
import pytest

from nuage.config import Settings
from nuage.domain.enums import Role
from tests.support import IMAGES, SIZES, Stack, Tenant, TenantFactory, poll_until, start_worker

pytestmark = pytest.mark.anyio


async def follow(tenant: Tenant, url: str) -> httpx.Response:
    """GET an absolute link the API gave (next, previous, Location)."""
    assert url.startswith("http://testserver/v1/"), url
    return await tenant.client.get(url, headers=tenant.headers)


async def listed(tenant: Tenant, **params: Any) -> list[str]:
    """Ids of the tasks the list gives for `params`, in order (one page of 100)."""
    response = await tenant.get("/tasks", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["results"]]


def when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


async def task(tenant: Tenant, task_id: str) -> dict[str, Any]:
    response = await tenant.get(f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- list ------------------------------------------------------------------------------------


async def test_list_pages_with_absolute_links(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()
    verbs = ("sync", "reboot", "reset", "sync")
    ids = [create] + [(await tenant.act(instance["id"], verb))["id"] for verb in verbs]
    newest_first = ids[::-1]

    first = await tenant.get("/tasks", params={"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 5 and body["previous"] is None
    pages = [body]
    while pages[-1]["next"] is not None:
        pages.append((await follow(tenant, pages[-1]["next"])).json())
    assert [[t["id"] for t in page["results"]] for page in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    assert all(page["count"] == 5 for page in pages)
    back = (await follow(tenant, pages[2]["previous"])).json()
    assert back["results"] == pages[1]["results"]
    assert (await follow(tenant, back["previous"])).json()["results"] == pages[0]["results"]

    past = await tenant.get("/tasks", params={"page": 4, "page_size": 2})
    assert past.status_code == 404
    assert past.json() == {"detail": "Invalid page.", "code": "not_found"}


async def test_list_links_keep_the_filters(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _create = await tenant.create_instance()
    syncs = [(await tenant.act(instance["id"], "sync"))["id"] for _ in range(3)]
    await tenant.act(instance["id"], "reboot")
    page = (
        await tenant.get("/tasks", params={"task_type": "sync_vps_state", "page_size": 2})
    ).json()
    assert page["count"] == 3
    rest = (await follow(tenant, page["next"])).json()
    assert [t["id"] for t in page["results"] + rest["results"]] == syncs[::-1]
    assert rest["next"] is None


async def test_list_filters(tenants: TenantFactory) -> None:
    owner = await tenants()
    editor = await tenants.member(owner, Role.EDITOR)
    a, a_create = await owner.create_instance()
    b, b_create = await owner.create_instance()
    a_sync = (await owner.act(a["id"], "sync"))["id"]
    b_reboot = (await editor.act(b["id"], "reboot"))["id"]
    assert (await owner.post(f"/tasks/{a_sync}/cancel")).status_code == 200
    everything = {a_create, b_create, a_sync, b_reboot}

    async def ids(**params: Any) -> set[str]:
        return set(await listed(owner, **params))

    assert await ids() == everything
    assert await ids(instance_id=a["id"]) == {a_create, a_sync}
    assert await ids(instance_id=str(uuid4())) == set()
    assert await ids(status="cancelled") == {a_sync}
    assert await ids(status="pending") == everything - {a_sync}
    assert await ids(status=["cancelled", "failed"]) == {a_sync}
    assert await ids(status=["pending", "cancelled"]) == everything
    assert await ids(status="pending,cancelled") == everything
    assert await ids(status="running,completed") == set()
    assert await ids(task_type="create_vps") == {a_create, b_create}
    assert await ids(task_type="sync_vps_state,reboot_vps") == {a_sync, b_reboot}
    assert await ids(task_type=["reboot_vps", "delete_vps"]) == {b_reboot}
    assert await ids(created_by=str(editor.user_id)) == {b_reboot}
    assert await ids(created_by=str(owner.user_id)) == everything - {b_reboot}
    # filters combine with AND
    assert await ids(instance_id=b["id"], status="pending", task_type="reboot_vps") == {b_reboot}
    assert await ids(instance_id=a["id"], task_type="reboot_vps") == set()


async def test_list_created_window(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()
    ids = [create] + [(await tenant.act(instance["id"], "sync"))["id"] for _ in range(3)]
    created = [(await task(tenant, i))["created"] for i in ids]
    assert sorted(created, key=when) == created and len(set(created)) == 4
    third = created[2]

    assert await listed(tenant, created_after=third, ordering="created") == ids[2:]  # inclusive
    assert await listed(tenant, created_before=third, ordering="created") == ids[:2]  # exclusive
    window = {"created_after": created[1], "created_before": created[3], "ordering": "created"}
    assert await listed(tenant, **window) == ids[1:3]
    # the same instant written with another offset selects the same tasks
    paris = when(third).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert paris.endswith("+02:00")
    assert await listed(tenant, created_after=paris, ordering="created") == ids[2:]
    bad = await tenant.get("/tasks", params={"created_after": "last tuesday"})
    assert bad.status_code == 400 and list(bad.json()) == ["created_after"]


async def test_list_ordering(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create = await tenant.create_instance()
    reboot = (await tenant.act(instance["id"], "reboot"))["id"]
    sync = (await tenant.act(instance["id"], "sync"))["id"]
    reset = (await tenant.act(instance["id"], "reset"))["id"]
    assert await listed(tenant) == [reset, sync, reboot, create]  # default: -created
    assert await listed(tenant, ordering="-created") == [reset, sync, reboot, create]
    assert await listed(tenant, ordering="created") == [create, reboot, sync, reset]
    by_type = [create, reboot, reset, sync]  # create_vps < reboot_vps < reset_vps < sync_vps_state
    assert await listed(tenant, ordering="task_type") == by_type
    assert await listed(tenant, ordering="-task_type") == by_type[::-1]

    for unknown in ("name", "--created", "created,task_type"):
        response = await tenant.get("/tasks", params={"ordering": unknown})
        assert response.status_code == 400, unknown
        assert list(response.json()) == ["ordering"]
        assert isinstance(response.json()["ordering"], list) and response.json()["ordering"]


async def test_list_refuses_unknown_choices(tenants: TenantFactory) -> None:
    tenant = await tenants()
    for field, value, bad in [
        ("status", "done", "done"),
        ("status", "pending,done", "done"),
        ("status", "Pending", "Pending"),
        ("task_type", "make_coffee", "make_coffee"),
    ]:
        response = await tenant.get("/tasks", params={field: value})
        assert response.status_code == 400, value
        assert response.json() == {
            field: [f"Select a valid choice. {bad} is not one of the available choices."]
        }


# --- long poll ---------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
async def test_wait_answers_as_soon_as_the_task_is_terminal(
    stack: Stack, settings: Settings, tenants: TenantFactory, nested: bool
) -> None:
    start_worker(stack, settings, latency_ms=150)
    tenant = await tenants()
    instance, task_id = await tenant.create_instance()
    path = f"/instances/{instance['id']}/tasks/{task_id}" if nested else f"/tasks/{task_id}"
    assert (await task(tenant, task_id))["status"] in {"pending", "running"}
    started = time.monotonic()
    response = await tenant.get(path, params={"wait": 20})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert elapsed < 3, f"answered after {elapsed:.2f} s; the task was done long before"


async def test_wait_wakes_on_a_cancel_from_another_request(tenants: TenantFactory) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()  # no worker: it stays pending

    async def cancel_soon() -> None:
        await asyncio.sleep(0.2)
        assert (await tenant.post(f"/tasks/{task_id}/cancel")).status_code == 200

    started = time.monotonic()
    canceller = asyncio.create_task(cancel_soon())
    response = await tenant.get(f"/tasks/{task_id}", params={"wait": 20})
    elapsed = time.monotonic() - started
    await canceller
    assert response.json()["status"] == "cancelled"
    assert 0.15 < elapsed < 3


async def test_wait_gives_up_after_n_seconds(tenants: TenantFactory) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()  # no worker: nothing happens
    started = time.monotonic()
    response = await tenant.get(f"/tasks/{task_id}", params={"wait": 1})
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert 0.9 <= elapsed < 2.5, elapsed
    started = time.monotonic()
    assert (await tenant.get(f"/tasks/{task_id}", params={"wait": 0})).status_code == 200
    assert time.monotonic() - started < 1


async def test_wait_out_of_range_is_refused(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance()
    for path in (f"/tasks/{task_id}", f"/instances/{instance['id']}/tasks/{task_id}"):
        for wait in ("61", "60.5", "-1", "soon"):
            started = time.monotonic()
            response = await tenant.get(path, params={"wait": wait})
            assert response.status_code == 400, (path, wait, response.text)
            assert list(response.json()) == ["wait"]
            assert time.monotonic() - started < 2  # refused, not waited on


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


async def test_generic_create_refuses_unsupported_types(tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    for task_type in ("create_snapshot", "apply_config", "get_vnc_url"):
        body = {"instance_id": instance["id"], "task_type": task_type, "parameters": {"name": "s"}}
        response = await tenant.post("/tasks", json=body)
        assert response.status_code == 400, task_type
        assert response.json()["code"] == "task_type_not_supported"
        assert task_type in response.json()["detail"]
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
