"""What only the libvirt driver does with volumes: an attach cut short between its two halves
(the running domain's live configuration, then its definition) by a crash is completed by the
next attach on the same device, and the volume is there once after a cold boot."""

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from nuage.domain.enums import PowerState
from nuage.drivers.base import MachineSpec
from nuage.drivers.libvirt import LibvirtDriver
from nuage.drivers.libvirt_connection import load_binding
from nuage.drivers.libvirt_domain import domain_name, volume_disk_xml, volume_disks

from .conftest import LIBVIRT_URI, libvirt_driver
from .test_driver_volumes import guest_sees

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SpecFactory = Callable[..., MachineSpec]


async def test_an_attach_cut_after_its_live_half_is_completed_on_the_same_device(
    state_dir: Path, new_spec: SpecFactory
) -> None:
    driver = libvirt_driver(state_dir)
    assert isinstance(driver, LibvirtDriver)
    spec, volume_id = new_spec(), str(uuid.uuid4())
    lv = load_binding()
    conn = lv.open(LIBVIRT_URI)
    try:
        await driver.create(spec)
        made = await driver.create_volume(volume_id, size_gb=1)
        dom = conn.lookupByName(domain_name(spec.machine_id))
        # What a worker killed inside attach leaves: the volume plugged in, not yet defined.
        dom.attachDeviceFlags(
            volume_disk_xml("vdc", Path(made.external_id)), lv.VIR_DOMAIN_AFFECT_LIVE
        )

        attached = await driver.attach_volume(volume_id, machine_id=spec.machine_id)

        path = Path(made.external_id)
        assert (attached.machine_id, attached.device) == (spec.machine_id, "vdc")
        assert volume_disks(dom.XMLDesc(0)) == {"vdc": path}
        assert volume_disks(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)) == {"vdc": path}
        await guest_sees(driver, spec.machine_id, {"vdc": "1G"})
        assert (await driver.stop(spec.machine_id)).power is PowerState.OFF
        await driver.start(spec.machine_id)
        await guest_sees(driver, spec.machine_id, {"vdc": "1G"})
    finally:
        await driver.delete(spec.machine_id)
        await driver.close()
        conn.close()
