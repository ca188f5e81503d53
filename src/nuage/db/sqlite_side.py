"""SQLite's configuration, and the two connections an SQLite engine keeps beside its pool: the
in-loop reader of `db.session.first_row_raw` and the writer thread of `db.session.write_once`.
Each is opened at its first use and closed when its engine is disposed (`Companions`)."""

import asyncio
import contextvars
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from nuage.db import sqlite_turns
from nuage.db.engine_state import EngineState
from nuage.db.lost_commits import tell_lost_commits

T = TypeVar("T")
C = TypeVar("C")


def configure(engine: Engine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue on the lock (their turns,
    `db.sqlite_turns`, then the busy timeout) instead of failing when a read transaction later
    tries to write."""
    event.listen(engine, "connect", on_connect)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(sqlite_turns.BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.close()


class Companions(Generic[C]):
    """One `C` per engine, made by `make` at its first use (None: this engine cannot have one)
    and closed by `close` when the engine is disposed. An engine used again after a dispose makes
    a new one."""

    def __init__(
        self, name: str, make: Callable[[Engine], C | None], close: Callable[[C], None]
    ) -> None:
        self._make = make
        self._close = close
        self._of: EngineState[C] = EngineState(name)
        self._on_dispose = self.forget  # one object, so that the listener is found again

    def get(self, engine: Engine) -> C | None:
        found = self._of.get(engine)
        if found is None:
            found = self._make(engine)
            if found is None:
                return None
            self._of.set(engine, found)
            if not event.contains(engine, "engine_disposed", self._on_dispose):
                event.listen(engine, "engine_disposed", self._on_dispose)
        return found

    def forget(self, engine: Engine) -> None:
        found = self._of.pop(engine)
        if found is not None:
            self._close(found)

    def __contains__(self, engine: Engine) -> bool:
        return self._of.get(engine) is not None


class Busy(Exception):
    """The in-loop read met a lock, or cannot open its database."""


def _open_loop_reader(engine: Engine) -> sqlite3.Connection | None:
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("uri"):
        return None  # a database only a pooled connection can open
    connection = sqlite3.connect(database, timeout=0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")  # it only ever reads
    return connection


# Each SQLite reader's plain connection for reads in the event loop's thread.
LOOP_READERS: Companions[sqlite3.Connection] = Companions(
    "sqlite_loop_reader", _open_loop_reader, sqlite3.Connection.close
)


def first_row_in_loop(engine: Engine, sql: str, values: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row, read in the event loop's own thread on a plain sqlite3 connection: the
    statement takes microseconds, where the hand-off to aiosqlite's thread and back cost three
    times the read's CPU. A WAL database's readers never wait for its writer; the connection
    waits for no lock (busy timeout 0) and a read that meets one (a checkpoint, an exclusive
    lock) raises `Busy`."""
    connection = LOOP_READERS.get(engine)
    if connection is None:
        raise Busy()
    try:
        cursor = connection.execute(sql, values)
        found = cursor.fetchone()
        cursor.close()  # the statement's read transaction ends here
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise Busy() from error
        LOOP_READERS.forget(engine)
        raise sa_exc.DBAPIError.instance(sql, values, error, sqlite3.Error) from error
    except sqlite3.Error as error:
        LOOP_READERS.forget(engine)
        raise sa_exc.DBAPIError.instance(sql, values, error, sqlite3.Error) from error
    return None if found is None else tuple(found)


class Writer:
    """A synchronous engine on an SQLite engine's file, configured as it is (the same pragmas,
    BEGIN IMMEDIATE, lost commits told), with one connection used by one thread. Engine events
    see its statements as they see any engine's. A write waits for its turn among the writers
    of `engine` (`db.sqlite_turns`) before it is handed to the thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = create_engine(
            engine.url.set(drivername="sqlite+pysqlite"),
            connect_args={
                "timeout": sqlite_turns.BUSY_TIMEOUT_SECONDS,
                "check_same_thread": False,
            },
            pool_size=1,
            max_overflow=0,
        )
        configure(self.engine)
        tell_lost_commits(self.engine)
        self.turns = sqlite_turns.turns_of(engine)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nuage-sqlite-writer")

    async def run(self, write: Callable[[Connection], T]) -> T:
        context = contextvars.copy_context()
        call = functools.partial(context.run, self._on_its_connection, write)
        async with self.turns.held():
            return await asyncio.get_running_loop().run_in_executor(self.thread, call)

    def _on_its_connection(self, write: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return write(conn)

    def close(self) -> None:
        self.thread.submit(self.engine.dispose).result()
        self.thread.shutdown()


WRITERS: Companions[Writer] = Companions("sqlite_writer", Writer, Writer.close)
