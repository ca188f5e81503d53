"""The LISTEN connection (`db.pg_notify.PostgresNotifier`) reads the same database URL as the
rest of nuage, its options included: the TLS option (SQLAlchemy's `?ssl=`), and those of
SQLAlchemy's asyncpg adapter, which are neither `asyncpg.connect`'s nor the server's."""

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nuage.db.notify import pg_notify
from nuage.db.pg_notify import PostgresNotifier
from nuage.db.session import make_engine

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "options",
    [{"ssl": "disable"}, {"ssl": "disable", "prepared_statement_cache_size": "0"}],
    ids=["ssl", "adapter option"],
)
async def test_a_url_with_options_listens_and_hears(
    database_url: str, options: dict[str, str]
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's notifier is in-process: no URL to read")
    url = make_url(database_url).update_query_dict(options).render_as_string(False)
    engine = make_engine(url)  # the URL is one the API's own engine takes
    notifier = PostgresNotifier(url)
    try:
        await notifier.start()
        assert notifier.connected.is_set()
        waiter = notifier.subscribe("task:heard")
        async with engine.begin() as conn:
            await conn.execute(sa.select(pg_notify("task:heard")))
        async with asyncio.timeout(5):
            await waiter.wait()
    finally:
        await notifier.close()
        await engine.dispose()
