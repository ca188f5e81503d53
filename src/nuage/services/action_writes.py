"""A plain instance action (`POST …/instances/{id}/reboot` and its kind: no body, no parameters)
with an API key, in one read and one transaction, without the ORM.

The read is one statement: the caller (`key_requests`), the instance with its host, and how many
of its tasks are pending or running (one of them its delete?). The rules are the full path's own
functions: `authenticate`'s and `project_access`'s (`key_requests.allowed`), the spec's
permission, the queueing rule (`queueing.queueing_refusal`), the host's capability
(`capabilities.host_refusal`). Then one transaction inserts what `tasks.enqueue` and the API's
commit would: the task (`queueing.queued_task`), its `queued` step (`queueing.queued_step`), the
audit-log row (`audit.change_columns`) and the step's events (`outbox.event_row`), with one
NOTIFY on PostgreSQL.

Like the fast read it only ever *allows*: any refusal, a `last_used` to record, an instance not
placed on a host yet, is None before anything is written, and the caller takes the full path,
whose answer is the only one. A failure once the write's commit is sent is `WriteOutcomeUnknown`
(503): the change may have been made, so the full path must not make it again.
"""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.errors import refused_by_server
from nuage.db.models import (
    AuditRecord,
    Event,
    Host,
    Instance,
    InstanceTask,
    Project,
    TaskEvent,
    User,
)
from nuage.db.notify import QUEUE, Notifier, event_channel, task_channel
from nuage.db.outbox import event_row
from nuage.db.queued_rows import QueuedRows, insert_at_once, with_defaults
from nuage.db.session import write_once
from nuage.db.types import utcnow
from nuage.domain import observers
from nuage.domain.catalogue import TaskSpec
from nuage.domain.enums import Role, TaskType
from nuage.domain.errors import WriteOutcomeUnknown
from nuage.domain.events import step_event_types
from nuage.domain.observers import TaskTransition
from nuage.domain.permissions import Permission
from nuage.domain.tasks import ACTIVE
from nuage.services import audit, security
from nuage.services.access import permission_refusal
from nuage.services.capabilities import host_refusal
from nuage.services.key_requests import allowed, first_row, key_access
from nuage.services.principals import Principal
from nuage.services.queueing import queued_step, queued_task, queueing_refusal
from nuage.services.task_params import parse_parameters
from nuage.services.task_reads import TaskView, view_of


def plain_action(spec: TaskSpec) -> bool:
    """Whether a POST of `spec`'s route can be answered here: an instance's own action that
    takes nothing but its path (no body, no query, no parameters, no other resource)."""
    route = spec.route
    return (
        spec.supported
        and route is not None
        and route.generated
        and route.method == "POST"
        and not route.body
        and not route.query
        and route.ids == ["instance_id"]
        and not spec.params.model_fields
        and not spec.references
        and spec.check is None
        and spec.resource_effects is None
    )


_org = sa.bindparam("org_id", type_=sa.Uuid)
_project = sa.bindparam("project_id", type_=sa.Uuid)
_instance = sa.bindparam("instance_id", type_=sa.Uuid)
# The statuses as constants of the statement (`first_row` sends no expanding IN).
_active = [sa.literal(s.value) for s in sorted(ACTIVE)]
_busy = (InstanceTask.instance_id == Instance.id) & InstanceTask.status.in_(_active)
# One row per key prefix: the caller's facts, the live instance with its host and active tasks.
_READ = (
    key_access(
        User.email,
        User.first_name,
        User.last_name,
        Project.organization_id,
        Instance.id.label("instance_found"),
        Instance.name.label("instance_name"),
        Instance.status.label("instance_status"),
        Instance.host_id,
        Host.driver.label("host_driver"),
        Host.config.label("host_config"),
        sa.select(sa.func.count()).where(_busy).scalar_subquery().label("active"),
        sa.exists()
        .where(_busy, InstanceTask.task_type == TaskType.DELETE_VPS.value)
        .label("deleting"),
        org=_org,
        project=_project,
    )
    .outerjoin(
        Instance,
        (Instance.id == _instance) & (Instance.project_id == Project.id) & Instance.is_live,
    )
    .outerjoin(Host, Host.id == Instance.host_id)
)
_INSERT_TASK = sa.insert(InstanceTask)
_INSERT_STEP = sa.insert(TaskEvent)
_INSERT_AUDIT = sa.insert(AuditRecord)
_INSERT_EVENT = sa.insert(Event).returning(Event.id)


async def accept_with_key(
    engine: AsyncEngine,
    reader: AsyncEngine,
    spec: TaskSpec,
    *,
    key: str,
    org_id: UUID,
    project_id: UUID,
    instance_id: UUID,
    notifier: Notifier,
    entry: Callable[[Principal], audit.Entry],
    shown: Callable[[TaskView], dict[str, Any]],
) -> TaskView | None:
    """The task queued on the instance, committed, as its caller sees it, if the full path
    would queue it; None: nothing was written, take the full path (see the module docstring).
    `entry` makes the request's audit-log row for its caller; `shown` a task as events show it
    (the API's view)."""
    if not key.startswith(security.API_KEY_PREFIX):
        return None
    params = {
        "prefix": security.api_key_lookup(key),
        "org_id": org_id,
        "project_id": project_id,
        "instance_id": instance_id,
    }

    def accept(conn: Connection) -> tuple[TaskView, frozenset[str]] | None:
        row = first_row(conn, _READ, params)
        principal = _allowed(row, key, spec)
        if principal is None:
            return None
        return _write(conn, spec, row, principal, entry(principal), shown)

    # PostgreSQL: the read and the one write statement are each a transaction of their own, on
    # the reader (no BEGIN, COMMIT or pre-ping): as the route's read-committed transaction, each
    # statement sees what was committed before it. SQLite: the route's transaction, whose BEGIN
    # IMMEDIATE holds the write lock from the read to the commit.
    on = reader if reader.dialect.name == "postgresql" else engine
    accepted = await write_once(on, accept)
    if accepted is None:
        return None
    task, channels = accepted
    notifier.publish(channels)
    observers.publish(TaskTransition(task.id, task.task_type, None, task.status))
    return task


def _allowed(row: Any, key: str, spec: TaskSpec) -> Principal | None:
    """The caller, if the full path would queue the task (each rule its own function)."""
    if row is None or row.instance_found is None or row.host_id is None:
        return None  # no such instance for them, or not placed yet: the full path knows
    principal = allowed(row, key, Permission.WRITE, utcnow())
    if principal is None or permission_refusal(principal, spec.permission, role=Role(row.role)):
        return None
    queueing = queueing_refusal(
        spec,
        status=row.instance_status,
        active=row.active,
        deleting=bool(row.deleting),
        reject_if_busy=False,
    )
    need = spec.capability
    if queueing is not None or host_refusal(need, driver=row.host_driver, config=row.host_config):
        return None
    return principal


def _write(
    conn: Connection,
    spec: TaskSpec,
    row: Any,
    principal: Principal,
    entry: audit.Entry,
    shown: Callable[[TaskView], dict[str, Any]],
) -> tuple[TaskView, frozenset[str]]:
    """The rows of the accepted action, committed: the task as its caller sees it, and the
    channels to wake."""
    task = with_defaults(
        InstanceTask,
        queued_task(
            spec,
            organization_id=row.organization_id,
            project_id=row.project_found,
            instance_id=row.instance_found,
            parameters=parse_parameters(spec, None).model_dump(mode="json"),
            max_retries=spec.default_max_retries,
            created_by_id=principal.user_id,
        ),
    )
    step = with_defaults(TaskEvent, queued_step(spec, task["id"]))
    view = _view(task, row, viewer=principal.user_id)
    (kind,) = step_event_types(step["step"], None)  # a `queued` step is `task.created` alone
    shows = shown(replace(view, viewer=None))
    event = event_row(kind, task["project_id"], task["instance_id"], shows, utcnow())
    audit_row = with_defaults(AuditRecord, audit.change_columns(entry, 202))
    rows = QueuedRows(task, step, audit_row, with_defaults(Event, event))
    if conn.dialect.name == "postgresql":
        with _committing():  # the one statement is its own transaction
            last = insert_at_once(conn, rows)
    else:
        last = _insert_one_by_one(conn, rows)
        with _committing():
            conn.commit()
    return view, frozenset({QUEUE, task_channel(view.id), event_channel(last)})


@contextlib.contextmanager
def _committing() -> Iterator[None]:
    """A failure once the commit is sent may come after the database made the change: it is
    `WriteOutcomeUnknown`, which the caller answers, instead of a reason to take the full path
    (which would queue the action a second time). Unless the server refused the statement (a
    deadlock, say): then nothing was made, and the full path may queue it."""
    try:
        yield
    except Exception as error:
        if refused_by_server(error):
            raise
        raise WriteOutcomeUnknown() from error


def _insert_one_by_one(conn: Connection, rows: QueuedRows) -> int:
    """The rows in the connection's transaction (SQLite); the event's id."""
    conn.execute(_INSERT_TASK, rows.task)
    conn.execute(_INSERT_STEP, rows.step)
    conn.execute(_INSERT_AUDIT, rows.audit)
    return int(conn.execute(_INSERT_EVENT, rows.event).scalar_one())


def _view(task: dict[str, Any], row: Any, *, viewer: UUID) -> TaskView:
    """The inserted task as `TaskOut` shows it: its own columns, its instance's name, its
    creator (the caller)."""
    return view_of(
        SimpleNamespace(
            **task,
            instance_name=row.instance_name,
            creator_email=row.email,
            creator_first_name=row.first_name,
            creator_last_name=row.last_name,
        ),
        viewer,
    )
