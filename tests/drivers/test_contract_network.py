"""The guest's network interfaces as every driver shows them from inside the guest: the
interfaces its kernel sees (`NUAGE-IFACES`), and the addresses its network configuration gives
each one (`NUAGE-NET`). Tests send no traffic: they read what the guest says."""

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import POWER, capable

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
