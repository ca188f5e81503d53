"""Software over HTTP, down to what the simulated guest is given: the catalogue, install and
uninstall, the instance's list, the refusals (unknown, wrong image, installed or not), faults,
a stopped instance, and an idempotent replay."""

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask
from tests.drivers.guest_lines import software
from tests.support import IMAGES, ROCKY, SOFTWARE, Stack, Tenant, TenantFactory, poll

pytestmark = pytest.mark.anyio


def software_of(instance: dict[str, Any]) -> str:
    return f"/instances/{instance['id']}/software"


async def install(tenant: Tenant, instance: dict[str, Any], slug: str, **kw: Any) -> Any:
    return await tenant.post(software_of(instance), json={"software_id": SOFTWARE[slug]}, **kw)


async def uninstall(tenant: Tenant, instance: dict[str, Any], slug: str) -> Any:
    url = tenant.base + software_of(instance) + f"/{SOFTWARE[slug]}"
    return await tenant.client.delete(url, headers=tenant.headers)


async def done(tenant: Tenant, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert response.headers["Location"].endswith(f"/tasks/{response.json()['id']}")
    task = await tenant.wait(response.json()["id"])
    assert task["status"] == "completed", task
    return task


async def installed(tenant: Tenant, instance: dict[str, Any]) -> list[str]:
    shown: list[str] = (await tenant.get(f"/instances/{instance['id']}")).json()["software"]
    return shown


async def guest_software(stack: Stack, instance: dict[str, Any]) -> list[str]:
    return software(await stack.driver.console(instance["id"]))


async def tasks_of(stack: Stack, instance: dict[str, Any]) -> int:
    async with stack.runtime.sessions() as session:
        mine = InstanceTask.instance_id == UUID(instance["id"])
        query = sa.select(sa.func.count()).where(mine)
        return int(await session.scalar(query) or 0)


def refused(response: Any, status: int, code: str) -> None:
    assert (response.status_code, response.json().get("code")) == (status, code), response.text


async def test_the_catalogue_lists_each_software_with_its_images(tenants: TenantFactory) -> None:
    tenant = await tenants()
    response = await tenant.get("/software", params={"page_size": 100})

    assert response.status_code == 200, response.text
    page = response.json()
    assert {"count", "next", "previous", "results"} <= set(page)
    by_slug = {entry["slug"]: entry for entry in page["results"]}
    assert by_slug["nginx"]["id"] == SOFTWARE["nginx"]
    assert set(by_slug["nginx"]["image_ids"]) == {*IMAGES.values(), ROCKY}
    assert ROCKY not in by_slug["wordpress"]["image_ids"]
    assert page["count"] == len(page["results"]) >= 3


async def test_install_and_uninstall_reach_the_guest_and_the_instance(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    assert await installed(tenant, instance) == []
    assert await guest_software(stack, instance) == []

    first = await done(tenant, await install(tenant, instance, "nginx"))
    await done(tenant, await install(tenant, instance, "docker.io"))

    assert first["result"]["software"] == ["nginx"]
    assert first["parameters"] == {"software_id": SOFTWARE["nginx"], "slug": "nginx"}
    assert await installed(tenant, instance) == ["docker.io", "nginx"]
    assert await guest_software(stack, instance) == ["docker.io", "nginx"]  # after its restart
    removed = await done(tenant, await uninstall(tenant, instance, "nginx"))
    assert removed["result"]["software"] == ["docker.io"]
    assert await installed(tenant, instance) == ["docker.io"]
    assert await guest_software(stack, instance) == ["docker.io"]
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (shown["status"], shown["power_state"]) == ("running", "on")


async def test_a_stopped_instance_gets_its_software_at_its_next_boot(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await tenant.wait((await tenant.act(instance["id"], "stop"))["id"])

    await done(tenant, await install(tenant, instance, "nginx"))

    assert await guest_software(stack, instance) == []  # off: nothing booted since
    await tenant.wait((await tenant.act(instance["id"], "start"))["id"])
    assert await guest_software(stack, instance) == ["nginx"]
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (shown["status"], shown["software"]) == ("running", ["nginx"])


async def test_refusals_are_clear_and_queue_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    rocky = await tenant.running_instance(image_id=ROCKY)
    await done(tenant, await install(tenant, instance, "nginx"))
    before = await tasks_of(stack, instance), await tasks_of(stack, rocky)

    unknown = await tenant.post(software_of(instance), json={"software_id": IMAGES["debian"]})
    assert unknown.status_code == 400 and list(unknown.json()) == ["software_id"], unknown.text
    refused(await install(tenant, rocky, "wordpress"), 409, "software_not_for_image")
    refused(await install(tenant, instance, "nginx"), 409, "software_installed")
    refused(await uninstall(tenant, instance, "docker.io"), 409, "software_not_installed")
    missing = tenant.base + software_of(instance) + f"/{IMAGES['debian']}"
    refused(await tenant.client.delete(missing, headers=tenant.headers), 404, "not_found")
    for body in ({}, {"software_id": "nginx"}, {"software_id": SOFTWARE["nginx"], "x": 1}):
        bad = await tenant.post(software_of(instance), json=body)
        assert bad.status_code == 400, (body, bad.text)

    assert (await tasks_of(stack, instance), await tasks_of(stack, rocky)) == before
    assert await installed(tenant, instance) == ["nginx"]


async def test_another_tenants_instance_is_not_found(
    tenants: TenantFactory, worker: object
) -> None:
    owner, other = await tenants(), await tenants()
    instance = await owner.running_instance()
    await done(owner, await install(owner, instance, "nginx"))

    theirs = await other.post(software_of(instance), json={"software_id": SOFTWARE["nginx"]})
    url = other.base + software_of(instance) + f"/{SOFTWARE['nginx']}"
    gone = await other.client.delete(url, headers=other.headers)

    refused(theirs, 404, "not_found")
    refused(gone, 404, "not_found")
    assert await installed(owner, instance) == ["nginx"]


async def test_install_replays_with_its_idempotency_key(
    stack: Stack, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    instance, _ = await tenant.create_instance()
    key = {"Idempotency-Key": "install-once"}

    first = await install(tenant, instance, "nginx", headers=key)
    second = await install(tenant, instance, "nginx", headers=key)
    other = await install(tenant, instance, "docker.io", headers=key)

    assert first.status_code == second.status_code == 202, first.text
    assert first.json()["id"] == second.json()["id"]
    refused(other, 409, "idempotency_key_reused")
    assert await tasks_of(stack, instance) == 2  # its create and the one install


async def test_a_transient_fault_is_retried_and_a_permanent_one_changes_nothing(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stack.driver.inject_fault(instance["id"], operation="set_software", kind="transient")

    retried = await tenant.wait((await install(tenant, instance, "nginx")).json()["id"])

    assert (retried["status"], retried["retry_count"]) == ("completed", 1), retried
    stack.driver.inject_fault(instance["id"], operation="set_software", kind="permanent")
    failed = await tenant.wait((await install(tenant, instance, "docker.io")).json()["id"])
    assert failed["error"]["code"] == "sim_permanent_fault", failed
    assert await installed(tenant, instance) == ["nginx"]
    assert await guest_software(stack, instance) == ["nginx"]


async def test_sync_adopts_software_changed_behind_nuages_back(
    stack: Stack, tenants: TenantFactory, settings: Settings, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await done(tenant, await install(tenant, instance, "nginx"))
    path = Path(settings.sim_state_dir) / "machines" / f"{instance['id']}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "software": ["redis-server"]}))

    task = await tenant.wait((await tenant.act(instance["id"], "sync"))["id"])

    assert task["result"]["drift"] == {"software": {"was": ["nginx"], "now": ["redis-server"]}}
    assert await installed(tenant, instance) == ["redis-server"]
    refused(await uninstall(tenant, instance, "nginx"), 409, "software_not_installed")


async def test_a_cancelled_install_leaves_the_machine_and_the_instance_as_they_were(
    stack: Stack, tenants: TenantFactory, worker: object
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    stack.driver.inject_fault(
        instance["id"], operation="set_software", kind="transient", times=1000
    )
    queued = (await install(tenant, instance, "nginx")).json()

    async def retrying() -> bool:
        return int((await tenant.get(f"/tasks/{queued['id']}")).json()["retry_count"]) >= 1

    await poll(retrying)
    await tenant.post(f"/tasks/{queued['id']}/cancel")
    task = await tenant.wait(queued["id"])

    assert task["status"] == "cancelled", task
    shown = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert (shown["status"], shown["power_state"], shown["software"]) == ("running", "on", [])
    assert await guest_software(stack, instance) == []
