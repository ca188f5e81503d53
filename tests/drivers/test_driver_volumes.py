"""The volume operations of the Driver contract (`VolumeStorage`), asserted identically on every
implementation, and from inside the guest: its `NUAGE-DISKS` lines show each volume it sees, at
its size, within a second of a hot-plug, an unplug or a growth. Each operation is called twice and
converges."""

import uuid

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import Driver
from nuage.drivers.capabilities import VOLUMES, VolumeStorage, capable
from tests.support import poll

from .guest_lines import disks
from .test_driver_contract import SpecFactory, create, expect_permanent

pytestmark = pytest.mark.anyio


async def guest_sees(driver: Driver, machine_id: str, expected: dict[str, str]) -> None:
    """Wait until the guest's latest disk report is `expected` (vda left out)."""
    seen: dict[str, str] = {}

    async def reported() -> bool:
        console = await driver.console(machine_id)
        if "NUAGE-DISKS" not in console:
            return False  # not booted yet
        seen.clear()
        seen.update(disks(console))
        seen.pop("vda", None)
        return seen == expected

    try:
        await poll(reported, within=20, every=0.2)
    except AssertionError:
        raise AssertionError(f"the guest reports {seen}, not {expected}") from None


@pytest.fixture
def volumes(driver: Driver) -> VolumeStorage:
    """The driver as VolumeStorage (its volumes' files live under the test's state dir)."""
    return capable(driver, VOLUMES)


def new_volume_id() -> str:
    return str(uuid.uuid4())


async def test_create_volume_makes_a_detached_volume_and_converges(
    volumes: VolumeStorage,
) -> None:
    volume_id = new_volume_id()

    made = await volumes.create_volume(volume_id, size_gb=1)
    again = await volumes.create_volume(volume_id, size_gb=7)

    assert (made.volume_id, made.size_gb, made.machine_id, made.device) == (
        volume_id,
        1,
        None,
        None,
    )
    assert made.external_id
    assert again == made == await volumes.inspect_volume(volume_id)
    await volumes.delete_volume(volume_id)


async def test_an_attached_volume_is_seen_by_the_running_guest_at_its_size(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)

    attached = await volumes.attach_volume(volume_id, machine_id=spec.machine_id)
    again = await volumes.attach_volume(volume_id, machine_id=spec.machine_id)

    assert (attached.machine_id, attached.device, attached.size_gb) == (spec.machine_id, "vdc", 1)
    assert again == attached == await volumes.inspect_volume(volume_id)
    await guest_sees(driver, spec.machine_id, {"vdc": "1G"})


async def test_a_volume_attached_to_a_stopped_machine_is_there_at_boot_and_stays_through_resize(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    first, second = new_volume_id(), new_volume_id()
    await volumes.create_volume(first, size_gb=1)
    await volumes.create_volume(second, size_gb=2)

    assert (await volumes.attach_volume(first, machine_id=spec.machine_id)).device == "vdc"
    assert (await volumes.attach_volume(second, machine_id=spec.machine_id)).device == "vdd"
    await driver.resize(spec.machine_id, vcpu=1, ram_mb=spec.ram_mb, disk_gb=spec.disk_gb + 1)
    await driver.start(spec.machine_id)

    await guest_sees(driver, spec.machine_id, {"vdc": "1G", "vdd": "2G"})
    assert (await volumes.inspect_volume(second)) == (
        await volumes.attach_volume(second, machine_id=spec.machine_id)
    )


async def test_a_grown_volume_is_seen_at_its_new_size_live(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)
    await volumes.attach_volume(volume_id, machine_id=spec.machine_id)
    await guest_sees(driver, spec.machine_id, {"vdc": "1G"})

    grown = await volumes.resize_volume(volume_id, size_gb=2)
    again = await volumes.resize_volume(volume_id, size_gb=2)

    assert (grown.size_gb, grown.device, grown.machine_id) == (2, "vdc", spec.machine_id)
    assert again == grown == await volumes.inspect_volume(volume_id)
    await guest_sees(driver, spec.machine_id, {"vdc": "2G"})
    await expect_permanent("disk_shrink_refused", volumes.resize_volume(volume_id, size_gb=1))
    assert await volumes.inspect_volume(volume_id) == grown


async def test_a_detached_volume_grows_offline(volumes: VolumeStorage) -> None:
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)

    grown = await volumes.resize_volume(volume_id, size_gb=3)

    assert (grown.size_gb, grown.machine_id) == (3, None)
    assert await volumes.inspect_volume(volume_id) == grown
    await volumes.delete_volume(volume_id)


async def test_a_detached_volume_is_gone_from_the_guest_and_converges(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await driver.create(spec)
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)
    await volumes.attach_volume(volume_id, machine_id=spec.machine_id)
    await guest_sees(driver, spec.machine_id, {"vdc": "1G"})

    detached = await volumes.detach_volume(volume_id, machine_id=spec.machine_id)
    again = await volumes.detach_volume(volume_id, machine_id=spec.machine_id)

    assert (detached.machine_id, detached.device, detached.size_gb) == (None, None, 1)
    assert again == detached == await volumes.inspect_volume(volume_id)
    await guest_sees(driver, spec.machine_id, {})
    await driver.stop(spec.machine_id)
    await driver.start(spec.machine_id)
    await guest_sees(driver, spec.machine_id, {})


async def test_a_volume_attached_elsewhere_is_in_use(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    holder, other = new_spec(), new_spec()
    await create(driver, holder, power=PowerState.OFF)
    await create(driver, other, power=PowerState.OFF)
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)
    attached = await volumes.attach_volume(volume_id, machine_id=holder.machine_id)

    await expect_permanent(
        "volume_in_use", volumes.attach_volume(volume_id, machine_id=other.machine_id)
    )
    await expect_permanent("volume_in_use", volumes.delete_volume(volume_id))
    assert await volumes.detach_volume(volume_id, machine_id=other.machine_id) == attached
    assert await volumes.inspect_volume(volume_id) == attached


async def test_deleting_a_machine_keeps_its_volumes_detached(
    driver: Driver, volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    spec = new_spec()
    await create(driver, spec, power=PowerState.OFF)
    volume_id = new_volume_id()
    made = await volumes.create_volume(volume_id, size_gb=1)
    await volumes.attach_volume(volume_id, machine_id=spec.machine_id)

    await driver.delete(spec.machine_id)

    assert await volumes.inspect_volume(volume_id) == made
    assert await volumes.detach_volume(volume_id, machine_id=spec.machine_id) == made
    await volumes.delete_volume(volume_id)


async def test_delete_volume_removes_it_and_converges(volumes: VolumeStorage) -> None:
    volume_id = new_volume_id()
    await volumes.create_volume(volume_id, size_gb=1)

    await volumes.delete_volume(volume_id)
    await volumes.delete_volume(volume_id)

    assert await volumes.inspect_volume(volume_id) is None
    await expect_permanent("volume_not_found", volumes.resize_volume(volume_id, size_gb=2))


async def test_attach_to_a_missing_machine_is_machine_not_found(
    volumes: VolumeStorage, new_spec: SpecFactory
) -> None:
    volume_id = new_volume_id()
    made = await volumes.create_volume(volume_id, size_gb=1)

    await expect_permanent(
        "machine_not_found", volumes.attach_volume(volume_id, machine_id=new_spec().machine_id)
    )
    assert await volumes.inspect_volume(volume_id) == made
    await volumes.delete_volume(volume_id)
