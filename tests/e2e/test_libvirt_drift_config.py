"""Through the HTTP API on a real libvirt host: drift made with `virsh` behind nuage's back is
adopted by `sync_vps_state`, and an operator's `apply_config` lands in the domain's XML."""

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.drivers.test_contract_config import virsh
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, Stack, TenantFactory, make_staff

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, used by name


async def test_drift_is_adopted_and_config_applied_on_libvirt(
    stack: Stack, tenants: TenantFactory, libvirt_host: Any
) -> None:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)
    instance, task_id = await tenant.create_instance(name="drift", size_id=SIZES["nano"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    try:
        domain = f"nuage-{instance['id']}"

        virsh("destroy", domain)
        virsh("setvcpus", domain, "2", "--config")
        synced = await tenant.wait((await tenant.act(instance["id"], "sync"))["id"], timeout=60)

        assert synced["status"] == "completed", synced
        assert synced["result"]["drift"] == {
            "status": {"was": "running", "now": "stopped"},
            "power_state": {"was": "on", "now": "off"},
            "vcpu": {"was": 1, "now": 2},
        }
        shown = (await tenant.get(f"/instances/{instance['id']}")).json()
        assert (shown["status"], shown["power_state"], shown["hardware"]["vcpu"]) == (
            "stopped",
            "off",
            2,
        )

        queued = await tenant.act(instance["id"], "config", {"config": {"cpu_model": "qemu64"}})
        applied = await tenant.wait(queued["id"], timeout=60)

        assert applied["result"]["after"] == {"cpu_model": "qemu64"}, applied
        xml = ET.fromstring(virsh("dumpxml", "--inactive", domain))
        assert xml.findtext("cpu/model") == "qemu64"
        vcpu = xml.find("vcpu")  # the adopted drift survives the redefinition
        assert vcpu is not None and vcpu.get("current") == "2"
    finally:
        await libvirt_host.delete(instance["id"])  # the guest must not outlive the test
