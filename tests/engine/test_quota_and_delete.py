"""Quota at create (deleted instances free it), and delete: the machine goes, the instance leaves
the API, and nothing more may be queued behind a delete."""

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import Instance
from nuage.db.session import transaction
from nuage.engine.worker import Worker
from tests.engine.helpers import ops
from tests.support import IMAGES, LOCATION, SIZES, Stack, Tenant, TenantFactory, start_worker

pytestmark = pytest.mark.anyio


async def instance_rows(stack: Stack, tenant: Tenant) -> list[tuple[str, str]]:
    async with transaction(stack.runtime.sessions) as session:
        rows = await session.execute(
            sa.select(Instance.name, Instance.status)
            .where(Instance.organization_id == tenant.organization_id)
            .order_by(Instance.created)
        )
        return [(name, status) for name, status in rows.all()]


def instance_body(name: str) -> dict[str, str]:
    return {
        "name": name,
        "size_id": SIZES["small"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
    }


async def delete(tenant: Tenant, instance_id: str, **params: Any) -> Any:
    return await tenant.client.delete(
        f"{tenant.base}/instances/{instance_id}", headers=tenant.headers, params=params
    )


async def test_quota_is_enforced_at_create(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants(quota=1)
    await tenant.create_instance(name="first")

    refused = await tenant.post("/instances", json=instance_body("second"))

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "quota_exceeded"
    assert "(1)" in refused.json()["detail"]
    assert await instance_rows(stack, tenant) == [("first", "pending")]
    listed = (await tenant.get("/instances")).json()
    assert listed["count"] == 1


async def test_quota_counts_the_whole_organization_not_the_tenant_of_another(
    tenants: TenantFactory,
) -> None:
    full = await tenants(quota=1)
    other = await tenants(quota=1)
    await full.create_instance()
    await other.create_instance()  # another organization's quota is its own


async def test_concurrent_creates_cannot_both_pass_the_quota(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants(quota=1)

    responses = await asyncio.gather(
        *(tenant.post("/instances", json=instance_body(f"racer-{n}")) for n in range(3))
    )

    assert sorted(r.status_code for r in responses) == [201, 403, 403]
    assert len(await instance_rows(stack, tenant)) == 1


async def test_deleted_instances_free_quota(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants(quota=1)
    start_worker(stack, settings)
    first = await tenant.running_instance()
    await stack.stop_workers()
    response = await delete(tenant, first["id"])
    assert response.status_code == 202
    # Still counted while its delete is only queued.
    refused = await tenant.post("/instances", json=instance_body("too-early"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"

    start_worker(stack, settings)
    assert (await tenant.wait(response.json()["id"]))["status"] == "completed"

    _, task_id = await tenant.create_instance()

    assert (await tenant.wait(task_id))["status"] == "completed"
    assert [status for _, status in await instance_rows(stack, tenant)] == ["deleted", "running"]


async def test_delete_removes_the_instance_and_its_machine(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    keep = await tenant.running_instance()
    assert await stack.driver.inspect(instance["id"]) is not None

    response = await delete(tenant, instance["id"])

    assert response.status_code == 202, response.text
    task = response.json()
    assert task["task_type"] == "delete_vps"
    assert task["status"] == "pending"
    assert response.headers["Location"].endswith(f"/tasks/{task['id']}")
    done = await tenant.wait(task["id"])
    assert done["status"] == "completed", done
    assert done["result"] == {"deleted": True}
    listed = (await tenant.get("/instances")).json()
    assert [i["id"] for i in listed["results"]] == [keep["id"]]
    assert (await tenant.get(f"/instances/{instance['id']}")).status_code == 404
    assert await stack.driver.inspect(instance["id"]) is None
    assert ops(stack, instance["id"]) == ["create", "delete"]
    # The task stays readable, and a deleted instance takes nothing more.
    assert (await tenant.get(f"/tasks/{task['id']}")).status_code == 200
    assert (await tenant.post(f"/instances/{instance['id']}/start")).status_code == 404
    assert (await delete(tenant, instance["id"])).status_code == 404


async def test_actions_after_a_queued_delete_are_refused(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    instance, create_id = await tenant.create_instance()  # no worker yet: everything waits
    response = await delete(tenant, instance["id"])
    assert response.status_code == 202
    delete_id = response.json()["id"]

    for verb in ("start", "stop", "reboot"):
        refused = await tenant.post(f"/instances/{instance['id']}/{verb}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "instance_deleting"
    generic = await tenant.post(
        "/tasks", json={"instance_id": instance["id"], "task_type": "sync_vps_state"}
    )
    assert generic.status_code == 409
    assert generic.json()["code"] == "instance_deleting"
    assert (await delete(tenant, instance["id"])).json()["code"] == "instance_deleting"

    start_worker(stack, settings)
    assert (await tenant.wait(create_id))["status"] == "completed"
    assert (await tenant.wait(delete_id))["status"] == "completed"
    assert ops(stack, instance["id"]) == ["create", "delete"]
    assert (await tenant.get(f"/instances/{instance['id']}")).status_code == 404


async def test_concurrent_creates_in_different_organizations_get_distinct_legacy_ids(
    stack: Stack, tenants: TenantFactory
) -> None:
    """legacy_id is unique across organizations: concurrent creates of many tenants all succeed
    (no 500 from a collision) and number their instances without gaps or repeats."""
    owners = [await tenants() for _ in range(6)]
    body = {
        "name": "vm",
        "size_id": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0001",
        "location_id": "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001",
        "image_id": "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001",
    }
    responses = await asyncio.gather(
        *(owner.post("/instances", json=body) for owner in owners for _ in range(3))
    )
    assert [r.status_code for r in responses] == [201] * 18, [r.text for r in responses]
    legacy = sorted(r.json()["legacy_id"] for r in responses)
    assert legacy == list(range(legacy[0], legacy[0] + 18))
