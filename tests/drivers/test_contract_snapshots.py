"""Snapshots and custom images, asserted identically on every driver from inside the guest: the
disk's boot counter (`guest_lines.boots`) is the contents a snapshot keeps, a restore brings back
and an image carries into a new machine. Each operation called twice converges."""

import uuid

import pytest

from nuage.domain.enums import PowerState
from nuage.domain.images import custom_image_name
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import IMAGES, POWER, REINSTALL, RESIZE, SNAPSHOTS, VOLUMES, capable

from .guest_lines import boots, disks
from .test_driver_contract import SpecFactory, create, expect_permanent

pytestmark = pytest.mark.anyio


def new_id() -> str:
    return str(uuid.uuid4())


async def boot_again(driver: Driver, machine_id: str) -> int:
    """Power-cycle the machine; the boot counter its disk then shows."""
    power = capable(driver, POWER)
    await power.stop(machine_id)
    await power.start(machine_id)
    return boots(await driver.console(machine_id))


@pytest.mark.parametrize("power", [PowerState.ON, PowerState.OFF])
async def test_a_restored_snapshot_brings_the_disk_back(
    driver: Driver, new_spec: SpecFactory, power: PowerState
) -> None:
    spec = new_spec()
    await create(driver, spec, power=power)  # the disk has booted once
    snapshot_id = new_id()
    snapshots = capable(driver, SNAPSHOTS)

    taken = await snapshots.create_snapshot(spec.machine_id, snapshot_id)
    again = await snapshots.create_snapshot(spec.machine_id, snapshot_id)
    assert await boot_again(driver, spec.machine_id) == 2
    await capable(driver, POWER).stop(spec.machine_id)
    restored = await snapshots.restore_snapshot(spec.machine_id, snapshot_id)
    restored_again = await snapshots.restore_snapshot(spec.machine_id, snapshot_id)

    assert again == taken
    assert (taken.snapshot_id, taken.disk_gb) == (snapshot_id, spec.disk_gb)
    assert taken.external_id
    assert restored.power is PowerState.OFF
    assert restored_again == restored == await driver.inspect(spec.machine_id)
    await capable(driver, POWER).start(spec.machine_id)
    assert boots(await driver.console(spec.machine_id)) == 2  # the snapshot's 1, booted once


async def test_a_restore_keeps_a_disk_grown_since_the_snapshot(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec(disk_gb=5)
    await create(driver, spec, power=PowerState.OFF)
    snapshot_id = new_id()
    snapshots = capable(driver, SNAPSHOTS)
    await snapshots.create_snapshot(spec.machine_id, snapshot_id)
    await capable(driver, RESIZE).resize(
        spec.machine_id, vcpu=spec.vcpu, ram_mb=spec.ram_mb, disk_gb=7
    )

    restored = await snapshots.restore_snapshot(spec.machine_id, snapshot_id)

    assert restored.disk_gb == 7
    await capable(driver, POWER).start(spec.machine_id)
    console = await driver.console(spec.machine_id)
    assert (disks(console), boots(console)) == ({"vda": "7G"}, 2)


async def test_restore_of_a_running_machine_is_refused(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    snapshot_id = new_id()
    snapshots = capable(driver, SNAPSHOTS)
    await snapshots.create_snapshot(spec.machine_id, snapshot_id)
    before = await driver.inspect(spec.machine_id)

    await expect_permanent(
        "machine_running", snapshots.restore_snapshot(spec.machine_id, snapshot_id)
    )
    assert await driver.inspect(spec.machine_id) == before
    assert await boot_again(driver, spec.machine_id) == 2  # the disk was left as it was


async def test_a_deleted_snapshot_is_gone_and_delete_converges(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    snapshot_id = new_id()
    snapshots = capable(driver, SNAPSHOTS)
    await snapshots.create_snapshot(spec.machine_id, snapshot_id)

    await snapshots.delete_snapshot(spec.machine_id, snapshot_id)
    await snapshots.delete_snapshot(spec.machine_id, snapshot_id)

    await expect_permanent(
        "snapshot_not_found", snapshots.restore_snapshot(spec.machine_id, snapshot_id)
    )
    await snapshots.delete_snapshot(new_spec().machine_id, snapshot_id)  # no machine: no error


async def test_snapshots_go_with_the_machine_and_with_its_disk(
    driver: Driver, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    snapshots = capable(driver, SNAPSHOTS)
    kept_by_disk, kept_by_machine = new_id(), new_id()
    await snapshots.create_snapshot(spec.machine_id, kept_by_disk)

    await capable(driver, REINSTALL).reinstall(spec.machine_id, image=spec.image, hostname="new")
    await expect_permanent(
        "snapshot_not_found", snapshots.restore_snapshot(spec.machine_id, kept_by_disk)
    )
    await snapshots.create_snapshot(spec.machine_id, kept_by_machine)
    await driver.delete(spec.machine_id)
    await create(driver, spec, power=PowerState.OFF)
    await expect_permanent(
        "snapshot_not_found", snapshots.restore_snapshot(spec.machine_id, kept_by_machine)
    )


async def test_snapshot_operations_on_a_missing_machine_raise_machine_not_found(
    driver: Driver, new_spec: SpecFactory
) -> None:
    machine_id = new_spec().machine_id
    snapshots = capable(driver, SNAPSHOTS)

    await expect_permanent("machine_not_found", snapshots.create_snapshot(machine_id, new_id()))
    await expect_permanent("machine_not_found", snapshots.restore_snapshot(machine_id, new_id()))
    images = capable(driver, IMAGES)
    image = custom_image_name(uuid.uuid4())
    await expect_permanent("machine_not_found", images.create_image(machine_id, new_id(), image))


async def test_a_machine_made_from_a_custom_image_boots_with_the_snapshots_disk(
    driver: Driver, new_spec: SpecFactory
) -> None:
    source = new_spec(disk_gb=6)
    await driver.create(source)
    assert await boot_again(driver, source.machine_id) == 2
    snapshot_id, image = new_id(), custom_image_name(uuid.uuid4())
    await capable(driver, SNAPSHOTS).create_snapshot(source.machine_id, snapshot_id)
    images = capable(driver, IMAGES)

    made = await images.create_image(source.machine_id, snapshot_id, image)
    again = await images.create_image(source.machine_id, snapshot_id, image)
    await driver.delete(source.machine_id)  # the image outlives its machine and its snapshot
    copy = new_spec(image=image, disk_gb=8)
    await driver.create(copy)

    assert again == made
    assert (made.image, made.min_disk_gb) == (image, 6)
    assert boots(await driver.console(copy.machine_id)) == 3  # the snapshot's 2, booted once
    await images.delete_image(image)
    await images.delete_image(image)
    assert await boot_again(driver, copy.machine_id) == 4  # its disk never needed the image
    await expect_permanent("image_not_available", driver.create(new_spec(image=image)))


async def test_an_image_needs_an_existing_snapshot(driver: Driver, new_spec: SpecFactory) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    image = custom_image_name(uuid.uuid4())
    images = capable(driver, IMAGES)

    await expect_permanent(
        "snapshot_not_found", images.create_image(spec.machine_id, new_id(), image)
    )
    await expect_permanent("image_not_available", driver.create(new_spec(image=image)))


async def test_only_custom_images_can_be_deleted(driver: Driver) -> None:
    await expect_permanent("not_a_custom_image", capable(driver, IMAGES).delete_image("debian-12"))


async def test_a_snapshot_of_a_running_machine_leaves_its_volumes_out(
    driver: Driver, new_spec: SpecFactory
) -> None:
    """A restore brings back the main disk only: a volume attached then stays attached, and the
    snapshot can be deleted once the volume is gone."""
    spec = new_spec()
    await driver.create(spec)
    volumes = capable(driver, VOLUMES)
    volume_id = new_id()
    await volumes.create_volume(volume_id, size_gb=1)
    await volumes.attach_volume(volume_id, machine_id=spec.machine_id)
    snapshot_id = new_id()
    snapshots = capable(driver, SNAPSHOTS)

    await snapshots.create_snapshot(spec.machine_id, snapshot_id)
    await capable(driver, POWER).stop(spec.machine_id)
    await snapshots.restore_snapshot(spec.machine_id, snapshot_id)
    await capable(driver, POWER).start(spec.machine_id)

    console = await driver.console(spec.machine_id)
    assert (disks(console), boots(console)) == ({"vda": f"{spec.disk_gb}G", "vdc": "1G"}, 2)
    await volumes.detach_volume(volume_id, machine_id=spec.machine_id)
    await volumes.delete_volume(volume_id)
    await snapshots.delete_snapshot(spec.machine_id, snapshot_id)  # its volume is gone
    await expect_permanent(
        "snapshot_not_found", snapshots.restore_snapshot(spec.machine_id, snapshot_id)
    )
