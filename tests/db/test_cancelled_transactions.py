"""A transaction cancelled while the driver works is cancelled: neither a database failure nor a
commit whose outcome is unknown, whatever the connection's last transaction did. A stopped
worker's heartbeat, which answers those failures by trying again, kept renewing its dead task's
lease when a cancel was made one of them, and the task was never taken over."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa

from nuage.db.session import make_engine, make_sessionmaker, transaction

pytestmark = pytest.mark.anyio


async def test_a_transaction_cancelled_in_its_begin_after_a_committed_write_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cancelled.db'}")
    sessions = make_sessionmaker(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        async with transaction(sessions) as session:  # the connection's last transaction wrote
            await session.execute(sa.text("INSERT INTO t (n) VALUES (1)"))

        in_the_driver = asyncio.Event()
        execute = aiosqlite.Connection._execute

        async def first_call_waits(self: aiosqlite.Connection, fn: Callable[..., Any]) -> Any:
            if not in_the_driver.is_set():  # the BEGIN IMMEDIATE's cursor: until cancelled
                in_the_driver.set()
                await asyncio.Event().wait()
            return await execute(self, fn)

        async def second() -> None:
            async with transaction(sessions) as session:  # the same pooled connection
                await session.execute(sa.text("INSERT INTO t (n) VALUES (2)"))

        monkeypatch.setattr(aiosqlite.Connection, "_execute", first_call_waits)
        waiting = asyncio.create_task(second())
        await in_the_driver.wait()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        monkeypatch.undo()
        async with engine.connect() as conn:
            assert list((await conn.execute(sa.text("SELECT n FROM t"))).scalars()) == [1]
    finally:
        await engine.dispose()
