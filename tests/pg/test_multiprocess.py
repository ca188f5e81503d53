"""Horizontal scale on PostgreSQL: 2 API processes and 4 worker processes on one database.

2,000 tasks over 200 instances are submitted concurrently over HTTP; every task must complete
exactly once, and each instance's tasks must run in creation order and never two at once —
checked from the tasks' times and from the simulated hypervisor's per-machine operation log.
One worker is killed with SIGKILL mid-run: its tasks are taken over when their leases expire.
A second test stops the database mid-run: requests answer 503 meanwhile, and everything resumes.
"""

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet, fleet_client
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

INSTANCES = 200
TASKS_PER_INSTANCE = 10
VERBS = ("stop", "start")


@pytest.fixture
def cluster(require_private_cluster: None) -> Iterator[PrivateCluster]:
    pg = PrivateCluster()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def fleet(cluster: PrivateCluster, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(
        cluster.url,
        tmp_path / "var",
        NUAGE_SIM_LATENCY_MS="10",
        NUAGE_LEASE_SECONDS="3",
        NUAGE_POLL_SECONDS="2",
        NUAGE_WORKER_CONCURRENCY="4",
        NUAGE_RETRY_BASE_SECONDS="0.2",
        NUAGE_RETRY_CAP_SECONDS="1",
        NUAGE_DB_POOL_SIZE="5",
    )
    try:
        yield fleet
    finally:
        fleet.stop()


class Client:
    """Spreads requests over the API processes; retries 503s with the same Idempotency-Key."""

    def __init__(self, http: httpx.AsyncClient, apis: list[str], creds: dict[str, str]) -> None:
        self.http = http
        self.apis = itertools.cycle(apis)
        self.headers = {"Authorization": f"Bearer {creds['api_key']}"}
        self.path = (
            f"/v1/organizations/{creds['organization_id']}/projects/{creds['project_id']}/compute"
        )
        self.statuses: list[int] = []

    async def request(self, method: str, path: str, key: str | None = None, **kw: Any) -> Any:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        for _ in range(200):
            try:
                response = await self.http.request(
                    method, next(self.apis) + self.path + path, headers=headers, **kw
                )
            except httpx.TransportError:
                self.statuses.append(0)
                await asyncio.sleep(0.2)
                continue
            self.statuses.append(response.status_code)
            if response.status_code == 503:
                await asyncio.sleep(0.2)
                continue
            assert response.status_code < 300, (response.status_code, response.text)
            return response.json()
        raise AssertionError(f"{method} {path}: gave up")

    async def create(self, n: int) -> dict[str, Any]:
        body = {"name": f"vm-{n}", "size_id": SIZES["nano"], "location_id": LOCATION,
                "image_id": IMAGES["debian"]}  # fmt: skip
        created = await self.request("POST", "/instances", key=f"create-{n}", json=body)
        return dict(created)

    async def actions(self, instance_id: str, count: int) -> list[str]:
        """Submit `count` alternating stop/start actions in order; returns their task ids."""
        ids = []
        for i in range(count):
            verb = VERBS[i % 2]
            task = await self.request(
                "POST", f"/instances/{instance_id}/{verb}", key=f"{instance_id}-{i}"
            )
            ids.append(task["id"])
        return ids

    async def all_tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self.request(
                "GET", "/tasks", params={"page": page, "page_size": 100, "ordering": "created"}
            )
            tasks.extend(body["results"])
            if body["next"] is None:
                return tasks
            page += 1

    async def wait_all_terminal(self, expected: int, timeout: float) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            tasks = await self.all_tasks()
            done = [t for t in tasks if t["status"] in {"completed", "failed", "cancelled"}]
            if len(tasks) >= expected and len(done) == len(tasks):
                return tasks
            if asyncio.get_running_loop().time() > deadline:
                pending = len(tasks) - len(done)
                raise AssertionError(f"{pending} of {len(tasks)} tasks not terminal")
            await asyncio.sleep(1)


async def _run_load(client: Client, instances: int, per_instance: int) -> dict[str, list[str]]:
    gate = asyncio.Semaphore(64)

    async def one(n: int) -> tuple[str, list[str]]:
        async with gate:
            instance = await client.create(n)
            return instance["id"], await client.actions(instance["id"], per_instance)

    return dict(await asyncio.gather(*(one(n) for n in range(instances))))


def _check_order(
    fleet: Fleet, tasks: list[dict[str, Any]], submitted: dict[str, list[str]]
) -> None:
    by_instance: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_instance.setdefault(task["instance_id"], []).append(task)
    for instance_id, action_ids in submitted.items():
        mine = sorted(by_instance[instance_id], key=lambda t: t["created"])
        assert [t["id"] for t in mine[1:]] == action_ids  # creation order = submission order
        assert all(t["status"] == "completed" for t in mine), [t["status"] for t in mine]
        for earlier, later in itertools.pairwise(mine):
            assert later["started_at"] >= earlier["completed_at"], (earlier, later)
        ops = [op for op, _ in itertools.groupby(fleet.sim_operations(instance_id))]
        assert ops == ["create", *(VERBS[i % 2] for i in range(len(action_ids)))], ops


async def _completed_events(client: Client, task_id: str) -> int:
    events = await client.request("GET", f"/tasks/{task_id}/events", params={"page_size": 100})
    return sum(1 for e in events["results"] if e["step"] == "completed")


async def test_many_processes_run_every_task_once_in_order_through_a_worker_kill(
    fleet: Fleet,
) -> None:
    creds = fleet.bootstrap()
    apis = [fleet.start_api(), fleet.start_api()]
    for _ in range(4):
        fleet.start_worker()
    async with fleet_client(timeout=60, max_connections=64) as http:
        client = Client(http, apis, creds)
        load = asyncio.create_task(_run_load(client, INSTANCES, TASKS_PER_INSTANCE))
        while sum(1 for s in client.statuses if s == 202) < 600:
            await asyncio.sleep(0.2)
        fleet.kill_worker(0)  # mid-run: its leased tasks must be taken over
        submitted = await load
        expected = INSTANCES * (TASKS_PER_INSTANCE + 1)
        tasks = await client.wait_all_terminal(expected, timeout=600)
        assert len(tasks) == expected
        _check_order(fleet, tasks, submitted)
        sample = [t["id"] for t in tasks[:: max(1, len(tasks) // 50)]]
        counts = await asyncio.gather(*(_completed_events(client, t) for t in sample))
        assert set(counts) == {1}
    assert 500 not in client.statuses


async def test_database_restart_answers_503_then_everything_resumes(
    fleet: Fleet, cluster: PrivateCluster
) -> None:
    creds = fleet.bootstrap()
    apis = [fleet.start_api(), fleet.start_api()]
    for _ in range(2):
        fleet.start_worker()
    async with fleet_client(timeout=60) as http:
        client = Client(http, apis, creds)
        load = asyncio.create_task(_run_load(client, 40, 6))
        while sum(1 for s in client.statuses if s == 202) < 60:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(3)
        probe = await http.get(apis[0] + "/readyz")
        assert probe.status_code == 503
        assert probe.json()["code"] == "database_unavailable"
        await asyncio.to_thread(cluster.start)
        submitted = await load
        tasks = await client.wait_all_terminal(40 * 7, timeout=300)
        _check_order(fleet, tasks, submitted)
    assert 503 in client.statuses  # requests did meet the outage
    assert 500 not in client.statuses
