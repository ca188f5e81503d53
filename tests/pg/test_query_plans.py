"""The hot queries stay on their indexes at scale (PostgreSQL): EXPLAIN of the claim, the reap,
a task read and the filtered task list over 100k tasks never scans the whole task table."""

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from bench import seed
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.models import InstanceTask
from nuage.db.session import make_engine
from nuage.db.types import utcnow
from nuage.domain.enums import TaskStatus
from nuage.engine import queries
from nuage.services.tasks import TaskFilters, list_statement
from tests import databases

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[str, UUID, UUID]]:
    """100k completed, 1k failed and 2k pending tasks over 200 instances, analyzed."""
    template = request.getfixturevalue("pg_template")
    name = asyncio.run(databases.clone(template))

    async def fill() -> tuple[UUID, UUID]:
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
        return project.id, task_id

    project_id, task_id = asyncio.run(fill())
    yield databases.database_url(name), project_id, task_id
    databases.drop_sync(name)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _explain(engine: AsyncEngine, stmt: sa.Executable) -> list[dict[str, Any]]:
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engine.connect() as conn:
        raw = (await conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(_nodes(document[0]["Plan"]))


def _assert_indexed(nodes: list[dict[str, Any]], index: str) -> None:
    seq_scans = [n for n in nodes if n["Node Type"] == "Seq Scan"]
    assert not [n for n in seq_scans if n.get("Relation Name") == "instance_tasks"], nodes
    assert index in {n.get("Index Name") for n in nodes}, [n.get("Index Name") for n in nodes]


def _run(seeded: tuple[str, UUID, UUID], stmt: sa.Executable, index: str) -> None:
    async def check() -> None:
        engine = make_engine(seeded[0])
        try:
            _assert_indexed(await _explain(engine, stmt), index)
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_claim_uses_the_pending_and_active_partial_indexes(seeded: tuple[str, UUID, UUID]) -> None:
    stmt = queries.claim_candidate(utcnow(), postgresql=True)
    _run(seeded, stmt, "ix_instance_tasks_pending_seq")
    _run(seeded, stmt, "ix_instance_tasks_active_instance")


def test_reap_uses_the_running_lease_index(seeded: tuple[str, UUID, UUID]) -> None:
    table = InstanceTask.__table__
    stmt = sa.select(table.c.id).where(
        table.c.status == "running", table.c.lease_expires_at < utcnow() - timedelta(seconds=1)
    )
    _run(seeded, stmt, "ix_instance_tasks_running_lease")


def test_get_task_uses_the_id_index(seeded: tuple[str, UUID, UUID]) -> None:
    _, project_id, task_id = seeded
    stmt = sa.select(InstanceTask).where(
        InstanceTask.project_id == project_id, InstanceTask.id == task_id
    )
    _run(seeded, stmt, "uq_instance_tasks_id")


def test_filtered_list_uses_the_project_status_index(seeded: tuple[str, UUID, UUID]) -> None:
    filters = TaskFilters(statuses=(TaskStatus.FAILED,))
    stmt = list_statement(seeded[1], filters).limit(20)
    _run(seeded, stmt, "ix_instance_tasks_project_status_created")

    async def no_sort() -> None:  # the index gives the order: no sort of all matching rows
        engine = make_engine(seeded[0])
        try:
            nodes = await _explain(engine, stmt)
        finally:
            await engine.dispose()
        assert "Sort" not in {n["Node Type"] for n in nodes}, [n["Node Type"] for n in nodes]

    asyncio.run(no_sort())
