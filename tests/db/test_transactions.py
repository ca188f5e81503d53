"""`transaction` and `reading` on PostgreSQL (`db.session._Transaction`), which run a session's
begin, commit and close in fewer greenlets than SQLAlchemy's own contexts, end the way those
contexts end: committed on success, rolled back on a failure that is raised as it was, the
connection given back to the pool in every case, and a lost database an unavailable one."""

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.session import make_sessionmaker, reading, transaction
from nuage.domain.errors import DatabaseUnavailable
from tests.db.test_idle_ping import close_from_the_server

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(pg_engine: AsyncEngine) -> AsyncEngine:
    async with pg_engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE IF EXISTS tx_probe"))
        await conn.execute(sa.text("CREATE TABLE tx_probe (n integer PRIMARY KEY)"))
    return pg_engine


async def rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.text("SELECT n FROM tx_probe ORDER BY n"))).scalars())


class Refused(Exception):
    pass


async def test_a_transaction_commits_its_writes_and_gives_its_connection_back(
    engine: AsyncEngine,
) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(sa.text("INSERT INTO tx_probe VALUES (1)"))
        await session.execute(sa.text("INSERT INTO tx_probe VALUES (2)"))
        assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await rows(engine) == [1, 2]


async def test_a_failed_body_is_rolled_back_and_raised_as_it_was(engine: AsyncEngine) -> None:
    refused = Refused("no")
    with pytest.raises(Refused) as raised:
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(sa.text("INSERT INTO tx_probe VALUES (1)"))
            raise refused
    assert raised.value is refused
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await rows(engine) == []


async def test_a_refused_commit_is_rolled_back_and_raised(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:  # checked at COMMIT: the body's statement passes
        await conn.execute(sa.text("DROP TABLE IF EXISTS tx_parent"))
        await conn.execute(sa.text("CREATE TABLE tx_parent (n integer PRIMARY KEY)"))
        await conn.execute(
            sa.text(
                "ALTER TABLE tx_probe ADD FOREIGN KEY (n) REFERENCES tx_parent "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(sa.text("INSERT INTO tx_probe VALUES (1)"))
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await rows(engine) == []
    async with transaction(make_sessionmaker(engine)) as session:  # the connection works
        assert await session.scalar(sa.text("SELECT 1")) == 1


async def test_a_database_lost_before_the_commit_is_unavailable_and_nothing_is_written(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(DatabaseUnavailable):
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(sa.text("INSERT INTO tx_probe VALUES (1)"))
            pid = await session.scalar(sa.text("SELECT pg_backend_pid()"))
            await close_from_the_server(pid)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await rows(engine) == []  # the pool's connection replaced: it reads again


async def test_a_cancelled_transaction_writes_nothing_and_gives_its_connection_back(
    engine: AsyncEngine,
) -> None:
    inside = asyncio.Event()

    async def body() -> None:
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(sa.text("INSERT INTO tx_probe VALUES (1)"))
            inside.set()
            await asyncio.Event().wait()

    running = asyncio.create_task(body())
    await inside.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await rows(engine) == []


async def test_a_reading_sees_each_statement_in_its_own_transaction(
    engine: AsyncEngine,
) -> None:
    async with reading(make_sessionmaker(engine)) as session:
        first = await session.scalar(sa.text("SELECT txid_current()"))
        second = await session.scalar(sa.text("SELECT txid_current()"))
        assert first != second  # autocommit: no BEGIN, no COMMIT around them
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
