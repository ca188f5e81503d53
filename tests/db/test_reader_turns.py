"""PostgreSQL's single-statement reads (`db.session.make_reader`) wait for a connection in the
order they came: once the pool is full, a read that arrives as a connection is given back does
not take it from those already waiting (which made one process's p99 four times its p50 under
32 clients: docs/benchmarks.md, "Issue 11, sixth session")."""

import asyncio
import gc
import weakref
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_

from nuage.db.session import first_row_raw, make_engine, make_reader, read_once

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_reads_beyond_the_pool_are_served_first_come_first_served(
    database_url: str,
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's reads run in the loop's thread or queue on aiosqlite's")
    engine = make_engine(database_url)
    reader = make_reader(engine, pool_size=1, pool_timeout=5)
    release = asyncio.Event()
    served: list[str] = []

    def hold(_connection: Any) -> None:
        await_(release.wait())

    async def read(name: str) -> None:
        assert await first_row_raw(reader, "SELECT 1", []) == (1,)
        served.append(name)

    try:
        holder = asyncio.create_task(read_once(reader, hold))
        await asyncio.sleep(0.1)  # it holds the pool's one connection
        waiting = [asyncio.create_task(read(f"waited {i}")) for i in range(3)]
        await asyncio.sleep(0.1)
        assert served == []
        release.set()
        # These arrive as the holder gives its connection back, before the first waiter runs.
        arriving = [asyncio.create_task(read(f"arrived {i}")) for i in range(3)]
        await asyncio.gather(holder, *waiting, *arriving)
        assert served == [*(f"waited {i}" for i in range(3)), *(f"arrived {i}" for i in range(3))]

        # A read still waits at most the pool's timeout, and is refused as the pool refuses.
        quick = make_reader(engine, pool_size=1, pool_timeout=0.2)
        release.clear()
        held = asyncio.create_task(read_once(quick, hold))
        await asyncio.sleep(0.1)
        with pytest.raises(sa_exc.TimeoutError):
            await first_row_raw(quick, "SELECT 1", [])
        release.set()
        await held
        assert await first_row_raw(quick, "SELECT 1", []) == (1,)
        await quick.dispose()
    finally:
        release.set()
        await reader.dispose()
        await engine.dispose()


def test_a_reader_whose_reads_waited_is_collected_once_dropped(database_url: str) -> None:
    """Once a read has waited for its turn, the turns' semaphore holds the loop, and a loop
    reaches what ran in it (here through its exception handler, as a test runner's does): the
    turns must not keep the reader past its last user (`db.engine_state`)."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's readers take no turns")

    async def waited_once() -> weakref.ref[AsyncEngine]:
        engine = make_engine(database_url)
        reader = make_reader(engine, pool_size=1, pool_timeout=5)
        asyncio.get_running_loop().set_exception_handler(lambda _loop, _context: reader)
        reads = [first_row_raw(reader, "SELECT pg_sleep(0.05), 1", []) for _ in range(3)]
        assert [row[1] for row in await asyncio.gather(*reads) if row] == [1, 1, 1]
        await reader.dispose()
        await engine.dispose()
        return weakref.ref(reader)

    dropped = asyncio.run(waited_once())  # a loop of its own, closed here
    gc.collect()
    assert dropped() is None
