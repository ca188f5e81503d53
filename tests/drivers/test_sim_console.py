"""The simulator's VNC displays (drivers/sim_vnc.py): what the contract suite cannot say for
every driver: the display is the simulator's own server, its port is saved with the machine,
and it answers only while the machine runs, whichever process stopped it."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nuage.domain.capabilities import Capability
from nuage.domain.errors import PermanentError
from nuage.drivers.base import MachineSpec
from nuage.drivers.sim import SimDriver, SimSettings
from nuage.drivers.sim_state import MachineStore
from tests.console_support import rfb_answers

pytestmark = pytest.mark.anyio


def spec(machine_id: str = "m-console") -> MachineSpec:
    return MachineSpec(
        machine_id=machine_id, name="vm", hostname="vm", vcpu=1, ram_mb=128, disk_gb=5, image="d"
    )


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[SimDriver]:
    sim = SimDriver(SimSettings(state_dir=tmp_path))
    yield sim
    await sim.close()


async def test_the_display_port_is_saved_with_the_machine(
    driver: SimDriver, tmp_path: Path
) -> None:
    await driver.create(spec())
    address = await driver.vnc_address("m-console")
    assert address is not None
    saved = MachineStore(tmp_path).load("m-console")
    assert saved is not None and saved.vnc_port == address[1]

    await driver.stop("m-console")
    saved = MachineStore(tmp_path).load("m-console")
    assert saved is not None and saved.vnc_port is None


async def test_the_display_hangs_up_once_another_process_stopped_the_machine(
    driver: SimDriver, tmp_path: Path
) -> None:
    await driver.create(spec())
    address = await driver.vnc_address("m-console")
    assert address is not None and await rfb_answers(address)
    other = SimDriver(SimSettings(state_dir=tmp_path))  # another worker over the same state
    await other.stop("m-console")

    assert not await rfb_answers(address)


async def test_close_stops_every_display(driver: SimDriver) -> None:
    addresses = []
    for machine_id in ("m-1", "m-2"):
        await driver.create(spec(machine_id))
        addresses.append(await driver.vnc_address(machine_id))
    await driver.close()

    for address in addresses:
        assert address is not None
        with pytest.raises(OSError):
            _, writer = await asyncio.open_connection(*address)
            writer.close()


async def test_a_host_without_the_console_refuses_it(tmp_path: Path) -> None:
    without = frozenset({Capability.POWER})
    limited = SimDriver(SimSettings(state_dir=tmp_path, capabilities=without))
    await limited.create(spec())

    with pytest.raises(PermanentError) as caught:
        await limited.vnc_address("m-console")
    assert caught.value.code == "capability_not_supported"
