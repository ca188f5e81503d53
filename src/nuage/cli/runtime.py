"""Composition root: settings → database, notifier, driver, API app and worker for one process."""

import asyncio
import contextlib
import functools
import gc
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from nuage import logs
from nuage.api import metrics
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.errors import translate_db_errors
from nuage.db.migrate import current_revision, head_revision, upgrade
from nuage.db.notify import LocalNotifier
from nuage.db.pg_notify import PostgresNotifier
from nuage.db.session import engine_for, make_sessionmaker, reader_for, transaction
from nuage.domain import observers
from nuage.domain.drivers import HostCheck
from nuage.domain.errors import DatabaseNotReady, DatabaseUnavailable
from nuage.domain.retry import BackoffPolicy
from nuage.drivers.registry import check_host
from nuage.engine.hosts import Drivers
from nuage.engine.webhook_sender import SenderSettings
from nuage.engine.worker import Worker, WorkerSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Process:
    engine: AsyncEngine
    runtime: Runtime
    notifier: LocalNotifier


def make_drivers(settings: Settings) -> Drivers:
    """A driver per host, built by the driver registry from the host's driver name, its
    configuration and its secret reference (`nuage.drivers.registry`)."""
    return Drivers.from_registry(settings)


def make_worker(process: Process, drivers: Drivers) -> Worker:
    settings = process.runtime.settings
    return Worker(
        process.runtime.sessions,
        drivers,
        process.notifier,
        WorkerSettings(
            concurrency=settings.worker_concurrency,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.poll_seconds,
            backoff=BackoffPolicy(settings.retry_base_seconds, settings.retry_cap_seconds),
            backup_retention=settings.backup_retention,
            console=settings.console,
            drift_sweep_seconds=settings.drift_sweep_seconds,
            events_retention_seconds=settings.events_retention_seconds,
            stop_grace_seconds=settings.stop_grace_seconds,
            tasks_retention_seconds=settings.tasks_retention_seconds,
            audit_retention_days=settings.audit_retention_days,
            webhooks=SenderSettings(
                policy=settings.webhook_policy,
                concurrency=settings.webhook_concurrency,
                allow_private=settings.webhooks_allow_private,
                poll_seconds=settings.poll_seconds,
                log_retention_seconds=settings.webhook_log_retention_seconds,
            ),
        ),
    )


def database_location(settings: Settings) -> str:
    """Where the database is, for messages: the SQLite file, or the URL without its password."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def _not_ready(settings: Settings, problem: str) -> DatabaseNotReady:
    return DatabaseNotReady(
        f"{problem} (data directory: {settings.data_dir}). Run `nuage db upgrade` with the same "
        "NUAGE_DATA_DIR and NUAGE_DATABASE_URL first."
    )


def _require_sqlite_file(settings: Settings) -> None:
    """Opening a missing SQLite file would create it: a command that only reads must not."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if not Path(str(url.database)).exists():
        raise _not_ready(settings, f"No database at {url.database}")


async def _require_schema(settings: Settings, engine: AsyncEngine) -> None:
    try:
        async with translate_db_errors():
            current = await current_revision(engine)
    except DatabaseUnavailable:
        return  # unreachable is not unset: the process starts and meets it as it always did
    head = head_revision()
    if current is None:
        raise _not_ready(settings, f"The database {database_location(settings)} is not set up")
    if current != head:
        raise _not_ready(
            settings,
            f"The database {database_location(settings)} is at revision {current}; "
            f"this version of nuage needs {head}",
        )


@contextlib.asynccontextmanager
async def open_process(settings: Settings, *, migrating: bool = False) -> AsyncIterator[Process]:
    """A process's engine and runtime; unless it is the migration itself, only on a database
    at this code's schema (else a clear error, and nothing written)."""
    if migrating:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    else:
        _require_sqlite_file(settings)
    engine = engine_for(settings)
    if not migrating:
        try:
            await _require_schema(settings, engine)
        except BaseException:
            await engine.dispose()
            raise
    notifier = make_notifier(settings)
    reader = reader_for(settings, engine)
    runtime = Runtime(
        settings,
        make_sessionmaker(engine, notifier),
        notifier,
        host_check=host_check(settings),
        reader=reader,
    )
    if isinstance(notifier, PostgresNotifier):
        await notifier.start()
    try:
        yield Process(engine, runtime, notifier)
    finally:
        if isinstance(notifier, PostgresNotifier):
            await notifier.close()
        await reader.dispose()
        await engine.dispose()


def host_check(settings: Settings) -> HostCheck:
    """Hosts are tried by their driver before they are registered (API and CLI alike)."""
    return functools.partial(check_host, settings)


def make_notifier(settings: Settings) -> LocalNotifier:
    """One process: in-memory wake-ups. PostgreSQL: LISTEN/NOTIFY across processes."""
    if settings.database_url.startswith("postgresql"):
        return PostgresNotifier(settings.database_url)
    return LocalNotifier()


async def run_in_session(settings: Settings, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in one transaction of a short-lived process (the CLI's commands)."""
    async with open_process(settings) as process, transaction(process.runtime.sessions) as session:
        return await use_case(session)


async def migrate(settings: Settings) -> tuple[str | None, str | None]:
    """Upgrade to the latest schema; the revisions before and after (None: an empty database)."""
    async with open_process(settings, migrating=True) as process:
        before = await current_revision(process.engine)
        await upgrade(process.engine)
        return before, await current_revision(process.engine)


async def work(settings: Settings) -> None:
    """A worker alone. Its counters reach a scrape through the multiprocess directory it shares
    with `nuage serve` on this machine (PROMETHEUS_MULTIPROC_DIR, docs/operations.md)."""
    observers.subscribe(metrics.record)
    async with open_process(settings) as process:
        drivers = make_drivers(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker = make_worker(process, drivers)
        freeze_startup_heap()
        try:
            await worker.run(stop)
        finally:
            await drivers.close()


def freeze_startup_heap() -> None:
    """Called once the app or the worker is built. What startup made (modules, the app and its
    routes, the models' schemas, SQLAlchemy's metadata) lives as long as the process: frozen, it
    leaves the collector's generations, so a full collection scans only what requests or tasks
    make and its pauses stay out of the tail latency (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def configure_logging(log_format: str = "json") -> None:
    logs.configure(log_format)
