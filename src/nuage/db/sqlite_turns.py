"""SQLite's writers of one process take turns, first come first served, before their BEGIN
IMMEDIATE.

SQLite has one writer at a time. A writer that finds the lock taken waits in SQLite's busy
handler, which sleeps and tries again in growing steps (up to 100 ms) and keeps no order among
those waiting: a request's transaction could lose to the worker's and the webhook sender's,
try after try. Waited here instead, a turn is given to the writer that asked first, as soon as
the one before it ends its transaction.

Every transaction of the engine's pooled connections takes a turn at its BEGIN (`configure`),
the API's request sessions as much as the worker's, and gives it back at its COMMIT or ROLLBACK,
or, whatever happened, when its connection goes back to the pool or is dropped;
`db.session.write_once` takes one around its hand-off to the writer thread (`held`). Writers of
other processes still meet in the busy handler.

A writer waits at most the busy timeout for its turn, and then fails as SQLite would have:
"database is locked".
"""

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from nuage.db.engine_state import EngineState

BUSY_TIMEOUT_SECONDS = 30.0  # SQLite's own busy timeout (sqlite_side.on_connect), and a turn's


class Turns:
    """The turns of the writers to one engine's database, in each event loop of the process, and
    which of the engine's DBAPI connections holds one."""

    def __init__(self) -> None:
        self._of_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._held_by: dict[object, tuple[asyncio.Lock, asyncio.AbstractEventLoop]] = {}

    async def take(self) -> asyncio.Lock:
        """Wait for this loop's turn (at most the busy timeout), and hold it."""
        loop = asyncio.get_running_loop()
        lock = self._of_loop.get(loop)
        if lock is None:
            lock = self._of_loop[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(BUSY_TIMEOUT_SECONDS):
                await lock.acquire()
        except TimeoutError:
            raise sa_exc.OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError("database is locked (no write turn in time)"),
            ) from None
        return lock

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        lock = await self.take()
        try:
            yield
        finally:
            lock.release()

    def take_for(self, dbapi_connection: object) -> None:
        lock = await_(self.take())
        self._held_by[dbapi_connection] = (lock, asyncio.get_running_loop())

    def give_back(self, dbapi_connection: object) -> None:
        """The turn `dbapi_connection` holds, if it holds one. From another thread (the garbage
        collector's clean-up of a connection runs where the collection happened) through the
        turn's event loop, as an `asyncio.Lock` is not thread-safe."""
        held = self._held_by.pop(dbapi_connection, None)
        if held is None:
            return
        lock, loop = held
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            lock.release()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(lock.release)


_TURNS: EngineState[Turns] = EngineState("sqlite_turns")


def turns_of(engine: Engine) -> Turns:
    return _TURNS.get_or_make(engine, Turns)


def configure(engine: Engine) -> None:
    """Each transaction on `engine` (an async engine's synchronous face) takes a turn at its
    BEGIN, and gives it back once its COMMIT or ROLLBACK has ended. Configured before
    `sqlite_side.configure`, whose listener of the BEGIN sends the BEGIN IMMEDIATE: the engine's
    listeners of an event run in the order they were added.

    The engine's events are all told before the COMMIT or ROLLBACK is sent, so the end is heard
    where it happens, in the dialect's `do_commit` and `do_rollback` (the pool's rollback of a
    connection given back goes through the latter too), wrapped for this engine's dialect alone.
    The pool's events give the turn back whatever else ends a connection's use, but for a soft
    invalidation: after one, the connection's transaction goes on, still holding SQLite's lock,
    and its COMMIT or ROLLBACK gives the turn back as any other does."""
    turns = turns_of(engine)

    def take(conn: Connection) -> None:
        if in_greenlet():  # else a synchronous use outside the event loop: nothing to wait in
            turns.take_for(conn.connection.dbapi_connection)

    event.listen(engine, "begin", take)
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        setattr(dialect, name, _then_give_back(getattr(dialect, name), turns))

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    @event.listens_for(engine, "close")
    @event.listens_for(engine, "close_detached")  # a connection lost, closed by the collector
    def _dropped(dbapi_connection: Any, *_: Any) -> None:
        turns.give_back(dbapi_connection)


def _then_give_back(end: Callable[[Any], None], turns: Turns) -> Callable[[Any], None]:
    def ended(connection: Any) -> None:  # the pool's proxy of a DBAPI connection
        try:
            end(connection)
        finally:
            turns.give_back(connection.dbapi_connection)

    return ended
