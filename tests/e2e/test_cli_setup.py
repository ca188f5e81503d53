"""The `nuage` command where nothing is set up yet, run as a newcomer runs it (the installed entry
point, in a directory of their own): a command that needs the database says which data directory
it looked in and what to run, and writes nothing; `nuage db upgrade` says what it did."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from nuage.db.migrate import head_revision, upgrade
from nuage.db.session import make_engine

NUAGE = str(Path(sys.executable).with_name("nuage"))


def _nuage(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    return subprocess.run(
        [NUAGE, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_command_outside_any_set_up_directory_explains_and_writes_nothing(
    tmp_path: Path,
) -> None:
    for args in (("hosts", "list"), ("worker",)):
        done = _nuage(tmp_path, *args)
        assert done.returncode == 2, done
        assert str(tmp_path / "var") in done.stderr, done.stderr
        assert "nuage db upgrade" in done.stderr, done.stderr
        assert "unreachable" not in done.stderr
        assert "Traceback" not in done.stderr
        assert _files(tmp_path) == [], args

    created = _nuage(tmp_path, "db", "upgrade")
    assert created.returncode == 0, created
    assert f"created at revision {head_revision()}" in created.stderr, created.stderr
    assert str(tmp_path / "var") in created.stderr
    assert _nuage(tmp_path, "hosts", "list").returncode == 0


def test_an_older_schema_is_named_and_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()

    async def make_old() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{data / 'nuage.db'}")
        await upgrade(engine, "0006")
        await engine.dispose()

    asyncio.run(make_old())
    refused = _nuage(tmp_path, "hosts", "list")
    assert refused.returncode == 2, refused
    assert "0006" in refused.stderr and "nuage db upgrade" in refused.stderr, refused.stderr
    assert str(data) in refused.stderr
    assert not (data / "secret.key").exists()

    migrated = _nuage(tmp_path, "db", "upgrade")
    assert f"migrated from revision 0006 to {head_revision()}" in migrated.stderr, migrated
    again = _nuage(tmp_path, "db", "upgrade")
    assert "nothing to do" in again.stderr and "up to date" not in migrated.stderr, again
