"""Shortcuts for the engine suites: task events, the sim op log, direct reads and polling."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from nuage.config import Settings
from nuage.db.models import InstanceTask, TaskEvent
from nuage.db.session import transaction
from nuage.drivers.sim import SimDriver, SimSettings
from nuage.engine.worker import Worker
from tests.conftest import worker_settings
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


def slow_driver(settings: Settings, latency_ms: float) -> SimDriver:
    """Another view of the stack's simulated hypervisor (same state dir), with latency."""
    return SimDriver(SimSettings(state_dir=Path(settings.sim_state_dir), latency_ms=latency_ms))


def start_worker(
    stack: Stack, settings: Settings, driver: SimDriver | None = None, **overrides: Any
) -> Worker:
    worker_id = overrides.pop("worker_id", None)
    rng = overrides.pop("rng", None)
    worker = Worker(
        stack.runtime.sessions,
        driver or stack.driver,
        stack.notifier,
        worker_settings(settings, **overrides),
        worker_id=worker_id,
        rng=rng,
    )
    stack.start_worker(worker)
    return worker


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


async def poll(
    check: Callable[[], Awaitable[bool]], *, within: float = 10, every: float = 0.01
) -> None:
    """Wait until `check()` is true; AssertionError after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def wait_status(tenant: Tenant, task_id: str, status: str, within: float = 10) -> None:
    async def reached() -> bool:
        task = (await tenant.get(f"/tasks/{task_id}")).json()
        return bool(task["status"] == status)

    await poll(reached, within=within)
