"""Through the HTTP API on a real libvirt host: a rule set PUT on a running instance becomes its
nwfilter, bound live to its eth0 (read back with `virsh`; no traffic is sent), the instance
shows the rules libvirt holds, and deleting the instance leaves no filter behind."""

from typing import Any

import pytest

from nuage.drivers.libvirt_network import nic_device
from tests.drivers.test_contract_config import virsh
from tests.drivers.test_contract_firewall import bindings, filter_names, instantiated
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import SIZES, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, used by name

SSH = {
    "priority": 20,
    "direction": "INPUT",
    "action": "ACCEPT",
    "protocol": "TCP",
    "source_address": "203.0.113.0/24",
    "destination_ports": {"start": 22},
}
PING = {"priority": 10, "direction": "INPUT", "action": "ACCEPT", "protocol": "ICMP"}


async def test_a_rule_set_becomes_the_instances_nwfilter_on_libvirt(
    tenants: TenantFactory, libvirt_host: Any
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(name="fw", size_id=SIZES["nano"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    machine_id, name = instance["id"], f"nuage-fw-{instance['id']}"
    url = f"{tenant.base}/instances/{machine_id}/firewall"
    try:
        queued = await tenant.client.put(url, json={"rules": [SSH, PING]}, headers=tenant.headers)
        applied = await tenant.wait(queued.json()["id"], timeout=60)

        assert applied["status"] == "completed", applied
        shown = (await tenant.get(f"/instances/{machine_id}/firewall")).json()
        assert [r["priority"] for r in shown["rules"]] == [10, 20] and shown["enabled"]
        dumped = virsh("nwfilter-dumpxml", name)
        assert "srcipaddr='203.0.113.0'" in dumped and "dstportstart='22'" in dumped
        assert bindings(machine_id, live=True) == bindings(machine_id, live=False) == [name]
        assert instantiated(machine_id) == [name], nic_device(machine_id, 0)

        deleted = await tenant.client.delete(
            f"{tenant.base}/instances/{machine_id}", headers=tenant.headers
        )
        assert (await tenant.wait(deleted.json()["id"], timeout=60))["status"] == "completed"
        assert name not in filter_names()
    finally:
        await libvirt_host.delete(machine_id)  # the guest must not outlive the test
