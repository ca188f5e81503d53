"""A finish's UPDATE of its task that also returns what the task's event shows (PostgreSQL), and
the task made from its row for `outbox.task_shown`: the outbox then need not read the task again
with its instance's every relationship."""

import functools
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm.instrumentation import manager_of_class

from nuage.db.models import Base, Instance, InstanceTask, User

M = TypeVar("M", bound=Base)

_T: sa.Table = InstanceTask.__table__  # type: ignore[assignment]
_I: sa.Table = Instance.__table__  # type: ignore[assignment]
_U: sa.Table = User.__table__  # type: ignore[assignment]


def returning_shown(update: sa.Update) -> sa.Update:
    """PostgreSQL: `update` of one task, returning what its event shows (`TaskOut`): the task as
    the statement left it, its instance's name and its creator (UPDATE … FROM their rows), so
    that the outbox need not read it again with its instance's every relationship."""
    return (
        update.where(_I.c.id == _T.c.instance_id, _U.c.id == _T.c.created_by_id)
        .returning(
            *_T.c,
            _I.c.name.label("instance_name"),
            _U.c.email.label("creator_email"),
            _U.c.first_name.label("creator_first_name"),
            _U.c.last_name.label("creator_last_name"),
        )
        .execution_options(synchronize_session=False)
    )


def shown_task(row: Any) -> InstanceTask:
    """The task of a `returning_shown` row (`db.driver_sql`'s), with its instance and creator as
    far as its view shows them (objects of no session, only read)."""
    columns = row._asdict()
    task = as_loaded(InstanceTask, row_values(InstanceTask, columns))
    task.__dict__["instance"] = as_loaded(
        Instance, {"id": task.instance_id, "name": columns["instance_name"]}
    )
    creator = {
        "id": task.created_by_id,
        "email": columns["creator_email"],
        "first_name": columns["creator_first_name"],
        "last_name": columns["creator_last_name"],
    }
    task.__dict__["created_by"] = as_loaded(User, creator)
    return task


def row_values(model: type[Base], columns: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a `model` object from a row's `columns` (named as its table's)."""
    return {key: columns[name] for key, name in _attributes(model)}


@functools.cache
def _attributes(model: type[Base]) -> list[tuple[str, str]]:
    return [(a.key, a.columns[0].name) for a in model.__mapper__.column_attrs]


def as_loaded(model: type[M], values: dict[str, Any]) -> M:
    """An object of `model`, of no session, holding `values` in its `__dict__`, without the
    attribute events of its constructor (about a sixth of a claim's CPU went to them). It has no
    identity: a row read back this way is only to be read (a session it were added to would
    INSERT it), and a new row made this way is inserted as one the constructor made
    (`step_rows.entry`)."""
    row: M = manager_of_class(model).new_instance()
    row.__dict__.update(values)
    return row
