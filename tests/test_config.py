"""Settings come from NUAGE_<FIELD> variables, and every default from one place: Settings."""

import os
import re
from pathlib import Path
from uuid import UUID

import pytest

from nuage.config import Settings, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in [n for n in os.environ if n.startswith("NUAGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NUAGE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_unset_variables_take_the_settings_defaults(clean_env: Path) -> None:
    loaded = load_settings()

    expected = Settings(
        data_dir=clean_env.resolve(),
        database_url=f"sqlite+aiosqlite:///{clean_env.resolve() / 'nuage.db'}",
        secret_key=loaded.secret_key,
    )
    assert loaded == expected
    assert loaded.libvirt_images == clean_env.resolve() / "images"


def test_each_variable_is_read_as_its_fields_type(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "NUAGE_LEASE_SECONDS": "7.5",
        "NUAGE_WORKER_CONCURRENCY": "9",
        "NUAGE_SIM_SEED": "3",
        "NUAGE_LIBVIRT_DOMAIN_TYPE": "kvm",
        "NUAGE_LIBVIRT_BOOT_MARKER": "",
        "NUAGE_LIBVIRT_IMAGES_DIR": str(clean_env / "base"),
    }.items():
        monkeypatch.setenv(name, value)

    loaded = load_settings()

    assert (loaded.lease_seconds, loaded.worker_concurrency, loaded.sim_seed) == (7.5, 9, 3)
    assert (loaded.libvirt_domain_type, loaded.libvirt_boot_marker) == ("kvm", None)
    assert loaded.libvirt_images == (clean_env / "base").resolve()


def test_console_settings_give_the_sessions_url_and_lifetime(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUAGE_PUBLIC_URL", "https://cloud.example/api/")
    monkeypatch.setenv("NUAGE_CONSOLE_TTL_SECONDS", "45")

    console = load_settings().console

    assert console.ttl_seconds == 45
    assert console.url(UUID(int=1)) == f"wss://cloud.example/api/v1/console/{UUID(int=1)}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NUAGE_PUBLIC_URL", "ftp://cloud.example"),
        ("NUAGE_PUBLIC_URL", "cloud.example:8000"),
        ("NUAGE_PUBLIC_URL", "http://cloud.example/?a=1"),
        ("NUAGE_CONSOLE_TTL_SECONDS", "0"),
        ("NUAGE_CONSOLE_TTL_SECONDS", "86400"),
    ],
)
def test_bad_console_settings_are_refused_naming_the_value(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=re.escape(str(float(value)) if "TTL" in name else value)):
        _ = load_settings().console
