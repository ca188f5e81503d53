"""The hot queries stay on their indexes at scale (PostgreSQL): EXPLAIN of the claim, the reap,
a task read and the filtered task list over 100k tasks never scans the whole task table.

The statements explained are the ones the engine and the services really send: each function
runs against the seeded database (in a transaction rolled back afterwards) while a
`before_cursor_execute` listener records what reaches the driver, with its parameters (and a
`RAW_STATEMENTS` listener what is sent past SQLAlchemy's events: `db.driver_sql`)."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from bench import seed
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from nuage.db.driver_sql import RAW_STATEMENTS
from nuage.db.models import InstanceTask, Organization, Project
from nuage.db.session import make_engine
from nuage.db.types import utcnow
from nuage.domain.enums import Role, Scope, TaskStatus
from nuage.engine import queries
from nuage.services import tasks
from nuage.services.access import ProjectAccess
from nuage.services.pagination import PageRequest
from nuage.services.principals import Principal
from nuage.services.tasks import TaskFilters
from tests import databases

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

Plan = list[dict[str, Any]]


@dataclass(frozen=True)
class Seeded:
    url: str
    user_id: UUID
    organization_id: UUID
    project_id: UUID
    task_id: UUID


@pytest.fixture(scope="module")
def seeded(request: pytest.FixtureRequest) -> Iterator[Seeded]:
    """100k completed, 1k failed and 2k pending tasks over 200 instances, analyzed."""
    template = request.getfixturevalue("pg_template")
    name = asyncio.run(databases.clone(template))

    async def fill() -> Seeded:
        engine = make_engine(databases.database_url(name))
        user, org, project, ids = await seed.tenant(engine, instances=200)
        common: dict[str, Any] = dict(user=user, org=org, project=project, instance_ids=ids)
        await seed.tasks(engine, count=100_000, status="completed", batch=10_000, **common)
        await seed.tasks(engine, count=1_000, status="failed", **common)
        await seed.tasks(engine, count=2_000, status="pending", **common)
        async with engine.begin() as conn:  # committed: ANALYZE in a rolled-back txn is lost
            await conn.execute(sa.text("ANALYZE"))
            task_id = (await conn.execute(sa.select(InstanceTask.id).limit(1))).scalar_one()
        await engine.dispose()
        return Seeded(databases.database_url(name), user.id, org.id, project.id, task_id)

    yield asyncio.run(fill())
    databases.drop_sync(name)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _explain(conn: AsyncConnection, statement: str, parameters: Any) -> Plan:
    result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
    raw = result.scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(_nodes(document[0]["Plan"]))


def plans_of(seeded: Seeded, call: Callable[[AsyncSession], Awaitable[object]]) -> list[Plan]:
    """The plans of the SELECTs on instance_tasks that `call` sends, in order."""

    async def run() -> list[Plan]:
        engine = make_engine(seeded.url)
        sent: list[tuple[str, Any]] = []

        def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        def record_raw(statement: str, values: Any) -> None:
            sent.append((statement, tuple(values)))

        try:
            async with engine.connect() as conn:
                session = AsyncSession(bind=conn)
                event.listen(engine.sync_engine, "before_cursor_execute", record)
                RAW_STATEMENTS.append(record_raw)
                try:
                    await call(session)
                finally:
                    event.remove(engine.sync_engine, "before_cursor_execute", record)
                    RAW_STATEMENTS.remove(record_raw)
                await session.close()
                await conn.rollback()  # what the call changed (a claimed task) is undone
                selects = [
                    (statement, parameters)
                    for statement, parameters in sent
                    if statement.lstrip().upper().startswith("SELECT")
                    and "instance_tasks" in statement
                ]
                return [await _explain(conn, *select) for select in selects]
        finally:
            await engine.dispose()

    plans = asyncio.run(run())
    assert plans, "the call sent no SELECT on instance_tasks"
    return plans


def _assert_indexed(nodes: Plan, index: str) -> None:
    seq_scans = [n for n in nodes if n["Node Type"] == "Seq Scan"]
    assert not [n for n in seq_scans if n.get("Relation Name") == "instance_tasks"], nodes
    assert index in {n.get("Index Name") for n in nodes}, [n.get("Index Name") for n in nodes]


async def _access(session: AsyncSession, seeded: Seeded) -> ProjectAccess:
    organization = await session.get(Organization, seeded.organization_id)
    project = await session.get(Project, seeded.project_id)
    assert organization is not None and project is not None
    principal = Principal(user_id=seeded.user_id, scopes=frozenset({Scope.COMPUTE_READ}))
    return ProjectAccess(principal, organization, project, Role.OWNER)


def test_claim_uses_the_pending_and_active_partial_indexes(seeded: Seeded) -> None:
    async def claim(session: AsyncSession) -> None:
        assert await queries.claim_next(session, "plans", utcnow(), timedelta(seconds=30))

    candidate = plans_of(seeded, claim)[0]
    _assert_indexed(candidate, "ix_instance_tasks_pending_seq")
    _assert_indexed(candidate, "ix_instance_tasks_active_instance")


def test_reap_uses_the_running_lease_index(seeded: Seeded) -> None:
    async def reap(session: AsyncSession) -> None:
        await queries.reap(session, utcnow() - timedelta(seconds=1))

    _assert_indexed(plans_of(seeded, reap)[0], "ix_instance_tasks_running_lease")


def test_get_task_uses_the_id_index(seeded: Seeded) -> None:
    async def get(session: AsyncSession) -> None:
        await tasks.get_task(session, await _access(session, seeded), seeded.task_id)

    _assert_indexed(plans_of(seeded, get)[-1], "uq_instance_tasks_id")


def test_filtered_list_uses_the_project_status_index(seeded: Seeded) -> None:
    async def list_failed(session: AsyncSession) -> None:
        filters = TaskFilters(statuses=(TaskStatus.FAILED,))
        access = await _access(session, seeded)
        await tasks.list_tasks(session, access, filters, PageRequest(page=1, page_size=20))

    plans = plans_of(seeded, list_failed)
    page = plans[-1]  # after the count: the page itself, with its ORDER BY and LIMIT
    _assert_indexed(page, "ix_instance_tasks_project_status_created")
    # The index gives the order: no sort of all matching rows.
    assert "Sort" not in {n["Node Type"] for n in page}, [n["Node Type"] for n in page]


def test_list_count_is_bounded_and_reads_only_the_task_index(seeded: Seeded) -> None:
    async def list_failed(session: AsyncSession) -> None:
        filters = TaskFilters(statuses=(TaskStatus.FAILED,))
        access = await _access(session, seeded)
        page = PageRequest(page=1, page_size=20, count_limit=500)  # 1k failed tasks
        result = await tasks.list_tasks(session, access, filters, page)
        assert (result.count, result.count_capped) == (500, True)

    page = plans_of(seeded, list_failed)[-1]  # one statement: the page and its count
    count = next(n for n in page if n.get("Parent Relationship") == "InitPlan")
    nodes = list(_nodes(count))
    # Stops after count_limit + 1 matches; the outer joins of the page are not in it.
    assert any(n["Node Type"] == "Limit" for n in nodes), [n["Node Type"] for n in nodes]
    assert {n["Relation Name"] for n in nodes if "Relation Name" in n} == {"instance_tasks"}
    assert "ix_instance_tasks_project_status_created" in {n.get("Index Name") for n in nodes}
