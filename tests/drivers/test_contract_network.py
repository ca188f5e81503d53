"""The guest's network interfaces as every driver shows them from inside the guest: the
interfaces its kernel sees (`NUAGE-IFACES`), and the addresses its network configuration gives
each one (`NUAGE-NET`). Tests send no traffic: they read what the guest says."""

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver, PrivateNetwork
from nuage.drivers.capabilities import NETWORKS, POWER, capable

from .guest_lines import interfaces
from .test_driver_contract import SpecFactory, create

pytestmark = pytest.mark.anyio


async def test_every_guest_has_its_primary_interface_at_every_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    await capable(driver, POWER).start(spec.machine_id)

    console = await driver.console(spec.machine_id)
    assert [line for line in console.splitlines() if line.startswith("NUAGE-IFACES")] == [
        "NUAGE-IFACES eth0",
        "NUAGE-IFACES eth0",
    ]
    assert interfaces(console) == ["eth0"]


# VPCs (the NETWORKS capability): eth1 on the VPC's network, its address from network-config

VPC_A = PrivateNetwork("0b5e8a1c-5a55-4b8e-9d8e-6f1f2a3b4c5d", "10.20.0.2", 24)
VPC_B = PrivateNetwork("7c0f3d2e-1b4a-4c6d-8e9f-0a1b2c3d4e5f", "172.16.5.2", 28)


def vpc_lines(console: str) -> list[str]:
    return [line for line in console.splitlines() if line.startswith("NUAGE-NET eth1")]


async def test_a_machine_joins_a_vpc_on_its_second_interface(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    networks = capable(driver, NETWORKS)
    before = await networks.private_networks()

    info = await networks.set_private_network(spec.machine_id, VPC_A)

    assert (info.power, info.private_network) == (PowerState.ON, VPC_A)
    assert await driver.inspect(spec.machine_id) == info
    console = await driver.console(spec.machine_id)
    assert interfaces(console) == ["eth0", "eth1"]
    assert vpc_lines(console) == ["NUAGE-NET eth1 10.20.0.2/24"]
    assert await networks.private_networks() == before | {VPC_A.network_id}


async def test_joining_again_changes_nothing_and_a_stopped_machine_takes_it_at_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    networks = capable(driver, NETWORKS)

    info = await networks.set_private_network(spec.machine_id, VPC_B)
    again = await networks.set_private_network(spec.machine_id, VPC_B)

    assert info == again and info.power is PowerState.OFF
    assert vpc_lines(await driver.console(spec.machine_id)) == []  # not booted since
    await capable(driver, POWER).start(spec.machine_id)
    console = await driver.console(spec.machine_id)
    assert vpc_lines(console) == ["NUAGE-NET eth1 172.16.5.2/28"]
    assert interfaces(console) == ["eth0", "eth1"]


async def test_moving_and_leaving_take_the_network_away_with_its_last_member(
    driver: Driver, new_spec: SpecFactory
) -> None:
    first, second = new_spec(), new_spec()
    await driver.create(first)
    await create(driver, second, power=PowerState.OFF)
    networks = capable(driver, NETWORKS)
    await networks.set_private_network(first.machine_id, VPC_A)
    await networks.set_private_network(second.machine_id, VPC_A)

    await networks.set_private_network(first.machine_id, VPC_B)  # a move: one call

    assert {VPC_A.network_id, VPC_B.network_id} <= await networks.private_networks()
    console = await driver.console(first.machine_id)
    assert vpc_lines(console)[-1] == "NUAGE-NET eth1 172.16.5.2/28"
    await networks.set_private_network(second.machine_id, None)
    assert VPC_A.network_id not in await networks.private_networks()

    left = await networks.set_private_network(first.machine_id, None)

    assert left.private_network is None
    assert not {VPC_A.network_id, VPC_B.network_id} & await networks.private_networks()
    console = await driver.console(first.machine_id)
    assert interfaces(console) == ["eth0"]
    assert console.splitlines()[-1].startswith("NUAGE-BOOTED")
    assert not vpc_lines(console[console.rindex("NUAGE-IFACES") :])


async def test_deleting_the_last_member_removes_the_network(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    networks = capable(driver, NETWORKS)
    await networks.set_private_network(spec.machine_id, VPC_A)

    await driver.delete(spec.machine_id)

    assert VPC_A.network_id not in await networks.private_networks()
