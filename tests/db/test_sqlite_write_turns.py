"""SQLite's writers of one process take turns (`db.sqlite_turns`): the API's request sessions,
the worker's transactions and `write_once`'s writes, side by side, never meet SQLite's write
lock, whose busy handler keeps no order among those waiting; a transaction that fails or is
dropped, or lost and collected, gives its turn back; and a writer that cannot have its turn in
time fails as SQLite would, "database is locked", as a database unavailable for now.

The busy handler is switched off here (`PRAGMA busy_timeout=0`), so that meeting the lock fails
at once instead of being waited out."""

import asyncio
import gc
import threading
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db import sqlite_side, sqlite_turns
from nuage.db.session import make_engine, make_sessionmaker, transaction, write_once
from nuage.domain.errors import DatabaseUnavailable

pytestmark = pytest.mark.anyio


def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    event.listen(engine.sync_engine, "connect", no_busy_wait)
    writer = sqlite_side.WRITERS.get(engine.sync_engine)
    assert writer is not None
    event.listen(writer.engine, "connect", no_busy_wait)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY, by TEXT)"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def count(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT by, count(*) FROM t GROUP BY by"))
        return {by: n for by, n in rows}


async def test_the_writers_of_a_process_never_meet_the_lock(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    numbers = iter(range(1_000_000))

    async def session_writer(rounds: int) -> None:
        """A request's session or the worker's transaction: it reads, yields to the loop
        while it holds the transaction, and writes."""
        for _ in range(rounds):
            async with transaction(sessions) as session:
                await session.execute(sa.text("SELECT count(*) FROM t"))
                await asyncio.sleep(0)
                await session.execute(
                    sa.text("INSERT INTO t (n, by) VALUES (:n, 'session')"), {"n": next(numbers)}
                )

    async def failing_writer(rounds: int) -> None:
        """A transaction that fails half-way: rolled back, its turn given back."""
        for _ in range(rounds):
            with pytest.raises(ZeroDivisionError):
                async with transaction(sessions) as session:
                    await session.execute(
                        sa.text("INSERT INTO t (n, by) VALUES (:n, 'failed')"),
                        {"n": next(numbers)},
                    )
                    1 / 0  # noqa: B018

    async def one_call_writer(rounds: int) -> None:
        for _ in range(rounds):
            n = next(numbers)

            def write(conn: Connection, n: int = n) -> None:
                conn.execute(sa.text("INSERT INTO t (n, by) VALUES (:n, 'write_once')"), {"n": n})
                conn.commit()

            await write_once(engine, write)

    await asyncio.gather(
        *(session_writer(10) for _ in range(6)),
        *(failing_writer(5) for _ in range(2)),
        *(one_call_writer(10) for _ in range(3)),
    )
    assert await count(engine) == {"session": 60, "write_once": 30}


async def test_a_dropped_connection_gives_its_turn_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("INSERT INTO t (n, by) VALUES (1, 'dropped')"))
        await conn.invalidate()  # its transaction ends with it, never committed
    sessions = make_sessionmaker(engine)
    async with asyncio.timeout(5), transaction(sessions) as session:
        await session.execute(sa.text("INSERT INTO t (n, by) VALUES (2, 'after')"))
    assert await count(engine) == {"after": 1}


async def write_and_lose(engine: AsyncEngine) -> None:
    """A writer that drops its connection in its transaction, without closing it."""
    conn = await engine.connect()
    await conn.execute(sa.text("INSERT INTO t (n, by) VALUES (1, 'lost')"))


async def test_a_connection_lost_without_a_close_gives_its_turn_back(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_turns, "BUSY_TIMEOUT_SECONDS", 0.5)
    await write_and_lose(engine)
    with pytest.warns(sa_exc.SAWarning, match="garbage collector"):
        gc.collect()  # the pool's clean-up of the lost connection ends its transaction
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await session.execute(sa.text("INSERT INTO t (n, by) VALUES (2, 'after')"))
    assert await count(engine) == {"after": 1}


async def test_a_writer_without_a_turn_in_time_finds_the_database_locked(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_turns, "BUSY_TIMEOUT_SECONDS", 0.2)
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as holder:
        await holder.execute(sa.text("INSERT INTO t (n, by) VALUES (1, 'holder')"))
        with pytest.raises(DatabaseUnavailable):
            async with asyncio.timeout(5), transaction(sessions) as late:
                await late.execute(sa.text("INSERT INTO t (n, by) VALUES (2, 'late')"))
    async with transaction(sessions) as session:  # the turn is free again
        await session.execute(sa.text("INSERT INTO t (n, by) VALUES (3, 'next')"))
    assert await count(engine) == {"holder": 1, "next": 1}


def test_an_engine_whose_writers_waited_is_collected_once_dropped(tmp_path: Path) -> None:
    """Once a writer has waited for its turn, the loop's lock holds the loop; a loop reaches
    what ran in it (here through its exception handler, as a test runner's does). The turns
    must not keep the engine past its last user: the suite's process kept an app and its
    engines for each SQLite test with a worker."""

    async def waited_once() -> weakref.ref[AsyncEngine]:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'dropped.db'}")
        asyncio.get_running_loop().set_exception_handler(lambda _loop, _context: engine)
        sessions = make_sessionmaker(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY, by TEXT)"))

        async def write(n: int) -> None:
            async with transaction(sessions) as session:
                await session.execute(sa.text("INSERT INTO t (n, by) VALUES (:n, 'w')"), {"n": n})
                await asyncio.sleep(0.05)  # the other writer waits for its turn meanwhile

        await asyncio.gather(write(1), write(2))
        assert await count(engine) == {"w": 2}
        await engine.dispose()
        return weakref.ref(engine)

    threads_before = set(threading.enumerate())
    dropped = asyncio.run(waited_once())  # a loop of its own, closed here
    # aiosqlite's thread of each closed connection holds its last future, and through it the
    # loop, until it ends, a moment after the close was answered (later on a loaded machine).
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=10)
    gc.collect()
    assert dropped() is None
