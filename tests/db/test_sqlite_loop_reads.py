"""The fast read's statement on SQLite runs in the event loop's thread (`db.session.
first_row_raw`): it sees every commit at once, never waits for a lock there (a read that meets
one is read on aiosqlite's thread, which waits), and its connection closes with its engine."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from nuage.db.session import first_row_raw, make_engine, make_reader
from nuage.db.sqlite_side import LOOP_READERS

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _database(path: Path) -> None:
    with sqlite3.connect(path) as setup:  # a rollback journal until nuage's engine opens it
        setup.execute("CREATE TABLE t (n INTEGER)")
        setup.execute("INSERT INTO t VALUES (1)")
    setup.close()


async def test_a_read_sees_each_commit_and_a_locked_database_does_not_stop_the_loop(
    tmp_path: Path,
) -> None:
    _database(tmp_path / "db.sqlite3")
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    reader = make_reader(engine, pool_size=2, pool_timeout=5)
    writer = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        assert await first_row_raw(reader, "SELECT max(n) FROM t", []) == (1,)
        writer.execute("INSERT INTO t VALUES (2)")
        assert await first_row_raw(reader, "SELECT max(n) FROM t", []) == (2,)

        # An exclusive lock (a WAL database's readers never meet one: this one is not in WAL
        # mode yet) refuses every reader: the read waits for it off the loop, which goes on.
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO t VALUES (3)")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            for _ in range(5):
                await asyncio.sleep(0.05)
                ticks += 1
            writer.execute("COMMIT")

        began = time.monotonic()
        read, _ = await asyncio.gather(first_row_raw(reader, "SELECT max(n) FROM t", []), tick())
        assert read == (3,)
        assert ticks == 5 and time.monotonic() - began < 10
        assert reader.sync_engine in LOOP_READERS
    finally:
        writer.close()
        await reader.dispose()
        await engine.dispose()
    assert reader.sync_engine not in LOOP_READERS
