"""Fixtures for the driver suites: `driver` runs a test once per implementation in DRIVER_FACTORIES.

Adding an implementation to the contract suite is one line in DRIVER_FACTORIES: a callable that
builds the driver over a fresh, empty state directory (it may skip the test, or fail it on CI,
when its hypervisor is unavailable). DRIVER_MARKS marks its tests (slow ones: `slow`), and
REPORTED_MEMORY says how far the memory a guest reports may fall below its configured size.

The libvirt driver runs the tiny test guest (scripts/README.md) on `qemu:///system`: libvirt-python,
a reachable daemon and `scripts/build-test-guest.sh` are needed; without them its tests are skipped
with the reason, or fail when the environment variable CI is set.
"""

import functools
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import pytest

from nuage.domain.errors import NuageError
from nuage.drivers.base import Driver, MachineSpec
from nuage.drivers.sim import SimDriver, SimSettings

LIBVIRT_URI = "qemu:///system"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@functools.cache
def _find_libvirt_test_guest() -> Path | str:
    """The built test guest's directory, or why libvirt tests cannot run here. Once a session."""
    from nuage.drivers.libvirt_connection import load_binding

    try:
        libvirt = load_binding()
    except ImportError as exc:
        return str(exc)
    try:
        libvirt.open(LIBVIRT_URI).close()
    except libvirt.libvirtError as exc:
        return f"cannot open {LIBVIRT_URI} ({exc}); run scripts/libvirt-setup.sh"
    default = Path.home() / ".cache" / "nuage" / "test-guest"
    cache = Path(os.environ.get("NUAGE_TEST_GUEST_CACHE") or default)
    build = ["bash", str(SCRIPTS / "build-test-guest.sh"), str(cache)]
    done = subprocess.run(build, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"build-test-guest.sh failed ({done.returncode}): {done.stderr.strip()[-1000:]}"
    return cache.resolve()


def libvirt_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it on CI (where libvirt must be set up)."""
    if os.environ.get("CI"):
        pytest.fail(f"libvirt is unavailable: {reason}")
    pytest.skip(f"libvirt is unavailable: {reason}")


def libvirt_test_guest() -> Path:
    """The test guest's directory; skips the test (fails it on CI) when libvirt is unavailable."""
    found = _find_libvirt_test_guest()
    if isinstance(found, str):
        libvirt_unavailable(found)
    return found


def libvirt_driver(state_dir: Path) -> Driver:
    from nuage.drivers.libvirt import LibvirtDriver, LibvirtSettings

    guest = libvirt_test_guest()
    # The test's own images directory, where custom images go; base.qcow2 (a link to the test
    # guest's) serves every other image name.
    images = state_dir.parent / "images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "base.qcow2").unlink(missing_ok=True)
    (images / "base.qcow2").symlink_to(guest / "base.qcow2")
    settings = LibvirtSettings(
        uri=LIBVIRT_URI,
        state_dir=state_dir,
        images_dir=images,
        kernel=guest / "vmlinuz",
        initrd=guest / "initrd.img",
    )
    return LibvirtDriver(settings)


def proxmox_driver(state_dir: Path, stack: ExitStack) -> Driver:
    """The Proxmox driver over a fake node of its own (tests/pve), stopped after the test."""
    from tests.pve.drivers import proxmox_driver as driver_of
    from tests.pve.served import TEMPLATES, serve

    templates = {**TEMPLATES, "alpine-3.20": 9003}  # the suite reinstalls with it
    served = serve(templates=templates)
    stack.callback(served.stop)
    return driver_of(served, templates=templates)


DRIVER_FACTORIES: dict[str, Callable[[Path, ExitStack], Driver]] = {
    "sim": lambda state_dir, _stack: SimDriver(SimSettings(state_dir=state_dir)),
    "libvirt": lambda state_dir, _stack: libvirt_driver(state_dir),
    "proxmox": proxmox_driver,
}
DRIVER_MARKS: dict[str, pytest.MarkDecorator] = {"libvirt": pytest.mark.slow}
# Contract cases a driver is known to fail, with why (docs/drivers/<driver>.md, "Limits"): they
# run and must fail (strict), so that a fix shows up as an unexpected pass.
KNOWN_GAPS: dict[str, dict[str, str]] = {
    "proxmox": {
        "test_a_detached_volume_grows_offline": "Proxmox resizes a disk only through its VM",
    },
}

# The guest reports MemTotal: the configured size less ~34 MiB + 1.6 % (scripts/README.md).
REPORTED_MEMORY: dict[str, Callable[[int], range]] = {
    "sim": lambda ram_mb: range(ram_mb, ram_mb + 1),
    "proxmox": lambda ram_mb: range(ram_mb, ram_mb + 1),
    "libvirt": lambda ram_mb: range(int(ram_mb * 0.97) - 40, ram_mb + 1),
}

SpecFactory = Callable[..., MachineSpec]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "driver-state"


@pytest.fixture
def machine_ids() -> list[str]:
    """Every machine id handed out by `new_spec` in this test, for cleanup."""
    return []


@pytest.fixture
def new_spec(machine_ids: list[str]) -> SpecFactory:
    """Build a MachineSpec with a fresh machine id; keyword arguments override the defaults.

    The default size (1 vCPU, 128 MiB, 5 GiB) is the smallest the libvirt test guest boots well
    with (it needs at least 80 MiB)."""

    def build(**changes: object) -> MachineSpec:
        machine_id = f"nuage-test-{uuid.uuid4().hex[:16]}"
        machine_ids.append(machine_id)
        fields: dict[str, object] = {
            "machine_id": machine_id,
            "name": f"test-{machine_id[-6:]}",
            "hostname": f"host-{machine_id[-6:]}",
            "vcpu": 1,
            "ram_mb": 128,
            "disk_gb": 5,
            "image": "debian-12",
        }
        return MachineSpec(**{**fields, **changes})  # type: ignore[arg-type]

    return build


@pytest.fixture(
    params=[
        pytest.param(name, marks=DRIVER_MARKS.get(name, ())) for name in sorted(DRIVER_FACTORIES)
    ]
)
async def driver(
    request: pytest.FixtureRequest, state_dir: Path, machine_ids: list[str]
) -> AsyncIterator[Driver]:
    gap = KNOWN_GAPS.get(request.param, {}).get(request.node.originalname)
    if gap is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=gap))
    with ExitStack() as stack:
        instance = DRIVER_FACTORIES[request.param](state_dir, stack)
        yield instance
        failures: list[str] = []
        for machine_id in machine_ids:  # a real hypervisor must not keep what a test made
            try:
                await instance.delete(machine_id)
            except NuageError as exc:  # keep deleting the others; report after
                failures.append(f"{machine_id}: {exc.code}: {exc}")
        await instance.close()
    assert not failures, f"machines left behind: {failures}"
