"""Wake-ups after commit: the worker waits on `queue`, long polls wait on `task:<id>`, event
streams on `events` (woken by a transaction's last event id, `db/outbox.py`).

A session collects channels with `notify_after_commit`; they are published only once its
transaction commits, so nobody is woken to read a change that was rolled back. The local notifier
serves one process (the embedded default); PostgreSQL's LISTEN/NOTIFY slots in behind the same
interface for many processes.
"""

import asyncio
import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

QUEUE = "queue"
EVENTS = "events"
PG_CHANNEL = "nuage_events"
# Statements cached per number of channels (`bound_notifies`): the usual counts stay; a rare
# large one (a sweep's many tasks) does not stay for good.
STATEMENTS_KEPT = 32


def task_channel(task_id: UUID) -> str:
    return f"task:{task_id}"


def event_channel(event_id: int) -> str:
    """What a transaction that wrote events up to `event_id` publishes: the id alone (the
    NOTIFY payload of the contract), which wakes the `EVENTS` channel's waiters."""
    return str(event_id)


class Notifier(Protocol):
    def publish(self, channels: Iterable[str]) -> None: ...

    def subscribe(self, channel: str) -> asyncio.Event: ...

    def unsubscribe(self, channel: str, waiter: asyncio.Event) -> None: ...


class LocalNotifier:
    """In-process notifier: asyncio events keyed by channel."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def publish(self, channels: Iterable[str]) -> None:
        for channel in channels:
            for waiter in self._waiters.get(EVENTS if channel.isdigit() else channel, ()):
                waiter.set()

    def subscribe(self, channel: str) -> asyncio.Event:
        """Register before reading the state you wait on, so no wake-up falls in between."""
        waiter = asyncio.Event()
        self._waiters[channel].add(waiter)
        return waiter

    def subscribed_channels(self) -> list[str]:
        return list(self._waiters)

    def unsubscribe(self, channel: str, waiter: asyncio.Event) -> None:
        waiters = self._waiters.get(channel)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[channel]


_PENDING = "nuage.notify"
_SENT = "nuage.notify.sent"
_NOTIFIER = "nuage.notifier"


def notify_after_commit(session: AsyncSession | Session, *channels: str) -> None:
    session.info.setdefault(_PENDING, set()).update(channels)


def pg_notify(channel: str | sa.ColumnElement[str]) -> sa.ColumnElement[Any]:
    """One NOTIFY, as a column of a select list (evaluated in the list's order)."""
    return sa.func.pg_notify(PG_CHANNEL, channel)


def bound_notifies(count: int) -> list[sa.ColumnElement[Any]]:
    """NOTIFYs of `:channel_0` … `:channel_<count - 1>` (`channel_values`), for statements built
    once per number of channels (`STATEMENTS_KEPT`): building them at every commit cost about
    0.45 ms of CPU."""
    return [pg_notify(sa.bindparam(f"channel_{i}", type_=sa.Text)) for i in range(count)]


def channel_values(channels: Iterable[str]) -> dict[str, str]:
    """The parameters of `bound_notifies` for `channels`, in order."""
    return {f"channel_{i}": channel for i, channel in enumerate(channels)}


def unsent(session: Session) -> list[str]:
    """The channels of this transaction not yet sent to PostgreSQL, in order."""
    return sorted(session.info.get(_PENDING, set()) - session.info.get(_SENT, set()))


def sent(session: Session, channels: Iterable[str]) -> None:
    """`channels` were sent by a statement of the caller's (the outbox's INSERT carries the
    transaction's NOTIFYs): the commit sends only the others. They are still published
    in-process after the commit."""
    session.info.setdefault(_SENT, set()).update(channels)


def session_info(notifier: Notifier) -> dict[str, Any]:
    """The `info` a session factory gives its sessions so that commits reach `notifier`."""
    return {_NOTIFIER: notifier}


@event.listens_for(Session, "before_commit")
def _notify_postgres(session: Session) -> None:
    """On PostgreSQL, NOTIFY inside the transaction: delivered to every process on commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    channels = unsent(session)
    if channels:  # one round trip for them all
        session.execute(_notify_statement(len(channels)), channel_values(channels))


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _notify_statement(count: int) -> sa.Select[Any]:
    return sa.select(*bound_notifies(count))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    session.info.pop(_SENT, None)
    channels = session.info.pop(_PENDING, None)
    notifier = session.info.get(_NOTIFIER)
    if channels and notifier is not None:
        notifier.publish(channels)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SENT, None)
