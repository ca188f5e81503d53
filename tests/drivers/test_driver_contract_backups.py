"""The driver contract of the `backups` capability, asserted identically for every implementation
(the `driver` fixture of conftest). The effect is seen from inside the guest: the boot counter
it keeps on its main disk (`guest_lines.boots`) comes back with a restored backup."""

from collections.abc import Callable

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver, MachineSpec
from nuage.drivers.capabilities import BACKUPS, capable

from .guest_lines import boots
from .test_driver_contract import create, expect_permanent

pytestmark = pytest.mark.anyio

SpecFactory = Callable[..., MachineSpec]


async def last_boot(driver: Driver, machine_id: str) -> int:
    return boots(await driver.console(machine_id))


async def test_a_restored_backup_of_a_running_machine_brings_back_its_disk(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    created = await driver.create(spec)
    backed_up = await last_boot(driver, spec.machine_id)
    backup = await capable(driver, BACKUPS).create_backup(spec.machine_id, "b-running")
    await driver.stop(spec.machine_id)
    await driver.start(spec.machine_id)  # the disk moves on past the backup
    assert await last_boot(driver, spec.machine_id) == backed_up + 1
    await driver.stop(spec.machine_id)

    restored = await capable(driver, BACKUPS).restore_backup(spec.machine_id, "b-running")
    await driver.start(spec.machine_id)

    assert (backup.machine_id, backup.backup_id, backup.size_gb) == (
        spec.machine_id,
        "b-running",
        spec.disk_gb,
    )
    assert restored.power is PowerState.OFF
    assert (restored.disk_gb, restored.disk_id) == (spec.disk_gb, created.disk_id)
    assert await last_boot(driver, spec.machine_id) == backed_up + 1


async def test_each_backup_operation_called_twice_converges(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    backups = capable(driver, BACKUPS)
    backed_up = await last_boot(driver, spec.machine_id)

    first = await backups.create_backup(spec.machine_id, "b-twice")
    again = await backups.create_backup(spec.machine_id, "b-twice")
    await driver.start(spec.machine_id)
    await driver.stop(spec.machine_id)
    await backups.restore_backup(spec.machine_id, "b-twice")
    twice = await backups.restore_backup(spec.machine_id, "b-twice")
    await driver.start(spec.machine_id)

    assert again == first
    assert twice.power is PowerState.OFF
    assert await last_boot(driver, spec.machine_id) == backed_up + 1
    await backups.delete_backup(spec.machine_id, "b-twice")
    await backups.delete_backup(spec.machine_id, "b-twice")
    await driver.stop(spec.machine_id)
    await expect_permanent("backup_not_found", backups.restore_backup(spec.machine_id, "b-twice"))


async def test_restore_of_a_running_machine_is_refused_and_changes_nothing(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    backups = capable(driver, BACKUPS)
    await backups.create_backup(spec.machine_id, "b-busy")
    console = await driver.console(spec.machine_id)

    await expect_permanent("machine_running", backups.restore_backup(spec.machine_id, "b-busy"))

    info = await driver.inspect(spec.machine_id)
    assert info is not None and info.power is PowerState.ON
    assert await driver.console(spec.machine_id) == console
    await backups.delete_backup(spec.machine_id, "b-busy")


async def test_restore_of_a_missing_backup_is_refused(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)

    await expect_permanent(
        "backup_not_found", capable(driver, BACKUPS).restore_backup(spec.machine_id, "b-none")
    )


async def test_a_backup_outlives_its_machine_and_is_deleted_without_it(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    backups = capable(driver, BACKUPS)
    await backups.create_backup(spec.machine_id, "b-left")
    await driver.delete(spec.machine_id)

    again = await backups.create_backup(spec.machine_id, "b-left")  # a retry after the copy
    await backups.delete_backup(spec.machine_id, "b-left")

    assert again.backup_id == "b-left"
    await expect_permanent("machine_not_found", backups.create_backup(spec.machine_id, "b-new"))
    await driver.create(spec)  # the same machine id again: the backup is gone
    await driver.stop(spec.machine_id)
    await expect_permanent("backup_not_found", backups.restore_backup(spec.machine_id, "b-left"))


async def test_backup_ids_that_are_not_plain_names_are_refused(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    for bad in ("", ".hidden", "../escape", "a/b"):
        await expect_permanent(
            "invalid_backup_id", capable(driver, BACKUPS).create_backup(spec.machine_id, bad)
        )
