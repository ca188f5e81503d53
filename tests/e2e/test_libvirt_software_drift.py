"""Through the HTTP API on a real libvirt host: installed software reaches the guest through the
seed's cloud-config (the guest prints it after the restart), and a volume unplugged with
`virsh detach-disk` behind nuage's back is adopted by `sync_vps_state`."""

from typing import Any

import pytest

from tests.drivers.guest_lines import software
from tests.drivers.test_contract_config import virsh
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, SOFTWARE, Stack, Tenant, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, used by name


async def completed(tenant: Tenant, response: Any, timeout: float = 120) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    task = await tenant.wait(response.json()["id"], timeout=timeout)
    assert task["status"] == "completed", task
    return task


async def test_software_reaches_the_guest_and_a_virsh_detach_is_adopted(
    stack: Stack, tenants: TenantFactory, libvirt_host: Any
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(name="soft", size_id=SIZES["nano"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    machine_id = instance["id"]
    try:
        body = {"software_id": SOFTWARE["nginx"]}
        await completed(tenant, await tenant.post(f"/instances/{machine_id}/software", json=body))
        assert software(await libvirt_host.console(machine_id)) == ["nginx"]
        shown = (await tenant.get(f"/instances/{machine_id}")).json()
        assert (shown["software"], shown["power_state"]) == (["nginx"], "on")

        made = await tenant.post(
            f"/instances/{machine_id}/volumes", json={"name": "data", "size_gb": 1}
        )
        volume_id = (await completed(tenant, made))["parameters"]["volume_id"]
        virsh("detach-disk", f"nuage-{machine_id}", "vdc", "--persistent")
        synced = await completed(tenant, await tenant.post(f"/instances/{machine_id}/sync"), 60)

        assert synced["result"]["volumes_detached"] == [volume_id]
        assert synced["result"]["drift"]["volumes"] == {"was": [[volume_id, "vdc"]], "now": []}
        volume = (await tenant.get(f"/volumes/{volume_id}")).json()
        assert (volume["status"], volume["instance_id"], volume["device"]) == (
            "available",
            None,
            None,
        )
    finally:
        await libvirt_host.delete(machine_id)  # the guest must not outlive the test
