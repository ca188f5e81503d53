"""Shortcuts for the engine suites: task events, the sim op log and direct reads (workers and
polling: tests/support.py)."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from nuage.db.models import InstanceTask, TaskEvent
from nuage.db.session import transaction
from nuage.db.types import utcnow
from nuage.engine import claimed_rows, queries
from nuage.engine.records import TaskRecord
from tests.support import Stack, Tenant


async def events(tenant: Tenant, task_id: str) -> list[dict[str, Any]]:
    response = await tenant.get(f"/tasks/{task_id}/events", params={"page_size": 100})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["next"] is None, "more than one page of events"
    results: list[dict[str, Any]] = body["results"]
    return results


def steps(evts: list[dict[str, Any]]) -> list[str]:
    return [e["step"] for e in evts]


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ops(stack: Stack, instance_id: str) -> list[str]:
    return [entry["operation"] for entry in stack.driver.operations(instance_id)]


async def task_row(stack: Stack, task_id: str | UUID) -> InstanceTask:
    async with transaction(stack.runtime.sessions) as session:
        task = await session.scalar(
            sa.select(InstanceTask).where(InstanceTask.id == UUID(str(task_id)))
        )
    assert task is not None
    return task


async def event_rows(stack: Stack, task_id: str | UUID) -> list[TaskEvent]:
    async with transaction(stack.runtime.sessions) as session:
        rows = await session.scalars(
            sa.select(TaskEvent)
            .where(TaskEvent.task_id == UUID(str(task_id)))
            .order_by(TaskEvent.id)
        )
        return list(rows.all())


async def claim_record(stack: Stack, worker_id: str, lease: timedelta) -> TaskRecord:
    """Claim the next due task as a worker's claim does; its record as that claim read it."""
    read: list[sa.Row[Any]] = []

    def start(row: sa.Row[Any]) -> TaskEvent | None:
        read.append(row)
        return None

    async with transaction(stack.runtime.sessions) as session:
        claimed = await queries.claim(session, worker_id, utcnow(), lease, limit=1, start=start)
    assert len(claimed) == 1 and len(read) == 1
    return claimed_rows.task_record(read[0])
