"""A finish's UPDATE of its task that also returns what the task's event shows (PostgreSQL), and
the task made from its row for `outbox.task_shown`: the outbox then need not read the task again
with its instance's every relationship."""

from typing import Any

import sqlalchemy as sa

from nuage.db.models import Instance, InstanceTask, User

_T: sa.Table = InstanceTask.__table__  # type: ignore[assignment]
_I: sa.Table = Instance.__table__  # type: ignore[assignment]
_U: sa.Table = User.__table__  # type: ignore[assignment]
_TASK_ATTRS = [(a.key, a.columns[0].name) for a in InstanceTask.__mapper__.column_attrs]


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


def shown_task(row: sa.Row[Any]) -> InstanceTask:
    """The task of a `returning_shown` row, with its instance and creator as far as its view
    shows them (objects of no session)."""
    columns = row._mapping
    task = InstanceTask(**{key: columns[name] for key, name in _TASK_ATTRS})
    task.instance = Instance(id=task.instance_id, name=columns["instance_name"])
    task.created_by = User(
        id=task.created_by_id,
        email=columns["creator_email"],
        first_name=columns["creator_first_name"],
        last_name=columns["creator_last_name"],
    )
    return task
