"""Cross-process wake-ups on PostgreSQL: LISTEN/NOTIFY behind the same interface as LocalNotifier.

Commits send `pg_notify('nuage_events', <channel>)` from inside the transaction, so PostgreSQL
delivers them only if it commits. Every process keeps one listening connection and turns each
notification into a local wake-up. While that connection is down, nothing is lost for good: the
worker still polls slowly and long polls re-read every few seconds; on reconnect every waiter is
woken to re-read.
"""

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from nuage.db.notify import PG_CHANNEL, LocalNotifier

log = logging.getLogger("nuage.notify")


# Options of SQLAlchemy's asyncpg adapter, which it takes out before it calls `asyncpg.connect`.
_ADAPTER_OPTIONS = (
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
    "async_creator_fn",
)


def connect_arguments(database_url: str) -> dict[str, Any]:
    """The arguments of `asyncpg.connect` for the database URL (nuage's PostgreSQL driver is
    asyncpg), as SQLAlchemy's engine passes them: its dialect reads the URL (`?ssl=`, several
    hosts, ports, an encoded password), and its adapter's own options, which `asyncpg.connect`
    does not take, are left out. (A DSN built from the URL, as before, carried them to the
    server as settings, which it refused: the listener never connected.)"""
    url = make_url(database_url).set(drivername="postgresql+asyncpg")
    _args, arguments = url.get_dialect()().create_connect_args(url)
    return {name: value for name, value in arguments.items() if name not in _ADAPTER_OPTIONS}


LISTENER_NAME = "nuage-listener"


class PostgresNotifier(LocalNotifier):
    def __init__(self, database_url: str, *, reconnect_seconds: float = 1.0) -> None:
        super().__init__()
        self._connect = connect_arguments(database_url)
        self._reconnect = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.connected.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.publish([payload])

    async def _listen_forever(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(**self._connect)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("LISTEN connection failed (%s); retrying", error)
                await asyncio.sleep(self._reconnect)
                continue
            try:
                await conn.add_listener(PG_CHANNEL, self._on_notification)
                # Named once it listens, so that operators (and tests) can see who hears wake-ups.
                await conn.execute(f"SET application_name = '{LISTENER_NAME}'")
                self.connected.set()
                self.publish(self.subscribed_channels())  # re-read whatever was missed
                while not conn.is_closed():
                    await asyncio.sleep(self._reconnect)
                    await conn.execute("SELECT 1")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("LISTEN connection lost (%s); reconnecting", error)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
