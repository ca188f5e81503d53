"""The libvirt driver also runs on libvirt's in-process `qemu:///embed?root=DIR` driver (no
daemon): a guest boots there, shows its marker, and is removed."""

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import MachineSpec
from tests.drivers.conftest import libvirt_test_guest

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_a_guest_boots_on_an_embedded_qemu_driver(
    tmp_path: Path, new_spec: Callable[..., MachineSpec]
) -> None:
    from nuage.drivers.libvirt import LibvirtDriver, LibvirtSettings

    guest = libvirt_test_guest()
    # Short: libvirt puts UNIX sockets under the root, and their paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="nv-", dir="/tmp"))
    (root / "etc").mkdir(parents=True)
    # No virtlogd for an embedded driver: QEMU's output goes straight to files; QEMU runs as
    # root so that it reads the test's files.
    conf = 'stdio_handler = "file"\nuser = "root"\ngroup = "root"\n'
    (root / "etc/qemu.conf").write_text(conf)
    driver = LibvirtDriver(
        LibvirtSettings(
            uri=f"qemu:///embed?root={root}",
            state_dir=tmp_path / "state",
            images_dir=guest,
            kernel=guest / "vmlinuz",
            initrd=guest / "initrd.img",
        )
    )
    spec = new_spec(hostname="embedded")
    try:
        info = await driver.create(spec)
        assert info.power is PowerState.ON
        assert "NUAGE-BOOTED hostname=embedded" in await driver.console(spec.machine_id)
    finally:
        await driver.delete(spec.machine_id)
        assert await driver.inspect(spec.machine_id) is None
        await driver.close()
        shutil.rmtree(root, ignore_errors=True)
