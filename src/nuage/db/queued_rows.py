"""The rows a queued task adds (the task, its first step, the request's audit-log row, the step's
events), written without the ORM (`services/action_writes.py`).

`with_defaults` gives a row the values the ORM would give the columns it does not name (their
Python-side defaults), so the writer knows the whole row before it is sent. On PostgreSQL,
`insert_at_once` sends them all in ONE statement, which as a transaction of its own also takes
the outbox's lock before its events get their ids, and NOTIFYs their channels (as the session's
commit hooks do, `db/outbox.py` and `db/notify.py`): one round trip instead of eight.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from nuage.db.models import AuditRecord, Base, Event, InstanceTask, TaskEvent
from nuage.db.notify import PG_CHANNEL, QUEUE, task_channel
from nuage.db.outbox import WRITERS_LOCK


@dataclass(frozen=True, slots=True)
class QueuedRows:
    task: dict[str, Any]
    step: dict[str, Any]
    audit: dict[str, Any]
    event: dict[str, Any]  # the one event of a `queued` step (`task.created`)


def with_defaults(model: type[Base], given: dict[str, Any]) -> dict[str, Any]:
    """`given`, and for each other column its Python-side default, or NULL (the database's
    keys, e.g. an autoincrementing primary key, are left out)."""
    row = dict(given)
    for column in model.__table__.columns:
        default = column.default
        if column.name in row or column.primary_key:
            continue
        if isinstance(default, sa.ColumnDefault):
            row[column.name] = default.arg(None) if default.is_callable else default.arg
        elif column.nullable:
            row[column.name] = None
    return row


def _values(model: type[Base], prefix: str, names: list[str]) -> dict[str, Any]:
    table = model.__table__
    return {name: sa.bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names}


def _statement(
    task: list[str], step: list[str], audit: list[str], event: list[str]
) -> sa.Select[Any]:
    """The statement for rows with these columns (their values: `<table letter>_<column>`)."""
    inserted = [
        sa.insert(InstanceTask).values(_values(InstanceTask, "t_", task)).cte("task"),
        sa.insert(TaskEvent).values(_values(TaskEvent, "s_", step)).cte("step"),
        sa.insert(AuditRecord).values(_values(AuditRecord, "a_", audit)).cte("audit"),
    ]
    # The event's row is made by a select from the lock, so its id is drawn once the lock is held.
    lock = sa.select(sa.func.pg_advisory_xact_lock(WRITERS_LOCK).label("held")).cte("outbox_lock")
    values = _values(Event, "e_", event)
    source = sa.select(*(value.label(name) for name, value in values.items())).select_from(lock)
    added = sa.insert(Event).from_select(list(values), source).returning(Event.id).cte("event")
    # The channels in `db/notify._notify_postgres`'s (sorted) order: the event id, queue, task.
    channels: tuple[sa.ColumnElement[Any], ...] = (
        sa.cast(added.c.id, sa.Text),
        sa.literal(QUEUE),
        sa.bindparam("task_channel"),
    )
    notify = (sa.func.pg_notify(PG_CHANNEL, channel) for channel in channels)
    return sa.select(added.c.id, *notify).add_cte(*inserted)


_STATEMENTS: dict[tuple[tuple[str, ...], ...], sa.Select[Any]] = {}


def insert_at_once(conn: Connection, rows: QueuedRows) -> int:
    """The rows in one statement (PostgreSQL); the event's id."""
    names = tuple(tuple(row) for row in (rows.task, rows.step, rows.audit, rows.event))
    if names not in _STATEMENTS:
        _STATEMENTS[names] = _statement(*(list(n) for n in names))
    params = {
        "task_channel": task_channel(rows.task["id"]),
        **{
            f"{prefix}{name}": value
            for prefix, row in zip(
                ("t_", "s_", "a_", "e_"),
                (rows.task, rows.step, rows.audit, rows.event),
                strict=True,
            )
            for name, value in row.items()
        },
    }
    return int(conn.execute(_STATEMENTS[names], params).scalar_one())
