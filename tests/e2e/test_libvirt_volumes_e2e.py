"""End to end through the HTTP API on a real libvirt host: a volume is created and attached, seen
by the guest, detached, attached to a second instance, grown live, detached and deleted; nothing
is left on disk afterwards."""

from typing import Any

import pytest

from tests.drivers.test_driver_volumes import guest_sees
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, Tenant, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, shared with the instance's end-to-end test


async def completed(tenant: Tenant, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = await tenant.client.request(
        method, tenant.base + path, json=body, headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    task = await tenant.wait(response.json()["id"], timeout=180)
    assert task["status"] == "completed", task
    return task


async def booted(tenant: Tenant, name: str, made: list[str]) -> dict[str, Any]:
    instance, task_id = await tenant.create_instance(name=name, size_id=SIZES["nano"])
    made.append(instance["id"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    return instance


async def test_a_volume_moves_between_two_guests_through_the_api(
    tenants: TenantFactory, libvirt_host: Any
) -> None:
    driver = libvirt_host
    tenant = await tenants()
    made: list[str] = []  # machines to remove even if the test fails half-way
    try:
        await lives(tenant, driver, made)
    finally:
        for machine_id in made:
            await driver.delete(machine_id)


async def lives(tenant: Tenant, driver: Any, made: list[str]) -> None:
    first, second = [await booted(tenant, name, made) for name in ("vol-a", "vol-b")]

    created = await completed(
        tenant, "POST", f"/instances/{first['id']}/volumes", {"name": "data", "size_gb": 2}
    )
    volume_id = created["parameters"]["volume_id"]
    path = f"/volumes/{volume_id}"
    await guest_sees(driver, first["id"], {"vdc": "2G"})

    await completed(tenant, "POST", f"{path}/detach")
    await guest_sees(driver, first["id"], {})
    await completed(tenant, "POST", f"{path}/attach", {"instance_id": second["id"]})
    await guest_sees(driver, second["id"], {"vdc": "2G"})
    await completed(tenant, "POST", f"{path}/resize", {"size_gb": 3})
    await guest_sees(driver, second["id"], {"vdc": "3G"})
    got = (await tenant.get(path)).json()
    assert (got["status"], got["instance_id"], got["device"], got["size_gb"]) == (
        "in-use",
        second["id"],
        "vdc",
        3,
    )
    await completed(tenant, "POST", f"{path}/detach")
    await guest_sees(driver, second["id"], {})
    await completed(tenant, "DELETE", path)

    assert await driver.inspect_volume(volume_id) is None
    for instance in (first, second):
        await completed(tenant, "DELETE", f"/instances/{instance['id']}")
    state = driver.settings.state_dir
    assert sorted(p.name for p in state.rglob("*") if p.is_file()) == []
