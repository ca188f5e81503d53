"""The outbox: every change a project's clients may follow becomes an `events` row, written in
the transaction that makes the change (which changes: `domain/events.py`).

Writers only say what changed. A step-log entry (`TaskEvent`) added to a session is noted by
itself (the ORM's `transient_to_pending`): the services and the engine log every task change but
a claim, which calls `task_started`; an instance status write calls `instance_status_changed`.
Just before the transaction commits, the changed rows are read as they are then and shown as the
API shows them, by the `EventViews` installed on the session factory (the API's schemas, which
this layer cannot import; `api.runtime.Runtime` installs them).

Ids increase in commit order, so a reader that saw id N never later finds a smaller one: on
PostgreSQL the writers take one transaction-level advisory lock in their INSERT's statement,
before its first id (held to their commit, which NOTIFY serialises anyway); SQLite has one writer
at a time. Each committing transaction then wakes the readers with its last id
(`pg_notify('nuage_events', '<id>')`, sent by that same statement with the transaction's other
NOTIFYs, and in-process through the notifier).
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from nuage.db import driver_sql
from nuage.db.models import Event, Instance, InstanceTask, TaskEvent
from nuage.db.notify import (
    STATEMENTS_KEPT,
    bound_notifies,
    channel_values,
    event_channel,
    notify_after_commit,
    pg_notify,
    sent,
    unsent,
)
from nuage.db.types import utcnow
from nuage.domain.events import EventType, step_event_types

_CHANGES = "nuage.outbox"
_HELD = "nuage.outbox.held"  # tasks shown as the session holds them, not read again
# What a task's event shows besides its columns (`EventViews.task`): loaded, or read again.
_TASK_VIEW = {"instance", "created_by"}
_VIEWS = "nuage.event_views"
# pg_advisory_xact_lock key of the event writers ("nuag" in ASCII).
WRITERS_LOCK = 0x6E756167

Row = TypeVar("Row", InstanceTask, Instance)


class EventViews(Protocol):
    """The API's objects, as plain JSON values."""

    def task(self, row: InstanceTask) -> dict[str, Any]: ...

    def step(self, row: TaskEvent) -> dict[str, Any]: ...

    def instance(self, row: Instance) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class _Change:
    type: EventType | None  # None: a step-log entry, typed by `step_event_types`
    task_id: UUID | None = None
    instance_id: UUID | None = None
    step: TaskEvent | None = None


class ViewsMissing(RuntimeError):
    """A session that changed tasks has no views to write their events with."""


def install_views(sessions: async_sessionmaker[AsyncSession], views: EventViews) -> None:
    """Sessions made by `sessions` from now on write their events with `views`."""
    info = dict(sessions.kw.get("info") or {})
    info[_VIEWS] = views
    sessions.configure(info=info)


def task_started(session: AsyncSession, task_id: UUID) -> None:
    _note(session.sync_session, _Change(EventType.TASK_STARTED, task_id=task_id))


def task_shown(session: AsyncSession, task: InstanceTask) -> None:
    """`task` is the task as the caller's statement left it (its RETURNING), with its instance
    and creator as far as its view shows them, and no later statement of this transaction
    changes it: its events show it as it is, without reading it again."""
    session.sync_session.info.setdefault(_HELD, {})[task.id] = task


def step_logged(session: AsyncSession, entry: TaskEvent) -> None:
    """`entry` was written by a statement of the caller's, not added to the session (whose
    `add` notes it by itself): its events show it as it is."""
    _note(session.sync_session, _Change(None, step=entry))


def instance_status_changed(session: AsyncSession, instance_id: UUID) -> None:
    _note(session.sync_session, _Change(EventType.INSTANCE_STATUS_CHANGED, instance_id=instance_id))


def _note(session: Session, change: _Change) -> None:
    session.info.setdefault(_CHANGES, []).append(change)


@event.listens_for(Session, "transient_to_pending")
def _step_logged(session: Session, row: object) -> None:
    if isinstance(row, TaskEvent):
        _note(session, _Change(None, step=row))


@event.listens_for(Session, "pending_to_persistent")
def _inserted(session: Session, row: object) -> None:
    if isinstance(row, InstanceTask):
        session.info.setdefault(_HELD, {})[row.id] = row


def _write_events(session: Session) -> None:
    changes: list[_Change] | None = session.info.pop(_CHANGES, None)
    held: dict[UUID, InstanceTask] = session.info.pop(_HELD, {})
    if not changes:
        return
    views: EventViews | None = session.info.get(_VIEWS)
    if views is None:
        raise ViewsMissing("This session factory has no event views (outbox.install_views).")
    session.flush()  # the step entries' ids, and every change the events will show
    # A task this transaction inserted is its session object (nothing else writes a task in
    # the transaction that queues it; the engine's statements run on claimed tasks), and one an
    # engine statement returned is that statement's row (`task_shown`): read again, either
    # would cost a statement and its instance's eager loads for the same values.
    shown = {i: t for i, t in held.items() if t.__dict__.keys() >= _TASK_VIEW}
    wanted = (i for i in (_task_id(c) for c in changes) if i not in shown)
    tasks = {**shown, **_load(session, InstanceTask, wanted)}
    # A task read here comes with its instance; one the transaction inserted may hold its own
    # (read in this transaction with its VPC membership, as the view shows it).
    instances = {
        t.instance_id: t.__dict__["instance"] for t in tasks.values() if _holds_instance(t)
    }
    missing = (c.instance_id for c in changes if c.instance_id not in instances)
    instances |= _load(session, Instance, missing)
    now = utcnow()
    shown_tasks: dict[UUID, dict[str, Any]] = {}
    rows = [
        row
        for change in changes
        for row in _rows(
            change, views, tasks=tasks, instances=instances, now=now, shown=shown_tasks
        )
    ]
    if session.get_bind().dialect.name == "postgresql":
        last = _insert_locked(session, rows)
    else:
        last = max(_insert(session, chunk) for chunk in _chunks(rows))
    notify_after_commit(session, event_channel(last))


_ROWS_PER_INSERT = 1000  # 5 parameters a row: under SQLite's 32766
_COLUMNS = ("project_id", "instance_id", "type", "payload", "created")


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """SQLite: multi-row INSERTs, their ids handed out in the rows' order (the ORM would send one
    INSERT per row, whose RETURNING order it cannot rely on), in chunks that stay within the
    bound parameters per statement."""
    return [rows[i : i + _ROWS_PER_INSERT] for i in range(0, len(rows), _ROWS_PER_INSERT)]


def _insert(session: Session, chunk: list[dict[str, Any]]) -> int:
    """SQLite, whose one writer at a time orders the ids: the chunk's last id."""
    return max(session.scalars(sa.insert(Event).values(chunk).returning(Event.id)).all())


def _insert_locked(session: Session, rows: list[dict[str, Any]]) -> int:
    """PostgreSQL: the rows in one INSERT that takes the writers' lock and sends the
    transaction's NOTIFYs (the event channel's with the last id); the last id.

    The lock (held to COMMIT) orders the ids by commit; taken in the statement, before its first
    id, and with the NOTIFYs (which COMMIT serialises anyway) in the same round trip, it is held
    for that statement and the COMMIT only, not for two more round trips."""
    channels = unsent(session)
    params: dict[str, Any] = {**channel_values(channels), "events": [_as_json(row) for row in rows]}
    connection = session.connection()
    plan = driver_sql.plan_of(_locked_insert_notifying(len(channels)), connection.dialect)
    last: int = driver_sql.rows_in_greenlet(connection, plan, params)[0][0]
    sent(session, [*channels, event_channel(last)])
    return last


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _locked_insert_notifying(channels: int) -> sa.Select[Any]:
    """`_LOCKED_INSERT` as a CTE, selecting its last id and sending the NOTIFYs: the event
    channel's with that id, then the `channels` bound ones (`notify.bound_notifies`). Built
    once for each number of channels."""
    inserted = _LOCKED_INSERT.cte("inserted")
    top = sa.func.max(inserted.c.id)
    return sa.select(top, pg_notify(sa.cast(top, sa.Text)), *bound_notifies(channels))


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    instance_id = row["instance_id"]
    return {
        **row,
        "project_id": str(row["project_id"]),
        "instance_id": None if instance_id is None else str(instance_id),
        "created": row["created"].isoformat(),
    }


def _locked_insert() -> sa.Insert:
    """INSERT … SELECT from the rows (one JSON parameter, so that the statement's shape, compiled
    once, does not depend on their number) behind a one-time filter that takes the writers'
    lock: PostgreSQL evaluates it before reading any row, so before any id's nextval."""
    columns = [sa.column(c, Event.__table__.c[c].type) for c in _COLUMNS]
    events = sa.bindparam("events", type_=JSONB())
    new = sa.func.jsonb_to_recordset(events).table_valued(*columns)
    new = new.render_derived(name="new", with_types=True)
    lock = sa.select(sa.func.pg_advisory_xact_lock(WRITERS_LOCK)).scalar_subquery()
    rows = sa.select(*new.c).where(lock.is_not(None))
    return sa.insert(Event).from_select(_COLUMNS, rows).returning(Event.id)


_LOCKED_INSERT = _locked_insert()


# First among the commit hooks: the INSERT carries the NOTIFYs queued so far (`db/notify.py`
# sends any queued later), with the last id.
event.listen(Session, "before_commit", _write_events, insert=True)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_CHANGES, None)
    session.info.pop(_HELD, None)


def _task_id(change: _Change) -> UUID | None:
    return change.step.task_id if change.step is not None else change.task_id


def _holds_instance(task: InstanceTask) -> bool:
    instance = task.__dict__.get("instance")
    return instance is not None and "vpc_member" in instance.__dict__


def _load(session: Session, model: type[Row], ids: Iterable[UUID | None]) -> dict[UUID, Row]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    stmt = (
        sa.select(model)
        .where(model.id.in_(wanted))
        .options(_WITH_VPC[model])
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in session.scalars(stmt).unique()}


# The instance's VPC membership (which its view shows) in the same statement, not a second one.
_WITH_VPC: dict[type[Any], ORMOption] = {
    InstanceTask: joinedload(InstanceTask.instance).joinedload(Instance.vpc_member),
    Instance: joinedload(Instance.vpc_member),
}


def _rows(
    change: _Change,
    views: EventViews,
    *,
    tasks: dict[UUID, InstanceTask],
    instances: dict[UUID, Instance],
    now: datetime,
    shown: dict[UUID, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The events of one change: the instance or the task as they are now (a step entry: under
    `step`, for `task.step`). `shown`: the tasks' views made so far in this transaction, each
    made once for all of its events (a task's claim has three, its end two or more)."""
    if change.type is EventType.INSTANCE_STATUS_CHANGED:
        instance = instances[change.instance_id]  # type: ignore[index]
        return [
            event_row(change.type, instance.project_id, instance.id, views.instance(instance), now)
        ]
    task = tasks[_task_id(change)]  # type: ignore[index]
    if task.id not in shown:
        shown[task.id] = views.task(task)
    view = shown[task.id]
    if change.step is None:
        kinds: tuple[EventType, ...] = (change.type,) if change.type else ()
    else:
        kinds = step_event_types(change.step.step, change.step.progress)
    return [
        event_row(
            kind,
            task.project_id,
            task.instance_id,
            {**view, "step": views.step(change.step)}
            if kind is EventType.TASK_STEP and change.step is not None
            else view,
            now,
        )
        for kind in kinds
    ]


def event_row(
    kind: EventType, project_id: UUID, instance_id: UUID, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The `events` row of one event (its id is the insert's)."""
    return {
        "project_id": project_id,
        "instance_id": instance_id,
        "type": kind.value,
        "payload": payload,
        "created": now,
    }
