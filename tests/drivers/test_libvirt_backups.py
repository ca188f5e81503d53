"""libvirt backups after a crash in the middle of one: the next attempt finds the half-written
temporary file and the internal snapshot the killed copy was made from, and ends with one
complete standalone qcow2 under the backup's name, no temporary file and no snapshot left."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from nuage.drivers.base import MachineSpec
from nuage.drivers.libvirt_connection import load_binding
from nuage.drivers.libvirt_domain import domain_name
from tests.drivers.conftest import LIBVIRT_URI, libvirt_driver

from .guest_lines import boots

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def qemu_img_info(path: Path) -> dict[str, object]:
    done = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    info: dict[str, object] = json.loads(done.stdout)
    return info


async def test_a_copy_cut_short_is_made_again_from_its_snapshot(
    tmp_path: Path, new_spec: Callable[..., MachineSpec]
) -> None:
    from nuage.drivers.libvirt import LibvirtDriver

    driver = libvirt_driver(tmp_path / "state")
    assert isinstance(driver, LibvirtDriver)
    spec = new_spec()
    store = driver.settings.backup_store / spec.machine_id
    try:
        await driver.create(spec)
        at_snapshot = boots(await driver.console(spec.machine_id))
        # What a worker killed mid-copy leaves: the snapshot the copy reads, and half a file.
        dom = load_binding().open(LIBVIRT_URI).lookupByName(domain_name(spec.machine_id))
        xml = "<domainsnapshot><name>nuage-backup-b-cut</name></domainsnapshot>"
        dom.snapshotCreateXML(xml, 0)
        store.mkdir(parents=True)
        (store / ".b-cut.qcow2.partial").write_bytes(b"QFI\xfb half a copy")
        await driver.stop(spec.machine_id)
        await driver.start(spec.machine_id)  # the disk moves on past the snapshot

        backup = await driver.create_backup(spec.machine_id, "b-cut")

        assert sorted(p.name for p in store.iterdir()) == ["b-cut.qcow2"]
        info = qemu_img_info(store / "b-cut.qcow2")
        assert info["format"] == "qcow2" and "backing-filename" not in info
        assert info["virtual-size"] == spec.disk_gb * 1024**3 == backup.size_gb * 1024**3
        assert dom.snapshotListNames(0) == []
        await driver.stop(spec.machine_id)
        await driver.restore_backup(spec.machine_id, "b-cut")
        await driver.start(spec.machine_id)
        assert boots(await driver.console(spec.machine_id)) == at_snapshot + 1
        await driver.delete_backup(spec.machine_id, "b-cut")
        assert not store.exists()
    finally:
        await driver.delete(spec.machine_id)
        await driver.close()
