"""The outbox: every task change and instance status change writes its event in its own
transaction, with the object as the API shows it then; a rolled-back change writes none."""

import asyncio
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from nuage.config import Settings
from nuage.db import outbox
from nuage.db.session import make_engine, transaction
from nuage.engine.worker import Worker
from nuage.services import events, tasks
from nuage.services.access import project_access
from nuage.services.events import EventRow
from nuage.services.principals import ALL_SCOPES, Principal
from tests.sql_counter import counting
from tests.support import Stack, Tenant, TenantFactory, poll, start_worker, worker_settings

pytestmark = pytest.mark.anyio


async def project_events(stack: Stack, tenant: Tenant, after_id: int = 0) -> list[EventRow]:
    async with transaction(stack.runtime.sessions) as session:
        return await events.events_after(
            session, after_id=after_id, limit=10_000, project_id=tenant.project_id
        )


def worker_of(stack: Stack) -> Worker:
    """A worker of the stack's, driven by the test (claim, execute) rather than running."""
    return Worker(
        stack.runtime.sessions,
        stack.driver,
        stack.notifier,
        worker_settings(stack.runtime.settings),
    )


def of_task(rows: list[EventRow], task_id: str) -> list[EventRow]:
    return [r for r in rows if r.type.startswith("task.") and r.payload["id"] == task_id]


async def test_a_task_life_is_told_in_order_with_the_objects_the_api_shows(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    instance, task_id = await tenant.create_instance()
    await tenant.wait(task_id)

    rows = await project_events(stack, tenant)
    assert [r.id for r in rows] == sorted({r.id for r in rows})  # increasing, no repeats
    kinds = [r.type.value for r in of_task(rows, task_id)]
    assert kinds[:2] == ["task.created", "task.started"]
    assert kinds[-1] == "task.completed"
    assert set(kinds[2:-1]) == {"task.step", "task.progress"}
    statuses = [r.payload["status"] for r in rows if r.type == "instance.status_changed"]
    assert statuses == ["building", "running"]

    # The last events carry exactly what GET shows now (the task's creator sees no more here).
    task_now = (await tenant.get(f"/tasks/{task_id}")).json()
    instance_now = (await tenant.get(f"/instances/{instance['id']}")).json()
    assert of_task(rows, task_id)[-1].payload == task_now
    assert [r for r in rows if r.type == "instance.status_changed"][-1].payload == instance_now
    assert all(r.instance_id == UUID(instance["id"]) for r in rows)

    steps = [r.payload for r in of_task(rows, task_id) if r.type == "task.step"]
    logged = (await tenant.get(f"/tasks/{task_id}/events", params={"page_size": 100})).json()
    assert [s["step"] for s in steps] == [
        e for e in logged["results"] if e["step"] not in {"queued", "completed"}
    ]
    created = of_task(rows, task_id)[0].payload
    assert created["status"] == "pending" and created["progress"] == 0


async def test_a_rolled_back_change_leaves_no_event(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, task_id = await tenant.create_instance()  # no worker: it stays pending
    before = await project_events(stack, tenant)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with transaction(stack.runtime.sessions) as session:
            principal = Principal(tenant.user_id, ALL_SCOPES)
            access = await project_access(
                session, principal, tenant.organization_id, tenant.project_id, write=False
            )
            cancelled = await tasks.cancel(session, access, UUID(task_id))
            assert cancelled.status == "cancelled"
            raise Abort

    assert await project_events(stack, tenant) == before
    assert (await tenant.get(f"/tasks/{task_id}")).json()["status"] == "pending"

    # The same change committed writes its events: the task's, and its instance's status.
    response = await tenant.post(f"/tasks/{task_id}/cancel")
    assert response.status_code == 200, response.text
    new = await project_events(stack, tenant, after_id=before[-1].id)
    assert [r.type.value for r in new] == ["task.cancelled", "instance.status_changed"]
    assert new[0].payload == (await tenant.get(f"/tasks/{task_id}")).json()
    assert (
        new[1].payload["status"]
        == (await tenant.get(f"/instances/{instance['id']}")).json()["status"]
    )


async def test_a_refused_request_writes_no_event(stack: Stack, tenants: TenantFactory) -> None:
    tenant = await tenants()
    instance, _task_id = await tenant.create_instance()
    before = await project_events(stack, tenant)
    refused = await tenant.post(f"/instances/{instance['id']}/reboot?on_conflict=reject")
    assert refused.status_code == 409
    assert await project_events(stack, tenant) == before


async def test_a_failed_task_and_its_retries_are_events(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    start_worker(stack, settings)
    _instance, task_id = await tenant.create_instance(tags=["sim:fail=create:transient:1"])
    assert (await tenant.wait(task_id))["status"] == "completed"
    _other, failed_id = await tenant.create_instance(tags=["sim:fail=create:permanent"])
    failed = await tenant.wait(failed_id)
    assert failed["status"] == "failed"

    rows = await project_events(stack, tenant)
    retried = [r.payload["step"]["step"] for r in of_task(rows, task_id) if r.type == "task.step"]
    assert "retry_scheduled" in retried
    assert [r.type.value for r in of_task(rows, task_id)].count("task.started") == 2
    last: dict[str, Any] = of_task(rows, failed_id)[-1].payload
    assert of_task(rows, failed_id)[-1].type == "task.failed"
    assert last == failed
    assert last["error"]["code"] == "sim_permanent_fault"


async def test_events_stay_in_their_project(stack: Stack, tenants: TenantFactory) -> None:
    mine, theirs = await tenants(), await tenants()
    await mine.create_instance()
    await theirs.create_instance()
    for tenant in (mine, theirs):
        rows = await project_events(stack, tenant)
        assert rows and {r.payload["instance"]["id"] for r in rows} == {
            r.payload["instance"]["id"] for r in rows
        }
        assert all(r.project_id == tenant.project_id for r in rows)
    async with transaction(stack.runtime.sessions) as session:
        everything = await events.events_after(session, after_id=0, limit=100)
    assert {r.project_id for r in everything} == {mine.project_id, theirs.project_id}


async def test_the_retention_prunes_old_events_and_remembers_where(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    tenant = await tenants()
    _instance, task_id = await tenant.create_instance()
    written = await project_events(stack, tenant)
    assert written
    start_worker(stack, settings, events_retention_seconds=1.0)  # prunes every 0.5 s
    await tenant.wait(task_id)

    async def pruned() -> bool:
        async with transaction(stack.runtime.sessions) as session:
            return await events.pruned_through(session) >= written[-1].id

    await poll(pruned, within=10)
    left = await project_events(stack, tenant)
    assert left == [] or left[0].id > written[-1].id
    async with transaction(stack.runtime.sessions) as session:
        assert await events.oldest_kept(session) > written[-1].id


async def test_a_transactions_events_in_several_inserts_keep_their_order(
    stack: Stack,
    tenants: TenantFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_ROWS_PER_INSERT", 2)  # a finish writes more than two
    tenant = await tenants()
    start_worker(stack, settings)
    _instance, task_id = await tenant.create_instance()
    await tenant.wait(task_id)

    rows = await project_events(stack, tenant)
    assert [r.id for r in rows] == sorted({r.id for r in rows})
    kinds = [r.type.value for r in of_task(rows, task_id)]
    assert kinds[:2] == ["task.created", "task.started"]
    assert kinds[-1] == "task.completed"
    logged = (await tenant.get(f"/tasks/{task_id}/events", params={"page_size": 100})).json()
    steps = [r.payload["step"]["step"] for r in of_task(rows, task_id) if r.type == "task.step"]
    assert steps == [
        e["step"] for e in logged["results"] if e["step"] not in {"queued", "completed"}
    ]


async def test_a_writer_takes_the_outbox_lock_before_it_draws_its_event_ids(
    stack: Stack, tenants: TenantFactory, settings: Settings
) -> None:
    """PostgreSQL: a writer held at the writers' lock has drawn no id yet, so an id drawn
    meanwhile is smaller than its own (drawn first, its ids could be committed after a larger
    one, and a reader that saw that one would miss them)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    tenant = await tenants()
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as holder, engine.connect() as other:
            await holder.execute(sa.select(sa.func.pg_advisory_xact_lock(outbox.WRITERS_LOCK)))
            writer = asyncio.create_task(tenant.create_instance())

            async def waits_for_the_lock() -> bool:
                waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                return bool((await other.execute(waiting)).scalar_one())

            await poll(waits_for_the_lock, within=10)
            drawn = (
                await other.execute(
                    sa.text("SELECT nextval(pg_get_serial_sequence('events', 'id'))")
                )
            ).scalar_one()
            await other.commit()
            await holder.commit()
            _instance, task_id = await writer
    finally:
        await engine.dispose()

    written = of_task(await project_events(stack, tenant), task_id)
    assert written and all(r.id > drawn for r in written)


async def test_a_finished_task_is_shown_as_its_update_returned_it_on_postgresql(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    """The finish's UPDATE returns what the task's event shows (its instance's name and its
    creator too): the outbox does not read the task again, and the event is still what GET
    shows."""
    if stack.runtime.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's RETURNING shows no other table: the outbox reads the task")
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    task = await tenant.act(instance["id"], "sync")
    runner = worker_of(stack)
    record = await runner.claim()
    assert record is not None and str(record.id) == task["id"]
    with counting() as counted:
        await runner.execute(record)

    reads = [s for s in counted.statements if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if "FROM instance_tasks" in s], reads
    task_now = (await tenant.get(f"/tasks/{task['id']}")).json()
    assert task_now["status"] == "completed"
    assert of_task(await project_events(stack, tenant), task["id"])[-1].payload == task_now


async def test_a_claim_tells_the_start_then_the_instance_then_the_started_step(
    stack: Stack, tenants: TenantFactory, worker: Worker
) -> None:
    """One transaction, three kinds of event, in the order they happened: the task started,
    its instance took its mark, then the attempt's `started` step was logged."""
    tenant = await tenants()
    instance = await tenant.running_instance()
    await stack.stop_workers()
    seen = max((r.id for r in await project_events(stack, tenant)), default=0)
    deleting = await tenant.client.delete(  # its claim marks the instance `deleting`
        f"{tenant.base}/instances/{instance['id']}", headers=tenant.headers
    )
    assert deleting.status_code == 202, deleting.text
    task = deleting.json()
    runner = worker_of(stack)
    assert await runner.claim() is not None
    claimed = [r for r in await project_events(stack, tenant, seen) if r.type != "task.created"]
    kinds = [r.type.value for r in claimed]
    assert kinds[:3] == ["task.started", "instance.status_changed", "task.step"], kinds
    assert claimed[0].payload["id"] == task["id"] and claimed[1].payload["id"] == instance["id"]
    assert claimed[1].payload["status"] == "deleting"
    assert claimed[2].payload["step"]["step"] == "started"
