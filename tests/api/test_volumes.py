"""Volumes over HTTP on the simulated hypervisor: the whole life of a volume as the guest sees it,
the preconditions and the quota (each a 4xx with a code, and nothing written), idempotency, and
what deleting an instance does to its volumes."""

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask, Volume
from tests.drivers.guest_lines import disks
from tests.support import Stack, Tenant, TenantFactory, start_worker

pytestmark = pytest.mark.anyio

FRA = "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0002"  # another location (and host) than LOCATION
QUOTA_COUNT, QUOTA_GB = 3, 12


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, volume_quota_count=QUOTA_COUNT, volume_quota_gb=QUOTA_GB)


async def new_volume(tenant: Tenant, instance_id: str, size_gb: int = 1) -> dict[str, Any]:
    """Create and attach a volume; the volume once its task completed."""
    response = await tenant.post(
        f"/instances/{instance_id}/volumes", json={"name": "data", "size_gb": size_gb}
    )
    assert response.status_code == 202, response.text
    task = response.json()
    assert (await tenant.wait(task["id"]))["status"] == "completed"
    return await volume(tenant, task["parameters"]["volume_id"])


async def volume(tenant: Tenant, volume_id: str) -> dict[str, Any]:
    response = await tenant.get(f"/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def done(tenant: Tenant, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    task = await tenant.wait(response.json()["id"])
    assert task["status"] == "completed", task
    return task


async def guest_disks(stack: Stack, instance_id: str) -> dict[str, str]:
    seen = disks(await stack.driver.console(instance_id))
    seen.pop("vda")
    return seen


async def rows(stack: Stack) -> tuple[list[tuple[Any, ...]], int]:
    """Every volume row and the number of tasks: what a refused request must not change."""
    async with stack.runtime.sessions() as session:
        volumes = (await session.execute(sa.select(Volume.__table__))).all()
        tasks = await session.scalar(sa.select(sa.func.count()).select_from(InstanceTask))
    return [tuple(row) for row in volumes], int(tasks or 0)


async def test_a_volume_s_life_as_the_guests_see_it(
    stack: Stack, tenants: TenantFactory, worker: object, settings: Settings
) -> None:
    tenant = await tenants()
    first = await tenant.running_instance()
    second = await tenant.running_instance()

    made = await new_volume(tenant, first["id"], size_gb=2)
    assert made["status"] == "in-use"
    assert (made["instance_id"], made["device"], made["size_gb"]) == (first["id"], "vdc", 2)
    assert made["location"]["id"] == first["location"]["id"]
    assert await guest_disks(stack, first["id"]) == {"vdc": "2G"}

    await done(tenant, await tenant.post(f"/volumes/{made['id']}/resize", json={"size_gb": 3}))
    assert (await volume(tenant, made["id"]))["size_gb"] == 3
    assert await guest_disks(stack, first["id"]) == {"vdc": "3G"}

    await done(tenant, await tenant.post(f"/volumes/{made['id']}/detach"))
    detached = await volume(tenant, made["id"])
    assert (detached["status"], detached["instance_id"], detached["device"]) == (
        "available",
        None,
        None,
    )
    assert await guest_disks(stack, first["id"]) == {}

    attach = await tenant.post(f"/volumes/{made['id']}/attach", json={"instance_id": second["id"]})
    task = await done(tenant, attach)
    assert task["instance_id"] == second["id"]  # recorded against the instance it goes to
    moved = await volume(tenant, made["id"])
    assert (moved["status"], moved["instance_id"], moved["device"]) == (
        "in-use",
        second["id"],
        "vdc",
    )
    assert await guest_disks(stack, second["id"]) == {"vdc": "3G"}

    await done(tenant, await tenant.post(f"/volumes/{made['id']}/detach"))
    await stack.stop_workers()
    deletes = [
        await tenant.client.delete(tenant.base + f"/volumes/{made['id']}", headers=tenant.headers)
        for _ in range(2)
    ]  # the second queues behind the first, and finds the volume gone: done all the same
    start_worker(stack, settings)
    deleted, _again = [await done(tenant, response) for response in deletes]
    assert deleted["instance_id"] == second["id"]  # the instance it was last attached to
    assert (await tenant.get(f"/volumes/{made['id']}")).status_code == 404
    assert (await tenant.get("/volumes")).json()["count"] == 0
    assert list(Path(settings.sim_state_dir, "volumes").iterdir()) == []


async def test_refused_requests_write_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    elsewhere = await tenant.running_instance(location_id=FRA)
    made = await new_volume(tenant, instance["id"], size_gb=2)
    before = await rows(stack)
    path = f"/volumes/{made['id']}"

    shrink = await tenant.post(f"{path}/resize", json={"size_gb": 1})
    delete = await tenant.client.delete(tenant.base + path, headers=tenant.headers)
    attach_in_use = await tenant.post(f"{path}/attach", json={"instance_id": instance["id"]})
    await done(tenant, await tenant.post(f"{path}/detach"))
    after_detach = await rows(stack)
    cross = await tenant.post(f"{path}/attach", json={"instance_id": elsewhere["id"]})
    detach_detached = await tenant.post(f"{path}/detach")

    assert shrink.status_code == 400 and "size_gb" in shrink.json()
    assert (delete.status_code, delete.json()["code"]) == (409, "invalid_resource_state")
    assert (attach_in_use.status_code, attach_in_use.json()["code"]) == (
        409,
        "invalid_resource_state",
    )
    assert (cross.status_code, cross.json()["code"]) == (409, "volume_elsewhere")
    assert (detach_detached.status_code, detach_detached.json()["code"]) == (
        409,
        "invalid_resource_state",
    )
    assert before[1] + 1 == after_detach[1]  # only the detach was queued
    assert await rows(stack) == after_detach


async def test_the_project_s_volume_quota_counts_volumes_and_gib(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    big = await new_volume(tenant, instance["id"], size_gb=QUOTA_GB - 2)
    before = await rows(stack)

    too_big = await tenant.post(
        f"/instances/{instance['id']}/volumes", json={"name": "more", "size_gb": 3}
    )
    grow_past = await tenant.post(f"/volumes/{big['id']}/resize", json={"size_gb": QUOTA_GB + 1})

    for refused in (too_big, grow_past):
        assert (refused.status_code, refused.json()["code"]) == (403, "quota_exceeded")
    assert await rows(stack) == before
    await new_volume(tenant, instance["id"])
    await new_volume(tenant, instance["id"])
    one_more = await tenant.post(
        f"/instances/{instance['id']}/volumes", json={"name": "more", "size_gb": 1}
    )
    assert (one_more.status_code, one_more.json()["code"]) == (403, "quota_exceeded")
    other = await tenants()  # a quota per project
    await new_volume(other, (await other.running_instance())["id"])


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "size_gb": 0},
        {"name": "x", "size_gb": 16_385},
        {"name": "x", "size_gb": "big"},
        {"name": "x", "size_gb": 1.5},
        {"name": "", "size_gb": 1},
        {"name": "x" * 65, "size_gb": 1},
        {"size_gb": 1},
        {"name": "x", "size_gb": 1, "type": "ssd"},
        ["name", "x"],
    ],
)
async def test_bad_create_bodies_are_400_and_write_nothing(
    stack: Stack, tenants: TenantFactory, body: Any
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    before = await rows(stack)

    response = await tenant.post(f"/instances/{instance['id']}/volumes", json=body)

    assert response.status_code == 400, response.text
    assert await rows(stack) == before


async def test_another_tenant_s_volume_is_a_404_like_a_missing_one(
    tenants: TenantFactory, worker: object
) -> None:
    tenant, other = await tenants(), await tenants()
    made = await new_volume(tenant, (await tenant.running_instance())["id"])
    theirs = (await other.running_instance())["id"]
    missing = "00000000-0000-4000-8000-000000000000"

    for volume_id in (made["id"], missing):
        answers = [
            await other.get(f"/volumes/{volume_id}"),
            await other.post(f"/volumes/{volume_id}/detach"),
            await other.post(f"/volumes/{volume_id}/resize", json={"size_gb": 5}),
            await other.post(f"/volumes/{volume_id}/attach", json={"instance_id": theirs}),
        ]
        assert [a.status_code for a in answers] == [404] * 4
        assert len({a.content for a in answers}) == 1
    attach_theirs = await tenant.post(f"/volumes/{made['id']}/attach", json={"instance_id": theirs})
    assert attach_theirs.status_code == 400 and "instance_id" in attach_theirs.json()
    assert (await other.get("/volumes")).json()["count"] == 0


async def test_a_replayed_create_makes_one_volume(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    path, body = f"/instances/{instance['id']}/volumes", {"name": "data", "size_gb": 1}

    first = await tenant.post(path, json=body, headers={"Idempotency-Key": "vol-1"})
    again = await tenant.post(path, json=body, headers={"Idempotency-Key": "vol-1"})
    other_body = await tenant.post(
        path, json={**body, "size_gb": 2}, headers={"Idempotency-Key": "vol-1"}
    )

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 409
    assert (await tenant.get("/volumes")).json()["count"] == 1


async def test_deleting_an_instance_keeps_its_volumes_detached_and_their_tasks_run(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    made = await new_volume(tenant, instance["id"])

    await done(
        tenant,
        await tenant.client.delete(
            tenant.base + f"/instances/{instance['id']}", headers=tenant.headers
        ),
    )
    kept = await volume(tenant, made["id"])
    grown = await done(
        tenant, await tenant.post(f"/volumes/{made['id']}/resize", json={"size_gb": 2})
    )
    deleted = await done(
        tenant,
        await tenant.client.delete(tenant.base + f"/volumes/{made['id']}", headers=tenant.headers),
    )

    assert (kept["status"], kept["instance_id"], kept["device"]) == ("available", None, None)
    assert grown["instance_id"] == deleted["instance_id"] == instance["id"]  # a deleted one
    assert await stack.driver.inspect_volume(made["id"]) is None


async def test_delete_volumes_true_deletes_them_with_the_instance(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    made = [await new_volume(tenant, instance["id"]) for _ in range(2)]
    before = await rows(stack)
    unclear = await tenant.client.delete(
        tenant.base + f"/instances/{instance['id']}",
        params={"delete_volumes": "maybe"},
        headers=tenant.headers,
    )
    assert unclear.status_code == 400 and "delete_volumes" in unclear.json(), unclear.text
    assert await rows(stack) == before

    task = await done(
        tenant,
        await tenant.client.delete(
            tenant.base + f"/instances/{instance['id']}",
            params={"delete_volumes": "true"},
            headers=tenant.headers,
        ),
    )

    assert task["parameters"] == {"delete_volumes": True}
    assert (await tenant.get("/volumes")).json()["count"] == 0
    for volume_id in (v["id"] for v in made):
        assert await stack.driver.inspect_volume(volume_id) is None


async def test_a_cancelled_request_puts_the_volume_back_as_it_was(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    made = await new_volume(tenant, instance["id"])
    await stack.stop_workers()  # the tasks below stay pending
    path = f"/volumes/{made['id']}"

    async def cancelled(response: httpx.Response) -> str:
        assert response.status_code == 202, response.text
        cancel = await tenant.post(f"/tasks/{response.json()['id']}/cancel")
        assert cancel.json()["status"] == "cancelled", cancel.text
        return str((await volume(tenant, made["id"]))["status"])

    assert await cancelled(await tenant.post(f"{path}/resize", json={"size_gb": 2})) == "in-use"
    assert await cancelled(await tenant.post(f"{path}/detach")) == "in-use"
    start_worker(stack, stack.runtime.settings)
    await done(tenant, await tenant.post(f"{path}/detach"))
    await stack.stop_workers()
    attach = await tenant.post(f"{path}/attach", json={"instance_id": instance["id"]})
    assert await cancelled(attach) == "available"
    assert await cancelled(await tenant.post(f"{path}/resize", json={"size_gb": 2})) == "available"
    assert (await volume(tenant, made["id"]))["size_gb"] == 1


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("attach", {}),
        ("attach", {"instance_id": "not-a-uuid"}),
        ("attach", {"instance_id": 7}),
        ("attach", {"instance_id": None}),
        ("resize", {}),
        ("resize", {"size_gb": -1}),
        ("resize", {"size_gb": "two"}),
        ("resize", {"size_gb": 10**30}),
        ("resize", {"size_gb": 2, "live": True}),
        ("resize", [2]),
    ],
)
async def test_bad_action_bodies_are_400_and_write_nothing(
    stack: Stack, tenants: TenantFactory, worker: object, action: str, body: Any
) -> None:
    tenant = await tenants()
    made = await new_volume(tenant, (await tenant.running_instance())["id"])
    before = await rows(stack)

    response = await tenant.post(f"/volumes/{made['id']}/{action}", json=body)
    malformed_id = await tenant.post("/volumes/not-a-uuid/detach")

    assert response.status_code == 400, response.text
    assert malformed_id.status_code == 404, malformed_id.text
    assert await rows(stack) == before


async def test_a_volume_being_attached_cannot_be_sent_to_a_second_instance(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    first, second = await tenant.running_instance(), await tenant.running_instance()
    made = await new_volume(tenant, first["id"])
    await done(tenant, await tenant.post(f"/volumes/{made['id']}/detach"))
    await stack.stop_workers()  # the first attach stays pending
    path = f"/volumes/{made['id']}/attach"
    queued = await tenant.post(path, json={"instance_id": first["id"]})
    before = await rows(stack)

    racing = await tenant.post(path, json={"instance_id": second["id"]})

    assert queued.status_code == 202, queued.text
    assert (racing.status_code, racing.json()["code"]) == (409, "invalid_resource_state")
    assert await rows(stack) == before
