"""Fixtures for the driver suites: `driver` runs a test once per implementation in DRIVER_FACTORIES.

Adding an implementation to the contract suite is one line in DRIVER_FACTORIES: a callable that
builds the driver over a fresh, empty state directory.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from nuage.drivers.base import Driver, MachineSpec
from nuage.drivers.sim import SimDriver, SimSettings

DRIVER_FACTORIES: dict[str, Callable[[Path], Driver]] = {
    "sim": lambda state_dir: SimDriver(SimSettings(state_dir=state_dir)),
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
    """Build a MachineSpec with a fresh machine id; keyword arguments override the defaults."""

    def build(**changes: object) -> MachineSpec:
        machine_id = f"nuage-test-{uuid.uuid4().hex[:16]}"
        machine_ids.append(machine_id)
        fields: dict[str, object] = {
            "machine_id": machine_id,
            "name": f"test-{machine_id[-6:]}",
            "hostname": f"host-{machine_id[-6:]}",
            "vcpu": 1,
            "ram_mb": 512,
            "disk_gb": 5,
            "image": "debian-12",
        }
        return MachineSpec(**{**fields, **changes})  # type: ignore[arg-type]

    return build


@pytest.fixture(params=sorted(DRIVER_FACTORIES))
async def driver(
    request: pytest.FixtureRequest, state_dir: Path, machine_ids: list[str]
) -> AsyncIterator[Driver]:
    instance = DRIVER_FACTORIES[request.param](state_dir)
    yield instance
    for machine_id in machine_ids:  # a real hypervisor must not keep what a test made
        await instance.delete(machine_id)
    await instance.close()
