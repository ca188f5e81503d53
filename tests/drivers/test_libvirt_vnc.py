"""Each libvirt guest has a VNC display on 127.0.0.1 (for the console): it answers the RFB
handshake while the machine runs, and there is none while it is off."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from nuage.drivers.base import MachineSpec
from tests.drivers.conftest import libvirt_driver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_running_guest_serves_vnc_on_loopback(
    tmp_path: Path, new_spec: Callable[..., MachineSpec]
) -> None:
    from nuage.drivers.libvirt import LibvirtDriver

    driver = libvirt_driver(tmp_path / "state")
    assert isinstance(driver, LibvirtDriver)
    spec = new_spec()
    try:
        await driver.create(spec)
        address = await driver.vnc_address(spec.machine_id)
        assert address is not None and address[0] == "127.0.0.1"
        reader, writer = await asyncio.open_connection(*address)
        greeting = await asyncio.wait_for(reader.readexactly(12), timeout=10)
        writer.close()
        assert greeting.startswith(b"RFB 003.")
        await driver.stop(spec.machine_id)
        assert await driver.vnc_address(spec.machine_id) is None
    finally:
        await driver.delete(spec.machine_id)
        await driver.close()
