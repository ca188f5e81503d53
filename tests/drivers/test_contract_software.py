"""Software (the SOFTWARE capability), asserted alike on every driver: the guest reports the
packages it was given (`NUAGE-SOFTWARE`, from the seed's cloud-config on libvirt) at each boot."""

import pytest

from nuage.domain.capabilities import Capability
from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import SOFTWARE, capable

from .guest_lines import software
from .test_driver_contract import SpecFactory, create, expect_permanent, markers

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _software_driver(driver: Driver) -> None:
    """Drivers without the capability (all three offer it now; proxmox through the guest agent)
    are held to refusing it instead (test_driver_capabilities)."""
    if Capability.SOFTWARE not in driver.capabilities:
        pytest.skip(f"the {driver.name} driver does not offer software")


async def test_set_software_restarts_a_running_guest_with_it_and_converges(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    assert software(await driver.console(spec.machine_id)) == []
    installer = capable(driver, SOFTWARE)

    info = await installer.set_software(spec.machine_id, ["nginx", "docker.io", "nginx"])

    assert (info.software, info.power) == (("docker.io", "nginx"), PowerState.ON)
    console = await driver.console(spec.machine_id)
    assert software(console) == ["docker.io", "nginx"]
    boots = len(markers(console))
    assert boots == 2  # its create's boot and the restart that applied it
    again = await installer.set_software(spec.machine_id, ["docker.io", "nginx"])
    assert again == info and len(markers(await driver.console(spec.machine_id))) == boots
    removed = await installer.set_software(spec.machine_id, ["docker.io"])
    assert removed.software == ("docker.io",)
    assert await driver.inspect(spec.machine_id) == removed
    assert software(await driver.console(spec.machine_id)) == ["docker.io"]


async def test_set_software_of_a_stopped_machine_applies_at_next_boot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)

    info = await capable(driver, SOFTWARE).set_software(spec.machine_id, ["nginx"])

    assert (info.software, info.power) == (("nginx",), PowerState.OFF)
    assert await driver.inspect(spec.machine_id) == info
    await driver.start(spec.machine_id)
    assert software(await driver.console(spec.machine_id)) == ["nginx"]


async def test_set_software_refuses_a_bad_package_name_and_a_missing_machine(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    installer = capable(driver, SOFTWARE)

    for bad in ("Nginx", "nginx; rm -rf /", "-x", ""):
        await expect_permanent("invalid_spec", installer.set_software(spec.machine_id, [bad]))

    found = await driver.inspect(spec.machine_id)
    assert found is not None and found.software == ()
    missing = new_spec().machine_id
    await expect_permanent("machine_not_found", installer.set_software(missing, ["nginx"]))
