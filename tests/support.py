"""Test helpers: the running stack, tenants made through the services, and API shortcuts."""

import asyncio
import itertools
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa

from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.models import ApiKey, InstanceTask, Organization, Project, User
from nuage.db.notify import LocalNotifier
from nuage.db.session import transaction
from nuage.domain.enums import Role, Scope
from nuage.domain.retry import BackoffPolicy
from nuage.drivers.sim import SimDriver, SimSettings
from nuage.engine.worker import Worker, WorkerSettings
from nuage.services import accounts, api_keys

SIZES = {
    "nano": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0001",
    "small": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0002",
    "medium": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0003",
    "large": "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0004",
}
LOCATION = "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001"
IMAGES = {
    "debian": "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001",
    "ubuntu": "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10002",
}
ROCKY = "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10003"
# The software catalogue's entries (migration 0019), by slug.
SOFTWARE = {
    "nginx": "c0f7e2a1-5b6d-4c3e-9f80-1a2b3c4d0001",
    "docker.io": "c0f7e2a1-5b6d-4c3e-9f80-1a2b3c4d0002",
    "wordpress": "c0f7e2a1-5b6d-4c3e-9f80-1a2b3c4d0003",
}
TERMINAL = {"completed", "failed", "cancelled"}
_counter = itertools.count(1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_body(**overrides: Any) -> dict[str, Any]:
    """A valid instance-create body, with `overrides`."""
    return {
        "name": "web",
        "size_id": SIZES["small"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
        **overrides,
    }


@dataclass
class Stack:
    runtime: Runtime
    notifier: LocalNotifier
    driver: SimDriver
    client: httpx.AsyncClient
    workers: list[tuple[Worker, asyncio.Event, asyncio.Task[None]]] = field(default_factory=list)

    def start_worker(self, worker: Worker) -> None:
        stop = asyncio.Event()
        self.workers.append((worker, stop, asyncio.create_task(worker.run(stop))))

    async def stop_workers(self) -> None:
        for _worker, stop, _task in self.workers:
            stop.set()
        await asyncio.gather(*(task for *_, task in self.workers), return_exceptions=True)
        self.workers.clear()


@dataclass
class Tenant:
    client: httpx.AsyncClient
    user_id: UUID
    email: str
    password: str
    organization_id: UUID
    project_id: UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def base(self) -> str:
        return f"/v1/organizations/{self.organization_id}/projects/{self.project_id}/compute"

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(self.base + path, headers=self.headers, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return await self.client.post(self.base + path, json=json, headers=headers, **kw)

    async def create_instance(self, **body: Any) -> tuple[dict[str, Any], str]:
        """Create an instance; returns its body and its create task's id."""
        payload = create_body(**{"name": f"vm-{next(_counter)}", **body})
        response = await self.post("/instances", json=payload)
        assert response.status_code == 201, response.text
        return response.json(), response.headers["Location"].rsplit("/", 1)[1]

    async def wait(self, task_id: str, timeout: float = 30) -> dict[str, Any]:
        """Long-poll a task until it is terminal. The client waits longer than the server's
        5 s poll: on a loaded machine the answer comes a little after it (httpx's default read
        timeout is those same 5 s)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.get(f"/tasks/{task_id}", params={"wait": 5}, timeout=15)
            assert response.status_code == 200, response.text
            task: dict[str, Any] = response.json()
            if task["status"] in TERMINAL:
                return task
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']}")

    async def running_instance(self, **body: Any) -> dict[str, Any]:
        instance, task_id = await self.create_instance(**body)
        assert (await self.wait(task_id))["status"] == "completed"
        return instance

    async def act(self, instance_id: str, verb: str, json: Any = None) -> dict[str, Any]:
        response = await self.post(f"/instances/{instance_id}/{verb}", json=json)
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body


class TenantFactory:
    """Tenants made through the services, as `nuage bootstrap` makes them."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def __call__(
        self,
        *,
        scopes: tuple[Scope, ...] = (Scope.COMPUTE_READ, Scope.COMPUTE_WRITE),
        quota: int = 10,
    ) -> Tenant:
        n = next(_counter)
        email, password = f"user{n}@example.com", "password-123"
        async with transaction(self.stack.runtime.sessions) as session:
            user = await accounts.ensure_user(session, email, password, first_name=f"U{n}")
            org = await accounts.create_organization(
                session, user, f"Org {n}", instance_quota=quota
            )
            project = Project(organization_id=org.id, name=f"project-{n}")
            session.add(project)
            await session.flush()
            key, _ = await api_keys.create(session, user.id, name="test", scopes=scopes)
        return Tenant(self.stack.client, user.id, email, password, org.id, project.id, key)

    async def member(
        self,
        tenant: Tenant,
        role: Role,
        *,
        projects: tuple[UUID, ...] = (),
        scopes: tuple[Scope, ...] = (Scope.COMPUTE_READ, Scope.COMPUTE_WRITE),
    ) -> Tenant:
        """Another user in `tenant`'s organization with `role` (guests: added to `projects`)."""
        n = next(_counter)
        email, password = f"member{n}@example.com", "password-123"
        async with transaction(self.stack.runtime.sessions) as session:
            user: User = await accounts.ensure_user(session, email, password)
            org = await session.get(Organization, tenant.organization_id)
            assert org is not None
            await accounts.add_member(session, org, user, role)
            for project_id in projects:
                project = await session.get(Project, project_id)
                assert project is not None
                await accounts.add_project_member(session, project, user)
            key, _ = await api_keys.create(session, user.id, name="member", scopes=scopes)
        return Tenant(
            self.stack.client,
            user.id,
            email,
            password,
            tenant.organization_id,
            tenant.project_id,
            key,
        )


def worker_settings(settings: Settings, **overrides: Any) -> WorkerSettings:
    base = WorkerSettings(
        concurrency=4,
        lease_seconds=settings.lease_seconds,
        poll_seconds=settings.poll_seconds,
        backoff=BackoffPolicy(settings.retry_base_seconds, settings.retry_cap_seconds),
        backup_retention=settings.backup_retention,
        # A test's teardown stops its workers mid-task: waiting for a slow simulated call to
        # reach a safe step is not what it tests (tests/engine/test_graceful_stop.py does).
        stop_grace_seconds=1.0,
    )
    return replace(base, **overrides)


def slow_driver(settings: Settings, latency_ms: float) -> SimDriver:
    """Another view of the stack's simulated hypervisor (same state dir), with latency."""
    return SimDriver(SimSettings(state_dir=Path(settings.sim_state_dir), latency_ms=latency_ms))


def start_worker(
    stack: Stack,
    settings: Settings,
    driver: SimDriver | None = None,
    *,
    latency_ms: float = 0.0,
    **overrides: Any,
) -> Worker:
    """A running worker on the stack's database: on `driver`, else the stack's simulated
    hypervisor (seen with `latency_ms` per operation when given)."""
    if driver is None and latency_ms:
        driver = slow_driver(settings, latency_ms)
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


async def instance_at_rest(stack: Stack, tenant: Tenant) -> dict[str, Any]:
    """A running instance of `tenant`'s, with the workers stopped (what is queued then stays
    pending) and the tenant's key used once (its `last_used` recorded, so a fast path may
    answer its next request)."""
    instance = await tenant.running_instance()
    await stack.stop_workers()
    await tenant.get("/tasks")
    return instance


async def task_ids(stack: Stack, instance_id: str, task_type: str) -> list[str]:
    """The ids of the instance's tasks of `task_type`, as the database has them."""
    async with transaction(stack.runtime.sessions) as session:
        found = await session.scalars(
            sa.select(InstanceTask.id).where(
                InstanceTask.instance_id == UUID(instance_id), InstanceTask.task_type == task_type
            )
        )
        return [str(task_id) for task_id in found]


async def poll(
    check: Callable[[], Awaitable[bool]], *, within: float = 10, every: float = 0.01
) -> None:
    """Wait until `check()` is true; AssertionError after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def poll_until(
    tenant: Tenant, task_id: str, status: str, *, within: float = 10
) -> dict[str, Any]:
    """The task once it has `status` (read every 10 ms); AssertionError after `within` s."""
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        response = await tenant.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return bool(seen["status"] == status)

    await poll(reached, within=within)
    return seen


async def make_staff(stack: Stack, user_id: UUID) -> None:
    """Make a user an operator (staff-only endpoints and task types), its keys with `admin`."""
    async with transaction(stack.runtime.sessions) as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.is_staff = True
        keys = await session.scalars(sa.select(ApiKey).where(ApiKey.user_id == user_id))
        for key in keys:
            key.scopes = sorted({*key.scopes, Scope.ADMIN.value})
