"""SQLite's one-call writes (`db.session.write_once`) run on a thread of their own, on a
connection of the standard driver to the engine's file: what they commit is what the engine then
reads, concurrent writers take turns instead of failing on the lock, a failed write leaves
nothing, and disposing the engine ends that thread (the engine still writes afterwards)."""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.session import make_engine, write_once

pytestmark = pytest.mark.anyio

WRITER_THREAD = "nuage-sqlite-writer"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    try:
        yield engine
    finally:
        await engine.dispose()


def insert(n: int) -> Callable[[Connection], str]:
    def write(conn: Connection) -> str:
        conn.execute(sa.text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        conn.commit()
        return threading.current_thread().name

    return write


async def stored(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.text("SELECT n FROM t ORDER BY n"))).scalars())


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WRITER_THREAD)]


async def test_concurrent_writes_take_turns_on_their_thread_and_are_read_by_the_engine(
    engine: AsyncEngine,
) -> None:
    names = await asyncio.gather(*(write_once(engine, insert(n)) for n in range(20)))
    assert {name.rsplit("_", 1)[0] for name in names} == {WRITER_THREAD}
    assert await stored(engine) == list(range(20))


async def test_a_failed_write_leaves_nothing(engine: AsyncEngine) -> None:
    def half(conn: Connection) -> None:
        conn.execute(sa.text("INSERT INTO t (n) VALUES (1)"))
        conn.execute(sa.text("INSERT INTO t (n) VALUES (1)"))  # the same key: refused
        conn.commit()

    with pytest.raises(sa.exc.IntegrityError):
        await write_once(engine, half)
    assert await stored(engine) == []


async def test_disposing_the_engine_ends_its_writer_and_a_later_write_still_works(
    engine: AsyncEngine,
) -> None:
    before = len(writer_threads())
    await write_once(engine, insert(1))
    assert len(writer_threads()) == before + 1
    await engine.dispose()
    assert len(writer_threads()) == before
    await write_once(engine, insert(2))
    assert await stored(engine) == [1, 2]
