"""Backups end to end through the HTTP API on a real libvirt host: a backup of the running guest,
the disk moves on, a restore brings its boot counter back; the instance is deleted and its
backup is still listed and in the host's store; deleting the backup removes its file."""

from pathlib import Path
from typing import Any

import pytest

from tests.drivers.guest_lines import boots
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, shared with the lifecycle test


async def test_a_backup_restores_the_guest_and_outlives_it(
    tenants: TenantFactory, libvirt_host: Any
) -> None:
    driver = libvirt_host
    tenant = await tenants()

    async def finished(response: Any) -> dict[str, Any]:
        assert response.status_code == 202, response.text
        done: dict[str, Any] = await tenant.wait(response.json()["id"], timeout=180)
        assert done["status"] == "completed", done
        return done

    instance, task_id = await tenant.create_instance(name="bk", size_id=SIZES["nano"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    iid = instance["id"]
    at_backup = boots(await driver.console(iid))
    made = await finished(await tenant.post(f"/instances/{iid}/backups", json={"name": "live"}))
    backup_id = made["parameters"]["backup_id"]
    for verb in ("stop", "start", "stop"):
        await finished(await tenant.post(f"/instances/{iid}/{verb}"))

    await finished(await tenant.post(f"/instances/{iid}/backups/{backup_id}/restore"))
    await finished(await tenant.post(f"/instances/{iid}/start"))

    assert boots(await driver.console(iid)) == at_backup + 1
    backup = (await tenant.get(f"/instances/{iid}/backups/{backup_id}")).json()
    assert (backup["status"], backup["size_gb"]) == ("available", instance["size"]["disk_gb"])
    stored = Path(driver.settings.backup_store) / iid / f"{backup_id}.qcow2"
    assert stored.is_file()

    url = f"{tenant.base}/instances/{iid}"
    await finished(await tenant.client.delete(url, headers=tenant.headers))
    listed = (await tenant.get(f"/instances/{iid}/backups")).json()["results"]
    assert [b["id"] for b in listed] == [backup_id]
    assert stored.is_file()
    await finished(await tenant.client.delete(f"{url}/backups/{backup_id}", headers=tenant.headers))
    assert not stored.exists()
    assert (await tenant.get(f"/instances/{iid}/backups")).json()["results"] == []
