"""Engine and sessions. One engine per process; sessions are short and never span an await on I/O
other than the database (long polls end their transaction before they wait)."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NoReturn, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_, greenlet_spawn

from nuage.config import Settings
from nuage.db import driver_sql, sqlite_side, sqlite_turns
from nuage.db.driver_sql import RAW_STATEMENTS
from nuage.db.engine_state import EngineState
from nuage.db.errors import as_unavailable, translate_db_errors
from nuage.db.json_columns import decode_json
from nuage.db.lost_commits import tell_lost_commits
from nuage.db.notify import Notifier, session_info
from nuage.domain.errors import DatabaseUnavailable

T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_turns.BUSY_TIMEOUT_SECONDS},
            json_deserializer=decode_json,
            **kwargs,
        )
        sqlite_turns.configure(engine.sync_engine)  # first: its turn, then the BEGIN IMMEDIATE
        sqlite_side.configure(engine.sync_engine)
    else:
        engine = create_async_engine(url, json_deserializer=decode_json, **kwargs)
        _ping_idle_connections(engine)
        _translate_socket_errors(engine)
    tell_lost_commits(engine.sync_engine)  # after the errors' own translation: the last word
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
            connect_args={"timeout": sqlite_turns.BUSY_TIMEOUT_SECONDS},
            json_deserializer=decode_json,
            isolation_level="AUTOCOMMIT",
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_reset_on_return=None,
        )
        event.listen(reader.sync_engine, "connect", sqlite_side.on_connect)
        return reader
    reader = create_async_engine(
        url,
        json_deserializer=decode_json,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_reset_on_return=None,
    )
    _translate_socket_errors(reader)
    _TURNS.set(reader.sync_engine, (asyncio.Semaphore(pool_size), pool_timeout))
    return reader


# PostgreSQL readers' turns: a read waits for a connection in the order it came. The pool's own
# wait is not a queue: a connection given back goes to whichever read asks next, often one that
# just arrived, while the read that waited longest waits on. With 32 clients on a pool of 10 that
# made one process's p99 four times its p50 (docs/benchmarks.md, "Issue 11, sixth session").
_TURNS: EngineState[tuple[asyncio.Semaphore, float]] = EngineState("reader_turns")


@asynccontextmanager
async def _turn(reader: AsyncEngine) -> AsyncIterator[None]:
    """Hold one of `reader`'s connections' turns (first come, first served), for as long as the
    pool's timeout lets a read wait for one."""
    turn = _TURNS.get(reader.sync_engine)
    if turn is None:  # SQLite: reads in the loop's thread, or on aiosqlite's, which queues
        yield
        return
    turns, timeout = turn
    if turns.locked():
        try:
            async with asyncio.timeout(timeout):
                await turns.acquire()
        except TimeoutError as error:
            raise sa_exc.TimeoutError(f"No reader connection within {timeout} s") from error
    else:
        await turns.acquire()
    try:
        yield
    finally:
        turns.release()


async def read_once(reader: AsyncEngine, read: Callable[[Connection], T]) -> T:
    """`read` on one of `reader`'s connections: checked out, used and given back in one
    greenlet. Through `AsyncConnection` each of those steps spawns a greenlet of its own, which
    was a third of a one-statement read's CPU. `read` runs SQLAlchemy's synchronous API (each
    call into the driver is awaited for it), so engine events see its statements as usual."""
    async with _turn(reader):
        return await greenlet_spawn(_on_a_connection, reader.sync_engine, read)


async def first_row_raw(
    reader: AsyncEngine, sql: str, values: Sequence[Any]
) -> tuple[Any, ...] | None:
    """The first row of `sql` (the driver's own SQL and positional `values`, for a statement of
    a row or a few) on one of `reader`'s connections, as the driver returns it: SQLAlchemy's
    pool, without its `Connection`, execution context and result metadata (built on every
    execution: a quarter of a one-statement read's CPU). On PostgreSQL through SQLAlchemy's
    adaptation of asyncpg's cursor (its prepared statements and error classes). On SQLite in the
    event loop's own thread (`sqlite_side.first_row_in_loop`), or, when that meets a lock, with
    one call of aiosqlite (one trip to its thread, where SQLAlchemy's cursor makes four), which
    waits for it.

    SQLAlchemy's engine events do not see the statement: it is told to `RAW_STATEMENTS`' listeners
    instead (what counts statements listens to both). A failure drops the connection (it is not
    known to be usable) and is raised as SQLAlchemy raises it (`DBAPIError`, `StatementError`)."""
    for listener in RAW_STATEMENTS:
        listener(sql, values)
    if reader.dialect.name == "sqlite":
        try:
            return sqlite_side.first_row_in_loop(reader.sync_engine, sql, values)
        except sqlite_side.Busy:
            pass  # read on aiosqlite's thread, which waits for the lock as every other read
    async with _turn(reader):
        return await greenlet_spawn(_first_row_raw, reader.sync_engine, sql, values)


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
    the standard `sqlite3` driver to the same file (`sqlite_side.Writer`): one hand-off for the
    transaction, where aiosqlite makes about three trips to its thread per statement (cursor,
    execute, fetch or close), each a queue put, a wake-up of the event loop and a future. It
    waits for its turn among the process's writers first (`db.sqlite_turns`)."""
    if engine.dialect.name != "sqlite":
        return await greenlet_spawn(_on_a_connection, engine.sync_engine, write)
    writer = sqlite_side.WRITERS.get(engine.sync_engine)
    assert writer is not None  # every SQLite engine can have one
    return await writer.run(write)


def _on_a_connection(engine: Engine, use: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return use(conn)


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


def make_sessionmaker(
    engine: AsyncEngine, notifier: Notifier | None = None
) -> async_sessionmaker[AsyncSession]:
    info = session_info(notifier) if notifier is not None else {}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AbstractAsyncContextManager[AsyncSession]:
    """A session in one transaction, committed on success; database loss → DatabaseUnavailable."""
    if factory.kw["bind"].dialect.name == "sqlite":
        return _transaction_of_contexts(factory)
    return _Transaction(factory)


@asynccontextmanager
async def _transaction_of_contexts(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with translate_db_errors(), factory() as session, session.begin():
        yield session


class _Transaction:
    """`transaction` on PostgreSQL: what `async with factory() as session, session.begin()` does,
    in two greenlets where those contexts take four, and a task of its own for the close (about
    0.15 ms of CPU of a transaction's 0.5). Begun, the session holds its connection (no I/O
    but the pool's checkout) and `driver_sql` knows it; committed, it is closed in the same
    greenlet. A failure, in the body or the commit, ends as those contexts end it: the
    transaction's own exit, then the session closed to completion even if the caller is
    cancelled meanwhile."""

    __slots__ = ("_autocommit", "_begun", "_factory", "_session")

    def __init__(self, factory: async_sessionmaker[AsyncSession], *, autocommit: bool = False):
        self._factory = factory
        self._autocommit = autocommit  # `reading`'s: no transaction to begin or commit
        self._begun: SessionTransaction | None = None

    async def __aenter__(self) -> AsyncSession:
        session = self._session = self._factory()
        begin = _autocommit if self._autocommit else _begin
        try:
            self._begun = await greenlet_spawn(begin, session.sync_session)
        except BaseException as error:
            await _closed(session)
            _raise_translated(error)
        return session

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> bool:
        session = self._session
        try:
            if error is None:
                await greenlet_spawn(_commit_and_close, self._begun, session.sync_session)
                return False
            if self._begun is not None:
                await greenlet_spawn(self._begun.__exit__, kind, error, tb)
        except BaseException as failed:
            await _closed(session)
            _raise_translated(failed)
        await _closed(session)
        unavailable = as_unavailable(error)
        if unavailable is not None:
            raise unavailable from error
        return False


def _begin(session: Session) -> SessionTransaction:
    begun = session.begin()
    begun.__enter__()
    driver_sql.remember_connection(session, session.connection())
    return begun


def _autocommit(session: Session) -> None:
    connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    driver_sql.remember_connection(session, connection)


def _commit_and_close(begun: SessionTransaction | None, session: Session) -> None:
    if begun is not None:
        begun.__exit__(None, None, None)
    session.close()


async def _closed(session: AsyncSession) -> None:
    """`session` closed, even if the caller is cancelled meanwhile (then cancelled once it is), as
    `AsyncSession`'s own context closes it: a close cut short would give its connection back to
    the pool later, or never."""
    closing = asyncio.ensure_future(session.close())
    cancelled: asyncio.CancelledError | None = None
    while not closing.done():
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError as error:
            cancelled = error
    closing.result()
    if cancelled is not None:
        raise cancelled


def _raise_translated(error: BaseException) -> NoReturn:
    unavailable = as_unavailable(error)
    if unavailable is not None:
        raise unavailable from error
    raise error


def reading(
    factory: async_sessionmaker[AsyncSession],
) -> AbstractAsyncContextManager[AsyncSession]:
    """A session for a read of one statement, whose answer is as good outside a transaction as
    in one: on PostgreSQL its statements run in autocommit (one round trip each, where a
    transaction adds a BEGIN and a COMMIT around it); on SQLite, `transaction`. Database loss →
    DatabaseUnavailable. A session that writes needs `transaction`."""
    if factory.kw["bind"].dialect.name == "sqlite":
        return _transaction_of_contexts(factory)
    return _Transaction(factory, autocommit=True)
