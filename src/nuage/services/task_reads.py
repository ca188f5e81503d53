"""`GET …/tasks/{id}` with an API key in one statement: the key, its user, the membership, the
project, the task, its instance and its creator, read together and checked with the same rules
as `principals.authenticate` and `access.project_access`.

It only ever *allows*. Whenever the answer would be anything but the task (a bad, revoked or
expired key, an inactive user, another tenant's project or task, a project token outside its
project, a missing scope), or when the full path has a write to make (a key's `last_used` older
than its one-minute resolution), it returns None and the caller takes the full path, which gives
the refusal, byte for byte, or makes the write. So the read path writes at most once per key per
minute, and a revocation or a removed membership is seen by the very next request in every
process: nothing is cached.

The task list reads the same `TaskView` columns (`project_task_views`), a page of rows that
never enter the ORM's identity map.
"""

import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from nuage.db.models import Instance, InstanceTask, Project, User
from nuage.db.types import utcnow
from nuage.domain.permissions import Permission
from nuage.services import security
from nuage.services.key_requests import allowed, key_access, read_first_row
from nuage.services.principals import Principal


@dataclass(frozen=True, slots=True)
class TaskView:
    """What `TaskOut` shows of a task, read without the ORM."""

    id: UUID
    instance_id: UUID
    instance_name: str
    task_type: str
    status: str
    result: Any
    started_at: datetime | None
    completed_at: datetime | None
    retry_count: int
    created: datetime
    modified: datetime
    created_by_id: UUID
    creator_email: str
    creator_first_name: str
    creator_last_name: str
    parameters: Any
    max_retries: int
    progress: int
    error: dict[str, Any] | None
    cancel_requested: bool
    viewer: UUID | None  # who reads it (None: nobody in particular, as events show it)


_VIEW_FIELDS = [name for name in TaskView.__slots__ if name != "viewer"]
# A row's values of `TaskView`'s fields, in their order, read in C (a getattr per field was
# about 7 % of the fast read's CPU in a profile).
_view_values = operator.attrgetter(*_VIEW_FIELDS)
_creator = aliased(User)
_task = InstanceTask.__table__.c
_TASK_COLUMNS = (
    _task.id,
    _task.instance_id,
    Instance.name.label("instance_name"),
    _task.task_type,
    _task.status,
    _task.result,
    _task.started_at,
    _task.completed_at,
    _task.retry_count,
    _task.created,
    _task.modified,
    _task.created_by_id,
    _creator.email.label("creator_email"),
    _creator.first_name.label("creator_first_name"),
    _creator.last_name.label("creator_last_name"),
    _task.parameters,
    _task.max_retries,
    _task.progress,
    _task.error,
    _task.cancel_requested,
)


def project_task_views(project_id: UUID) -> sa.Select[Any]:
    """The project's tasks as `TaskView` columns, for the caller to filter and order. The
    instance and the creator are outer joins: every task has both, and a count over this
    statement (pagination's) then reads neither table."""
    return (
        sa.select(*_TASK_COLUMNS)
        .select_from(InstanceTask)
        .outerjoin(Instance, Instance.id == InstanceTask.instance_id)
        .outerjoin(_creator, _creator.id == InstanceTask.created_by_id)
        .where(InstanceTask.project_id == project_id)
    )


def view_of(row: Any, viewer: UUID | None) -> TaskView:
    return TaskView(**dict(zip(_VIEW_FIELDS, _view_values(row), strict=True)), viewer=viewer)


_org = sa.bindparam("org_id", type_=sa.Uuid)
_project = sa.bindparam("project_id", type_=sa.Uuid)
_task_id = sa.bindparam("task_id", type_=sa.Uuid)
# One row per key prefix: the principal's facts, then the task's (NULLs where nothing matches).
_READ = (
    key_access(*_TASK_COLUMNS, org=_org, project=_project)
    .outerjoin(
        InstanceTask, (InstanceTask.id == _task_id) & (InstanceTask.project_id == Project.id)
    )
    .outerjoin(Instance, Instance.id == InstanceTask.instance_id)
    .outerjoin(_creator, _creator.id == InstanceTask.created_by_id)
)


async def read_task_with_key(
    reader: AsyncEngine, *, key: str, org_id: UUID, project_id: UUID, task_id: UUID
) -> tuple[Principal, TaskView] | None:
    """The caller and the task if this API key may read it right now with nothing to write;
    None: take the full path (see the module docstring). `reader`: `db.session.make_reader`."""
    if not key.startswith(security.API_KEY_PREFIX):
        return None
    params = {
        "prefix": security.api_key_lookup(key),
        "org_id": org_id,
        "project_id": project_id,
        "task_id": task_id,
    }
    row = await read_first_row(reader, _READ, params)
    if row is None or row.id is None:
        return None
    principal = allowed(row, key, Permission.READ, utcnow())
    return None if principal is None else (principal, view_of(row, row.user_id))
