"""A real `nuage serve` (tests/contract/live.py) for the SDK's and the CLI's end to end tests,
and `cli`: the `nuage` command run as a user runs it (a subprocess, a config dir of its own)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract import live
from tests.contract.live import LiveServer

NUAGE = str(Path(sys.executable).with_name("nuage"))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    started = live.start(tmp_path_factory.mktemp("sdk-live"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")

    def run(*args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [NUAGE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == status, (args, done.stdout, done.stderr)
        return done

    run.config = tmp_path / "config" / "nuage" / "config.json"  # type: ignore[attr-defined]
    return run
