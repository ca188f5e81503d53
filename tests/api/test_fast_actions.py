"""The plain instance action answered in one read and one transaction (`api/fast_actions.py`):
for every action it answers, the same status, headers and body as the route, the same rows (task,
step, events, audit-log row), events as the outbox writes them; every refusal is the route's."""

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from nuage.api.event_views import ApiViews
from nuage.db.models import ApiKey, AuditRecord, Event, InstanceTask, TaskEvent
from nuage.db.queued_rows import QueuedRows
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.domain.catalogue import CATALOGUE
from nuage.domain.enums import Role
from nuage.engine.worker import Worker
from nuage.services import action_writes
from nuage.services.action_writes import plain_action
from nuage.services.tasks import TASK_VIEW
from tests.sql_counter import counting
from tests.support import Stack, Tenant, TenantFactory, instance_at_rest, task_ids

pytestmark = pytest.mark.anyio
VERBS = [
    spec.route.path.rsplit("/", 1)[1]
    for spec in CATALOGUE.values()
    if plain_action(spec) and spec.route is not None
]
# What differs between two answers of the same request: each its own task, request and times.
OWN = {"id", "created", "modified", "run_after", "seq", "request_id", "task_id"}
UNIQUE_HEADERS = {b"x-request-id", b"location"}


def _fast_statements(stack: Stack) -> int:
    """The fast path's statements: the read, the task, its step, the audit row and the event
    (PostgreSQL: and the outbox's lock and the NOTIFY); the route sends more."""
    return 5 if stack.runtime.settings.database_url.startswith("sqlite") else 2


async def _fast(stack: Stack, tenant: Tenant, instance_id: str, verb: str) -> httpx.Response:
    """The action as the fast path answers it."""
    with counting() as counted:
        response = await tenant.post(f"/instances/{instance_id}/{verb}")
    assert len(counted.statements) == _fast_statements(stack), counted.statements
    assert counted.transactions == 1
    return response


async def _routed(tenant: Tenant, instance_id: str, verb: str) -> httpx.Response:
    """The same action through the route (a query string always takes it)."""
    return await tenant.post(f"/instances/{instance_id}/{verb}", params={"on_conflict": "queue"})


def _without(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in OWN | set(names)}


async def _rows(stack: Stack, shown_id: str) -> dict[str, Any]:
    """The task's rows: itself, its steps, its events, and the audit row of its request."""
    task_id = UUID(shown_id)
    async with transaction(stack.runtime.sessions) as session:
        task = (
            await session.execute(
                sa.select(InstanceTask.__table__).where(InstanceTask.id == task_id)
            )
        ).one()
        steps = (
            await session.execute(
                sa.select(TaskEvent.__table__).where(TaskEvent.task_id == task_id)
            )
        ).all()
        events = (
            await session.execute(
                sa.select(Event.__table__).where(Event.payload["id"].as_string() == shown_id)
            )
        ).all()
        audit = (
            await session.execute(sa.select(AuditRecord.__table__).order_by(AuditRecord.id.desc()))
        ).first()
    assert audit is not None
    return {
        "task": _without(task._mapping),
        "steps": [_without(s._mapping) for s in steps],
        "events": [
            {**_without(e._mapping, "payload"), "payload": _without(e.payload)} for e in events
        ],
        "audit": _without(audit._mapping),
    }


@pytest.mark.parametrize("verb", VERBS)
async def test_an_action_answers_and_writes_as_the_route_does(
    stack: Stack, tenants: TenantFactory, worker: Worker, verb: str
) -> None:
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)  # both answers queue behind the same
    fast = await _fast(stack, tenant, instance["id"], verb)
    fast_rows = await _rows(stack, fast.json()["id"])
    full = await _routed(tenant, instance["id"], verb)
    assert fast.status_code == full.status_code == 202
    assert [h[0] for h in fast.headers.raw] == [h[0] for h in full.headers.raw]
    assert [h for h in fast.headers.raw if h[0] not in UNIQUE_HEADERS] == [
        h for h in full.headers.raw if h[0] not in UNIQUE_HEADERS
    ]
    for answer in (fast, full):
        base = str(answer.request.url).split("/v1/")[0]
        assert answer.headers["location"] == f"{base}{tenant.base}/tasks/{answer.json()['id']}"
    assert _without(fast.json()) == _without(full.json())
    assert fast_rows == await _rows(stack, full.json()["id"])


async def test_the_events_are_the_outboxs(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    """The fast path's event shows the task exactly as `db/outbox.py` would (its views)."""
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)
    task_id = (await _fast(stack, tenant, instance["id"], "reboot")).json()["id"]
    async with transaction(stack.runtime.sessions) as session:
        task = await session.scalar(
            sa.select(InstanceTask).where(InstanceTask.id == UUID(task_id)).options(*TASK_VIEW)
        )
        events = (await session.scalars(sa.select(Event).order_by(Event.id))).all()
    assert task is not None
    mine = [e for e in events if e.payload.get("id") == task_id]
    assert [(e.type, e.project_id, e.instance_id) for e in mine] == [
        ("task.created", task.project_id, task.instance_id)
    ]
    assert mine[0].payload == ApiViews().task(task)
    assert mine[0].id == events[-1].id


async def _refusals(tenant: Tenant, instance_id: str, verb: str = "reboot") -> None:
    """The action, eligible for the fast path, answers byte for byte as the route."""
    eligible = await tenant.post(f"/instances/{instance_id}/{verb}")
    full = await _routed(tenant, instance_id, verb)
    assert eligible.status_code == full.status_code >= 400
    assert eligible.content == full.content
    assert [h for h in eligible.headers.raw if h[0] not in UNIQUE_HEADERS] == [
        h for h in full.headers.raw if h[0] not in UNIQUE_HEADERS
    ]


async def test_refusals_are_the_routes(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant, other = await tenants(), await tenants()
    viewer = await tenants.member(tenant, Role.VIEWER)
    guest = await tenants.member(tenant, Role.GUEST)  # added to no project
    instance = await tenant.running_instance()
    theirs = await other.running_instance()
    await stack.stop_workers()
    for caller in (tenant, viewer, guest):
        await caller.get("/tasks")  # every key's `last_used` recorded
    await _refusals(viewer, instance["id"])  # 403: a viewer may not act
    await _refusals(guest, instance["id"])  # 404: a project they were not added to
    await _refusals(tenant, theirs["id"])  # 404: another tenant's instance
    await _refusals(tenant, str(uuid4()))  # 404: none at all
    deleted = await tenant.client.delete(
        tenant.base + f"/instances/{instance['id']}", headers=tenant.headers
    )
    assert deleted.status_code == 202
    await _refusals(tenant, instance["id"])  # 409: its delete is queued
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(ApiKey).where(ApiKey.user_id == tenant.user_id).values(revoked_at=utcnow())
        )
    await _refusals(tenant, theirs["id"])  # 401: a revoked key


async def test_refusals_write_nothing_but_their_audit_row(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    viewer = await tenants.member(tenant, Role.VIEWER)
    instance = await tenant.running_instance()
    await stack.stop_workers()
    await viewer.get("/tasks")
    async with transaction(stack.runtime.sessions) as session:
        before = await session.scalar(sa.select(sa.func.count()).select_from(InstanceTask))
    refused = await viewer.post(f"/instances/{instance['id']}/reboot")
    assert refused.status_code == 403
    async with transaction(stack.runtime.sessions) as session:
        after = await session.scalar(sa.select(sa.func.count()).select_from(InstanceTask))
        audit = await session.scalar(sa.select(AuditRecord).order_by(AuditRecord.id.desc()))
    assert after == before
    assert audit is not None
    assert (audit.actor_id, audit.status_code, audit.outcome) == (viewer.user_id, 403, "refused")


async def test_a_due_last_used_and_a_body_take_the_route(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    stale = utcnow() - timedelta(minutes=2)
    async with transaction(stack.runtime.sessions) as session:
        await session.execute(
            sa.update(ApiKey).where(ApiKey.user_id == tenant.user_id).values(last_used=stale)
        )
    with counting() as counted:
        assert (await tenant.post(f"/instances/{instance['id']}/reboot")).status_code == 202
    assert any("UPDATE api_keys" in s for s in counted.writes), counted.statements
    with counting() as counted:
        answer = await tenant.post(f"/instances/{instance['id']}/reboot", json={})
    assert answer.status_code == 202
    assert len(counted.statements) > _fast_statements(stack)  # the route parsed the body
    await _fast(stack, tenant, instance["id"], "reboot")  # and now the fast path answers


async def test_an_idempotency_key_takes_the_route(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)
    path = f"/instances/{instance['id']}/reboot"
    first = await tenant.post(path, headers={"Idempotency-Key": "once"})
    again = await tenant.post(path, headers={"Idempotency-Key": "once"})
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_the_fast_path_answers_the_plain_actions() -> None:
    assert set(VERBS) >= {"start", "stop", "reboot", "shutdown", "reset", "sync"}


async def test_concurrent_actions_are_each_queued_once(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    """Writers that take turns (SQLite) or each write in one statement (PostgreSQL): every one
    is accepted, once, with its step and its event."""
    tenant = await tenants()
    instances = [await tenant.running_instance() for _ in range(3)]
    await stack.stop_workers()
    await tenant.get("/tasks")
    posts = [
        tenant.post(f"/instances/{instance['id']}/{verb}")
        for instance in instances
        for verb in ("reboot", "sync", "reset")
    ]
    answers = await asyncio.gather(*posts)
    assert [a.status_code for a in answers] == [202] * len(posts)
    ids = {UUID(a.json()["id"]) for a in answers}
    assert len(ids) == len(posts)
    async with transaction(stack.runtime.sessions) as session:
        steps = await session.scalar(
            sa.select(sa.func.count()).where(TaskEvent.task_id.in_(ids), TaskEvent.step == "queued")
        )
        created = await session.scalar(
            sa.select(sa.func.count()).where(Event.type == "task.created")
        )
    assert steps == len(posts)
    assert created == len(posts) + len(instances)  # and each instance's create


async def test_a_failed_commit_is_answered_and_never_queued_again(
    stack: Stack, tenants: TenantFactory, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database made the change and then the connection failed: the answer is a 503 that
    says the change may have been made, and the route does not queue the action a second time."""
    tenant = await tenants()
    instance = await instance_at_rest(stack, tenant)

    if stack.runtime.settings.database_url.startswith("sqlite"):
        commit = sa.engine.Connection.commit

        def committed_then_lost(conn: sa.engine.Connection) -> None:
            commit(conn)
            raise OSError("connection lost after the commit")

        monkeypatch.setattr(sa.engine.Connection, "commit", committed_then_lost)
    else:
        insert = action_writes.insert_at_once

        def inserted_then_lost(conn: sa.engine.Connection, rows: QueuedRows) -> int:
            insert(conn, rows)
            raise OSError("connection lost after the statement")

        monkeypatch.setattr(action_writes, "insert_at_once", inserted_then_lost)
    answer = await tenant.post(f"/instances/{instance['id']}/reboot")
    monkeypatch.undo()
    assert answer.status_code == 503
    assert answer.json()["code"] == "write_outcome_unknown"
    assert "may have been made" in answer.json()["detail"]
    assert len(await task_ids(stack, instance["id"], "reboot_vps")) == 1
