"""A project's event stream (`GET P/events`): the outbox's events after an id, then each new one
as it commits, with heartbeats; for as long as the caller may still read the project.

Nothing is held while the stream is idle: each read, and each check of the caller's access
(every ACCESS_RECHECK_SECONDS, so a revoked key's stream ends within seconds), is a short
transaction of its own; between them the stream waits on the notifier's `EVENTS` channel.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.db.errors import translate_db_errors
from nuage.db.notify import Notifier
from nuage.db.session import transaction
from nuage.domain.errors import (
    AuthenticationFailed,
    DatabaseUnavailable,
    NotFound,
    PermissionDenied,
)
from nuage.services import events
from nuage.services.access import ProjectAccess, project_access
from nuage.services.events import EventFilters, EventRow
from nuage.services.principals import authenticate

T = TypeVar("T")
BATCH = 500
ACCESS_RECHECK_SECONDS = 2.0
RESYNC_REASON = (
    "Events after the id you gave were removed by the retention: read the objects you follow "
    "again, then carry on from here."
)


@dataclass(frozen=True, slots=True)
class Resync:
    """The stream resumed after events that are gone; it goes on from `oldest_id`."""

    oldest_id: int
    reason: str = RESYNC_REASON


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pass


@dataclass(frozen=True, slots=True)
class Closed:
    """Why the stream ends (the caller's access is gone, or the database is)."""

    code: str
    detail: str


StreamItem = EventRow | Resync | Heartbeat | Closed


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the caller authenticated with, checked again while the stream is open."""

    authorization: str | None
    secret: str
    accepted: tuple[str, ...] = ()  # earlier signing keys (services/security.py)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
    heartbeat_seconds: float


async def open_stream(
    session: AsyncSession,
    access: ProjectAccess,
    filters: EventFilters,
    *,
    last_event_id: int | None,
    credentials: Credentials,
    options: StreamOptions,
) -> AsyncIterator[StreamItem]:
    """The project's stream after `last_event_id` (None: from now on). Ends the request's
    transaction, so that the open stream holds no connection."""
    resync = None
    if last_event_id is None:
        after = await events.last_id(session)
    elif last_event_id < await events.pruned_through(session):
        resync = Resync(await events.oldest_kept(session))
        after = resync.oldest_id - 1
    else:
        after = last_event_id
    await session.commit()
    follower = _Follower(access, filters, credentials, options)
    return follower.follow(after, resync)


class _Follower:
    def __init__(
        self,
        access: ProjectAccess,
        filters: EventFilters,
        credentials: Credentials,
        options: StreamOptions,
    ) -> None:
        self.organization_id: UUID = access.organization.id
        self.project_id: UUID = access.project.id
        self.filters = filters
        self.credentials = credentials
        self.options = options

    async def follow(self, after: int, resync: Resync | None) -> AsyncIterator[StreamItem]:
        if resync is not None:
            yield resync
        clock = asyncio.get_running_loop().time
        next_beat = clock() + self.options.heartbeat_seconds
        next_check = clock() + ACCESS_RECHECK_SECONDS
        with events.new_events(self.options.notifier) as woken:
            while True:
                woken.clear()
                try:
                    rows = await self._read(after)
                except DatabaseUnavailable as error:
                    yield Closed(error.code, error.message)
                    return
                for row in rows:
                    yield row
                    after = row.id
                if rows:
                    next_beat = clock() + self.options.heartbeat_seconds
                if len(rows) == BATCH:
                    continue
                if clock() >= next_check:
                    closed = await self._closed()
                    if closed is not None:
                        yield closed
                        return
                    next_check = clock() + ACCESS_RECHECK_SECONDS
                if clock() >= next_beat:
                    yield Heartbeat()
                    next_beat = clock() + self.options.heartbeat_seconds
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, min(next_beat, next_check) - clock())):
                        await woken.wait()

    async def _read(self, after: int) -> list[EventRow]:
        return await _to_the_end(self._read_once(after))

    async def _read_once(self, after: int) -> list[EventRow]:
        async with transaction(self.options.sessions) as session:
            return await events.events_after(
                session,
                after_id=after,
                limit=BATCH,
                project_id=self.project_id,
                filters=self.filters,
            )

    async def _closed(self) -> Closed | None:
        return await _to_the_end(self._check_access())

    async def _check_access(self) -> Closed | None:
        """None while the caller may still read the project; else why not."""
        try:  # `authenticate` commits (a key's last use): a session without `transaction`
            async with translate_db_errors(), self.options.sessions() as session:
                principal = await authenticate(
                    session,
                    self.credentials.authorization,
                    secret=self.credentials.secret,
                    accepted=self.credentials.accepted,
                )
                await project_access(
                    session, principal, self.organization_id, self.project_id, write=False
                )
                await session.commit()
        except (AuthenticationFailed, PermissionDenied, NotFound, DatabaseUnavailable) as error:
            return Closed(error.code, error.message)
        return None


async def _to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, a short transaction, to its end even if the stream is cancelled meanwhile (the
    client left): a transaction cut in the middle may leave its connection behind, and on SQLite
    the write lock with it."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled():
        task.exception()  # a stream that left no longer reads it: not worth a warning
