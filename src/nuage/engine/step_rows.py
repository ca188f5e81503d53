"""The engine's writes of the step log (`task_events`): on PostgreSQL one INSERT compiled once per
process, whose rows travel as one JSON parameter, in place of the ORM's unit of work at commit
(about 0.5 ms of CPU per flush); SQLite keeps the ORM's, whose RETURNING order it relies on.

The entries stay objects of no session: their id, and the values their defaults would have
given, are set from this write, and the outbox is told of them as the ORM's `session.add` would
have told it (`outbox.step_logged`), in the same order."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db import driver_sql, outbox
from nuage.db.models import TaskEvent
from nuage.db.queued_rows import with_defaults
from nuage.engine import shown_rows

_TABLE: sa.Table = TaskEvent.__table__  # type: ignore[assignment]
_COLUMNS = ("task_id", "attempt", "step", "message", "level", "progress", "created")


def _insert(after: sa.CTE | None = None) -> sa.Insert:
    """INSERT … SELECT from the rows of the JSON parameter `steps`, in their order (`n`: the
    ids are drawn as the rows arrive, and a filter the planner makes a join of may reorder
    them), returning the ids; `after`: only those of the tasks that statement's CTE wrote
    (`logging_after`)."""
    columns = [*(sa.column(c, _TABLE.c[c].type) for c in _COLUMNS), sa.column("n", sa.Integer)]
    steps = sa.func.jsonb_to_recordset(sa.bindparam("steps", type_=JSONB()))
    new = steps.table_valued(*columns).render_derived(name="new", with_types=True)
    rows = sa.select(*(new.c[c] for c in _COLUMNS)).order_by(new.c.n)
    if after is not None:
        rows = rows.where(new.c.task_id.in_(sa.select(after.c.id)))
    return sa.insert(_TABLE).from_select(_COLUMNS, rows).returning(_TABLE.c.id)


_INSERT = _insert()


def logging_after(write: sa.Update) -> sa.Select[Any]:
    """PostgreSQL: `write` (of tasks, returning their `id`s) and, in the same statement, the
    step entries of the JSON parameter `steps` (`param`) of the tasks it wrote: the rows
    `write` returns, each with the ids of all the entries written as `step_ids` (`logged`
    takes them). A round trip fewer than `write` and `log`, each with its own plan."""
    done = write.cte("done")
    return sa.select(*done.c, ids_logged_after(done))


def ids_logged_after(done: sa.CTE) -> sa.Label[Any]:
    """`logging_after`'s `step_ids` column, for a statement of the caller's over `done`."""
    inserted = _insert(after=done).cte("logged")
    return sa.func.array(sa.select(inserted.c.id).scalar_subquery()).label("step_ids")


def entry(**values: Any) -> TaskEvent:
    """A step entry of `values`, made without the attribute events of the ORM's constructor
    (a sixth of a step's CPU; the engine makes three a task). It is an object as new as one
    the constructor makes: a session it is added to inserts it, its unset columns given their
    defaults, and the outbox is told of it."""
    return shown_rows.as_loaded(TaskEvent, values)


async def log(session: AsyncSession, entries: Sequence[TaskEvent]) -> None:
    """Write `entries` in the caller's transaction, in order, and their events (`db/outbox.py`)."""
    if not entries:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.add_all(entries)
        return
    plan = driver_sql.plan_of(_INSERT, session.get_bind().dialect)
    rows = await driver_sql.rows(session, plan, {"steps": param(entries)})
    logged(session, entries, [row.id for row in rows])


def param(entries: Sequence[TaskEvent]) -> list[dict[str, Any]]:
    """PostgreSQL: `entries` as the `steps` parameter of an INSERT of this module's, given the
    values their columns' defaults would have given at the ORM's flush."""
    for entry in entries:
        named = {name: value for name in _COLUMNS if (value := getattr(entry, name)) is not None}
        for name, value in with_defaults(TaskEvent, named).items():
            setattr(entry, name, value)
    return [_as_json(e) | {"n": n} for n, e in enumerate(entries)]


def logged(session: AsyncSession, entries: Sequence[TaskEvent], ids: Sequence[int]) -> None:
    """`entries` were written with `ids` (drawn in their order): their ids set, and the outbox
    told of them, as the ORM's `session.add` would have told it."""
    for entry, step_id in zip(entries, sorted(ids), strict=True):
        entry.id = step_id
        outbox.step_logged(session, entry)


def _as_json(entry: TaskEvent) -> dict[str, Any]:
    return {
        "task_id": str(entry.task_id),
        "attempt": entry.attempt,
        "step": entry.step,
        "message": entry.message,
        "level": entry.level,
        "progress": entry.progress,
        "created": entry.created.isoformat(),
    }
