"""The guest's disk as every driver shows it from inside the guest: a boot counter kept on the
disk (the contents that snapshots, backups and images carry) and the block devices with their
sizes. The storage operations' contract cases stand on these two observations."""

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import POWER, REINSTALL, RESIZE, capable

from .guest_lines import boots, disks
from .test_driver_contract import SpecFactory, create

pytestmark = pytest.mark.anyio


async def test_the_disk_counts_its_boots_and_a_fresh_disk_starts_over(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    assert boots(await driver.console(spec.machine_id)) == 1

    power = capable(driver, POWER)
    await power.stop(spec.machine_id)
    await power.start(spec.machine_id)
    assert boots(await driver.console(spec.machine_id)) == 2

    await capable(driver, REINSTALL).reinstall(spec.machine_id, image=spec.image, hostname="new")
    assert boots(await driver.console(spec.machine_id)) == 1


async def test_the_guest_reports_its_disk_at_its_size(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(disk_gb=6)
    await create(driver, spec, power=PowerState.OFF)
    await capable(driver, RESIZE).resize(
        spec.machine_id, vcpu=spec.vcpu, ram_mb=spec.ram_mb, disk_gb=9
    )

    await capable(driver, POWER).start(spec.machine_id)

    assert disks(await driver.console(spec.machine_id)) == {"vda": "9G"}
