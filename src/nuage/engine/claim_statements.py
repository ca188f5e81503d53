"""The claim's statements, each built once for its shape: the candidates read and the UPDATE
that starts them (`engine.queries.claim`), and the guards they share with the engine's other
statements."""

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from nuage.db.models import Instance, InstanceTask
from nuage.domain.enums import TaskStatus
from nuage.domain.states import TASKS
from nuage.domain.tasks import ACTIVE
from nuage.engine import claimed_rows, shown_rows, step_rows

T: sa.Table = InstanceTask.__table__  # type: ignore[assignment]
_INSTANCES: sa.Table = Instance.__table__  # type: ignore[assignment]
_ACTIVE = [s.value for s in ACTIVE]
RUNNING = TaskStatus.RUNNING.value


def may_become(target: TaskStatus) -> sa.ColumnElement[bool]:
    """The task is in a status from which `target` is a legal move (the machine in
    `domain/states.py`): the guard of every statement that changes a task's status."""
    sources = sorted(s.value for s in TASKS.sources_of(target))
    return T.c.status == sources[0] if len(sources) == 1 else T.c.status.in_(sources)


def _blocked() -> sa.Exists:
    """An earlier task of the same instance is still pending or running, or any other of its
    tasks is running. A task's `seq` is drawn at its INSERT, not its commit: two requests for
    one instance may commit out of order, and a worker may start the later task before the
    earlier one is visible. The earlier one then waits for it, as it would have waited had it
    committed first, instead of running beside it."""
    other = T.alias("other")
    return sa.exists().where(
        other.c.instance_id == T.c.instance_id,
        other.c.status.in_(_ACTIVE),
        sa.or_(other.c.seq < T.c.seq, other.c.status == RUNNING),
    )


NOT_BLOCKED = ~_blocked()  # one expression, in each statement that needs it


def _not_mine(*, array: bool) -> sa.ColumnElement[bool]:
    """Not one of `:running`, the tasks the claiming worker is still running. Another worker may
    take one over when its heartbeat comes late; claimed back under the same worker id while
    its first run goes on, both runs would hold its lease. It waits for that run to end.
    `array`: `:running` is one array parameter (PostgreSQL), as a statement sent as compiled
    once (`db.driver_sql`) needs; else a list expanded into parameters at each execution."""
    if array:
        return T.c.id != sa.all_(_ids("running"))
    return T.c.id.not_in(sa.bindparam("running", expanding=True, type_=T.c.id.type))


def _ids(name: str) -> sa.BindParameter[Any]:
    """PostgreSQL: a parameter of task ids as one array."""
    return sa.bindparam(name, type_=ARRAY(T.c.id.type))


NOT_MINE = _not_mine(array=False)  # one expression, in each statement that needs it


@functools.cache
def claim_candidate(*, postgresql: bool, whole: bool) -> sa.Select[Any]:
    """The `:limit` oldest pending tasks due at `:now` at the head of their instance's queue,
    none of them `:running` (`NOT_MINE`): their ids, types and due times, or, `whole`, what
    their records need (`engine.claimed_rows`). At most one per instance: a task behind another
    pending one is not at the head. Built once for each shape: building it took a sixth of a
    claim's CPU.

    On PostgreSQL the tasks and their instances' rows are locked (SKIP LOCKED): one claim of an
    instance's task at a time. FOR NO KEY UPDATE, which a foreign key's check (a new task's, a
    step's) does not wait for. This statement's snapshot may be older than another worker's
    claim of a later task of the instance (committed after an earlier one became visible), so
    the claim's UPDATE, whose snapshot comes after these locks, checks `_blocked` again."""
    # Whole: what a task record needs, in this one statement.
    columns: tuple[Any, ...] = (
        claimed_rows.COLUMNS if whole else (T.c.id, T.c.task_type, T.c.run_after)
    )
    stmt = sa.select(*columns)
    if whole:
        stmt = claimed_rows.joined(stmt)
    elif postgresql:
        stmt = stmt.join(_INSTANCES, _INSTANCES.c.id == T.c.instance_id)
    stmt = (
        stmt.where(
            may_become(TaskStatus.RUNNING),
            T.c.run_after <= sa.bindparam("now", type_=T.c.run_after.type),
            NOT_BLOCKED,
            _not_mine(array=postgresql),
        )
        .order_by(T.c.seq)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if not postgresql:  # one writer at a time: no other claim runs beside this one
        return stmt
    return stmt.with_for_update(skip_locked=True, key_share=True, of=[T, _INSTANCES])


@functools.cache
def start_statement(
    *, single: bool, progress: bool, logging: bool, postgresql: bool
) -> sa.Update | sa.Select[Any]:
    """The UPDATE of `queries._start_running`, built once for each shape (`:task` or `:tasks`,
    with or without `:start_progress`): built again for each claim, it cost about a fifth of
    the claim's CPU. On PostgreSQL it returns what the tasks' `task.started` events show
    (`shown_rows`), which the outbox would otherwise read again, and, `logging`, logs the
    `started` steps (`:steps`) of the tasks it starts (`step_rows.logging_after`); elsewhere
    it returns their ids."""
    values: dict[str, Any] = {
        "status": RUNNING,
        "lease_owner": sa.bindparam("worker", type_=T.c.lease_owner.type),
        "lease_expires_at": sa.bindparam("until", type_=T.c.lease_expires_at.type),
        "attempts": T.c.attempts + 1,
        "started_at": sa.func.coalesce(
            T.c.started_at, sa.bindparam("started", type_=T.c.started_at.type)
        ),
    }
    if progress:
        values["progress"] = sa.bindparam("start_progress", type_=T.c.progress.type)
    update = (
        sa.update(T)
        .where(
            T.c.id == sa.bindparam("task", type_=T.c.id.type) if single else _these(postgresql),
            may_become(TaskStatus.RUNNING),
            NOT_BLOCKED,
        )
        .values(values)
    )
    if not postgresql:
        return update.returning(T.c.id)
    shown = shown_rows.returning_shown(update)
    return step_rows.logging_after(shown) if logging else shown


def _these(postgresql: bool) -> sa.ColumnElement[bool]:
    """One of `:tasks` (on PostgreSQL one array parameter: `_not_mine`)."""
    if postgresql:
        return T.c.id == sa.any_(_ids("tasks"))
    return T.c.id.in_(sa.bindparam("tasks", expanding=True))
