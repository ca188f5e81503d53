"""Snapshots, backups and custom images end to end through the HTTP API on a real libvirt host,
the issue's story in one go: create → snapshot → the disk moves on → stop → restore → start (the
guest shows the snapshot's state) → backup → image from the snapshot → delete the instance (its
backup is still listed) → a new instance from the image boots with the snapshot's contents →
delete the rest: nothing is left on disk.

The guest's disk state is its boot counter (tests/drivers/guest_lines.py): a snapshot taken at
boot N, restored, makes the next boot print N + 1 again."""

from pathlib import Path
from typing import Any

import pytest

from tests.drivers.guest_lines import boots
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, Tenant, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, shared with the lifecycle test


async def done(tenant: Tenant, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = await tenant.client.request(
        method, tenant.base + path, json=body, headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    task: dict[str, Any] = await tenant.wait(response.json()["id"], timeout=180)
    assert task["status"] == "completed", task
    return task


def files_under(*roots: Path) -> list[str]:
    return sorted(str(p) for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


async def test_a_snapshot_a_backup_and_an_image_through_the_api(
    tenants: TenantFactory, libvirt_host: Any
) -> None:
    driver = libvirt_host
    tenant = await tenants()
    made: list[str] = []  # machines to remove even if the test fails half-way
    try:
        await story(tenant, driver, made)
    finally:
        for machine_id in made:
            await driver.delete(machine_id)


async def story(tenant: Tenant, driver: Any, made: list[str]) -> None:
    stores = (driver.settings.state_dir, Path(driver.settings.backup_store))
    images_before = set(files_under(driver.settings.images_dir))
    instance, task_id = await tenant.create_instance(name="st", size_id=SIZES["nano"])
    made.append(iid := instance["id"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    at_snapshot = boots(await driver.console(iid))

    snap = await done(tenant, "POST", f"/instances/{iid}/snapshots", {"name": "before"})
    snapshot_id = snap["parameters"]["snapshot_id"]
    await done(tenant, "POST", f"/instances/{iid}/reboot")  # the disk moves on
    assert boots(await driver.console(iid)) == at_snapshot + 1
    await done(tenant, "POST", f"/instances/{iid}/stop")
    await done(tenant, "POST", f"/instances/{iid}/snapshots/{snapshot_id}/restore")
    await done(tenant, "POST", f"/instances/{iid}/start")
    assert boots(await driver.console(iid)) == at_snapshot + 1  # the snapshot's state, booted
    shown = (await tenant.get(f"/instances/{iid}")).json()
    assert (shown["status"], shown["power_state"]) == ("running", "on")

    at_backup = boots(await driver.console(iid))
    backup = await done(tenant, "POST", f"/instances/{iid}/backups", {"name": "nightly"})
    backup_id = backup["parameters"]["backup_id"]
    image = await done(
        tenant, "POST", f"/instances/{iid}/snapshots/{snapshot_id}/image", {"name": "golden"}
    )
    image_id = image["parameters"]["image_id"]

    await done(tenant, "DELETE", f"/instances/{iid}")
    listed = (await tenant.get(f"/instances/{iid}/backups")).json()["results"]
    assert [(b["id"], b["status"]) for b in listed] == [(backup_id, "available")]
    assert (await tenant.get(f"/instances/{iid}/snapshots")).status_code in {200, 404}

    copy, task_id = await tenant.create_instance(
        name="from-golden", image_id=image_id, size_id=SIZES["nano"]
    )
    made.append(copy["id"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    assert boots(await driver.console(copy["id"])) == at_snapshot + 1  # the snapshot's disk

    await done(tenant, "DELETE", f"/instances/{copy['id']}")
    await done(tenant, "DELETE", f"/instances/{iid}/backups/{backup_id}")
    await done(tenant, "DELETE", f"/images/{image_id}")
    assert at_backup == at_snapshot + 1
    assert files_under(*stores) == []
    assert set(files_under(driver.settings.images_dir)) == images_before
