"""Snapshots and custom images over HTTP with the real worker on the simulated hypervisor: the
effect seen from inside the guest (its disk's boot counter), the rows the API shows, and every
refusal a 4xx with a documented code that writes nothing."""

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Image, InstanceTask, Snapshot
from nuage.db.session import transaction
from tests.drivers.guest_lines import boots
from tests.support import IMAGES, SIZES, Stack, Tenant, TenantFactory, create_body, start_worker

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, snapshot_limit=3)


async def console_boots(stack: Stack, instance_id: str) -> int:
    return boots(await stack.driver.console(instance_id))


async def done(tenant: Tenant, response: Any) -> dict[str, Any]:
    """The finished task a 202 queued (its `Location` is the task's URL)."""
    assert response.status_code == 202, response.text
    assert response.headers["Location"].endswith(f"/tasks/{response.json()['id']}")
    task = await tenant.wait(response.json()["id"])
    assert task["status"] == "completed", task
    return task


async def snapshot_of(tenant: Tenant, instance_id: str, name: str = "snap") -> dict[str, Any]:
    """A new available snapshot of the instance."""
    task = await done(
        tenant, await tenant.post(f"/instances/{instance_id}/snapshots", {"name": name})
    )
    snapshot_id = task["parameters"]["snapshot_id"]
    got = await tenant.get(f"/instances/{instance_id}/snapshots/{snapshot_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def power(tenant: Tenant, instance_id: str, verb: str) -> None:
    task = await tenant.act(instance_id, verb)
    assert (await tenant.wait(task["id"]))["status"] == "completed"


async def rows(stack: Stack, model: type[Snapshot] | type[Image] | type[InstanceTask]) -> int:
    async with transaction(stack.runtime.sessions) as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_a_restored_snapshot_brings_the_disk_back_and_leaves_the_instance_stopped(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]

    snapshot = await snapshot_of(tenant, instance, "first boot")
    await power(tenant, instance, "stop")
    await power(tenant, instance, "start")
    assert await console_boots(stack, instance) == 2
    await power(tenant, instance, "stop")
    url = f"/instances/{instance}/snapshots/{snapshot['id']}/restore"
    await done(tenant, await tenant.post(url))

    assert (snapshot["name"], snapshot["status"], snapshot["size_gb"]) == (
        "first boot",
        "available",
        25,
    )
    assert (await tenant.get(f"/instances/{instance}")).json()["status"] == "stopped"
    listed = (await tenant.get(f"/instances/{instance}/snapshots")).json()
    assert [(s["id"], s["status"]) for s in listed["results"]] == [(snapshot["id"], "available")]
    await power(tenant, instance, "start")
    assert await console_boots(stack, instance) == 2  # the snapshot's 1, booted once


async def test_restore_of_a_running_instance_is_refused_and_changes_nothing(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]
    snapshot = await snapshot_of(tenant, instance)
    tasks_before = await rows(stack, InstanceTask)

    refused = await tenant.post(f"/instances/{instance}/snapshots/{snapshot['id']}/restore")

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "instance_not_ready"
    assert await rows(stack, InstanceTask) == tasks_before
    again = await tenant.get(f"/instances/{instance}/snapshots/{snapshot['id']}")
    assert again.json()["status"] == "available"


async def test_the_snapshot_limit_refuses_the_next_one_and_writes_nothing(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()  # no worker: the snapshots stay `creating`
    for n in range(3):
        made = await tenant.post(f"/instances/{instance['id']}/snapshots", {"name": f"s{n}"})
        assert made.status_code == 202, made.text
    tasks_before = await rows(stack, InstanceTask)

    refused = await tenant.post(f"/instances/{instance['id']}/snapshots", {"name": "one more"})

    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "snapshot_limit_reached"
    assert await rows(stack, Snapshot) == 3
    assert await rows(stack, InstanceTask) == tasks_before


@pytest.mark.parametrize(
    "body",
    [None, {}, {"name": ""}, {"name": "x" * 101}, {"name": 3}, {"name": "a", "size": 1}, ["a"]],
    ids=["no body", "no name", "empty", "too long", "not text", "unknown key", "a list"],
)
async def test_a_bad_snapshot_body_is_a_400_and_writes_nothing(
    stack: Stack, tenants: TenantFactory, body: Any
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    tasks_before = await rows(stack, InstanceTask)

    refused = await tenant.post(f"/instances/{instance['id']}/snapshots", body)

    assert refused.status_code == 400, refused.text
    assert await rows(stack, Snapshot) == 0
    assert await rows(stack, InstanceTask) == tasks_before


async def test_a_replayed_snapshot_request_makes_one_snapshot(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    url, key = f"/instances/{instance['id']}/snapshots", {"Idempotency-Key": "snap-1"}

    first = await tenant.post(url, {"name": "once"}, headers=key)
    again = await tenant.post(url, {"name": "once"}, headers=key)
    other = await tenant.post(url, {"name": "twice"}, headers=key)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await rows(stack, Snapshot) == 1


async def test_a_deleted_snapshot_is_gone_and_a_second_delete_is_a_404(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]
    snapshot = await snapshot_of(tenant, instance)
    url = f"{tenant.base}/instances/{instance}/snapshots/{snapshot['id']}"

    await done(tenant, await tenant.client.delete(url, headers=tenant.headers))

    assert (await tenant.client.get(url, headers=tenant.headers)).status_code == 404
    assert (await tenant.client.delete(url, headers=tenant.headers)).status_code == 404
    restore = await tenant.post(f"/instances/{instance}/snapshots/{snapshot['id']}/restore")
    assert restore.status_code == 404


async def test_deleting_an_instance_removes_its_snapshots(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]
    await snapshot_of(tenant, instance)
    assert await rows(stack, Snapshot) == 1

    await done(
        tenant,
        await tenant.client.delete(f"{tenant.base}/instances/{instance}", headers=tenant.headers),
    )

    assert await rows(stack, Snapshot) == 0
    assert not list((settings.sim_state_dir / "snapshots").glob(f"{instance}/*"))


async def test_a_custom_image_carries_the_snapshot_into_new_instances_of_its_project_only(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant, other = await tenants(), await tenants()
    source = (await tenant.running_instance())["id"]
    await power(tenant, source, "reboot")  # the disk has booted twice
    snapshot = await snapshot_of(tenant, source)
    task = await done(
        tenant,
        await tenant.post(
            f"/instances/{source}/snapshots/{snapshot['id']}/image", {"name": "golden"}
        ),
    )
    image_id = task["parameters"]["image_id"]

    mine = {i["id"]: i for i in (await tenant.get("/images")).json()["results"]}
    assert (mine[image_id]["visibility"], mine[image_id]["status"]) == ("private", "available")
    assert (mine[image_id]["min_disk_gb"], mine[image_id]["instance_id"]) == (25, source)
    assert image_id not in {i["id"] for i in (await other.get("/images")).json()["results"]}
    public = (await tenant.client.get("/v1/compute/images", headers=tenant.headers)).json()
    assert image_id not in {i["id"] for i in public["results"]}

    too_small = await tenant.post(
        "/instances", create_body(size_id=SIZES["nano"], image_id=image_id)
    )
    assert (too_small.status_code, list(too_small.json())) == (400, ["size_id"]), too_small.text
    theirs = await other.post("/instances", create_body(image_id=image_id))
    missing = await other.post("/instances", create_body(image_id=snapshot["id"]))
    assert (theirs.status_code, missing.status_code) == (400, 400)
    assert theirs.text.replace(image_id, "<id>") == missing.text.replace(snapshot["id"], "<id>")

    copy = (await tenant.running_instance(image_id=image_id))["id"]
    assert await console_boots(stack, copy) == 3  # the snapshot's 2, booted once


async def custom_image(tenant: Tenant, instance_id: str) -> str:
    snapshot = await snapshot_of(tenant, instance_id)
    url = f"/instances/{instance_id}/snapshots/{snapshot['id']}/image"
    task = await done(tenant, await tenant.post(url, {"name": "golden"}))
    return str(task["parameters"]["image_id"])


async def test_an_image_in_use_cannot_be_deleted_and_outlives_its_instance(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    source = (await tenant.running_instance())["id"]
    image_id = await custom_image(tenant, source)
    await stack.stop_workers()  # the create that uses the image stays pending
    _pending, create_task = await tenant.create_instance(image_id=image_id)
    image_url = f"{tenant.base}/images/{image_id}"

    in_use = await tenant.client.delete(image_url, headers=tenant.headers)

    assert (in_use.status_code, in_use.json()["code"]) == (409, "image_in_use"), in_use.text
    start_worker(stack, settings)
    assert (await tenant.wait(create_task))["status"] == "completed"
    await done(
        tenant,
        await tenant.client.delete(f"{tenant.base}/instances/{source}", headers=tenant.headers),
    )
    deleted = await tenant.client.delete(image_url, headers=tenant.headers)
    task = await done(tenant, deleted)
    assert task["instance_id"] == source  # recorded against the deleted instance
    assert image_id not in {i["id"] for i in (await tenant.get("/images")).json()["results"]}
    assert not (settings.sim_state_dir / "images" / f"custom-{image_id}.json").exists()


async def test_a_reinstall_from_a_custom_image_brings_its_disk_and_forgets_old_snapshots(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]
    await power(tenant, instance, "reboot")
    image_id = await custom_image(tenant, instance)  # made at boot 2, and a snapshot kept

    task = await tenant.act(instance, "reinstall", {"image_id": image_id})

    assert (await tenant.wait(task["id"]))["status"] == "completed"
    assert await console_boots(stack, instance) == 3
    assert (await tenant.get(f"/instances/{instance}/snapshots")).json()["results"] == []


async def test_a_snapshot_not_yet_available_gives_no_image_and_no_restore(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()  # no worker: the snapshot stays `creating`
    made = await tenant.post(f"/instances/{instance['id']}/snapshots", {"name": "s"})
    snapshot_id = made.json()["parameters"]["snapshot_id"]
    url = f"/instances/{instance['id']}/snapshots/{snapshot_id}"
    images_before, tasks_before = await rows(stack, Image), await rows(stack, InstanceTask)

    image = await tenant.post(f"{url}/image", {"name": "too early"})
    restore = await tenant.post(f"{url}/restore")

    for refused in (image, restore):
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "invalid_resource_state"
    assert (await rows(stack, Image), await rows(stack, InstanceTask)) == (
        images_before,
        tasks_before,
    )
    assert (await tenant.get(url)).json()["status"] == "creating"


async def test_a_replayed_image_request_makes_one_image_and_public_images_cannot_be_deleted(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    start_worker(stack, settings)
    tenant = await tenants()
    instance = (await tenant.running_instance())["id"]
    snapshot = await snapshot_of(tenant, instance)
    url, key = f"/instances/{instance}/snapshots/{snapshot['id']}/image", {"Idempotency-Key": "i1"}
    images_before = await rows(stack, Image)

    first = await tenant.post(url, {"name": "golden"}, headers=key)
    again = await tenant.post(url, {"name": "golden"}, headers=key)
    public = await tenant.client.delete(
        f"{tenant.base}/images/{IMAGES['debian']}", headers=tenant.headers
    )

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert await rows(stack, Image) == images_before + 1
    assert public.status_code == 404, public.text
