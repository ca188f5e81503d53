"""Shared fixtures: a migrated database per test, the API over ASGI, a worker on the sim driver,
and tenants (user + organization + project + API key) made through the services."""

import asyncio
import gc
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.cli.runtime import make_notifier
from nuage.config import Settings
from nuage.db.pg_notify import PostgresNotifier
from nuage.db.session import engine_for, make_sessionmaker, reader_for
from nuage.drivers.sim import SimDriver, SimSettings
from nuage.engine.worker import Worker
from nuage.services import security
from tests import databases
from tests.pve import recording as pve_recording
from tests.support import Stack, TenantFactory, worker_settings


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Once a test's fixtures are torn down, what it left is collected (its finalizers' errors
    count against it) and what is still alive is frozen: the collector's full passes then look
    only at what later tests make. Without it, a full pass in the API group's process took
    up to 4 s of CPU by its end (2.5 to 3.4 million objects), about 12 % of the group's time, and
    10-17 s of wall time beside the other groups on two cores: a long poll asserted to answer
    within 10 s did not."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, at the lowest cost: production cost (64 MiB, 3 passes) per test tenant would
    be most of the suite's time, and the tests of passwords do not depend on the cost."""
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture(autouse=True)
def proxmox_requests_follow_the_schema() -> Iterator[None]:
    """Every request sent to a served fake Proxmox VE is checked against Proxmox's published schema
    (tests/pve/recording.py); one it would refuse fails the test that sent it, even when the driver
    caught the error."""
    with pve_recording.violations_fail_the_test():
        yield


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test would be slower)."""
    path = tmp_path_factory.mktemp("template") / "nuage.db"

    asyncio.run(databases.migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is cloned from."""
    problem = databases.postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI. {problem}", pytrace=False)
        pytest.skip(problem)
    name = databases.create_template()
    yield name
    databases.wait_for_drops()
    databases.drop_sync(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `one_database` run on the suite's first database only: what they check does
    not depend on the database under nuage, and both would double a large cost (the libvirt end
    to end tests' emulated boots, the permission matrix's worlds)."""
    first = databases.backends()[0]
    drop = [
        item
        for item in items
        if item.get_closest_marker("one_database")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url", first) != first  # type: ignore[attr-defined]
    ]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]


@pytest.fixture(params=databases.backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, template_db: Path
) -> Iterator[str]:
    """A fresh, migrated database for this test, on each backend of the suite."""
    if request.param == "sqlite":
        db = tmp_path / "nuage.db"
        shutil.copy(template_db, db)
        yield f"sqlite+aiosqlite:///{db}"
        return
    name = asyncio.run(databases.clone(request.getfixturevalue("pg_template")))
    # The last test's drop ran beside this clone; it ends before this test begins, since a drop
    # makes PostgreSQL checkpoint (flush every dirty page), which stalled a test's requests.
    databases.wait_for_drops()
    try:
        yield databases.database_url(name)
    finally:
        databases.drop_later(name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        sim_latency_ms=0,
        lease_seconds=5,
        poll_seconds=0.5,
        retry_base_seconds=0.02,
        retry_cap_seconds=0.2,
        # The suite's own traffic is not what it tests: tests/api/test_rate_limits.py turns the
        # limits on. Login attempts keep their defaults.
        rate_limit_per_minute=0,
    )


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """The API (over ASGI, no network) and the pieces to run workers beside it."""
    engine = engine_for(settings)
    notifier = make_notifier(settings)
    if isinstance(notifier, PostgresNotifier):
        await notifier.start()
    reader = reader_for(settings, engine)
    runtime = Runtime(settings, make_sessionmaker(engine, notifier), notifier, reader=reader)
    driver = SimDriver(SimSettings(state_dir=settings.sim_state_dir))
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        stack = Stack(runtime=runtime, notifier=notifier, driver=driver, client=client)
        try:
            yield stack
        finally:
            await stack.stop_workers()
            await driver.close()  # the simulator's consoles (RFB servers) in this event loop
            if isinstance(notifier, PostgresNotifier):
                await notifier.close()
            await reader.dispose()
            await engine.dispose()


@pytest.fixture
async def worker(stack: Stack, settings: Settings) -> Worker:
    """A running worker (in this event loop) on the simulated driver."""
    worker = Worker(stack.runtime.sessions, stack.driver, stack.notifier, worker_settings(settings))
    stack.start_worker(worker)
    return worker


@pytest.fixture
def tenants(stack: Stack) -> TenantFactory:
    return TenantFactory(stack)
