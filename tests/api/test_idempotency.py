"""Every POST accepts Idempotency-Key: a replay returns the original response; the same key with
another body is a 409 (`idempotency_key_reused`). Keys belong to the caller (design.md, "Task
semantics"; services/idempotency.py)."""

import asyncio
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nuage.db.models import ApiKey, IdempotencyKey, Instance, InstanceTask, Project
from nuage.domain.enums import Role
from nuage.services import idempotency
from tests.support import IMAGES, SIZES, Stack, Tenant, TenantFactory, create_body

pytestmark = pytest.mark.anyio

REPLAYED = "Idempotent-Replayed"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def count(stack: Stack, table: type[Any], *where: Any) -> int:
    async with stack.runtime.sessions() as session:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(await session.scalar(stmt) or 0)


async def instances_of(stack: Stack, tenant: Tenant) -> int:
    return await count(stack, Instance, Instance.project_id == tenant.project_id)


async def tasks_of(stack: Stack, tenant: Tenant, task_type: str | None = None) -> int:
    where = [InstanceTask.project_id == tenant.project_id]
    if task_type is not None:
        where.append(InstanceTask.task_type == task_type)
    return await count(stack, InstanceTask, *where)


def assert_replay(original: httpx.Response, replay: httpx.Response) -> None:
    assert REPLAYED not in original.headers
    assert replay.headers.get(REPLAYED) == "true"
    assert replay.status_code == original.status_code, replay.text
    assert replay.json() == original.json()
    assert replay.headers.get("Location") == original.headers.get("Location")


# --- create ---------------------------------------------------------------------------------------


async def test_a_replayed_create_returns_the_original_and_creates_nothing(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    first = await tenant.post("/instances", json=create_body(), headers=keyed("create-1"))
    assert first.status_code == 201, first.text
    assert "/compute/tasks/" in first.headers["Location"]
    second = await tenant.post("/instances", json=create_body(), headers=keyed("create-1"))
    assert_replay(first, second)
    assert second.json()["id"] == first.json()["id"]
    assert (await tenant.get("/instances")).json()["count"] == 1
    assert (await tenant.get("/tasks")).json()["count"] == 1
    assert await instances_of(stack, tenant) == 1
    assert await tasks_of(stack, tenant, "create_vps") == 1


async def test_the_replay_is_the_response_as_it_was_not_the_resource_as_it_is(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    first = await tenant.post("/instances", json=create_body(), headers=keyed("create-2"))
    instance_id = first.json()["id"]
    renamed = await tenant.client.put(
        f"{tenant.base}/instances/{instance_id}", json={"name": "renamed"}, headers=tenant.headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    replay = await tenant.post("/instances", json=create_body(), headers=keyed("create-2"))
    assert_replay(first, replay)
    assert replay.json()["name"] == "web"


async def test_the_same_key_with_another_request_is_a_409_and_creates_nothing(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    first = await tenant.post("/instances", json=create_body(), headers=keyed("k"))
    assert first.status_code == 201, first.text
    instance_id = first.json()["id"]
    for path, body, params in [
        ("/instances", create_body(name="other"), {}),  # another body
        ("/instances", {**create_body(), "tags": ["x"]}, {}),
        ("/instances", create_body(), {"on_conflict": "reject"}),  # another query
        (f"/instances/{instance_id}/stop", None, {}),  # another path
        ("/tasks", {"instance_id": instance_id, "task_type": "sync_vps_state"}, {}),
    ]:
        response = await tenant.post(path, json=body, params=params, headers=keyed("k"))
        assert response.status_code == 409, (path, response.text)
        assert response.json()["code"] == "idempotency_key_reused", path
        assert set(response.json()) == {"detail", "code"}
    assert await instances_of(stack, tenant) == 1
    assert await tasks_of(stack, tenant) == 1
    # ...and the key still answers its own request.
    assert_replay(first, await tenant.post("/instances", json=create_body(), headers=keyed("k")))


async def test_keys_belong_to_the_caller(stack: Stack, tenants: TenantFactory) -> None:
    alice = await tenants()
    bob = await tenants()
    # Another user of the same project, sending the very same request: not a replay.
    carol = await tenants.member(alice, Role.EDITOR)
    mine = await alice.post("/instances", json=create_body(), headers=keyed("shared"))
    theirs = await bob.post("/instances", json=create_body(), headers=keyed("shared"))
    colleague = await carol.post("/instances", json=create_body(), headers=keyed("shared"))
    for response in (mine, theirs, colleague):
        assert response.status_code == 201, response.text
        assert REPLAYED not in response.headers
    assert len({mine.json()["id"], theirs.json()["id"], colleague.json()["id"]}) == 3
    assert await instances_of(stack, alice) == 2
    assert await instances_of(stack, bob) == 1
    # Each caller's key replays their own response.
    assert_replay(theirs, await bob.post("/instances", json=create_body(), headers=keyed("shared")))
    again = await carol.post("/instances", json=create_body(), headers=keyed("shared"))
    assert_replay(colleague, again)


# --- actions, cancel, tasks, api keys, projects ---------------------------------------------------


async def test_an_action_replays_its_original_task_after_the_task_completed(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    path = f"/instances/{instance['id']}/stop"
    first = await tenant.post(path, headers=keyed("stop-1"))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "pending"
    done = await tenant.wait(first.json()["id"])
    assert done["status"] == "completed"
    replay = await tenant.post(path, headers=keyed("stop-1"))
    assert_replay(first, replay)
    assert replay.json()["status"] == "pending"  # the response as it was, not the task as it is
    assert await tasks_of(stack, tenant, "stop_vps") == 1
    # The instance was stopped once: a second real stop would have been a new task.
    assert (await tenant.get(f"/instances/{instance['id']}")).json()["status"] == "stopped"


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("resize", {"size_id": SIZES["large"]}),
        ("reinstall", {"image_id": IMAGES["ubuntu"]}),
        ("hostname", {"hostname": "web-2"}),
    ],
)
async def test_actions_with_a_body_replay(
    stack: Stack, tenants: TenantFactory, verb: str, body: dict[str, str]
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    path = f"/instances/{instance['id']}/{verb}"
    first = await tenant.post(path, json=body, headers=keyed(verb))
    assert first.status_code == 202, first.text
    assert_replay(first, await tenant.post(path, json=body, headers=keyed(verb)))
    assert await tasks_of(stack, tenant) == 2  # create_vps and this one


async def test_a_cancel_replays_instead_of_failing_on_the_cancelled_task(
    tenants: TenantFactory,
) -> None:
    tenant = await tenants()
    _, task_id = await tenant.create_instance()  # no worker: the task stays pending
    first = await tenant.post(f"/tasks/{task_id}/cancel", headers=keyed("cancel-1"))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled"
    replay = await tenant.post(f"/tasks/{task_id}/cancel", headers=keyed("cancel-1"))
    assert_replay(first, replay)
    # Without the key, cancelling a cancelled task is a conflict: the replay did not run it.
    fresh = await tenant.post(f"/tasks/{task_id}/cancel")
    assert fresh.status_code == 409 and fresh.json()["code"] == "invalid_task_state"


async def test_a_generic_task_replays(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    body = {"instance_id": instance["id"], "task_type": "sync_vps_state", "max_retries": 1}
    first = await tenant.post("/tasks", json=body, headers=keyed("task-1"))
    assert first.status_code == 202, first.text
    assert_replay(first, await tenant.post("/tasks", json=body, headers=keyed("task-1")))
    assert await tasks_of(stack, tenant, "sync_vps_state") == 1


async def test_an_api_key_creation_replays(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    keys_before = await count(stack, ApiKey, ApiKey.user_id == tenant.user_id)
    headers = {**tenant.headers, **keyed("api-key-1")}
    first = await tenant.client.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert first.status_code == 201, first.text
    replay = await tenant.client.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert first.json()["key"].startswith("sk-onetsolutions-")
    # The key is shown once: the replay names the same key but does not show it again, and
    # the stored response does not hold it.
    assert replay.json() == {**first.json(), "key": None}
    stored = await count(stack, IdempotencyKey, IdempotencyKey.key == "api-key-1")
    assert stored == 1
    async with stack.runtime.sessions() as session:
        row = await session.scalar(
            sa.select(IdempotencyKey).where(IdempotencyKey.key == "api-key-1")
        )
        assert row is not None and first.json()["key"] not in json.dumps(row.body)
    assert await count(stack, ApiKey, ApiKey.user_id == tenant.user_id) == keys_before + 1
    listed = await tenant.client.get("/v1/api-keys", headers=tenant.headers)
    assert listed.json()["count"] == keys_before + 1


async def test_a_project_creation_replays(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    path = f"/v1/organizations/{tenant.organization_id}/projects"
    headers = {**tenant.headers, **keyed("project-1")}
    first = await tenant.client.post(path, json={"name": "staging"}, headers=headers)
    assert first.status_code == 201, first.text
    assert_replay(first, await tenant.client.post(path, json={"name": "staging"}, headers=headers))
    where = Project.organization_id == tenant.organization_id
    assert await count(stack, Project, where) == 2  # the tenant's own, and this one


# --- concurrency ----------------------------------------------------------------------------------


async def test_concurrent_requests_with_one_key_create_one_instance(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    responses = await asyncio.gather(
        *(tenant.post("/instances", json=create_body(), headers=keyed("race")) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.headers["Location"] for r in responses}) == 1
    assert sum(REPLAYED not in r.headers for r in responses) == 1  # one original, four replays
    assert await instances_of(stack, tenant) == 1
    assert await tasks_of(stack, tenant) == 1
    assert await count(stack, IdempotencyKey, IdempotencyKey.key == "race") == 1
    assert (await tenant.get("/instances")).json()["count"] == 1


async def test_a_twin_that_loses_the_commit_race_rolls_back_and_replays(
    stack: Stack, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the lookup cannot close: both requests looked the key up before either
    committed. The loser's commit meets the unique (owner, key) constraint; its instance and
    task must roll back with it, and it answers with the winner's response."""
    tenant = await tenants()
    first = await tenant.post("/instances", json=create_body(), headers=keyed("twin"))
    assert first.status_code == 201, first.text

    real_lookup = idempotency.lookup
    calls = 0

    async def lookup_missing_the_winner(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            return None  # the request's own lookup: as if the winner had not committed yet
        return await real_lookup(*args, **kwargs)

    monkeypatch.setattr(idempotency, "lookup", lookup_missing_the_winner)
    second = await tenant.post("/instances", json=create_body(), headers=keyed("twin"))
    assert calls == 2, "the loser should look the key up again after its rollback"
    assert_replay(first, second)
    assert await instances_of(stack, tenant) == 1
    assert await tasks_of(stack, tenant) == 1


# --- what does not burn a key, and what is not a key ----------------------------------------------


async def test_a_refused_request_does_not_burn_its_key(
    stack: Stack, tenants: TenantFactory
) -> None:
    """Only a success is stored: a 4xx changed nothing, so the corrected request may use the
    same key (and is then replayed like any other)."""
    tenant = await tenants()
    headers = keyed("fix-me")
    for bad in (
        create_body(name=123),  # refused by the schema
        create_body(image_id="9a4d7c1e-2b3f-4e5a-b6c7-000000000000"),  # refused by the use case
        create_body(hostname="under_score"),
    ):
        response = await tenant.post("/instances", json=bad, headers=headers)
        assert response.status_code == 400, response.text
    assert await count(stack, IdempotencyKey) == 0
    assert await instances_of(stack, tenant) == 0
    fixed = await tenant.post("/instances", json=create_body(), headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert REPLAYED not in fixed.headers
    assert_replay(fixed, await tenant.post("/instances", json=create_body(), headers=headers))
    # Now the key is taken: the first (bad) body is another request.
    taken = await tenant.post("/instances", json=create_body(name=123), headers=headers)
    assert taken.status_code == 409 and taken.json()["code"] == "idempotency_key_reused"
    assert await instances_of(stack, tenant) == 1


async def test_a_conflict_does_not_burn_its_key(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, create_task = await tenant.create_instance()  # no worker: create_vps stays pending
    path = f"/instances/{instance['id']}/sync"
    reject = {"on_conflict": "reject"}
    busy = await tenant.post(path, params=reject, headers=keyed("sync"))
    assert busy.status_code == 409 and busy.json()["code"] == "instance_busy", busy.text
    assert await tasks_of(stack, tenant, "sync_vps_state") == 0
    # Once the instance is idle, the same request with the same key goes through.
    assert (await tenant.post(f"/tasks/{create_task}/cancel")).status_code == 200
    accepted = await tenant.post(path, params=reject, headers=keyed("sync"))
    assert accepted.status_code == 202, accepted.text
    assert REPLAYED not in accepted.headers
    assert_replay(accepted, await tenant.post(path, params=reject, headers=keyed("sync")))
    assert await tasks_of(stack, tenant, "sync_vps_state") == 1


async def test_a_key_must_be_1_to_255_printable_characters(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    for key in ("k" * 256, "k" * 1000, ""):
        response = await tenant.post("/instances", json=create_body(), headers=keyed(key))
        assert response.status_code == 400, (len(key), response.text)
        assert list(response.json()) == ["Idempotency-Key"]
        assert isinstance(response.json()["Idempotency-Key"], list)
    assert await instances_of(stack, tenant) == 0
    assert await count(stack, IdempotencyKey) == 0
    longest = await tenant.post("/instances", json=create_body(), headers=keyed("k" * 255))
    assert longest.status_code == 201, longest.text
    replay = await tenant.post("/instances", json=create_body(), headers=keyed("k" * 255))
    assert_replay(longest, replay)
