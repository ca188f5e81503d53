"""Fixtures of the database layer's tests."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.session import make_engine


@pytest.fixture
async def pg_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of one pooled connection on the test's database, on PostgreSQL only: what its
    tests check is the server's behaviour (skipped on SQLite)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's behaviour")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()
