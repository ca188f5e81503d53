"""What only the libvirt driver does: translate an unreachable host and failed creates."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nuage.domain.errors import NuageError, PermanentError, TransientError
from nuage.drivers.base import Driver, MachineSpec
from nuage.drivers.libvirt import LibvirtDriver, LibvirtSettings

from .conftest import libvirt_test_guest, libvirt_unavailable

pytestmark = pytest.mark.anyio

SpecFactory = Callable[..., MachineSpec]  # the `new_spec` fixture
UNREACHABLE = "qemu+tcp://127.0.0.1:1/system"  # nothing listens on port 1


def libvirt(state_dir: Path, images_dir: Path, **settings: Any) -> LibvirtDriver:
    settings = {"uri": "qemu:///system", **settings}
    try:
        return LibvirtDriver(
            LibvirtSettings(state_dir=state_dir, images_dir=images_dir, **settings)
        )
    except ImportError as exc:  # the module imports without the binding; the driver needs it
        libvirt_unavailable(str(exc))


async def failed_create(error: type[NuageError], driver: LibvirtDriver, spec: MachineSpec) -> str:
    """Create fails with `error`, leaving no file behind; returns the error's code."""
    with pytest.raises(error) as caught:
        await driver.create(spec)
    state_dir = driver.settings.state_dir
    assert not state_dir.exists() or list(state_dir.iterdir()) == []
    return caught.value.code


def test_the_driver_implements_the_protocol(tmp_path: Path) -> None:
    driver = libvirt(tmp_path, tmp_path)
    assert isinstance(driver, Driver)
    assert driver.name == "libvirt"


async def test_an_unreachable_host_is_transient(tmp_path: Path, new_spec: SpecFactory) -> None:
    driver = libvirt(tmp_path / "state", tmp_path, uri=UNREACHABLE)

    assert await failed_create(TransientError, driver, new_spec()) == "host_unreachable"
    with pytest.raises(TransientError) as caught:
        await driver.inspect(new_spec().machine_id)
    assert caught.value.code == "host_unreachable"
    assert "Connection refused" in str(caught.value.__cause__)  # chained: raise ... from exc
    await driver.close()


async def test_a_missing_base_image_is_permanent(tmp_path: Path, new_spec: SpecFactory) -> None:
    libvirt_test_guest()  # a reachable libvirt
    driver = libvirt(tmp_path / "state", tmp_path / "no-images")
    spec = new_spec()

    assert await failed_create(PermanentError, driver, spec) == "image_not_available"
    assert await driver.inspect(spec.machine_id) is None
    await driver.close()


async def test_a_broken_base_image_is_a_disk_error(tmp_path: Path, new_spec: SpecFactory) -> None:
    libvirt_test_guest()
    (tmp_path / "base.qcow2").write_text("not a qcow2 image\n")
    driver = libvirt(tmp_path / "state", tmp_path)
    spec = new_spec()

    assert await failed_create(PermanentError, driver, spec) == "disk_error"
    assert await driver.inspect(spec.machine_id) is None
    await driver.close()


async def test_a_domain_libvirt_refuses_leaves_nothing(
    tmp_path: Path, new_spec: SpecFactory
) -> None:
    guest = libvirt_test_guest()
    driver = libvirt(tmp_path / "state", guest, domain_type="no-such-type")
    spec = new_spec()

    assert await failed_create(PermanentError, driver, spec) == "libvirt_error"
    assert await driver.inspect(spec.machine_id) is None
    await driver.close()
