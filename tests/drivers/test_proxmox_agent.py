"""Software and extra addresses on a Proxmox host, through the QEMU guest agent
(`nuage.drivers.proxmox_software`, `proxmox_addresses`), against a served fake whose guest runs
the commands (tests/pve/guest.py): what a user meets when the agent does not answer and when a
package command fails in the guest. The cases every driver shares are in the contract suite."""

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.errors import PermanentError, TransientError
from nuage.drivers.base import GuestAddress, MachineSpec
from nuage.drivers.proxmox import ProxmoxDriver
from nuage.drivers.proxmox_addresses import EXTRA_FILE
from tests.drivers.guest_lines import software
from tests.drivers.test_driver_contract import V4, net_lines
from tests.pve.drivers import proxmox_driver
from tests.pve.served import Served, serve

pytestmark = pytest.mark.anyio
SPEC = MachineSpec("m-1", "web", "web-1", 1, 512, 2, "debian-12")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def served() -> Iterator[Served]:
    fake = serve()
    yield fake
    fake.stop()


@pytest.fixture
async def driver(served: Served) -> AsyncIterator[ProxmoxDriver]:
    built = proxmox_driver(served, timeout_s=0.3)  # how long the agent is waited for
    yield built
    await built.close()


def installed(served: Served, vmid: int) -> set[str]:
    vm = served.pve.vm(vmid)
    return served.pve.installed.get(served.pve._main_disk(vm.config), set())


async def test_every_vm_has_the_agent_enabled(driver: ProxmoxDriver, served: Served) -> None:
    info = await driver.create(SPEC)
    assert str(served.pve.vm(int(info.external_id)).config["agent"]) == "1"


async def test_a_guest_without_the_agent_is_transient_and_a_retry_applies_the_change(
    driver: ProxmoxDriver, served: Served
) -> None:
    vmid = int((await driver.create(SPEC)).external_id)
    served.pve.agent_installed = False  # a template without qemu-guest-agent

    with pytest.raises(TransientError) as refused:
        await driver.set_software("m-1", ["nginx"])

    assert refused.value.code == "guest_agent_unavailable"
    assert "qemu-guest-agent" in str(refused.value)
    assert installed(served, vmid) == set()
    served.pve.agent_installed = True  # installed in the guest: the engine's retry succeeds
    info = await driver.set_software("m-1", ["nginx"])
    assert (info.software, info.power, installed(served, vmid)) == (
        ("nginx",),
        PowerState.ON,
        {"nginx"},
    )
    assert software(await driver.console("m-1")) == ["nginx"]


async def test_a_package_the_guest_cannot_install_fails_and_leaves_what_it_has(
    driver: ProxmoxDriver, served: Served
) -> None:
    vmid = int((await driver.create(SPEC)).external_id)
    await driver.set_software("m-1", ["nginx"])

    with pytest.raises(PermanentError) as refused:
        await driver.set_software("m-1", ["nginx", "nosuchpackage"])

    assert refused.value.code == "guest_command_failed"
    assert "Unable to locate package nosuchpackage" in str(refused.value)
    found = await driver.inspect("m-1")
    assert found is not None and found.software == ("nginx",)
    assert installed(served, vmid) == {"nginx"}
    await driver.stop("m-1")
    assert (await driver.start("m-1")).software == ("nginx",)  # nothing left to fail on


async def test_a_stopped_machines_change_waits_for_its_start_and_a_reinstall_gets_it_again(
    driver: ProxmoxDriver, served: Served
) -> None:
    await driver.create(SPEC)
    await driver.stop("m-1")
    requests_before = sum(len(vm.agent_requests) for vm in served.pve.vms)

    await driver.set_software("m-1", ["nginx"])

    assert sum(len(vm.agent_requests) for vm in served.pve.vms) == requests_before
    await driver.start("m-1")
    assert software(await driver.console("m-1")) == ["nginx"]
    info = await driver.reinstall("m-1", image="debian-12", hostname="web-1")
    assert installed(served, int(info.external_id)) == {"nginx"}  # the fresh disk has it too
    assert info.software == ("nginx",)


async def test_extra_addresses_come_with_every_start_and_wait_for_the_agent(
    driver: ProxmoxDriver, served: Served
) -> None:
    extra = GuestAddress("192.0.2.11", 24, "192.0.2.1", "")
    info = await driver.create(dataclasses.replace(SPEC, addresses=(V4, extra)))
    vm = served.pve.vm(int(info.external_id))
    assert "192.0.2.11" not in str(vm.config["ipconfig0"])  # one address per version there
    assert (
        net_lines(await driver.console("m-1"))[-1] == "NUAGE-NET eth0 192.0.2.10/24 192.0.2.11/24"
    )
    assert served.pve.files[(served.pve._main_disk(vm.config), EXTRA_FILE)].endswith(
        "192.0.2.11/24\n"
    )
    await driver.stop("m-1")
    await driver.start("m-1")  # the guest's boot knows ipconfig0 only; the agent adds the rest
    assert net_lines(await driver.console("m-1"))[-2:] == [
        "NUAGE-NET eth0 192.0.2.10/24",
        "NUAGE-NET eth0 192.0.2.10/24 192.0.2.11/24",
    ]

    served.pve.agent_installed = False
    with pytest.raises(TransientError) as refused:
        await driver.set_addresses("m-1", [V4])
    assert refused.value.code == "guest_agent_unavailable"
    served.pve.agent_installed = True
    assert (await driver.set_addresses("m-1", [V4])).ipv4 == ("192.0.2.10",)
    assert net_lines(await driver.console("m-1"))[-1] == "NUAGE-NET eth0 192.0.2.10/24"
