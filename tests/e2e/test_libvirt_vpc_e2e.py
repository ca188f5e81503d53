"""Through the HTTP API on a real libvirt host: an instance joins a VPC, and the VPC is an
isolated libvirt network (read back with `virsh`: no <forward>, no <ip>) with the guest's eth1
on it, whose address the guest prints; leaving removes the network. No traffic is sent."""

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from nuage.drivers.libvirt_network import vpc_network
from tests.drivers.test_contract_config import virsh
from tests.e2e.test_libvirt_e2e import libvirt_host
from tests.support import LOCATION, SIZES, Stack, TenantFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.one_database]
__all__ = ["libvirt_host"]  # the fixture, used by name


def eth_networks(domain: str) -> list[str | None]:
    xml = ET.fromstring(virsh("dumpxml", "--inactive", domain))
    return [s.get("network") for s in xml.iterfind("./devices/interface/source")]


async def test_a_vpc_on_libvirt_is_an_isolated_network_with_the_guests_eth1(
    stack: Stack, tenants: TenantFactory, libvirt_host: Any
) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance(name="vpc", size_id=SIZES["nano"])
    assert (await tenant.wait(task_id, timeout=180))["status"] == "completed"
    try:
        body = {"name": "private", "cidr_block": "10.30.0.0/24", "location_id": LOCATION}
        vpc_id = (await tenant.post("/vpcs", json=body)).json()["id"]
        network, _bridge = vpc_network(vpc_id)
        domain = f"nuage-{instance['id']}"

        joined = await tenant.act(instance["id"], "vpc", {"vpc_id": vpc_id})
        assert (await tenant.wait(joined["id"], timeout=180))["status"] == "completed"

        assert eth_networks(domain) == ["nuage-guests", network]
        root = ET.fromstring(virsh("net-dumpxml", network))
        assert root.find("forward") is None and root.find("ip") is None
        console = await libvirt_host.console(instance["id"])
        assert "NUAGE-IFACES eth0 eth1" in console
        assert "NUAGE-NET eth1 10.30.0.2/24" in console
        shown = (await tenant.get(f"/instances/{instance['id']}")).json()["vpc"]
        assert (shown["id"], shown["private_address"]) == (vpc_id, "10.30.0.2")

        left = await tenant.act(instance["id"], "vpc", {"vpc_id": None})
        assert (await tenant.wait(left["id"], timeout=180))["status"] == "completed"

        assert eth_networks(domain) == ["nuage-guests"]
        assert network not in virsh("net-list", "--all", "--name").split()
    finally:
        await libvirt_host.delete(instance["id"])  # the guest must not outlive the test
