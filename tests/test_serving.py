"""`nuage serve --workers N`: PostgreSQL gets the processes asked for; the embedded SQLite mode
keeps one and says so."""

import logging
from pathlib import Path

import pytest

from nuage.cli.serving import process_count
from nuage.config import Settings


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, secret_key="k" * 40)


def test_postgresql_runs_the_processes_asked_for(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "postgresql+asyncpg://nuage@127.0.0.1/nuage")
    assert process_count(settings, 4) == 4


def test_sqlite_keeps_one_process_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'nuage.db'}")
    with caplog.at_level(logging.WARNING, logger="nuage.serve"):
        assert process_count(settings, 3) == 1
    assert "SQLite: serving with one process (--workers 3 ignored)" in caplog.text
    assert process_count(settings, 1) == 1
