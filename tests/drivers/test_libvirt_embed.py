"""The libvirt driver also runs on libvirt's in-process `qemu:///embed?root=DIR` driver (no
daemon): a guest boots there, shows its marker, and is removed.

It runs in a child process: once libvirt has loaded the embedded QEMU driver into a process,
that process's `qemu:///system` connections go to it too (libvirt 9.0), so one process uses
one or the other. The embedded driver has no network driver: its guests get no interface."""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.drivers.conftest import libvirt_test_guest

pytestmark = pytest.mark.slow

CHILD = """
import asyncio, json, sys
from pathlib import Path
from nuage.drivers.base import MachineSpec
from nuage.drivers.libvirt import LibvirtDriver, LibvirtSettings

async def main(root: Path, state: Path, guest: Path) -> dict:
    driver = LibvirtDriver(LibvirtSettings(
        uri=f"qemu:///embed?root={root}", state_dir=state, images_dir=guest,
        kernel=guest / "vmlinuz", initrd=guest / "initrd.img", guest_network=None))
    spec = MachineSpec("nuage-embed-1", "embed", "embedded", 1, 128, 1, "base")
    try:
        info = await driver.create(spec)
        console = await driver.console(spec.machine_id)
    finally:
        await driver.delete(spec.machine_id)
        gone = await driver.inspect(spec.machine_id) is None
        await driver.close()
    return {"power": info.power.value, "marker": "NUAGE-BOOTED hostname=embedded" in console,
            "gone": gone}

print(json.dumps(asyncio.run(main(*(Path(a) for a in sys.argv[1:4])))))
"""


def test_a_guest_boots_on_an_embedded_qemu_driver(tmp_path: Path) -> None:
    guest = libvirt_test_guest()
    # Short: libvirt puts UNIX sockets under the root, and their paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="nv-", dir="/tmp"))
    try:
        (root / "etc").mkdir()
        # No virtlogd for an embedded driver: QEMU's output goes straight to files; QEMU runs as
        # root so that it reads the test's files.
        conf = 'stdio_handler = "file"\nuser = "root"\ngroup = "root"\n'
        (root / "etc/qemu.conf").write_text(conf)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(root), str(tmp_path / "state"), str(guest)],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.splitlines()[-1]) == {
            "power": "on",
            "marker": True,
            "gone": True,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
