"""One driver registry: the classes the worker builds agree with the descriptions the services
validate hosts against, and a host's driver is built from its stored configuration and secret."""

from pathlib import Path
from typing import Any

import pytest

from nuage.config import Settings
from nuage.domain.capabilities import Capability
from nuage.domain.drivers import DESCRIPTIONS
from nuage.domain.errors import PermanentError
from nuage.drivers.registry import DRIVER_CLASSES, build_driver
from nuage.drivers.sim import SimDriver


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url="sqlite://", secret_key="k", sim_latency_ms=7)


def build(settings: Settings, **host: Any) -> Any:
    fields: dict[str, Any] = {"driver": "sim", "host": "h1", "uri": "sim://", "config": {}}
    return build_driver(**{**fields, "secret_ref": None, **host}, settings=settings)


def test_the_worker_builds_exactly_the_drivers_the_services_accept() -> None:
    assert {cls.description for cls in DRIVER_CLASSES} == set(DESCRIPTIONS.values())
    assert all(cls.name == cls.description.name for cls in DRIVER_CLASSES)
    assert len({cls.description.name for cls in DRIVER_CLASSES}) == len(DRIVER_CLASSES)


def test_a_simulated_host_takes_its_latency_and_capabilities_from_its_config(
    settings: Settings,
) -> None:
    default = build(settings)
    limited = build(settings, config={"latency_ms": 0, "capabilities": ["resize"]})
    assert isinstance(default, SimDriver) and isinstance(limited, SimDriver)
    assert default.settings.latency_ms == 7
    assert default.capabilities == DESCRIPTIONS["sim"].capabilities
    assert limited.settings.latency_ms == 0
    assert limited.capabilities == {Capability.RESIZE}
    assert limited.settings.state_dir == default.settings.state_dir == settings.sim_state_dir


def test_a_libvirt_host_takes_its_directories_and_domain_type_from_its_config(
    settings: Settings,
) -> None:
    pytest.importorskip("libvirt")
    from nuage.drivers.libvirt import LibvirtDriver

    driver = build(
        settings,
        driver="libvirt",
        host="kvm-01",
        uri="qemu+ssh://kvm-01/system",
        config={"images_dir": "/srv/images", "backup_dir": "/srv/backups", "domain_type": "kvm"},
    )
    assert isinstance(driver, LibvirtDriver)
    s = driver.settings
    assert (s.uri, s.images_dir, s.backup_dir) == (
        "qemu+ssh://kvm-01/system",
        Path("/srv/images"),
        Path("/srv/backups"),
    )
    assert (s.domain_type, s.state_dir) == ("kvm", settings.libvirt_state_dir / "kvm-01")


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ({"driver": "vmware"}, "driver_unavailable"),
        ({"config": {"latency_ms": -1}}, "invalid_host_config"),
        ({"config": {"bogus": 1}}, "invalid_host_config"),
        ({"secret_ref": "env:NUAGE_TEST_UNSET_SECRET"}, "secret_unavailable"),
        ({"secret_ref": "the-token-itself"}, "secret_unavailable"),
    ],
)
def test_a_host_whose_driver_cannot_be_built_fails_its_task_permanently(
    settings: Settings, host: dict[str, Any], code: str
) -> None:
    with pytest.raises(PermanentError) as caught:
        build(settings, **host)
    assert caught.value.code == code
    assert "the-token-itself" not in caught.value.message
