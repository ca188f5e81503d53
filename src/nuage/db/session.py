"""Engine and sessions. One engine per process; sessions are short and never span an await on I/O
other than the database (long polls end their transaction before they wait)."""

import asyncio
import contextvars
import functools
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_, greenlet_spawn

from nuage.config import Settings
from nuage.db.errors import is_unavailable, translate_db_errors
from nuage.db.notify import Notifier, session_info
from nuage.domain.errors import DatabaseUnavailable, WriteOutcomeUnknown

T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_async_engine(url, **kwargs)
        _ping_idle_connections(engine)
        _translate_socket_errors(engine)
    _tell_lost_commits(engine)  # after the errors' own translation, so it has the last word
    return engine


def make_reader(engine: AsyncEngine, *, pool_size: int, pool_timeout: float) -> AsyncEngine:
    """A second engine on `engine`'s database for single-statement reads (`read_once`):
    autocommit (no BEGIN/ROLLBACK round trips around the one SELECT), no pre-ping per checkout
    and no reset when a connection goes back to the pool (an autocommit connection has no
    transaction to end; on SQLite the reset is a trip to aiosqlite's thread). A dead connection
    fails the read, which its caller answers by taking the normal path (whose engine pings); on
    SQLite it also skips BEGIN IMMEDIATE, so a read never waits for the write lock.

    The pool has a fixed size and no overflow: a read beyond `pool_size` waits for a connection,
    which costs less than opening one for a burst and closing it when it is given back (an
    overflow connection is not kept; on SQLite each is a thread of aiosqlite's). That churn made
    the read's p99 ten times its p50 on PostgreSQL under 32 connections."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        reader = create_async_engine(
            url,
            connect_args={"timeout": 30},
            isolation_level="AUTOCOMMIT",
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_reset_on_return=None,
        )
        event.listen(reader.sync_engine, "connect", _on_sqlite_connect)
        return reader
    reader = create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_reset_on_return=None,
    )
    _translate_socket_errors(reader)
    return reader


async def read_once(reader: AsyncEngine, read: Callable[[Connection], T]) -> T:
    """`read` on one of `reader`'s connections: checked out, used and given back in one
    greenlet. Through `AsyncConnection` each of those steps spawns a greenlet of its own, which
    was a third of a one-statement read's CPU. `read` runs SQLAlchemy's synchronous API (each
    call into the driver is awaited for it), so engine events see its statements as usual."""
    return await greenlet_spawn(_on_a_connection, reader.sync_engine, read)


async def first_row_raw(
    reader: AsyncEngine, sql: str, values: Sequence[Any]
) -> tuple[Any, ...] | None:
    """The first row of `sql` (the driver's own SQL and positional `values`, for a statement of
    a row or a few) on one of `reader`'s connections, as the driver returns it: SQLAlchemy's
    pool, without its `Connection`, execution context and result metadata (built on every
    execution: a quarter of a one-statement read's CPU). On PostgreSQL through SQLAlchemy's
    adaptation of asyncpg's cursor (its prepared statements and error classes). On SQLite in the
    event loop's own thread (`_first_row_in_loop`), or, when that meets a lock, with one call of
    aiosqlite (one trip to its thread, where SQLAlchemy's cursor makes four), which waits for it.

    SQLAlchemy's engine events do not see the statement: it is told to `RAW_STATEMENTS`' listeners
    instead (what counts statements listens to both). A failure drops the connection (it is not
    known to be usable) and is raised as SQLAlchemy raises it (`DBAPIError`, `StatementError`)."""
    for listener in RAW_STATEMENTS:
        listener(sql)
    if reader.dialect.name == "sqlite":
        try:
            return _first_row_in_loop(reader.sync_engine, sql, values)
        except _Busy:
            pass  # read on aiosqlite's thread, which waits for the lock as every other read
    return await greenlet_spawn(_first_row_raw, reader.sync_engine, sql, values)


# Listeners told each statement `first_row_raw` sends (SQLAlchemy's events do not see them).
RAW_STATEMENTS: list[Callable[[str], None]] = []


class _Busy(Exception):
    """The in-loop read met a lock, or cannot open its database."""


# Each SQLite reader's plain connection for reads in the event loop's thread (`_loop_reader`).
_LOOP_READERS: "weakref.WeakKeyDictionary[Engine, sqlite3.Connection]" = weakref.WeakKeyDictionary()


def _first_row_in_loop(engine: Engine, sql: str, values: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row, read in the event loop's own thread on a plain sqlite3 connection: the
    statement takes microseconds, where the hand-off to aiosqlite's thread and back cost three
    times the read's CPU. A WAL database's readers never wait for its writer; the connection
    waits for no lock (busy timeout 0) and a read that meets one (a checkpoint, an exclusive
    lock) raises `_Busy`."""
    connection = _loop_reader(engine)
    if connection is None:
        raise _Busy()
    try:
        cursor = connection.execute(sql, values)
        found = cursor.fetchone()
        cursor.close()  # the statement's read transaction ends here
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise _Busy() from error
        _forget_loop_reader(engine)
        raise sa_exc.DBAPIError.instance(sql, values, error, sqlite3.Error) from error
    except sqlite3.Error as error:
        _forget_loop_reader(engine)
        raise sa_exc.DBAPIError.instance(sql, values, error, sqlite3.Error) from error
    return None if found is None else tuple(found)


def _loop_reader(engine: Engine) -> sqlite3.Connection | None:
    """`engine`'s connection for reads in the event loop, opened at its first read and closed
    when the engine is disposed; None for a database only a pooled connection can open (in
    memory, a URI)."""
    connection = _LOOP_READERS.get(engine)
    if connection is not None:
        return connection
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("uri"):
        return None
    connection = sqlite3.connect(database, timeout=0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")  # it only ever reads
    _LOOP_READERS[engine] = connection
    if not event.contains(engine, "engine_disposed", _forget_loop_reader):
        event.listen(engine, "engine_disposed", _forget_loop_reader)
    return connection


def _forget_loop_reader(engine: Engine) -> None:
    connection = _LOOP_READERS.pop(engine, None)
    if connection is not None:
        connection.close()


def _first_row_raw(engine: Engine, sql: str, values: Sequence[Any]) -> tuple[Any, ...] | None:
    connection = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            driver: Any = connection.driver_connection  # aiosqlite's
            rows = await_(driver.execute_fetchall(sql, values))
            found = next(iter(rows), None)
        else:
            cursor = connection.cursor()
            cursor.execute(sql, values)
            found = cursor.fetchone()
            cursor.close()
    except Exception as error:
        connection.invalidate(error)  # closed, and given back to the pool as a slot to refill
        raise sa_exc.DBAPIError.instance(
            sql, values, error, engine.dialect.loaded_dbapi.Error
        ) from error
    connection.close()  # back to the pool
    return None if found is None else tuple(found)


async def write_once(engine: AsyncEngine, write: Callable[[Connection], T]) -> T:
    """`read_once` for a write: `write` runs on a connection of `engine` and commits what it
    wrote (on an autocommit engine each statement is its own transaction); a connection given
    back without a commit is rolled back by the pool.

    On SQLite `write` runs whole on the process's one thread for such writes, on a connection of
    the standard `sqlite3` driver to the same file (`_SqliteWriter`): one hand-off for the
    transaction, where aiosqlite makes about three trips to its thread per statement (cursor,
    execute, fetch or close), each a queue put, a wake-up of the event loop and a future. The
    writers take turns on that thread before their BEGIN IMMEDIATE: SQLite has one writer at a
    time anyway, and a turn waited there costs nothing, where one waited in SQLite's busy handler
    sleeps in growing steps (up to 100 ms) between tries."""
    if engine.dialect.name != "sqlite":
        return await greenlet_spawn(_on_a_connection, engine.sync_engine, write)
    writer = _SQLITE_WRITERS.get(engine.sync_engine)
    if writer is None:
        writer = _SQLITE_WRITERS[engine.sync_engine] = _SqliteWriter(engine)
        if not event.contains(engine.sync_engine, "engine_disposed", _dispose_writer):
            event.listen(engine.sync_engine, "engine_disposed", _dispose_writer)
    return await writer.run(write)


class _SqliteWriter:
    """A synchronous engine on an SQLite engine's file, configured as it is (the same pragmas,
    BEGIN IMMEDIATE, lost commits told), with one connection used by one thread. Engine events
    see its statements as they see any engine's. Closed when the engine it writes for is
    disposed."""

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url.set(drivername="sqlite+pysqlite")
        self.engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=1,
            max_overflow=0,
        )
        _configure_sqlite(self.engine)
        _tell_lost_commits(self.engine)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nuage-sqlite-writer")

    async def run(self, write: Callable[[Connection], T]) -> T:
        context = contextvars.copy_context()
        call = functools.partial(context.run, _on_a_connection, self.engine, write)
        return await asyncio.get_running_loop().run_in_executor(self.thread, call)

    def close(self) -> None:
        self.thread.submit(self.engine.dispose).result()
        self.thread.shutdown()


_SQLITE_WRITERS: "weakref.WeakKeyDictionary[Engine, _SqliteWriter]" = weakref.WeakKeyDictionary()


def _dispose_writer(engine: Engine) -> None:
    # An engine may be used again after a dispose: its next write makes a new writer.
    writer = _SQLITE_WRITERS.pop(engine, None)
    if writer is not None:
        writer.close()


def _on_a_connection(engine: Engine, read: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return read(conn)


def engine_for(settings: Settings) -> AsyncEngine:
    """The engine with the pool sizes of the settings (SQLite: one writer anyway)."""
    if settings.database_url.startswith("sqlite"):
        return make_engine(settings.database_url)
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )


def reader_for(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """`make_reader` on `engine` with the pool size and timeout of the settings."""
    return make_reader(
        engine, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout
    )


def _configure_sqlite(engine: AsyncEngine | Engine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue on the lock (busy timeout)
    instead of failing when a read transaction later tries to write."""
    sync = _sync(engine)
    event.listen(sync, "connect", _on_sqlite_connect)

    @event.listens_for(sync, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sync(engine: AsyncEngine | Engine) -> Engine:
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A connection given back to the pool less than this long ago is used without a ping.
IDLE_BEFORE_PING_SECONDS = 1.0
_CHECKED_IN_AT = "nuage.checked_in_at"  # in a pooled connection's `info` (cleared when replaced)


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """The pool's pre-ping, only for a connection that sat idle in the pool: a database restarted
    or a connection closed meanwhile is then met at checkout, and the pool replaces its
    connections as the pre-ping does. SQLAlchemy's pre-ping on asyncpg is three round trips
    (BEGIN, the ping, ROLLBACK) on every checkout, as many as the statements of a short
    transaction. A connection back from its last use moments ago is used as it is: if it died
    meanwhile, its first statement fails as an unavailable database (the pool then replaces
    every connection older than the failure), which callers already answer: the API with a 503,
    the worker by backing off, or by leaving its task's lease to expire and be taken over."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)  # None: a new connection
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa_exc.InvalidatePoolError() from error


def _translate_socket_errors(engine: AsyncEngine) -> None:
    """asyncpg reports a refused, reset or timed-out connection to the server as a bare `OSError`
    (`ConnectionRefusedError`, `TimeoutError`...), which SQLAlchemy passes through unwrapped.
    Here, and only here, such an error is known to be the database's: say so."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:
            raise DatabaseUnavailable() from error

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        if isinstance(context.original_exception, OSError):
            context.is_disconnect = True  # the pool drops the connection
            return DatabaseUnavailable()
        return None


_WRITES = "nuage.writes"  # in a connection's `info`: "wrote", then "committing" once COMMIT is sent


def _tell_lost_commits(engine: AsyncEngine | Engine) -> None:
    """A connection lost once a transaction that wrote has sent its COMMIT may have lost it after
    the database made the change: that failure is `WriteOutcomeUnknown` ("it may have been
    made"), never the `DatabaseUnavailable` that promises nothing was changed. Here, for every
    transaction of every caller. A transaction that only read has nothing to be unsure of, and a
    failure that says the transaction was refused (a constraint, a conflict) is left as it is."""
    sync = _sync(engine)

    @event.listens_for(sync, "begin")
    @event.listens_for(sync, "rollback")
    def _clean(conn: Connection) -> None:
        # An invalidated connection (lost mid-transaction) has no `info` to read until it is
        # rolled back, which is this event: reading it would hide the loss behind an error of
        # SQLAlchemy's. Its pooled connection is gone, and its `info` with it.
        if not conn.invalidated:
            conn.info.pop(_WRITES, None)

    @event.listens_for(sync, "before_cursor_execute")
    def _on_statement(conn: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        # Anything but a SELECT may write. (SQLite's BEGIN IMMEDIATE is sent inside the "begin"
        # event, before `_clean`, which is registered after it.)
        if not statement.startswith(("SELECT", "select")):
            conn.info[_WRITES] = "wrote"

    @event.listens_for(sync, "commit")
    def _on_commit(conn: Connection) -> None:
        if conn.info.get(_WRITES) == "wrote":
            conn.info[_WRITES] = "committing"

    @event.listens_for(sync, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        conn = context.connection
        if conn is None or conn.info.get(_WRITES) != "committing":
            return None
        # What an earlier handler made of it (set only once one has), and SQLAlchemy's wrapper.
        raised = (getattr(context, "chained_exception", None), context.sqlalchemy_exception)
        if context.is_disconnect or any(e is not None and is_unavailable(e) for e in raised):
            context.is_disconnect = True  # the pool drops the connection
            return WriteOutcomeUnknown()
        return None


def make_sessionmaker(
    engine: AsyncEngine, notifier: Notifier | None = None
) -> async_sessionmaker[AsyncSession]:
    info = session_info(notifier) if notifier is not None else {}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed on success; database loss → DatabaseUnavailable."""
    async with translate_db_errors(), factory() as session, session.begin():
        yield session


@asynccontextmanager
async def reading(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for a read of one statement, whose answer is as good outside a transaction as
    in one: on PostgreSQL its statements run in autocommit (one round trip each, where a
    transaction adds a BEGIN and a COMMIT around it); on SQLite, `transaction`. Database loss →
    DatabaseUnavailable. A session that writes needs `transaction`."""
    if factory.kw["bind"].dialect.name == "sqlite":
        async with transaction(factory) as session:
            yield session
        return
    async with translate_db_errors(), factory() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
