"""What only the libvirt driver shows of a guest's network, read back from libvirt (no traffic
is sent): eth0 is a virtio interface on the isolated network `nuage-guests` (no <forward>, no
<ip>), with a MAC, host device and alias derived from the machine id that every definition
keeps. A VPC is an isolated network of its own, with the guest's eth1 on it, removed when its
last member leaves."""

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nuage.drivers.base import MachineSpec, PrivateNetwork
from nuage.drivers.libvirt import LibvirtDriver
from nuage.drivers.libvirt_connection import load_binding
from nuage.drivers.libvirt_domain import domain_name
from nuage.drivers.libvirt_network import GUEST_NETWORK, nic_device, nic_mac, vpc_network

from .conftest import LIBVIRT_URI, libvirt_driver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SpecFactory = Callable[..., MachineSpec]


def interfaces_of(xml: str) -> list[dict[str, str | None]]:
    found = []
    for nic in ET.fromstring(xml).iterfind("./devices/interface"):
        found.append(
            {
                "type": nic.get("type"),
                "network": _attr(nic, "source", "network"),
                "mac": _attr(nic, "mac", "address"),
                "dev": _attr(nic, "target", "dev"),
                "model": _attr(nic, "model", "type"),
                "alias": _attr(nic, "alias", "name"),
            }
        )
    return found


def _attr(element: ET.Element, child: str, name: str) -> str | None:
    found = element.find(child)
    return None if found is None else found.get(name)


def expected_eth0(machine_id: str) -> dict[str, str | None]:
    return {
        "type": "network",
        "network": GUEST_NETWORK,
        "mac": nic_mac(machine_id, 0),
        "dev": nic_device(machine_id, 0),
        "model": "virtio",
        "alias": "ua-eth0",
    }


def assert_isolated(conn: Any, name: str) -> None:
    root = ET.fromstring(conn.networkLookupByName(name).XMLDesc(0))
    assert root.find("forward") is None and root.find("ip") is None
    assert root.find("bridge") is not None


async def test_eth0_is_on_the_isolated_guest_network_and_keeps_its_identity(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    driver = libvirt_driver(state_dir)
    assert isinstance(driver, LibvirtDriver)
    spec = new_spec()
    lv = load_binding()
    conn = lv.open(LIBVIRT_URI)
    try:
        await driver.create(spec)
        dom = conn.lookupByName(domain_name(spec.machine_id))
        assert interfaces_of(dom.XMLDesc(0)) == [expected_eth0(spec.machine_id)]
        assert_isolated(conn, GUEST_NETWORK)
        assert conn.networkLookupByName(GUEST_NETWORK).isActive()

        await driver.stop(spec.machine_id)
        await driver.resize(spec.machine_id, vcpu=2, ram_mb=spec.ram_mb, disk_gb=spec.disk_gb)

        inactive = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
        assert interfaces_of(inactive) == [expected_eth0(spec.machine_id)]
    finally:
        await driver.delete(spec.machine_id)
        await driver.close()
        conn.close()


async def test_a_vpc_is_an_isolated_network_of_its_own_with_eth1_on_it(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    driver = libvirt_driver(state_dir)
    assert isinstance(driver, LibvirtDriver)
    spec, vpc = new_spec(), PrivateNetwork(str(uuid.uuid4()), "10.9.0.2", 24)
    name, bridge = vpc_network(vpc.network_id)
    lv = load_binding()
    conn = lv.open(LIBVIRT_URI)
    try:
        await driver.create(spec)
        await driver.stop(spec.machine_id)
        await driver.set_private_network(spec.machine_id, vpc)

        dom = conn.lookupByName(domain_name(spec.machine_id))
        eth1 = {
            "type": "network",
            "network": name,
            "mac": nic_mac(spec.machine_id, 1),
            "dev": nic_device(spec.machine_id, 1),
            "model": "virtio",
            "alias": "ua-eth1",
        }
        inactive = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
        assert interfaces_of(inactive) == [expected_eth0(spec.machine_id), eth1]
        assert_isolated(conn, name)
        network = ET.fromstring(conn.networkLookupByName(name).XMLDesc(0))
        assert network.find("bridge").get("name") == bridge  # type: ignore[union-attr]

        await driver.set_private_network(spec.machine_id, None)

        assert interfaces_of(dom.XMLDesc(0)) == [expected_eth0(spec.machine_id)]
        assert name not in [n.name() for n in conn.listAllNetworks(0)]
    finally:
        await driver.delete(spec.machine_id)
        await driver.close()
        conn.close()
