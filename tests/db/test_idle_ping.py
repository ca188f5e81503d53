"""PostgreSQL's pooled connections are pinged at checkout only when they sat idle in the pool
(`db.session.IDLE_BEFORE_PING_SECONDS`): one closed meanwhile is replaced without an error, and
one closed right after its last use fails its next transaction as an unavailable database,
after which the pool has replaced it."""

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db import session as db_session
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.domain.errors import DatabaseUnavailable
from tests.databases import PG_ADMIN_URL

pytestmark = pytest.mark.anyio


@pytest.fixture
def engine(pg_engine: AsyncEngine) -> AsyncEngine:
    """SQLite has no server to close a connection."""
    return pg_engine


@pytest.fixture
def pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The pings the engine's dialect sends."""
    sent: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


async def backend_pid(engine: AsyncEngine) -> int:
    async with transaction(make_sessionmaker(engine)) as session:
        pid: int = (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def close_from_the_server(pid: int) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_connection_back_moments_ago_is_used_without_a_ping(
    engine: AsyncEngine, pings: list[object]
) -> None:
    pids = {await backend_pid(engine) for _ in range(5)}
    assert len(pids) == 1  # the pool's one connection, five times
    assert pings == []


async def test_an_idle_connection_closed_by_the_server_is_replaced_at_checkout(
    engine: AsyncEngine, pings: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(engine)
    monkeypatch.setattr(db_session, "IDLE_BEFORE_PING_SECONDS", 0.0)
    await close_from_the_server(first)
    assert await backend_pid(engine) != first  # no error: the ping found it closed
    assert len(pings) == 1


async def test_a_connection_closed_right_after_its_use_is_an_unavailable_database_once(
    engine: AsyncEngine, pings: list[object]
) -> None:
    first = await backend_pid(engine)
    await close_from_the_server(first)
    with pytest.raises(DatabaseUnavailable):
        await backend_pid(engine)
    assert await backend_pid(engine) != first
    assert pings == []
