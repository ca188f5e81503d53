"""The databases the suite runs against: SQLite (a copy of a migrated file per test) and
PostgreSQL (a database cloned from a migrated template per test, dropped afterwards).

`NUAGE_TEST_BACKENDS` (comma-separated, default "sqlite,postgresql") narrows the set. When
PostgreSQL is unreachable, its tests fail on CI (CI is set) and are skipped elsewhere, with the
reason printed.
"""

import asyncio
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.migrate import upgrade
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.services.hosts import ensure_demo_sim_hosts
from nuage.services.ip_pools import ensure_demo_pools

# Without TLS: the test server has none, and asyncpg's default first asks for it at every
# connection. A connection cancelled while waiting for that answer (a worker stopped at a test's
# end) leaves a future whose error nobody reads, and the test runner fails the test it lands in.
PG_ADMIN_URL = os.environ.get(
    "NUAGE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres?ssl=disable"
)


def backends() -> list[str]:
    raw = os.environ.get("NUAGE_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in raw.split(",") if b.strip()]


async def migrate(url: str) -> None:
    """Migrate the database and add the simulated hosts the suite places instances on and the
    pools their addresses come from (as the embedded demo does: no migration creates them)."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        await add_sim_hosts(engine)
    finally:
        await engine.dispose()


async def add_sim_hosts(engine: AsyncEngine) -> None:
    """The demo's simulated hosts and address pools (documentation ranges)."""
    async with transaction(make_sessionmaker(engine)) as session:
        await ensure_demo_sim_hosts(session)
        await ensure_demo_pools(session)


def database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def _admin(*statements: str) -> None:
    engine = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def postgres_problem() -> str | None:
    """None if the test server answers, else why not."""

    async def probe() -> None:
        async with asyncio.timeout(5):
            await _admin("SELECT 1")

    try:
        asyncio.run(probe())
    except Exception as error:  # any failure to reach it is the reason we report
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {error!r}"
    return None


def create_template() -> str:
    name = f"nuage_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def make() -> None:
        await _admin(f'CREATE DATABASE "{name}"')
        await migrate(database_url(name))

    asyncio.run(make())
    return name


async def clone(template: str) -> str:
    """A new database copied from `template`. Its commits do not wait for the WAL to reach the
    disk (`synchronous_commit`): a test's database is dropped after it, and the server's crash,
    the only loss that setting risks, is never what a test makes."""
    name = f"nuage_t_{uuid.uuid4().hex[:12]}"
    await _admin(
        f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
        f'ALTER DATABASE "{name}" SET synchronous_commit = off',
    )
    return name


async def drop(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_sync(name: str) -> None:
    asyncio.run(drop(name))


# Dropping a test's database takes longer than cloning one (most of a second on a busy machine),
# so it is done on a thread of its own while the next tests run.
_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
_drops: list[Future[None]] = []


def drop_later(name: str) -> None:
    _drops.append(_dropper.submit(drop_sync, name))


def wait_for_drops() -> None:
    """Every `drop_later` done; the first failure is raised."""
    while _drops:
        _drops.pop(0).result()
